"""The `nexotp` logger gets one record per request; NEXOTP_LOG=debug prints them with no code."""

from __future__ import annotations

import logging

import pytest

import nexotp
from conftest import KEY, Sandbox, run_script


def test_one_record_per_request(client: nexotp.Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="nexotp"):
        client.account()
        client.countries()
    records = [r for r in caplog.records if r.name == "nexotp"]
    assert len(records) == 2
    first = records[0]
    assert first.levelno == logging.DEBUG
    assert first.method == "GET" and first.path == "/account"  # type: ignore[attr-defined]
    assert first.status == 200 and first.attempt == 1  # type: ignore[attr-defined]
    assert isinstance(first.elapsed, float) and first.elapsed >= 0  # type: ignore[attr-defined]
    # The message is the core's one-line rendering, request id included.
    message = first.getMessage()
    assert message.startswith("GET /account 200 ") and "attempt=1 bucket=" in message
    assert first.request_id and message.endswith(f" request_id={first.request_id}")  # type: ignore[attr-defined]
    for record in records:
        assert KEY not in record.getMessage() and KEY not in str(record.__dict__)


def test_retries_log_each_attempt(client: nexotp.Client, sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    sandbox.fault(match="GET /account", fault="status", status=503)
    with caplog.at_level(logging.DEBUG, logger="nexotp"):
        client.account()
    attempts = [(r.status, r.attempt) for r in caplog.records if r.name == "nexotp"]  # type: ignore[attr-defined]
    assert attempts == [(503, 1), (200, 2)]


async def test_async_calls_log_too(aclient: nexotp.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="nexotp"):
        await aclient.account()
    assert [r.path for r in caplog.records if r.name == "nexotp"] == ["/account"]  # type: ignore[attr-defined]


def test_nothing_logged_when_the_logger_is_off(client: nexotp.Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="nexotp"):
        client.account()
    assert [r for r in caplog.records if r.name == "nexotp"] == []


def test_nexotp_log_env_prints_to_stderr(sandbox: Sandbox) -> None:
    code = f"import nexotp; nexotp.Client({KEY!r}, base_url={sandbox.url!r}).account()"
    out = run_script(code, env={"NEXOTP_LOG": "debug"})
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("nexotp: ")]
    assert len(lines) == 1 and lines[0].startswith("nexotp: GET /account 200 ")
    assert KEY not in out.stderr
    quiet = run_script(code)
    assert "nexotp:" not in quiet.stderr
