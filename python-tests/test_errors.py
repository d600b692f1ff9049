"""Every exception class, raised by real answers of the sandbox; attributes; pickling."""

from __future__ import annotations

import pickle
import socket
from decimal import Decimal

import pytest

import nexotp
import nexotp.errors as errors_module
from conftest import KEY, Sandbox


def roundtrip(exc: nexotp.NexOTPError) -> None:
    """Pickles and unpickles, checking class, message and attributes survive."""
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is type(exc)
    assert str(copy) == str(exc)
    for key in ("status", "code", "request_id", "retry_after"):
        assert getattr(copy, key) == getattr(exc, key)


def test_hierarchy_is_importable_from_both_places() -> None:
    for name in errors_module.__all__:
        cls = getattr(nexotp, name)
        assert cls is getattr(errors_module, name)
        assert issubclass(cls, nexotp.NexOTPError) and issubclass(cls, Exception)
    assert issubclass(nexotp.InvalidArgumentError, ValueError)
    for name in ("AuthenticationError", "PermissionDeniedError", "NotFoundError", "InvalidRequestError",
                 "InsufficientBalanceError", "ConflictError", "RateLimitError", "ServerError"):
        assert issubclass(getattr(nexotp, name), nexotp.APIError)
    assert issubclass(nexotp.APITimeoutError, nexotp.APIConnectionError)
    assert issubclass(nexotp.OrderOutcomeUnknownError, nexotp.APIConnectionError)


def test_authentication_error(sandbox: Sandbox) -> None:
    with nexotp.Client("sk_wrong_key", base_url=sandbox.url) as client:
        with pytest.raises(nexotp.AuthenticationError) as info:
            client.account()
    exc = info.value
    assert exc.status == 401 and exc.code is not None
    assert "sk_wrong_key" not in str(exc) and "sk_wrong_key" not in repr(exc)
    roundtrip(exc)


def test_permission_denied_error(client: nexotp.Client, sandbox: Sandbox) -> None:
    sandbox.fault(match="GET /account", fault="status", status=403, code="forbidden")
    with pytest.raises(nexotp.PermissionDeniedError) as info:
        client.account()
    assert info.value.status == 403 and info.value.code == "forbidden"
    assert info.value.request_id
    roundtrip(info.value)


def test_not_found_error(client: nexotp.Client) -> None:
    with pytest.raises(nexotp.NotFoundError) as info:
        client.get_order("999999")
    exc = info.value
    assert exc.status == 404 and exc.code and exc.request_id and exc.request_id.startswith("req_")
    assert isinstance(exc.body, dict) and exc.body["success"] is False
    roundtrip(exc)


def test_invalid_request_error(client: nexotp.Client) -> None:
    with pytest.raises(nexotp.InvalidRequestError) as info:
        client.price("svc_nope", "cty_us")
    assert info.value.status == 400 and info.value.code == "invalid_parameter"
    assert info.value.details
    roundtrip(info.value)


def test_insufficient_balance_error(client: nexotp.Client, sandbox: Sandbox) -> None:
    sandbox.control("POST", "balance", {"balance": "0.00"})
    with pytest.raises(nexotp.InsufficientBalanceError) as info:
        client.create_order("svc_telegram", "cty_us")
    assert info.value.status == 402 and info.value.code == "insufficient_balance"
    roundtrip(info.value)


def test_conflict_errors(client: nexotp.Client) -> None:
    with pytest.raises(nexotp.ConflictError) as info:
        client.create_order("svc_whatsapp", "cty_de")
    assert info.value.status == 409 and info.value.code == "no_numbers_available"
    with pytest.raises(nexotp.ConflictError) as info:
        client.create_order("svc_telegram", "cty_us", max_price=Decimal("0.01"))
    assert info.value.code == "max_price_exceeded"
    order = client.create_order("svc_telegram", "cty_us")
    client.cancel_order(order.id)
    with pytest.raises(nexotp.ConflictError) as info:
        client.cancel_order(order.id)
    assert info.value.code == "order_not_cancellable"
    roundtrip(info.value)


def test_rate_limit_error(client: nexotp.Client, sandbox: Sandbox) -> None:
    # A Retry-After beyond what the client waits out by itself fails at once.
    sandbox.fault(match="GET /account", fault="status", status=429, retry_after="120")
    with pytest.raises(nexotp.RateLimitError) as info:
        client.account()
    exc = info.value
    assert exc.status == 429 and exc.retry_after == 120.0 and exc.bucket == "GENERAL"
    roundtrip(exc)


