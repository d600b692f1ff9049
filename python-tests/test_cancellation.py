"""Cancelling a task that awaits a call: the call is aborted in the core (its ``AbortSignal``,
as in Node), the task still ends cancelled, and a ``create_order``, ``resend_order`` or
``create_webhook`` whose request was already sent is reported as the unknown outcome it is: the
``CancelledError``'s ``__cause__`` is the core's ``OrderOutcomeUnknownError`` (the same fields
as Node's), logged once as a WARNING on the ``nexotp`` logger. Nothing sent: a plain
``CancelledError`` (``test_call_options.py`` has the paused-429 case). The sync client's Ctrl-C
does the same with ``KeyboardInterrupt``."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import time
from typing import Any, Awaitable, Callable

import pytest

import nexotp
from conftest import KEY, Sandbox

ORDER = ("svc_telegram", "cty_us")


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "nexotp" and r.levelno == logging.WARNING]


async def until(check: Callable[[], bool]) -> None:
    """Waits (polling the sandbox's request log, written when a request arrives) until
    `check()` holds: the request under test was sent."""
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the sandbox never saw the request")


async def cancel_when_sent(
    make: Callable[[], Awaitable[Any]], arrived: Callable[[], bool]
) -> tuple[asyncio.Task[Any], BaseException]:
    """Starts `make()` as a task, cancels it once the sandbox has the request (its answer held
    back by `slow_after_apply`), and returns the task and what awaiting it raised."""
    task = asyncio.ensure_future(make())
    await until(arrived)
    task.cancel()
    with pytest.raises(asyncio.CancelledError) as info:
        await asyncio.wait_for(task, 5)
    return task, info.value


async def test_cancel_after_create_order_was_sent_carries_the_unknown_outcome(
    aclient: nexotp.AsyncClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.faults({"match": "POST /order", "fault": "slow_after_apply", "ms": 3000})
    before = time.time()
    with caplog.at_level(logging.WARNING, logger="nexotp"):
        task, raised = await cancel_when_sent(
            lambda: aclient.create_order(*ORDER, pool="pool_a"), lambda: bool(sandbox.api_requests("POST", "/order"))
        )
    assert task.cancelled()  # asyncio's semantics kept: the task ends cancelled
    err = raised.__cause__
    assert isinstance(err, nexotp.OrderOutcomeUnknownError), repr(err)
    assert (err.operation, err.service, err.country, err.pool) == ("create_order", *ORDER, "pool_a")
    assert err.sent_at is not None and err.failed_at is not None
    assert before - 1 <= err.sent_at <= err.failed_at <= time.time() + 1
    assert err.retryable is False and "aborted after POST" in err.message
    # Logged once, with what was sent and never the key.
    [record] = warnings_of(caplog)
    assert "svc_telegram/cty_us" in record.getMessage() and KEY not in record.getMessage()
    found = await aclient.reconcile(err)
    [made] = sandbox.state()["orders"]
    assert found.outcome == "applied" and found.order is not None and found.order.id == str(made["id"])
    assert len(sandbox.api_requests("POST", "/order")) == 1  # nothing re-sent


async def test_cancel_after_resend_was_sent_carries_the_unknown_outcome(
    aclient: nexotp.AsyncClient, sandbox: Sandbox
) -> None:
    order = await aclient.create_order(*ORDER)
    done = await aclient.wait_for_code(order.id, timeout=10, poll_interval=0.05)
    sandbox.faults({"match": "POST /order/*/resend", "fault": "slow_after_apply", "ms": 3000})
    path = f"/order/{order.id}/resend"
    _, raised = await cancel_when_sent(
        lambda: aclient.resend_order(order.id), lambda: bool(sandbox.api_requests("POST", path))
    )
    err = raised.__cause__
    assert isinstance(err, nexotp.OrderOutcomeUnknownError), repr(err)
    assert (err.operation, err.order_id) == ("resend_order", order.id)
    assert err.codes_before == done.all_codes()
    found = await aclient.reconcile(err)
    assert found.outcome == "applied" and found.order is not None and found.order.id == order.id


async def test_cancel_after_create_webhook_was_sent_carries_the_unknown_outcome(
    aclient: nexotp.AsyncClient, sandbox: Sandbox
) -> None:
    sandbox.faults({"match": "POST /webhooks", "fault": "slow_after_apply", "ms": 3000})
    _, raised = await cancel_when_sent(
        lambda: aclient.create_webhook("http://127.0.0.1:9/a", ["order.created"]),
        lambda: bool(sandbox.api_requests("POST", "/webhooks")),
    )
    err = raised.__cause__
    assert isinstance(err, nexotp.OrderOutcomeUnknownError), repr(err)
    assert (err.operation, err.endpoint_url, err.events) == ("create_webhook", "http://127.0.0.1:9/a", ["order.created"])
    found = await aclient.reconcile(err)
    assert found.outcome == "applied" and found.webhook is not None


async def test_cancelling_a_safe_call_in_flight_is_a_plain_cancellation(
    aclient: nexotp.AsyncClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.faults({"match": "GET /account", "fault": "slow_after_apply", "ms": 3000})
    with caplog.at_level(logging.WARNING, logger="nexotp"):
        task, raised = await cancel_when_sent(
            aclient.account, lambda: bool(sandbox.api_requests("GET", "/account"))
        )
    assert task.cancelled() and raised.__cause__ is None
    assert warnings_of(caplog) == []
    assert len(sandbox.api_requests("GET", "/account")) == 1


async def test_wait_for_keeps_the_unknown_outcome_in_its_chain(
    aclient: nexotp.AsyncClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """`asyncio.wait_for` turns the cancellation into TimeoutError; the unknown outcome stays
    reachable (and is logged)."""
    sandbox.faults({"match": "POST /order", "fault": "slow_after_apply", "ms": 3000})
    with caplog.at_level(logging.WARNING, logger="nexotp"), pytest.raises(asyncio.TimeoutError) as info:
        await asyncio.wait_for(aclient.create_order(*ORDER), 0.5)
    chain = []
    e: BaseException | None = info.value
    while e is not None:
        chain.append(type(e).__name__)
        e = e.__cause__ or e.__context__
    assert "OrderOutcomeUnknownError" in chain, chain
    assert len(warnings_of(caplog)) == 1


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is 3.11+")
async def test_a_task_group_cancelling_a_sent_create_order_logs_the_unknown_outcome(
    aclient: nexotp.AsyncClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.faults({"match": "POST /order", "fault": "slow_after_apply", "ms": 3000})

    async def fail_once_sent() -> None:
        await until(lambda: bool(sandbox.api_requests("POST", "/order")))
        raise LookupError("a sibling failed")

    with caplog.at_level(logging.WARNING, logger="nexotp"), pytest.raises(BaseException) as info:
        async with asyncio.TaskGroup() as tg:  # type: ignore[attr-defined]
            created = tg.create_task(aclient.create_order(*ORDER))
            tg.create_task(fail_once_sent())
    # The group reports only the sibling's error; the cancelled create is in the log.
    assert [type(e) for e in info.value.exceptions] == [LookupError]  # type: ignore[attr-defined]
    assert created.cancelled()
    [record] = warnings_of(caplog)
    assert "create_order" in record.getMessage()


def test_ctrl_c_after_a_sync_create_order_was_sent_carries_the_unknown_outcome(sandbox: Sandbox) -> None:
    """The sync client's Ctrl-C aborts the call the core's way too: the KeyboardInterrupt's
    ``__cause__`` is the OrderOutcomeUnknownError, which reconciles to the order made."""
    sandbox.faults({"match": "POST /order", "fault": "slow_after_apply", "ms": 3000})
    code = f"""
import logging, sys, nexotp
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
client = nexotp.Client({KEY!r}, base_url={sandbox.url!r})
print("ready", flush=True)
try:
    client.create_order("svc_telegram", "cty_us")
except KeyboardInterrupt as e:
    cause = e.__cause__
    print(type(cause).__name__, getattr(cause, "operation", None), flush=True)
    print(client.reconcile(cause).outcome, flush=True)
    sys.exit(3)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        for _ in range(500):
            if sandbox.api_requests("POST", "/order"):
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 3, err
    assert out.split("\n")[:2] == ["OrderOutcomeUnknownError create_order", "applied"], (out, err)
    assert err.count("WARNING:nexotp:a call was cancelled or interrupted after its request was sent") == 1
    assert KEY not in err
    assert len(sandbox.api_requests("POST", "/order")) == 1
