"""Holding the seats a fan picked on the map: exactly these, all or nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from django.db import transaction
from django.utils import timezone

from inventory.models import Event, InventoryItem, Section
from inventory.services.holds import records, sql
from inventory.services.holds.claims import (
    Shortfall,
    claim,
    fan_key,
    fast_hold_params,
    fast_result,
    lock_fan_and_check_cap,
    record_hold,
)
from inventory.services.holds.errors import InvalidHold, SeatsUnavailable
from inventory.services.holds.results import Hold, IdempotencyKey
from inventory.services.holds.validation import checked_ids, ensure_on_sale, section_of
from inventory.services.locking import begin, inventory_transaction


def hold_seats(
    *,
    event: Event,
    owner: str,
    seat_ids: Sequence[int],
    section_code: str | None = None,
    now: dt.datetime | None = None,
    idempotency: IdempotencyKey | None = None,
    presale: bool = False,
) -> Hold:
    """Hold exactly these seats for ``owner``, all or nothing.

    Raises InvalidHold (bad ids, ids of another event or section, too many),
    SaleNotOpen, LimitReached, SeatsUnavailable (with the taken ids) or Busy.
    ``presale``: the fan came in through the presale lane, and may hold
    during the presale too.
    With ``idempotency``, the order carries the key, and an order of the
    same fan that already has it makes the insert fail (IntegrityError on
    ``order_idempotency_key_unique``): call through
    ``inventory.services.idempotency``, which handles that.
    """
    now = now or timezone.now()
    ids = checked_ids(event, seat_ids)
    section = section_of(event, section_code) if section_code is not None else None
    ensure_on_sale(event, now, presale=presale)
    request = _Request(event=event, owner=owner, ids=ids, section=section, now=now, key=idempotency)
    outcome = _fast_hold(request)
    if isinstance(outcome, Shortfall):
        # Expired locks to take over, over the cap or bad ids: the general path tells which.
        outcome = _general_hold(request)
    if isinstance(outcome, Shortfall):
        _explain_shortfall(event=event, ids=ids, section=section, claimed=outcome.claimed)
    return outcome


@dataclass(frozen=True, slots=True)
class _Request:
    """One hold_seats call, checked."""

    event: Event
    owner: str
    ids: list[int]
    section: Section | None
    now: dt.datetime
    key: IdempotencyKey | None

    @property
    def section_id(self) -> int | None:
        return self.section.pk if self.section else None


def _fast_hold(request: _Request) -> Hold | Shortfall:
    """The one-statement hold. A shortfall that the statement's own rows
    plainly explain is refused here (SeatsUnavailable); any other is left to
    the general path."""
    event, ids = request.event, request.ids
    order_id = uuid.uuid4()
    with inventory_transaction() as cursor:
        params = fast_hold_params(
            event=event,
            owner=request.owner,
            ids=ids,
            order_id=order_id,
            now=request.now,
            reason="hold",
            seated_only=True,
            section_id=request.section_id,
            key=request.key,
        )
        begin(cursor, fan_key=fan_key(event, request.owner), then=sql.FAST_HOLD, params=params)
        result = records.parse_fast_hold(cursor.fetchall())
        if len(result.held) == len(ids):
            return fast_result(event, order_id, result.held, request.now)
        taken = _plainly_taken(ids, result, max_tickets=event.max_tickets_per_fan)
        if taken:
            raise SeatsUnavailable(taken)  # rolls back the partial claim
        transaction.set_rollback(True)  # the partial claim and its order go
        return Shortfall()


def _general_hold(request: _Request) -> Hold | Shortfall:
    """Cap, claim (expired locks included), displaced orders, then the order."""
    event, owner, ids, now = request.event, request.owner, request.ids, request.now
    order_id = uuid.uuid4()
    with inventory_transaction() as cursor:
        lock_fan_and_check_cap(cursor, event=event, owner=owner, quantity=len(ids), now=now)
        rows = claim(
            cursor,
            event=event,
            ids=ids,
            owner=owner,
            order_id=order_id,
            now=now,
            seated_only=True,
            section_id=request.section_id,
        )
        if len(rows) != len(ids):
            transaction.set_rollback(True)
            return Shortfall(frozenset(row.id for row in rows))
        return record_hold(
            cursor, event=event, owner=owner, order_id=order_id, rows=rows, now=now, reason="hold", key=request.key
        )


def _plainly_taken(ids: list[int], result: records.FastHold, *, max_tickets: int) -> list[int]:
    """From a short one-statement claim's rows, the requested ids that other
    fans hold or bought, when that alone explains the shortfall: every id is
    a valid seat, none is an expired lock to take over, and the fan's cap was
    not the reason. Otherwise [] and the general path decides."""
    seen = {row.id: row for row in result.seen}
    if set(ids) - seen.keys() or result.used is None:
        return []
    if any(row.verdict in (records.Verdict.INVALID, records.Verdict.EXPIRED) for row in seen.values()):
        return []
    if result.used + len(ids) > max_tickets:
        return []
    held = {row.id for row in result.held}
    return sorted(i for i in ids if i not in held)


def _explain_shortfall(*, event: Event, ids: list[int], section: Section | None, claimed: frozenset[int]) -> NoReturn:
    """Why a claim got fewer rows: foreign ids (400) or taken seats (409)."""
    known = InventoryItem.objects.filter(event=event, id__in=ids, seat__isnull=False)
    if section is not None:
        known = known.filter(section=section)
    unknown = sorted(set(ids) - set(known.values_list("id", flat=True)))
    if unknown:
        where = f"section {section.code}" if section else "this event"
        raise InvalidHold(f"These ids are not seats of {where}: {unknown}.", code="unknown_seats", invalid=unknown)
    raise SeatsUnavailable(sorted(set(ids) - claimed))
