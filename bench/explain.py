"""``scripts/bench --explain``: counts per call that do not depend on the machine's load, beside
the throughput table, for nexotp and the peer of every throughput row.

Each contender makes a fixed number of calls twice (``--calls-low`` and ``--calls-high``, both
after the same warm-up) and every figure is the difference divided by the difference in calls,
so start-up and warm-up cancel out:

- ``instr``: instructions executed by the whole client process (every thread), counted by
  ``valgrind --tool=cachegrind --cache-sim=no`` (its ``I refs``). Valgrind runs the threads one
  at a time, as the pinned client CPU does;
- ``syscalls``: system calls of every thread (``perf stat -e raw_syscalls:sys_enter``, which does
  not slow the process down; ``strace -c -f`` where perf cannot count them);
- ``vol cs``: voluntary context switches (a thread blocked: waiting for the socket, or for
  another thread's wake-up), from the ``wait4`` resource usage of the process;
- ``cpu µs``: the client's CPU time per call, user space and kernel (this one depends on load;
  for scale). Instructions count user space only: a client that does fewer of them can still
  cost more CPU in the kernel (thread wake-ups, epoll, futexes);
- ``server µs``: the sandbox's CPU time per call (``/proc/PID/stat``, 10 ms ticks, so coarse),
  which shows whether the server's CPU, not the client, bounds a row;
- for the Rust rows, ``allocs`` and ``alloc bytes``: heap allocations per call, counted by
  ``nexotp-bench``'s own global allocator.

The findings and the commands to reproduce one figure by hand are in ``bench/README.md``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Optional

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk_test_sandbox"
Argv = Callable[[int], list[str]]


def rusage_run(argv: list[str]) -> tuple[float, float, float, str]:
    """Runs `argv`; returns (voluntary cs, involuntary cs, cpu seconds, stderr)."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        errors = err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])}... failed: {errors[-800:]}{out[-400:]!r}")
    return usage.ru_nvcsw, usage.ru_nivcsw, usage.ru_utime + usage.ru_stime, errors


def process_cpu(pid: Optional[int]) -> Optional[float]:
    """User + system CPU seconds used so far by process `pid` (Linux), if known."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _perf_counts(argv: list[str], server_pid: Optional[int]) -> dict[str, float]:
    """Syscalls (perf or strace), context switches and CPU time of one run of `argv`, and the
    server's CPU time meanwhile."""
    result: dict[str, float] = {}
    server_before = process_cpu(server_pid)
    with tempfile.NamedTemporaryFile(suffix=".txt") as out:
        if shutil.which("perf"):
            wrapped = ["perf", "stat", "-x", ",", "-o", out.name,
                       "-e", "raw_syscalls:sys_enter", "--", *argv]
        else:
            wrapped = ["strace", "-f", "-c", "-o", out.name, *argv]
        vol, invol, cpu, _ = rusage_run(wrapped)
        text = Path(out.name).read_text()
    server_after = process_cpu(server_pid)
    if server_before is not None and server_after is not None:
        result["server µs"] = (server_after - server_before) * 1e6
    if wrapped[0] == "perf":
        for line in text.splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[2] == "raw_syscalls:sys_enter" and fields[0].isdigit():
                result["syscalls"] = float(fields[0])
    else:
        for line in text.splitlines():
            if line.rstrip().endswith("total"):
                result["syscalls"] = float(line.split()[3])
    result.update({"vol cs": vol, "invol cs": invol, "cpu µs": cpu * 1e6})
    return result


def _instructions(argv: list[str]) -> Optional[float]:
    if shutil.which("valgrind") is None:
        return None
    _, _, _, errors = rusage_run(["valgrind", "--tool=cachegrind", "--cache-sim=no",
                                   "--cachegrind-out-file=/dev/null", *argv])
    found = re.search(r"I\s+refs:\s+([\d,]+)", errors)
    return float(found.group(1).replace(",", "")) if found else None


def _allocs(stdout: str) -> dict[str, float]:
    found = re.search(r"allocs/call: ([\d.]+) bytes/call: ([\d.]+)", stdout)
    return {"allocs": float(found.group(1)), "alloc bytes": float(found.group(2))} if found else {}


