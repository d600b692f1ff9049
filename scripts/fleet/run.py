"""The fleet figure (issue 13): 2 Python, 2 Node and 1 Rust worker process share one API key
against a sandbox limited to POLL 20/s and ORDER 5/s, and together make 1,000 polls and 100
orders as fast as they can. Three runs:

  shared   the workers share their buckets through Redis: the sandbox must send no 429, the
           polls must run at >= 85 % of the limit, no order may be duplicated, no call fail;
  killed   the same, with Redis killed (SIGKILL) once half the polls are done: no call may fail;
  alone    no shared store, each worker keeps its own buckets: the 429s the store prevents.

Every worker has the same client-side limits (NEXOTP_RATE_LIMITS, the server's own), as a
fleet's configuration would give them. Usage: run.py SANDBOX_BIN RUST_WORKER (python and node
from PATH; REDIS_SERVER from NEXOTP_TEST_REDIS_SERVER or PATH). Prints the figures and a
closing "N passed, N failed" line; exits non-zero on a failure.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "sk_test_fleet_0123456789"
POLLS, ORDERS = 1000, 100
POLL_LIMIT, ORDER_LIMIT = 20.0, 5.0
LIMITS = f"POLL={POLL_LIMIT:g}/s,burst=1; ORDER={ORDER_LIMIT:g}/s,burst=1"
WORKER_TIMEOUT = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sandbox:
    def __init__(self, binary: str) -> None:
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--exit-on-stdin-close", "--api-key", KEY,
             "--balance", "100000", "--rate", f"POLL={POLL_LIMIT:g}/s",
             "--rate", f"ORDER={ORDER_LIMIT:g}/s", "--request-log-limit", "0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            raise RuntimeError(f"sandbox did not print its URL: {self.url!r}")
        self.root = self.url.split("/wp-json/")[0]

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.root}/__sandbox/stats", timeout=10) as r:
            return dict(json.loads(r.read()))

    def create_order(self) -> str:
        req = urllib.request.Request(
            f"{self.url}order", data=b'{"service":"svc_telegram","country":"cty_us"}',
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json",
                     "X-NexOTP-API-Key": KEY},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return str(json.loads(r.read())["data"]["id"])

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


class Redis:
    def __init__(self) -> None:
        binary = os.environ.get("NEXOTP_TEST_REDIS_SERVER") or "redis-server"
        port = free_port()
        self.proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{port}/0"
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def run(name: str, sandbox_bin: str, rust_worker: str, store: bool, kill_halfway: bool) -> dict[str, Any]:
    sandbox = Sandbox(sandbox_bin)
    redis = Redis() if store else None
    try:
        order_id = sandbox.create_order()
        base = sandbox.stats()
        commands = [
            [sys.executable, os.path.join(HERE, "worker.py")],
            [sys.executable, os.path.join(HERE, "worker.py")],
            ["node", os.path.join(HERE, "worker.js")],
            ["node", os.path.join(HERE, "worker.js")],
            [rust_worker],
        ]
        env = dict(os.environ)
        for var in ("NEXOTP_RATE_LIMIT_STORE", "NEXOTP_LOG"):
            env.pop(var, None)
        env.update({
            "NEXOTP_API_KEY": KEY, "NEXOTP_BASE_URL": sandbox.url, "NEXOTP_RATE_LIMITS": LIMITS,
            "FLEET_ORDER_ID": order_id, "FLEET_POLLS": str(POLLS // len(commands)),
            "FLEET_ORDERS": str(ORDERS // len(commands)),
        })
        if redis is not None:
            env["NEXOTP_RATE_LIMIT_STORE"] = redis.url
        started = time.time()
        procs = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for c in commands]
        killed_at = None
        if kill_halfway and redis is not None:
            def killer() -> None:
                nonlocal killed_at
                while time.time() - started < WORKER_TIMEOUT:
                    polls = sandbox.stats()["requests_by_bucket"]["POLL"] - base["requests_by_bucket"]["POLL"]
                    if polls >= POLLS // 2:
                        redis.kill()
                        killed_at = round(time.time() - started, 1)
                        return
                    time.sleep(0.1)
            threading.Thread(target=killer, daemon=True).start()
        reports = []
        for proc, command in zip(procs, commands):
            out, err = proc.communicate(timeout=WORKER_TIMEOUT)
            lines = [l for l in out.splitlines() if l.startswith("{")]
            if proc.returncode != 0 or not lines:
                raise RuntimeError(f"worker {command} failed ({proc.returncode}): {err[-2000:]}")
            reports.append(json.loads(lines[-1]))
        duration = time.time() - started
        stats = sandbox.stats()
        firsts = [r["first_ms"] for r in reports if r["first_ms"]]
        lasts = [r["last_ms"] for r in reports if r["last_ms"]]
        poll_span = (max(lasts) - min(firsts)) / 1000 if firsts else float("inf")
        polls = sum(r["polls"] for r in reports)
        orders = [o for r in reports for o in r["orders"]]
        errors = [e for r in reports for e in r["errors"]]
        return {
            "run": name,
            "polls": polls,
            "orders": len(orders),
            "distinct_orders": len(set(orders)),
            "orders_created_by_sandbox": stats["orders_created"] - base["orders_created"],
            "errors": len(errors),
            "error_samples": errors[:3],
            "sandbox_429s": stats["rate_limited"] - base["rate_limited"],
            "sandbox_429s_by_bucket": stats["rate_limited_by_bucket"],
            "poll_requests": stats["requests_by_bucket"]["POLL"] - base["requests_by_bucket"]["POLL"],
            "poll_span_s": round(poll_span, 1),
            "poll_throughput_pct": round(100 * polls / poll_span / POLL_LIMIT, 1),
            "duration_s": round(duration, 1),
            "redis_killed_at_s": killed_at,
        }
    finally:
        sandbox.stop()
        if redis is not None:
            redis.kill()


def main() -> int:
    sandbox_bin, rust_worker = sys.argv[1], sys.argv[2]
    passed = failed = 0

    def check(ok: bool, what: str) -> None:
        nonlocal passed, failed
        print(f"  {'ok  ' if ok else 'FAIL'} {what}", flush=True)
        if ok:
            passed += 1
        else:
            failed += 1

    figures = []
    for name, store, kill in (("shared", True, False), ("killed", True, True), ("alone", False, False)):
        print(f"== fleet run '{name}': 2 Python + 2 Node + 1 Rust workers, {POLLS} polls and "
              f"{ORDERS} orders, sandbox POLL {POLL_LIMIT:g}/s ORDER {ORDER_LIMIT:g}/s, "
              f"store: {'redis' + (' (killed halfway)' if kill else '') if store else 'none'}", flush=True)
        r = run(name, sandbox_bin, rust_worker, store, kill)
        figures.append(r)
        print("  " + json.dumps(r), flush=True)
        check(r["distinct_orders"] == r["orders"] == r["orders_created_by_sandbox"],
              f"{r['orders']} orders returned, {r['distinct_orders']} distinct, "
              f"{r['orders_created_by_sandbox']} created by the sandbox (no duplicate)")
        if store:
            check(r["polls"] == POLLS and r["orders"] == ORDERS,
                  f"{r['polls']} of {POLLS} polls and {r['orders']} of {ORDERS} orders answered")
        if name == "shared":
            check(r["errors"] == 0, f"{r['errors']} errors surfaced to callers")
            check(r["sandbox_429s"] == 0, f"the sandbox sent {r['sandbox_429s']} 429s")
            check(r["poll_throughput_pct"] >= 85.0,
                  f"polls ran at {r['poll_throughput_pct']} % of the limit (>= 85 %)")
        elif name == "killed":
            check(r["redis_killed_at_s"] is not None, f"redis was killed at {r['redis_killed_at_s']} s")
            check(r["errors"] == 0, f"{r['errors']} errors surfaced to callers with redis killed")
        else:
            check(r["sandbox_429s"] > 0, f"without a shared store the sandbox sent {r['sandbox_429s']} 429s")
    print("== fleet figures")
    for r in figures:
        print(f"  {r['run']:>6}: polls {r['polls']}, orders {r['orders']} ({r['distinct_orders']} distinct), "
              f"429s {r['sandbox_429s']}, errors {r['errors']}, poll throughput "
              f"{r['poll_throughput_pct']} % of {POLL_LIMIT:g}/s over {r['poll_span_s']} s, "
              f"run {r['duration_s']} s")
    print(f"fleet: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
