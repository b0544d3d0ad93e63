"""The promoter's waiting-room controls, added to the event admin without
touching inventory: lanes, presale codes, pause/resume, and live figures.
Admission rate and max in store are the event's own fields."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from inventory.admin import EventAdmin
from inventory.models import Event
from queueroom import bots, services
from queueroom.models import Lane, PresaleCode, QueueConfig
from ticketing import health


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

    @admin.display(description="Shuffle commitment (SHA-256 of the key)")
    def commitment(self, obj: Lane) -> str:
        return obj.commitment if obj.pk else "—"


class QueueEventAdmin(EventAdmin):
    inlines = [*EventAdmin.inlines, QueueConfigInline, LaneInline]
    actions = [*EventAdmin.actions, "pause_queue", "resume_queue"]

    def get_readonly_fields(self, request: HttpRequest, obj: Event | None = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), "queue_figures"]

    def get_fieldsets(self, request: HttpRequest, obj: Event | None = None) -> list[Any]:
        return [*super().get_fieldsets(request, obj), ("Waiting room, live", {"fields": ("queue_figures",)})]

    @admin.display(description="Queue now")
    def queue_figures(self, obj: Event) -> str:
        try:
            doc = services.state_document(obj.pk) if obj.pk else None
        except services.QueueError:
            return "Queue figures unavailable: Redis does not answer."
        if not doc:
            return "No queue yet."
        rows = [
            ("Waiting", doc["waiting"]),
            ("In store (leases)", doc["in_store"]),
            ("Open offers", doc["offers"]),
            ("Admission rate (set)", f"{doc['rate_per_minute']}/min"),
            ("Max in store", doc["max_in_store"]),
            ("Paused", "yes" if doc["paused"] else "no"),
            ("Closed (sold out)", "yes" if doc["closed"] else "no"),
            # Not a readiness condition (web nodes serve without it), so it is shown here.
            ("Background work (Celery)", health.probe.report().warnings.get("celery") or "running"),
        ]
        for lane in doc["lanes"].values():
            rows.append(
                (
                    f"Lane {lane['name']}",
                    f"{lane['seq']} joined, served to place {lane['front']}, "
                    f"{round(lane['per_second'] * 60)}/min measured, {'open' if lane['opened'] else 'pre-queue'}",
                )
            )
        rows += bots.admin_rows(obj.pk, doc)
        table = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        return format_html("<table>{}</table><p>Updated each second by the admitter.</p>", table)

    @admin.action(description="Pause the queue (takes effect on the next tick)")
    def pause_queue(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        for event in queryset:
            services.set_paused(event=event, paused=True)
        self.message_user(request, "Paused.", messages.SUCCESS)

    @admin.action(description="Resume the queue")
    def resume_queue(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        for event in queryset:
            services.set_paused(event=event, paused=False)
        self.message_user(request, "Resumed.", messages.SUCCESS)


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

    @admin.display(description="Commitment")
    def commitment(self, obj: Lane) -> str:
        return obj.commitment if obj.pk else "—"


@admin.register(PresaleCode)
class PresaleCodeAdmin(admin.ModelAdmin[PresaleCode]):
    list_display = ("code", "lane", "used", "max_uses")
    search_fields = ("code",)
    readonly_fields = ("used",)
