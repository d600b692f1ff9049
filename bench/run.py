#!/usr/bin/env python3
"""Runs every row of the benchmark against a release ``nexotp-sandbox`` and prints the table
(also written to ``target/bench/latest.md``). ``scripts/bench`` builds everything and runs this
with ``.venv-bench/bin/python``, pinned to the client CPU; see the README's Benchmarks section.

Throughput rows: ``bench/python_bench.py`` (Python and the Rust loops) and
``bench/node_bench.mjs`` (Node), each running its contenders in interleaved rounds against one
sandbox started with ``--countries 250`` (a ~20 KB ``countries`` answer); the table gives the
median of the rounds. Memory rows: a second sandbox answering every request after
``--hold-ms``, and one fresh process per contender holding ``--hold`` calls at once; the table
gives its peak RSS (VmHWM).

``--explain`` adds a second table: counts per call that do not depend on load (instructions,
syscalls, context switches, allocations) for each row's nexotp and peer; see ``bench/explain.py``
and the findings in ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk_test_sandbox"
Rounds = dict[str, dict[str, Optional[list[float]]]]


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
        return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"
    except OSError:
        return "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def pinned(cpu: Optional[int], argv: list[str]) -> list[str]:
    if cpu is None:
        return argv
    return ["taskset", "-c", str(cpu), *argv]


class Sandbox:
    """A release sandbox on its own CPU; stops when stdin closes."""

    def __init__(self, binary: str, cpu: Optional[int], *flags: str) -> None:
        argv = [binary, "--port", "0", "--exit-on-stdin-close", "--request-log-limit", "0",
                "--code-delay-ms", "86400000", "--balance", "1000", *flags]
        self.proc = subprocess.Popen(pinned(cpu, argv), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        self.base = self.proc.stdout.readline().strip()
        if not self.base.startswith("http"):
            self.stop()
            sys.exit(f"the sandbox did not print its URL (got {self.base!r})")

    def request(self, method: str, path: str, body: Optional[dict[str, Any]] = None) -> bytes:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "X-NexOTP-API-Key": KEY, "Accept": "application/json",
            "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read()

    def create_order(self) -> str:
        body = self.request("POST", "order", {"service": "svc_telegram", "country": "cty_us"})
        return str(json.loads(body)["data"]["id"])

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run_json(argv: list[str], what: str) -> Any:
    print(f"  {what} ...", file=sys.stderr, flush=True)
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def median(values: Optional[list[float]]) -> Optional[float]:
    return statistics.median(values) if values else None


def rate(value: Optional[float]) -> str:
    return "not installed" if value is None else f"{value:,.0f}"


def mib(kib: Optional[float]) -> str:
    return "failed" if kib is None else f"{kib / 1024:.1f} MiB"


def show_ratio(ratio: float, goal: float) -> str:
    """Two decimals, three when two would round onto the goal (0.946 is not 0.95)."""
    return f"{ratio:.3f}×" if abs(ratio - goal) < 0.005 else f"{ratio:.2f}×"


# (row key, label, reference peer, goal ratio)
THROUGHPUT_ROWS = [
    ("py sync", "Python sync, sequential (GET order)", "raw reqwest", 0.95),
    ("py async", "Python async, 64 in flight (GET order)", "pyreqwest async", 1.5),
    ("py list", "Python, 20 KB list, sequential", "pyreqwest sync", 1.2),
    ("node sequential", "Node, sequential (GET order)", "undici", 1.5),
    ("node 64 in flight", "Node, 64 in flight (GET order)", "undici", 1.5),
    ("node list", "Node, 20 KB list, sequential", "undici", 1.2),
    ("rust order", "Rust core, sequential (GET order)", "reqwest", 0.95),
    ("rust list", "Rust core, 20 KB list, sequential", "reqwest", 0.95),
]
PEER_LABELS = {"reqwest": "reqwest + serde_json"}
# The contender that is nexotp with 64 connections (the 64-in-flight rows); not the default.
SAME_CONNECTIONS = "nexotp, 64 connections"


def table(rows: Rounds, rss: dict[str, Optional[float]]) -> tuple[list[str], list[str]]:
    """The summary table and the table of every round."""
    out = ["| call | nexotp | peers in the same run | ratio | goal | met |",
           "|---|---:|---|---:|---|---|"]
    for key, label, ref, goal in THROUGHPUT_ROWS:
        contenders = rows.get(key, {})
        ours = median(contenders.get("nexotp"))
        peers = "; ".join(f"{PEER_LABELS.get(n, n)} {rate(median(v))}"
                          for n, v in contenders.items() if not n.startswith("nexotp"))
        theirs = median(contenders.get(ref))
        goal_text = f"≥ {goal}× {PEER_LABELS.get(ref, ref)}"
        if ours is None or theirs is None:
            ratio, met = "—", f"not measured ({ref if theirs is None else 'nexotp'} missing)"
        else:
            ratio = show_ratio(ours / theirs, goal)
            met = "yes" if ours / theirs >= goal else "**no**"
            # Like for like: nexotp with as many connections as the peers (not the default).
            same = median(contenders.get(SAME_CONNECTIONS))
            if same is not None:
                met += f" (with 64 connections like the peers: {rate(same)}, " \
                       f"{show_ratio(same / theirs, goal)})"
        out.append(f"| {label} | {rate(ours)} | {peers} | {ratio} | {goal_text} | {met} |")
    for label, ours_key, ref_key, goal in [
        ("peak RSS, 1,000 requests held, Python async", "py nexotp", "py aiohttp", 1.0),
        ("peak RSS, 1,000 requests held, Node", "node nexotp", "node undici", 0.8),
    ]:
        ours, theirs = rss.get(ours_key), rss.get(ref_key)
        ref = ref_key.split()[1]
        peers = (f"{ref} {mib(theirs)}; raw reqwest {mib(rss.get('rust reqwest'))}; "
                 f"(nexotp, 1,000 wait_for_code instead: {mib(rss.get(ours_key + '-wait'))})")
        goal_text = f"≤ {goal}× {ref}" if goal != 1.0 else f"≤ {ref}"
        if ours is None or theirs is None:
            ratio, met = "—", "not measured"
        else:
            ratio = show_ratio(ours / theirs, goal)
            met = "yes" if ours <= goal * theirs else "**no**"
        out.append(f"| {label} | {mib(ours)} | {peers} | {ratio} | {goal_text} | {met} |")

    detail = ["| row | contender | rounds (req/s) | median |", "|---|---|---|---:|"]
    for key, label, _, _ in THROUGHPUT_ROWS:
        for name, values in rows.get(key, {}).items():
            rounds = ", ".join(f"{v:,.0f}" for v in values) if values else "not installed"
            detail.append(f"| {label} | {PEER_LABELS.get(name, name)} | {rounds} | "
                          f"{rate(median(values))} |")
    return out, detail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sandbox", default=str(ROOT / "target/release/nexotp-sandbox"))
    parser.add_argument("--rust", default=str(ROOT / "target/release/nexotp-bench"))
    parser.add_argument("--node", default=shutil.which("node") or "node")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.5, help="per contender per round")
    parser.add_argument("--countries", type=int, default=250, help="catalogue size (~20 KB)")
    parser.add_argument("--hold", type=int, default=1000, help="requests held at once (RSS)")
    parser.add_argument("--hold-ms", type=int, default=1000, help="sandbox delay in RSS rows")
    parser.add_argument("--server-cpu", type=int, help="pin the sandbox to this CPU (taskset)")
    parser.add_argument("--client-cpu", help="the CPU the clients are pinned to (for the notes)")
    parser.add_argument("--out", default=str(ROOT / "target/bench/latest.md"))
    parser.add_argument("--explain", action="store_true",
                        help="also count instructions, syscalls, context switches per call")
    parser.add_argument("--calls-low", type=int, default=200, help="--explain: fewer calls")
    parser.add_argument("--calls-high", type=int, default=1200, help="--explain: more calls")
    parser.add_argument("--explain-only", action="store_true",
                        help="only the --explain table (no throughput or RSS rows)")
    args = parser.parse_args()
    if args.server_cpu is not None and shutil.which("taskset") is None:
        args.server_cpu = None

    load_before = load_average()
    started = time.time()
    python = sys.executable
    sandbox = Sandbox(args.sandbox, args.server_cpu, "--countries", str(args.countries))
    try:
        order_id = sandbox.create_order()
        order_bytes = len(sandbox.request("GET", f"order/{order_id}"))
        list_bytes = len(sandbox.request("GET", "countries"))
        common = ["--base", sandbox.base, "--order", order_id,
                  "--rounds", str(args.rounds), "--seconds", str(args.seconds)]
        rows: Rounds = {}
        explained: list[str] = []
        if args.explain or args.explain_only:
            from explain import explain

            explained = explain(python, args.node, args.rust, sandbox.base, order_id,
                                args.calls_low, args.calls_high, sandbox.proc.pid)
            if args.explain_only:
                print("\n".join(explained))
                return
        py = run_json([python, "bench/python_bench.py", *common, "--rust", args.rust],
                      "Python and Rust rows")
        rows.update(py or {})
        node = run_json([args.node, "bench/node_bench.mjs", *common], "Node rows")
        node_version = (node or {}).pop("version", "?")
        rows.update(node or {})
    finally:
        sandbox.stop()

    rss: dict[str, Optional[float]] = {}
    slow = Sandbox(args.sandbox, args.server_cpu, "--latency-ms", str(args.hold_ms))
    try:
        order_id = slow.create_order()
        hold = ["--base", slow.base, "--order", order_id, "--count", str(args.hold)]
        for name, argv in [
            ("py nexotp", [python, "bench/python_bench.py", "--hold", "nexotp", *hold]),
            ("py nexotp-wait", [python, "bench/python_bench.py", "--hold", "nexotp-wait",
                                *hold]),
            ("py aiohttp", [python, "bench/python_bench.py", "--hold", "aiohttp", *hold]),
            ("node nexotp", [args.node, "bench/node_bench.mjs", "--hold", "nexotp", *hold]),
            ("node nexotp-wait", [args.node, "bench/node_bench.mjs", "--hold", "nexotp-wait",
                                  *hold]),
            ("node undici", [args.node, "bench/node_bench.mjs", "--hold", "undici", *hold]),
        ]:
            answer = run_json(argv, f"peak RSS, {name}")
            rss[name] = answer and answer["peak_rss_kib"]
        print("  peak RSS, raw reqwest ...", file=sys.stderr, flush=True)
        done = subprocess.run([args.rust, "reqwest-hold", f"{slow.base}order/{order_id}", KEY,
                               str(args.hold)], capture_output=True, text=True)
        rss["rust reqwest"] = (float(done.stdout.split()[-1]) if done.returncode == 0 else None)
    finally:
        slow.stop()

    summary, detail = table(rows, rss)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    pin = (f"sandbox on CPU {args.server_cpu}, clients on CPU {args.client_cpu}"
           if args.server_cpu is not None else "not pinned (no taskset or one CPU)")
    lines = [
        f"## nexotp benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}",
        "",
        f"- machine: {cpu_model()}, {os.cpu_count()} CPUs; {pin}",
        f"- load average (1, 5, 15 min): {load_before} at the start, {load_average()} at the end "
        "(the machine is shared; other work competes for the CPUs)",
        f"- commit {commit or '?'}, release builds; Python {platform.python_version()}, "
        f"Node {node_version}",
        f"- payloads: GET order {order_bytes} B, `countries` with {args.countries} countries "
        f"{list_bytes:,} B; requests per second, median of {args.rounds} interleaved rounds of "
        f"{args.seconds} s per contender",
        f"- peak RSS: one fresh process per contender holding {args.hold} GET order calls at "
        f"once, the sandbox answering each after {args.hold_ms} ms, no connection cap; in "
        f"brackets, nexotp making {args.hold} `wait_for_code` calls at once instead (each "
        "polling every second until it times out after 2.5 s)",
        "",
        *summary,
        "",
        *([*explained, ""] if explained else []),
        "Every round:",
        "",
        *detail,
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"(written to {out})", file=sys.stderr)


if __name__ == "__main__":
    main()
