"""The sandbox console (``/__sandbox/ui/``) in a real browser, against a real sandbox process,
with the real ``nexotp`` Python package doing what a user's code does."""

from __future__ import annotations

import json
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
from selenium.common.exceptions import NoSuchElementException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

import nexotp
from conftest import ARTIFACTS, KEY, Sandbox, live, sandbox_binary, wait


def row(driver: WebDriver, order_id: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f'#orders-body tr[data-key="{order_id}"]')


def row_text(driver: WebDriver, order_id: str) -> str:
    try:
        return row(driver, order_id).text
    except NoSuchElementException:
        return ""


def status_line(driver: WebDriver) -> str:
    return driver.find_element(By.ID, "action-status").text


def console_errors(driver: WebDriver) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def js(driver: WebDriver, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def fill(field: WebElement, text: str) -> None:
    """Replaces a field's value by typing, as a person does (the field keeps the focus)."""
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text if text else Keys.BACKSPACE)


# ---- loading -----------------------------------------------------------------------------------


def test_console_url_is_printed_beside_the_api_url() -> None:
    # stdin closed at once: the sandbox starts, prints both URLs and exits.
    run = subprocess.run([sandbox_binary(), "--port", "0", "--exit-on-stdin-close"], input="",
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    api = run.stdout.splitlines()[0]
    assert api.endswith("/wp-json/nexotp/v1/")
    console = api.replace("/wp-json/nexotp/v1/", "/__sandbox/ui/")
    assert run.stderr.splitlines()[0] == f"console: {console}"


def test_page_loads_without_console_errors_small_and_fast(browser: WebDriver, sandbox: Sandbox) -> None:
    def timing() -> dict[str, float]:
        # Waits for the paint entry: headless Chromium may record it after `load`.
        return dict(wait(browser, lambda d: js(
            d,
            """const nav = performance.getEntriesByType('navigation')[0];
               const fcp = performance.getEntriesByName('first-contentful-paint')[0];
               return fcp && nav.loadEventEnd > 0 ? {fcp: fcp.startTime, load: nav.loadEventEnd} : null;""",
        )))

    # The browser's floor on this machine: the same server's smallest file (its icon).
    floor = []
    for _ in range(5):
        browser.get(sandbox.console + "icon.svg")
        floor.append(timing()["fcp"])
    browser.get("about:blank")
    browser.get_log("browser")
    paints, loads = [], []
    for _ in range(5):
        browser.get(sandbox.console)
        live(browser)
        t = timing()
        paints.append(t["fcp"])
        loads.append(t["load"])
    assert console_errors(browser) == []
    # What the page weighs, as served (no compression is assumed).
    weight = 0
    for name in ("", "console.css", "console.js", "icon.svg"):
        with urllib.request.urlopen(sandbox.console + name, timeout=10) as resp:
            weight += len(resp.read())
    metrics = {
        "page_bytes": weight,
        "first_contentful_paint_ms": {"median": statistics.median(paints), "all": paints},
        "load_event_end_ms": {"median": statistics.median(loads), "all": loads},
        "icon_only_first_contentful_paint_ms": {"median": statistics.median(floor), "all": floor},
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"\nconsole page: {weight} bytes; median of 5 loads on loopback: first contentful paint "
          f"{statistics.median(paints):.0f} ms, load {statistics.median(loads):.0f} ms; the icon alone "
          f"paints at {statistics.median(floor):.0f} ms (this machine's floor)")
    assert weight < 200 * 1024
    # The goal is 100 ms; the bound leaves room for a loaded 2-core CI machine.
    assert statistics.median(paints) < 1000
    # Facts from the stream are in the header.
    assert browser.find_element(By.ID, "api-url").text == sandbox.url
    assert browser.find_element(By.ID, "code-delay").text == "10:00"


# ---- live ----------------------------------------------------------------------------------------


def test_an_order_created_by_the_python_client_appears_without_a_reload(page: WebDriver, client: nexotp.Client) -> None:
    js(page, "document.body.dataset.marker = 'same page'")
    navigations = js(page, "return performance.getEntriesByType('navigation').length")
    order = client.create_order("svc_telegram", "cty_us")
    wait(page, lambda d: order.id in row_text(d, order.id))
    text = row_text(page, order.id)
    assert "svc_telegram" in text and "cty_us" in text and str(order.phone) in text and "pending" in text
    # The timers run: a code in about 10 minutes, an expiry in about 20.
    cells = row(page, order.id).find_elements(By.TAG_NAME, "td")
    assert cells[6].text.startswith(("9:", "10:")), cells[6].text
    assert cells[7].text.startswith(("19:", "20:")), cells[7].text
    # And its request is in the log, with its status, bucket and request id.
    wait(page, lambda d: "/order" in d.find_element(By.ID, "requests-body").text)
    first = page.find_element(By.CSS_SELECTOR, "#requests-body tr")
    assert "POST" in first.text and "201" in first.text and "ORDER" in first.text and "req_" in first.text
    assert js(page, "return document.body.dataset.marker") == "same page"
    assert js(page, "return performance.getEntriesByType('navigation').length") == navigations
    assert console_errors(page) == []


def deliver(page: WebDriver, order_id: str, code: str = "") -> None:
    fill(page.find_element(By.ID, f"code-{order_id}"), code)
    page.find_element(By.CSS_SELECTOR, f'#orders-body tr[data-key="{order_id}"] [data-action="deliver"]').click()


def test_deliver_code_makes_wait_for_code_return_that_code(page: WebDriver, sandbox: Sandbox) -> None:
    with sandbox.client() as client, ThreadPoolExecutor(2) as pool:
        chosen = client.create_order("svc_telegram", "cty_us")
        drawn = client.create_order("svc_google", "cty_gb")
        waiting = pool.submit(client.wait_for_code, chosen.id, timeout=30, poll_interval=0.1)
        waiting_drawn = pool.submit(client.wait_for_code, drawn.id, timeout=30, poll_interval=0.1)
        wait(page, lambda d: chosen.id in row_text(d, chosen.id) and drawn.id in row_text(d, drawn.id))
        time.sleep(0.3)
        assert not waiting.done(), "no code before the button"
        deliver(page, chosen.id, "424242")
        assert waiting.result(timeout=20).code == "424242"
        wait(page, lambda d: "received code 424242" in status_line(d))
        # Empty: a random (seeded) code.
        deliver(page, drawn.id)
        code = waiting_drawn.result(timeout=20).code
        assert code and len(code) == 6 and code.isdigit()
        wait(page, lambda d: code in row_text(d, drawn.id) and "received" in row_text(d, drawn.id))
    assert console_errors(page) == []


def test_a_100_percent_error_rate_set_in_the_page_fails_the_next_call(page: WebDriver, client: nexotp.Client) -> None:
    client.account()
    fill(page.find_element(By.ID, "error-rate"), "100")
    page.find_element(By.CSS_SELECTOR, '#rates-form button[type="submit"]').click()
    wait(page, lambda d: "Error rate 100 %" in d.find_element(By.ID, "faults-now").text)
    with pytest.raises(nexotp.ServerError) as err:
        client.account()
    assert err.value.status == 503
    # The failure is in the page too, marked as an injected fault.
    wait(page, lambda d: "503" in d.find_element(By.CSS_SELECTOR, "#requests-body tr").text)
    assert page.find_element(By.CSS_SELECTOR, "#requests-body tr td:last-child").text == "status"
    page.find_element(By.ID, "clear-faults").click()
    wait(page, lambda d: "No faults" in d.find_element(By.ID, "faults-now").text)
    assert client.account().balance == Decimal("25.00")


# ---- the key ---------------------------------------------------------------------------------------


def read_stream(sandbox: Sandbox, seconds: float) -> str:
    """What the event stream sends in its first `seconds` (the page reads the same)."""
    chunks: list[bytes] = []
    # A quiet stream sends nothing for up to its heartbeat (10 s): a read that outlasts
    # `seconds` ends the sample rather than failing it.
    with urllib.request.urlopen(f"{sandbox.root}/__sandbox/events", timeout=seconds) as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                chunk = resp.read1(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode()


def test_the_api_key_never_reaches_the_page_or_its_stream(page: WebDriver, sandbox: Sandbox, client: nexotp.Client) -> None:
    client.account()
    order = client.create_order("svc_telegram", "cty_us")
    client.get_order(order.id)
    # The key where a careless client might put it: the query, another header, the body.
    quoted = urllib.parse.quote(KEY, safe="")
    for url, body, headers in [
        (f"{sandbox.url}account?api_key={quoted}", None, {"Authorization": f"Bearer {KEY}"}),
        (f"{sandbox.url}order", json.dumps({"service": "svc_telegram", "country": "cty_us", "key": KEY}).encode(),
         {"Content-Type": "application/json"}),
        (f"{sandbox.url}order/{order.id}?token={KEY}", None, {}),
    ]:
        req = urllib.request.Request(url, data=body, headers={"X-NexOTP-API-Key": KEY, **headers})
        try:
            urllib.request.urlopen(req, timeout=10).close()
        except urllib.error.HTTPError:
            pass
    wait(page, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#requests-body tr")) >= 6)
    secrets = [KEY, quoted, urllib.parse.quote_plus(KEY), "K3y/With", "K3y\\/With", "K3y%2FWith"]
    # Open every request's details: headers and both bodies are in the DOM then.
    for button in page.find_elements(By.CSS_SELECTOR, '#requests-body [data-action="request"]'):
        button.click()
        dialog = page.find_element(By.ID, "detail")
        wait(page, lambda d: dialog.is_displayed())
        shown = dialog.text + dialog.get_attribute("innerHTML")
        assert "x-nexotp-api-key" in shown and "[REDACTED]" in shown
        for secret in secrets:
            assert secret not in shown
        page.find_element(By.ID, "detail-close").click()
    html = page.page_source + js(page, "return document.documentElement.outerHTML")
    stream = read_stream(sandbox, 1.5)
    assert "[REDACTED]" in stream and '"method":"POST"' in stream
    for secret in secrets:
        assert secret not in html, f"{secret!r} in the DOM"
        assert secret not in stream, f"{secret!r} in the event stream"
    assert console_errors(page) == []


# ---- actions ---------------------------------------------------------------------------------------


def test_expire_and_cancel_an_order(page: WebDriver, client: nexotp.Client) -> None:
    first = client.create_order("svc_telegram", "cty_us")
    second = client.create_order("svc_telegram", "cty_us")
    wait(page, lambda d: second.id in row_text(d, second.id))
    row(page, first.id).find_element(By.CSS_SELECTOR, '[data-action="expire"]').click()
    wait(page, lambda d: "expired" in row_text(d, first.id))
    assert client.get_order(first.id).status == "expired"
    row(page, second.id).find_element(By.CSS_SELECTOR, '[data-action="cancel"]').click()
    wait(page, lambda d: "cancelled" in row_text(d, second.id))
    assert client.get_order(second.id).status == "cancelled"
    assert "refunded" in status_line(page)
    # Closed orders offer no action; the status is written, not only coloured.
    for oid in (first.id, second.id):
        buttons = row(page, oid).find_elements(By.CSS_SELECTOR, "button")
        assert all(not b.is_enabled() for b in buttons)
    assert client.account().balance == Decimal("25.00")


def test_set_the_balance(page: WebDriver, client: nexotp.Client) -> None:
    field = page.find_element(By.ID, "balance-input")
    field.send_keys("7.50", Keys.ENTER)
    wait(page, lambda d: d.find_element(By.ID, "balance").text == "7.50")
    assert client.account().balance == Decimal("7.50")
    wait(page, lambda d: "adjustment" in d.find_element(By.ID, "ledger-body").text)


def test_rate_limits_and_a_scripted_fault(page: WebDriver, client: nexotp.Client, sandbox: Sandbox) -> None:
    order = client.create_order("svc_telegram", "cty_us")
    fill(page.find_element(By.ID, "limit-POLL"), "0.5")
    fill(page.find_element(By.ID, "burst-POLL"), "1")
    page.find_element(By.CSS_SELECTOR, '#limits-form button[type="submit"]').click()
    wait(page, lambda d: "Rate limit POLL: 0.5/s, burst 1" in d.find_element(By.ID, "faults-now").text)
    assert sandbox.control("GET", "rate")["limits"]["POLL"] == {"per_second": 0.5, "burst": 1}
    # Raw requests: the SDK would wait for the bucket instead of failing.
    poll = urllib.request.Request(f"{sandbox.url}order/{order.id}", headers={"X-NexOTP-API-Key": KEY})
    urllib.request.urlopen(poll, timeout=10).close()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(poll, timeout=10)
    assert refused.value.code == 429 and refused.value.headers["X-RateLimit-Bucket"] == "POLL"
    refused.value.close()
    fill(page.find_element(By.ID, "limit-POLL"), "")
    fill(page.find_element(By.ID, "burst-POLL"), "")
    page.find_element(By.CSS_SELECTOR, '#limits-form button[type="submit"]').click()
    wait(page, lambda d: "No rate limits." in d.find_element(By.ID, "faults-now").text)

    # A scripted fault for the next GET /account only.
    Select(page.find_element(By.ID, "script-method")).select_by_visible_text("GET")
    fill(page.find_element(By.ID, "script-path"), "/account")
    fill(page.find_element(By.ID, "script-status"), "502")
    page.find_element(By.CSS_SELECTOR, '#script-form button[type="submit"]').click()
    wait(page, lambda d: "HTTP 502 for the next request matching GET /account" in d.find_element(By.ID, "faults-now").text)
    client.get_order(order.id)  # another path: not faulted
    with pytest.raises(nexotp.ServerError) as err:
        client.account()
    assert err.value.status == 502
    client.account()  # used up
    wait(page, lambda d: "No faults" in d.find_element(By.ID, "faults-now").text)


class Receiver:
    """A local webhook endpoint keeping what it receives."""

    def __init__(self) -> None:
        got: list[tuple[str, bytes]] = []
        self.got = got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.append((self.headers["X-NexOTP-Signature"], body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_replay_a_webhook_delivery(page: WebDriver, client: nexotp.Client, receiver: Receiver) -> None:
    hook = client.create_webhook(receiver.url, ["order.created"])
    client.create_order("svc_telegram", "cty_us")
    wait(page, lambda d: "delivered" in d.find_element(By.ID, "deliveries-body").text)
    assert len(receiver.got) == 1
    page.find_element(By.CSS_SELECTOR, '#deliveries-body [data-action="delivery"]').click()
    dialog = page.find_element(By.ID, "detail")
    wait(page, lambda d: dialog.is_displayed())
    assert f"X-NexOTP-Signature: {receiver.got[0][0]}" in dialog.text
    assert '"type": "order.created"' in dialog.text
    page.find_element(By.ID, "detail-close").click()
    page.find_element(By.CSS_SELECTOR, '#deliveries-body [data-action="replay"]').click()
    wait(page, lambda d: "2 (replay of 1)" in d.find_element(By.ID, "deliveries-body").text)
    wait(page, lambda d: len(receiver.got) == 2)
    signature, body = receiver.got[1]
    assert body == receiver.got[0][1]
    assert hook.secret is not None
    event = nexotp.verify_webhook(body, signature, hook.secret)
    assert event.type == "order.created"


def test_reset_everything(page: WebDriver, client: nexotp.Client) -> None:
    order = client.create_order("svc_telegram", "cty_us")
    wait(page, lambda d: order.id in row_text(d, order.id))
    page.find_element(By.ID, "reset").click()
    wait(page, lambda d: d.find_element(By.ID, "orders-empty").is_displayed())
    wait(page, lambda d: d.find_element(By.ID, "requests-empty").is_displayed())
    assert page.find_element(By.ID, "balance").text == "25.00"
    assert client.account().balance == Decimal("25.00")
    assert "seeded start" in status_line(page)


# ---- people ------------------------------------------------------------------------------------------


def test_keyboard_labels_and_text_statuses(page: WebDriver, client: nexotp.Client) -> None:
    order = client.create_order("svc_telegram", "cty_us")
    wait(page, lambda d: order.id in row_text(d, order.id))
    wait(page, lambda d: d.find_elements(By.CSS_SELECTOR, '#requests-body [data-action="request"]'))
    # Every control has a name a screen reader can say.
    unnamed = js(
        page,
        """return [...document.querySelectorAll('input, select, button, textarea')].filter(e => {
             if (e.closest('[hidden]')) return false;
             const label = e.id && document.querySelector(`label[for="${e.id}"]`);
             return !((label && label.textContent.trim()) || e.getAttribute('aria-label') || e.textContent.trim());
           }).map(e => e.outerHTML);""",
    )
    assert unnamed == []
    # Statuses are words, not only colours.
    for badge in page.find_elements(By.CSS_SELECTOR, ".badge"):
        assert badge.text.strip()
    # Tab order follows the page: the skip link, then reset, ..., the order's code field, its buttons.
    js(page, "document.activeElement.blur(); window.scrollTo(0, 0)")
    seen: list[str] = []
    for _ in range(40):
        ActionChains(page).send_keys(Keys.TAB).perform()
        active = page.switch_to.active_element
        seen.append(active.get_attribute("id") or active.get_attribute("aria-label") or active.text)
        if seen[-1] == f"Cancel order {order.id}":
            break
    for wanted in ["reset", f"code-{order.id}", f"Deliver code to order {order.id}", f"Expire order {order.id}"]:
        assert wanted in seen, seen
    assert seen.index("reset") < seen.index(f"code-{order.id}") < seen.index(f"Cancel order {order.id}")
    # Deliver by keyboard alone: type a code, press Enter.
    field = page.find_element(By.ID, f"code-{order.id}")
    field.send_keys("777000", Keys.ENTER)
    wait(page, lambda d: "777000" in row_text(d, order.id))
    # A request's details open from the keyboard and close with Escape, focus back on the button.
    button = page.find_element(By.CSS_SELECTOR, '#requests-body [data-action="request"]')
    button.send_keys(Keys.ENTER)
    dialog = page.find_element(By.ID, "detail")
    wait(page, lambda d: dialog.is_displayed())
    assert page.switch_to.active_element.get_attribute("id") == "detail-close"
    page.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait(page, lambda d: not dialog.is_displayed())
    wait(page, lambda d: d.switch_to.active_element == button)


def test_light_and_dark_follow_the_system(page: WebDriver) -> None:
    def background() -> str:
        return str(js(page, "return getComputedStyle(document.body).backgroundColor"))

    page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]})
    light = background()
    page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    dark = background()
    page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    assert light == "rgb(246, 247, 249)"
    assert dark == "rgb(13, 17, 23)"


def test_screenshot_with_a_few_orders(page: WebDriver, sandbox: Sandbox, receiver: Receiver) -> None:
    """Saves the README's picture: a few orders in different states, their requests, a delivery."""
    with sandbox.client() as client:
        client.create_webhook(receiver.url, ["order.created", "order.code_received"])
        orders = [
            client.create_order("svc_telegram", "cty_us"),
            client.create_order("svc_whatsapp", "cty_gb"),
            client.create_order("svc_google", "cty_de"),
            client.create_order("svc_discord", "cty_in"),
            client.create_order("svc_amazon", "cty_br"),
        ]
        sandbox.control("POST", f"orders/{orders[0].id}/code", {"code": "424242"})
        sandbox.control("POST", f"orders/{orders[1].id}/code")
        client.cancel_order(orders[2].id)
        sandbox.control("POST", f"orders/{orders[3].id}/expire")
        client.wait_for_code(orders[0].id, timeout=5, poll_interval=0.1)
        client.get_order(orders[4].id)
        sandbox.control("PATCH", "faults", {"latency_ms": 25})
        sandbox.control("POST", "faults/script", {"match": "POST /order", "fault": "status", "status": 503})
    wait(page, lambda d: all(o.id in row_text(d, o.id) for o in orders))
    wait(page, lambda d: "delivered" in d.find_element(By.ID, "deliveries-body").text)
    time.sleep(1.5)  # new rows' highlight fades
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "console.png"
    size = page.get_window_size()
    try:
        page.set_window_size(1440, 1700)  # orders, requests, wallet and webhooks in one picture
        assert page.save_screenshot(str(path))
    finally:
        page.set_window_size(size["width"], size["height"])
    print(f"\nscreenshot: {path}")
    assert path.stat().st_size > 10_000
    assert console_errors(page) == []
