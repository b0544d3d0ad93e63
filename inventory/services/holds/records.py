"""One named row type per result set of ``sql``, and the parsers that build
them right after the fetch: nothing outside this module reads a row by
position."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple, TypeVar

from django.db.backends.utils import CursorWrapper


class Verdict(StrEnum):
    """What ``sql.FAST_HOLD`` says about each requested id (its last column but one)."""

    HELD = "held"  # claimed by this statement
    INVALID = "invalid"  # not a seat of the event (or of the section asked for)
    TAKEN = "taken"  # sold, or locked by someone and still in time
    RACED = "raced"  # AVAILABLE in the snapshot, claimed by a concurrent hold that committed first
    EXPIRED = "expired"  # a lock past its deadline: the general path takes it over


class ClaimedRow(NamedTuple):
    """A row a hold claimed (CLAIM; the held rows of FAST_HOLD)."""

    id: int
    old_status: str
    old_order: uuid.UUID | None  # the order of the expired lock taken over
    section: str
    row: str
    number: int | None
    place: int | None  # general admission
    seat_id: int | None  # only CLAIM says
    price: Decimal
    fee: Decimal
    currency: str


class SeenRow(NamedTuple):
    """What FAST_HOLD's snapshot saw of a requested id, when it fell short."""

    id: int
    status: str
    verdict: Verdict
    used: int  # the fan's live tickets, as the statement counted them


class FastHold(NamedTuple):
    held: list[ClaimedRow]
    seen: list[SeenRow]  # empty unless the claim fell short

    @property
    def used(self) -> int | None:
        """The fan's live tickets as the statement counted them (said only
        when the claim fell short)."""
        return self.seen[0].used if self.seen else None


class CandidateRow(NamedTuple):
    """A unit of a section, for best-available to choose from."""

    id: int
    row_index: int
    number: int
    rank: int


class ItemChange(NamedTuple):
    """An item that changed state: the state it left and the order it had."""

    id: int
    old_status: str
    order_id: uuid.UUID
    event_id: int


class OrderChange(NamedTuple):
    """An order that changed state, and the state it left."""

    id: uuid.UUID
    old_status: str
    event_id: int


class MovedItem(NamedTuple):
    """An item of one order moved on (checkout, sale)."""

    id: int
    event_id: int


R = TypeVar("R")


def fetch(cursor: CursorWrapper, make: Callable[[Iterable[Any]], R]) -> list[R]:
    """The cursor's rows as ``make`` builds them (a row type's ``_make``)."""
    return list(map(make, cursor.fetchall()))


def fetch_count(cursor: CursorWrapper) -> int:
    """The single number a count statement returns."""
    row = cursor.fetchone()
    if row is None:
        raise ValueError("a count statement returned no row")
    (count,) = row
    return int(count)


def parse_fast_hold(rows: Sequence[Sequence[Any]]) -> FastHold:
    """FAST_HOLD's rows: the claimed ones, then (when it fell short) one per
    requested id with the verdict and the fan's ticket count."""
    held: list[ClaimedRow] = []
    seen: list[SeenRow] = []
    for row in rows:
        *claimed, verdict, used = row
        if verdict == Verdict.HELD:
            held.append(ClaimedRow._make(claimed))
        else:
            item_id, status, *_ = claimed
            seen.append(SeenRow(item_id, status, Verdict(verdict), int(used)))
    return FastHold(held, seen)
