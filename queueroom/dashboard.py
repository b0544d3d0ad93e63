"""The waiting room on the sale dashboard (inventory/dashboard.py, registered
by QueueroomConfig.ready): its figures (fans waiting per lane, admission rate
set and measured, store sessions, open offers, conversion), its charts, and
the controls (pause/resume, admission rate, store capacity, presale lanes)
for users with ``queueroom.control_queue``. docs/dashboard.md says what each
figure means."""

from __future__ import annotations

import time
from typing import Any

import redis
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inventory import dashboard
from inventory.dashboard_render import control_form, human, percent
from inventory.models import Event, SalePhase
from queueroom import services
from queueroom.models import Lane, QueueConfig

CONTROL_PERMISSION = "queueroom.control_queue"
# The admitter ticks every second: figures this old mean it has stopped.
STALE_AFTER_SECONDS = 5


def _lane_kind(kind: str) -> str:
    return str(dict(Lane.Kind.choices).get(kind, kind))


def queue_figures(event: Event) -> dashboard.Figures:
    """From the last tick's state document (Redis) and the promoter's
    current settings (PostgreSQL); raises QueueError when Redis does not answer."""
    now = time.time()
    doc = services.state_document(event.pk) or {}
    paused = QueueConfig.objects.filter(event=event, paused=True).exists()
    lanes_db = {str(lane.pk): lane for lane in Lane.objects.filter(event=event)}
    lanes = []
    for lane_id, lane in (doc.get("lanes") or {}).items():
        waiting = max(int(lane["seq"]) - int(lane["front"]) - int(lane["gone"]), 0)
        row = lanes_db.get(lane_id)
        lanes.append(
            {
                "id": int(lane_id),
                "name": lane["name"],
                "kind": lane["kind"],
                "waiting": waiting if lane["kind"] != Lane.Kind.SHADOW else 0,
                "opened": bool(lane["opened"]),
                "closed": bool(row.closed) if row else False,
                "admitted_per_minute": round(float(lane["per_second"]) * 60, 1),
            }
        )
    admitted_total = _admitted_total(event.slug)
    from inventory.dashboard import order_figures

    paid = order_figures(event).get("PAID", {}).get("count", 0)
    age = max(now - float(doc["t"]), 0.0) if doc else None
    stale = age is not None and age > STALE_AFTER_SECONDS and event.sale_phase() != SalePhase.ENDED
    data: dict[str, Any] = {
        "has_queue": bool(doc),
        "waiting": sum(lane["waiting"] for lane in lanes),
        "lanes": lanes,
        "in_store": int(doc.get("in_store", 0)),
        "offers": int(doc.get("offers", 0)),
        "max_in_store": event.max_in_store,
        "rate_per_minute": event.admission_rate_per_minute,
        "admitted_per_minute": round(sum(lane["admitted_per_minute"] for lane in lanes), 1),
        "admitted_total": admitted_total,
        "conversion": round(paid / admitted_total, 4) if admitted_total else None,
        "paused": paused,
        "paused_reason": doc.get("paused_reason") if doc.get("paused") else None,
        "sold_out": bool(doc.get("closed", False)),
        "age_seconds": None if age is None else round(age, 1),
        "stale": stale,
    }
    return _view(data, paid)


def _admitted_total(slug: str) -> float:
    from ticketing import metrics

    try:
        return metrics.counter_totals("queue_admitted", by="event", event=slug).get(slug, 0.0)
    except redis.RedisError:
        return 0.0