def per_call(argv: Argv, low: int, high: int, rust: bool = False,
             server_pid: Optional[int] = None) -> dict[str, float]:
    """Every count of `argv`, per call, from runs with `low` and `high` calls."""
    counts: dict[str, float] = {}
    lo, hi = _perf_counts(argv(low), server_pid), _perf_counts(argv(high), server_pid)
    for name in hi:
        if name in lo:
            counts[name] = (hi[name] - lo[name]) / (high - low)
    ir_lo, ir_hi = _instructions(argv(low)), _instructions(argv(high))
    if ir_lo is not None and ir_hi is not None:
        counts["instr"] = (ir_hi - ir_lo) / (high - low)
    if rust:
        # Measured in-process over the `high` calls themselves (no start-up to cancel).
        out = subprocess.run(argv(high), cwd=ROOT, capture_output=True, text=True).stdout
        counts.update(_allocs(out))
    return counts


COLUMNS = ["instr", "syscalls", "vol cs", "invol cs", "cpu µs", "server µs", "allocs",
           "alloc bytes"]


def _fmt(name: str, value: Optional[float]) -> str:
    if value is None:
        return "—"
    if name == "instr":
        return f"{value / 1000:,.0f} k"
    if name in ("allocs", "vol cs", "invol cs", "syscalls"):
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def explain(python: str, node: str, rust: Optional[str], base: str, order_id: str,
            low: int, high: int, server_pid: Optional[int] = None) -> list[str]:
    """The per-call counts table (markdown lines) for every missed-goal row's contenders."""
    order_url = f"{base}order/{order_id}"

    def py(row: str, contender: str) -> Argv:
        return lambda n: [python, "bench/python_bench.py", "--calls", str(n), "--row", row,
                          "--contender", contender, "--base", base, "--order", order_id]

    def js(row: str, contender: str) -> Argv:
        return lambda n: [node, "bench/node_bench.mjs", "--calls", str(n), "--row", row,
                          "--contender", contender, "--base", base, "--order", order_id]

    targets: list[tuple[str, str, Argv, bool]] = [
        ("Python sync, sequential (GET order)", "nexotp", py("py sync", "nexotp"), False),
        ("Python async, 64 in flight", "nexotp", py("py async", "nexotp"), False),
        ("Python async, 64 in flight", "pyreqwest async", py("py async", "pyreqwest async"), False),
        ("Python, 20 KB list", "nexotp", py("py list", "nexotp"), False),
        ("Python, 20 KB list", "pyreqwest sync", py("py list", "pyreqwest sync"), False),
        ("Node, sequential", "nexotp", js("node sequential", "nexotp"), False),
        ("Node, sequential", "undici", js("node sequential", "undici"), False),
        ("Node, 64 in flight", "nexotp", js("node 64 in flight", "nexotp"), False),
        ("Node, 64 in flight", "nexotp, 64 connections",
         js("node 64 in flight", "nexotp, 64 connections"), False),
        ("Node, 64 in flight", "undici", js("node 64 in flight", "undici"), False),
        ("Node, 20 KB list", "nexotp", js("node list", "nexotp"), False),
        ("Node, 20 KB list", "undici", js("node list", "undici"), False),
    ]
    if rust:
        def rs(*mode: str) -> Argv:
            return lambda n: [rust, mode[0], mode[1], KEY, f"calls:{n}", *mode[2:]]

        targets += [
            ("Rust, GET order", "nexotp", rs("sdk-order", base, order_id), True),
            ("Rust, GET order", "reqwest", rs("reqwest", order_url), True),
            ("Rust, 20 KB list", "nexotp", rs("sdk-countries", base), True),
            ("Rust, 20 KB list", "reqwest", rs("reqwest", f"{base}countries"), True),
        ]
    lines = [
        f"Per call (difference of {low} and {high} calls; `instr`: valgrind cachegrind, whole "
        "process, user space; `syscalls`: perf raw_syscalls; `cs`: context switches; `cpu µs`: "
        "the client's CPU time, `server µs`: the sandbox's (these two depend on load):",
        "",
        "| row | contender | " + " | ".join(COLUMNS) + " |",
        "|---|---|" + "---:|" * len(COLUMNS),
    ]
    for row, contender, argv, is_rust in targets:
        print(f"  counting {row}: {contender} ...", file=sys.stderr, flush=True)
        try:
            counts = per_call(argv, low, high, is_rust, server_pid)
        except (RuntimeError, OSError) as e:
            print(f"    failed: {e}", file=sys.stderr)
            counts = {}
        cells = " | ".join(_fmt(c, counts.get(c)) for c in COLUMNS)
        lines.append(f"| {row} | {contender} | {cells} |")
    return lines
