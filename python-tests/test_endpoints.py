"""Every endpoint, sync and async, against the sandbox; models and client lifecycle."""

from __future__ import annotations

import asyncio
import pickle
from decimal import Decimal
from typing import Any

import pytest

import nexotp
from conftest import KEY, Sandbox, run_script


def test_account_and_catalogue_sync(client: nexotp.Client) -> None:
    account = client.account()
    assert account.balance == Decimal("25.00") and isinstance(account.balance, Decimal)
    assert account.currency == "USD"
    assert isinstance(account.plan, str)
    assert isinstance(account.raw, dict) and "balance" in account.raw

    countries = client.countries()
    codes = [c.code for c in countries]
    assert "cty_us" in codes and "cty_de" in codes
    assert all(isinstance(c, nexotp.Country) and c.name for c in countries)

    services = client.services("cty_us")
    assert "svc_telegram" in [s.id for s in services]
    assert all(s.price is None or isinstance(s.price, Decimal) for s in services)

    price = client.price("svc_telegram", "cty_us")
    assert price.service == "svc_telegram" and price.country == "cty_us"
    assert isinstance(price.price, Decimal) and price.price > 0
    assert price.pools and price.pools[0].id == "pool_a"
    assert price.pools[0].price == price.price  # pool_a is the cheapest


def test_order_lifecycle_sync(client: nexotp.Client, sandbox: Sandbox) -> None:
    price = client.price("svc_telegram", "cty_us")
    order = client.create_order("svc_telegram", "cty_us", max_price=price.price)
    assert isinstance(order, nexotp.Order)
    assert order.status == nexotp.OrderStatus.PENDING and order.status == "pending"
    assert order.phone and order.phone.startswith("+")
    assert order.price == price.price and order.code is None
    fetched = client.get_order(order.id)
    assert fetched.id == order.id
    assert client.get_order(int(order.id)).id == order.id  # int ids are accepted

    done = client.wait_for_code(order.id, timeout=10, poll_interval=0.05)
    assert done.status == "received" and done.code and done.code.isdigit()

    resent = client.resend_order(order.id)
    assert resent.status == "pending"
    again = client.wait_for_code(order.id, timeout=10, poll_interval=0.05)
    assert again.code != done.code  # a new code after the resend

    second = client.create_order("svc_google", "cty_gb", pricing_option="best_rate")
    cancelled = client.cancel_order(second.id)
    assert cancelled.status == nexotp.OrderStatus.CANCELLED
    assert client.account().balance == Decimal("25.00") - order.price  # second was refunded

    bodies = [
        r["body"].replace(" ", "") for r in sandbox.api_requests("POST", "/order") if r["path"].endswith("/order")
    ]
    # No pricing_option given, none sent (the core's default, as from Rust and Node).
    assert '"max_price":' + str(price.price) in bodies[0] and "pricing_option" not in bodies[0]
    assert '"pricing_option":1' in bodies[1]


def test_transactions_sync(client: nexotp.Client) -> None:
    for _ in range(3):
        client.create_order("svc_telegram", "cty_us")
    page = client.transactions(page=1, per_page=2)
    assert isinstance(page, nexotp.TransactionPage)
    assert page.page == 1 and page.per_page == 2 and len(page.items) == 2
    assert page.total == 4 and page.total_pages == 2 and page.has_more
    assert page.items[0].amount < 0 and page.items[0].type == "order"
    assert list(page) == page.items and len(page) == 2
    everything = list(client.iter_transactions(per_page=1))
    assert len(everything) == 4 and everything[-1].type == "deposit"
    assert everything[-1].amount == Decimal("25.00")


def test_iter_transactions_is_lazy(client: nexotp.Client, sandbox: Sandbox) -> None:
    client.create_order("svc_telegram", "cty_us")
    sandbox.control("DELETE", "requests")
    it = client.iter_transactions(per_page=1)
    assert sandbox.requests() == []  # nothing fetched yet
    first = next(it)
    assert first.type == "order"
    assert len(sandbox.api_requests("GET", "/account/transactions")) == 1
    assert next(it).type == "deposit"
    with pytest.raises(StopIteration):
        next(it)


def test_webhooks_sync(client: nexotp.Client) -> None:
    hook = client.create_webhook("http://127.0.0.1:9/hook", ["order.created", "order.expired"])
    assert hook.secret and hook.secret not in repr(hook)
    assert "secret" not in hook.raw and "secret" not in hook.to_dict()
    assert hook.events == ["order.created", "order.expired"]
    listed = client.webhooks()
    assert [w.id for w in listed] == [hook.id]
    assert listed[0].secret is None
    deleted = client.delete_webhook(hook.id)
    assert deleted.deleted is True
    assert client.webhooks() == []
    comma = client.create_webhook("http://127.0.0.1:9/h2", "order.created, order.cancelled")
    assert comma.events == ["order.created", "order.cancelled"]


def test_models_repr_eq_to_dict_pickle(client: nexotp.Client) -> None:
    order = client.create_order("svc_telegram", "cty_us")
    again = client.get_order(order.id)
    assert order == again and order != client.create_order("svc_telegram", "cty_us")
    text = repr(order)
    assert text.startswith("Order(id='") and "status='pending'" in text and "Decimal(" in text
    d = order.to_dict()
    assert d["id"] == order.id and d["status"] == "pending" and isinstance(d["price"], Decimal)
    assert pickle.loads(pickle.dumps(order)) == order
    account = client.account()
    assert pickle.loads(pickle.dumps(account)) == account
    hook = client.create_webhook("http://127.0.0.1:9/x", ["order.created"])
    data = pickle.dumps(hook)
    assert hook.secret and hook.secret.encode() not in data
    restored = pickle.loads(data)
    assert restored.secret is None and restored.to_dict() == hook.to_dict() and restored.raw == hook.raw
    assert KEY not in repr(client) and "Client(base_url=" in repr(client)


