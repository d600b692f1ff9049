"""``AsyncClient``: the asyncio twin of ``Client``.

Each method starts the call in the native core (which runs it on the process's tokio runtime)
and awaits an ``asyncio.Future`` that the core resolves on this event loop.

Cancellation. If the awaiting task is cancelled, the call is aborted in the core (the core's
abort signal, as Node's ``AbortSignal``): it stops at once wherever it is (a paused rate bucket,
a backoff, the request in flight) and nothing more is sent. The task still ends cancelled
(``CancelledError``, so ``TaskGroup``, ``wait_for`` and ``timeout`` work as always), but when
the call was a ``create_order``, ``resend_order`` or ``create_webhook`` whose request had
already been sent, the server may have applied it: the ``CancelledError`` then carries the
core's ``OrderOutcomeUnknownError`` as its ``__cause__`` (pass it to ``reconcile``), and the
same is logged once as a WARNING on the ``nexotp`` logger (the error's message: the operation
and what was sent, never the API key), because a ``TaskGroup`` or ``wait_for`` that swallows the
cancellation would otherwise hide it. Cancelled before anything was sent: a plain
``CancelledError``. A call whose answer arrived in the very loop iteration its task was
cancelled in ends as any cancelled await does: its result is dropped (its error, if that was an
unknown outcome, is carried as above). A coroutine closed without being cancelled (the garbage
collector closing an abandoned task) only aborts its call.
"""

from __future__ import annotations

from . import _native

# Not `typing.TYPE_CHECKING`: importing typing would double the cost of `import nexotp`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import os
    from decimal import Decimal
    from types import TracebackType
    from typing import Any, Iterable, Literal, Mapping, Union

    from ._native import (
        Account,
        Country,
        Order,
        Price,
        Reconciliation,
        Service,
        Transaction,
        TransactionPage,
        WatchEvent,
        Webhook,
        WebhookDeleted,
        WebhookEvent,
    )
    from .errors import OrderOutcomeUnknownError

    Money = Union[Decimal, int, str, float]

__all__ = ["AsyncClient", "AsyncTransactionIterator", "AsyncWatcher"]


async def _await(started: tuple[Any, Any]) -> Any:
    """Awaits a started native call. If the awaiting task is cancelled, ends the call through
    its own handle (which belongs to the bridge that started it) and re-raises the
    ``CancelledError``, carrying the core's ``OrderOutcomeUnknownError`` as ``__cause__`` when
    the call may have taken effect. Closed otherwise (by the garbage collector, with or without
    a running loop): only aborts the call."""
    fut, call = started
    try:
        return await fut
    except GeneratorExit:  # closed, maybe at interpreter exit: nothing may be imported now
        call.cancel()
        raise
    except BaseException as exc:
        # Imported here, not at the top: `import nexotp` does not import asyncio.
        from asyncio import CancelledError

        if not isinstance(exc, CancelledError):
            call.cancel()
            raise
        unknown = await _end_cancelled(fut, call)
        if unknown is not None:
            _log_unknown(unknown)
            raise exc from unknown
        raise


async def _end_cancelled(fut: Any, call: Any) -> OrderOutcomeUnknownError | None:
    """After the awaiting task was cancelled: aborts the call the core's way and returns the
    core's ``OrderOutcomeUnknownError`` if that is how the call ended, else ``None``."""
    from asyncio import CancelledError

    from .errors import OrderOutcomeUnknownError

    if fut.done() and not fut.cancelled():
        # It ended in the same loop iteration as the cancellation: its end is known.
        err = fut.exception()
    else:
        settled = call.abort()  # a future for the call's own end, or None if it has ended
        if settled is None:
            return None
        try:
            await settled  # prompt: the core ends an aborted call at once
            return None
        except CancelledError:  # cancelled again while ending: stop at once
            call.cancel()
            return None
        except BaseException as e:  # noqa: BLE001 - the call's own end, inspected below
            err = e
    return err if isinstance(err, OrderOutcomeUnknownError) else None


def _log_unknown(err: OrderOutcomeUnknownError) -> None:
    """Logs an unknown outcome carried by a cancellation (or, from the sync client, a Ctrl-C),
    once (its message says what was sent; never the key)."""
    import logging

    logging.getLogger("nexotp").warning(
        "a call was cancelled or interrupted after its request was sent (the __cause__ of its "
        "CancelledError or KeyboardInterrupt is this OrderOutcomeUnknownError; reconcile it): %s",
        err.message,
    )


