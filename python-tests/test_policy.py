"""One policy, in the core: Python asks the core rather than repeating its rules."""

from __future__ import annotations

import pytest

import nexotp
from nexotp import OrderStatus
from conftest import run_script


@pytest.mark.parametrize(
    "value,expected,known,closed",
    [
        ("pending", "pending", True, False),
        (" Received ", "received", True, False),
        ("CANCELED", "cancelled", True, True),
        ("expired", "expired", True, True),
        ("completed", "completed", True, True),
        ("on_hold", "on_hold", False, False),
        # Rust's trim, not Python's strip: U+001C is no space to the core, so this status is
        # unknown to wait_for_code and must be unknown here too.
        ("\x1cpending", "\x1cpending", False, False),
    ],
)
def test_order_status_is_read_by_the_core(value: str, expected: str, known: bool, closed: bool) -> None:
    status = OrderStatus(value)
    assert (status.value, status.known, status.is_closed) == (expected, known, closed)


def test_a_blank_base_url_in_the_environment_means_production() -> None:
    out = run_script(
        "import nexotp; print(nexotp.Client('sk_test_x').base_url)",
        env={"NEXOTP_BASE_URL": "   "},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "https://visualtrinitystudio.xyz/wp-json/nexotp/v1/"


def test_create_order_without_pricing_option_sends_none(client: nexotp.Client, sandbox) -> None:  # type: ignore[no-untyped-def]
    client.create_order("svc_telegram", "cty_us")
    client.create_order("svc_telegram", "cty_us", pricing_option=None)
    bodies = [r["body"] for r in sandbox.api_requests("POST", "/order")]
    assert len(bodies) == 2 and all("pricing_option" not in b for b in bodies)


def test_test_hooks_are_compiled_only_with_the_test_feature() -> None:
    """`_debug_*` (Python) and `_debugPanic*` (Node) exist only under the `test-hooks` cargo
    feature, which the test scripts turn on and a published build does not."""
    from conftest import ROOT

    py_src = ROOT / "bindings" / "python" / "src"
    lib = (py_src / "lib.rs").read_text()
    assert '#[cfg(feature = "test-hooks")]\nmod test_hooks;' in lib
    for path in py_src.glob("*.rs"):
        if path.name != "test_hooks.rs":
            assert "fn _debug_" not in path.read_text(), path
    node_lib = (ROOT / "bindings" / "node" / "src" / "lib.rs").read_text()
    for hook in ('js_name = "_debugPanic"', 'js_name = "_debugPanicSync"'):
        before = node_lib[: node_lib.index(hook)]
        assert before.rstrip().endswith('#[cfg(feature = "test-hooks")]\n#[napi(') or before.endswith(
            '#[cfg(feature = "test-hooks")]\n#[napi('
        ), hook
    for script, flag in (("test-python", "--features test-hooks"), ("test-node", "npm run build:test")):
        assert flag in (ROOT / "scripts" / script).read_text()
