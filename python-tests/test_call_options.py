"""Per-call options on every method: ``timeout`` (seconds per attempt), ``max_retries`` and
``deadline`` as keyword arguments, converted once for ``Client`` and ``AsyncClient``
(``wait_for_code``: ``request_timeout`` and ``max_retries`` for each poll)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

import pytest

import nexotp
from conftest import Sandbox

ORDER = ("svc_telegram", "cty_us")


def calls(order_id: str) -> list[tuple[str, str, Callable[[Any, dict[str, Any]], Any]]]:
    """(method, sandbox match, call) for every API method."""
    return [
        ("account", "GET /account", lambda c, o: c.account(**o)),
        ("transactions", "GET /account/transactions", lambda c, o: c.transactions(**o)),
        ("countries", "GET /countries", lambda c, o: c.countries(**o)),
        ("services", "GET /services", lambda c, o: c.services("cty_us", **o)),
        ("price", "GET /price", lambda c, o: c.price(*ORDER, **o)),
        ("get_order", "GET /order/*", lambda c, o: c.get_order(order_id, **o)),
        ("cancel_order", "POST /order/*/cancel", lambda c, o: c.cancel_order(order_id, **o)),
        ("webhooks", "GET /webhooks", lambda c, o: c.webhooks(**o)),
        ("delete_webhook", "DELETE /webhooks/*", lambda c, o: c.delete_webhook("1", **o)),
        ("create_order", "POST /order", lambda c, o: c.create_order(*ORDER, **o)),
        (
            "create_webhook",
            "POST /webhooks",
            lambda c, o: c.create_webhook("https://example.com/h", ["order.created"], **o),
        ),
    ]


def test_every_sync_method_takes_max_retries(client: nexotp.Client, sandbox: Sandbox) -> None:
    order = client.create_order(*ORDER)
    for name, match, call in calls(order.id):
        sandbox.control("DELETE", "requests")
        sandbox.faults({"match": match, "fault": "status", "status": 503, "times": 3})
        with pytest.raises(nexotp.ServerError):
            call(client, {"max_retries": 0})
        assert len(sandbox.requests()) == 1, name
    sandbox.faults()


async def test_every_async_method_takes_max_retries(aclient: nexotp.AsyncClient, sandbox: Sandbox) -> None:
    order = await aclient.create_order(*ORDER)
    for name, match, call in calls(order.id):
        sandbox.control("DELETE", "requests")
        sandbox.faults({"match": match, "fault": "status", "status": 503, "times": 3})
        with pytest.raises(nexotp.ServerError):
            await call(aclient, {"max_retries": 0})
        assert len(sandbox.requests()) == 1, name
    sandbox.faults()


async def test_timeout_and_deadline_per_call(client: nexotp.Client, aclient: nexotp.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.faults({"match": "GET /account", "fault": "delay", "ms": 1500, "times": 2})
    with pytest.raises(nexotp.APITimeoutError):
        client.account(timeout=0.2, max_retries=0)
    with pytest.raises(nexotp.APITimeoutError):
        await aclient.account(deadline=0.2)
    assert client.timeout == 30.0  # the client's own settings are untouched
    for bad in ({"timeout": -1}, {"max_retries": -1}, {"deadline": float("nan")}):
        with pytest.raises(nexotp.InvalidArgumentError) as info:
            client.countries(**bad)
        assert info.value.argument == next(iter(bad))
        with pytest.raises(nexotp.InvalidArgumentError):
            await aclient.countries(**bad)


async def test_wait_for_code_takes_poll_options(client: nexotp.Client, aclient: nexotp.AsyncClient) -> None:
    order = client.create_order(*ORDER)
    done = client.wait_for_code(order.id, timeout=10, poll_interval=0.05, request_timeout=5, max_retries=1)
    assert done.code
    again = await aclient.wait_for_code(order.id, timeout=10, poll_interval=0.05, request_timeout=5, max_retries=0)
    assert again.code == done.code
    with pytest.raises(nexotp.InvalidArgumentError) as info:
        await aclient.wait_for_code(order.id, request_timeout=-1)
    assert info.value.argument == "request_timeout"


async def test_cancelling_a_task_paused_behind_a_429_sends_nothing_more(
    aclient: nexotp.AsyncClient, sandbox: Sandbox
) -> None:
    sandbox.faults({"match": "POST /order", "fault": "status", "status": 429, "retry_after": "20"})
    task = asyncio.ensure_future(aclient.create_order(*ORDER))
    await asyncio.sleep(0.3)  # the 429 came back: the ORDER bucket is paused for 20 s
    task.cancel()
    with pytest.raises(asyncio.CancelledError) as info:
        await asyncio.wait_for(task, 5)
    assert info.value.__cause__ is None  # nothing was sent: no unknown outcome to carry
    time.sleep(0.2)
    assert len(sandbox.api_requests("POST", "/order")) == 1
