"""client.watch(): many orders in one loop, sync iterator and ``async for``, against the sandbox."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import nexotp
from conftest import KEY, Sandbox, run_script


def _orders(client: nexotp.Client, n: int) -> list[str]:
    return [client.create_order("svc_telegram", "cty_us").id for _ in range(n)]


def test_sync_codes_once_with_orders_added_and_removed_while_it_runs(slow: Sandbox) -> None:
    with slow.client() as client:
        ids = _orders(client, 5)
        with client.watch() as watcher:
            for order_id in ids[:4]:
                watcher.add(order_id, timeout=20, poll_interval=0.05)
            assert watcher.remove(ids[3]) is True
            assert watcher.remove(ids[3]) is False
            assert len(watcher) == 3
            events: list[nexotp.WatchEvent] = []

            def run() -> None:
                for event in watcher:
                    events.append(event)

            consumer = threading.Thread(target=run)
            consumer.start()
            # Codes arrive while it runs; an order is added from this thread meanwhile.
            for n, order_id in enumerate(ids[:3]):
                slow.control("POST", f"orders/{order_id}/code", {"code": f"10000{n}"})
            watcher.add(ids[4], timeout=20, poll_interval=0.05)
            slow.control("POST", f"orders/{ids[4]}/code", {"code": "100004"})
            deadline = time.monotonic() + 15
            while len(watcher) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)  # later polls see the same codes: none may come twice
            watcher.close()
            consumer.join(10)
            assert not consumer.is_alive()
    assert all(e.kind == "code" and not e.from_webhook for e in events)
    got = {e.order_id: e.code for e in events}
    assert len(got) == len(events) == 4
    assert got == {ids[0]: "100000", ids[1]: "100001", ids[2]: "100002", ids[4]: "100004"}
    assert "kind='code'" in repr(events[0])
    assert events[0].order is not None and events[0].order.code == events[0].code


def test_sync_ends_timeout_with_cancel_expired_and_unknown(slow: Sandbox) -> None:
    with slow.client() as client:
        expired, timed_out = _orders(client, 2)
        with client.watch() as watcher:
            watcher.add(expired, timeout=20, poll_interval=0.05)
            watcher.add(timed_out, timeout=0.3, poll_interval=0.05, cancel_on_timeout=True)
            watcher.add("999999", poll_interval=0.05)
            with pytest.raises(nexotp.InvalidArgumentError):
                watcher.add(expired, poll_interval=0)
            with pytest.raises(nexotp.InvalidArgumentError):
                watcher.feed("not an event")  # type: ignore[arg-type]
            slow.control("POST", f"orders/{expired}/expire")
            ends = {}
            for event in watcher:
                ends[event.order_id] = event
                if not len(watcher):
                    break
    assert ends[expired].kind == "expired" and ends[expired].code is None
    assert ends[timed_out].kind == "timed_out" and ends[timed_out].cancelled
    assert isinstance(ends["999999"].error, nexotp.NotFoundError)
    assert ends["999999"].kind == "failed"


async def test_async_for_with_add_while_running_and_close(slow: Sandbox) -> None:
    async with slow.async_client() as client:
        ids = [(await client.create_order("svc_telegram", "cty_us")).id for _ in range(3)]
        watcher = client.watch()
        watcher.add(ids[0], timeout=20, poll_interval=0.05)
        watcher.add(ids[1], timeout=20, poll_interval=0.05)

        async def produce() -> None:
            await asyncio.sleep(0.2)
            watcher.add(ids[2], timeout=20, poll_interval=0.05)
            for order_id in ids:
                slow.control("POST", f"orders/{order_id}/code", {})

        producer = asyncio.create_task(produce())
        codes = {}
        async with watcher:
            async for event in watcher:
                assert event.kind == "code"
                codes[event.order_id] = event.code
                if len(codes) == 3:
                    break
        await producer
        assert watcher.closed
        assert set(codes) == set(ids) and all(codes.values())
        # Closed: it yields nothing more, and an order cannot be added.
        assert [e async for e in watcher] == []
        with pytest.raises(nexotp.InvalidArgumentError):
            watcher.add(ids[0])


async def test_async_cancelling_the_await_leaves_the_watcher_usable(slow: Sandbox) -> None:
    async with slow.async_client() as client:
        order = await client.create_order("svc_telegram", "cty_us")
        watcher = client.watch()
        watcher.add(order.id, timeout=20, poll_interval=0.05)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(watcher.__anext__(), 0.3)
        slow.control("POST", f"orders/{order.id}/code", {"code": "424242"})
        event = await asyncio.wait_for(watcher.__anext__(), 10)
        assert event.code == "424242"
        watcher.close()


async def test_async_an_event_found_as_the_await_is_cancelled_is_not_lost(slow: Sandbox) -> None:
    async with slow.async_client() as client:
        order = await client.create_order("svc_telegram", "cty_us")
        slow.control("POST", f"orders/{order.id}/code", {"code": "515151"})
        watcher = client.watch()
        watcher.add(order.id, timeout=20, poll_interval=0.01)
        task = asyncio.ensure_future(watcher.__anext__())
        await asyncio.sleep(0)  # the task starts the native wait
        time.sleep(0.5)  # the loop is busy: the runtime finds the code meanwhile
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        event = await asyncio.wait_for(watcher.__anext__(), 10)
        assert event.code == "515151"
        watcher.close()


def test_feeding_a_verified_delivery_answers_the_order_without_polls(slow: Sandbox) -> None:
    with slow.client() as client:
        (order_id,) = _orders(client, 1)
        slow.control("POST", f"orders/{order_id}/code", {"code": "777777"})
        order = client.get_order(order_id)
        body = (
            '{"id":"evt_1","type":"order.code_received","created_at":1,"data":'
            + f'{{"id":{order_id},"status":"received","code":"777777","codes":["777777"]}}}}'
        )
        header = nexotp.sign_webhook(body, "whsec_test")
        event = nexotp.verify_webhook(body, header, "whsec_test")
        before = len(slow.api_requests("GET", f"/order/{order_id}"))
        with client.watch() as watcher:
            watcher.add(order_id, timeout=20, poll_interval=5)
            assert watcher.feed(event) is True
            got = next(watcher)
        assert got.from_webhook and got.code == "777777" == order.code
        assert len(slow.api_requests("GET", f"/order/{order_id}")) == before


def test_a_closed_watcher_lets_the_process_exit(slow: Sandbox) -> None:
    code = f"""
import threading, nexotp
client = nexotp.Client({KEY!r}, base_url={slow.url!r})
order = client.create_order("svc_telegram", "cty_us")
watcher = client.watch()
watcher.add(order.id, poll_interval=0.05)
threading.Timer(0.3, watcher.close).start()
print(list(watcher))
abandoned = client.watch()
abandoned.add(order.id, poll_interval=0.05)
print("done")
"""
    started = time.monotonic()
    out = run_script(code, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "done"]
    assert time.monotonic() - started < 20
