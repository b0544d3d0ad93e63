"""The inventory half of a refund: PAID → REFUNDED, the seats back on sale
at once, audited under the promoter's name (holds.refund_order)."""

from __future__ import annotations

import pytest

from inventory.invariants import find_violations
from inventory.models import AuditEntry, InventoryItem, ItemStatus, OrderItem, OrderStatus
from inventory.services import holds
from inventory.tests.helpers import seat_ids

pytestmark = pytest.mark.django_db


def sold(event, owner="fan-1", count=2):  # type: ignore[no-untyped-def]
    ids = seat_ids(event, count=count)
    hold = holds.hold_seats(event=event, owner=owner, seat_ids=ids)
    holds.start_checkout(order_id=hold.order_id, owner=owner)
    return holds.sell_order(order_id=hold.order_id), ids


def test_a_refunded_order_gives_its_seats_back_for_sale(small_event):
    order, ids = sold(small_event)

    refunded = holds.refund_order(order_id=order.pk, actor="promoter")

    assert refunded.status == OrderStatus.REFUNDED
    items = InventoryItem.objects.filter(pk__in=ids)
    assert {(i.status, i.order_id, i.sold_to, i.sold_at, i.locked_by) for i in items} == {
        (ItemStatus.AVAILABLE, None, None, None, None)
    }
    assert not OrderItem.objects.filter(order=order, is_live=True).exists()
    assert find_violations() == {}
    entries = AuditEntry.objects.filter(order=order, reason="refunded")
    assert sorted((e.subject, e.from_status, e.to_status, e.actor) for e in entries) == [
        ("item", "SOLD", "AVAILABLE", "promoter"),
        ("item", "SOLD", "AVAILABLE", "promoter"),
        ("order", "PAID", "REFUNDED", "promoter"),
    ]
    # on sale again at once, the same seats, to someone else
    again = holds.hold_seats(event=small_event, owner="fan-2", seat_ids=ids)
    assert again.status == OrderStatus.HELD


def test_refunding_again_changes_nothing(small_event):
    order, _ = sold(small_event)
    holds.refund_order(order_id=order.pk, actor="promoter")

    holds.refund_order(order_id=order.pk, actor="someone else")

    assert AuditEntry.objects.filter(order=order, reason="refunded", subject="order").count() == 1


def test_only_a_paid_order_can_be_refunded(small_event):
    hold = holds.hold_seats(event=small_event, owner="fan-1", seat_ids=seat_ids(small_event, count=1))

    with pytest.raises(holds.InvalidTransition):
        holds.refund_order(order_id=hold.order_id, actor="promoter")


def test_releasing_a_refunded_order_changes_nothing(small_event):
    order, _ = sold(small_event)
    holds.refund_order(order_id=order.pk, actor="promoter")

    released = holds.release_order(order_id=order.pk)
    expired = holds.expire_order(order_id=order.pk)

    assert released.status == expired.status == OrderStatus.REFUNDED


def test_a_refunded_order_with_live_lines_is_a_violation(small_event):
    order, _ = sold(small_event)
    holds.refund_order(order_id=order.pk, actor="promoter")

    OrderItem.objects.filter(order=order).update(is_live=True)  # bypass the services

    assert "live_line_of_ended_order" in find_violations()
