"""The promoter's waiting-room controls, added to the event admin without
touching inventory: lanes, presale codes, pause/resume, and live figures.
Admission rate and max in store are the event's own fields.

The live panel ("Virtual queue, live") refreshes itself: the page loads
static/queueroom/admin_live.js, which fetches the panel's body every
POLL_EVERY_MS from a staff-only JSON endpoint of this admin
(``<event>/queue-figures/``), stops while the tab is hidden, and says so when
the figures cannot be had (Redis down, server gone) or are stale (the
admitter has not ticked for STALE_AFTER_SECONDS)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.db.models import Field, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.defaultfilters import yesno
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from inventory import hooks
from inventory.admin import EventAdmin
from inventory.models import Event, SalePhase
from queueroom import bots, services
from queueroom.models import Lane, PresaleCode, QueueConfig
from ticketing import health
from ticketing.errors import api_error, domain_error_response

# The admitter ticks every second: figures this old mean it has stopped.
STALE_AFTER_SECONDS = 5
POLL_EVERY_MS = 2000


class QueueConfigInline(admin.StackedInline[QueueConfig, Event]):
    model = QueueConfig
    can_delete = False
    extra = 0
    max_num = 1
    fields = ("paused", "challenge_max_number", "flagged_fans")


class LaneInline(admin.TabularInline[Lane, Event]):
    model = Lane
    extra = 0
    fields = ("name", "kind", "weight", "commitment")
    readonly_fields = ("commitment",)
    show_change_link = True

    @admin.display(description=_("Fingerprint"))
    def commitment(self, obj: Lane) -> str:
        return obj.commitment if obj.pk else "—"


@dataclass(frozen=True)
class QueueFigures:
    """The live panel's body and what the script needs to know about it."""

    html: SafeString
    doc: dict[str, Any] | None
    age_seconds: float | None
    stale: bool


def _yes_no(value: Any) -> str:
    return str(capfirst(str(yesno(value))))  # Django's own words ("Sí", "No")


def _field_name(name: str) -> str:
    field = Event._meta.get_field(name)
    assert isinstance(field, Field)
    return str(capfirst(field.verbose_name))


def queue_figures_of(event: Event, *, now: float) -> QueueFigures:
    """The figures of the last admission tick, as an HTML table in the
    request's language. Raises QueueError (503) when Redis does not answer."""
    doc = services.state_document(event.pk)
    if not doc:
        text = gettext("No queue yet: the figures appear when the first fan joins.")
        return QueueFigures(html=format_html("<p>{}</p>", text), doc=None, age_seconds=None, stale=False)
    rows: list[tuple[str, Any]] = [
        (gettext("Waiting"), doc["waiting"]),
        (gettext("In the store"), doc["in_store"]),
        (gettext("Turns offered, not yet taken"), doc["offers"]),
        (_field_name("admission_rate_per_minute"), gettext("%(rate)s/min") % {"rate": doc["rate_per_minute"]}),
        (_field_name("max_in_store"), doc["max_in_store"]),
        (str(capfirst(QueueConfig._meta.get_field("paused").verbose_name)), _paused(doc)),
        (gettext("Sold out"), _yes_no(doc["closed"])),
        # Not a readiness condition (web nodes serve without it), so it is shown here.
        (gettext("Background work (Celery)"), health.probe.report().warnings.get("celery") or gettext("running")),
    ]
    # Other apps' admission gates (inventory.hooks), e.g. the PSP's circuit breaker.
    for name, gate in hooks.admission_gates().items():
        state = gettext("open") if gate.open else gettext("CLOSED")
        rows.append((gettext("Admission gate: %(name)s") % {"name": name}, f"{state} ({gate.detail})"))
    # The bot lanes and their figures (queueroom.bots).
    rows += bots.admin_rows(event.pk, doc)
    for lane in doc["lanes"].values():
        state = gettext("open") if lane["opened"] else gettext("pre-queue")
        text = gettext("%(joined)s joined, served up to place %(front)s, %(rate)s/min measured, %(state)s") % {
            "joined": lane["seq"],
            "front": lane["front"],
            "rate": round(lane["per_second"] * 60),
            "state": state,
        }
        rows.append((gettext("Lane %(name)s") % {"name": lane["name"]}, text))
    table = format_html_join("", "<tr><th scope='row'>{}</th><td>{}</td></tr>", rows)
    ticked = dt.datetime.fromtimestamp(float(doc["t"]), tz=dt.UTC)
    age = max(now - float(doc["t"]), 0.0)
    # An ended sale stops ticking on purpose: its last figures are not stale.
    stale = age > STALE_AFTER_SECONDS and event.sale_phase() != SalePhase.ENDED
    meta = gettext("Last tick of the admitter: %(time)s.") % {
        "time": formats.date_format(timezone.localtime(ticked), "H:i:s")
    }
    warning = ""
    if stale:
        seconds = int(age)
        warning = ngettext(
            "These figures are %(seconds)d second old: is the admitter running?",
            "These figures are %(seconds)d seconds old: is the admitter running?",
            seconds,
        ) % {"seconds": seconds}
    html = format_html(
        '<table>{}</table><p class="queue-live-meta">{}</p>{}',
        table,
        meta,
        format_html('<p class="queue-live-warning">{}</p>', warning) if warning else "",
    )
    return QueueFigures(html=html, doc=doc, age_seconds=round(age, 1), stale=stale)


