"""wait_for_code: code, closed order, timeout (with the refund), Ctrl-C, async cancellation."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest

import nexotp
from conftest import KEY, Sandbox


def test_wait_returns_the_code(client: nexotp.Client) -> None:
    order = client.create_order("svc_telegram", "cty_us")
    done = client.wait_for_code(order.id, timeout=10, poll_interval=0.05)
    assert done.id == order.id and done.status == "received" and done.code


def test_wait_on_a_closed_order(slow: Sandbox) -> None:
    with slow.client() as client:
        order = client.create_order("svc_telegram", "cty_us")
        slow.control("POST", f"orders/{order.id}/expire")
        with pytest.raises(nexotp.OrderClosedError) as info:
            client.wait_for_code(order.id, timeout=5, poll_interval=0.05)
    final = info.value.order
    assert final is not None and final.id == order.id and final.status == nexotp.OrderStatus.EXPIRED


def test_wait_timeout_cancels_and_refunds(slow: Sandbox) -> None:
    with slow.client() as client:
        order = client.create_order("svc_telegram", "cty_us")
        assert client.account().balance == Decimal("25.00") - order.price
        with pytest.raises(nexotp.WaitTimeoutError) as info:
            client.wait_for_code(order.id, timeout=0.4, poll_interval=0.1, cancel_on_timeout=True)
        exc = info.value
        assert exc.cancelled is True and exc.waited >= 0.4
        assert exc.order is not None and exc.order.status == "cancelled"
        assert client.account().balance == Decimal("25.00")


def test_wait_timeout_without_cancel_keeps_the_order(slow: Sandbox) -> None:
    with slow.client() as client:
        order = client.create_order("svc_telegram", "cty_us")
        with pytest.raises(nexotp.WaitTimeoutError) as info:
            client.wait_for_code(order.id, timeout=0.3, poll_interval=0.1)
        assert info.value.cancelled is False and info.value.order is not None
        assert client.get_order(order.id).status == "pending"


def test_wait_sees_a_code_pushed_meanwhile(slow: Sandbox) -> None:
    import threading

    with slow.client() as client:
        order = client.create_order("svc_telegram", "cty_us")
        timer = threading.Timer(0.3, lambda: slow.control("POST", f"orders/{order.id}/code", {"code": "424242"}))
        timer.start()
        done = client.wait_for_code(order.id, timeout=10, poll_interval=0.05)
        timer.join()
    assert done.code == "424242"


async def test_wait_async_code_closed_and_timeout(slow: Sandbox) -> None:
    async with slow.async_client() as client:
        order = await client.create_order("svc_telegram", "cty_us")
        slow.control("POST", f"orders/{order.id}/code", {"code": "111222"})
        assert (await client.wait_for_code(order.id, timeout=5, poll_interval=0.05)).code == "111222"
        other = await client.create_order("svc_telegram", "cty_us")
        slow.control("POST", f"orders/{other.id}/expire")
        with pytest.raises(nexotp.OrderClosedError):
            await client.wait_for_code(other.id, timeout=5, poll_interval=0.05)
        third = await client.create_order("svc_telegram", "cty_us")
        with pytest.raises(nexotp.WaitTimeoutError) as info:
            await client.wait_for_code(third.id, timeout=0.3, poll_interval=0.1, cancel_on_timeout=True)
        assert info.value.cancelled


async def test_cancelling_an_async_wait_drops_its_requests(slow: Sandbox) -> None:
    async with slow.async_client() as client:
        order = await client.create_order("svc_telegram", "cty_us")
        task = asyncio.create_task(client.wait_for_code(order.id, timeout=60, poll_interval=0.05))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        polls = len(slow.api_requests("GET", f"/order/{order.id}"))
        assert polls >= 2
        await asyncio.sleep(0.4)
        assert len(slow.api_requests("GET", f"/order/{order.id}")) == polls  # polling stopped


async def test_cancelling_drops_an_in_flight_request(slow: Sandbox) -> None:
    slow.fault(match="GET /account", fault="delay", ms=1000)
    async with slow.async_client() as client:
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.account(), 0.2)
        assert time.monotonic() - started < 0.8
        # Had the request stayed open, the sandbox would have answered it (and logged a 200)
        # once its 1 s delay ended.
        await asyncio.sleep(1.3)
        assert [r for r in slow.api_requests("GET", "/account") if r["status"] == 200] == []
        assert (await client.account()).currency == "USD"  # the client still works
        assert len([r for r in slow.api_requests("GET", "/account") if r["status"] == 200]) == 1


def test_ctrl_c_interrupts_a_sync_wait(slow: Sandbox) -> None:
    code = f"""
import sys, nexotp
client = nexotp.Client({KEY!r}, base_url={slow.url!r})
order = client.create_order("svc_telegram", "cty_us")
print(order.id, flush=True)
try:
    client.wait_for_code(order.id, timeout=120, poll_interval=0.2)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(3)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    order_id = proc.stdout.readline().strip()
    time.sleep(0.5)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 3, err
    assert "interrupted" in out
    assert time.monotonic() - started < 3
    polls = len(slow.api_requests("GET", f"/order/{order_id}"))
    time.sleep(0.5)
    assert len(slow.api_requests("GET", f"/order/{order_id}")) == polls
