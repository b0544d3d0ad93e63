"""A promoter refunds a whole paid order from the admin: once at the PSP,
the tickets void, the seats back on sale, an audit entry naming them; only
with the refund permission. Real localstripe, real PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.db import connections
from django.test import Client
from django.utils import translation

from inventory.models import AuditEntry, InventoryItem, ItemStatus, OrderItem, OrderStatus
from inventory.tests.helpers import seat_ids
from payments import refunds
from payments.errors import RefundRefused
from payments.models import Payment, PaymentStatus, Ticket
from payments.providers import ProviderUnavailable, get_provider
from payments.tests.helpers import hold, hold_seats, pay_order

pytestmark = pytest.mark.django_db

ORDERS = "/admin/inventory/order/"


def staff_client(django_user_model, username, *perms):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user(username=username, password="pw-staff-1", is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def cashier(django_user_model):  # type: ignore[no-untyped-def]
    """Staff with the refund permission (not a superuser)."""
    return staff_client(django_user_model, "cashier", "inventory.view_order", "payments.refund_payment")


@pytest.fixture
def usher(django_user_model):  # type: ignore[no-untyped-def]
    """Staff who can look orders up, without the refund permission."""
    return staff_client(django_user_model, "usher", "inventory.view_order", "inventory.change_order")


def refunds_at_the_psp(intent_id):  # type: ignore[no-untyped-def]
    return get_provider().inner.client.v1.refunds.list({"payment_intent": intent_id}).data


def post_refund(client, order, confirm=True):  # type: ignore[no-untyped-def]
    body = {"action": "refund_orders", "_selected_action": [str(order.pk)]}
    if confirm:
        body["confirm"] = "yes"
    return client.post(ORDERS, body)


@pytest.fixture
def sold(fan, small_event):  # type: ignore[no-untyped-def]
    """A paid order of two chosen seats: (order, payment, the seat ids)."""
    ids = seat_ids(small_event, count=2)
    order = pay_order(fan, hold_seats(fan, ids))
    assert order.status == OrderStatus.PAID
    return order, Payment.objects.get(order=order), ids


def test_a_promoter_with_the_permission_refunds_a_whole_order_from_the_admin(cashier, fan, second_fan, sold):
    order, payment, ids = sold
    assert 'value="refund_orders"' in cashier.get(ORDERS).content.decode()

    confirmation = post_refund(cashier, order, confirm=False)

    assert confirmation.status_code == 200
    with translation.override("es"):
        assert translation.gettext("Refund these orders?") in confirmation.content.decode()
    assert str(order.pk) in confirmation.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID  # nothing yet

    done = post_refund(cashier, order)

    assert done.status_code == 302
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert payment.status == PaymentStatus.REFUNDED
    assert payment.refund_id.startswith("re_") and payment.refund_reason == "refunded by cashier"
    assert [r.id for r in refunds_at_the_psp(payment.intent_id)] == [payment.refund_id]
    # the tickets are void, and say so on the fan's page (no QR code left to scan)
    assert Ticket.objects.filter(order=order, voided_at__isnull=True).count() == 0
    assert Ticket.objects.filter(order=order).count() == 2
    page = fan.get(f"/orders/{order.pk}/tickets/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.count("VOID") == 2 and 'src="data:image/svg+xml' not in page
    assert "This order was refunded" in fan.get(f"/orders/{order.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # the seats are on sale again, cleared, and the order's lines dead
    assert list(InventoryItem.objects.filter(pk__in=ids).values_list("status", flat=True)) == ["AVAILABLE"] * 2
    assert not OrderItem.objects.filter(order=order, is_live=True).exists()
    # the audit trail names the promoter, for the order and each seat
    audit = AuditEntry.objects.filter(order=order, reason="refunded")
    assert {(a.subject, a.from_status, a.to_status, a.actor) for a in audit} == {
        ("order", "PAID", "REFUNDED", "cashier"),
        ("item", "SOLD", "AVAILABLE", "cashier"),
    }
    assert audit.count() == 3
    assert LogEntry.objects.filter(object_id=str(order.pk), user__username="cashier").exists()

    # and another fan buys the same seats: new tickets for them
    again = pay_order(second_fan, hold_seats(second_fan, ids))
    assert again.status == OrderStatus.PAID
    assert Ticket.objects.filter(order=again, voided_at__isnull=True).count() == 2
    assert InventoryItem.objects.filter(pk__in=ids, status=ItemStatus.SOLD, order=again).count() == 2


def test_refunding_twice_refunds_once_at_the_psp(cashier, sold):
    order, payment, _ = sold
    post_refund(cashier, order)

    second = post_refund(cashier, order)

    assert second.status_code == 302
    messages = [m.message for m in second.wsgi_request._messages]  # type: ignore[attr-defined]
    with translation.override("es"):  # the admin speaks the promoter's language, es by default
        words = translation.gettext("%(order)s: already refunded (%(refund)s).")
    already = words.split("%(order)s")[1].split("%(refund)s")[0]
    assert any(already in m for m in messages), messages
    payment.refresh_from_db()
    assert len(refunds_at_the_psp(payment.intent_id)) == 1
    assert AuditEntry.objects.filter(order=order, subject="order", to_status="REFUNDED").count() == 1


def test_staff_without_the_permission_cannot_refund(usher, sold):
    order, payment, ids = sold
    assert 'value="refund_orders"' not in usher.get(ORDERS).content.decode()

    forged = post_refund(usher, order)

    assert forged.status_code == 200  # the order list again: no action of theirs matched
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PAID
    assert refunds_at_the_psp(payment.intent_id) == []
    assert InventoryItem.objects.filter(pk__in=ids, status=ItemStatus.SOLD).count() == 2


def test_an_unpaid_order_is_not_refunded(cashier, fan, small_event):
    order = hold(fan, 1)

    response = post_refund(cashier, order)

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.HELD
    with pytest.raises(RefundRefused):
        refunds.refund_order(order_id=order.pk, actor="cashier")


def test_the_psp_failing_gives_the_claim_back_and_trying_again_refunds(sold, settings):
    order, payment, _ = sold
    api_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE, settings.STRIPE_MAX_RETRIES = "http://127.0.0.1:9", 0  # nothing listens there

    with pytest.raises(ProviderUnavailable):
        refunds.refund_order(order_id=order.pk, actor="cashier")

    payment.refresh_from_db()
    assert (payment.status, payment.refund_reason, payment.refund_id) == (PaymentStatus.PAID, "", "")
    settings.STRIPE_API_BASE = api_base
    result = refunds.refund_order(order_id=order.pk, actor="cashier")
    assert result.outcome == refunds.Outcome.REFUNDED
    assert len(refunds_at_the_psp(payment.intent_id)) == 1


def test_a_refund_made_at_the_psp_but_not_finished_is_finished_without_a_second_refund(sold):
    order, payment, _ = sold
    # Step 2 happened (claim and refund id stored), then the process died.
    refund_id = get_provider().refund(intent_id=payment.intent_id, reason="refunded by cashier")
    Payment.objects.filter(pk=payment.pk).update(refund_reason="refunded by cashier", refund_id=refund_id)

    result = refunds.refund_order(order_id=order.pk, actor="cashier")

    assert (result.outcome, result.refund_id) == (refunds.Outcome.REFUNDED, refund_id)
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert len(refunds_at_the_psp(payment.intent_id)) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_of_one_order_refund_once(sold):
    order, payment, _ = sold
    start = threading.Barrier(4)
    outcomes: list[object] = []

    def refund() -> None:
        start.wait(10)
        try:
            outcomes.append(refunds.refund_order(order_id=order.pk, actor="cashier").outcome)
        except Exception as exc:  # the assertion below names it
            outcomes.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refund) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert outcomes.count(refunds.Outcome.REFUNDED) == 1, outcomes
    assert set(outcomes) <= {refunds.Outcome.REFUNDED, refunds.Outcome.IN_PROGRESS, refunds.Outcome.ALREADY_REFUNDED}
    assert len(refunds_at_the_psp(payment.intent_id)) == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED


def test_the_payments_admin_pages_load(promoter_client, sold):
    order, payment, _ = sold
    for url in (
        "/admin/payments/payment/",
        f"/admin/payments/payment/?q={payment.intent_id}",
        "/admin/payments/ticket/",
        f"/admin/payments/ticket/{Ticket.objects.filter(order=order).first().pk}/change/",  # type: ignore[union-attr]
        f"/admin/inventory/order/{order.pk}/change/",
    ):
        response = promoter_client.get(url)
        assert response.status_code == 200, url
    page = promoter_client.get(f"/admin/inventory/order/{order.pk}/change/").content.decode()
    assert payment.intent_id in page  # the payments inline
