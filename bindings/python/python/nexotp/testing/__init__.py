"""``nexotp.testing``: a NexOTP sandbox inside your test process.

::

    from nexotp.testing import Sandbox

    with Sandbox() as sandbox:                  # a loopback port, no binary, no network
        client = sandbox.client()
        order = client.create_order("svc_telegram", "cty_us")
        sandbox.force_code(order.id, "123456")
        assert client.get_order(order.id).code == "123456"

The server is the ``nexotp-sandbox`` library (the same one behind the ``nexotp-sandbox``
binary), compiled into ``nexotp._native`` and run on the package's own I/O threads: it starts in
a few milliseconds and speaks real HTTP, so the client under test is the real one. ``async
with Sandbox()`` starts it without blocking the event loop. The pytest plugin
(``nexotp.testing.pytest_plugin``, registered by ``pip install nexotp``) gives the fixtures
``nexotp_sandbox``, ``nexotp_client``, ``nexotp_async_client`` and the marker
``@pytest.mark.nexotp_faults(...)``.

Faults, rate limits, the request log and webhook deliveries follow the sandbox's documented
forms (``spec/contract.md``, "Sandbox"): e.g. ``set_faults(error_rate=0.2)`` or
``set_faults(script=[{"match": "POST /order", "fault": "drop"}])``.

Real traffic as a fixture: ``record(upstream, out)`` is a proxy in front of the real API that
writes every exchange to ``out`` with the API key, webhook secrets and phone numbers redacted;
``replay(out)`` serves those answers back offline (see ``Replay`` and ``Recording``).
"""

from __future__ import annotations

import json as _json

from .._async import AsyncClient
from .._native import Client

# Not `typing.TYPE_CHECKING`: importing typing would cost every `import nexotp.testing`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import os
    from decimal import Decimal
    from types import TracebackType
    from typing import Any, Mapping, Union

    Money = Union[Decimal, int, str, float]
    RateSpec = Union[float, Mapping[str, Any]]

try:
    from .._native import (
        RecordedRequest,
        RecordServer,
        ReplayServer,
        SandboxOptions,
        SandboxServer,
        WebhookDelivery,
    )
except ImportError as e:  # pragma: no cover - a build without the `sandbox` cargo feature
    raise ImportError("this build of nexotp has no sandbox (built without the `sandbox` feature)") from e

__all__ = ["Sandbox", "RecordedRequest", "WebhookDelivery", "Replay", "Recording", "replay", "record"]


def _faults_json(faults: Mapping[str, Any] | None, extra: Mapping[str, Any]) -> str:
    merged: dict[str, Any] = dict(faults or {})
    merged.update(extra)
    return _json.dumps(merged)


def _rate_limits_json(rate_limits: Mapping[str, RateSpec] | None) -> str | None:
    # A bare number is requests per second; a mapping is the sandbox's own form.
    return None if rate_limits is None else _json.dumps({k: v if isinstance(v, (int, float)) else dict(v) for k, v in rate_limits.items()})


def _client(base_url: str, api_key: str | None, kwargs: dict[str, Any]) -> Client:
    """A ``Client`` for ``base_url``; ``api_key`` unless the caller gives one."""
    kwargs.setdefault("api_key", api_key)
    return Client(base_url=base_url, **kwargs)


def _async_client(base_url: str, api_key: str | None, kwargs: dict[str, Any]) -> AsyncClient:
    """An ``AsyncClient`` for ``base_url``; ``api_key`` unless the caller gives one."""
    kwargs.setdefault("api_key", api_key)
    return AsyncClient(base_url=base_url, **kwargs)


