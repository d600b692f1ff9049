"""Types that tell the truth, beyond stubtest (which checks names and signatures, not values):
every model the native module returns is walked, and each property's value must be of the
type ``_native.pyi`` declares (``None`` only where declared), recursively through lists and
nested models; ``to_dict()`` has no key the stub does not declare."""

from __future__ import annotations

import ast
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Union

import nexotp
from nexotp import OrderStatus, _native
from conftest import ROOT, Sandbox

STUB = ROOT / "bindings" / "python" / "python" / "nexotp" / "_native.pyi"
MODELS = [
    "Account", "Transaction", "TransactionPage", "Country", "Service", "Pool", "Price", "Order",
    "Webhook", "WebhookDeleted", "WebhookEvent", "Reconciliation",
]


def declared() -> dict[str, dict[str, str]]:
    """Each model class's properties and their annotations (as source text)."""
    tree = ast.parse(Path(STUB).read_text())
    out: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in MODELS:
            props = {}
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and any(
                    isinstance(d, ast.Name) and d.id == "property" for d in item.decorator_list
                ):
                    assert item.returns is not None
                    props[item.name] = ast.unparse(item.returns)
            out[node.name] = props
    return out


DECLARED = declared()
NAMESPACE: dict[str, Any] = {
    "Any": Any, "Literal": Literal, "Decimal": Decimal, "OrderStatus": OrderStatus,
    **{name: getattr(_native, name) for name in MODELS},
}


def check(value: Any, annotation: Any, where: str, problems: list[str]) -> None:
    if annotation is Any:
        return
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (Union, getattr(__import__("types"), "UnionType", Union)):
        if value is None:
            if type(None) not in args:
                problems.append(f"{where}: None, declared {annotation}")
            return
        fits = [a for a in args if a is not type(None)]
        errs: list[list[str]] = []
        for a in fits:
            sub: list[str] = []
            check(value, a, where, sub)
            if not sub:
                return
            errs.append(sub)
        problems.extend(errs[0])
        return
    if value is None:
        problems.append(f"{where}: None, declared {annotation}")
        return
    if origin is Literal:
        if value not in args:
            problems.append(f"{where}: {value!r} not in {args}")
        return
    if origin is list:
        if not isinstance(value, list):
            problems.append(f"{where}: {type(value).__name__}, declared {annotation}")
            return
        for i, v in enumerate(value):
            check(v, args[0], f"{where}[{i}]", problems)
        return
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{where}: {type(value).__name__}, declared {annotation}")
        return
    if annotation is int and isinstance(value, bool):
        problems.append(f"{where}: bool, declared int")
        return
    if not isinstance(value, annotation):
        problems.append(f"{where}: {type(value).__name__} {value!r}, declared {annotation}")
        return
    name = getattr(annotation, "__name__", "")
    if name in DECLARED:
        walk(value, name, where, problems)


def walk(obj: Any, name: str, where: str, problems: list[str]) -> None:
    props = DECLARED[name]
    for prop, text in props.items():
        annotation = eval(text, NAMESPACE)  # noqa: S307 - the stub's own annotation text
        check(getattr(obj, prop), annotation, f"{where}.{prop}", problems)
    if hasattr(obj, "to_dict"):
        extra = set(obj.to_dict()) - set(props)
        if extra:
            problems.append(f"{where}.to_dict(): keys {sorted(extra)} not declared on {name}")


def test_every_model_matches_the_stub(client: nexotp.Client, sandbox: Sandbox) -> None:
    problems: list[str] = []
    seen: set[str] = set()

    def see(obj: Any, where: str) -> None:
        name = type(obj).__name__
        seen.add(name)
        walk(obj, name, where, problems)

    see(client.account(), "account()")
    order = client.create_order("svc_telegram", "cty_us", max_price="5")
    see(order, "create_order()")
    see(client.wait_for_code(order.id, poll_interval=0.05), "wait_for_code()")
    see(client.transactions(), "transactions()")
    for t in client.iter_transactions(per_page=2):
        see(t, "iter_transactions()")
    for c in client.countries():
        see(c, "countries()")
    for s in client.services("cty_us"):
        see(s, "services()")
    see(client.price("svc_telegram", "cty_us"), "price()")
    hook = client.create_webhook("https://example.com/h", ["order.created"])
    see(hook, "create_webhook()")
    for w in client.webhooks():
        see(w, "webhooks()")
    see(client.delete_webhook(hook.id), "delete_webhook()")
    see(client.cancel_order(client.create_order("svc_google", "cty_gb").id), "cancel_order()")
    sandbox.fault(match="POST /order", fault="drop")
    try:
        client.create_order("svc_telegram", "cty_us")
    except nexotp.OrderOutcomeUnknownError as err:
        see(client.reconcile(err), "reconcile()")
    body = b'{"id":"evt_1","type":"order.code_received","created_at":1700000000,"data":{"id":5001,"status":"received","code":"123456"}}'
    see(nexotp.verify_webhook(body, nexotp.sign_webhook(body, "whsec_test"), "whsec_test"), "verify_webhook()")
    assert problems == []
    assert seen >= set(MODELS) - {"Pool"}, set(MODELS) - seen
