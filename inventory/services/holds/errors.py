"""Why a hold or an order transition was refused. Every one of them leaves the
database as it was. ``code`` is the machine-readable reason, ``extra`` the
fields it adds to the JSON body (docs/api.md). They are DomainErrors: the
HTTP status and the fan's words for each code live in one table each
(ticketing.errors.STATUS_BY_CODE, ticketing.error_texts)."""

from __future__ import annotations

from collections.abc import Sequence

from ticketing.errors import DomainError


class HoldError(DomainError):
    """A refused hold or order transition: nothing was changed."""

    code = "invalid_request"


class InvalidHold(HoldError):
    pass


class SaleNotOpen(HoldError):
    code = "sale_not_open"


class SeatsUnavailable(HoldError):
    code = "seats_unavailable"

    def __init__(self, unavailable: Sequence[int]) -> None:
        super().__init__(
            "Some of these seats were just taken by someone else; pick others.", unavailable=sorted(unavailable)
        )
        self.unavailable = sorted(unavailable)


class NotEnoughSeats(HoldError):
    code = "not_enough_seats"


class LimitReached(HoldError):
    code = "ticket_limit_reached"


class OrderNotFound(HoldError):
    code = "order_not_found"


class InvalidTransition(HoldError):
    code = "invalid_transition"


class HoldExpired(HoldError):
    code = "hold_expired"
