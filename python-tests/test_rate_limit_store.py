"""rate_limit_store= and rate_limits= (issue 13): converted by the binding, parsed and checked by
the core; a Redis shared by two clients (two stores, as two processes would have) holds one
limit for both; an unreachable Redis never fails a call and never shows its password."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from typing import Any

import pytest

import nexotp
from conftest import KEY, Sandbox


def test_bad_settings_fail_at_construction(sandbox: Sandbox) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"rate_limit_store": "ftp://host/"}, "rate_limit_store"),
        ({"rate_limit_store": 6379}, "rate_limit_store"),
        ({"rate_limits": "POLL=fast"}, "rate_limits"),
        ({"rate_limits": "NOPE=1"}, "bucket"),
        ({"rate_limits": {"POLL": "20"}}, "rate_limits"),
        ({"rate_limits": {"POLL": (20, 0)}}, "bucket_limit"),
        ({"rate_limits": 20}, "rate_limits"),
    ]
    for kwargs, name in cases:
        with pytest.raises(nexotp.InvalidArgumentError) as info:
            sandbox.client(**kwargs)
        assert name in str(info.value), (kwargs, str(info.value))
    for cls in (nexotp.Client, nexotp.AsyncClient):
        with pytest.raises(nexotp.InvalidArgumentError):
            cls(KEY, base_url=sandbox.url, rate_limit_store="nonsense")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_redis_never_fails_a_call(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    url = f"redis://:Pa55WORD@127.0.0.1:{free_port()}/0"
    caplog.set_level(logging.WARNING, logger="nexotp")
    with sandbox.client(rate_limit_store=url, rate_limits={"GENERAL": (50, 5)}) as client:
        assert "Pa55WORD" not in repr(client)
        for _ in range(5):
            assert client.countries()
    assert len(sandbox.api_requests("GET", "/countries")) == 5
    # The outage is logged once, without the password.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "rate-limit store unavailable" in warnings[0]
    assert "Pa55WORD" not in caplog.text


def test_the_environment_names_the_store(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXOTP_RATE_LIMIT_STORE", "ftp://nowhere/")
    with pytest.raises(nexotp.InvalidArgumentError) as info:
        sandbox.client()
    assert "rate_limit_store" in str(info.value)
    monkeypatch.setenv("NEXOTP_RATE_LIMIT_STORE", "memory")
    with sandbox.client() as client:
        assert client.countries()


@pytest.mark.skipif(
    not os.environ.get("NEXOTP_TEST_REDIS_URL"),
    reason="NEXOTP_TEST_REDIS_URL is not set (scripts/test-python starts a Redis and sets it)",
)
def test_two_clients_share_one_limit_through_redis() -> None:
    url = os.environ["NEXOTP_TEST_REDIS_URL"]
    sb = Sandbox("--rate", "POLL=10/s,burst=2", "--code-delay-ms", "600000")
    try:
        limits = {"POLL": (10, 1)}
        a = sb.client(rate_limit_store=url, rate_limits=limits)
        b = nexotp.AsyncClient(KEY, base_url=sb.url, rate_limit_store=url, rate_limits="POLL=10/s,burst=1")
        order = a.create_order("svc_telegram", "cty_us")
        errors: list[BaseException] = []

        def polls_a() -> None:
            try:
                for _ in range(10):
                    a.get_order(order.id)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        async def polls_b() -> None:
            for _ in range(10):
                await b.get_order(order.id)
            await b.close()

        thread = threading.Thread(target=polls_a)
        thread.start()
        asyncio.run(polls_b())
        thread.join()
        assert not errors, errors
        stats = sb.control("GET", "stats")
        # Each client alone keeps to 10/s; together they would send 20/s into a 10/s limit
        # with room for a burst of 2 only, unless the limit is shared.
        assert stats["rate_limited_by_bucket"]["POLL"] == 0, stats
        assert stats["requests_by_bucket"]["POLL"] == 20
        a.close()
    finally:
        sb.stop()
