"""The same bytes from every language: Python's run of ``spec/same-bytes.json``.

Every call of the table goes through ``Client`` and then ``AsyncClient`` against one sandbox
(reset between the two runs); the requests the sandbox logged for each call must be exactly the
table's ``expect`` (written by the Rust core's test), headers but User-Agent and Host included.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Iterator

import pytest

import nexotp
from conftest import KEY, ROOT, Sandbox

TABLE = json.loads((ROOT / "spec" / "same-bytes.json").read_text())
IGNORED_HEADERS = {"user-agent", "host"}


def normalise(r: dict[str, Any]) -> dict[str, Any]:
    headers = {k: v for k, v in sorted(r["headers"].items()) if k not in IGNORED_HEADERS}
    return {"method": r["method"], "path": r["path"], "query": r["query"], "body": r["body"], "headers": headers}


def kwargs(call: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The method and its arguments as a Python user writes them: money as ``Decimal`` (a
    number in the table stays a float)."""
    args = dict(call["args"])
    if isinstance(args.get("max_price"), str):
        args["max_price"] = Decimal(args["max_price"])
    # The call's own options are keyword arguments too (`signal` is Node's alone).
    args.update({k: v for k, v in call.get("options", {}).items() if k != "signal"})
    return call["call"], args


def positional(name: str, args: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    order = {
        "services": ["country"],
        "price": ["service", "country"],
        "create_order": ["service", "country"],
        "get_order": ["id"],
        "cancel_order": ["id"],
        "resend_order": ["id"],
        "wait_for_code": ["id"],
        "create_webhook": ["endpoint_url", "events"],
        "delete_webhook": ["id"],
    }.get(name, [])
    return [args.pop(a) for a in order], args


@pytest.fixture(scope="module")
def table_sandbox() -> Iterator[Sandbox]:
    cfg = TABLE["sandbox"]
    sb = Sandbox(
        "--api-key", KEY, "--seed", str(cfg["seed"]),
        "--code-delay-ms", str(cfg["code_delay_ms"]), "--balance", cfg["balance"],
    )
    yield sb
    sb.stop()


def differences(sent: list[list[dict[str, Any]]]) -> list[str]:
    out = []
    for call, got in zip(TABLE["calls"], sent):
        if got != call["expect"]:
            out.append(f"{call['name']}: expected {call['expect']}\n   sent {got}")
    return out


def test_the_table_is_big_enough() -> None:
    assert len(TABLE["calls"]) >= 30
    assert all(call["expect"] for call in TABLE["calls"])


def test_sync_client_sends_the_tables_bytes(table_sandbox: Sandbox) -> None:
    table_sandbox.reset()
    sent = []
    with table_sandbox.client() as client:
        for call in TABLE["calls"]:
            table_sandbox.control("DELETE", "requests")
            name, args = kwargs(call)
            pos, kw = positional(name, args)
            try:
                result = getattr(client, name)(*pos, **kw)
                if name == "iter_transactions":
                    list(result)
            except nexotp.APIError:
                pass  # an answer of the sandbox's; only the request counts
            sent.append([normalise(r) for r in table_sandbox.requests()])
    diffs = differences(sent)
    assert not diffs, "Python (sync) differs:\n" + "\n".join(diffs)


async def test_async_client_sends_the_tables_bytes(table_sandbox: Sandbox) -> None:
    table_sandbox.reset()
    sent = []
    async with table_sandbox.async_client() as client:
        for call in TABLE["calls"]:
            table_sandbox.control("DELETE", "requests")
            name, args = kwargs(call)
            pos, kw = positional(name, args)
            try:
                if name == "iter_transactions":
                    async for _ in client.iter_transactions(*pos, **kw):
                        pass
                else:
                    await getattr(client, name)(*pos, **kw)
            except nexotp.APIError:
                pass
            sent.append([normalise(r) for r in table_sandbox.requests()])
    diffs = differences(sent)
    assert not diffs, "Python (async) differs:\n" + "\n".join(diffs)
