"""The live sale dashboard of one event (admin: Events → an event → "Live
dashboard"; docs/dashboard.md): a registry where each app plugs in its
figures, charts and controls, the snapshot the page polls, and the last
hour's history in Redis.

Inventory owns events, so the page lives in its admin; it imports nothing of
queueroom or payments. Those register at start-up (``AppConfig.ready``):

* ``register_figures(name, fn, order=...)``: ``fn(event)`` returns Figures:
  machine values (the endpoint's JSON), tiles (big numbers), detail rows, and
  the numbers to keep in the history;
* ``register_chart(Chart(...))``: a chart of the last hour over series that
  some provider keeps;
* ``register_controls(Controls(...))``: forms on the page (pause, rate...)
  with the permission they need and what they do. The page checks the
  permission, asks for confirmation, applies and writes the admin's
  LogEntry naming the user; the app's handler only changes its state.

History: a Celery beat task (``inventory.sample_dashboards``, every
DASHBOARD_SAMPLE_SECONDS) appends one JSON sample per event to a Redis list
capped at one hour (RPUSH + LTRIM + EXPIRE in one round trip). See
docs/dashboard.md, "The last hour", for why a list and what it costs.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_redis import get_redis_connection

from inventory.models import Event, InventoryItem, ItemStatus, Order, OrderStatus, PriceTier, SalePhase, Section

log = logging.getLogger(__name__)

HISTORY_SECONDS = 3600


# --- what a provider returns -----------------------------------------------------


@dataclass(frozen=True)
class Tile:
    """One big number of the dashboard."""

    key: str  # machine name, e.g. "waiting" (data-key in the page, for tests and scripts)
    label: str
    value: str  # formatted for the reader
    detail: str = ""  # a smaller line under the number
    tone: str = ""  # "", "ok", "warn" or "bad"


@dataclass
class Figures:
    """One app's figures of one event, now."""

    data: dict[str, Any]  # machine values (JSON-able): figures[name] in the endpoint's answer
    tiles: list[Tile] = field(default_factory=list)
    rows: list[tuple[str, str]] = field(default_factory=list)  # detail lines: (label, value)
    series: dict[str, float] = field(default_factory=dict)  # numbers the history keeps
    stale: bool = False  # these figures are old (e.g. the admitter stopped)
    note: str = ""  # one warning line


FiguresFn = Callable[[Event], Figures]


@dataclass(frozen=True)
class Line:
    series: str
    label: Any  # str or lazy
    colour: str
    # True: the series is a cumulative count; plot its change per minute.
    per_minute: bool = False


@dataclass(frozen=True)
class Chart:
    key: str
    title: Any
    lines: tuple[Line, ...]
    order: int = 100
    unit: str = ""  # appended to the axis labels, e.g. "%"


@dataclass(frozen=True)
class Controls:
    """A set of forms on the page and what they do. ``render(event, request)``
    returns the forms' HTML (each form posts ``action`` to the page's control
    URL, with ``data-confirm`` for the question asked before it goes);
    ``question(event, action, post)`` is that question for the confirmation
    page; ``apply(event, action, post)`` changes the state and returns the
    change message for the audit entry, or raises ControlError."""

    name: str
    permission: str  # "app_label.codename"
    actions: tuple[str, ...]
    render: Callable[[Event, Any], str]
    question: Callable[[Event, str, Any], str]
    apply: Callable[[Event, str, Any], str]
    order: int = 100


class ControlError(ValueError):
    """A control refused its input (the message is shown to the user)."""


_figures: dict[str, tuple[int, FiguresFn]] = {}
_charts: dict[str, Chart] = {}
_controls: dict[str, Controls] = {}


def register_figures(name: str, fn: FiguresFn | None, *, order: int = 100) -> None:
    """Install (or with None, remove) a source of figures."""
    if fn is None:
        _figures.pop(name, None)
    else:
        _figures[name] = (order, fn)


def register_chart(chart: Chart) -> None:
    _charts[chart.key] = chart


def register_controls(controls: Controls) -> None:
    _controls[controls.name] = controls


def charts() -> list[Chart]:
    return sorted(_charts.values(), key=lambda c: (c.order, c.key))


def controls() -> list[Controls]:
    return sorted(_controls.values(), key=lambda c: (c.order, c.name))


def controls_for(action: str) -> Controls | None:
    return next((c for c in _controls.values() if action in c.actions), None)


