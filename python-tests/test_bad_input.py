"""Bad input: the core's rules and Python type mistakes fail with InvalidArgumentError (also a
ValueError) before any request reaches the sandbox."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

import pytest

import nexotp
from conftest import KEY, Sandbox

Call = Callable[[Any], Any]

# (description, call on a client, argument named in the message)
CASES: list[tuple[str, Call, str]] = [
    ("per_page str", lambda c: c.transactions(per_page="10"), "per_page"),
    ("per_page 0", lambda c: c.transactions(per_page=0), "per_page"),
    ("per_page 101", lambda c: c.transactions(per_page=101), "per_page"),
    ("per_page float", lambda c: c.transactions(per_page=1.5), "per_page"),
    ("per_page bool", lambda c: c.transactions(per_page=True), "per_page"),
    ("page 0", lambda c: c.transactions(page=0), "page"),
    ("page negative", lambda c: c.transactions(page=-1), "page"),
    ("iter per_page 0", lambda c: c.iter_transactions(per_page=0), "per_page"),
    ("iter per_page str", lambda c: c.iter_transactions(per_page="5"), "per_page"),
    ("service empty", lambda c: c.create_order("", "cty_us"), "service"),
    ("service traversal", lambda c: c.create_order("svc/../x", "cty_us"), "service"),
    ("service None", lambda c: c.create_order(None, "cty_us"), "service"),
    ("country int", lambda c: c.create_order("svc_telegram", 1), "country"),
    ("max_price nan", lambda c: c.create_order("svc_telegram", "cty_us", max_price=float("nan")), "max_price"),
    ("max_price inf", lambda c: c.create_order("svc_telegram", "cty_us", max_price=float("inf")), "max_price"),
    ("max_price negative", lambda c: c.create_order("svc_telegram", "cty_us", max_price=-1), "max_price"),
    ("max_price Decimal NaN", lambda c: c.create_order("svc_telegram", "cty_us", max_price=Decimal("NaN")), "max_price"),
    ("max_price text", lambda c: c.create_order("svc_telegram", "cty_us", max_price="abc"), "max_price"),
    ("max_price bool", lambda c: c.create_order("svc_telegram", "cty_us", max_price=True), "max_price"),
    ("max_price list", lambda c: c.create_order("svc_telegram", "cty_us", max_price=[1]), "max_price"),
    ("pricing_option name", lambda c: c.create_order("svc_telegram", "cty_us", pricing_option="fastest"), "pricing_option"),
    ("pricing_option 2", lambda c: c.create_order("svc_telegram", "cty_us", pricing_option=2), "pricing_option"),
    ("pricing_option float", lambda c: c.create_order("svc_telegram", "cty_us", pricing_option=1.0), "pricing_option"),
    ("pool empty", lambda c: c.create_order("svc_telegram", "cty_us", pool=""), "pool"),
    ("pool int", lambda c: c.create_order("svc_telegram", "cty_us", pool=5), "pool"),
    ("id None", lambda c: c.get_order(None), "id"),
    ("id empty", lambda c: c.get_order(""), "id"),
    ("id slash", lambda c: c.get_order("a/b"), "id"),
    ("id space", lambda c: c.get_order("a b"), "id"),
    ("id float", lambda c: c.get_order(1.5), "id"),
    ("id bool", lambda c: c.get_order(True), "id"),
    ("cancel id None", lambda c: c.cancel_order(None), "id"),
    ("resend id dots", lambda c: c.resend_order(".."), "id"),
    ("services empty", lambda c: c.services(""), "country"),
    ("services None", lambda c: c.services(None), "country"),
    ("price None", lambda c: c.price("svc_telegram", None), "country"),
    ("wait timeout 0", lambda c: c.wait_for_code("5001", timeout=0), "timeout"),
    ("wait timeout negative", lambda c: c.wait_for_code("5001", timeout=-1), "timeout"),
    ("wait timeout str", lambda c: c.wait_for_code("5001", timeout="10"), "timeout"),
    ("wait poll nan", lambda c: c.wait_for_code("5001", poll_interval=float("nan")), "poll_interval"),
    ("wait cancel str", lambda c: c.wait_for_code("5001", cancel_on_timeout="yes"), "cancel_on_timeout"),
    ("webhook ftp", lambda c: c.create_webhook("ftp://example.com/h", ["order.created"]), "endpoint_url"),
    ("webhook plain http", lambda c: c.create_webhook("http://example.com/h", ["order.created"]), "endpoint_url"),
    ("webhook url None", lambda c: c.create_webhook(None, ["order.created"]), "endpoint_url"),
    ("events empty str", lambda c: c.create_webhook("https://example.com/h", ""), "events"),
    ("events empty list", lambda c: c.create_webhook("https://example.com/h", []), "events"),
    ("events space", lambda c: c.create_webhook("https://example.com/h", ["order created"]), "events"),
    ("events blank entry", lambda c: c.create_webhook("https://example.com/h", ["order.created", ""]), "events"),
    ("events None", lambda c: c.create_webhook("https://example.com/h", None), "events"),
    ("events ints", lambda c: c.create_webhook("https://example.com/h", [1]), "events"),
    ("delete id None", lambda c: c.delete_webhook(None), "id"),
    ("with_options timeout 0", lambda c: c.with_options(timeout=0), "timeout"),
    ("with_options retries negative", lambda c: c.with_options(max_retries=-1), "max_retries"),
]


@pytest.mark.parametrize("call,argument", [(c, a) for _, c, a in CASES], ids=[d for d, _, _ in CASES])
def test_bad_input_sync(client: nexotp.Client, sandbox: Sandbox, call: Call, argument: str) -> None:
    with pytest.raises(nexotp.InvalidArgumentError) as info:
        call(client)
    assert isinstance(info.value, ValueError)
    assert info.value.argument == argument
    assert sandbox.requests() == []


ASYNC_CASES: list[tuple[str, Call, str]] = [
    ("per_page str", lambda c: c.transactions(per_page="10"), "per_page"),
    ("max_price nan", lambda c: c.create_order("svc_telegram", "cty_us", max_price=float("nan")), "max_price"),
    ("id None", lambda c: c.get_order(None), "id"),
    ("events empty", lambda c: c.create_webhook("https://example.com/h", ""), "events"),
    ("wait timeout 0", lambda c: c.wait_for_code("5001", timeout=0), "timeout"),
    ("service traversal", lambda c: c.create_order("a/../b", "cty_us"), "service"),
]


@pytest.mark.parametrize("call,argument", [(c, a) for _, c, a in ASYNC_CASES], ids=[d for d, _, _ in ASYNC_CASES])
async def test_bad_input_async(aclient: nexotp.AsyncClient, sandbox: Sandbox, call: Call, argument: str) -> None:
    with pytest.raises(nexotp.InvalidArgumentError) as info:
        await call(aclient)
    assert info.value.argument == argument
    assert sandbox.requests() == []


async def test_async_iter_bad_per_page_fails_at_call(aclient: nexotp.AsyncClient, sandbox: Sandbox) -> None:
    with pytest.raises(nexotp.InvalidArgumentError):
        aclient.iter_transactions(per_page=0)
    assert sandbox.requests() == []


@pytest.mark.parametrize(
    "kwargs,argument",
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"timeout": "30"}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"base_url": "http://example.com/"}, "base_url"),
        ({"base_url": 5}, "base_url"),
        ({"api_key": ""}, "api_key"),
        ({"api_key": "a b"}, "api_key"),
        ({"api_key": 5}, "api_key"),
    ],
)
def test_bad_client_settings(sandbox: Sandbox, kwargs: dict[str, Any], argument: str) -> None:
    settings: dict[str, Any] = {"api_key": KEY, "base_url": sandbox.url, **kwargs}
    with pytest.raises(nexotp.InvalidArgumentError) as info:
        nexotp.Client(**settings)
    assert info.value.argument == argument
    with pytest.raises(nexotp.InvalidArgumentError) as ainfo:
        nexotp.AsyncClient(**settings)
    assert ainfo.value.argument == argument
    assert sandbox.requests() == []


@pytest.mark.parametrize(
    "value,wire",
    [(Decimal("9.50"), "9.50"), (12, "12"), ("7.25", "7.25"), (8.5, "8.5"), (" 10.10 ", "10.10")],
)
def test_money_forms_are_sent_exactly(client: nexotp.Client, sandbox: Sandbox, value: Any, wire: str) -> None:
    client.create_order("svc_telegram", "cty_us", max_price=value)
    body = sandbox.api_requests("POST", "/order")[0]["body"].replace(" ", "")
    assert f'"max_price":{wire}' in body
