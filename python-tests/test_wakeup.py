"""The asyncio bridge's second way to wake a loop: one daemon thread per loop (``nexotp-wakeup``)
waiting on a Rust doorbell with the GIL released and calling ``loop.call_soon_threadsafe``. It
is the only way on Windows (``ProactorEventLoop`` has no ``add_reader``); on Unix it is used for
a loop whose ``add_reader`` raises ``NotImplementedError`` and when
``NEXOTP_ASYNC_WAKEUP=thread`` (``scripts/test-python`` runs the whole async suite a second
time so). Here: a loop without ``add_reader``, the variable, and no thread left behind."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from typing import Any, Iterator

import pytest

import nexotp
from conftest import KEY, Sandbox, run_script

pytestmark = pytest.mark.async_suite


class NoReaderLoop(asyncio.SelectorEventLoop):
    """A loop like Windows' proactor as far as the bridge can tell: no ``add_reader``."""

    def add_reader(self, fd: Any, callback: Any, *args: Any) -> None:
        raise NotImplementedError


@pytest.fixture
def auto_wakeup(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default choice, even inside the suite's forced-thread run."""
    monkeypatch.delenv("NEXOTP_ASYNC_WAKEUP", raising=False)


def threads() -> int:
    """This process's OS threads but the runtime's (``nexotp-tokio``, whose blocking pool
    grows and shrinks by itself)."""
    count = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                count += f.read().strip() != "nexotp-tokio"
        except FileNotFoundError:  # ended meanwhile
            pass
    return count


def wakeup_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "nexotp-wakeup"]


def settle() -> None:
    """Lets ended wake-up threads finish (they end at once when their bridge is released)."""
    gc.collect()
    for t in wakeup_threads():
        t.join(10)


def test_a_loop_without_add_reader_is_woken_from_a_thread(sandbox: Sandbox, auto_wakeup: None) -> None:
    async def main() -> tuple[str, int, Any]:
        assert nexotp._native._debug_bridge_wakeup() == "thread"  # type: ignore[attr-defined]
        async with nexotp.AsyncClient(KEY, base_url=sandbox.url) as client:
            await client.account()
            [thread] = wakeup_threads()  # the loop's one thread, kept between calls
            for _ in range(3):
                await client.account()
            many = await asyncio.gather(*(client.countries() for _ in range(200)))
            assert wakeup_threads() == [thread]
            order = await client.create_order("svc_telegram", "cty_us")
            done = await client.wait_for_code(order.id, timeout=10, poll_interval=0.05)
            # A cancelled call still ends (the core's end arrives through the thread too).
            task = asyncio.ensure_future(client.wait_for_code(order.id, timeout=10, exclude_codes=[done.code or ""]))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
            return done.code or "", len(many), nexotp._native._debug_bridge_state()  # type: ignore[attr-defined]

    loop = NoReaderLoop()
    try:
        code, n, (pending, queued, _) = loop.run_until_complete(main())
    finally:
        loop.close()
    assert code and n == 200 and (pending, queued) == (0, 0)


def test_the_default_on_unix_is_the_reader(sandbox: Sandbox, auto_wakeup: None) -> None:
    async def main() -> str:
        await nexotp.AsyncClient(KEY, base_url=sandbox.url).account()
        return nexotp._native._debug_bridge_wakeup()  # type: ignore[attr-defined,no-any-return]

    assert asyncio.run(main()) == "reader"


def test_the_variable_forces_the_thread_and_refuses_nonsense(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> str:
        await nexotp.AsyncClient(KEY, base_url=sandbox.url).account()
        return nexotp._native._debug_bridge_wakeup()  # type: ignore[attr-defined,no-any-return]

    monkeypatch.setenv("NEXOTP_ASYNC_WAKEUP", "thread")
    assert asyncio.run(main()) == "thread"
    monkeypatch.setenv("NEXOTP_ASYNC_WAKEUP", "auto")
    assert asyncio.run(main()) == "reader"
    monkeypatch.setenv("NEXOTP_ASYNC_WAKEUP", "sometimes")
    with pytest.raises(nexotp.NexOTPError, match="NEXOTP_ASYNC_WAKEUP"):
        asyncio.run(main())


@pytest.fixture
def forced(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NEXOTP_ASYNC_WAKEUP", "thread")
    yield


def test_200_loops_in_turn_leave_no_threads(sandbox: Sandbox, forced: None) -> None:
    client = nexotp.AsyncClient(KEY, base_url=sandbox.url)

    def one_loop() -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(client.account())
        finally:
            loop.close()

    for _ in range(5):  # warm up: the runtime's threads, the connection pool
        one_loop()
    settle()
    before = (threads(), threading.active_count(), len(wakeup_threads()))
    for _ in range(200):
        one_loop()
    settle()
    after = (threads(), threading.active_count(), len(wakeup_threads()))
    assert after == before, (before, after)
    assert before[2] == 0
    assert nexotp._native._debug_bridges_live() == 0  # type: ignore[attr-defined]


def test_a_loop_closed_with_calls_in_flight_ends_its_thread(slow: Sandbox, forced: None) -> None:
    """Closed with calls in flight (codes never come) and its tasks abandoned: once collected,
    the bridge is released, its calls aborted and its thread gone."""
    settle()
    before = threads()
    client = nexotp.AsyncClient(KEY, base_url=slow.url)
    loop = asyncio.new_event_loop()
    order = loop.run_until_complete(client.create_order("svc_telegram", "cty_us"))
    tasks = [loop.create_task(client.wait_for_code(order.id, timeout=60, poll_interval=5)) for _ in range(5)]
    loop.run_until_complete(asyncio.sleep(0.1))
    assert len(wakeup_threads()) == 1
    loop.close()
    for t in tasks:
        t._log_destroy_pending = False  # type: ignore[attr-defined]
    del tasks, loop, t
    assert len(wakeup_threads()) == 1  # calls still in flight: nothing woke the thread
    settle()
    assert wakeup_threads() == [] and threads() == before
    assert nexotp._native._debug_bridges_live() == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("wakeup", ["thread", "auto"])
def test_interpreter_exit_with_calls_in_flight(slow: Sandbox, wakeup: str) -> None:
    """The wake-up thread waits detached; exiting while it waits (and while calls are in
    flight, their loop closed) neither hangs nor crashes, and the coroutines closed late in
    finalisation only abort their calls."""
    code = f"""
import asyncio, nexotp
client = nexotp.AsyncClient({KEY!r}, base_url={slow.url!r})
loop = asyncio.new_event_loop()
order = loop.run_until_complete(client.create_order("svc_telegram", "cty_us"))
tasks = [loop.create_task(client.wait_for_code(order.id, timeout=60, poll_interval=0.05)) for _ in range(10)]
loop.run_until_complete(asyncio.sleep(0.3))
loop.close()
for t in tasks:
    t._log_destroy_pending = False
print("exiting")  # the tasks, kept by this module, are closed late in finalisation
"""
    out = run_script(code, env={"NEXOTP_ASYNC_WAKEUP": wakeup})
    assert out.returncode == 0 and "exiting" in out.stdout, (out.returncode, out.stderr[-2000:])
    # The abandoned coroutines are closed at exit: each only aborts its call (no import then).
    assert "Exception ignored" not in out.stderr, out.stderr[-2000:]
