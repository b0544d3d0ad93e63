"""Choosing best-available seats among candidates: pure functions, no
database (the candidates come from ``sql.PICK_FREE`` and friends).

A candidate's ``rank`` says how good the seat is (lower is better: the venue
ranks seats when the seat map is generated); ``row_index`` and ``number``
place it, and two seats are adjacent when they share a row and their
numbers differ by one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from operator import attrgetter

from inventory.services.holds.records import CandidateRow

_number = attrgetter("number")


def candidate_limit(n: int) -> int:
    """How many of the best free units to lock for a party of ``n``: a few
    more than needed, so concurrent fans, skipping each other's locks, each
    find an adjacent block in their own slice of the best seats."""
    return min(max(3 * n, 8), 60)


def best_block(candidates: Iterable[CandidateRow], n: int) -> list[int] | None:
    """The ids of the ``n`` adjacent seats of one row with the best (lowest)
    total rank, in seat order; ties go to the lower row index, then the lower
    seat number. None when no row has ``n`` adjacent candidates."""
    by_row: dict[int, list[CandidateRow]] = defaultdict(list)
    for candidate in candidates:
        by_row[candidate.row_index].append(candidate)
    best_score: tuple[int, int, int] | None = None
    best_ids: list[int] | None = None
    for row_index, seats in by_row.items():
        seats.sort(key=_number)
        # Plain lists for the sliding window: on a section's free runs (hundreds
        # of seats) this loop is most of the search's Python time.
        numbers = [s.number for s in seats]
        ranks = [s.rank for s in seats]
        for j in range(len(seats) - n + 1):
            if numbers[j + n - 1] - numbers[j] != n - 1:
                continue
            score = (sum(ranks[j : j + n]), row_index, numbers[j])
            if best_score is None or score < best_score:
                best_score, best_ids = score, [s.id for s in seats[j : j + n]]
    return best_ids


def best_apart(candidates: Iterable[CandidateRow], n: int) -> list[int]:
    """The ids of the ``n`` best candidates wherever they are (by rank, then
    row, then number): the choice when no adjacent block is left."""
    return [c.id for c in sorted(candidates, key=lambda c: (c.rank, c.row_index, c.number))[:n]]