class Sandbox:
    """A NexOTP sandbox running in this process on a loopback port.

    ``with Sandbox() as sb`` / ``async with Sandbox() as sb`` start it and stop it; or call
    ``start()`` (``await start_async()``) and ``close()``. Options (all optional; the sandbox's
    defaults otherwise): ``api_key`` (``"sk_test_sandbox"``), ``seed`` (42), ``code_delay``
    (seconds from order to code, 2.0), ``code_delay_spread`` (0), ``order_ttl`` (seconds,
    1200), ``balance`` (``"25.00"``), ``stock`` (numbers per pool), ``faults`` (a dict in the
    sandbox's faults form), ``rate_limits`` (``{"POLL": 5}`` or ``{"POLL": {"per_second": 5,
    "burst": 10, "retry_after": "0"}}``), ``request_log_limit`` (10000), ``host``
    (``"127.0.0.1"``), ``port`` (0: any free port). ``reset()`` goes back to these."""

    __slots__ = ("_options", "_server")

    def __init__(
        self,
        *,
        api_key: str | None = None,
        seed: int | None = None,
        code_delay: float | None = None,
        code_delay_spread: float | None = None,
        order_ttl: float | None = None,
        balance: Money | None = None,
        stock: int | None = None,
        faults: Mapping[str, Any] | None = None,
        rate_limits: Mapping[str, RateSpec] | None = None,
        request_log_limit: int | None = None,
        host: str | None = None,
        port: int = 0,
    ) -> None:
        # Converted and checked now: a bad option fails here, not at start.
        self._options = SandboxOptions(
            api_key=api_key,
            seed=seed,
            code_delay=code_delay,
            code_delay_spread=code_delay_spread,
            order_ttl=order_ttl,
            balance=balance,
            stock=stock,
            faults=None if faults is None else _faults_json(faults, {}),
            rate_limits=_rate_limits_json(rate_limits),
            request_log_limit=request_log_limit,
            host=host,
            port=port,
        )
        self._server: Any = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Starts the server (a few milliseconds) and returns ``self``."""
        if self._server is not None:
            raise RuntimeError("the sandbox is already started")
        self._server = SandboxServer.start(self._options)
        return self

    async def start_async(self) -> Sandbox:
        """Starts the server without blocking the running event loop; returns ``self``."""
        if self._server is not None:
            raise RuntimeError("the sandbox is already started")
        fut, call = SandboxServer.start_async(self._options)
        try:
            self._server = await fut
        except BaseException:
            call.cancel()
            raise
        return self

    def close(self) -> None:
        """Stops the server and its background tasks. Idempotent."""
        if self._server is not None:
            self._server.close()

    async def aclose(self) -> None:
        """``close()`` for ``async`` code (stopping takes well under a millisecond)."""
        self.close()

    @property
    def closed(self) -> bool:
        """Whether it was closed (``False`` before ``start``)."""
        return self._server is not None and self._server.closed

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Sandbox:
        return await self.start_async()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def _live(self) -> Any:
        if self._server is None:
            raise RuntimeError("the sandbox is not started: use `with Sandbox() as sandbox` or call start()")
        return self._server

    # -- where it is -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API base URL (``http://127.0.0.1:PORT/wp-json/nexotp/v1/``)."""
        return str(self._live.base_url)

    @property
    def root_url(self) -> str:
        """The server's root (``http://127.0.0.1:PORT``); the console is at ``/__sandbox/ui/``."""
        return str(self._live.root_url)

    @property
    def api_key(self) -> str:
        """The API key it accepts."""
        return str(self._live.api_key)

    @property
    def seed(self) -> int:
        """The seed of its catalogue, numbers, codes and random faults."""
        return int(self._live.seed)

    def client(self, **kwargs: Any) -> Client:
        """A ``nexotp.Client`` pointed at this sandbox (other ``Client`` options as keywords)."""
        return _client(self.base_url, self.api_key, kwargs)

    def async_client(self, **kwargs: Any) -> AsyncClient:
        """A ``nexotp.AsyncClient`` pointed at this sandbox."""
        return _async_client(self.base_url, self.api_key, kwargs)

    # -- control -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the start: the seeded world, the faults and limits given at start, an empty
        request log and no deliveries, counters at zero."""
        self._live.reset()

    def set_balance(self, balance: Money) -> None:
        """Sets the wallet balance (an ``adjustment`` transaction)."""
        self._live.set_balance(balance)

    def balance(self) -> Decimal:
        """The wallet balance."""
        return self._live.balance()  # type: ignore[no-any-return]

    def set_faults(self, faults: Mapping[str, Any] | None = None, /, **fields: Any) -> None:
        """Replaces the injected faults: a dict in the sandbox's faults form and/or its fields
        as keywords (``latency_ms``, ``error_rate``, ``drop_rate``, ``malformed_rate``,
        ``script``, ``random``). ``set_faults()`` clears them."""
        self._live.set_faults(_faults_json(faults, fields))

    def clear_faults(self) -> None:
        """No faults any more."""
        self._live.set_faults("{}")

    def faults(self) -> dict[str, Any]:
        """The faults in force (scripted ones as consumed so far)."""
        return _json.loads(self._live.faults())  # type: ignore[no-any-return]

    def faulted(self, faults: Mapping[str, Any] | None = None, /, **fields: Any) -> _Faulted:
        """``with sandbox.faulted(error_rate=0.2): ...``: these faults inside the block, the
        previous ones after it."""
        return _Faulted(self._live, _faults_json(faults, fields))

    def set_rate_limit(
        self,
        bucket: str,
        per_second: float | None,
        *,
        burst: int | None = None,
        retry_after: str | None = None,
    ) -> None:
        """Sets (or with ``None`` removes) the limit of bucket ``"GENERAL"``, ``"ORDER"`` or
        ``"POLL"``; its 429s carry ``retry_after`` verbatim when given."""
        self._live.set_rate_limit(bucket, per_second, burst=burst, retry_after=retry_after)

    def rate_limit(self, bucket: str) -> dict[str, Any] | None:
        """A bucket's limit (``{"per_second": .., "burst": .., "retry_after": ..}``) or ``None``."""
        return _json.loads(self._live.rate_limit(bucket))  # type: ignore[no-any-return]

    def force_code(self, order_id: str | int, code: str) -> None:
        """Delivers ``code`` to an order now (it becomes ``received``)."""
        self._live.force_code(order_id, code)

    def expire(self, order_id: str | int) -> None:
        """Expires an order now (refunded if it never received a code)."""
        self._live.expire(order_id)

    def cancel(self, order_id: str | int) -> None:
        """Cancels a pending order now (refunded), without a key or a rate limit."""
        self._live.cancel(order_id)

    def order_ids(self) -> list[int]:
        """Every order's id, oldest first."""
        return list(self._live.order_ids())

    def requests(self) -> list[RecordedRequest]:
        """The API requests received so far, oldest first (the API key redacted)."""
        return list(self._live.requests())

    def clear_requests(self) -> None:
        """Forgets the request log."""
        self._live.clear_requests()

    def deliveries(self) -> list[WebhookDelivery]:
        """The webhook deliveries so far."""
        return list(self._live.deliveries())

    def replay_delivery(self, delivery_id: int) -> WebhookDelivery:
        """Sends a delivery again (same event, signed afresh) and returns the new one."""
        return self._live.replay_delivery(delivery_id)  # type: ignore[no-any-return]

    def stats(self) -> dict[str, Any]:
        """Counters: requests per bucket, answers per status, drops, 429s, faults, orders."""
        return _json.loads(self._live.stats())  # type: ignore[no-any-return]

    def clear_stats(self) -> None:
        """Sets the counters to zero."""
        self._live.clear_stats()

    def state(self) -> dict[str, Any]:
        """Everything the sandbox holds: balance, orders, webhooks (with secrets), transactions."""
        return _json.loads(self._live.state())  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        if self._server is None:
            return "Sandbox(<not started>)"
        closed = ", closed" if self._server.closed else ""
        return f"Sandbox(base_url={self._server.base_url!r}{closed})"


