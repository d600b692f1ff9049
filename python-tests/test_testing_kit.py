"""``nexotp.testing``: the sandbox library inside the package (no binary), and its pytest plugin
used as a user would use it (the installed package, no ``nexotp-sandbox`` on PATH)."""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest

import nexotp
import nexotp.testing
from nexotp.testing import RecordedRequest, Sandbox, WebhookDelivery

from conftest import run_script

EXAMPLE = Path(__file__).parent / "examples" / "test_with_nexotp_kit.py"


@pytest.fixture(scope="module")
def kit() -> Iterator[Sandbox]:
    with Sandbox(code_delay=0.2) as sb:
        yield sb


@pytest.fixture
def sb(kit: Sandbox) -> Sandbox:
    kit.reset()
    return kit


def test_a_full_flow_against_the_embedded_sandbox(sb: Sandbox) -> None:
    assert sb.base_url.startswith("http://127.0.0.1:") and sb.base_url.endswith("/wp-json/nexotp/v1/")
    assert sb.api_key == "sk_test_sandbox"
    with sb.client() as client:
        assert client.base_url == sb.base_url
        order = client.create_order("svc_telegram", "cty_us")
        assert client.wait_for_code(order.id, timeout=10).code
        second = client.create_order("svc_telegram", "cty_us")
        sb.force_code(second.id, "424242")
        assert client.get_order(second.id).code == "424242"
        third = client.create_order("svc_telegram", "cty_us")
        sb.expire(third.id)
        assert client.get_order(third.id).status == nexotp.OrderStatus.EXPIRED
        assert sb.order_ids() == [int(order.id), int(second.id), int(third.id)]
    requests = sb.requests()
    assert all(isinstance(r, RecordedRequest) for r in requests)
    first = requests[0]
    assert (first.method, first.path, first.status, first.bucket) == ("POST", "/wp-json/nexotp/v1/order", 201, "ORDER")
    assert json.loads(first.body)["service"] == "svc_telegram"
    # The key never appears in the log, whatever the header's case.
    assert first.header("X-NexOTP-API-Key") == "[REDACTED]"
    assert first.headers["x-nexotp-api-key"] == "[REDACTED]"
    assert first.to_dict()["status"] == 201 and "RecordedRequest(method='POST'" in repr(first)
    sb.clear_requests()
    assert sb.requests() == []


def test_reset_balance_and_state(sb: Sandbox) -> None:
    sb.set_balance("1.50")
    assert sb.balance() == Decimal("1.50")
    with sb.client() as client:
        assert client.account().balance == Decimal("1.50")
        sb.set_balance(0)
        with pytest.raises(nexotp.InsufficientBalanceError):
            client.create_order("svc_telegram", "cty_us")
    assert sb.state()["balance"] == "0.00"
    sb.reset()
    assert sb.balance() == Decimal("25.00")
    assert sb.requests() == [] and sb.order_ids() == []


def test_faults_by_keyword_by_dict_and_for_a_block(sb: Sandbox) -> None:
    with sb.client(max_retries=0) as client:
        sb.set_faults(error_rate=1.0)
        with pytest.raises(nexotp.ServerError):
            client.countries()
        assert sb.faults()["error_rate"] == 1.0
        sb.set_faults({"script": [{"match": "GET /account", "fault": "status", "status": 503}]})
        assert sb.faults()["error_rate"] == 0.0  # replaced, not merged
        client.countries()
        with pytest.raises(nexotp.ServerError):
            client.account()
        client.account()  # the scripted fault was consumed
        with sb.faulted(error_rate=1.0):
            with pytest.raises(nexotp.ServerError):
                client.account()
        client.account()  # back to the faults before the block
        sb.set_faults()
        assert sb.faults()["script"] == []
        assert sb.stats()["faults"] == {"status": 3}
        with pytest.raises(nexotp.InvalidArgumentError):
            sb.set_faults(error_rate=2)
        with pytest.raises(nexotp.InvalidArgumentError):
            sb.set_faults(script=[{"fault": "no_such_fault"}])


def test_rate_limits(sb: Sandbox) -> None:
    assert sb.rate_limit("POLL") is None
    sb.set_rate_limit("POLL", 0.01, burst=1, retry_after="0")
    assert sb.rate_limit("poll") == {"per_second": 0.01, "burst": 1, "retry_after": "0"}
    with sb.client(max_retries=0) as client:
        order = client.create_order("svc_telegram", "cty_us")
        client.get_order(order.id)
        with pytest.raises(nexotp.RateLimitError):
            client.get_order(order.id)
    sb.set_rate_limit("POLL", None)
    assert sb.rate_limit("POLL") is None
    with pytest.raises(nexotp.InvalidArgumentError):
        sb.set_rate_limit("NOPE", 1)
    with pytest.raises(nexotp.InvalidArgumentError):
        sb.set_rate_limit("POLL", -1)


