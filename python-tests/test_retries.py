"""Retries, the shared rate-limit pause, and no duplicate after a dropped connection."""

from __future__ import annotations

import asyncio
import time

import nexotp
from conftest import Sandbox


def statuses(sandbox: Sandbox, method: str, prefix: str) -> list[int | None]:
    return [r["status"] for r in sandbox.api_requests(method, prefix)]


def test_safe_call_retries_on_503(client: nexotp.Client, sandbox: Sandbox) -> None:
    sandbox.fault(match="GET /account", fault="status", status=503, times=2)
    assert client.account().currency == "USD"
    assert statuses(sandbox, "GET", "/account") == [503, 503, 200]


def test_no_retry_when_max_retries_is_zero(sandbox: Sandbox) -> None:
    sandbox.fault(match="GET /account", fault="status", status=503, times=2)
    with sandbox.client(max_retries=0) as client:
        try:
            client.account()
        except nexotp.ServerError:
            pass
    assert statuses(sandbox, "GET", "/account") == [503]


def test_safe_call_retries_after_a_dropped_connection(client: nexotp.Client, sandbox: Sandbox) -> None:
    sandbox.fault(match="GET /account", fault="drop")
    assert client.account().balance
    assert len(sandbox.api_requests("GET", "/account")) == 2


def test_create_order_retried_after_429_without_duplicate(client: nexotp.Client, sandbox: Sandbox) -> None:
    sandbox.fault(match="POST /order", fault="status", status=429, retry_after="1")
    order = client.create_order("svc_telegram", "cty_us")
    assert order.id
    assert len(sandbox.state()["orders"]) == 1


def test_create_order_not_resent_after_a_5xx_gateway_answer(client: nexotp.Client, sandbox: Sandbox) -> None:
    sandbox.fault(match="POST /order", fault="status", status=502, envelope=False)
    try:
        client.create_order("svc_telegram", "cty_us")
        raise AssertionError("expected an error")
    except nexotp.OrderOutcomeUnknownError as exc:
        assert exc.status == 502
    posts = [r for r in sandbox.api_requests("POST", "/order") if r["path"].endswith("/order")]
    assert len(posts) == 1


async def test_rate_limit_pauses_the_whole_bucket(aclient: nexotp.AsyncClient, sandbox: Sandbox) -> None:
    order = await aclient.create_order("svc_telegram", "cty_us")
    sandbox.fault(match="GET /order/*", fault="status", status=429, retry_after="1")
    first = asyncio.create_task(aclient.get_order(order.id))
    await asyncio.sleep(0.3)  # the first call has its 429 now; POLL is paused ~0.7 s more

    started = time.monotonic()
    assert (await aclient.account()).currency == "USD"  # GENERAL is not paused
    assert time.monotonic() - started < 0.5

    started = time.monotonic()
    second = await aclient.get_order(order.id)  # waits for the pause, then succeeds
    assert time.monotonic() - started >= 0.4
    assert second.id == order.id and (await first).id == order.id
    # Only the first call ever saw a 429: the second waited instead of collecting its own.
    assert statuses(sandbox, "GET", "/order/").count(429) == 1


def test_rate_limit_pause_is_shared_by_threads(sandbox: Sandbox) -> None:
    import threading

    with sandbox.client() as client:
        order = client.create_order("svc_telegram", "cty_us")
        sandbox.fault(match="GET /order/*", fault="status", status=429, retry_after="1")
        results: list[str] = []
        first = threading.Thread(target=lambda: results.append(client.get_order(order.id).id))
        first.start()
        time.sleep(0.3)
        threads = [threading.Thread(target=lambda: results.append(client.get_order(order.id).id)) for _ in range(5)]
        for t in threads:
            t.start()
        for t in [first, *threads]:
            t.join(10)
    assert results == [order.id] * 6
    assert statuses(sandbox, "GET", "/order/").count(429) == 1
