"""The asyncio bridge, correct by construction: each call's cancel handle belongs to the bridge
(event loop) that started it, a bridge is released with its file descriptors when its loop
closes or is collected, and completions never raise SIGPIPE. Each test runs on asyncio's own
loop and on uvloop."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
from typing import Any, Callable, Iterator

import pytest

import nexotp
from conftest import KEY, Sandbox, run_script

pytestmark = pytest.mark.async_suite

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is in the test requirements on Linux
    uvloop = None  # type: ignore[assignment]

LOOPS: list[tuple[str, Callable[[], asyncio.AbstractEventLoop]]] = [("asyncio", asyncio.new_event_loop)]
if uvloop is not None:
    LOOPS.append(("uvloop", uvloop.new_event_loop))


@pytest.fixture(params=[f for _, f in LOOPS], ids=[n for n, _ in LOOPS])
def new_loop(request: pytest.FixtureRequest) -> Callable[[], asyncio.AbstractEventLoop]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def latent() -> Iterator[Sandbox]:
    """Every answer takes 300 ms (calls stay in flight); codes never come by themselves."""
    sb = Sandbox("--latency-ms", "300", "--code-delay-ms", "600000")
    yield sb
    sb.stop()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def polls(sb: Sandbox, order_id: str) -> int:
    return len([r for r in sb.requests() if r["method"] == "GET" and r["path"].endswith(f"/order/{order_id}")])


def start_abandoned_wait(sb: Sandbox, new_loop: Callable[[], asyncio.AbstractEventLoop]) -> tuple[Any, str]:
    """On a loop of its own: an order, and a task waiting for its code (polling every 50 ms),
    left pending; the loop is then closed without cancelling it."""
    loop = new_loop()
    client = nexotp.AsyncClient(KEY, base_url=sb.url)
    order = loop.run_until_complete(client.create_order("svc_telegram", "cty_us"))
    task = loop.create_task(client.wait_for_code(order.id, timeout=60, poll_interval=0.05))
    loop.run_until_complete(asyncio.sleep(0.5))
    assert not task.done()
    loop.close()
    return task, order.id


def test_a_coroutine_collected_with_no_loop_running_cancels_its_own_call(
    latent: Sandbox, new_loop: Callable[[], asyncio.AbstractEventLoop]
) -> None:
    latent.reset()
    unraisable: list[Any] = []
    old_hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        task, order_id = start_abandoned_wait(latent, new_loop)
        task._log_destroy_pending = False  # type: ignore[attr-defined]
        del task
        gc.collect()  # closes the coroutine: GeneratorExit at its await, no loop running
    finally:
        sys.unraisablehook = old_hook
    assert [u.exc_type for u in unraisable] == []  # not a RuntimeError "no running event loop"
    # The polling task was aborted: no poll after the first count settles.
    seen = polls(latent, order_id)
    run_script("import time; time.sleep(1.0)")
    assert polls(latent, order_id) <= seen + 1  # at most one already in flight


def test_a_loop_closed_while_another_runs_cancels_only_its_own_calls(
    latent: Sandbox, new_loop: Callable[[], asyncio.AbstractEventLoop]
) -> None:
    """Regression (tokens counted per loop from 1 and cancelled on the running loop): loop 1's
    abandoned wait, collected while loop 2 runs, cancelled loop 2's call of the same number,
    whose future then never resolved."""
    latent.reset()
    abandoned = [start_abandoned_wait(latent, new_loop) for _ in range(3)]

    async def second_loop() -> list[Any]:
        client = nexotp.AsyncClient(KEY, base_url=latent.url)
        order = await client.create_order("svc_telegram", "cty_us")
        # In flight while loop 1's coroutines close: the numbers its calls had on loop 1.
        calls = [asyncio.ensure_future(client.account()) for _ in range(6)]
        waiting = asyncio.ensure_future(client.wait_for_code(order.id, timeout=1.5, poll_interval=0.1))
        await asyncio.sleep(0.05)  # every call in flight
        for task, _ in abandoned:
            task._log_destroy_pending = False
        abandoned.clear()
        gc.collect()  # loop 1's coroutines close now, on this thread, loop 2 running
        done = await asyncio.wait_for(asyncio.gather(*calls), 8)
        with pytest.raises(nexotp.WaitTimeoutError):
            await asyncio.wait_for(waiting, 8)  # resolves: neither hangs nor was cancelled
        return done

    loop = new_loop()
    try:
        accounts = loop.run_until_complete(second_loop())
    finally:
        loop.close()
    assert len(accounts) == 6 and all(isinstance(a, nexotp.Account) for a in accounts)


def test_eight_threads_each_with_a_loop_and_100_calls_in_flight(
    sandbox: Sandbox, new_loop: Callable[[], asyncio.AbstractEventLoop]
) -> None:
    results: dict[int, int] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        async def main() -> int:
            async with nexotp.AsyncClient(KEY, base_url=sandbox.url) as client:
                done = await asyncio.wait_for(asyncio.gather(*(client.countries() for _ in range(100))), 60)
                return len(done)

        loop = new_loop()
        try:
            results[n] = loop.run_until_complete(main())
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            loop.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert results == {n: 100 for n in range(8)}


def test_a_thousand_loops_leave_no_file_descriptors(
    sandbox: Sandbox, new_loop: Callable[[], asyncio.AbstractEventLoop]
) -> None:
    client = nexotp.AsyncClient(KEY, base_url=sandbox.url)

    def one_loop() -> None:
        loop = new_loop()
        try:
            loop.run_until_complete(client.account())
        finally:
            loop.close()

    for _ in range(20):  # warm up: connection pool, runtime threads
        one_loop()
    gc.collect()
    before = open_fds()
    for _ in range(1000):
        one_loop()
    gc.collect()
    after = open_fds()
    assert after - before <= 4, (before, after)
    assert nexotp._native._debug_bridges_live() <= 1


def test_completions_for_a_gone_loop_raise_no_sigpipe(latent: Sandbox) -> None:
    """A program that restored SIGPIPE's default handler survives calls completing after their
    loop was closed and its bridge released (the write end uses MSG_NOSIGNAL; released bridges
    are not written to)."""
    code = f"""
import asyncio, gc, signal, time
import nexotp
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
client = nexotp.AsyncClient({KEY!r}, base_url={latent.url!r})
for _ in range(3):
    loop = asyncio.new_event_loop()
    tasks = [loop.create_task(client.account()) for _ in range(20)]
    loop.run_until_complete(asyncio.sleep(0.05))  # sent, answers 300 ms away
    loop.close()
    other = asyncio.new_event_loop()  # its first call releases the closed loop's bridge
    other.run_until_complete(client.countries())
    other.close()
    for t in tasks:
        t._log_destroy_pending = False
    del tasks, loop
    gc.collect()
time.sleep(1.0)  # the abandoned calls' answers arrive meanwhile
print("survived")
"""
    out = run_script(code)
    assert out.returncode == 0 and "survived" in out.stdout, (out.returncode, out.stderr[-2000:])
