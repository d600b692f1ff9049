"""Fixtures of the console's browser tests: a real ``nexotp-sandbox`` process, the built
``nexotp`` Python package, and Debian's Chromium driven through its chromedriver by Selenium.

Nothing here downloads a browser or a driver: both come from ``/usr/bin`` (``CHROMIUM_BIN`` and
``CHROMEDRIVER_BIN`` override), and Selenium is handed the driver's path, so its own
driver manager never runs. ``scripts/test-console`` installs them when they are missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

import nexotp

ROOT = Path(__file__).resolve().parent.parent
# Long and unusual, so that a leak cannot hide among other text.
KEY = "sk_test_console_K3y/With+Odd=Chars_7d1e"
ARTIFACTS = Path(os.environ.get("NEXOTP_CONSOLE_ARTIFACTS") or ROOT / "target" / "console")


def _python_suite_helpers() -> Any:
    """python-tests/conftest.py, loaded under another name: its `Sandbox` (spawn, control
    endpoints, stop) serves here too."""
    spec = importlib.util.spec_from_file_location("nexotp_python_tests_conftest", ROOT / "python-tests" / "conftest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_helpers = _python_suite_helpers()
sandbox_binary = _helpers.sandbox_binary


class Sandbox(_helpers.Sandbox):  # type: ignore[misc, name-defined]
    """A running sandbox process with this suite's key, and its console's URL."""

    def __init__(self, *flags: str) -> None:
        super().__init__("--api-key", KEY, *flags)
        self.console = f"{self.root}/__sandbox/ui/"

    def client(self, **kwargs: Any) -> nexotp.Client:
        kwargs.setdefault("base_url", self.url)
        return nexotp.Client(KEY, **kwargs)


@pytest.fixture(scope="session")
def session_sandbox() -> Iterator[Sandbox]:
    # Codes arrive only when a test (or the page) delivers them.
    sb = Sandbox("--code-delay-ms", "600000")
    yield sb
    sb.stop()


@pytest.fixture
def sandbox(session_sandbox: Sandbox) -> Sandbox:
    """The session sandbox, reset to its seeded start."""
    session_sandbox.control("POST", "reset")
    return session_sandbox


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[nexotp.Client]:
    with sandbox.client(max_retries=0) as c:
        yield c


def _binary(env: str, *names: str) -> str:
    found = os.environ.get(env) or next((p for n in names if (p := shutil.which(n))), None)
    if not found:
        raise RuntimeError(f"{names[0]} not found (set {env}); scripts/test-console installs Debian's")
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("CHROMIUM_BIN", "chromium", "chromium-browser")
    profile = tempfile.mkdtemp(prefix="nexotp-console-chromium-")
    for flag in (
        "--headless=new",
        "--no-sandbox",  # the tests run as root
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1440,1100",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=_binary("CHROMEDRIVER_BIN", "chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: WebDriver, sandbox: Sandbox) -> WebDriver:
    """The console of the reset sandbox, loaded afresh and connected."""
    browser.get(sandbox.console)
    live(browser)
    browser.get_log("browser")  # start each test with an empty console log
    return browser


def live(driver: WebDriver) -> None:
    """Waits until the page is connected and has its first state."""
    wait(driver, lambda d: d.find_element("id", "conn").get_attribute("data-state") == "live")
    wait(driver, lambda d: d.find_element("id", "balance").text not in ("", "…"))


def wait(driver: WebDriver, condition: Any, timeout: float = 10) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)