def test_start_options_and_reset_goes_back_to_them() -> None:
    with Sandbox(
        api_key="sk_test_mine", seed=7, balance="3.00", rate_limits={"ORDER": {"per_second": 0.01, "burst": 1}},
        faults={"latency_ms": 1},
    ) as sb:
        assert sb.api_key == "sk_test_mine" and sb.seed == 7
        assert sb.rate_limit("ORDER") == {"per_second": 0.01, "burst": 1}
        sb.set_faults()
        sb.set_rate_limit("ORDER", None)
        sb.reset()
        assert sb.faults()["latency_ms"] == 1 and sb.rate_limit("ORDER") is not None
        with sb.client() as client:
            assert client.account().balance == Decimal("3.00")
        with sb.client(api_key="sk_wrong") as bad:
            with pytest.raises(nexotp.AuthenticationError):
                bad.account()
    with pytest.raises(nexotp.InvalidArgumentError):
        Sandbox(faults={"drop_rate": 5}).start()
    with pytest.raises(nexotp.InvalidArgumentError):
        Sandbox(rate_limits={"NOPE": 1}).start()


def test_control_errors_and_close(sb: Sandbox) -> None:
    with pytest.raises(nexotp.NexOTPError, match="order 999 not found"):
        sb.force_code(999, "1")
    with pytest.raises(nexotp.InvalidArgumentError):
        sb.expire(None)  # type: ignore[arg-type]
    local = Sandbox()
    assert repr(local) == "Sandbox(<not started>)" and not local.closed
    with pytest.raises(RuntimeError, match="not started"):
        local.reset()
    local.start()
    with pytest.raises(RuntimeError, match="already started"):
        local.start()
    url = local.base_url
    local.close()
    local.close()  # idempotent
    assert local.closed and "closed" in repr(local)
    with pytest.raises(nexotp.NexOTPError, match="closed"):
        local.reset()
    with nexotp.Client(api_key="k", base_url=url, max_retries=0, connect_timeout=2) as client:
        with pytest.raises(nexotp.APIConnectionError):
            client.account()  # nothing listens there any more


class _Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("content-length", "0"))
        _Receiver.bodies.append(self.rfile.read(length))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def test_webhook_deliveries(sb: Sandbox) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with sb.client() as client:
            hook = client.create_webhook(f"http://127.0.0.1:{server.server_address[1]}/hook", ["order.created"])
            order = client.create_order("svc_telegram", "cty_us")
            deadline = 200
            while deadline and not any(d.state == "delivered" for d in sb.deliveries()):
                deadline -= 1
                threading.Event().wait(0.02)
        deliveries = sb.deliveries()
        assert len(deliveries) == 1 and isinstance(deliveries[0], WebhookDelivery)
        d = deliveries[0]
        assert (d.event_type, d.order_id, d.webhook_id, d.state, d.last_status) == (
            "order.created", int(order.id), int(hook.id), "delivered", 200,
        )
        assert d.signature and nexotp.verify_webhook(d.payload, d.signature, hook.secret or "").type == "order.created"
        again = sb.replay_delivery(d.id)
        assert again.replay_of == d.id and again.to_dict()["event_type"] == "order.created"
    finally:
        server.shutdown()


async def test_async_context_manager_and_client() -> None:
    async with Sandbox(code_delay=0.05) as sb:
        async with sb.async_client() as client:
            order = await client.create_order("svc_telegram", "cty_us")
            assert (await client.wait_for_code(order.id, timeout=10)).code
        assert [r.method for r in sb.requests()][:1] == ["POST"]
    assert sb.closed


async def test_starting_does_not_block_the_event_loop() -> None:
    # Another task runs while sandboxes start: start_async goes through the asyncio bridge.
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.ensure_future(tick())
    try:
        sandboxes = await asyncio.gather(*(Sandbox().start_async() for _ in range(5)))
        assert len({s.base_url for s in sandboxes}) == 5
        for s in sandboxes:
            await s.aclose()
    finally:
        ticker.cancel()
    assert ticks > 0


