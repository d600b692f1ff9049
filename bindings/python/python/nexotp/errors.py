"""The exceptions raised by nexotp: one class tree, the same names in every nexotp SDK.

::

    NexOTPError
    ├── InvalidArgumentError          bad input, raised before any request (also a ValueError)
    ├── APIError                      the server answered with an error
    │   ├── AuthenticationError       401
    │   ├── PermissionDeniedError     403
    │   ├── NotFoundError             404
    │   ├── InvalidRequestError       400 / 422
    │   ├── InsufficientBalanceError  402 / insufficient_balance
    │   ├── ConflictError             409
    │   ├── RateLimitError            429
    │   └── ServerError               5xx
    ├── APIConnectionError            no usable answer
    │   ├── APITimeoutError
    │   └── OrderOutcomeUnknownError  a create / resend / create webhook failed after it was sent
    ├── UnexpectedResponseError       a body that is not the contract
    ├── WaitTimeoutError              wait_for_code ran out of time
    ├── OrderClosedError              the order ended without a code
    └── WebhookVerificationError

Every exception has ``message``, ``status``, ``code``, ``request_id``, ``retry_after`` (seconds),
``order`` (``None`` where they do not apply) and ``retryable``; subclasses add their own.
Exceptions pickle.
A lower-level cause (a connection reset, say) is chained as ``__cause__``.
"""

from __future__ import annotations

# Not `typing.TYPE_CHECKING`: importing typing would double the cost of `import nexotp`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from decimal import Decimal
    from typing import Any

    from ._enums import OrderStatus
    from ._native import Order

__all__ = [
    "NexOTPError",
    "InvalidArgumentError",
    "APIError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "InvalidRequestError",
    "InsufficientBalanceError",
    "ConflictError",
    "RateLimitError",
    "ServerError",
    "APIConnectionError",
    "APITimeoutError",
    "OrderOutcomeUnknownError",
    "UnexpectedResponseError",
    "WaitTimeoutError",
    "OrderClosedError",
    "WebhookVerificationError",
]