class _Faulted:
    """What ``Sandbox.faulted`` returns: a context manager (sync and async)."""

    __slots__ = ("_server", "_faults", "_before")

    def __init__(self, server: Any, faults_json: str) -> None:
        self._server = server
        self._faults = faults_json
        self._before = "{}"

    def __enter__(self) -> None:
        self._before = self._server.faults()
        self._server.set_faults(self._faults)

    def __exit__(self, *exc: object) -> None:
        if not self._server.closed:
            self._server.set_faults(self._before)

    async def __aenter__(self) -> None:
        self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__()


class _Server:
    """What ``Replay`` and ``Recording`` share: a native server, closed once, as context managers."""

    __slots__ = ("_native",)

    def __init__(self, native: Any) -> None:
        self._native = native

    @property
    def base_url(self) -> str:
        """The base URL to give a client."""
        return str(self._native.base_url)

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return bool(self._native.closed)

    def close(self) -> None:
        """Stops it. Idempotent."""
        self._native.close()

    async def aclose(self) -> None:
        """``close()`` for ``async`` code."""
        self.close()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class Replay(_Server):
    """A recorded session served back offline (from ``replay(path)``): a request is answered
    by the recorded one with the same method, path, query and body (repeats in recorded
    order, then the last again); one that matches nothing gets a 404 ``replay_no_match`` error
    naming the closest recorded request. Any API key is accepted."""

    __slots__ = ()

    def __enter__(self) -> Replay:
        return self

    async def __aenter__(self) -> Replay:
        return self

    @property
    def api_key(self) -> str:
        """A key for the client (``"sk_test_replay"``; any key is accepted)."""
        return str(self._native.api_key)

    def client(self, **kwargs: Any) -> Client:
        """A ``nexotp.Client`` pointed at the replay."""
        return _client(self.base_url, self.api_key, kwargs)

    def async_client(self, **kwargs: Any) -> AsyncClient:
        """A ``nexotp.AsyncClient`` pointed at the replay."""
        return _async_client(self.base_url, self.api_key, kwargs)

    def served(self) -> int:
        """How many requests were answered from the recording."""
        return int(self._native.served())

    def unused(self) -> int:
        """How many recorded exchanges were never served."""
        return int(self._native.unused())

    def unmatched(self) -> list[dict[str, Any]]:
        """The requests that matched nothing (``method``, ``path``, ``query``, ``headers``,
        ``body``), oldest first."""
        return _json.loads(self._native.unmatched())  # type: ignore[no-any-return]

    def rewind(self) -> None:
        """Starts again from the first recorded answer of every request."""
        self._native.rewind()

    def __repr__(self) -> str:
        return f"Replay(base_url={self.base_url!r}{', closed' if self.closed else ''})"


