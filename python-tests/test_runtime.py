"""The runtime rules: lazy single runtime, GIL released, no Python on tokio threads, fork,
panics, and a clean exit while requests are still in flight."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest

import nexotp
from conftest import KEY, ROOT, Sandbox, run_script

SRC = ROOT / "bindings" / "python" / "src"


def test_import_creates_no_runtime_and_no_thread() -> None:
    code = """
import threading, os
before = len(os.listdir("/proc/self/task"))
import nexotp
after = len(os.listdir("/proc/self/task"))
print(nexotp._native._runtime_info(), before, after)
"""
    out = run_script(code)
    assert out.returncode == 0, out.stderr
    info, before, after = out.stdout.rsplit(" ", 2)
    assert info == "(0, 0)" and before == after.strip()


def test_one_runtime_per_process(sandbox: Sandbox) -> None:
    code = f"""
import asyncio, nexotp
clients = [nexotp.Client({KEY!r}, base_url={sandbox.url!r}) for _ in range(5)]
for c in clients:
    c.account()
async def main():
    a = nexotp.AsyncClient({KEY!r}, base_url={sandbox.url!r})
    await a.account()
asyncio.run(main())
asyncio.run(main())
print(nexotp._native._runtime_info()[1])
"""
    out = run_script(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"


def test_blocking_calls_release_the_gil(sandbox: Sandbox) -> None:
    sandbox.fault(match="GET /account", fault="delay", ms=600)
    ticks = 0
    stop = False

    def count() -> None:
        nonlocal ticks
        while not stop:
            ticks += 1
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    with sandbox.client() as client:
        counter.start()
        before = ticks
        client.account()  # 600 ms in the sandbox
        during = ticks - before
        stop = True
    counter.join()
    assert during > 100  # the other thread ran the whole time


def test_only_one_helper_blocks() -> None:
    """Every blocking call goes through runtime::block_on, the only place that detaches."""
    for path in SRC.glob("*.rs"):
        text = path.read_text()
        if path.name == "runtime.rs":
            continue
        assert ".detach(" not in text, f"{path.name} releases the GIL itself"
        assert not re.search(r"\brt\.block_on|Runtime::block_on|\.block_on\(", text.replace("runtime::block_on(", "")), (
            f"{path.name} blocks on the runtime without runtime::block_on"
        )


async def test_no_tokio_thread_waits_for_the_gil(sandbox: Sandbox) -> None:
    """With the GIL held for a second right after starting 200 calls, every request is still
    answered and no thread is added: completions never need the GIL on a runtime thread."""
    async with sandbox.async_client() as client:
        order = await client.create_order("svc_telegram", "cty_us")
        await client.get_order(order.id)  # runtime and bridge up
        threads_before = len(os.listdir("/proc/self/task"))
        sandbox.control("DELETE", "requests")
        switch = sys.getswitchinterval()
        sys.setswitchinterval(100.0)  # this thread keeps the GIL
        try:
            futures = [asyncio.ensure_future(client.get_order(order.id)) for _ in range(200)]
            await asyncio.sleep(0)  # start the coroutines: 200 requests are spawned
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                pass  # hold the GIL
            threads_during = len(os.listdir("/proc/self/task"))
        finally:
            sys.setswitchinterval(switch)
        answered = [r for r in sandbox.api_requests("GET", "/order/") if r["status"] == 200]
        assert len(answered) == 200
        assert threads_during == threads_before
        results = await asyncio.gather(*futures)
        assert all(r.id == order.id for r in results)


def test_fork_child_gets_a_fresh_runtime(sandbox: Sandbox) -> None:
    code = f"""
import os, sys, nexotp
client = nexotp.Client({KEY!r}, base_url={sandbox.url!r}, timeout=5, max_retries=0)
client.account()                       # runtime and pool are warm in the parent
parent_rt = nexotp._native._runtime_info()
pid = os.fork()
if pid == 0:
    try:
        ok = client.account().currency == "USD" and client.countries()
        info = nexotp._native._runtime_info()
        os._exit(0 if ok and info[0] == os.getpid() and info[1] == parent_rt[1] + 1 else 4)
    except BaseException as e:
        print("child failed:", repr(e), file=sys.stderr, flush=True)
        os._exit(5)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status), client.account().currency)
"""
    out = run_script(code, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "USD"], out.stderr


def test_fork_async_child(sandbox: Sandbox) -> None:
    code = f"""
