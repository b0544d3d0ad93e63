"""Best-available's choice among candidates: pure functions, no database."""

from __future__ import annotations

from inventory.services.holds.blocks import best_apart, best_block, candidate_limit
from inventory.services.holds.records import CandidateRow


def seat(row: int, number: int, rank: int) -> CandidateRow:
    return CandidateRow(id=row * 100 + number, row_index=row, number=number, rank=rank)


def test_block_is_the_adjacent_seats_with_the_lowest_total_rank():
    # Row 0 has 4-5 adjacent but a poor seat 5; row 1 has 3-4 both good.
    candidates = [seat(0, 4, 1), seat(0, 5, 9), seat(0, 7, 2), seat(1, 3, 3), seat(1, 4, 3)]
    assert best_block(candidates, 2) == [103, 104]


def test_block_never_spans_a_gap_or_two_rows():
    candidates = [seat(0, 1, 1), seat(0, 3, 1), seat(1, 2, 1)]
    assert best_block(candidates, 2) is None


def test_block_comes_in_seat_order_whatever_the_candidates_order():
    candidates = [seat(2, 9, 5), seat(2, 7, 5), seat(2, 8, 5)]
    assert best_block(candidates, 3) == [207, 208, 209]


def test_block_ties_go_to_the_lower_row_then_the_lower_number():
    same_rank = [seat(1, 5, 2), seat(1, 6, 2), seat(0, 8, 2), seat(0, 9, 2), seat(0, 2, 2), seat(0, 3, 2)]
    assert best_block(same_rank, 2) == [2, 3]


def test_no_block_when_fewer_candidates_than_the_party():
    assert best_block([seat(0, 1, 1)], 2) is None
    assert best_block([], 1) is None


def test_seats_apart_are_the_best_by_rank_then_row_then_number():
    candidates = [seat(3, 1, 1), seat(0, 9, 2), seat(0, 1, 2), seat(1, 1, 1)]
    assert best_apart(candidates, 3) == [101, 301, 1]
    assert best_apart(candidates, 10) == [101, 301, 1, 9]


def test_a_few_more_candidates_than_the_party_are_locked_within_bounds():
    assert [candidate_limit(n) for n in (1, 2, 3, 4, 10, 20, 40)] == [8, 8, 9, 12, 30, 60, 60]