class NexOTPError(Exception):
    """The base class of every nexotp error."""

    message: str
    """What went wrong (never contains the API key or a webhook secret)."""
    status: int | None
    """The HTTP status, when a response came back."""
    code: str | None
    """The API's error code (``"order_not_cancellable"``, ``"rest_forbidden"``, ...)."""
    request_id: str | None
    """The request id of the failed response, for support."""
    retry_after: float | None
    """Seconds the server asked to wait before retrying."""
    order: Order | None
    """The order concerned (``WaitTimeoutError``: last state seen; ``OrderClosedError``: final)."""
    retryable: bool
    """Whether sending the same call again is safe and may succeed (a connection error, a
    timeout, a 408 / 429 / 5xx of a GET, cancel or webhook delete). Always ``False`` for
    ``create_order``, ``resend_order`` and ``create_webhook``: reconcile an
    ``OrderOutcomeUnknownError`` instead of retrying."""

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        order: Order | None = None,
        retryable: bool = False,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        self.order = order
        self.retryable = retryable
        for key, value in details.items():
            setattr(self, key, value)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        parts = [repr(self.message)]
        for key in ("status", "code", "request_id"):
            value = getattr(self, key, None)
            if value is not None:
                parts.append(f"{key}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class InvalidArgumentError(NexOTPError, ValueError):
    """A bad argument, caught before any request was sent. Also a ``ValueError``."""

    argument: str | None
    """The name of the argument."""

    def __init__(self, message: str = "", *, argument: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, argument=argument, **kwargs)


class APIError(NexOTPError):
    """The server answered with an error."""

    details: Any
    """``error.details`` of the envelope (or WordPress's ``data``)."""
    params: dict[str, str]
    """Per-parameter messages of a validation error (param -> message)."""
    body: Any
    """The decoded response body (``None`` when it was not JSON)."""
    bucket: str | None
    """The rate bucket of the call (``"GENERAL"``, ``"ORDER"``, ``"POLL"``), for 429s."""

    def __init__(
        self,
        message: str = "",
        *,
        details: Any = None,
        params: dict[str, str] | None = None,
        body: Any = None,
        bucket: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            message, details=details, params=params or {}, body=body, bucket=bucket, **kwargs
        )


class AuthenticationError(APIError):
    """401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(APIError):
    """403: the key may not do this."""


class NotFoundError(APIError):
    """404: no such order, webhook or route."""


class InvalidRequestError(APIError):
    """400 / 422: the server rejected a parameter (see ``params``)."""


class InsufficientBalanceError(APIError):
    """402 / ``insufficient_balance``: top up the wallet."""


class ConflictError(APIError):
    """409: no numbers available, max price exceeded, order not cancellable, ..."""


class RateLimitError(APIError):
    """429: the rate bucket is exhausted (``retry_after``, ``bucket``)."""


class ServerError(APIError):
    """5xx: the server failed."""


class APIConnectionError(NexOTPError):
    """No usable answer: connect failure, TLS, reset, or a body cut off."""


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class OrderOutcomeUnknownError(APIConnectionError):
    """A non-idempotent call (``create_order``, ``resend_order``, ``create_webhook``) failed
    after it may have reached the server. It was not re-sent (that could pay or register twice)
    and it is never ``retryable``: pass it to ``client.reconcile(err)`` to find out whether it
    took effect. The attributes describe what was sent; they are all ``reconcile`` reads, so a
    pickled (or hand-built) error reconciles as well as the original."""

    operation: str
    """``"create_order"``, ``"resend_order"`` or ``"create_webhook"``."""
    service: str | None
    """The service ordered (create_order)."""
    country: str | None
    """The country ordered (create_order)."""
    pool: str | None
    """The pool asked for (create_order), if one was."""
    max_price: Decimal | None
    """The price limit sent (create_order), if one was."""
    order_id: str | None
    """The order resent (resend_order)."""
    codes_before: list[str]
    """The order's codes before the resend was sent, oldest first (resend_order)."""
    status_before: OrderStatus | None
    """The order's status before the resend was sent (resend_order)."""
    endpoint_url: str | None
    """The endpoint registered (create_webhook)."""
    events: list[str]
    """The events subscribed (create_webhook)."""
    sent_at: float | None
    """When the first attempt was sent (unix seconds, this machine's clock)."""
    failed_at: float | None
    """When the call gave up (unix seconds, this machine's clock)."""

    def __init__(
        self,
        message: str = "",
        *,
        operation: str = "",
        service: str | None = None,
        country: str | None = None,
        pool: str | None = None,
        max_price: Decimal | None = None,
        order_id: str | None = None,
        codes_before: list[str] | None = None,
        status_before: OrderStatus | None = None,
        endpoint_url: str | None = None,
        events: list[str] | None = None,
        sent_at: float | None = None,
        failed_at: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            message,
            operation=operation,
            service=service,
            country=country,
            pool=pool,
            max_price=max_price,
            order_id=order_id,
            codes_before=list(codes_before or ()),
            status_before=status_before,
            endpoint_url=endpoint_url,
            events=list(events or ()),
            sent_at=sent_at,
            failed_at=failed_at,
            **kwargs,
        )


class UnexpectedResponseError(NexOTPError):
    """A body that is not the contract: not JSON, not an envelope, or missing fields."""

    snippet: str
    """The first bytes of the body."""

    def __init__(self, message: str = "", *, snippet: str = "", **kwargs: Any) -> None:
        super().__init__(message, snippet=snippet, **kwargs)


class WaitTimeoutError(NexOTPError):
    """``wait_for_code`` ran out of time; ``order`` is the last state seen, ``None`` when no
    poll succeeded (``order_id`` is always set)."""

    order_id: str
    """The order waited for."""
    waited: float
    """Seconds waited."""
    cancelled: bool
    """Whether the order was cancelled (``cancel_on_timeout=True``) and so refunded."""

    def __init__(
        self,
        message: str = "",
        *,
        order_id: str = "",
        waited: float = 0.0,
        cancelled: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, order_id=order_id, waited=waited, cancelled=cancelled, **kwargs)


class OrderClosedError(NexOTPError):
    """The order ended (cancelled, expired, completed) without a new code; ``order`` is its
    final state."""


class WebhookVerificationError(NexOTPError):
    """A webhook delivery did not verify (bad signature, stale timestamp, wrong secret)."""
