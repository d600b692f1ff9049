"""Enumerations of the nexotp package."""

from __future__ import annotations

import enum

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
        lowered = value.strip().lower()
        if lowered == "canceled":
            return cls.CANCELLED
        for member in cls:
            if member.value == lowered:
                return member
        pseudo = str.__new__(cls, value)
        pseudo._name_ = value.upper()
        pseudo._value_ = value
        return pseudo

    @property
    def known(self) -> bool:
        """Whether this is one of the statuses the SDK knows."""
        return self._name_ in type(self).__members__

    @property
    def is_closed(self) -> bool:
        """Whether an order in this status has ended (completed, cancelled or expired)."""
        return self in (OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.EXPIRED)

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return f"OrderStatus({self.value!r})"
