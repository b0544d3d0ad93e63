"""Every statement the hold services run, built from named fragments. Each
statement's rows are parsed once, right after the fetch, into the row type of
``records`` its comment names.

Why raw SQL: a claim must lock rows in id order, re-check them after any wait
and return what it took, in one round trip (docs/locking.md); the fast hold
also writes the order, its lines and their audit rows in that same statement
(docs/performance.md). The ORM cannot say either.

Values are always bound parameters (``%(name)s``). The f-strings below only
join the fixed fragments of this module and status literals taken from the
models' enums, never anything a request sent: where ruff's check for SQL
built from strings flags one, its ``# noqa: S608`` says so.
"""

from __future__ import annotations

from inventory.models import AuditEntry, ItemStatus, OrderStatus
from inventory.services.holds.records import Verdict


def _literal(value: str) -> str:
    """An SQL string literal for one of our own enum values."""
    if not value.replace("_", "").isalpha():
        raise ValueError(f"not a status literal: {value!r}")
    return f"'{value}'"


_AVAILABLE = _literal(ItemStatus.AVAILABLE.value)
_SOFT_LOCKED = _literal(ItemStatus.SOFT_LOCKED.value)
_HARD_LOCKED = _literal(ItemStatus.HARD_LOCKED.value)
_SOLD = _literal(ItemStatus.SOLD.value)
_HELD = _literal(OrderStatus.HELD.value)
_PAYMENT_PENDING = _literal(OrderStatus.PAYMENT_PENDING.value)
_PAID = _literal(OrderStatus.PAID.value)
_SUBJECT_ITEM = _literal(AuditEntry.Subject.ITEM.value)
_SUBJECT_ORDER = _literal(AuditEntry.Subject.ORDER.value)


# --- fragments ------------------------------------------------------------------

# A lock whose deadline has passed. Claims take such rows at once, before any
# sweeper has freed them (invariant 2).
EXPIRED_LOCK = f"i.status IN ({_SOFT_LOCKED}, {_HARD_LOCKED}) AND i.locked_until <= %(now)s"

# The "claimable" rule: free, or an expired lock.
CLAIMABLE = f"(i.status = {_AVAILABLE} OR ({EXPIRED_LOCK}))"

# The fan's orders that count toward the per-fan cap: paid, in checkout, or
# held and still in time (selectors.live_orders lists the same ones).
_FAN_LIVE_ORDERS = f"""FROM inventory_order
        WHERE event_id = %(event)s AND owner = %(owner)s
          AND (status IN ({_PAID}, {_PAYMENT_PENDING}) OR (status = {_HELD} AND expires_at > %(now)s))"""

# What the fan asked for: seats only (chosen seats), of one section when given.
_REQUESTED_KIND = (
    "(NOT %(seated_only)s OR i.seat_id IS NOT NULL)"
    " AND (%(section)s::bigint IS NULL OR i.section_id = %(section)s::bigint)"
)

_IN_SECTION = "i.event_id = %(event)s AND i.section_id = %(section)s"

# Candidates for best-available, best first.
_CANDIDATES = "SELECT i.id, i.row_index, i.number, i.rank FROM inventory_item i"
_BEST_FIRST = """ORDER BY i.rank, i.row_index, i.number
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED"""


def _claim_target(*, columns: str, claimable: str, also: str = "") -> str:
    """The requested rows a claim may take, with their section code and
    price, locked in id order (re-checked by PostgreSQL after any wait)."""
    return f"""SELECT {columns}
        FROM inventory_item i
        JOIN inventory_section s ON s.id = i.section_id
        JOIN inventory_pricetier pt ON pt.event_id = i.event_id AND pt.section_id = i.section_id
        WHERE i.event_id = %(event)s AND i.id = ANY(%(ids)s) AND {claimable}
          AND {_REQUESTED_KIND}{also}
        ORDER BY i.id
        FOR UPDATE OF i"""  # noqa: S608 - fixed fragments


# The claimed rows (CTE ``target``) go into the fan's cart.
_SOFT_LOCK_TARGET = f"""UPDATE inventory_item i
    SET status = {_SOFT_LOCKED}, locked_by = %(owner)s, locked_until = %(until)s, order_id = %(order)s,
        updated_at = %(now)s
    FROM target
    WHERE i.id = target.id AND i.id = ANY(%(ids)s)  -- keeps the plan on the primary key, with or without stats"""  # noqa: S608 - fixed fragments

