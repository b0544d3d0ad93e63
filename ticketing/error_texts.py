"""The fan's words for each error code: pages show these, never a service's
English ``detail`` (that is for API clients and logs). One table, next to
the HTTP one (ticketing.errors.STATUS_BY_CODE)."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ticketing.errors import DomainError

Words = Callable[[DomainError, int], str]


def _taken(exc: DomainError, limit: int) -> str:
    count = len(exc.extra.get("unavailable", ())) or 1
    return ngettext(
        "Sorry, someone else took one of your seats a moment ago. It is now shown as taken; pick another.",
        "Sorry, someone else took %(count)d of your seats a moment ago. They are now shown as taken; pick others.",
        count,
    ) % {"count": count}


def _cap(exc: DomainError, limit: int) -> str:
    allowed = exc.extra.get("allowed")
    if allowed:
        return _("You can add only %(n)d more tickets for this event.") % {"n": allowed}
    return _("You already have the most tickets allowed for this event (%(max)d).") % {"max": limit}


def _const(text: Callable[[], str]) -> Words:
    return lambda exc, limit: text()


TEXTS: dict[str, Words] = {
    "seats_unavailable": _taken,
    "ticket_limit_reached": _cap,
    "not_enough_seats": _const(
        lambda: _("There are not that many tickets left together here. Try fewer or another section.")
    ),
    "too_many_tickets": lambda exc, limit: _("You can choose at most %(max)d tickets.") % {"max": limit},
    "invalid_quantity": _const(lambda: _("Choose how many tickets you want.")),
    "invalid_seat_ids": _const(lambda: _("Choose seats on the map.")),
    "duplicate_seat_ids": _const(lambda: _("Choose seats on the map.")),
    "unknown_seats": _const(lambda: _("Choose seats on the map.")),
    "invalid_section": _const(lambda: _("Choose a section first.")),
    "unknown_section": _const(lambda: _("Choose a section first.")),
    "sale_not_open": _const(lambda: _("Tickets for this event are not on sale right now.")),
    "hold_expired": _const(lambda: _("Your hold ran out and the tickets went back on sale.")),
    "invalid_transition": _const(lambda: _("This order can no longer be changed.")),
    "order_not_found": _const(lambda: _("We could not find that order.")),
    "idempotency_key_reused": _const(
        lambda: _("This page was out of date, so nothing was held. Check your choice and try again.")
    ),
    "too_many_requests": _const(lambda: _("That was a lot of tries in a short time. Wait a minute, then try again.")),
    "challenge_required": _const(
        lambda: _(
            "Before you get a place, this page checks in the background that you are not a bot. "
            "That needs JavaScript: turn it on (or use another browser), reload the page and join again."
        )
    ),
    "challenge_failed": _const(
        lambda: _("The check that you are not a bot did not work out. Reload the page and join again.")
    ),
    "rate_limited": _const(lambda: _("That was a lot of tries in a short time. Wait a minute, then try again.")),
    "invalid_code": _const(lambda: _("This presale code does not exist for this event.")),
    "code_used_up": _const(lambda: _("This presale code has been used as many times as it allows.")),
    "busy": _const(lambda: _("Lots of fans are choosing right now. Please try again in a second.")),
    "unavailable": _const(lambda: _("We are very busy right now. Please try again in a few seconds.")),
    "checkout_not_started": _const(lambda: _("Start the payment from your cart first.")),
    "card_declined": _const(
        lambda: _("Your card was declined and nothing was charged. Your tickets are still held: try another card.")
    ),
    "authentication_failed": _const(
        lambda: _(
            "Your bank did not confirm the payment, and nothing was charged. "
            "Your tickets are still held: try again or use another card."
        )
    ),
    "payment_failed": _const(lambda: _("The payment did not go through and nothing was charged. Please try again.")),
    "payment_provider_unavailable": _const(
        lambda: _("We cannot reach the payment service right now. Nothing was charged; try again in a moment.")
    ),
    "invalid_signature": _const(lambda: _("That did not work. Please try again.")),
}


def fan_message(exc: DomainError, *, limit: int = 0) -> str:
    """What a page tells the fan about ``exc``, in the active language.
    ``limit`` is the event's tickets-per-fan cap, for the messages that name it."""
    words = TEXTS.get(exc.code)
    return words(exc, limit) if words else _("That did not work. Please try again.")
