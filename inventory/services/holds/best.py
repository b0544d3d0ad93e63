"""Best available: the best ``quantity`` seats of a section, adjacent in one
row when possible, or ``quantity`` general-admission places.

It locks the k best free units by rank with SKIP LOCKED, so concurrent fans
each get their own slice of the best seats, and picks among them
(``blocks``); then claims them like any hold (``claims``). docs/locking.md
describes the whole search.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from inventory.models import Event, Section
from inventory.services.holds import records, sql
from inventory.services.holds.blocks import best_apart, best_block, candidate_limit
from inventory.services.holds.claims import (
    Shortfall,
    check_cap,
    check_cap_now,
    claim,
    fan_key,
    fast_hold_params,
    fast_result,
    record_hold,
)
from inventory.services.holds.errors import NotEnoughSeats
from inventory.services.holds.lifecycle import MAX_ATTEMPTS
from inventory.services.holds.results import Hold, IdempotencyKey
from inventory.services.holds.validation import checked_quantity, ensure_on_sale, section_of
from inventory.services.locking import Busy, begin, inventory_transaction

# Another fan may lock a run of free seats between our read and our lock.
_RUN_ATTEMPTS = 3


class Pick(NamedTuple):
    ids: list[int]  # locked by this transaction
    all_free: bool  # every one AVAILABLE (no expired lock to take over)


def hold_best_available(
    *,
    event: Event,
    owner: str,
    section_code: str,
    quantity: int,
    now: dt.datetime | None = None,
    idempotency: IdempotencyKey | None = None,
    presale: bool = False,
) -> Hold:
    """Hold the best ``quantity`` seats of a section (adjacent in one row when
    possible), or ``quantity`` general-admission places.

    Raises InvalidHold, SaleNotOpen, LimitReached, NotEnoughSeats or Busy;
    ``idempotency`` and ``presale`` as for ``hold_seats``.
    """
    fixed_now = now
    quantity = checked_quantity(event, quantity)
    section = section_of(event, section_code)
    ensure_on_sale(event, fixed_now or timezone.now(), presale=presale)
    for _ in range(MAX_ATTEMPTS):
        now = fixed_now or timezone.now()
        outcome = _attempt(event=event, owner=owner, section=section, quantity=quantity, now=now, key=idempotency)
        if isinstance(outcome, Hold):
            return outcome
        left = _claimable_count(event=event, section=section, now=now)
        if left < quantity:
            raise NotEnoughSeats(
                f"Only {left} left in {section.name}." if left else f"{section.name} is sold out.",
                available=left,
            )
        # Enough exist but other fans hold row locks on them right now.
    raise Busy()


def _attempt(
    *, event: Event, owner: str, section: Section, quantity: int, now: dt.datetime, key: IdempotencyKey | None
) -> Hold | Shortfall:
    """One transaction: the fan's lock, the pick, the claim, the order; all
    rolled back on a shortfall."""
    order_id = uuid.uuid4()
    with inventory_transaction() as cursor:
        begin(cursor, fan_key=fan_key(event, owner))
        picked = _pick(cursor, event=event, section=section, n=quantity, now=now)
        if len(picked.ids) == quantity and picked.all_free:
            outcome = _claim_free(cursor, event=event, owner=owner, picked=picked, order_id=order_id, now=now, key=key)
        else:
            outcome = _claim_any(
                cursor, event=event, owner=owner, picked=picked, n=quantity, order_id=order_id, now=now, key=key
            )
        if isinstance(outcome, Shortfall):
            transaction.set_rollback(True)
        return outcome


def _claim_free(
    cursor: CursorWrapper,
    *,
    event: Event,
    owner: str,
    picked: Pick,
    order_id: uuid.UUID,
    now: dt.datetime,
    key: IdempotencyKey | None,
) -> Hold | Shortfall:
    """Locked by us and AVAILABLE: the one-statement claim gets them all
    unless the fan's cap, which it checks, says no."""
    n = len(picked.ids)
    params = fast_hold_params(
        event=event, owner=owner, ids=sorted(picked.ids), order_id=order_id, now=now, reason="hold_best", key=key
    )
    cursor.execute(sql.FAST_HOLD, params)
    result = records.parse_fast_hold(cursor.fetchall())
    if len(result.held) == n:
        return fast_result(event, order_id, result.held, now)
    if result.used is not None:
        check_cap(event, used=result.used, quantity=n)
    return Shortfall()


def _claim_any(
    cursor: CursorWrapper,
    *,
    event: Event,
    owner: str,
    picked: Pick,
    n: int,
    order_id: uuid.UUID,
    now: dt.datetime,
    key: IdempotencyKey | None,
) -> Hold | Shortfall:
    """Expired locks to take over, or too few units: the cap first, then the
    general claim."""
    check_cap_now(cursor, event=event, owner=owner, quantity=n, now=now)
    if len(picked.ids) < n:
        return Shortfall()
    rows = claim(cursor, event=event, ids=sorted(picked.ids), owner=owner, order_id=order_id, now=now)
    if len(rows) != n:
        return Shortfall()
    return record_hold(
        cursor, event=event, owner=owner, order_id=order_id, rows=rows, now=now, reason="hold_best", key=key
    )


def _pick(cursor: CursorWrapper, *, event: Event, section: Section, n: int, now: dt.datetime) -> Pick:
    """Lock the n best claimable units of ``section`` (adjacent in one row
    when possible), or fewer when they are not there."""
    params: dict[str, Any] = {"event": event.pk, "section": section.pk, "now": now}
    if section.is_general_admission:
        cursor.execute(sql.PICK_FREE, {**params, "limit": n})
        picked = [c.id for c in records.fetch(cursor, records.CandidateRow._make)]
        if len(picked) == n:
            return Pick(picked, True)
        cursor.execute(sql.PICK_EXPIRED, {**params, "limit": n - len(picked)})
        return Pick(picked + [c.id for c in records.fetch(cursor, records.CandidateRow._make)], False)
    limit = candidate_limit(n)
    cursor.execute(sql.PICK_FREE, {**params, "limit": limit})
    candidates = records.fetch(cursor, records.CandidateRow._make)
    free = {c.id for c in candidates}
    if len(candidates) < limit:
        cursor.execute(sql.PICK_EXPIRED, {**params, "limit": limit - len(candidates)})
        candidates += records.fetch(cursor, records.CandidateRow._make)
    if n > 1 and (block := best_block(candidates, n)) is not None:
        return Pick(block, all(i in free for i in block))
    if n > 1 and (run := _lock_free_run(cursor, params=params, n=n, now=now)) is not None:
        return Pick(run, False)
    block = best_apart(candidates, n)
    return Pick(block, all(i in free for i in block))


def _lock_free_run(cursor: CursorWrapper, *, params: dict[str, Any], n: int, now: dt.datetime) -> list[int] | None:
    """When the best seats are too scattered: the best run of n adjacent
    free seats anywhere in the section, locked (SKIP LOCKED), trying the next
    best when another fan locked one first. None when there is none."""
    cursor.execute(sql.FREE_RUNS, {**params, "n": n})
    runs = records.fetch(cursor, records.CandidateRow._make)
    for _ in range(_RUN_ATTEMPTS):
        block = best_block(runs, n)
        if block is None:
            return None
        cursor.execute(sql.LOCK_IDS, {"ids": block, "now": now})
        if len(cursor.fetchall()) == n:
            return block
        runs = [r for r in runs if r.id not in block]
    return None


def _claimable_count(*, event: Event, section: Section, now: dt.datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql.CLAIMABLE_COUNT, {"event": event.pk, "section": section.pk, "now": now})
        return records.fetch_count(cursor)