def _view(data: dict[str, Any], paid: int) -> dashboard.Figures:
    shown = [
        lane for lane in data["lanes"] if lane["waiting"] or lane["kind"] in (Lane.Kind.GENERAL, Lane.Kind.PRIORITY)
    ]
    waiting_detail = " · ".join(f"{lane['name']}: {human(lane['waiting'])}" for lane in shown)
    if data["paused"]:
        state, tone = gettext("paused by the promoter"), "warn"
    elif data["paused_reason"]:
        state, tone = gettext("paused: payments unavailable"), "bad"
    else:
        state, tone = gettext("set to %(rate)s/min") % {"rate": human(data["rate_per_minute"])}, ""
    tiles = [
        dashboard.Tile("waiting", gettext("Fans waiting"), human(data["waiting"]), waiting_detail),
        dashboard.Tile(
            "admission_rate",
            gettext("Let in per min"),
            human(data["admitted_per_minute"], 0),
            state,
            tone=tone,
        ),
        dashboard.Tile(
            "in_store",
            gettext("Store sessions"),
            human(data["in_store"]),
            gettext("of %(capacity)s allowed") % {"capacity": human(data["max_in_store"])},
            tone="warn" if data["in_store"] >= data["max_in_store"] else "",
        ),
        dashboard.Tile(
            "offers", gettext("Open offers"), human(data["offers"]), gettext("turns offered, not yet taken")
        ),
        dashboard.Tile(
            "conversion",
            gettext("Conversion"),
            percent(data["conversion"]),
            gettext("%(paid)s paid orders of %(admitted)s fans let in")
            % {"paid": human(paid), "admitted": human(data["admitted_total"])},
        ),
    ]
    rows = []
    for lane in data["lanes"]:
        if lane["closed"]:
            state_text = gettext("closed by the promoter")
        elif lane["opened"]:
            state_text = gettext("open")
        else:
            state_text = gettext("pre-queue")
        rows.append(
            (
                gettext("Lane %(name)s (%(kind)s)") % {"name": lane["name"], "kind": _lane_kind(lane["kind"])},
                gettext("%(waiting)s waiting, %(rate)s/min let in, %(state)s")
                % {
                    "waiting": human(lane["waiting"]),
                    "rate": human(lane["admitted_per_minute"], 1),
                    "state": state_text,
                },
            )
        )
    note = ""
    if not data["has_queue"]:
        note = gettext("No queue yet: the figures appear when the first fan joins.")
    elif data["stale"]:
        note = gettext("These figures are %(seconds)s seconds old: is the admitter running?") % {
            "seconds": int(data["age_seconds"] or 0)
        }
    series = {
        "waiting": float(data["waiting"]),
        "in_store": float(data["in_store"]),
        "offers": float(data["offers"]),
        "rate_set": float(0 if data["paused"] or data["paused_reason"] else data["rate_per_minute"]),
        "admitted": float(data["admitted_total"]),
    }
    return dashboard.Figures(data=data, tiles=tiles, rows=rows, series=series, stale=data["stale"], note=note)


# --- controls ---------------------------------------------------------------------

ACTIONS = ("queue.pause", "queue.resume", "queue.rate", "queue.capacity", "queue.lane_open", "queue.lane_close")


def _number_input(name: str, value: int, label: str) -> SafeString:
    return format_html(
        '<label>{} <input type="number" name="{}" value="{}" min="1" max="1000000" required class="vIntegerField">'
        "</label>",
        label,
        name,
        str(value),
    )


def render_controls(event: Event, request: Any) -> str:
    paused = QueueConfig.objects.filter(event=event, paused=True).exists()
    if paused:
        pause = control_form(
            request,
            event,
            action="queue.resume",
            label=gettext("Resume admissions"),
            confirm=gettext("Resume admissions for %(event)s?") % {"event": event.name},
        )
    else:
        pause = control_form(
            request,
            event,
            action="queue.pause",
            label=gettext("Pause admissions"),
            confirm=gettext("Pause admissions for %(event)s? Fans keep their places.") % {"event": event.name},
            danger=True,
        )
    rate = control_form(
        request,
        event,
        action="queue.rate",
        label=gettext("Set"),
        confirm=gettext("Change the admission rate of %(event)s?") % {"event": event.name},
        inputs=_number_input("value", event.admission_rate_per_minute, gettext("Admissions per minute")),
    )
    capacity = control_form(
        request,
        event,
        action="queue.capacity",
        label=gettext("Set"),
        confirm=gettext("Change the store capacity of %(event)s?") % {"event": event.name},
        inputs=_number_input("value", event.max_in_store, gettext("Store sessions at once")),
    )
    lanes = []
    for lane in Lane.objects.filter(event=event, kind=Lane.Kind.PRIORITY):
        hidden = format_html('<input type="hidden" name="lane" value="{}">', str(lane.pk))
        if lane.closed:
            form = control_form(
                request,
                event,
                action="queue.lane_open",
                label=gettext("Open presale lane %(name)s") % {"name": lane.name},
                confirm=gettext("Open the presale lane %(name)s? If its time has not come, the presale opens now.")
                % {"name": lane.name},
                inputs=hidden,
            )
        else:
            form = control_form(
                request,
                event,
                action="queue.lane_close",
                label=gettext("Close presale lane %(name)s") % {"name": lane.name},
                confirm=gettext(
                    "Close the presale lane %(name)s? Nobody is let in from it; its fans keep their places."
                )
                % {"name": lane.name},
                inputs=hidden,
                danger=True,
            )
        lanes.append((form,))
    return format_html(
        '<div class="dash-control-row">{}{}{}</div><div class="dash-control-row">{}</div>',
        pause,
        rate,
        capacity,
        format_html_join("", "{}", lanes),
    )