# Locked rows back to AVAILABLE, cleared of owner, deadline and order.
_FREE_ITEMS = f"""UPDATE inventory_item i
    SET status = {_AVAILABLE}, locked_by = NULL, locked_until = NULL, order_id = NULL,
        updated_at = %(now)s"""  # noqa: S608 - fixed fragments

# A new hold: the order, its lines, and the audit rows of both.
_INSERT_ORDER = """INSERT INTO inventory_order
            (id, event_id, owner, status, total, currency, ticket_count, expires_at, created_at, updated_at,
             idempotency_key, request_hash)"""


def _insert_lines(claimed: str) -> str:
    """The order's lines, one per claimed row of ``claimed`` (aliased c: id, price, fee)."""
    return f"""INSERT INTO inventory_orderitem (order_id, item_id, price, fee, is_live)
        SELECT %(order)s, c.id, c.price, c.fee, true FROM {claimed}"""  # noqa: S608 - fixed fragments


def _insert_hold_audit(claimed: str, *, from_status: str) -> str:
    """One audit row per claimed item of ``claimed`` (aliased c) → SOFT_LOCKED,
    and one for the new order → HELD."""
    return f"""INSERT INTO inventory_auditentry
            (created_at, event_id, subject, order_id, item_id, from_status, to_status, reason, actor, data)
        SELECT %(now)s, %(event)s, {_SUBJECT_ITEM}, %(order)s, c.id, {from_status}, {_SOFT_LOCKED}, %(reason)s,
               %(owner)s, '{{}}'::jsonb
        FROM {claimed}
        UNION ALL
        SELECT %(now)s, %(event)s, {_SUBJECT_ORDER}, %(order)s, NULL, '', {_HELD}, %(reason)s, %(owner)s,
               '{{}}'::jsonb"""  # noqa: S608 - fixed fragments


# --- holds ------------------------------------------------------------------------

FAN_TICKETS = f"SELECT coalesce(sum(ticket_count), 0) {_FAN_LIVE_ORDERS}"

# The general claim: one statement, claimable rows (expired locks included)
# locked in id order, re-checked after any wait. Rows: records.ClaimedRow.
_CLAIM_TARGET = _claim_target(
    columns="i.id, i.status AS old_status, i.order_id AS old_order, s.code, pt.price, pt.fee, pt.currency",
    claimable=CLAIMABLE,
)
CLAIM = f"""
    WITH target AS (
        {_CLAIM_TARGET}
    )
    {_SOFT_LOCK_TARGET}
    RETURNING i.id, target.old_status, target.old_order, target.code, i.row_label, i.number, i.place_number,
              i.seat_id, target.price, target.fee, target.currency
"""

# The order, lines and audit rows of a general claim that got every row it
# asked for; the items come as arrays (the claim's rows, parsed in Python).
_ARRAY_LINES = _insert_lines(
    "unnest(%(items)s::bigint[], %(prices)s::numeric[], %(fees)s::numeric[]) AS c(id, price, fee)"
)
_ARRAY_AUDIT = _insert_hold_audit(
    "unnest(%(items)s::bigint[], %(froms)s::text[]) AS c(id, from_status)", from_status="c.from_status"
)
INSERT_HOLD = f"""
    WITH new_order AS (
        {_INSERT_ORDER}
        VALUES (%(order)s, %(event)s, %(owner)s, {_HELD}, %(total)s, %(currency)s, %(count)s, %(until)s,
                %(now)s, %(now)s, %(key)s, %(key_hash)s)
    ), new_items AS (
        {_ARRAY_LINES}
    )
    {_ARRAY_AUDIT}
"""

