"""Smoke test of an *installed* nexotp wheel against a running nexotp-sandbox.

Run by scripts/test-dist (x86_64, a wheel in a fresh venv with no Rust toolchain on PATH), by
the release workflow on every runner, and by hand under emulation. It must not import anything
from this repository: only the installed package. Environment: NEXOTP_BASE_URL (the sandbox URL
it printed), NEXOTP_API_KEY (default the sandbox's key).

The flow: account, price, a webhook to a local receiver, an order, its code, and the signed
deliveries verified with verify_webhook (plus one tampered body that must fail).
"""

from __future__ import annotations

import os
import platform
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import nexotp

deliveries: list[tuple[bytes, str]] = []


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        deliveries.append((body, self.headers.get("X-NexOTP-Signature", "")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    print(f"smoke.py: nexotp from {os.path.dirname(nexotp.__file__)} on {platform.machine()}")
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with nexotp.Client(api_key=os.environ.get("NEXOTP_API_KEY", "sk_test_sandbox")) as client:
        balance = client.account().balance
        price = client.price("svc_telegram", "cty_us")
        hook = client.create_webhook(f"http://127.0.0.1:{server.server_port}/hooks", ["order.code_received"])
        assert hook.secret, "create_webhook returned no secret"
        order = client.create_order("svc_telegram", "cty_us", max_price=price.price)
        done = client.wait_for_code(order.id, timeout=60, poll_interval=0.2)
        assert done.code, f"no code: {done!r}"
        deadline = time.monotonic() + 30
        while not deliveries and time.monotonic() < deadline:
            time.sleep(0.05)
        assert deliveries, "no webhook delivery arrived"
        body, signature = deliveries[0]
        event = nexotp.verify_webhook(body, signature, hook.secret)
        assert event.type == "order.code_received" and event.order is not None
        assert event.order.code == done.code, (event.order.code, done.code)
        try:
            nexotp.verify_webhook(body.replace(done.code.encode(), b"000000"), signature, hook.secret)
        except nexotp.WebhookVerificationError:
            pass
        else:
            raise AssertionError("a tampered delivery verified")
    server.shutdown()
    print(f"smoke.py: ok (balance {balance}, order {order.id}, code {done.code}, webhook verified)")


if __name__ == "__main__":
    main()