def test_server_error(sandbox: Sandbox) -> None:
    sandbox.fault(match="GET /account", fault="status", status=500, times=5)
    with sandbox.client(max_retries=0) as client, pytest.raises(nexotp.ServerError) as info:
        client.account()
    assert info.value.status == 500
    roundtrip(info.value)


def test_plain_api_error_for_other_statuses(sandbox: Sandbox) -> None:
    sandbox.fault(match="GET /account", fault="status", status=418)
    with sandbox.client(max_retries=0) as client, pytest.raises(nexotp.APIError) as info:
        client.account()
    assert type(info.value) is nexotp.APIError and info.value.status == 418


def test_connection_error_has_a_cause() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with nexotp.Client(KEY, base_url=f"http://127.0.0.1:{port}/", max_retries=0) as client:
        with pytest.raises(nexotp.APIConnectionError) as info:
            client.account()
    exc = info.value
    assert not isinstance(exc, nexotp.APITimeoutError)
    assert isinstance(exc.__cause__, Exception) and str(exc.__cause__)
    roundtrip(exc)


def test_timeout_error(sandbox: Sandbox) -> None:
    sandbox.fault(match="GET /account", fault="delay", ms=1500)
    with sandbox.client(timeout=0.3, max_retries=0) as client:
        with pytest.raises(nexotp.APITimeoutError) as info:
            client.account()
    assert isinstance(info.value, nexotp.APIConnectionError)
    roundtrip(info.value)


def test_order_outcome_unknown_error_and_no_duplicate(client: nexotp.Client, sandbox: Sandbox) -> None:
    sandbox.fault(match="POST /order", fault="drop")
    with pytest.raises(nexotp.OrderOutcomeUnknownError) as info:
        client.create_order("svc_telegram", "cty_us")
    exc = info.value
    assert exc.operation == "create_order" and exc.service == "svc_telegram" and exc.country == "cty_us"
    assert exc.sent_at and exc.sent_at > 1_600_000_000
    posts = [r for r in sandbox.api_requests("POST", "/order") if r["path"].endswith("/order")]
    assert len(posts) == 1  # never re-sent
    assert len(sandbox.state()["orders"]) == 1  # the sandbox did create it
    roundtrip(exc)


async def test_order_outcome_unknown_async(aclient: nexotp.AsyncClient, sandbox: Sandbox) -> None:
    order = await aclient.create_order("svc_telegram", "cty_us")
    await aclient.wait_for_code(order.id, timeout=10, poll_interval=0.05)
    sandbox.fault(match="POST /order/*/resend", fault="drop")
    with pytest.raises(nexotp.OrderOutcomeUnknownError) as info:
        await aclient.resend_order(order.id)
    assert info.value.operation == "resend_order" and info.value.order_id == order.id
    assert len(sandbox.api_requests("POST", f"/order/{order.id}/resend")) == 1


def test_unexpected_response_error(sandbox: Sandbox) -> None:
    sandbox.fault(match="GET /account", fault="malformed")
    with sandbox.client(max_retries=0) as client, pytest.raises(nexotp.UnexpectedResponseError) as info:
        client.account()
    assert info.value.status == 200 and info.value.snippet
    roundtrip(info.value)


def test_webhook_verification_error() -> None:
    header = nexotp.sign_webhook(b'{"id":"evt_1","type":"order.created","data":{}}', "whsec_a")
    with pytest.raises(nexotp.WebhookVerificationError) as info:
        nexotp.verify_webhook(b'{"id":"evt_1","type":"order.created","data":{}}', header, "whsec_b")
    assert "whsec_a" not in str(info.value) and "whsec_b" not in str(info.value)
    roundtrip(info.value)


def test_invalid_argument_error_pickles_and_is_value_error(client: nexotp.Client) -> None:
    with pytest.raises(ValueError) as info:
        client.transactions(per_page=0)
    exc = info.value
    assert isinstance(exc, nexotp.InvalidArgumentError) and exc.argument == "per_page"
    assert "per_page" in str(exc)
    roundtrip(exc)


async def test_errors_are_the_same_classes_async(aclient: nexotp.AsyncClient) -> None:
    with pytest.raises(nexotp.NotFoundError):
        await aclient.get_order("999999")
    with pytest.raises(nexotp.ConflictError):
        await aclient.create_order("svc_whatsapp", "cty_de")
    with pytest.raises(nexotp.InvalidArgumentError):
        await aclient.transactions(per_page=0)