# The common case in one statement: free seats only (no expired lock to take
# over, so no order to displace), the fan's cap checked in the same snapshot
# (taken after the fan's advisory lock), then the order, its lines and the
# audit rows. Fewer rows than asked → the caller rolls back; when the rows the
# statement adds about each id show the seats are simply taken, it refuses at
# once, otherwise the general path explains or handles the difference.
# Rows: see records.parse_fast_hold.
_FAST_TARGET = _claim_target(
    columns="i.id, s.code, pt.price, pt.fee, pt.currency",
    claimable=f"i.status = {_AVAILABLE}",
    also=" AND (SELECT n FROM used) + %(count)s <= %(max)s",
)
_CLAIMED_LINES = _insert_lines("claimed c")
_CLAIMED_AUDIT = _insert_hold_audit("claimed c", from_status=_AVAILABLE)
_HELD_VERDICT, _INVALID, _TAKEN, _RACED, _EXPIRED = (
    _literal(v) for v in (Verdict.HELD, Verdict.INVALID, Verdict.TAKEN, Verdict.RACED, Verdict.EXPIRED)
)
FAST_HOLD = f"""
    WITH used AS (
        SELECT coalesce(sum(ticket_count), 0) AS n {_FAN_LIVE_ORDERS}
    ), target AS (
        {_FAST_TARGET}
    ), claimed AS (
        {_SOFT_LOCK_TARGET}
        RETURNING i.id, target.code, i.row_label, i.number, i.place_number, target.price, target.fee, target.currency
    ), new_order AS (
        {_INSERT_ORDER}
        SELECT %(order)s, %(event)s, %(owner)s, {_HELD}, coalesce(sum(c.price + c.fee), 0),
               coalesce(min(c.currency), 'EUR'), count(*), %(until)s, %(now)s, %(now)s, %(key)s, %(key_hash)s
        FROM claimed c
    ), new_items AS (
        {_CLAIMED_LINES}
    ), audit AS (
        {_CLAIMED_AUDIT}
    ), seen AS (
        SELECT i.id, i.status, i.locked_until, ({_REQUESTED_KIND}) AS valid
        FROM inventory_item i
        WHERE i.event_id = %(event)s AND i.id = ANY(%(ids)s)
    )
    SELECT c.id, {_AVAILABLE}, NULL::uuid, c.code, c.row_label, c.number, c.place_number, NULL::bigint, c.price,
           c.fee, c.currency, {_HELD_VERDICT}, NULL::bigint
    FROM claimed c
    UNION ALL
    -- Only when the claim fell short: what this snapshot saw of each id, so a
    -- plain "someone else has them" needs no second transaction to explain.
    SELECT s.id, s.status, NULL::uuid, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           CASE WHEN NOT s.valid THEN {_INVALID}
                WHEN s.status = {_SOLD} OR s.locked_until > %(now)s THEN {_TAKEN}
                WHEN s.status = {_AVAILABLE} THEN {_RACED}
                ELSE {_EXPIRED} END,
           (SELECT n FROM used)
    FROM seen s
    WHERE (SELECT count(*) FROM claimed) < %(count)s
"""  # noqa: S608 - fixed fragments

# --- best available ------------------------------------------------------------------
# Rows of PICK_FREE, PICK_EXPIRED, FREE_RUNS and LOCK_IDS: records.CandidateRow.

PICK_FREE = f"""
    {_CANDIDATES}
    WHERE {_IN_SECTION} AND i.status = {_AVAILABLE}
    {_BEST_FIRST}
"""

PICK_EXPIRED = f"""
    {_CANDIDATES}
    WHERE {_IN_SECTION}
      AND {EXPIRED_LOCK}
    {_BEST_FIRST}
"""

# Runs of adjacent free seats long enough for the party, for when the best
# seats are too scattered (read without locks; the pick is locked afterwards).
FREE_RUNS = f"""
    WITH free AS (
        SELECT i.id, i.row_index, i.number, i.rank,
               i.number - row_number() OVER (PARTITION BY i.row_index ORDER BY i.number) AS grp
        FROM inventory_item i
        WHERE {_IN_SECTION} AND i.status = {_AVAILABLE}
    ), runs AS (
        SELECT row_index, grp FROM free GROUP BY row_index, grp HAVING count(*) >= %(n)s
    )
    SELECT f.id, f.row_index, f.number, f.rank FROM free f JOIN runs r USING (row_index, grp)
"""  # noqa: S608 - fixed fragments

LOCK_IDS = f"""
    {_CANDIDATES}
    WHERE i.id = ANY(%(ids)s) AND {CLAIMABLE}
    ORDER BY i.id
    FOR UPDATE SKIP LOCKED
"""

CLAIMABLE_COUNT = f"""
    SELECT count(*) FROM inventory_item i
    WHERE {_IN_SECTION} AND {CLAIMABLE}
"""  # noqa: S608 - fixed fragments

# --- the order lifecycle ----------------------------------------------------------

