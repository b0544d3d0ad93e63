"""The sale's built-in metric sources, read at scrape time (ticketing.metrics
registers them): the waiting room from Redis, inventory, orders and payments
from PostgreSQL. Every figure is where the sale keeps it, so any process
answers the same numbers and nothing is counted twice or lost with a process.

Costs per scrape: one SMEMBERS and one pipelined round trip of a few commands
per lane for the queue; four grouped queries on PostgreSQL (the inventory
count reads the events' rows by their (event, status) index). A 15 s scrape
interval makes that noise next to a sale.

Labels stay few: an event is its slug, a lane its id and kind; only events
whose show has not been over for a week are reported.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from ticketing.metrics import NAMESPACE

RECENT = dt.timedelta(days=7)


def _shared(name: str, compute: Callable[[], list[Any]]) -> list[Any]:
    """Rows of a PostgreSQL aggregate, computed by one process and shared
    through the cache for METRICS_DB_CACHE_SECONDS: every web process is
    scraped, and counting 142,000 places costs tens of milliseconds. The
    cache fails open (IGNORE_EXCEPTIONS): with Redis down each process counts."""
    seconds = settings.METRICS_DB_CACHE_SECONDS
    if not seconds:
        return compute()
    key = f"metrics:rows:{name}"
    rows = cache.get(key)
    if rows is None:
        rows = compute()
        cache.set(key, rows, timeout=seconds)
    return cast(list[Any], rows)


def _recent_events() -> dict[int, str]:
    from inventory.models import Event

    since = timezone.now() - RECENT
    return dict(Event.objects.filter(starts_at__gte=since).values_list("pk", "slug"))


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{NAMESPACE}_{name}", doc, labels=labels)


# --- the waiting room ---------------------------------------------------------------


def queue_families() -> Iterator[Metric]:
    """Per event with a queue: fans waiting per lane (exact: the lane's
    counters, not the last tick's), in store, open offers, paused, the
    configured and measured admission rates, and how old the last tick is
    (a stale tick means no admitter is running)."""
    from queueroom import keys
    from queueroom import redis_scripts as rs
    from queueroom.models import Lane

    client = rs.client()
    active = sorted(int(x) for x in client.smembers(keys.active()))
    events = _recent_events()
    active = [e for e in active if e in events]
    lanes = list(Lane.objects.filter(event_id__in=active).values_list("event_id", "pk", "kind"))
    pipe = client.pipeline(transaction=False)
    for event_id in active:
        pipe.hmget(keys.meta(event_id), ["in_store", "offers", "paused", "last_t"])
        pipe.get(keys.state(event_id))
    for event_id, lane_id, _kind in lanes:
        pipe.hmget(keys.lane(event_id, lane_id), ["seq", "front", "ema", "opened"])
        pipe.zcard(keys.gone(event_id, lane_id))
    replies: list[Any] = pipe.execute()

    waiting = _gauge(
        "queue_waiting", "Fans waiting in the queue (pre-queue included), per lane", ["event", "lane", "kind"]
    )
    per_second = _gauge(
        "queue_admitted_per_second", "The lane's measured admission rate (smoothed per tick)", ["event", "lane", "kind"]
    )
    in_store = _gauge("queue_in_store", "Store sessions (admitted fans shopping)", ["event"])
    offers = _gauge("queue_offers", "Admission offers not yet claimed", ["event"])
    paused = _gauge("queue_paused", "1 while the promoter has paused admissions", ["event"])
    rate = _gauge("queue_admission_rate_per_minute", "Admission rate configured by the promoter", ["event"])
    capacity = _gauge("queue_store_capacity", "Store sessions allowed at once (max in store)", ["event"])
    age = _gauge("queue_last_tick_age_seconds", "Seconds since the admitter last ticked this event", ["event"])
    now = time.time()
    for i, event_id in enumerate(active):
        slug = events[event_id]
        meta = replies[2 * i]
        doc = json.loads(replies[2 * i + 1]) if replies[2 * i + 1] else {}
        in_store.add_metric([slug], float(meta[0] or 0))
        offers.add_metric([slug], float(meta[1] or 0))
        paused.add_metric([slug], float(meta[2] == "1"))
        if doc:
            rate.add_metric([slug], float(doc.get("rate_per_minute", 0)))
            capacity.add_metric([slug], float(doc.get("max_in_store", 0)))
        if meta[3] is not None:
            age.add_metric([slug], max(0.0, now - float(meta[3])))
    base = 2 * len(active)
    for j, (event_id, lane_id, kind) in enumerate(lanes):
        seq, front, ema, _opened = replies[base + 2 * j]
        gone = int(replies[base + 2 * j + 1] or 0)
        labels = [events[event_id], str(lane_id), kind]
        waiting.add_metric(labels, float(max(int(seq or 0) - int(front or 0) - gone, 0)))
        per_second.add_metric(labels, float(ema or 0))
    yield from (waiting, per_second, in_store, offers, paused, rate, capacity, age)


# --- inventory and orders -------------------------------------------------------------


def inventory_families() -> Iterator[Metric]:
    """Places by status per event (SOLD is the sold count; a lock past its
    time still counts as locked until the sweeper frees it) and orders by
    status (every hold makes one order: their sum is the holds created)."""
    from inventory.models import InventoryItem, Order

    events = _recent_events()
    items = _gauge("inventory_places", "Places (seats and standing units) by status", ["event", "status"])
    rows = _shared(
        "places",
        lambda: list(
            InventoryItem.objects.filter(event_id__in=events)
            .values_list("event_id", "status")
            .annotate(n=Count("pk"))
            .order_by()
        ),
    )
    for event_id, status, n in rows:
        if event_id in events:
            items.add_metric([events[event_id], status], float(n))
    sold = _gauge("sold", "Places sold", ["event"])
    counts = {(e, s): n for e, s, n in rows}
    for event_id, slug in events.items():
        sold.add_metric([slug], float(counts.get((event_id, "SOLD"), 0)))
    orders = _gauge("orders", "Orders by status (a hold creates one)", ["event", "status"])
    order_rows = _shared(
        "orders",
        lambda: list(
            Order.objects.filter(event_id__in=events)
            .values_list("event_id", "status")
            .annotate(n=Count("pk"))
            .order_by()
        ),
    )
    for event_id, status, n in order_rows:
        if event_id not in events:
            continue  # a cached row of an event no longer reported
        orders.add_metric([events[event_id], status], float(n))
    yield from (items, sold, orders)


# --- payments ---------------------------------------------------------------------------


def payment_families() -> Iterator[Metric]:
    """Payments by status (PENDING, PAID, FAILED, CANCELED, REFUNDED) and
    their amounts in the currency's major unit: PAID is the revenue."""
    from payments.models import Payment

    events = _recent_events()
    count = _gauge("payments", "Payment attempts by outcome", ["event", "status"])
    amount = _gauge(
        "payments_amount", "Sum of payment attempts by outcome (major unit)", ["event", "status", "currency"]
    )
    rows = _shared(
        "payments",
        lambda: list(
            Payment.objects.filter(order__event_id__in=events)
            .values_list("order__event_id", "status", "currency")
            .annotate(n=Count("pk"), total=Sum("amount"))
            .order_by()
        ),
    )
    counts: dict[tuple[str, str], int] = {}
    for event_id, status, currency, n, total in rows:
        if event_id not in events:
            continue
        counts[events[event_id], status] = counts.get((events[event_id], status), 0) + n
        amount.add_metric([events[event_id], status, currency.upper()], float(total or 0) / 100)
    for (slug, status), n in sorted(counts.items()):
        count.add_metric([slug, status], float(n))
    yield from (count, amount)


# --- the admitter's hook ------------------------------------------------------------------

_slugs: dict[int, str] = {}


def record_ticks(docs: list[dict[str, Any]], seconds: float) -> None:
    """Called by the admitter after each cycle it led: adds each lane's
    admissions to ``ticketing_queue_admitted_total`` and the cycle's wall time
    to ``ticketing_queue_tick_duration_seconds`` (two round trips to Redis,
    never an exception)."""
    from inventory.models import Event
    from ticketing import metrics

    missing = [doc["event"] for doc in docs if doc["event"] not in _slugs]
    if missing:
        _slugs.update(Event.objects.filter(pk__in=missing).values_list("pk", "slug"))
    metrics.incr_many(
        (
            "queue_admitted",
            float(lane["admitted"]),
            {"event": _slugs.get(doc["event"], str(doc["event"])), "lane": lane_id, "kind": str(lane["kind"])},
        )
        for doc in docs
        for lane_id, lane in doc["lanes"].items()
    )
    metrics.observe("queue_tick_duration_seconds", seconds)
