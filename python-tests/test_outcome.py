"""Deadlines, `retryable`, `OrderOutcomeUnknownError` and `reconcile`, against the sandbox's
faults (a call applied then cut off, or cut off before it applied)."""

from __future__ import annotations

import pickle
import time
from decimal import Decimal
from typing import Any

import pytest

import nexotp
from conftest import Sandbox


def order_posts(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [r for r in sandbox.api_requests("POST", "/order") if r["path"].endswith("/order")]


# --- deadline ------------------------------------------------------------------------------


def test_deadline_ends_a_run_of_503s_early(sandbox: Sandbox) -> None:
    # Without a deadline: every retry is made (3 backoffs of 0.25-2 s).
    sandbox.fault(match="GET /account", fault="status", status=503, times=4)
    with sandbox.client(max_retries=3) as client, pytest.raises(nexotp.ServerError):
        client.account()
    without = len(sandbox.api_requests("GET", "/account"))
    assert without == 4

    sandbox.reset()
    sandbox.fault(match="GET /account", fault="status", status=503, times=4)
    with sandbox.client(max_retries=3, deadline=0.6) as client:
        assert client.deadline == 0.6 and "deadline=0.6" in repr(client)
        started = time.monotonic()
        with pytest.raises((nexotp.APITimeoutError, nexotp.ServerError)) as info:
            client.account()
        elapsed = time.monotonic() - started
    assert elapsed < 0.6 + 0.5, elapsed
    assert info.value.retryable is True  # a GET: trying again later is safe
    assert len(sandbox.api_requests("GET", "/account")) < without


async def test_deadline_through_with_options_async(sandbox: Sandbox) -> None:
    sandbox.fault(match="GET /account", fault="status", status=503, times=4)
    async with sandbox.async_client(max_retries=3) as client:
        assert client.deadline is None
        quick = client.with_options(deadline=0.6)
        assert quick.deadline == 0.6 and quick.max_retries == 3
        started = time.monotonic()
        with pytest.raises((nexotp.APITimeoutError, nexotp.ServerError)):
            await quick.account()
        assert time.monotonic() - started < 0.6 + 0.5
    assert len(sandbox.api_requests("GET", "/account")) < 4


def test_deadline_of_a_slow_answer_is_a_timeout(sandbox: Sandbox) -> None:
    sandbox.fault(match="GET /account", fault="delay", ms=2000)
    with sandbox.client(timeout=10, deadline=0.4) as client:
        started = time.monotonic()
        with pytest.raises(nexotp.APITimeoutError) as info:
            client.account()
    assert time.monotonic() - started < 0.4 + 0.5
    assert "deadline" in str(info.value)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "1"])
def test_bad_deadline_fails_before_any_request(sandbox: Sandbox, bad: Any) -> None:
    for make in (sandbox.client, sandbox.async_client):
        with pytest.raises(nexotp.InvalidArgumentError) as info:
            make(deadline=bad)
        assert info.value.argument == "deadline"
    with sandbox.client() as client, pytest.raises(nexotp.InvalidArgumentError) as info:
        client.with_options(deadline=bad)
    assert info.value.argument == "deadline"
    assert sandbox.requests() == []


# --- retryable -----------------------------------------------------------------------------


def test_retryable_follows_the_core(sandbox: Sandbox) -> None:
    sandbox.fault(match="GET /account", fault="status", status=503)
    with sandbox.client(max_retries=0) as client:
        with pytest.raises(nexotp.ServerError) as server:
            client.account()
        assert server.value.retryable is True

        sandbox.fault(match="POST /order", fault="status", status=500, envelope=False, after_apply=True)
        with pytest.raises(nexotp.OrderOutcomeUnknownError) as unknown:
            client.create_order("svc_telegram", "cty_us")
        assert unknown.value.retryable is False and unknown.value.status == 500

        sandbox.control("POST", "balance", {"balance": "0.00"})
        with pytest.raises(nexotp.InsufficientBalanceError) as balance:
            client.create_order("svc_telegram", "cty_us")
        assert balance.value.status == 402 and balance.value.retryable is False

        with pytest.raises(nexotp.InvalidArgumentError) as bad:
            client.transactions(per_page=0)
        assert bad.value.retryable is False
    copy = pickle.loads(pickle.dumps(server.value))
    assert copy.retryable is True
    assert nexotp.NexOTPError("x").retryable is False


# --- OrderOutcomeUnknownError and reconcile ------------------------------------------------