def test_order_status_tolerates_unknown_values() -> None:
    status = nexotp.OrderStatus("on_hold")
    assert status == "on_hold" and status.value == "on_hold" and not status.known
    assert isinstance(status, nexotp.OrderStatus) and isinstance(status, str)
    assert nexotp.OrderStatus("canceled") is nexotp.OrderStatus.CANCELLED
    assert nexotp.OrderStatus.EXPIRED.is_closed and not nexotp.OrderStatus.PENDING.is_closed


def test_raw_keeps_exact_numbers(client: nexotp.Client) -> None:
    price = client.price("svc_telegram", "cty_us")
    pool = price.raw["pools"][0]
    assert isinstance(pool["success_rate"], (Decimal, str))
    assert not any(isinstance(v, float) for v in pool.values())


def test_client_lifecycle_and_options(sandbox: Sandbox) -> None:
    with sandbox.client(timeout=5, max_retries=0) as client:
        assert client.timeout == 5.0 and client.max_retries == 0
        faster = client.with_options(timeout=1.5, max_retries=3)
        assert faster.timeout == 1.5 and faster.max_retries == 3
        assert client.timeout == 5.0
        assert faster.account().balance == Decimal("25.00")
    assert client.closed
    with pytest.raises(nexotp.NexOTPError, match="closed"):
        client.account()


def test_config_from_environment(sandbox: Sandbox) -> None:
    code = "import nexotp; c = nexotp.Client(); print(c.account().balance); print(c.base_url)"
    out = run_script(code, env={"NEXOTP_API_KEY": KEY, "NEXOTP_BASE_URL": sandbox.url})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["25.00", sandbox.url]
    missing = run_script("import nexotp\ntry:\n  nexotp.Client()\nexcept nexotp.InvalidArgumentError as e: print('ok', e)",
                         env={"NEXOTP_API_KEY": ""})
    assert missing.stdout.startswith("ok"), missing.stderr


def test_user_agent_names_python(client: nexotp.Client, sandbox: Sandbox) -> None:
    client.account()
    agent = sandbox.requests()[-1]["headers"]["user-agent"]
    assert agent.startswith("nexotp-python/0.1.0 (CPython 3.") and agent.endswith("; linux)")


# --- async ---------------------------------------------------------------------------------


async def test_every_endpoint_async(aclient: nexotp.AsyncClient, sandbox: Sandbox) -> None:
    account = await aclient.account()
    assert account.balance == Decimal("25.00")
    assert "cty_us" in [c.code for c in await aclient.countries()]
    assert "svc_telegram" in [s.id for s in await aclient.services("cty_us")]
    price = await aclient.price("svc_telegram", "cty_us")
    order = await aclient.create_order("svc_telegram", "cty_us", max_price=price.price)
    assert (await aclient.get_order(order.id)).id == order.id
    done = await aclient.wait_for_code(order.id, timeout=10, poll_interval=0.05)
    assert done.code
    resent = await aclient.resend_order(order.id)
    assert resent.status == "pending"
    other = await aclient.create_order("svc_google", "cty_gb")
    assert (await aclient.cancel_order(other.id)).status == "cancelled"
    page = await aclient.transactions(page=1, per_page=2)
    assert page.total == 4 and len(page.items) == 2
    items = [t async for t in aclient.iter_transactions(per_page=1)]
    assert len(items) == 4
    hook = await aclient.create_webhook("http://127.0.0.1:9/hook", ["order.created"])
    assert [w.id for w in await aclient.webhooks()] == [hook.id]
    assert (await aclient.delete_webhook(hook.id)).deleted
    assert len(sandbox.api_requests("GET", "/order/")) >= 3


async def test_async_iter_is_lazy(aclient: nexotp.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.control("DELETE", "requests")
    it = aclient.iter_transactions(per_page=5)
    assert sandbox.requests() == []
    first = await it.__anext__()
    assert first.type == "deposit"
    with pytest.raises(StopAsyncIteration):
        await it.__anext__()


async def test_async_client_lifecycle(sandbox: Sandbox) -> None:
    client = sandbox.async_client(timeout=4)
    other = client.with_options(max_retries=0)
    assert other.max_retries == 0 and other.timeout == 4.0
    assert "AsyncClient(base_url=" in repr(client) and KEY not in repr(client)
    await client.close()
    assert client.closed
    with pytest.raises(nexotp.NexOTPError, match="closed"):
        await client.account()
    assert (await other.account()).currency == "USD"  # with_options made an independent handle


async def test_500_concurrent_get_order(aclient: nexotp.AsyncClient, sandbox: Sandbox) -> None:
    order = await aclient.create_order("svc_telegram", "cty_us")
    sandbox.control("DELETE", "requests")
    results = await asyncio.gather(*(aclient.get_order(order.id) for _ in range(500)))
    assert len(results) == 500 and all(r.id == order.id for r in results)
    assert len(sandbox.api_requests("GET", "/order/")) == 500


async def test_async_methods_are_coroutines(aclient: nexotp.AsyncClient) -> None:
    task: asyncio.Task[Any] = asyncio.create_task(aclient.account())
    assert (await task).currency == "USD"
