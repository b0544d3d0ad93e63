"""The store's door: one check in front of every store endpoint and page.

inventory does not know about the waiting room (dependencies point one way);
the waiting room plugs its pass check in through the STORE_ACCESS_CHECK
setting: a dotted path to ``check(request, event) -> StoreAccessDenied | None``.
A check that lets the fan in may set ``request.store_session_ends_at`` (an
aware datetime: when the fan's store session ends); the store pages show it
as a countdown (templates/inventory/_store_session.html), and
``request.store_presale = True`` when the fan came in through the presale
lane: such a fan may hold seats during the presale. With no check
configured the store is open (catalog-only deployments, tests of the store
itself).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string

from inventory.models import Event
from ticketing.errors import DomainError


class StoreAccessDenied(DomainError):
    """Raised when a request may not use the store for ``event``.

    API views answer 403 {"error": code, "detail": detail}; pages redirect to
    ``redirect_url`` (the waiting room)."""

    code = "queue_pass_required"

    def __init__(self, *, code: str, detail: str, redirect_url: str) -> None:
        super().__init__(detail, code=code)
        self.redirect_url = redirect_url


AccessCheck = Callable[[HttpRequest, Event], StoreAccessDenied | None]


@cache
def _load_check(path: str) -> AccessCheck | None:
    return import_string(path) if path else None


def ensure_store_access(request: HttpRequest, event: Event) -> None:
    """Raise StoreAccessDenied unless the configured check lets ``request`` in."""
    check = _load_check(getattr(settings, "STORE_ACCESS_CHECK", "") or "")
    if check is None:
        return
    denial = check(request, event)
    if denial is not None:
        raise denial


@dataclass(frozen=True)
class StoreSession:
    """The fan may use the store; until ``ends_at`` (None: no end, no door)."""

    ends_at: dt.datetime | None
    presale: bool = False


def store_session(request: HttpRequest, event: Event) -> StoreSession | None:
    """The fan's store session for ``event``, or None if the door would send
    them to the waiting room: for pages that show the way in rather than
    guard it (the event page)."""
    check = _load_check(getattr(settings, "STORE_ACCESS_CHECK", "") or "")
    if check is None:
        return StoreSession(ends_at=None)
    if check(request, event) is not None:
        return None
    return StoreSession(ends_at=getattr(request, "store_session_ends_at", None), presale=presale_access(request))


def presale_access(request: HttpRequest) -> bool:
    """Whether the door let this request in through the presale lane (call
    after ensure_store_access or store_session)."""
    return bool(getattr(request, "store_presale", False))