def test_dropped_create_order_reconciles_to_the_order_made(client: nexotp.Client, sandbox: Sandbox) -> None:
    sandbox.fault(match="POST /order", fault="drop")
    before = time.time()
    with pytest.raises(nexotp.OrderOutcomeUnknownError) as info:
        client.create_order("svc_telegram", "cty_us", pool="pool_a", max_price=Decimal("5.00"))
    err = info.value
    assert (err.operation, err.service, err.country, err.pool) == ("create_order", "svc_telegram", "cty_us", "pool_a")
    assert err.max_price == Decimal("5.00") and isinstance(err.max_price, Decimal)
    assert (err.order_id, err.codes_before, err.status_before, err.endpoint_url, err.events) == (None, [], None, None, [])
    assert err.sent_at is not None and err.failed_at is not None
    assert before - 1 <= err.sent_at <= err.failed_at <= time.time() + 1
    assert err.retryable is False

    found = client.reconcile(err)
    [made] = sandbox.state()["orders"]
    assert found.outcome == "applied"
    assert found.order is not None and found.order.id == str(made["id"])
    assert [o.id for o in found.orders] == [found.order.id] and found.webhooks == [] and found.webhook is None
    assert repr(found).startswith("Reconciliation(outcome='applied', order=Order(id=")
    assert len(order_posts(sandbox)) == 1  # reconcile only reads


def test_a_pickled_error_still_reconciles(client: nexotp.Client, sandbox: Sandbox) -> None:
    sandbox.fault(match="POST /order", fault="drop")
    with pytest.raises(nexotp.OrderOutcomeUnknownError) as info:
        client.create_order("svc_telegram", "cty_us", max_price="5")
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is nexotp.OrderOutcomeUnknownError and str(copy) == str(info.value)
    for key in ("operation", "service", "country", "pool", "max_price", "order_id", "codes_before",
                "status_before", "endpoint_url", "events", "sent_at", "failed_at", "retryable"):
        assert getattr(copy, key) == getattr(info.value, key), key
    found = client.reconcile(copy)
    assert found.outcome == "applied" and found.order is not None
    assert found.order.id == str(sandbox.state()["orders"][0]["id"])


def test_create_order_dropped_before_apply_is_not_applied(client: nexotp.Client, sandbox: Sandbox) -> None:
    sandbox.fault(match="POST /order", fault="drop_before_apply")
    with pytest.raises(nexotp.OrderOutcomeUnknownError) as info:
        client.create_order("svc_telegram", "cty_us")
    found = client.reconcile(info.value)
    assert found.outcome == "not_applied"
    assert (found.order, found.webhook, found.orders, found.webhooks) == (None, None, [], [])
    assert repr(found) == "Reconciliation(outcome='not_applied')"
    order = client.create_order("svc_telegram", "cty_us")  # safe to send again
    assert [str(o["id"]) for o in sandbox.state()["orders"]] == [order.id]