# Rows: records.ItemChange.
FREE_ORDER_ITEMS = f"""
    WITH target AS (
        SELECT id, status, order_id FROM inventory_item
        WHERE order_id = ANY(%(orders)s) AND status IN ({_SOFT_LOCKED}, {_HARD_LOCKED})
        ORDER BY id
        FOR UPDATE
    )
    {_FREE_ITEMS}
    FROM target WHERE i.id = target.id
    RETURNING i.id, target.status, target.order_id, i.event_id
"""  # noqa: S608 - fixed fragments

# Rows: records.OrderChange.
END_ORDERS = """
    WITH old AS (
        SELECT id, status FROM inventory_order
        WHERE id = ANY(%(orders)s) AND status = ANY(%(from)s) AND (NOT %(expired_only)s OR expires_at <= %(now)s)
        ORDER BY id
        FOR UPDATE
    )
    UPDATE inventory_order o SET status = %(to)s, updated_at = %(now)s
    FROM old WHERE o.id = old.id
    RETURNING o.id, old.status, o.event_id
"""

UNLIVE = "UPDATE inventory_orderitem SET is_live = false WHERE order_id = ANY(%(orders)s) AND is_live"

# Rows: records.MovedItem.
CHECKOUT_ITEMS = f"""
    WITH target AS (
        SELECT id FROM inventory_item
        WHERE order_id = %(order)s AND status = {_SOFT_LOCKED} AND locked_until > %(now)s
        ORDER BY id
        FOR UPDATE
    )
    UPDATE inventory_item i SET status = {_HARD_LOCKED}, locked_until = %(until)s,
        updated_at = %(now)s
    FROM target WHERE i.id = target.id
    RETURNING i.id, i.event_id
"""  # noqa: S608 - fixed fragments

# Honours a successful payment even past the checkout deadline, as long as
# nobody claimed the seats meanwhile (they still point at this order).
# Rows: records.MovedItem.
SELL_ITEMS = f"""
    WITH target AS (
        SELECT id FROM inventory_item
        WHERE order_id = %(order)s AND status = {_HARD_LOCKED}
        ORDER BY id
        FOR UPDATE
    )
    UPDATE inventory_item i SET status = {_SOLD}, sold_to = i.locked_by, sold_at = %(now)s,
        locked_by = NULL, locked_until = NULL, updated_at = %(now)s
    FROM target WHERE i.id = target.id
    RETURNING i.id, i.event_id
"""  # noqa: S608 - fixed fragments

# A declined payment gives the fan their cart back: the checkout's seats go
# back to SOFT_LOCKED, keeping the checkout's deadline, while it lasts.
# Rows: records.MovedItem.
UNCHECKOUT_ITEMS = f"""
    WITH target AS (
        SELECT id FROM inventory_item
        WHERE order_id = %(order)s AND status = {_HARD_LOCKED} AND locked_until > %(now)s
        ORDER BY id
        FOR UPDATE
    )
    UPDATE inventory_item i SET status = {_SOFT_LOCKED}, updated_at = %(now)s
    FROM target WHERE i.id = target.id
    RETURNING i.id, i.event_id
"""  # noqa: S608 - fixed fragments

# Checkouts are left to expire_order (and the payment hook). Rows: records.ItemChange.
SWEEP_BATCH = f"""
    WITH batch AS (
        SELECT i.id, i.status, i.order_id FROM inventory_item i
        JOIN inventory_order o ON o.id = i.order_id
        WHERE {EXPIRED_LOCK}
          AND o.status <> {_PAYMENT_PENDING}
        ORDER BY i.id
        LIMIT %(limit)s
        FOR UPDATE OF i SKIP LOCKED
    )
    {_FREE_ITEMS}
    FROM batch WHERE i.id = batch.id
    RETURNING i.id, batch.status, batch.order_id, i.event_id
"""  # noqa: S608 - fixed fragments

# A refunded sale: the order's sold items back on sale, cleared of buyer and
# order, locked in id order. Rows: records.ItemChange.
FREE_SOLD_ITEMS = f"""
    WITH target AS (
        SELECT id, status, order_id FROM inventory_item
        WHERE order_id = %(order)s AND status = {_SOLD}
        ORDER BY id
        FOR UPDATE
    )
    {_FREE_ITEMS}, sold_to = NULL, sold_at = NULL
    FROM target WHERE i.id = target.id
    RETURNING i.id, target.status, target.order_id, i.event_id
"""  # noqa: S608 - fixed fragments
