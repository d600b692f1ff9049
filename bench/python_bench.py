#!/usr/bin/env python3
"""Requests per second of ``nexotp`` against other Python HTTP clients, on the same call.

Every client does what ``Client.get_order`` does on the wire: ``GET /order/{id}`` with the API
key header against a local ``nexotp-sandbox``, read the body and decode the JSON. Measured side
by side in one run:

- sync, sequential: ``nexotp.Client.get_order``, ``requests.Session``, ``httpx.Client``, a
  plain Rust reqwest loop (``crates/nexotp/examples/reqwest_loop.rs``) as the ceiling, and the
  same example driving the Rust SDK core (separates the core's cost from the binding's);
- async, 64 in flight: ``nexotp.AsyncClient.get_order``, ``httpx.AsyncClient``, ``aiohttp``.

Run it against a release build (numbers from a debug build mean little)::

    .venv/bin/pip install requests httpx aiohttp
    .venv/bin/maturin develop --release
    cargo build --release -p nexotp-sandbox
    cargo build --release -p nexotp --example reqwest_loop
    .venv/bin/python bench/python_bench.py [--requests 5000] [--rounds 3]

The sandbox binary is ``$NEXOTP_SANDBOX_BIN`` or ``target/release/nexotp-sandbox``. Each figure
is the best of ``--rounds`` rounds (the machine is shared; the best round is the least disturbed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Awaitable

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk_test_sandbox"
IN_FLIGHT = 64


def start_sandbox(binary: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [binary, "--port", "0", "--code-delay-ms", "100000", "--exit-on-stdin-close"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        sys.exit(f"the sandbox did not print its URL (got {url!r})")
    return proc, url


def timed_sync(n: int, call: Callable[[], Any]) -> float:
    for _ in range(max(n // 10, 1)):
        call()
    started = time.perf_counter()
    for _ in range(n):
        call()
    return n / (time.perf_counter() - started)


def timed_async(n: int, setup: Callable[[], Awaitable[tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]]]) -> float:
    """`setup()` (run inside the loop) returns (call, close)."""

    async def run() -> float:
        call, close = await setup()

        async def worker(count: int) -> None:
            for _ in range(count):
                await call()

        try:
            await asyncio.gather(*(worker(max(n // 10 // IN_FLIGHT, 1)) for _ in range(IN_FLIGHT)))
            per = max(n // IN_FLIGHT, 1)
            started = time.perf_counter()
            await asyncio.gather(*(worker(per) for _ in range(IN_FLIGHT)))
            return per * IN_FLIGHT / (time.perf_counter() - started)
        finally:
            await close()

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n = args.requests

    import nexotp

    binary = os.environ.get("NEXOTP_SANDBOX_BIN", str(ROOT / "target/release/nexotp-sandbox"))
    proc, base = start_sandbox(binary)
    try:
        setup = nexotp.Client(KEY, base_url=base)
        order_id = setup.create_order("svc_telegram", "cty_us").id
        url = f"{base}order/{order_id}"
        headers = {"X-NexOTP-API-Key": KEY, "Accept": "application/json"}
        results: dict[str, list[float]] = {}

        def record(name: str, value: float) -> None:
            results.setdefault(name, []).append(value)

        reqwest_bin = ROOT / "target/release/examples/reqwest_loop"
        for _ in range(args.rounds):
            client = nexotp.Client(KEY, base_url=base)
            record("sync  nexotp.Client.get_order", timed_sync(n, lambda: client.get_order(order_id)))
            try:
                import requests

                session = requests.Session()
                record("sync  requests.Session", timed_sync(n, lambda: session.get(url, headers=headers).json()))
            except ImportError:
                pass
            try:
                import httpx

                hc = httpx.Client()
                record("sync  httpx.Client", timed_sync(n, lambda: hc.get(url, headers=headers).json()))
                hc.close()
            except ImportError:
                pass
            if reqwest_bin.exists():
                out = subprocess.run(
                    [str(reqwest_bin), url, KEY, str(n)], capture_output=True, text=True, check=True
                ).stdout
                record("sync  Rust reqwest loop (baseline)", float(out.strip().split()[-1]))
                out = subprocess.run(
                    [str(reqwest_bin), base, KEY, str(n), "--sdk", order_id],
                    capture_output=True, text=True, check=True,
                ).stdout
                record("sync  Rust nexotp::Client loop", float(out.strip().split()[-1]))

            async def nexotp_setup() -> Any:
                client = nexotp.AsyncClient(KEY, base_url=base)
                return (lambda: client.get_order(order_id)), client.close

            record("async nexotp.AsyncClient.get_order", timed_async(n, nexotp_setup))
            try:
                import aiohttp

                async def aiohttp_setup() -> Any:
                    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT))

                    async def call() -> Any:
                        async with session.get(url, headers=headers) as r:
                            return await r.json()

                    return call, session.close

                record("async aiohttp", timed_async(n, aiohttp_setup))
            except ImportError:
                pass
            try:
                import httpx

                async def httpx_setup() -> Any:
                    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=IN_FLIGHT))

                    async def call() -> Any:
                        return (await client.get(url, headers=headers)).json()

                    return call, client.aclose

                # httpx's async pool is far slower at 64 in flight: a tenth of the requests
                # keeps the run short (the rate is what is compared).
                record("async httpx.AsyncClient", timed_async(max(n // 10, IN_FLIGHT), httpx_setup))
            except ImportError:
                pass
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=10)

    best = {name: max(values) for name, values in results.items()}
    sync_base = best.get("sync  Rust reqwest loop (baseline)")
    async_base = best.get("async aiohttp")
    print(f"\nGET /order/{{id}} + JSON decode, {n} requests, best of {args.rounds} rounds")
    print(f"{'client':40} {'req/s':>10}  ratio")
    for name, value in best.items():
        if name.startswith("sync") and sync_base:
            ratio = f"{value / sync_base:.2f}x reqwest loop"
        elif name.startswith("async") and async_base:
            ratio = f"{value / async_base:.2f}x aiohttp"
        else:
            ratio = ""
        print(f"{name:40} {value:10.0f}  {ratio}")


if __name__ == "__main__":
    main()
