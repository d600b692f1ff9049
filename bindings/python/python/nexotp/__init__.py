"""nexotp: the client for the NexOTP API (virtual phone numbers that receive one-time codes).

::

    import nexotp

    with nexotp.Client() as client:          # NEXOTP_API_KEY, optional NEXOTP_BASE_URL
        order = client.create_order("svc_telegram", "cty_us")
        print(order.phone)
        print(client.wait_for_code(order.id, timeout=120, cancel_on_timeout=True).code)

``AsyncClient`` has the same methods as coroutines. All the work (HTTP, retries, rate buckets,
validation) is done by the Rust core in ``nexotp._native``; importing this package starts no
thread and opens no connection.

Logging: the ``nexotp`` logger gets one DEBUG record per request attempt (method, path, status,
elapsed, attempt, request id; never the key). ``NEXOTP_LOG=debug`` prints them to stderr with no code.
"""

from __future__ import annotations

import os as _os

from . import errors
from ._async import AsyncClient, AsyncTransactionIterator, AsyncWatcher
from ._enums import OrderStatus
from ._native import (
    Account,
    Client,
    Country,
    Order,
    Pool,
    Price,
    Reconciliation,
    Service,
    Transaction,
    TransactionIterator,
    TransactionPage,
    Watcher,
    WatchEvent,
    Webhook,
    WebhookDeleted,
    WebhookEvent,
    __version__,
    sign_webhook,
    verify_webhook,
)
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    InsufficientBalanceError,
    InvalidArgumentError,
    InvalidRequestError,
    NexOTPError,
    NotFoundError,
    OrderClosedError,
    OrderOutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    WaitTimeoutError,
    WebhookVerificationError,
)

__all__ = [
    "__version__",
    "Client",
    "AsyncClient",
    "TransactionIterator",
    "AsyncTransactionIterator",
    "Watcher",
    "AsyncWatcher",
    "WatchEvent",
    "Account",
    "Country",
    "Order",
    "OrderStatus",
    "Pool",
    "Price",
    "Reconciliation",
    "Service",
    "Transaction",
    "TransactionPage",
    "Webhook",
    "WebhookDeleted",
    "WebhookEvent",
    "verify_webhook",
    "sign_webhook",
    "errors",
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


def _log_from_env() -> None:
    """``NEXOTP_LOG=debug`` (or info, trace, 1, true: the core decides): send the ``nexotp``
    logger to stderr."""
    from ._native import _log_level_enabled

    if not _log_level_enabled(_os.environ.get("NEXOTP_LOG", "")):
        return
    import logging

    logger = logging.getLogger("nexotp")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("nexotp: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


_log_from_env()
