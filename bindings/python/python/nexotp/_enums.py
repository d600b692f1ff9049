"""Enumerations of the nexotp package."""

from __future__ import annotations

import enum

from . import _native

__all__ = ["OrderStatus"]


class OrderStatus(str, enum.Enum):
    """The state of an order. A ``str``, so ``order.status == "pending"`` works.

    Statuses this SDK does not know yet are kept, not rejected: ``OrderStatus("on_hold")`` is a
    pseudo-member whose ``value`` is ``"on_hold"`` and which is not ``known``.
    """

    PENDING = "pending"
    """Waiting for the SMS."""
    RECEIVED = "received"
    """A code is there (more may come after a resend)."""
    COMPLETED = "completed"
    """Finished."""
    CANCELLED = "cancelled"
    """Cancelled (and refunded)."""
    EXPIRED = "expired"
    """No code arrived in time (and refunded)."""

    @classmethod
    def _missing_(cls, value: object) -> OrderStatus | None:
        if not isinstance(value, str):
            return None
        # The core reads the status (case, spaces, "canceled"): one rule in every language.
        normalised, known, _closed = _native._order_status(value)
        if known:
            return cls(normalised)
        pseudo = str.__new__(cls, normalised)
        pseudo._name_ = normalised.upper()
        pseudo._value_ = normalised
        return pseudo

    @property
    def known(self) -> bool:
        """Whether this is one of the statuses the SDK knows."""
        return self._name_ in type(self).__members__

    @property
    def is_closed(self) -> bool:
        """Whether an order in this status has ended (completed, cancelled or expired), by the
        core's rule."""
        return _native._order_status(self.value)[2]

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return f"OrderStatus({self.value!r})"
