"""The seat state machine and order lifecycle through the services."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory import hooks
from inventory.models import AuditEntry, InventoryItem, ItemStatus, Order, OrderItem, OrderStatus
from inventory.services import holds
from inventory.tests.helpers import items, seat_ids

pytestmark = pytest.mark.django_db


def statuses(ids: list[int]) -> list[str]:
    return list(InventoryItem.objects.filter(id__in=ids).order_by("id").values_list("status", flat=True))


def test_hold_seats_soft_locks_them_for_the_hold_ttl(small_event):
    ids = seat_ids(small_event, count=2)
    now = timezone.now()
    hold = holds.hold_seats(event=small_event, owner="fan-1", seat_ids=ids, now=now)

    assert hold.status == OrderStatus.HELD
    assert [i.id for i in hold.items] == sorted(ids)
    assert hold.total == 2 * (65 + 6.5)
    assert hold.expires_at == now + dt.timedelta(seconds=small_event.hold_ttl_seconds)
    order = Order.objects.get(pk=hold.order_id)
    assert (order.owner, order.status, order.ticket_count, order.total) == ("fan-1", "HELD", 2, hold.total)
    for item in InventoryItem.objects.filter(id__in=ids):
        assert (item.status, item.locked_by, item.order_id, item.locked_until) == (
            "SOFT_LOCKED",
            "fan-1",
            order.pk,
            hold.expires_at,
        )
    assert OrderItem.objects.filter(order=order, is_live=True).count() == 2


def test_second_hold_on_same_seat_is_refused_and_changes_nothing(small_event):
    ids = seat_ids(small_event, count=3)
    holds.hold_seats(event=small_event, owner="fan-1", seat_ids=ids[:1])
    before = (Order.objects.count(), OrderItem.objects.count(), AuditEntry.objects.count())

    with pytest.raises(holds.SeatsUnavailable) as refused:
        holds.hold_seats(event=small_event, owner="fan-2", seat_ids=ids)

    assert refused.value.unavailable == ids[:1]
    assert statuses(ids) == ["SOFT_LOCKED", "AVAILABLE", "AVAILABLE"]  # all or nothing
    assert (Order.objects.count(), OrderItem.objects.count(), AuditEntry.objects.count()) == before


def test_refusal_for_taken_seats_is_decided_in_the_claim_statement(small_event, django_assert_max_num_queries):
    ids = seat_ids(small_event, count=3)
    holds.hold_seats(event=small_event, owner="fan-1", seat_ids=ids[1:2])
    holds.hold_seats(event=small_event, owner="fan-0", seat_ids=ids[2:])
    before = (Order.objects.count(), OrderItem.objects.count(), AuditEntry.objects.count())
    # Lock timeout + fan lock, then the claim, which also says why it fell
    # short: no second transaction to find out. +3 for the test's SAVEPOINT,
    # ROLLBACK TO and RELEASE (BEGIN and ROLLBACK in production).
    with django_assert_max_num_queries(5), pytest.raises(holds.SeatsUnavailable) as refused:
        holds.hold_seats(event=small_event, owner="fan-2", seat_ids=ids)
    assert refused.value.unavailable == ids[1:]
    assert statuses(ids) == ["AVAILABLE", "SOFT_LOCKED", "SOFT_LOCKED"]
    assert (Order.objects.count(), OrderItem.objects.count(), AuditEntry.objects.count()) == before


def test_taken_and_expired_seats_together_are_refused_naming_only_the_taken(small_event):
    ids = seat_ids(small_event, count=2)
    now = timezone.now()
    expired = holds.hold_seats(event=small_event, owner="fan-1", seat_ids=ids[:1], now=now)
    later = now + dt.timedelta(seconds=small_event.hold_ttl_seconds + 1)
    holds.hold_seats(event=small_event, owner="fan-3", seat_ids=ids[1:], now=later)

    with pytest.raises(holds.SeatsUnavailable) as refused:
        holds.hold_seats(event=small_event, owner="fan-2", seat_ids=ids, now=later)

    assert refused.value.unavailable == ids[1:]
    # All or nothing: the expired lock was not taken over either.
    assert Order.objects.get(pk=expired.order_id).status == OrderStatus.HELD
    assert InventoryItem.objects.get(pk=ids[0]).order_id == expired.order_id


def test_fan_over_the_cap_hears_about_the_cap_even_when_the_seats_are_taken(small_event):
    ids = seat_ids(small_event, count=6)
    holds.hold_seats(event=small_event, owner="fan-1", seat_ids=ids[:3])
    holds.hold_seats(event=small_event, owner="fan-2", seat_ids=ids[3:5])
    with pytest.raises(holds.LimitReached):
        holds.hold_seats(event=small_event, owner="fan-1", seat_ids=ids[3:6])


def test_ids_of_another_section_are_invalid(small_event):
    place = seat_ids(small_event, section="PISTA", count=1)
    with pytest.raises(holds.InvalidHold) as bad:
        holds.hold_seats(event=small_event, owner="fan-1", seat_ids=place)
    assert bad.value.code == "unknown_seats"
    seat = seat_ids(small_event, count=1)
    with pytest.raises(holds.InvalidHold):
        holds.hold_seats(event=small_event, owner="fan-1", seat_ids=seat, section_code="PISTA")
    assert not Order.objects.exists()


def test_best_available_picks_adjacent_seats_in_the_best_row(small_event):
    # Take the centre of row A so no 3 adjacent seats are left there... except on the sides.
    row_a = list(items(small_event).filter(row_label="A").values_list("id", "number"))
    centre = [i for i, n in row_a if n in (4, 5, 6, 7)]
    holds.hold_seats(event=small_event, owner="blocker", seat_ids=centre)

    hold = holds.hold_best_available(event=small_event, owner="fan-1", section_code="A", quantity=3)

    rows = {i.row for i in hold.items}
    numbers = sorted(i.number for i in hold.items)
    assert len(rows) == 1
    assert numbers[-1] - numbers[0] == 2  # adjacent
    assert rows == {"A"}  # 1-3 or 8-10 in the front row beat the centre of row B


def test_best_available_falls_back_to_adjacent_seats_further_back(small_event):
    # Leave only single seats in rows A-D; row E stays free.
    taken = [
        i for i, row, n in items(small_event).values_list("id", "row_label", "number") if row in "ABCD" and n % 2 == 0
    ]
    for chunk in range(0, len(taken), 4):
        holds.hold_seats(event=small_event, owner=f"blocker-{chunk}", seat_ids=taken[chunk : chunk + 4])

    hold = holds.hold_best_available(event=small_event, owner="fan-1", section_code="A", quantity=2)

    assert {i.row for i in hold.items} == {"E"}
    a, b = sorted(i.number for i in hold.items)
    assert b == a + 1


def test_general_admission_holds_n_places(small_event):
    hold = holds.hold_best_available(event=small_event, owner="fan-1", section_code="PISTA", quantity=4)
    assert len(hold.items) == 4
    assert all(i.place is not None and i.section == "PISTA" for i in hold.items)


def test_best_available_refuses_cleanly_when_not_enough_are_left(small_event):
    ids = list(items(small_event, "PISTA").values_list("id", flat=True))
    for n in range(0, 38, 2):
        holds.hold_best_available(event=small_event, owner=f"fan-{n}", section_code="PISTA", quantity=2)
    with pytest.raises(holds.NotEnoughSeats) as refused:
        holds.hold_best_available(event=small_event, owner="late", section_code="PISTA", quantity=3)
    assert refused.value.extra["available"] == 2
    assert InventoryItem.objects.filter(id__in=ids, status="AVAILABLE").count() == 2


@pytest.mark.parametrize("quantity", [0, -1, 5, True, "2", 2.0, None])
def test_bad_quantities_are_refused(small_event, quantity):
    with pytest.raises(holds.InvalidHold):
        holds.hold_best_available(event=small_event, owner="fan-1", section_code="A", quantity=quantity)


@pytest.mark.parametrize("ids", [[], [1, 1], [True], ["1"], [0], [-3], [1, 2, 3, 4, 5], "1", None, [2**70]])
def test_bad_seat_id_lists_are_refused(small_event, ids):
    with pytest.raises(holds.InvalidHold):
        holds.hold_seats(event=small_event, owner="fan-1", seat_ids=ids)
    assert not Order.objects.exists()


def test_fan_cap_spans_all_their_orders_for_the_event(small_event):
    holds.hold_seats(event=small_event, owner="fan-1", seat_ids=seat_ids(small_event, count=3))
    with pytest.raises(holds.LimitReached) as refused:
        holds.hold_best_available(event=small_event, owner="fan-1", section_code="PISTA", quantity=2)
    assert refused.value.extra["allowed"] == 1
    holds.hold_best_available(event=small_event, owner="fan-1", section_code="PISTA", quantity=1)
    # Another fan is not affected.
    holds.hold_best_available(event=small_event, owner="fan-2", section_code="PISTA", quantity=4)


def test_expired_holds_do_not_count_toward_the_cap(small_event):
    now = timezone.now()
    holds.hold_seats(event=small_event, owner="fan-1", seat_ids=seat_ids(small_event, count=4), now=now)
    later = now + dt.timedelta(seconds=small_event.hold_ttl_seconds + 1)
    holds.hold_best_available(event=small_event, owner="fan-1", section_code="PISTA", quantity=4, now=later)


def test_sale_must_be_open(future_event):
    with pytest.raises(holds.SaleNotOpen):
        holds.hold_seats(event=future_event, owner="fan-1", seat_ids=seat_ids(future_event, count=1))


def test_sale_ends_when_the_show_starts_unless_it_closes_at_its_own_time(small_event):
    ids = seat_ids(small_event, count=1)
    show = small_event.starts_at
    assert small_event.sale_phase(show - dt.timedelta(seconds=1)) == "ON_SALE"
    assert small_event.sale_phase(show) == "ENDED"
    with pytest.raises(holds.SaleNotOpen):
        holds.hold_seats(event=small_event, owner="fan-1", seat_ids=ids, now=show + dt.timedelta(minutes=1))
    assert statuses(ids) == ["AVAILABLE"]
    # Door sales: an explicit closing time after the start wins.
    small_event.sale_closes_at = show + dt.timedelta(hours=2)
    assert small_event.sale_phase(show + dt.timedelta(hours=1)) == "ON_SALE"
    assert small_event.sale_phase(show + dt.timedelta(hours=2)) == "ENDED"


# --- expiry, with controlled time --------------------------------------------------


def test_expired_lock_is_claimable_at_once_and_the_old_order_expires(small_event):
    ids = seat_ids(small_event, count=2)
    now = timezone.now()
    old = holds.hold_seats(event=small_event, owner="fan-1", seat_ids=ids, now=now)
    later = now + dt.timedelta(seconds=small_event.hold_ttl_seconds)  # locked_until <= now: expired

    new = holds.hold_seats(event=small_event, owner="fan-2", seat_ids=ids[:1], now=later)

    assert Order.objects.get(pk=old.order_id).status == OrderStatus.EXPIRED
    assert not OrderItem.objects.filter(order_id=old.order_id, is_live=True).exists()
    claimed = InventoryItem.objects.get(pk=ids[0])
    assert (claimed.order_id, claimed.locked_by) == (new.order_id, "fan-2")
    # The old order's other seat is still claimable (expired) until the sweeper frees it.
    assert holds.sweep_expired(now=later) == 1
    assert statuses(ids) == ["SOFT_LOCKED", "AVAILABLE"]


def test_lock_still_in_time_is_not_claimable(small_event):
    ids = seat_ids(small_event, count=1)
    now = timezone.now()
    holds.hold_seats(event=small_event, owner="fan-1", seat_ids=ids, now=now)
    with pytest.raises(holds.SeatsUnavailable):
        holds.hold_seats(
            event=small_event,
            owner="fan-2",
            seat_ids=ids,
            now=now + dt.timedelta(seconds=small_event.hold_ttl_seconds - 1),
        )


def test_best_available_also_takes_expired_locks(small_event):
    now = timezone.now()
    for n in range(10):
        holds.hold_best_available(event=small_event, owner=f"fan-{n}", section_code="PISTA", quantity=4, now=now)
    later = now + dt.timedelta(seconds=small_event.hold_ttl_seconds + 1)
    hold = holds.hold_best_available(event=small_event, owner="late", section_code="PISTA", quantity=2, now=later)
    assert len(hold.items) == 2
    assert Order.objects.filter(status=OrderStatus.EXPIRED).count() >= 1


def test_sweeper_frees_expired_locks_and_expires_orders(small_event):
    now = timezone.now()
    a = holds.hold_seats(event=small_event, owner="fan-1", seat_ids=seat_ids(small_event, count=2), now=now)
    b = holds.hold_seats(
        event=small_event,
        owner="fan-2",
        seat_ids=seat_ids(small_event, count=2, offset=5),
        now=now + dt.timedelta(seconds=60),
    )
    later = now + dt.timedelta(seconds=small_event.hold_ttl_seconds + 1)

    assert holds.sweep_expired(now=later, batch_size=1) == 2  # two batches of one

    assert Order.objects.get(pk=a.order_id).status == OrderStatus.EXPIRED
    assert Order.objects.get(pk=b.order_id).status == OrderStatus.HELD
    assert AuditEntry.objects.filter(order_id=a.order_id, to_status="EXPIRED", reason="expired").count() == 1
    assert holds.sweep_expired(now=later) == 0  # idempotent


def test_expire_order_leaves_an_order_in_time_alone(small_event):
    hold = holds.hold_seats(event=small_event, owner="fan-1", seat_ids=seat_ids(small_event, count=1))
    assert holds.expire_order(order_id=hold.order_id).status == OrderStatus.HELD


# --- transitions ----------------------------------------------------------------------


def hold_and_checkout(event, owner="fan-1", now=None, offset=0):
    hold = holds.hold_seats(event=event, owner=owner, seat_ids=seat_ids(event, count=2, offset=offset), now=now)
    return hold, holds.start_checkout(order_id=hold.order_id, owner=owner, now=now)


def test_checkout_hard_locks_seats_with_the_checkout_ttl(small_event):
    now = timezone.now()
    hold, order = hold_and_checkout(small_event, now=now)
    assert order.status == OrderStatus.PAYMENT_PENDING
    assert order.expires_at == now + dt.timedelta(seconds=small_event.checkout_ttl_seconds)
    assert set(InventoryItem.objects.filter(order_id=hold.order_id).values_list("status", "locked_until")) == {
        ("HARD_LOCKED", order.expires_at)
    }


def test_sell_marks_seats_sold_and_order_paid(small_event):
    hold, _ = hold_and_checkout(small_event)
    order = holds.sell_order(order_id=hold.order_id)
    assert order.status == OrderStatus.PAID and order.paid_at
    sold = InventoryItem.objects.filter(order_id=hold.order_id)
    assert {(i.status, i.sold_to, i.locked_by, i.locked_until) for i in sold} == {("SOLD", "fan-1", None, None)}
    assert holds.sell_order(order_id=hold.order_id).status == OrderStatus.PAID  # idempotent for webhooks
    trail = list(
        AuditEntry.objects.filter(order_id=hold.order_id, subject="order")
        .order_by("id")
        .values_list("from_status", "to_status")
    )
    assert trail == [("", "HELD"), ("HELD", "PAYMENT_PENDING"), ("PAYMENT_PENDING", "PAID")]
    assert AuditEntry.objects.filter(order_id=hold.order_id, subject="item").count() == 6


def test_sold_seat_is_never_claimable_again(small_event):
    hold, _ = hold_and_checkout(small_event)
    holds.sell_order(order_id=hold.order_id)
    far = timezone.now() + dt.timedelta(days=30)
    with pytest.raises(holds.SeatsUnavailable):
        holds.hold_seats(event=small_event, owner="fan-2", seat_ids=[hold.items[0].id], now=far)
    assert holds.sweep_expired(now=far) == 0


def test_sell_is_refused_for_a_held_order(small_event):
    hold = holds.hold_seats(event=small_event, owner="fan-1", seat_ids=seat_ids(small_event, count=1))
    with pytest.raises(holds.InvalidTransition):
        holds.sell_order(order_id=hold.order_id)


def test_sell_is_refused_when_a_seat_went_to_someone_else(small_event):
    now = timezone.now()
    hold, order = hold_and_checkout(small_event, now=now)
    later = order.expires_at + dt.timedelta(seconds=1)
    holds.hold_seats(event=small_event, owner="fan-2", seat_ids=[hold.items[0].id], now=later)
    with pytest.raises(holds.InvalidTransition):
        holds.sell_order(order_id=hold.order_id, now=later)


def test_sell_honours_a_late_payment_if_nobody_took_the_seats(small_event):
    now = timezone.now()
    hold, order = hold_and_checkout(small_event, now=now)
    late = order.expires_at + dt.timedelta(seconds=5)
    assert holds.sell_order(order_id=hold.order_id, now=late).status == OrderStatus.PAID


def test_checkout_is_refused_after_the_hold_expired(small_event):
    now = timezone.now()
    hold = holds.hold_seats(event=small_event, owner="fan-1", seat_ids=seat_ids(small_event, count=1), now=now)
    with pytest.raises(holds.HoldExpired):
        holds.start_checkout(
            order_id=hold.order_id, owner="fan-1", now=now + dt.timedelta(seconds=small_event.hold_ttl_seconds)
        )
    assert Order.objects.get(pk=hold.order_id).status == OrderStatus.HELD


@pytest.mark.parametrize("status", ["PAYMENT_PENDING", "PAID", "CANCELLED"])
def test_checkout_is_refused_unless_held(small_event, status):
    hold, _ = hold_and_checkout(small_event)
    if status == "PAID":
        holds.sell_order(order_id=hold.order_id)
    if status == "CANCELLED":
        holds.release_order(order_id=hold.order_id)
    with pytest.raises(holds.InvalidTransition):
        holds.start_checkout(order_id=hold.order_id, owner="fan-1")


def test_release_frees_the_seats_and_cancels_the_order(small_event):
    ids = seat_ids(small_event, count=2)
    hold = holds.hold_seats(event=small_event, owner="fan-1", seat_ids=ids)
    order = holds.release_order(order_id=hold.order_id, owner="fan-1", actor="fan-1")
    assert order.status == OrderStatus.CANCELLED
    assert statuses(ids) == ["AVAILABLE", "AVAILABLE"]
    assert not OrderItem.objects.filter(is_live=True).exists()
    assert holds.release_order(order_id=hold.order_id, owner="fan-1").status == OrderStatus.CANCELLED  # no-op
    holds.hold_seats(event=small_event, owner="fan-2", seat_ids=ids)


def test_release_of_another_fans_order_is_not_found(small_event):
    hold = holds.hold_seats(event=small_event, owner="fan-1", seat_ids=seat_ids(small_event, count=1))
    with pytest.raises(holds.OrderNotFound):
        holds.release_order(order_id=hold.order_id, owner="fan-2")
    assert Order.objects.get(pk=hold.order_id).status == OrderStatus.HELD


def test_paid_order_cannot_be_released(small_event):
    hold, _ = hold_and_checkout(small_event)
    holds.sell_order(order_id=hold.order_id)
    with pytest.raises(holds.InvalidTransition):
        holds.release_order(order_id=hold.order_id, owner="fan-1")


def test_release_with_a_payment_in_flight_goes_through_the_hook(small_event):
    hold, _ = hold_and_checkout(small_event)
    calls = []

    def cancel_payment_first(*, order_id, final_status, reason, actor):
        calls.append((order_id, final_status, reason))
        holds.release_after_payment_cancelled(order_id=order_id, final_status=final_status, reason=reason, actor=actor)

    previous = hooks.payment_release_handler()  # the payments app's, when installed
    hooks.register_payment_release(cancel_payment_first)
    try:
        order = holds.release_order(order_id=hold.order_id, owner="fan-1", actor="fan-1", reason="released_by_fan")
    finally:
        hooks.register_payment_release(previous)
    assert calls == [(hold.order_id, "CANCELLED", "released_by_fan")]
    assert order.status == OrderStatus.CANCELLED


def test_payments_entry_point_releases_only_a_checkout(small_event):
    held = holds.hold_seats(event=small_event, owner="fan-1", seat_ids=seat_ids(small_event, count=1))
    paid, _ = hold_and_checkout(small_event, owner="fan-2", offset=5)
    holds.sell_order(order_id=paid.order_id)
    before = AuditEntry.objects.count()

    # A cart has no payment to cancel, and a paid order is never released:
    # neither can be released through the payments app's way in.
    with pytest.raises(holds.InvalidTransition):
        holds.release_after_payment_cancelled(order_id=held.order_id, actor="payments")
    with pytest.raises(holds.InvalidTransition):
        holds.release_after_payment_cancelled(order_id=paid.order_id, actor="payments")

    assert Order.objects.get(pk=held.order_id).status == OrderStatus.HELD
    assert Order.objects.get(pk=paid.order_id).status == OrderStatus.PAID
    assert AuditEntry.objects.count() == before


def test_payments_entry_point_releases_a_checkout_once(small_event):
    hold, _ = hold_and_checkout(small_event)
    order = holds.release_after_payment_cancelled(
        order_id=hold.order_id, final_status=OrderStatus.FAILED, reason="payment_failed", actor="payments"
    )
    assert order.status == OrderStatus.FAILED
    assert statuses([i.id for i in hold.items]) == ["AVAILABLE", "AVAILABLE"]
    again = holds.release_after_payment_cancelled(order_id=hold.order_id, actor="payments")
    assert again.status == OrderStatus.FAILED  # a webhook's retry is a no-op


def test_the_hook_registry_imports_nothing_of_inventory():
    # inventory asks the registry; the registry never calls back into the
    # services (the payments app does, through its own entry point).
    tree = ast.parse(Path(hooks.__file__).read_text())
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [name for name in imported if name and name.startswith("inventory")]


def test_checkout_past_its_deadline_is_expired_by_the_sweeper_through_the_hook(small_event):
    now = timezone.now()
    hold, order = hold_and_checkout(small_event, now=now)
    seen = []

    def payment_succeeded_after_all(*, order_id, final_status, reason, actor):
        seen.append(final_status)
        holds.sell_order(order_id=order_id, now=now)

    previous = hooks.payment_release_handler()  # the payments app's, when installed
    hooks.register_payment_release(payment_succeeded_after_all)
    try:
        holds.sweep_expired(now=order.expires_at + dt.timedelta(seconds=1))
    finally:
        hooks.register_payment_release(previous)
    assert seen == ["EXPIRED"]
    assert Order.objects.get(pk=hold.order_id).status == OrderStatus.PAID

    other, order2 = hold_and_checkout(small_event, owner="fan-2", now=now, offset=10)
    holds.sweep_expired(now=order2.expires_at)  # default hook: no payment, released directly
    assert Order.objects.get(pk=other.order_id).status == OrderStatus.EXPIRED


def test_every_state_change_is_audited(small_event):
    hold = holds.hold_seats(event=small_event, owner="fan-1", seat_ids=seat_ids(small_event, count=2))
    holds.release_order(order_id=hold.order_id, owner="fan-1", actor="fan-1", reason="released_by_fan")
    rows = set(
        AuditEntry.objects.filter(order_id=hold.order_id).values_list("subject", "from_status", "to_status", "actor")
    )
    assert rows == {
        ("order", "", "HELD", "fan-1"),
        ("item", "AVAILABLE", "SOFT_LOCKED", "fan-1"),
        ("order", "HELD", "CANCELLED", "fan-1"),
        ("item", "SOFT_LOCKED", "AVAILABLE", "fan-1"),
    }


# --- database backstops ------------------------------------------------------------


def test_database_refuses_a_seat_in_two_live_orders_even_if_code_is_bypassed(small_event):
    hold = holds.hold_seats(event=small_event, owner="fan-1", seat_ids=seat_ids(small_event, count=1))
    other = Order.objects.create(
        event=small_event, owner="evil", status="HELD", expires_at=timezone.now() + dt.timedelta(minutes=5)
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderItem.objects.create(order=other, item_id=hold.items[0].id, price=1)


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "SOLD"},  # sold without an owner or sale time
        {"status": "SOFT_LOCKED"},  # locked without owner, expiry, order
        {"status": "AVAILABLE", "locked_by": "x"},  # free but still locked by someone
        {"status": "GONE"},
    ],
)
def test_database_refuses_inconsistent_item_states(small_event, changes):
    item = items(small_event).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        InventoryItem.objects.filter(pk=item.pk).update(**changes)


def test_database_refuses_an_unknown_order_status(small_event):
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(event=small_event, owner="x", status="WHATEVER")


def test_sold_item_keeps_its_status_values_in_range(small_event):
    assert ItemStatus.SOLD in [c for c, _ in ItemStatus.choices]
