"""Where a row's time goes, per call: the client's CPU, the sandbox's CPU, and how busy each CPU
was over the run. A row whose client CPU is ~100 % busy is bounded by the client's work; one that
is well below is waiting (on wake-ups, a connection cap or the server).

    python3 bench/busy.py [ROW,...]     # rows: node 64, py async, node seq, node list, py sync, rust

Needs the release builds `scripts/bench` makes (sandbox, `.venv-bench`, the Node addon,
`nexotp-bench`); run it after `scripts/bench`, not after `scripts/test`, whose debug build of
the Python module goes to the same place. Each contender runs 1,000 and then 7,000 calls (pinned to CPU 1, the sandbox to
CPU 0, as in `scripts/bench`); every figure is the difference of the two runs over 6,000 calls,
so start-up cancels out. CPU times come from `wait4` (client, every thread) and
`/proc/PID/stat` (sandbox, 10 ms ticks). Set ROUNDS (default 2) for more rounds.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from explain import process_cpu, rusage_run  # noqa: E402
from run import KEY, ROOT, Sandbox  # noqa: E402

PYTHON = str(ROOT / ".venv-bench/bin/python")
RUST = str(ROOT / "target/release/nexotp-bench")
LOW, HIGH = 1000, 7000


def main() -> None:
    wanted = sys.argv[1].split(",") if len(sys.argv) > 1 else None
    sandbox = Sandbox(str(ROOT / "target/release/nexotp-sandbox"), 0, "--countries", "250")

    def run(argv: list[str]) -> tuple[float, float, float]:
        """(wall seconds, client CPU seconds, sandbox CPU seconds) of one run of `argv`."""
        server, started = process_cpu(sandbox.proc.pid) or 0.0, time.perf_counter()
        _, _, client, _ = rusage_run(["taskset", "-c", "1", *argv])
        wall = time.perf_counter() - started
        return wall, client, (process_cpu(sandbox.proc.pid) or 0.0) - server

    try:
        order_id = sandbox.create_order()

        def node(row: str, who: str):
            return lambda n: ["node", "bench/node_bench.mjs", "--base", sandbox.base, "--order",
                              order_id, "--calls", str(n), "--row", row, "--contender", who]

        def py(row: str, who: str):
            return lambda n: [PYTHON, "bench/python_bench.py", "--base", sandbox.base, "--order",
                              order_id, "--calls", str(n), "--row", row, "--contender", who]

        rows = [
            ("node 64", "nexotp", node("node 64 in flight", "nexotp")),
            ("node 64", "nexotp, 64 connections",
             node("node 64 in flight", "nexotp, 64 connections")),
            ("node 64", "undici", node("node 64 in flight", "undici")),
            ("py async", "nexotp", py("py async", "nexotp")),
            ("py async", "pyreqwest async", py("py async", "pyreqwest async")),
            ("node seq", "nexotp", node("node sequential", "nexotp")),
            ("node seq", "undici", node("node sequential", "undici")),
            ("node list", "nexotp", node("node list", "nexotp")),
            ("node list", "undici", node("node list", "undici")),
            ("py sync", "nexotp", py("py sync", "nexotp")),
            ("rust", "raw reqwest",
             lambda n: [RUST, "reqwest", f"{sandbox.base}order/{order_id}", KEY, f"calls:{n}"]),
        ]
        for _ in range(int(os.environ.get("ROUNDS", "2"))):
            for row, who, argv in rows:
                if wanted and row not in wanted:
                    continue
                try:
                    low, high = run(argv(LOW)), run(argv(HIGH))
                except RuntimeError as e:
                    print(f"{row:9s} {who:24s} failed: {str(e)[:200]}", flush=True)
                    continue
                calls = HIGH - LOW
                wall, client, server = (h - l for h, l in zip(high, low))
                print(f"{row:9s} {who:24s} {calls / wall:7.0f} req/s  "
                      f"client {client / calls * 1e6:6.1f} µs/call ({client / wall:4.0%} busy)  "
                      f"server {server / calls * 1e6:5.1f} µs/call ({server / wall:4.0%} busy)",
                      flush=True)
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
