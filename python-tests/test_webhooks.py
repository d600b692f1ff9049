"""Webhooks: sign / verify, and end to end: the sandbox delivers signed events to a local
receiver that checks them with verify_webhook."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Iterator

import pytest

import nexotp
from conftest import Sandbox

BODY = json.dumps(
    {"id": "evt_1", "type": "order.code_received", "created_at": 1700000000,
     "data": {"id": 5001, "status": "received", "code": "123456", "price": "0.50"}}
).encode()


def test_sign_then_verify() -> None:
    header = nexotp.sign_webhook(BODY, "whsec_test")
    assert header.startswith("t=") and ",v1=" in header
    event = nexotp.verify_webhook(BODY, header, "whsec_test")
    assert isinstance(event, nexotp.WebhookEvent)
    assert event.id == "evt_1" and event.type == "order.code_received"
    assert event.created_at == 1700000000
    assert event.order is not None and event.order.code == "123456" and event.order.id == "5001"
    assert event.data["code"] == "123456" and event.raw["id"] == "evt_1"
    assert nexotp.verify_webhook(BODY.decode(), header, "whsec_test") == event  # str payload


def test_verify_rejects_tampering_staleness_and_wrong_secret() -> None:
    header = nexotp.sign_webhook(BODY, "whsec_test")
    with pytest.raises(nexotp.WebhookVerificationError, match="raw request body"):
        nexotp.verify_webhook(BODY.replace(b"123456", b"654321"), header, "whsec_test")
    with pytest.raises(nexotp.WebhookVerificationError):
        nexotp.verify_webhook(BODY, header, "whsec_other")
    old = nexotp.sign_webhook(BODY, "whsec_test", timestamp=int(time.time()) - 1000)
    with pytest.raises(nexotp.WebhookVerificationError, match="old"):
        nexotp.verify_webhook(BODY, old, "whsec_test")
    assert nexotp.verify_webhook(BODY, old, "whsec_test", tolerance=2000).id == "evt_1"
    with pytest.raises(nexotp.WebhookVerificationError, match="missing"):
        nexotp.verify_webhook(BODY, "", "whsec_test")
    with pytest.raises(nexotp.InvalidArgumentError):
        nexotp.verify_webhook(12345, header, "whsec_test")  # type: ignore[arg-type]


class Receiver:
    """A local HTTP server that verifies every delivery it receives."""

    def __init__(self) -> None:
        self.secret = ""
        self.events: list[nexotp.WebhookEvent] = []
        self.failures: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    event = nexotp.verify_webhook(body, self.headers.get("X-NexOTP-Signature", ""), receiver.secret)
                    receiver.events.append(event)
                    self.send_response(200)
                except nexotp.WebhookVerificationError as exc:
                    receiver.failures.append(str(exc))
                    self.send_response(400)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, kind: str, timeout: float = 10) -> nexotp.WebhookEvent:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if event.type == kind:
                    return event
            time.sleep(0.05)
        raise AssertionError(f"no {kind} delivery; got {[e.type for e in self.events]}, failures {self.failures}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def test_sandbox_deliveries_verify_end_to_end(client: nexotp.Client, receiver: Receiver, sandbox: Sandbox) -> None:
    hook = client.create_webhook(receiver.url, ["order.created", "order.code_received", "order.cancelled"])
    assert hook.secret
    receiver.secret = hook.secret
    order = client.create_order("svc_telegram", "cty_us")
    created = receiver.wait_for("order.created")
    assert created.order is not None and created.order.id == order.id
    received = receiver.wait_for("order.code_received")
    done = client.wait_for_code(order.id, timeout=10, poll_interval=0.05)
    assert received.order is not None and received.order.code == done.code
    other = client.create_order("svc_google", "cty_gb")
    client.cancel_order(other.id)
    cancelled = receiver.wait_for("order.cancelled")
    assert cancelled.order is not None and cancelled.order.id == other.id
    assert receiver.failures == []


async def test_deliveries_with_a_wrong_secret_fail_verification(aclient: nexotp.AsyncClient, receiver: Receiver) -> None:
    await aclient.create_webhook(receiver.url, ["order.created"])
    receiver.secret = "whsec_not_the_right_one"
    await aclient.create_order("svc_telegram", "cty_us")
    deadline = time.monotonic() + 10
    while not receiver.failures and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.failures and receiver.events == []


@pytest.mark.parametrize("header", [None, "", "   "])
def test_a_missing_signature_header_is_a_verification_error(header: str | None) -> None:
    """As in every language (the core's rule): Flask's ``request.headers.get()`` gives None
    for a delivery without the header, and a handler answering 400 on a failed verification
    must answer 400 to it, not 500."""
    body = b'{"id":"evt_1","type":"order.created","data":{}}'
    with pytest.raises(nexotp.WebhookVerificationError, match="missing"):
        nexotp.verify_webhook(body, header, "whsec_test")
    with pytest.raises(nexotp.InvalidArgumentError):
        nexotp.verify_webhook(body, 12345, "whsec_test")  # type: ignore[arg-type]