class QueueEventAdmin(EventAdmin):
    inlines = [*EventAdmin.inlines, QueueConfigInline, LaneInline]
    actions = [*EventAdmin.actions, "pause_queue", "resume_queue"]

    class Media:
        js = ("queueroom/admin_live.js",)

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path(
                "<int:pk>/queue-figures/",
                self.admin_site.admin_view(self.queue_figures_view),
                name="inventory_event_queue_figures",
            ),
            *super().get_urls(),  # type: ignore[no-untyped-call]
        ]

    def queue_figures_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The live panel's body as JSON, for staff who may view the event
        (admin_view sends everyone else to the login page)."""
        event = Event.objects.filter(pk=pk).first()
        if event is None:
            return api_error(404)
        if not self.has_view_permission(request, event):
            return api_error(403)
        try:
            figures = queue_figures_of(event, now=time.time())
        except services.QueueError as exc:
            return domain_error_response(exc)
        # admin_view marks it never_cache (no-store).
        return JsonResponse(
            {
                "html": str(figures.html),
                "stale": figures.stale,
                "age_seconds": figures.age_seconds,
                "figures": figures.doc,
            }
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Event | None = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "queue_figures"]

    def get_fieldsets(self, request: HttpRequest, obj: Event | None = None) -> list[Any]:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:
            return fieldsets  # a new event has no queue
        # Second, right under the event's name: what a promoter watches on sale day.
        return [fieldsets[0], (_("Virtual queue, live"), {"fields": ("queue_figures",)}), *fieldsets[1:]]

    @admin.display(description=_("Queue now"))
    def queue_figures(self, obj: Event) -> str:
        if not obj.pk:
            return "—"
        try:
            body = queue_figures_of(obj, now=time.time()).html
            stale = False
        except services.QueueError:
            body = format_html("<p>{}</p>", gettext("Queue figures unavailable: Redis does not answer."))
            stale = True
        return format_html(
            '<div class="queue-live{}" data-queue-live data-url="{}" data-every-ms="{}" data-unavailable="{}">'
            '<div class="queue-live-body">{}</div><p class="queue-live-note" role="status"></p></div>',
            " is-stale" if stale else "",
            reverse("admin:inventory_event_queue_figures", args=[obj.pk]),
            str(POLL_EVERY_MS),
            gettext("Figures unavailable: no answer from the server. These are the last ones received."),
            body,
        )

    @admin.action(description=_("Pause the queue (takes effect on the next tick)"))
    def pause_queue(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        count = 0
        for event in queryset:
            services.set_paused(event=event, paused=True)
            count += 1
        done = ngettext("Paused the queue of %(count)d event.", "Paused the queues of %(count)d events.", count)
        self.message_user(request, done % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Resume the queue"))
    def resume_queue(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        count = 0
        for event in queryset:
            services.set_paused(event=event, paused=False)
            count += 1
        done = ngettext("Resumed the queue of %(count)d event.", "Resumed the queues of %(count)d events.", count)
        self.message_user(request, done % {"count": count}, messages.SUCCESS)


def _paused(doc: dict[str, Any]) -> str:
    if not doc["paused"]:
        return _yes_no(False)
    reason = doc.get("paused_reason") or "organiser"
    why = {
        "organiser": gettext("by the promoter"),
        "payments_unavailable": gettext("payments unavailable (PSP circuit breaker)"),
    }.get(reason, reason)
    return f"{_yes_no(True)}, {why}"


admin.site.unregister(Event)
admin.site.register(Event, QueueEventAdmin)


class PresaleCodeInline(admin.TabularInline[PresaleCode, Lane]):
    model = PresaleCode
    extra = 1
    fields = ("code", "max_uses", "used")
    readonly_fields = ("used",)


@admin.register(Lane)
class LaneAdmin(admin.ModelAdmin[Lane]):
    list_display = ("name", "event", "kind", "weight", "commitment")
    list_filter = ("kind",)
    inlines = [PresaleCodeInline]
    readonly_fields = ("commitment",)

    @admin.display(description=_("Fingerprint"))
    def commitment(self, obj: Lane) -> str:
        return obj.commitment if obj.pk else "—"


@admin.register(PresaleCode)
class PresaleCodeAdmin(admin.ModelAdmin[PresaleCode]):
    list_display = ("code", "lane", "used", "max_uses")
    search_fields = ("code",)
    readonly_fields = ("used",)
