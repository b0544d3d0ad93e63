"""Read-only checks that money and tickets agree (BRIEF invariant 3), both
ways: our records against themselves (SQL, like ``inventory.invariants``),
and against the PSP's own list of intents.

- every PAID order has exactly one PAID payment, whose intent succeeded at
  the PSP for the same amount and was not refunded, and one valid ticket per
  sold seat;
- every PAID payment belongs to a PAID order; every REFUNDED payment has a
  refund, and the PSP says its intent was refunded (once, not more);
- no valid ticket for an order that is not paid;
- every intent that succeeded at the PSP is one of our payments, PAID or
  REFUNDED (a PENDING one is a missed webhook: reconciliation settles it).

States that are normal for a moment (a webhook on its way, a refund being
made) are reported only once they are older than ``grace``.
``manage.py check_payments`` runs them; see docs/payments.md for why this is
a command of its own next to ``check_inventory``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from inventory.invariants import Check
from payments.models import Payment, PaymentStatus
from payments.providers import Intent, IntentStatus, get_provider

SQL_CHECKS = (
    Check(
        "paid_order_without_one_paid_payment",
        "a PAID order without exactly one PAID payment",
        """SELECT o.id, count(p.id) FROM inventory_order o
           LEFT JOIN payments_payment p ON p.order_id = o.id AND p.status = 'PAID'
           WHERE o.status = 'PAID'
           GROUP BY o.id HAVING count(p.id) <> 1""",
    ),
    Check(
        "paid_payment_of_unpaid_order",
        "a PAID payment whose order is not PAID",
        """SELECT p.id, p.order_id, o.status FROM payments_payment p JOIN inventory_order o ON o.id = p.order_id
           WHERE p.status = 'PAID' AND o.status <> 'PAID'""",
    ),
    Check(
        "paid_payment_amount_differs_from_order",
        "a PAID payment whose amount or currency is not its order's total",
        """SELECT p.id, p.order_id, p.amount, p.currency, o.total, o.currency
           FROM payments_payment p JOIN inventory_order o ON o.id = p.order_id
           WHERE p.status = 'PAID' AND (p.amount <> round(o.total * 100) OR upper(p.currency) <> upper(o.currency))""",
    ),
    Check(
        "refunded_payment_without_refund",
        "a REFUNDED payment with no refund id",
        "SELECT p.id, p.order_id FROM payments_payment p WHERE p.status = 'REFUNDED' AND p.refund_id = ''",
    ),
    Check(
        "refunded_order_without_refunded_payment",
        "a REFUNDED order without a REFUNDED payment",
        """SELECT o.id FROM inventory_order o WHERE o.status = 'REFUNDED' AND NOT EXISTS (
               SELECT 1 FROM payments_payment p WHERE p.order_id = o.id AND p.status = 'REFUNDED')""",
    ),
    Check(
        "refund_unfinished",
        "a PAID payment with a refund claimed or made at the PSP but not finished (refund the order again)",
        """SELECT p.id, p.order_id, p.refund_reason, p.refund_id, p.updated_at FROM payments_payment p
           WHERE p.status = 'PAID' AND (p.refund_reason <> '' OR p.refund_id <> '') AND p.updated_at < %(settled)s""",
    ),
    Check(
        "paid_order_tickets_mismatch",
        "a PAID order without exactly one valid ticket per sold seat (order, seats, tickets, seats without one)",
        """SELECT * FROM (
               SELECT o.id, o.ticket_count,
                      (SELECT count(*) FROM inventory_item i WHERE i.order_id = o.id AND i.status = 'SOLD') AS sold,
                      (SELECT count(*) FROM payments_ticket t WHERE t.order_id = o.id AND t.voided_at IS NULL)
                          AS tickets,
                      (SELECT count(*) FROM inventory_item i WHERE i.order_id = o.id AND i.status = 'SOLD'
                          AND NOT EXISTS (SELECT 1 FROM payments_ticket t
                                          WHERE t.item_id = i.id AND t.order_id = o.id AND t.voided_at IS NULL))
                          AS unticketed
               FROM inventory_order o WHERE o.status = 'PAID'
           ) x WHERE x.tickets <> x.ticket_count OR x.unticketed > 0""",
    ),
    Check(
        "ticket_without_paid_seat",
        "a valid ticket whose order is not PAID or whose seat is not SOLD to that order",
        """SELECT t.id, t.order_id, o.status, i.id, i.status FROM payments_ticket t
           JOIN inventory_order o ON o.id = t.order_id JOIN inventory_item i ON i.id = t.item_id
           WHERE t.voided_at IS NULL
             AND (o.status <> 'PAID' OR i.status <> 'SOLD' OR i.order_id IS DISTINCT FROM t.order_id)""",
    ),
)

PSP_CHECKS = {
    "paid_payment_not_succeeded_at_psp": "a PAID payment whose intent did not succeed at the PSP (or is not there)",
    "paid_payment_amount_differs_at_psp": "a PAID payment whose intent at the PSP is for another amount or currency",
    "paid_payment_refunded_at_psp": "a PAID payment whose intent the PSP says was refunded",
    "refunded_payment_not_refunded_at_psp": "a REFUNDED payment whose intent the PSP does not show as refunded",
    "refunded_more_than_paid_at_psp": "an intent refunded for more than it was paid (refunded twice?)",
    "succeeded_intent_unknown": "an intent that succeeded at the PSP and is none of our payments",
    "succeeded_intent_unsettled": "an intent that succeeded at the PSP whose payment is not PAID or REFUNDED "
    "(a missed webhook: run reconcile_payments)",
}


@dataclass
class Findings:
    """{check name: offending rows}, and how much was looked at."""

    found: dict[str, list[tuple[object, ...]]] = field(default_factory=dict)
    intents_seen: int | None = None  # None: the PSP was not asked

    def add(self, name: str, row: tuple[object, ...]) -> None:
        self.found.setdefault(name, []).append(row)


def explanation(name: str) -> str:
    for check in SQL_CHECKS:
        if check.name == name:
            return check.explanation
    return PSP_CHECKS[name]


def find_mismatches(
    *, psp: bool = True, grace: dt.timedelta = dt.timedelta(minutes=5), now: dt.datetime | None = None
) -> Findings:
    """Every failing check with its rows (each SQL check: at most 100).
    With ``psp``, the PSP's list of intents is read (one call per 100
    intents); ProviderError leaves when it cannot be read."""
    now = now or timezone.now()
    findings = Findings()
    with connection.cursor() as cursor:
        for check in SQL_CHECKS:
            cursor.execute(f"{check.sql} LIMIT 100", {"settled": now - grace})
            rows = cursor.fetchall()
            if rows:
                findings.found[check.name] = rows
    if psp:
        _compare_with_psp(findings, settled_before=now - grace)
    return findings


def all_intents() -> Iterator[Intent]:
    """Every intent of the account, page by page."""
    provider = get_provider()
    after: str | None = None
    while True:
        page = provider.list_intents(starting_after=after)
        yield from page.intents
        if not page.has_more or not page.intents:
            return
        after = page.intents[-1].id


def _compare_with_psp(findings: Findings, *, settled_before: dt.datetime) -> None:
    # The PSP first, then our rows: a payment row is written before its intent
    # is created, so every intent of ours listed here has its row in the read below.
    intents = list(all_intents())
    findings.intents_seen = len(intents)
    by_intent: dict[str, Payment] = {}
    by_id: dict[int, Payment] = {}
    fields = ("id", "order_id", "intent_id", "status", "amount", "currency", "refund_reason", "refund_id", "updated_at")
    for payment in Payment.objects.only(*fields):
        by_id[payment.pk] = payment
        if payment.intent_id:
            by_intent[payment.intent_id] = payment
    at_psp: dict[str, Intent] = {}
    for intent in intents:
        at_psp[intent.id] = intent
        if intent.amount_refunded > intent.amount:
            findings.add("refunded_more_than_paid_at_psp", (intent.id, intent.amount, intent.amount_refunded))
        if intent.status != IntentStatus.SUCCEEDED:
            continue
        ours = by_intent.get(intent.id) or _by_metadata(intent, by_id)
        if ours is None:
            findings.add("succeeded_intent_unknown", (intent.id, intent.amount, intent.currency, intent.metadata))
        elif ours.status not in (PaymentStatus.PAID, PaymentStatus.REFUNDED) and ours.updated_at < settled_before:
            findings.add("succeeded_intent_unsettled", (intent.id, ours.pk, ours.order_id, ours.status))
    for payment in by_intent.values():
        listed = at_psp.get(payment.intent_id or "")
        if listed is None and payment.updated_at >= settled_before:
            continue  # paid after the PSP was listed
        if payment.status == PaymentStatus.PAID:
            _check_paid(findings, payment, listed)
        elif payment.status == PaymentStatus.REFUNDED and (listed is None or listed.amount_refunded < listed.amount):
            refunded = None if listed is None else listed.amount_refunded
            findings.add(
                "refunded_payment_not_refunded_at_psp", (payment.pk, payment.order_id, payment.intent_id, refunded)
            )


def _by_metadata(intent: Intent, by_id: dict[int, Payment]) -> Payment | None:
    """The payment an intent names in its metadata, when that payment has no
    intent yet (the PSP answered before the checkout stored the id)."""
    try:
        payment = by_id.get(int(intent.metadata.get("payment_id") or "0"))
    except ValueError:
        return None
    return payment if payment is not None and not payment.intent_id else None


def _check_paid(findings: Findings, payment: Payment, intent: Intent | None) -> None:
    row = (payment.pk, payment.order_id, payment.intent_id)
    if intent is None or intent.status != IntentStatus.SUCCEEDED:
        findings.add("paid_payment_not_succeeded_at_psp", (*row, intent.status if intent else "missing"))
    elif intent.amount != payment.amount or intent.currency.lower() != payment.currency.lower():
        findings.add(
            "paid_payment_amount_differs_at_psp",
            (*row, f"{payment.amount} {payment.currency}", f"{intent.amount} {intent.currency}"),
        )
    if intent is not None and intent.amount_refunded and not (payment.refund_reason or payment.refund_id):
        # (A refund under way is refund_unfinished's, after the grace.)
        findings.add("paid_payment_refunded_at_psp", (*row, intent.amount_refunded))
