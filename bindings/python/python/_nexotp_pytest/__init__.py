"""The ``nexotp`` pytest plugin (``nexotp.testing`` for pytest), registered by the ``pytest11``
entry point of the package: any project that ran ``pip install nexotp`` gets these without
configuration.

Fixtures:

- ``nexotp_sandbox``: a ``nexotp.testing.Sandbox`` started once per test session (in-process,
  on a loopback port) and ``reset()`` before every test that uses it;
- ``nexotp_client`` / ``nexotp_async_client``: a ``nexotp.Client`` / ``nexotp.AsyncClient``
  pointed at it, closed after the test;
- ``nexotp_sandbox_options``: the ``Sandbox(...)`` keywords of the session's sandbox (``{}``);
  override it in your ``conftest.py`` (session scope), e.g. ``{"code_delay": 0.1}``.

Marker: ``@pytest.mark.nexotp_faults(error_rate=0.2, ...)`` (or a dict in the sandbox's faults
form as its argument) injects those faults for that one test.

Why a top-level package of its own (``_nexotp_pytest``) rather than ``nexotp.testing``: pytest
loads every installed plugin in every run, and importing anything under ``nexotp`` loads the
native module. This one imports only ``pytest``; ``nexotp.testing`` is imported, and the
sandbox started, by the first test that asks for one of these fixtures.
"""

from __future__ import annotations

import pytest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

    from nexotp import AsyncClient, Client
    from nexotp.testing import Sandbox

_MARKER = "nexotp_faults"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(faults=None, **fields): inject these sandbox faults (e.g. error_rate=0.2) "
        "for this test (nexotp_sandbox, nexotp_client and nexotp_async_client)",
    )


@pytest.fixture(scope="session")
def nexotp_sandbox_options() -> dict[str, Any]:
    """Keywords for the session's ``Sandbox(...)``; override to change them."""
    return {}


@pytest.fixture(scope="session")
def _nexotp_session_sandbox(nexotp_sandbox_options: dict[str, Any]) -> Iterator[Sandbox]:
    from nexotp.testing import Sandbox

    with Sandbox(**nexotp_sandbox_options) as sandbox:
        yield sandbox


@pytest.fixture
def nexotp_sandbox(request: pytest.FixtureRequest, _nexotp_session_sandbox: Sandbox) -> Iterator[Sandbox]:
    """The session's sandbox, reset before this test (with the marker's faults, if any)."""
    sandbox = _nexotp_session_sandbox
    sandbox.reset()
    marker = request.node.get_closest_marker(_MARKER)
    if marker is not None:
        if len(marker.args) > 1:
            raise pytest.UsageError(f"@pytest.mark.{_MARKER} takes at most one positional argument (a dict)")
        sandbox.set_faults(*marker.args, **marker.kwargs)
    yield sandbox
    if marker is not None:
        sandbox.reset()


@pytest.fixture
def nexotp_client(nexotp_sandbox: Sandbox) -> Iterator[Client]:
    """A ``nexotp.Client`` pointed at ``nexotp_sandbox``."""
    with nexotp_sandbox.client() as client:
        yield client


@pytest.fixture
def nexotp_async_client(nexotp_sandbox: Sandbox) -> Iterator[AsyncClient]:
    """A ``nexotp.AsyncClient`` pointed at ``nexotp_sandbox`` (usable by any async test
    runner: the fixture itself needs no event loop)."""
    client = nexotp_sandbox.async_client()
    try:
        yield client
    finally:
        # What `await client.close()` does, without needing an event loop.
        client._core.close()  # pyright: ignore[reportPrivateUsage]
