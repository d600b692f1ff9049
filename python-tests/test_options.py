"""Defaults, seconds arguments and options: `None` means the core's default in both clients,
seconds are checked by the core's one rule, and sync and async accept the same values."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

import nexotp
from conftest import KEY, Sandbox


def test_none_settings_take_the_core_defaults(sandbox: Sandbox) -> None:
    for make in (nexotp.Client, nexotp.AsyncClient):
        client: Any = make(KEY, base_url=sandbox.url, timeout=None, connect_timeout=None, max_retries=None)
        assert (client.timeout, client.connect_timeout, client.max_retries) == (30.0, 10.0, 2)
    assert sandbox.requests() == []


def test_connect_timeout_is_set_and_checked(sandbox: Sandbox) -> None:
    with sandbox.client(connect_timeout=2.5) as client:
        assert client.connect_timeout == 2.5
        client.account()  # a working client with the setting
    assert sandbox.async_client(connect_timeout=1).connect_timeout == 1.0
    for bad in (0, -1, float("nan"), "5"):
        for make in (sandbox.client, sandbox.async_client):
            with pytest.raises(nexotp.InvalidArgumentError) as info:
                make(connect_timeout=bad)
            assert info.value.argument == "connect_timeout"
    assert len(sandbox.requests()) == 1  # only the account() above


@pytest.mark.parametrize("seconds", [-5, -0.001, float("nan"), float("inf")])
def test_verify_webhook_refuses_a_bad_tolerance(seconds: float) -> None:
    body = b'{"id":"evt_1","type":"order.created","data":{}}'
    header = nexotp.sign_webhook(body, "whsec_test")
    with pytest.raises(nexotp.InvalidArgumentError) as info:
        nexotp.verify_webhook(body, header, "whsec_test", tolerance=seconds)
    assert info.value.argument == "tolerance"
    assert nexotp.verify_webhook(body, header, "whsec_test", tolerance=None).id == "evt_1"


@pytest.mark.parametrize(
    "kwargs,argument",
    [
        ({"timeout": -1}, "timeout"),
        ({"timeout": float("-inf")}, "timeout"),
        ({"poll_interval": float("nan")}, "poll_interval"),
        ({"poll_interval": -0.5}, "poll_interval"),
        ({"exclude_codes": "123456"}, "exclude_codes"),
        ({"exclude_codes": [123456]}, "exclude_codes"),
    ],
)
async def test_bad_wait_options_fail_before_any_request(
    client: nexotp.Client, aclient: nexotp.AsyncClient, sandbox: Sandbox, kwargs: dict[str, Any], argument: str
) -> None:
    with pytest.raises(nexotp.InvalidArgumentError) as info:
        client.wait_for_code("5001", **kwargs)
    assert info.value.argument == argument
    with pytest.raises(nexotp.InvalidArgumentError) as ainfo:
        await aclient.wait_for_code("5001", **kwargs)
    assert ainfo.value.argument == argument
    assert sandbox.requests() == []


def test_negative_client_timeouts_fail_before_any_request(sandbox: Sandbox) -> None:
    for make in (sandbox.client, sandbox.async_client):
        with pytest.raises(nexotp.InvalidArgumentError) as info:
            make(timeout=-1)
        assert info.value.argument == "timeout"
    with sandbox.client() as client:
        with pytest.raises(nexotp.InvalidArgumentError) as info:
            client.with_options(timeout=-3)
        assert info.value.argument == "timeout"
    assert sandbox.requests() == []


async def test_wait_with_none_options_uses_the_defaults(slow: Sandbox) -> None:
    with slow.client() as client:
        order = client.create_order("svc_telegram", "cty_us")
        slow.control("POST", f"orders/{order.id}/code", {"code": "515151"})
        none: dict[str, Any] = {"timeout": None, "poll_interval": None, "cancel_on_timeout": None, "exclude_codes": None}
        assert client.wait_for_code(order.id, **none).code == "515151"
    async with slow.async_client() as aclient:
        assert (await aclient.wait_for_code(order.id, **none)).code == "515151"


async def test_exclude_codes_skips_codes_already_seen(slow: Sandbox) -> None:
    with slow.client() as client:
        order = client.create_order("svc_telegram", "cty_us")
        slow.control("POST", f"orders/{order.id}/code", {"code": "616161"})
        assert client.wait_for_code(order.id, timeout=5, poll_interval=0.05).code == "616161"
        with pytest.raises(nexotp.WaitTimeoutError):
            client.wait_for_code(order.id, timeout=0.3, poll_interval=0.05, exclude_codes=["616161"])
    async with slow.async_client() as aclient:
        with pytest.raises(nexotp.WaitTimeoutError):
            await aclient.wait_for_code(order.id, timeout=0.3, poll_interval=0.05, exclude_codes={"616161"})


async def test_none_paging_arguments_take_the_defaults(client: nexotp.Client, aclient: nexotp.AsyncClient, sandbox: Sandbox) -> None:
    page = client.transactions(page=None, per_page=None)
    assert (page.page, page.per_page) == (1, 20)
    apage = await aclient.transactions(page=None, per_page=None)
    assert (apage.page, apage.per_page) == (1, 20)
    assert [t async for t in aclient.iter_transactions(per_page=None)] == list(client.iter_transactions(per_page=None))
    queries = [r["query"] for r in sandbox.requests()]
    assert sum("per_page=20" in q for q in queries) == 2
    assert sum("per_page=100" in q for q in queries) == 2


async def test_both_clients_take_a_set_of_events(client: nexotp.Client, aclient: nexotp.AsyncClient) -> None:
    hook = client.create_webhook("http://127.0.0.1:9/a", {"order.created"})
    assert hook.events == ["order.created"]
    ahook = await aclient.create_webhook("http://127.0.0.1:9/b", frozenset({"order.expired"}))
    assert ahook.events == ["order.expired"]
    for bad in (None, 5, b"order.created"):
        with pytest.raises(nexotp.InvalidArgumentError) as info:
            client.create_webhook("http://127.0.0.1:9/c", bad)  # type: ignore[arg-type]
        assert info.value.argument == "events"
        with pytest.raises(nexotp.InvalidArgumentError) as ainfo:
            await aclient.create_webhook("http://127.0.0.1:9/c", bad)  # type: ignore[arg-type]
        assert ainfo.value.argument == "events"


def test_a_pickled_webhook_leaves_its_secret_out(client: nexotp.Client) -> None:
    hook = client.create_webhook("http://127.0.0.1:9/x", ["order.created"])
    assert hook.secret
    data = pickle.dumps(hook)
    assert hook.secret.encode() not in data
    restored = pickle.loads(data)
    assert restored.secret is None
    assert restored.to_dict() == hook.to_dict() and restored.raw == hook.raw
    assert restored == client.webhooks()[0]  # equal to the same webhook without its secret
