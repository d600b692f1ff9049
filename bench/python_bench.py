#!/usr/bin/env python3
"""The Python and Rust rows of ``scripts/bench``: requests per second of ``nexotp`` and of other
HTTP clients making the same calls against a running ``nexotp-sandbox``.

Every contender does what the SDK call does on the wire: ``GET /order/{id}`` (~300 B) or
``GET /countries`` (a ~20 KB list when the sandbox runs with ``--countries 250``) with the API
key header, read the body, decode the JSON. Rounds are interleaved (each contender once per
round) and each figure is the list of per-round rates; ``bench/run.py`` takes the medians.

- ``py sync``: sequential GET order: ``nexotp.Client.get_order``, pyreqwest's ``SyncClient``,
  ``requests.Session``, ``httpx.Client``, and the plain Rust reqwest loop
  (``bench/rust``, run as a subprocess) as the ceiling;
- ``py async``: GET order with 64 in flight: ``nexotp.AsyncClient.get_order``, pyreqwest's
  async ``Client``, ``aiohttp``, ``httpx.AsyncClient``;
- ``py list``: sequential ``countries``: ``nexotp.Client.countries``, the sync peers, ``aiohttp``
  (one in flight) and the reqwest loop;
- ``rust order`` / ``rust list``: the Rust SDK core (``nexotp::Client``) against the same
  reqwest loop, both built with plain serde_json.

``scripts/bench`` starts the sandbox and runs this with its own venv (``.venv-bench``); by hand::

    python bench/python_bench.py --base URL --order ID [--rounds 3] [--seconds 1.5]
        [--rust target/release/nexotp-bench]

prints one JSON object ``{"<row>": {"<contender>": [req/s per round] or null}}`` (``null``: the
peer is not installed). ``python bench/python_bench.py --hold nexotp|aiohttp --base URL --order
ID [--count 1000]`` instead makes COUNT GET order calls at once (the sandbox is told to answer
slowly, so all are held) and prints ``{"peak_rss_kib": N}``; ``--hold nexotp-wait`` makes COUNT
``wait_for_code`` calls at once instead (polling every second, timing out after 2.5 s).

``python bench/python_bench.py --calls N --row ROW --contender NAME --base URL --order ID`` makes
a fixed number of calls of one contender (50 of warm-up, then N; the async rows keep 64 in
flight) and exits: ``scripts/bench --explain`` runs it under valgrind and strace and differences
two values of N, for counts per call that do not depend on the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

KEY = "sk_test_sandbox"
IN_FLIGHT = 64
HEADERS = {"X-NexOTP-API-Key": KEY, "Accept": "application/json"}

Setup = Callable[[], Awaitable[tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]]]


def timed_sync(seconds: float, call: Callable[[], Any]) -> float:
    """Calls `call` one after another for `seconds`; returns calls per second."""
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        call()
        done += 1
    return done / (time.perf_counter() - started)


def timed_async(seconds: float, in_flight: int, setup: Setup) -> float:
    """`setup()` (run inside a fresh event loop) returns (call, close); `in_flight` workers
    call it for `seconds` after a short warm-up; returns calls per second."""

    async def run() -> float:
        call, close = await setup()
        done = 0

        async def worker(deadline: float, count: bool) -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                await call()
                if count:
                    done += 1

        try:
            warm = time.perf_counter() + min(0.3, seconds)
            await asyncio.gather(*(worker(warm, False) for _ in range(in_flight)))
            started = time.perf_counter()
            await asyncio.gather(*(worker(started + seconds, True) for _ in range(in_flight)))
            return done / (time.perf_counter() - started)
        finally:
            await close()

    return asyncio.run(run())


def check_order(order_id: str) -> Callable[[Any], None]:
    def check(body: Any) -> None:
        if str(body["data"]["id"]) != order_id:
            raise RuntimeError(f"wrong answer: {str(body)[:200]}")

    return check


def check_list(body: Any) -> None:
    if not body["data"]:
        raise RuntimeError("empty country list")


def sync_peers(url: str, check: Callable[[Any], None]) -> dict[str, Optional[Callable[[], Any]]]:
    """The sync HTTP clients making one call; None for a peer that is not installed."""
    peers: dict[str, Optional[Callable[[], Any]]] = {}
    try:
        from pyreqwest.client import SyncClientBuilder

        pr = SyncClientBuilder().build()
        peers["pyreqwest sync"] = lambda: check(pr.get(url).headers(HEADERS).build().send().json())
    except ImportError:
        peers["pyreqwest sync"] = None
    try:
        import requests

        session = requests.Session()
        peers["requests"] = lambda: check(session.get(url, headers=HEADERS).json())
    except ImportError:
        peers["requests"] = None
    try:
        import httpx

        hc = httpx.Client()
        peers["httpx"] = lambda: check(hc.get(url, headers=HEADERS).json())
    except ImportError:
        peers["httpx"] = None
    return peers


def async_peers(url: str, check: Callable[[Any], None], limit: int) -> dict[str, Optional[Setup]]:
    """The asyncio HTTP clients (set up inside the loop that runs them); None: not installed."""
    peers: dict[str, Optional[Setup]] = {}
    try:
        from pyreqwest.client import ClientBuilder

        async def pyreqwest_setup() -> Any:
            client = ClientBuilder().build()

            async def call() -> None:
                response = await client.get(url).headers(HEADERS).build().send()
                check(await response.json())

            return call, client.close

        peers["pyreqwest async"] = pyreqwest_setup
    except ImportError:
        peers["pyreqwest async"] = None
    try:
        import aiohttp

        async def aiohttp_setup() -> Any:
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit))

            async def call() -> None:
                async with session.get(url, headers=HEADERS) as r:
                    check(await r.json())

            return call, session.close

        peers["aiohttp"] = aiohttp_setup
    except ImportError:
        peers["aiohttp"] = None
    try:
        import httpx

        async def httpx_setup() -> Any:
            client = httpx.AsyncClient(limits=httpx.Limits(max_connections=limit))

            async def call() -> None:
                check((await client.get(url, headers=HEADERS)).json())

            return call, client.aclose

        peers["httpx async"] = httpx_setup
    except ImportError:
        peers["httpx async"] = None
    return peers


def rust_rate(binary: Path, *args: str) -> float:
    out = subprocess.run([str(binary), *args], capture_output=True, text=True, check=True).stdout
    return float(out.strip().split()[-1])


def throughput(args: argparse.Namespace) -> dict[str, dict[str, Optional[list[float]]]]:
    import nexotp

    base, order_id, seconds = args.base, args.order, args.seconds
    order_url, list_url = f"{base}order/{order_id}", f"{base}countries"
    rust = Path(args.rust) if args.rust else None
    if rust is not None and not rust.exists():
        rust = None
    secs = str(seconds)

    client = nexotp.Client(KEY, base_url=base)
    sync_order: dict[str, Optional[Callable[[], Any]]] = {
        "nexotp": lambda: client.get_order(order_id)
    }
    sync_order.update(sync_peers(order_url, check_order(order_id)))
    sync_list: dict[str, Optional[Callable[[], Any]]] = {"nexotp": lambda: client.countries()}
    sync_list.update(sync_peers(list_url, check_list))

    async def nexotp_setup() -> Any:
        aclient = nexotp.AsyncClient(KEY, base_url=base)
        return (lambda: aclient.get_order(order_id)), aclient.close

    async def nexotp_64_setup() -> Any:
        aclient = nexotp.AsyncClient(KEY, base_url=base, max_connections=IN_FLIGHT)
        return (lambda: aclient.get_order(order_id)), aclient.close

    # Also with as many connections as the peers open (64): the default cap of 32 connections
    # per host otherwise halves nexotp's parallelism against theirs.
    async_order: dict[str, Optional[Setup]] = {
        "nexotp": nexotp_setup,
        "nexotp, 64 connections": nexotp_64_setup,
    }
    async_order.update(async_peers(order_url, check_order(order_id), IN_FLIGHT))
    # aiohttp is the asyncio peer people reach for: in the list row it runs one call at a time,
    # like the sync contenders.
    list_aiohttp = async_peers(list_url, check_list, IN_FLIGHT)["aiohttp"]

    rows: dict[str, dict[str, Optional[list[float]]]] = {}

    def record(row: str, name: str, value: Optional[float]) -> None:
        entry = rows.setdefault(row, {})
        if value is None:
            entry.setdefault(name, None)
        else:
            values = entry.get(name) or []
            values.append(value)
            entry[name] = values

    # Warm-up: connections, allocator, lazy imports.
    for call in [*sync_order.values(), *sync_list.values()]:
        if call is not None:
            timed_sync(0.2, call)
    for _ in range(args.rounds):
        for name, call in sync_order.items():
            record("py sync", name, timed_sync(seconds, call) if call else None)
        if rust:
            record("py sync", "raw reqwest", rust_rate(rust, "reqwest", order_url, KEY, secs))
        else:
            record("py sync", "raw reqwest", None)
        for name, setup in async_order.items():
            record("py async", name, timed_async(seconds, IN_FLIGHT, setup) if setup else None)
        for name, call in sync_list.items():
            record("py list", name, timed_sync(seconds, call) if call else None)
        record("py list", "aiohttp",
               timed_async(seconds, 1, list_aiohttp) if list_aiohttp else None)
        if rust:
            record("py list", "raw reqwest", rust_rate(rust, "reqwest", list_url, KEY, secs))
            record("rust order", "nexotp", rust_rate(rust, "sdk-order", base, KEY, secs, order_id))
            # The same loop as the Python rows' ceiling, measured once per round.
            record("rust order", "reqwest", (rows["py sync"]["raw reqwest"] or [0.0])[-1])
            record("rust list", "nexotp", rust_rate(rust, "sdk-countries", base, KEY, secs))
            record("rust list", "reqwest", (rows["py list"]["raw reqwest"] or [0.0])[-1])
        else:
            for row, name in [("py list", "raw reqwest"), ("rust order", "nexotp"),
                              ("rust order", "reqwest"), ("rust list", "nexotp"),
                              ("rust list", "reqwest")]:
                record(row, name, None)
    return rows


def fixed_calls(args: argparse.Namespace) -> None:
    """`args.calls` calls (after 50 of warm-up) of one contender of one row; prints nothing."""
    import nexotp

    base, order_id = args.base, args.order
    url = f"{base}countries" if args.row == "py list" else f"{base}order/{order_id}"
    check = check_list if args.row == "py list" else check_order(order_id)
    if args.row == "py async":
        if args.contender == "nexotp":

            async def nexotp_setup() -> Any:
                aclient = nexotp.AsyncClient(KEY, base_url=base)
                return (lambda: aclient.get_order(order_id)), aclient.close

            setup: Optional[Setup] = nexotp_setup
        else:
            setup = async_peers(url, check, IN_FLIGHT)[args.contender]
        if setup is None:
            sys.exit(f"{args.contender} is not installed")

        async def run() -> None:
            call, close = await setup()
            left = 50

            async def worker() -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    await call()

            await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
            left = args.calls
            await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
            await close()

        asyncio.run(run())
        return
    if args.contender == "nexotp":
        client = nexotp.Client(KEY, base_url=base)
        one: Optional[Callable[[], Any]] = (
            client.countries if args.row == "py list" else lambda: client.get_order(order_id))
    else:
        one = sync_peers(url, check)[args.contender]
    if one is None:
        sys.exit(f"{args.contender} is not installed")
    for _ in range(50 + args.calls):
        one()


def hold(args: argparse.Namespace) -> int:
    """`args.count` GET order calls at once; returns the peak RSS in KiB."""
    base, order_id, count = args.base, args.order, args.count
    url = f"{base}order/{order_id}"

    async def run() -> None:
        if args.hold == "nexotp":
            import nexotp

            # Every call on the wire at once, as aiohttp without a limit does.
            client = nexotp.AsyncClient(KEY, base_url=base, max_connections=count)
            await asyncio.gather(*(client.get_order(order_id) for _ in range(count)))
            await client.close()
        elif args.hold == "nexotp-wait":
            import nexotp

            # Issue 8's form: waits for a code that never comes (each polls the slow sandbox
            # every second) until they time out.
            client = nexotp.AsyncClient(KEY, base_url=base, max_connections=count)

            async def wait() -> None:
                try:
                    await client.wait_for_code(order_id, timeout=2.5, poll_interval=1.0)
                except nexotp.WaitTimeoutError:
                    pass

            await asyncio.gather(*(wait() for _ in range(count)))
            await client.close()
        elif args.hold == "aiohttp":
            import aiohttp

            check = check_order(order_id)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

                async def call() -> None:
                    async with session.get(url, headers=HEADERS) as r:
                        check(await r.json())

                await asyncio.gather(*(call() for _ in range(count)))
        else:
            sys.exit(f"unknown --hold {args.hold}")

    asyncio.run(run())
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="the sandbox's base URL")
    parser.add_argument("--order", required=True, help="an order id to GET")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.5, help="per contender per round")
    parser.add_argument("--rust", help="the nexotp-bench binary (bench/rust)")
    parser.add_argument("--hold", help="nexotp, nexotp-wait or aiohttp: peak RSS instead")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--calls", type=int, help="a fixed number of calls of --contender")
    parser.add_argument("--row", default="py sync", help="with --calls: py sync|py async|py list")
    parser.add_argument("--contender", default="nexotp", help="with --calls")
    args = parser.parse_args()
    if args.calls is not None:
        fixed_calls(args)
    elif args.hold:
        print(json.dumps({"peak_rss_kib": hold(args)}))
    else:
        print(json.dumps(throughput(args)))


if __name__ == "__main__":
    main()