class AsyncClient:
    """A NexOTP API client for asyncio. Methods are coroutines; use ``async with`` or
    ``await client.close()``. Configuration as for ``Client`` (``NEXOTP_API_KEY``,
    ``NEXOTP_BASE_URL``). ``None`` for ``timeout`` (30 s), ``connect_timeout`` (10 s),
    ``max_retries`` (2) or ``deadline`` (none: seconds for a whole call, every attempt and wait
    included) means the core's default. Network: ``proxy`` (``http://user:pass@host:port``),
    ``ca_certificates`` (PEM text, a PEM file's path, or PEM bytes), ``tls_roots``
    (``"bundled"``, ``"system"``, ``"both"``), ``http2`` (default True), ``max_connections``
    (default 32), ``pool_idle_timeout`` (seconds, default 60), ``max_idle_connections``.
    Rate limits: ``rate_limit_store`` (``"redis://host:6379/0"`` shares the buckets with every
    process using the key; default ``NEXOTP_RATE_LIMIT_STORE``, else in this process) and
    ``rate_limits`` (``"POLL=20/s,burst=1"`` or ``{"POLL": 20, "ORDER": (5, 1)}``).

    Arguments are converted by the same native code as ``Client``'s, so both accept and refuse
    the same values; no default is repeated here.

    Cancelling a task that awaits a method aborts the call in the core; a ``create_order``,
    ``resend_order`` or ``create_webhook`` cancelled after its request was sent raises
    ``CancelledError`` whose ``__cause__`` is the ``OrderOutcomeUnknownError`` to reconcile
    (also logged once as a WARNING on the ``nexotp`` logger)."""

    __slots__ = ("_core",)

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
        proxy: str | None = None,
        ca_certificates: str | bytes | os.PathLike[str] | None = None,
        tls_roots: Literal["bundled", "system", "both"] | None = None,
        http2: bool | None = None,
        max_connections: int | None = None,
        pool_idle_timeout: float | None = None,
        max_idle_connections: int | None = None,
        rate_limit_store: str | None = None,
        rate_limits: str | Mapping[str, float | tuple[float, int]] | None = None,
    ) -> None:
        self._core = _native.AsyncCore(
            api_key,
            base_url,
            timeout,
            connect_timeout,
            max_retries,
            deadline,
            proxy,
            ca_certificates,
            tls_roots,
            http2,
            max_connections,
            pool_idle_timeout,
            max_idle_connections,
            rate_limit_store,
            rate_limits,
        )

    @classmethod
    def _wrap(cls, core: _native.AsyncCore) -> AsyncClient:
        client = cls.__new__(cls)
        client._core = core
        return client

    @property
    def base_url(self) -> str:
        """The base URL in use (ends with ``/``)."""
        return self._core.base_url

    @property
    def timeout(self) -> float:
        """Seconds allowed for one attempt."""
        return self._core.timeout

    @property
    def connect_timeout(self) -> float:
        """Seconds allowed to open a connection."""
        return self._core.connect_timeout

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt."""
        return self._core.max_retries

    @property
    def deadline(self) -> float | None:
        """Seconds allowed for a whole call (every attempt, backoff and 429 wait), or ``None``."""
        return self._core.deadline

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._core.closed

    def with_options(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> AsyncClient:
        """A client with another timeout, retry count or deadline, sharing this one's
        connections and rate buckets."""
        return AsyncClient._wrap(self._core.with_options(timeout, max_retries, deadline))

    async def close(self) -> None:
        """Closes the connection pool; later calls raise ``NexOTPError``."""
        self._core.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._core.close()

    def __repr__(self) -> str:
        return self._core.repr()

    # Each method: start the call and await it (`_await` cancels it in the core if interrupted).
    # `timeout` (seconds per attempt), `max_retries` and `deadline` (seconds for the whole call)
    # are this call's own options, as in `with_options`; `None` keeps the client's.

    async def account(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> Account:
        """``GET /account``."""
        return await _await(self._core.account(
            timeout, max_retries, deadline
        ))  # type: ignore[no-any-return]

    async def transactions(
        self,
        page: int | None = None,
        per_page: int | None = None,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> TransactionPage:
        """``GET /account/transactions``: one page (default the first, 20 per page)."""
        return await _await(self._core.transactions(
            page, per_page, timeout, max_retries, deadline
        ))  # type: ignore[no-any-return]

    def iter_transactions(self, per_page: int | None = None) -> AsyncTransactionIterator:
        """Every transaction, lazily (``async for``), ``per_page`` at a time (default 100).

        The iterator keeps the connection pool of the process that created it: after
        ``os.fork()``, start a new iteration in the child."""
        return AsyncTransactionIterator(self._core.transaction_pager(per_page), self._core)

    async def countries(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> list[Country]:
        """``GET /countries``."""
        return await _await(self._core.countries(
            timeout, max_retries, deadline
        ))  # type: ignore[no-any-return]

    async def services(
        self,
        country: str,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> list[Service]:
        """``GET /services?country=``."""
        return await _await(self._core.services(
            country, timeout, max_retries, deadline
        ))  # type: ignore[no-any-return]

    async def price(
        self,
        service: str,
        country: str,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> Price:
        """``GET /price?service=&country=``."""
        return await _await(self._core.price(
            service, country, timeout, max_retries, deadline
        ))  # type: ignore[no-any-return]

    async def create_order(
        self,
        service: str,
        country: str,
        *,
        pool: str | None = None,
        pricing_option: str | int | None = None,
        max_price: Money | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> Order:
        """``POST /order``. Never sent twice: a failure after sending raises
        ``OrderOutcomeUnknownError``, and a task cancelled after sending raises
        ``CancelledError`` with that error as ``__cause__``. Without ``pricing_option`` none is
        sent (the server's choice, the cheapest pool)."""
        return await _await(self._core.create_order(
            service, country, pool, pricing_option, max_price, timeout, max_retries, deadline
        ))  # type: ignore[no-any-return]

    async def get_order(
        self,
        id: str | int,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> Order:
        """``GET /order/{id}``."""
        return await _await(self._core.get_order(
            id, timeout, max_retries, deadline
        ))  # type: ignore[no-any-return]

    async def cancel_order(
        self,
        id: str | int,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> Order:
        """``POST /order/{id}/cancel``: cancels a pending order and refunds it."""
        return await _await(self._core.cancel_order(
            id, timeout, max_retries, deadline
        ))  # type: ignore[no-any-return]

    async def resend_order(
        self,
        id: str | int,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> Order:
        """``POST /order/{id}/resend``: asks for another code on the same number. Cancelled
        after sending: ``CancelledError`` with ``OrderOutcomeUnknownError`` as ``__cause__``."""
        return await _await(self._core.resend_order(
            id, timeout, max_retries, deadline
        ))  # type: ignore[no-any-return]

    async def wait_for_code(
        self,
        id: str | int,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        cancel_on_timeout: bool | None = None,
        exclude_codes: Iterable[str] | None = None,
        request_timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Order:
        """Polls the order until a new code arrives (returns the order), it closes
        (``OrderClosedError``) or ``timeout`` seconds pass (``WaitTimeoutError``, after
        cancelling the order when ``cancel_on_timeout``). Codes in ``exclude_codes`` do not
        count. ``None`` takes the core's defaults (300 s, poll every 3 s, no cancel).
        Cancelling the task stops polling."""
        return await _await(self._core.wait_for_code(
            id, timeout, poll_interval, cancel_on_timeout, exclude_codes,
            request_timeout, max_retries,
        ))  # type: ignore[no-any-return]

    def watch(self) -> AsyncWatcher:
        """One watcher for many orders (``async for event in watcher``): one event per new code
        and one per order whose watch ends, polled in one loop inside the POLL budget."""
        return AsyncWatcher(self._core.watch(), self._core)

    async def webhooks(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> list[Webhook]:
        """``GET /webhooks``."""
        return await _await(self._core.webhooks(
            timeout, max_retries, deadline
        ))  # type: ignore[no-any-return]

    async def create_webhook(
        self,
        endpoint_url: str,
        events: Iterable[str] | str,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> Webhook:
        """``POST /webhooks``. The returned webhook's ``secret`` is shown this once. Cancelled
        after sending: ``CancelledError`` with ``OrderOutcomeUnknownError`` as ``__cause__``."""
        return await _await(self._core.create_webhook(
            endpoint_url, events, timeout, max_retries, deadline
        ))  # type: ignore[no-any-return]

    async def delete_webhook(
        self,
        id: str | int,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> WebhookDeleted:
        """``DELETE /webhooks/{id}``."""
        return await _await(self._core.delete_webhook(
            id, timeout, max_retries, deadline
        ))  # type: ignore[no-any-return]

    async def reconcile(
        self,
        err: OrderOutcomeUnknownError,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        deadline: float | None = None,
    ) -> Reconciliation:
        """Finds out whether the call behind an ``OrderOutcomeUnknownError`` took effect, from
        the ledger (create_order), the webhooks (create_webhook) or the order (resend_order).
        Anything but an ``OrderOutcomeUnknownError`` raises ``InvalidArgumentError``."""
        return await _await(self._core.reconcile(
            err, timeout, max_retries, deadline
        ))  # type: ignore[no-any-return]


class AsyncTransactionIterator:
    """The lazy async iterator of ``AsyncClient.iter_transactions()``: fetches a page only when
    the previous one is used up. It keeps the connection pool of the process that created it:
    after ``os.fork()``, start a new iteration in the child."""

    __slots__ = ("_pager", "_core")

    def __init__(self, pager: _native.AsyncPager, core: _native.AsyncCore) -> None:
        self._pager = pager
        self._core = core

    def __aiter__(self) -> AsyncTransactionIterator:
        return self

    async def __anext__(self) -> Transaction:
        item: Any = await _await(self._pager.next())
        if item is None:
            raise StopAsyncIteration
        return item  # type: ignore[no-any-return]


class AsyncWatcher:
    """Follows many orders in one polling loop: ``async for event in watcher`` gives one
    ``WatchEvent`` per new code and one per order whose watch ends. ``add``, ``remove``,
    ``feed`` and ``close`` never wait, so other tasks call them while one iterates. It polls
    only while iterated; ``close()`` (or leaving ``async with``) ends the iteration. Options of
    ``add`` are those of ``wait_for_code``, per order: the first poll comes after
    ``poll_interval`` and the interval grows by half after every poll that finds nothing new
    (up to 30 s)."""

    __slots__ = ("_native", "_core")

    def __init__(self, native: _native.Watcher, core: _native.AsyncCore) -> None:
        self._native = native
        self._core = core

    def add(
        self,
        id: str | int,
        *,
        timeout: float | None = None,
        poll_interval: float | None = None,
        cancel_on_timeout: bool | None = None,
        exclude_codes: Iterable[str] | None = None,
    ) -> None:
        """Follows order ``id`` until its first new code, its end, or ``timeout`` seconds
        (then cancelled if ``cancel_on_timeout``). Adding an order already followed restarts
        its watch."""
        self._native.add(
            id,
            timeout=timeout,
            poll_interval=poll_interval,
            cancel_on_timeout=cancel_on_timeout,
            exclude_codes=exclude_codes,
        )

    def remove(self, id: str | int) -> bool:
        """Stops following order ``id`` (no event comes for it); whether it was followed."""
        return self._native.remove(id)

    def feed(self, event: WebhookEvent) -> bool:
        """Feeds a delivery verified with ``verify_webhook``: a new code or the order's end
        becomes its event at once and the order is not polled again."""
        return self._native.feed(event)

    def close(self) -> None:
        """Stops the watcher: nothing more is polled, and iteration ends. Idempotent."""
        self._native.close()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._native.closed

    def __len__(self) -> int:
        return len(self._native)

    def __repr__(self) -> str:
        return "Async" + repr(self._native)

    async def __aenter__(self) -> AsyncWatcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._native.close()

    def __aiter__(self) -> AsyncWatcher:
        return self

    async def __anext__(self) -> WatchEvent:
        # The native task only waits until an event is there; it is taken here, on the loop,
        # so a cancelled await leaves it queued for the next one.
        while True:
            ready: Any = await _await(self._native._ready_async())
            if not ready:
                raise StopAsyncIteration
            event = self._native._take()
            if event is not None:
                return event