@dataclass
class Snapshot:
    event_id: int
    t: float
    figures: dict[str, Figures]

    @property
    def stale(self) -> bool:
        return any(f.stale for f in self.figures.values())

    def series(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for figures in self.figures.values():
            out.update(figures.series)
        return out

    def data(self) -> dict[str, Any]:
        return {name: f.data for name, f in self.figures.items()}


def snapshot(event: Event, *, now: float | None = None) -> Snapshot:
    """Every provider's figures of the event. A provider that fails is shown
    as unavailable (logged): one broken source must not blank the page."""
    out: dict[str, Figures] = {}
    for name, (_order, fn) in sorted(_figures.items(), key=lambda item: (item[1][0], item[0])):
        try:
            out[name] = fn(event)
        except Exception as exc:
            log.warning("dashboard figures %s of event %s failed: %s", name, event.pk, exc)
            out[name] = Figures(
                data={"unavailable": True}, stale=True, note=str(_("%(name)s: figures unavailable") % {"name": name})
            )
    return Snapshot(event_id=event.pk, t=time.time() if now is None else now, figures=out)


# --- the last hour, in Redis -----------------------------------------------------


def history_key(event_id: int) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:dash:{{e{event_id}}}:history"


def history_length() -> int:
    return math.ceil(HISTORY_SECONDS / settings.DASHBOARD_SAMPLE_SECONDS) + 1


def _client() -> Any:
    return get_redis_connection("default")


def record(event_id: int, t: float, series: dict[str, float]) -> None:
    """Append one sample and drop what is older than the last hour's worth
    (one round trip). Raises redis.RedisError."""
    key = history_key(event_id)
    sample = json.dumps({"t": round(t, 1), "v": series}, separators=(",", ":"))
    pipe = _client().pipeline(transaction=False)
    pipe.rpush(key, sample)
    pipe.ltrim(key, -history_length(), -1)
    pipe.expire(key, HISTORY_SECONDS * 2)
    pipe.execute()


def history(event_id: int, *, now: float | None = None) -> list[dict[str, Any]]:
    """The samples of the last hour, oldest first ([] when Redis does not answer)."""
    try:
        raw = _client().lrange(history_key(event_id), 0, -1)
    except redis.RedisError as exc:
        log.warning("dashboard history unavailable: %s", exc)
        return []
    since = (time.time() if now is None else now) - HISTORY_SECONDS
    samples = []
    for item in raw:
        try:
            sample = json.loads(item)
        except ValueError:
            continue
        if float(sample.get("t", 0)) >= since:
            samples.append(sample)
    return samples


def events_to_sample(now: dt.datetime | None = None) -> list[Event]:
    """Events whose sale is open, or opens within the hour (fans queue before)."""
    now = now or timezone.now()
    soon = now + dt.timedelta(seconds=HISTORY_SECONDS)
    candidates = Event.objects.filter(starts_at__gte=now - dt.timedelta(hours=6)).filter(
        Q(sale_opens_at__lte=soon) | Q(presale_opens_at__lte=soon)
    )
    return [event for event in candidates if event.sale_phase(now) != SalePhase.ENDED]


def sample_all(now: float | None = None) -> int:
    """One sample of every event on sale (the beat task). Returns how many."""
    count = 0
    for event in events_to_sample():
        shot = snapshot(event, now=now)
        try:
            record(event.pk, shot.t, shot.series())
        except redis.RedisError as exc:
            log.warning("dashboard sample of event %s not kept: %s", event.pk, exc)
            continue
        count += 1
    return count


# --- inventory's own figures ---------------------------------------------------


def shared_rows(name: str, event_id: int, compute: Callable[[], Any]) -> Any:
    """A PostgreSQL aggregate of one event, computed by one request and shared
    for DASHBOARD_DB_CACHE_SECONDS: every open dashboard polls every 2 s."""
    seconds = settings.DASHBOARD_DB_CACHE_SECONDS
    if not seconds:
        return compute()
    key = f"dash:{name}:{event_id}"
    rows = cache.get(key)
    if rows is None:
        rows = compute()
        cache.set(key, rows, timeout=seconds)
    return rows


def _section_rows(event_id: int) -> list[tuple[int, str, int]]:
    return list(
        InventoryItem.objects.filter(event_id=event_id)
        .values_list("section_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )


def _order_rows(event_id: int) -> list[tuple[str, int, str, int]]:
    return [
        (status, n, str(total or 0), tickets or 0)
        for status, n, total, tickets in Order.objects.filter(event_id=event_id)
        .values_list("status")
        .annotate(n=Count("pk"), total=Sum("total"), n_tickets=Sum("ticket_count"))
        .order_by()
    ]


def section_figures(event: Event) -> list[dict[str, Any]]:
    """Per section of the venue: capacity (the event's places), sold, held
    (in a cart or paying) and available, in the venue's order."""
    rows = shared_rows("sections", event.pk, lambda: _section_rows(event.pk))
    by_section: dict[int, dict[str, int]] = {}
    for section_id, status, n in rows:
        by_section.setdefault(section_id, {})[status] = n
    out = []
    for section in Section.objects.filter(venue_id=event.venue_id).order_by("sort_order", "code"):
        counts = by_section.get(section.pk, {})
        total = sum(counts.values())
        sold = counts.get(ItemStatus.SOLD, 0)
        held = counts.get(ItemStatus.SOFT_LOCKED, 0) + counts.get(ItemStatus.HARD_LOCKED, 0)
        out.append(
            {
                "code": section.code,
                "name": section.name,
                "capacity": total,
                "sold": sold,
                "held": held,
                "available": total - sold - held,
            }
        )
    return out


def order_figures(event: Event) -> dict[str, dict[str, Any]]:
    rows = shared_rows("orders", event.pk, lambda: _order_rows(event.pk))
    return {status: {"count": n, "total": total, "tickets": tickets} for status, n, total, tickets in rows}


def inventory_data(event: Event) -> tuple[dict[str, Any], dict[str, float]]:
    """Sold, held and revenue from PostgreSQL (places and orders): the
    figures' data and the values kept in the history (dashboard_render makes
    the tiles and the venue of them)."""
    sections = section_figures(event)
    orders = order_figures(event)
    capacity = sum(s["capacity"] for s in sections)
    sold = sum(s["sold"] for s in sections)
    held = sum(s["held"] for s in sections)
    paid = orders.get(OrderStatus.PAID, {"count": 0, "total": "0", "tickets": 0})
    live_holds = sum(orders.get(s, {}).get("count", 0) for s in (OrderStatus.HELD, OrderStatus.PAYMENT_PENDING))
    made = sum(o["count"] for o in orders.values())
    data = {
        "capacity": capacity,
        "sold": sold,
        "held": held,
        "available": capacity - sold - held,
        "orders": {status: o["count"] for status, o in orders.items()},
        "orders_made": made,
        "orders_paid": paid["count"],
        "holds_open": live_holds,
        "revenue": paid["total"],
        "currency": shared_rows(
            "currency",
            event.pk,
            lambda: PriceTier.objects.filter(event=event).values_list("currency", flat=True).first() or "EUR",
        ),
        "sections": sections,
    }
    holds = _hold_attempts(event)
    data["hold_attempts"] = holds
    earlier = sample_ago(event.pk, ERROR_WINDOW_SECONDS)
    data["error_rate"] = _error_rate(holds, earlier)
    series = {
        "hold_attempts": float(holds["all"]),
        "hold_refusals": float(holds["refused"]),
        "hold_errors": float(holds["errors"]),
        "sold": float(sold),
        "held": float(held),
        "orders_made": float(made),
        "orders_paid": float(paid["count"]),
        "revenue": float(paid["total"]),
    }
    return data, series


ERROR_WINDOW_SECONDS = 300


def _hold_attempts(event: Event) -> dict[str, float]:
    """Hold attempts so far (ticketing_holds_total, a Redis counter): all,
    refused (4xx: seats taken, limits) and server errors (5xx: busy, down)."""
    from ticketing import metrics

    try:
        by_status = metrics.counter_totals("holds", by="status", event=event.slug)
    except redis.RedisError:
        by_status = {}
    errors = sum(n for status, n in by_status.items() if status.startswith("5"))
    refused = sum(n for status, n in by_status.items() if status.startswith("4"))
    return {"all": sum(by_status.values()), "refused": refused, "errors": errors}


def sample_ago(event_id: int, seconds: float) -> dict[str, Any] | None:
    """The kept sample about ``seconds`` old (one LINDEX), or None."""
    back = max(1, round(seconds / settings.DASHBOARD_SAMPLE_SECONDS))
    try:
        raw = _client().lindex(history_key(event_id), -back - 1) or _client().lindex(history_key(event_id), 0)
    except redis.RedisError:
        return None
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _error_rate(now: dict[str, float], earlier: dict[str, Any] | None) -> float | None:
    """Share of hold attempts answered with a server error since the sample
    ERROR_WINDOW_SECONDS ago (since the start without one); None: no attempts."""
    values = (earlier or {}).get("v", {})
    attempts = now["all"] - float(values.get("hold_attempts", 0))
    errors = now["errors"] - float(values.get("hold_errors", 0))
    if attempts <= 0:
        return None
    return round(max(errors, 0.0) / attempts, 4)