class Recording(_Server):
    """A record proxy (from ``record(upstream, out)``): point a client at ``base_url`` with
    the real API key; every exchange is forwarded and written to ``out_path``, redacted.
    ``close()`` writes the file one last time."""

    __slots__ = ()

    def __enter__(self) -> Recording:
        return self

    async def __aenter__(self) -> Recording:
        return self

    @property
    def out_path(self) -> str:
        """The traffic file it writes."""
        return str(self._native.out_path)

    def client(self, api_key: str | None = None, **kwargs: Any) -> Client:
        """A ``nexotp.Client`` pointed at the proxy (``api_key``: the real one, else
        ``NEXOTP_API_KEY``)."""
        return _client(self.base_url, api_key, kwargs)

    def async_client(self, api_key: str | None = None, **kwargs: Any) -> AsyncClient:
        """A ``nexotp.AsyncClient`` pointed at the proxy."""
        return _async_client(self.base_url, api_key, kwargs)

    def exchanges(self) -> int:
        """How many exchanges were recorded so far."""
        return int(self._native.exchanges())

    def traffic(self) -> dict[str, Any]:
        """The recording so far, redacted (the traffic file's content)."""
        return _json.loads(self._native.traffic())  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"Recording(base_url={self.base_url!r}, out_path={self.out_path!r}{', closed' if self.closed else ''})"


def replay(path: str | os.PathLike[str], *, host: str | None = None, port: int = 0) -> Replay:
    """Serves the traffic file at ``path`` (written by ``record``) on a loopback port."""
    return Replay(ReplayServer.start(path=path, host=host, port=port))


def record(
    upstream: str,
    out: str | os.PathLike[str],
    *,
    host: str | None = None,
    port: int = 0,
    timeout: float | None = None,
    ca_certificate_pem: str | None = None,
) -> Recording:
    """Starts a proxy in front of ``upstream`` (the real API's base URL, ``https://...``;
    ``http://`` only on loopback) that writes every exchange to ``out``, with the API key,
    webhook secrets and phone numbers (consistently) redacted."""
    return Recording(
        RecordServer.start(
            upstream, out, host=host, port=port, timeout=timeout, ca_certificate_pem=ca_certificate_pem
        )
    )