def test_a_sandbox_left_open_does_not_hang_exit_and_a_forked_child_refuses_it() -> None:
    result = run_script(
        "import os, nexotp\n"
        "from nexotp.testing import Sandbox\n"
        "sb = Sandbox().start()\n"
        "nexotp.Client(api_key=sb.api_key, base_url=sb.base_url).account()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    try:\n"
        "        sb.reset()\n"
        "        os._exit(3)\n"
        "    except nexotp.NexOTPError as e:\n"
        "        os._exit(0 if 'another process' in str(e) else 4)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print('child', os.waitstatus_to_exitcode(status))\n"
        "sb.reset()\n"
        "print('ok')\n",
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["child", "0", "ok"]


def test_the_pytest_plugin_as_a_user_uses_it(tmp_path: Path) -> None:
    # A project of its own: the example test file, no conftest, no nexotp-sandbox binary on
    # PATH (nor NEXOTP_SANDBOX_BIN); only the installed package (and pytest, pytest-asyncio).
    (tmp_path / "test_example.py").write_text(EXAMPLE.read_text())
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXOTP_")}
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(
        [bin_dir] + [p for p in env.get("PATH", "").split(os.pathsep) if p and not (Path(p) / "nexotp-sandbox").exists()]
    )
    assert shutil.which("nexotp-sandbox", path=env["PATH"]) is None
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_example.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 passed" in result.stdout, result.stdout


def test_the_plugin_loads_no_native_code_and_registers_its_marker(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(
        "import sys\n"
        "def test_plain():\n"
        "    assert 'nexotp._native' not in sys.modules and '_nexotp_pytest' in sys.modules\n"
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--markers"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert "@pytest.mark.nexotp_faults" in result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_plain.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _flow(client: nexotp.Client) -> dict[str, Any]:
    """Account, catalogue, price, webhook, an order, its code, a resend, a cancel, transactions."""
    out: dict[str, Any] = {"balance_before": client.account().balance}
    out["services"] = [s.id for s in client.services("cty_us")]
    out["price"] = client.price("svc_telegram", "cty_us").price
    hook = client.create_webhook("http://127.0.0.1:9/hook", ["order.code_received"])
    order = client.create_order("svc_telegram", "cty_us")
    received = client.wait_for_code(order.id, timeout=10, poll_interval=0.05)
    resent = client.resend_order(order.id)
    cancelled = client.cancel_order(client.create_order("svc_telegram", "cty_gb").id)
    out.update(
        order_id=order.id, phone=order.phone, code=received.code, resent=resent.status,
        cancelled=cancelled.status, webhooks=[w.id for w in client.webhooks()],
        deleted=client.delete_webhook(hook.id).deleted, hook_secret=hook.secret,
        balance_after=client.account().balance,
        transactions=[(t.type, t.amount) for t in client.transactions().items],
    )
    return out


def test_record_then_replay_gives_the_same_flow_without_the_secrets(tmp_path: Path) -> None:
    key = "sk_live_kit_secret_0123456789"
    traffic = tmp_path / "traffic.json"
    with Sandbox(api_key=key, code_delay=0.1) as upstream:
        with nexotp.testing.record(upstream.base_url, traffic) as rec:
            assert rec.base_url.startswith("http://127.0.0.1:") and rec.out_path == str(traffic)
            with rec.client(key) as client:
                recorded = _flow(client)
            assert rec.exchanges() == len(upstream.requests()) > 10
            assert rec.traffic()["exchanges"]
        assert rec.closed
    text = traffic.read_text()
    assert key not in text
    assert recorded["hook_secret"] and recorded["hook_secret"] not in text
    assert recorded["phone"] and recorded["phone"].lstrip("+") not in text

    with nexotp.testing.replay(traffic) as rp:
        with rp.client() as client:
            replayed = _flow(client)
        assert rp.served() >= len(json.loads(text)["exchanges"]) - 2  # polls may repeat fewer times
        assert rp.unmatched() == []
        # A request that was never recorded: a clear error naming the closest recorded one.
        with rp.client(max_retries=0) as client, pytest.raises(nexotp.NotFoundError) as caught:
            client.create_order("svc_whatsapp", "cty_us")
        assert caught.value.code == "replay_no_match"
        assert "POST" in str(caught.value) and "/order" in str(caught.value)
        assert [r["path"] for r in rp.unmatched()] == ["/wp-json/nexotp/v1/order"]
    assert rp.closed
    differs = {k for k in recorded if recorded[k] != replayed[k]}
    assert differs == {"phone", "hook_secret"}, (recorded, replayed)  # redacted in the file
    assert replayed["phone"].startswith("+999")


def test_record_and_replay_errors(tmp_path: Path) -> None:
    with pytest.raises(nexotp.NexOTPError, match="upstream"):
        nexotp.testing.record("ftp://example.com/", tmp_path / "t.json")
    with pytest.raises(nexotp.NexOTPError, match="cannot read"):
        nexotp.testing.replay(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(nexotp.NexOTPError, match="traffic file"):
        nexotp.testing.replay(tmp_path / "bad.json")


def test_named_scenarios_work_through_the_embedded_sandbox(sb: Sandbox) -> None:
    with sb.client(api_key="sk_test_no_balance") as broke, pytest.raises(nexotp.InsufficientBalanceError):
        broke.create_order("svc_telegram", "cty_us")
    with sb.client() as client:
        order = client.create_order("svc_test_expires", "cty_us")
        with pytest.raises(nexotp.OrderClosedError):
            client.wait_for_code(order.id, timeout=10, poll_interval=0.05)