def _value(post: Any) -> int:
    try:
        value = int(str(post.get("value", "")).strip())
    except ValueError:
        raise dashboard.ControlError(gettext("Enter a whole number, 1 or more.")) from None
    if not 1 <= value <= 1_000_000:
        raise dashboard.ControlError(gettext("Enter a whole number, 1 or more."))
    return value


def _lane(event: Event, post: Any) -> Lane:
    raw = str(post.get("lane", "")).strip()
    found = Lane.objects.filter(event=event, kind=Lane.Kind.PRIORITY, pk=int(raw)).first() if raw.isdigit() else None
    if found is None:
        raise dashboard.ControlError(gettext("That presale lane does not exist for this event."))
    return found


def question(event: Event, action: str, post: Any) -> str:
    name = event.name
    if action == "queue.pause":
        return gettext("Pause admissions for %(event)s? Fans keep their places.") % {"event": name}
    if action == "queue.resume":
        return gettext("Resume admissions for %(event)s?") % {"event": name}
    if action == "queue.rate":
        return gettext("Set the admission rate of %(event)s to %(value)s per minute?") % {
            "event": name,
            "value": post.get("value", ""),
        }
    if action == "queue.capacity":
        return gettext("Allow %(value)s store sessions at once for %(event)s?") % {
            "event": name,
            "value": post.get("value", ""),
        }
    if action == "queue.lane_open":
        return gettext("Open the presale lane? If its time has not come, the presale opens now.")
    return gettext("Close the presale lane? Nobody is let in from it; its fans keep their places.")


def apply(event: Event, action: str, post: Any) -> str:
    """Change the queue; returns the audit entry's message (also shown to the user)."""
    if action in ("queue.pause", "queue.resume"):
        services.set_paused(event=event, paused=action == "queue.pause")
        return gettext("Paused admissions.") if action == "queue.pause" else gettext("Resumed admissions.")
    if action == "queue.rate":
        before = event.admission_rate_per_minute
        value = _value(post)
        services.set_admission(event=event, rate_per_minute=value)
        return gettext("Admission rate %(before)s → %(after)s per minute.") % {"before": before, "after": value}
    if action == "queue.capacity":
        before = event.max_in_store
        value = _value(post)
        services.set_admission(event=event, max_in_store=value)
        return gettext("Store capacity %(before)s → %(after)s sessions.") % {"before": before, "after": value}
    lane = _lane(event, post)
    closed = action == "queue.lane_close"
    services.set_lane_closed(event=event, lane_id=lane.pk, closed=closed)
    if closed:
        return gettext("Closed the presale lane %(name)s.") % {"name": lane.name}
    return gettext("Opened the presale lane %(name)s.") % {"name": lane.name}


def register() -> None:
    dashboard.register_figures("queue", queue_figures, order=10)
    dashboard.register_chart(
        dashboard.Chart(
            "queue",
            _("Fans waiting and in the store"),
            (
                dashboard.Line("waiting", _("waiting"), "#6a4c93"),
                dashboard.Line("in_store", _("in the store"), "#1982c4"),
                dashboard.Line("offers", _("open offers"), "#8ac926"),
            ),
            order=10,
        )
    )
    dashboard.register_chart(
        dashboard.Chart(
            "admissions",
            _("Admissions per minute"),
            (
                dashboard.Line("rate_set", _("rate set"), "#adb5bd"),
                dashboard.Line("admitted", _("let in"), "#1982c4", per_minute=True),
            ),
            order=20,
        )
    )
    dashboard.register_controls(
        dashboard.Controls(
            name="queue",
            permission=CONTROL_PERMISSION,
            actions=ACTIONS,
            render=render_controls,
            question=question,
            apply=apply,
            order=10,
        )
    )
