"""A fleet worker (Python): FLEET_POLLS polls of FLEET_ORDER_ID and FLEET_ORDERS new orders, as
fast as the client lets it, then one JSON line of what happened. The client's configuration is
all from the environment (NEXOTP_API_KEY, NEXOTP_BASE_URL, NEXOTP_RATE_LIMIT_STORE,
NEXOTP_RATE_LIMITS), as a worker of a real fleet would have it."""

from __future__ import annotations

import asyncio
import json
import os
import time

import nexotp


async def main() -> None:
    order_id = os.environ["FLEET_ORDER_ID"]
    polls = int(os.environ["FLEET_POLLS"])
    orders = int(os.environ["FLEET_ORDERS"])
    concurrency = int(os.environ.get("FLEET_CONCURRENCY", "8"))
    report: dict[str, object] = {"worker": "python", "polls": 0, "orders": [], "errors": []}
    errors: list[str] = report["errors"]  # type: ignore[assignment]
    created: list[str] = report["orders"]  # type: ignore[assignment]
    times: list[float] = []
    async with nexotp.AsyncClient() as client:
        queue = list(range(polls))

        async def poller() -> None:
            while queue:
                queue.pop()
                started = time.time()
                try:
                    await client.get_order(order_id)
                    report["polls"] = int(report["polls"]) + 1  # type: ignore[call-overload]
                    times.extend((started, time.time()))
                except nexotp.NexOTPError as e:
                    errors.append(f"poll: {type(e).__name__}: {e}")

        order_queue = list(range(orders))

        async def orderer() -> None:
            while order_queue:
                order_queue.pop()
                try:
                    order = await client.create_order("svc_telegram", "cty_us")
                    created.append(order.id)
                except nexotp.NexOTPError as e:
                    errors.append(f"order: {type(e).__name__}: {e}")

        await asyncio.gather(*[poller() for _ in range(concurrency)], orderer(), orderer())
    report["first_ms"] = int(min(times, default=0) * 1000)
    report["last_ms"] = int(max(times, default=0) * 1000)
    print(json.dumps(report), flush=True)


asyncio.run(main())
