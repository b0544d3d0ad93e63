"""Why a hold or an order transition was refused. Every one of them leaves the
database as it was. ``status`` is the HTTP status the API answers with,
``code`` the machine-readable reason, ``extra`` the fields it adds to the
JSON body (docs/api.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class HoldError(Exception):
    """A refused request: nothing was changed. ``status`` is the HTTP status."""

    status = 400
    code = "invalid_request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra


class InvalidHold(HoldError):
    status = 400


class SaleNotOpen(HoldError):
    status = 409
    code = "sale_not_open"


class SeatsUnavailable(HoldError):
    status = 409
    code = "seats_unavailable"

    def __init__(self, unavailable: Sequence[int]) -> None:
        super().__init__(
            "Some of these seats were just taken by someone else; pick others.", unavailable=sorted(unavailable)
        )
        self.unavailable = sorted(unavailable)


class NotEnoughSeats(HoldError):
    status = 409
    code = "not_enough_seats"


class LimitReached(HoldError):
    status = 409
    code = "ticket_limit_reached"


class OrderNotFound(HoldError):
    status = 404
    code = "order_not_found"


class InvalidTransition(HoldError):
    status = 409
    code = "invalid_transition"


class HoldExpired(HoldError):
    status = 409
    code = "hold_expired"