async def test_reconcile_async_applied_and_not_applied(aclient: nexotp.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.fault(match="POST /order", fault="drop")
    with pytest.raises(nexotp.OrderOutcomeUnknownError) as applied:
        await aclient.create_order("svc_telegram", "cty_us")
    found = await aclient.reconcile(applied.value)
    assert found.outcome == "applied" and found.order is not None
    assert found.order.id == str(sandbox.state()["orders"][0]["id"])

    sandbox.fault(match="POST /order", fault="drop_before_apply")
    with pytest.raises(nexotp.OrderOutcomeUnknownError) as lost:
        await aclient.create_order("svc_google", "cty_gb")
    assert (await aclient.reconcile(lost.value)).outcome == "not_applied"
    again = await aclient.create_order("svc_google", "cty_gb")
    orders = sandbox.state()["orders"]
    assert len(orders) == 2 and str(orders[-1]["id"]) == again.id


def test_truncated_create_webhook_hides_the_secret_and_reconciles(client: nexotp.Client, sandbox: Sandbox) -> None:
    sandbox.fault(match="POST /webhooks", fault="truncate", bytes=40)
    with pytest.raises(nexotp.OrderOutcomeUnknownError) as info:
        client.create_webhook("http://127.0.0.1:9/hook", ["order.created", "order.expired"])
    err = info.value
    assert err.operation == "create_webhook" and err.retryable is False
    assert err.endpoint_url == "http://127.0.0.1:9/hook"
    assert sorted(err.events) == ["order.created", "order.expired"]
    [hook] = sandbox.state()["webhooks"]
    secret: str = hook["secret"]
    shown = [str(err), repr(err), err.message]
    cause = err.__cause__
    while cause is not None:
        shown.append(str(cause))
        cause = cause.__cause__
    text = " ".join(shown)
    pickled = pickle.dumps(err)
    assert "whsec_" not in text and b"whsec_" not in pickled
    tail = secret.removeprefix("whsec_")
    for i in range(len(tail) - 5):
        assert tail[i : i + 6] not in text, "a piece of the secret leaked"

    found = client.reconcile(err)
    assert found.outcome == "applied"
    assert found.webhook is not None and found.webhook.id == str(hook["id"])
    assert found.webhook.secret is None  # the secret was in the lost answer
    assert "whsec_" not in repr(found)


async def test_truncated_create_webhook_reconciles_async(aclient: nexotp.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.fault(match="POST /webhooks", fault="truncate", bytes=40)
    with pytest.raises(nexotp.OrderOutcomeUnknownError) as info:
        await aclient.create_webhook("http://127.0.0.1:9/a", "order.created")
    found = await aclient.reconcile(info.value)
    assert found.outcome == "applied" and found.webhook is not None
    assert found.webhook.id == str(sandbox.state()["webhooks"][0]["id"])


def test_dropped_resend_reconciles_to_applied(client: nexotp.Client, sandbox: Sandbox) -> None:
    order = client.create_order("svc_telegram", "cty_us")
    done = client.wait_for_code(order.id, timeout=10, poll_interval=0.05)
    sandbox.fault(match="POST /order/*/resend", fault="drop")
    with pytest.raises(nexotp.OrderOutcomeUnknownError) as info:
        client.resend_order(order.id)
    err = info.value
    assert (err.operation, err.order_id) == ("resend_order", order.id)
    assert err.codes_before == done.all_codes() and err.status_before == nexotp.OrderStatus.RECEIVED
    assert isinstance(err.status_before, nexotp.OrderStatus)
    found = client.reconcile(err)
    assert found.outcome == "applied" and found.order is not None and found.order.id == order.id
    assert len(sandbox.api_requests("POST", f"/order/{order.id}/resend")) == 1


async def test_dropped_resend_reconciles_async(aclient: nexotp.AsyncClient, sandbox: Sandbox) -> None:
    order = await aclient.create_order("svc_telegram", "cty_us")
    await aclient.wait_for_code(order.id, timeout=10, poll_interval=0.05)
    sandbox.fault(match="POST /order/*/resend", fault="drop")
    with pytest.raises(nexotp.OrderOutcomeUnknownError) as info:
        await aclient.resend_order(order.id)
    found = await aclient.reconcile(info.value)
    assert found.outcome == "applied" and found.order is not None and found.order.id == order.id


async def test_reconcile_refuses_anything_else_before_any_request(
    client: nexotp.Client, aclient: nexotp.AsyncClient, sandbox: Sandbox
) -> None:
    for bad in (ValueError("x"), nexotp.ServerError("x"), "create_order", None):
        with pytest.raises(nexotp.InvalidArgumentError) as info:
            client.reconcile(bad)  # type: ignore[arg-type]
        assert info.value.argument == "err" and "OrderOutcomeUnknownError" in str(info.value)
        with pytest.raises(nexotp.InvalidArgumentError) as ainfo:
            await aclient.reconcile(bad)  # type: ignore[arg-type]
        assert ainfo.value.argument == "err"
    # An error with an operation the core does not know, or no send time.
    with pytest.raises(nexotp.InvalidArgumentError) as op:
        client.reconcile(nexotp.OrderOutcomeUnknownError("x", operation="delete_everything", sent_at=1.0, failed_at=1.0))
    assert op.value.argument == "operation"
    with pytest.raises(nexotp.InvalidArgumentError) as at:
        client.reconcile(nexotp.OrderOutcomeUnknownError("x", operation="create_order"))
    assert at.value.argument == "err.sent_at"
    assert sandbox.requests() == []


# --- WaitTimeoutError without an order -----------------------------------------------------


async def test_wait_timeout_without_a_successful_poll_has_no_order(sandbox: Sandbox) -> None:
    with sandbox.client(max_retries=0) as client:
        order = client.create_order("svc_telegram", "cty_us")
        sandbox.faults(random=[{"rate": 1.0, "match": "GET /order/*", "fault": "status", "status": 503}])
        with pytest.raises(nexotp.WaitTimeoutError) as info:
            client.wait_for_code(order.id, timeout=0.4, poll_interval=0.1)
    err = info.value
    assert err.order is None and err.order_id == order.id and err.cancelled is False
    assert pickle.loads(pickle.dumps(err)).order_id == order.id
    async with sandbox.async_client(max_retries=0) as aclient:
        with pytest.raises(nexotp.WaitTimeoutError) as ainfo:
            await aclient.wait_for_code(order.id, timeout=0.3, poll_interval=0.1)
    assert ainfo.value.order is None and ainfo.value.order_id == order.id