import asyncio, os, nexotp
async def one():
    async with nexotp.AsyncClient({KEY!r}, base_url={sandbox.url!r}, timeout=5) as c:
        return (await c.account()).currency
print(asyncio.run(one()), flush=True)
pid = os.fork()
if pid == 0:
    os._exit(0 if asyncio.run(one()) == "USD" else 4)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""
    out = run_script(code, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["USD", "0"]


def test_panic_becomes_nexotp_error() -> None:
    with pytest.raises(nexotp.NexOTPError, match="internal error: deliberate panic") as info:
        nexotp._native._debug_panic()  # type: ignore[attr-defined]
    assert type(info.value) is nexotp.NexOTPError


async def test_panic_in_a_tokio_task_becomes_nexotp_error() -> None:
    fut, _token = nexotp._native._debug_panic_async()  # type: ignore[attr-defined]
    with pytest.raises(nexotp.NexOTPError, match="internal error: deliberate panic in a tokio task"):
        await fut


async def test_a_panicking_conversion_fails_only_its_own_future() -> None:
    # Started in one loop tick, the three finish together and are resolved by one drain.
    started = [nexotp._native._debug_convert(p) for p in (False, True, False)]  # type: ignore[attr-defined]
    results = await asyncio.wait_for(asyncio.gather(*(f for f, _ in started), return_exceptions=True), 10)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], nexotp.NexOTPError)
    assert "deliberate panic in a conversion" in str(results[1])


def test_ctrl_c_interrupts_the_blocking_helper() -> None:
    code = """
import signal, threading, time, os, nexotp
threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
start = time.monotonic()
try:
    nexotp._native._debug_sleep(30)
except KeyboardInterrupt:
    print("interrupted after", round(time.monotonic() - start, 1))
"""
    out = run_script(code, timeout=20)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("interrupted after 0.")


EXIT_SCRIPT = """
import asyncio, sys, threading, time, nexotp
URL, KEY, ORDER = sys.argv[1], sys.argv[2], sys.argv[3]
client = nexotp.Client(KEY, base_url=URL)

def spin():
    while True:
        client.get_order(ORDER)

for _ in range(4):
    threading.Thread(target=spin, daemon=True).start()

async def leave_tasks_running():
    a = nexotp.AsyncClient(KEY, base_url=URL)
    for _ in range(50):
        asyncio.ensure_future(a.get_order(ORDER))
    asyncio.ensure_future(a.wait_for_code(ORDER, timeout=60, poll_interval=0.01))
    await asyncio.sleep(0.02)

asyncio.run(leave_tasks_running())        # cancels what is left
loop = asyncio.new_event_loop()           # a loop left open with requests in flight
loop.run_until_complete(leave_tasks_running())
time.sleep(0.05)
print("exiting", flush=True)
"""


def test_exit_with_requests_in_flight_is_clean_50_times(slow: Sandbox, tmp_path: Path) -> None:
    script = tmp_path / "exit_script.py"
    script.write_text(EXIT_SCRIPT)
    prefix = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    assert prefix, "taskset is needed to pin the process to one CPU"
    import subprocess

    env = dict(os.environ, RUST_BACKTRACE="0")
    env.pop("NEXOTP_LOG", None)
    with slow.client() as setup:
        order_id = setup.create_order("svc_telegram", "cty_us").id
    failures = []
    for i in range(50):
        proc = subprocess.run(
            [*prefix, sys.executable, str(script), slow.url, KEY, order_id],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        bad = proc.returncode != 0 or "exiting" not in proc.stdout or any(
            s in proc.stderr for s in ("Fatal Python error", "Segmentation", "panicked", "Aborted", "core dumped")
        )
        if bad:
            failures.append((i, proc.returncode, proc.stderr[-2000:]))
    assert failures == []


async def test_bridge_never_loses_a_wakeup(aclient: nexotp.AsyncClient) -> None:
    """Completions racing the loop's drain (regression: a wake-up byte consumed by the drain
    that did not take its result left later results unseen)."""
    order = await aclient.create_order("svc_telegram", "cty_us")
    for _ in range(12):
        batch = asyncio.gather(*(aclient.get_order(order.id) for _ in range(500)))
        results = await asyncio.wait_for(batch, 20)
        assert len(results) == 500
    pending, queued, _ = nexotp._native._debug_bridge_state()  # type: ignore[attr-defined]
    assert (pending, queued) == (0, 0)
