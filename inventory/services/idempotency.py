"""Holds that can be retried safely: the client's ``Idempotency-Key``.

A fan whose connection drops after sending a hold cannot tell whether it
committed. Sent again with the same key, the request gets the order the first
one created instead of a second order (and a second share of the fan's
ticket cap).

The database decides, not this module: the key is written on the order in
the statement that creates it, and ``order_idempotency_key_unique`` (owner,
key) lets only one order per fan carry it. So:

- a key seen before: one indexed lookup answers with that order (a replay),
  or refuses the key when it came with a different request;
- a new key: the hold runs as usual, carrying the key;
- two requests racing with one key: the fan's advisory lock runs them one
  after the other; the second either finds the seats (or the cap) taken by
  the first, or collides on the unique constraint. Either way it looks the
  key up again and replays the first one's order.

A refused hold stores nothing, so the same key may be tried again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass

from django.db import IntegrityError

from inventory.models import Event, Order
from inventory.services import holds
from inventory.services.holds import Hold, HoldError, IdempotencyKey
from inventory.services.locking import Busy, prepared_cursor
from ticketing import metrics

KEY_CONSTRAINT = "order_idempotency_key_unique"
MAX_KEY_LENGTH = 255


class KeyReused(HoldError):
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class HoldRequest:
    """What the fan asked for, as sent: ``seat_ids`` (and maybe ``section``),
    or ``section`` and ``quantity``. The hold services check the values."""

    section: object = None
    seat_ids: object = None
    quantity: object = None
    best: bool = False

    def fingerprint(self, event: Event) -> str:
        """SHA-256 of the request, normalised: the same seats in another
        order, or JSON spelled differently, are the same request."""
        ids = self.seat_ids
        if isinstance(ids, list | tuple) and all(type(i) is int for i in ids):
            ids = sorted(ids)
        body = {"event": event.pk, "section": self.section}
        body |= {"quantity": self.quantity} if self.best else {"seat_ids": ids}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=repr)
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Outcome:
    """A new hold (``hold``), or the order an earlier request with the same
    key created (``replayed``), in its current state."""

    hold: Hold | None = None
    replayed: Order | None = None

    @property
    def order_id(self) -> uuid.UUID:
        if self.hold is not None:
            return self.hold.order_id
        assert self.replayed is not None
        return uuid.UUID(str(self.replayed.pk))


def check_key(key: str) -> str:
    """1-255 printable ASCII characters, or InvalidHold."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in key):
        raise holds.InvalidHold(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable ASCII characters.",
            code="invalid_idempotency_key",
        )
    return key


# The lookup every keyed hold makes first. Plain SQL on a prepared statement:
# 0.06-0.09 ms of Python and 0.03-0.04 ms of PostgreSQL CPU, where the ORM
# query took 0.7-1.0 ms and 0.2-0.3 ms (docs/performance.md).
_KEY_SQL = "SELECT id, request_hash FROM inventory_order WHERE owner = %s AND idempotency_key = %s"


def replay(*, event: Event, owner: str, key: str, request_hash: str) -> Order | None:
    """The fan's order made with ``key``, or None; KeyReused when the key
    came with another request (another body, or another event)."""
    with prepared_cursor() as cursor:
        cursor.execute(_KEY_SQL, [owner, key])
        row = cursor.fetchone()
    if row is None:
        return None
    order_id, stored_hash = row
    if stored_hash != request_hash:
        raise KeyReused(
            "This Idempotency-Key was already used for a different hold request; use a new key.",
            order_id=str(order_id),
        )
    return Order.objects.select_related("event").get(pk=order_id)


def _is_key_collision(exc: IntegrityError) -> bool:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == KEY_CONSTRAINT


@metrics.count_outcomes("holds")
def hold(
    *,
    event: Event,
    owner: str,
    request: HoldRequest,
    key: str | None,
    now: dt.datetime | None = None,
    presale: bool = False,
) -> Outcome:
    """Hold what ``request`` asks for, at most once per ``key``.

    Without a key this is the plain hold (no extra query). With one: a
    replay of the key's order, KeyReused (the key came with another
    request), or a new hold carrying the key. Raises what the hold services
    raise, and InvalidHold (code ``invalid_idempotency_key``) for a bad key.
    """
    if key is None:
        return Outcome(
            hold=_hold(event=event, owner=owner, request=request, idempotency=None, now=now, presale=presale)
        )
    check_key(key)
    request_hash = request.fingerprint(event)
    found = replay(event=event, owner=owner, key=key, request_hash=request_hash)
    if found is not None:
        return Outcome(replayed=found)
    idempotency = IdempotencyKey(key=key, request_hash=request_hash)
    try:
        return Outcome(
            hold=_hold(event=event, owner=owner, request=request, idempotency=idempotency, now=now, presale=presale)
        )
    except IntegrityError as exc:
        if not _is_key_collision(exc):
            raise
        refusal: Exception = exc
    except (holds.SeatsUnavailable, holds.NotEnoughSeats, holds.LimitReached, Busy) as exc:
        # Refusals a concurrent request with this key causes by taking the
        # seats (or the cap) first; any other refusal is about the request.
        refusal = exc
    found = replay(event=event, owner=owner, key=key, request_hash=request_hash)
    if found is not None:
        return Outcome(replayed=found)
    if isinstance(refusal, IntegrityError):
        # A collision means the other order committed, and orders are never
        # deleted; should one be, nothing was held here: try again.
        raise Busy() from refusal
    raise refusal


def _hold(
    *,
    event: Event,
    owner: str,
    request: HoldRequest,
    idempotency: IdempotencyKey | None,
    now: dt.datetime | None,
    presale: bool,
) -> Hold:
    if request.best:
        return holds.hold_best_available(
            event=event,
            owner=owner,
            section_code=request.section,  # type: ignore[arg-type]
            quantity=request.quantity,  # type: ignore[arg-type]
            now=now,
            idempotency=idempotency,
            presale=presale,
        )
    return holds.hold_seats(
        event=event,
        owner=owner,
        seat_ids=request.seat_ids,  # type: ignore[arg-type]
        section_code=request.section,  # type: ignore[arg-type]
        now=now,
        idempotency=idempotency,
        presale=presale,
    )
