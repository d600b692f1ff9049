"""Fixtures: a real ``nexotp-sandbox`` process, reset before every test.

The session sandbox runs with a short code delay (200 ms). ``Sandbox.control`` talks to its
``/__sandbox/`` endpoints (reset, faults, balance, request log, ...). Tests that need other
flags start their own with ``spawn_sandbox``.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
import pytest_asyncio

import nexotp

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk_test_sandbox"


def sandbox_binary() -> str:
    path = os.environ.get("NEXOTP_SANDBOX_BIN") or str(ROOT / "target" / "debug" / "nexotp-sandbox")
    if not Path(path).exists():
        raise RuntimeError(f"sandbox binary not found at {path}: run `cargo build -p nexotp-sandbox`")
    return path


class Sandbox:
    """A running sandbox process and its control endpoints."""

    def __init__(self, *flags: str) -> None:
        self.proc = subprocess.Popen(
            [sandbox_binary(), "--port", "0", "--exit-on-stdin-close", *flags],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http://"):
            self.proc.kill()
            raise RuntimeError(f"sandbox did not print its URL: {line!r}")
        self.url = line
        self.root = line.split("/wp-json/")[0]

    def control(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.root}/__sandbox/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read().decode()
        return json.loads(text) if text else None

    def reset(self) -> None:
        self.control("POST", "reset")

    def requests(self) -> list[dict[str, Any]]:
        """The API requests the sandbox received (the request log)."""
        return list(self.control("GET", "requests"))

    def api_requests(self, method: str, prefix: str) -> list[dict[str, Any]]:
        return [
            r
            for r in self.requests()
            if r["method"] == method and r["path"].split("/wp-json/nexotp/v1")[-1].startswith(prefix)
        ]

    def fault(self, **fault: Any) -> None:
        self.control("POST", "faults", {"script": [fault]})

    def faults(self, *script: dict[str, Any], **rates: Any) -> None:
        self.control("POST", "faults", {"script": list(script), **rates})

    def state(self) -> dict[str, Any]:
        return dict(self.control("GET", "state"))

    def client(self, **kwargs: Any) -> nexotp.Client:
        kwargs.setdefault("base_url", self.url)
        return nexotp.Client(KEY, **kwargs)

    def async_client(self, **kwargs: Any) -> nexotp.AsyncClient:
        kwargs.setdefault("base_url", self.url)
        return nexotp.AsyncClient(KEY, **kwargs)

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "async_suite: the asyncio tests (every coroutine test, and the bridge's own); "
        "scripts/test-python runs them a second time with NEXOTP_ASYNC_WAKEUP=thread",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if inspect.iscoroutinefunction(getattr(item, "obj", None)):
            item.add_marker(pytest.mark.async_suite)


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Any]:
    """Every async test runs on asyncio's own loop and on uvloop (from PyPI): the bridge must
    not depend on one loop's internals. ``NEXOTP_TEST_LOOPS=asyncio`` runs one only."""
    import asyncio

    factories: dict[str, Any] = {"asyncio": asyncio.new_event_loop}
    try:
        import uvloop

        factories["uvloop"] = uvloop.new_event_loop
    except ImportError:  # not on this platform
        pass
    wanted = os.environ.get("NEXOTP_TEST_LOOPS")
    if wanted:
        factories = {k: v for k, v in factories.items() if k in wanted.split(",")}
    return factories


@pytest.fixture(scope="session")
def session_sandbox() -> Iterator[Sandbox]:
    sb = Sandbox("--code-delay-ms", "200")
    yield sb
    sb.stop()


@pytest.fixture
def sandbox(session_sandbox: Sandbox) -> Sandbox:
    """The session sandbox, reset to its seeded start."""
    session_sandbox.reset()
    return session_sandbox


@pytest.fixture(scope="module")
def slow_sandbox() -> Iterator[Sandbox]:
    """A sandbox whose orders never get a code by themselves (code delay 10 minutes)."""
    sb = Sandbox("--code-delay-ms", "600000")
    yield sb
    sb.stop()


@pytest.fixture
def slow(slow_sandbox: Sandbox) -> Sandbox:
    slow_sandbox.reset()
    return slow_sandbox


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[nexotp.Client]:
    with sandbox.client() as c:
        yield c


@pytest_asyncio.fixture
async def aclient(sandbox: Sandbox) -> Any:
    async with sandbox.async_client() as c:
        yield c


def run_script(code: str, *, env: dict[str, str] | None = None, timeout: float = 60, prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a fresh interpreter (this venv's), returning the finished process."""
    full_env = dict(os.environ)
    full_env.pop("NEXOTP_LOG", None)
    full_env["RUST_BACKTRACE"] = "0"
    full_env.update(env or {})
    return subprocess.run(
        [*(prefix or []), sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )
