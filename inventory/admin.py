"""The promoter's back office: venues with seat maps, events, prices and
inventory, JSON import/export, and the audit trail.

Every word a promoter reads here is translatable (model and field names,
column headers, actions, messages): the admin speaks the language of the
request, which the language choice in templates/admin/base_site.html sets.
Laid out for a 1280 px screen (docs/pages.md, "Promoters' admin")."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminTextareaWidget
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Field, Q, QuerySet
from django.forms import Field as FormField
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from inventory import dashboard, dashboard_render, selectors
from inventory.forms import GenerateSeatsForm, JsonImportForm
from inventory.models import (
    AuditEntry,
    Event,
    InventoryItem,
    ItemStatus,
    Order,
    OrderItem,
    PriceTier,
    SalePhase,
    Seat,
    Section,
    Venue,
)
from inventory.services import catalog
from ticketing.errors import api_error
from ticketing.inputs import json_problem

log = logging.getLogger(__name__)

DASHBOARD_POLL_EVERY_MS = 2000


def _json_download(data: Any, filename: str) -> HttpResponse:
    response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class JsonImportMixin:
    """Adds an 'Import JSON' page to a changelist."""

    import_service: Any = None
    import_title: Any = _("Import from JSON")

    def get_urls(self):  # type: ignore[no-untyped-def]
        urls = super().get_urls()  # type: ignore[misc]
        info = self.model._meta.app_label, self.model._meta.model_name  # type: ignore[attr-defined]
        return [
            path("import-json/", self.admin_site.admin_view(self.import_json_view), name="%s_%s_import_json" % info),  # type: ignore[attr-defined]
            *urls,
        ]

    def import_json_view(self, request: HttpRequest) -> HttpResponse:
        form = JsonImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                data = json.loads(form.cleaned_data["file"].read().decode("utf-8"))
                problem = json_problem(data, max_depth=64)
                if problem:
                    raise ValueError(problem)
                payloads = data if isinstance(data, list) else [data]
                created = [type(self).import_service(p) for p in payloads]
            except RecursionError:
                form.add_error("file", gettext("The file is nested too deeply to be a catalog."))
            except UnicodeDecodeError:
                form.add_error("file", gettext("The file is not UTF-8 text."))
            except json.JSONDecodeError as exc:
                form.add_error("file", gettext("The file is not valid JSON: %(error)s") % {"error": exc})
            except (ValueError, catalog.CatalogError) as exc:
                form.add_error("file", str(exc)[:300])
            else:
                names = ", ".join(str(obj) for obj in created)
                self.message_user(request, gettext("Imported: %(names)s") % {"names": names}, messages.SUCCESS)  # type: ignore[attr-defined]
                return HttpResponseRedirect("../")
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": self.import_title,
            "form": form,
            "opts": self.model._meta,  # type: ignore[attr-defined]
        }
        return TemplateResponse(request, "admin/inventory/import_json.html", context)


class SectionInline(admin.TabularInline[Section, Venue]):
    model = Section
    extra = 0
    fields = ("code", "name", "kind", "capacity", "sort_order", "map_x", "map_y", "seat_map")
    readonly_fields = ("seat_map",)
    show_change_link = True

    @admin.display(description=capfirst(_("seats")))
    def seat_map(self, obj: Section) -> str:
        if not obj.pk or obj.is_general_admission:
            return "—"
        url = reverse("admin:inventory_section_generate_seats", args=[obj.pk])
        n = obj.seats.count()
        return format_html(
            '{} · <a href="{}">{}</a>',
            ngettext("%(count)d seat", "%(count)d seats", n) % {"count": n},
            url,
            gettext("generate rows and seats"),
        )


@admin.register(Venue)
class VenueAdmin(JsonImportMixin, admin.ModelAdmin[Venue]):
    list_display = ("name", "city", "slug", "section_count", "capacity_total")
    search_fields = ("name", "city", "slug")
    list_filter = ("city",)
    prepopulated_fields = {"slug": ("name",)}
    inlines = [SectionInline]
    actions = ["export_json"]
    save_on_top = True
    import_service = staticmethod(catalog.import_venue)
    import_title = _("Import venues from JSON")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Venue]:
        return super().get_queryset(request).annotate(n_sections=Count("sections"))

    @admin.display(description=capfirst(_("sections")), ordering="n_sections")
    def section_count(self, obj: Venue) -> int:
        return int(obj.n_sections)  # type: ignore[attr-defined]

    @admin.display(description=capfirst(_("capacity")))
    def capacity_total(self, obj: Venue) -> int:
        return obj.capacity

    @admin.action(description=_("Export the selected venues as JSON"))
    def export_json(self, request: HttpRequest, queryset: QuerySet[Venue]) -> HttpResponse:
        data = [catalog.export_venue(v) for v in queryset]
        return _json_download(data[0] if len(data) == 1 else data, "venues.json")


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin[Section]):
    list_display = ("code", "name", "venue", "kind", "capacity", "sort_order")
    list_filter = ("kind", "venue")
    search_fields = ("code", "name", "venue__name")
    list_select_related = ("venue",)

    def get_urls(self):  # type: ignore[no-untyped-def]
        return [
            path(
                "<int:pk>/generate-seats/",
                self.admin_site.admin_view(self.generate_seats_view),
                name="inventory_section_generate_seats",
            ),
            *super().get_urls(),
        ]

    def generate_seats_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        section = get_object_or_404(Section, pk=pk)
        form = GenerateSeatsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                made = catalog.generate_seats(
                    section=section,
                    rows=form.cleaned_data["row_labels"],
                    seats_per_row=form.cleaned_data["counts"],
                    replace=form.cleaned_data["replace"],
                )
            except catalog.CatalogError as exc:
                form.add_error(None, str(exc))
            else:
                done = ngettext(
                    "Generated %(count)d seat in %(section)s.", "Generated %(count)d seats in %(section)s.", made
                )
                self.message_user(request, done % {"count": made, "section": section}, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:inventory_venue_change", args=[section.venue_id]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Generate seats: %(section)s") % {"section": section},
            "form": form,
            "section": section,
            "opts": Section._meta,
            "existing": section.seats.count(),
        }
        return render(request, "admin/inventory/generate_seats.html", context)


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin[Seat]):
    list_display = ("__str__", "section", "row_label", "number", "rank")
    list_filter = ("section__venue", "section")
    search_fields = ("row_label", "section__code", "section__venue__name")
    list_select_related = ("section", "section__venue")


def _section_with_venue(section: Section) -> str:
    return f"{section.venue.name} · {section.code} · {section.name}"


def _short_datetime(value: dt.datetime) -> str:
    """ "30/03/2026 21:00" in Spanish: a column a third as wide as the long form."""
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


class PriceTierInline(admin.TabularInline[PriceTier, Event]):
    model = PriceTier
    extra = 0
    fields = ("section", "name", "price", "fee", "currency", "description")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):  # type: ignore[no-untyped-def]
        if db_field.name == "section":
            event_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            if event_id:
                event = Event.objects.filter(pk=event_id).only("venue_id").first()
                kwargs["queryset"] = Section.objects.filter(venue=event.venue_id) if event else Section.objects.none()
            kwargs.setdefault("queryset", Section.objects.all())
            kwargs["queryset"] = kwargs["queryset"].select_related("venue").order_by("venue__name", "sort_order")
            field = super().formfield_for_foreignkey(db_field, request, **kwargs)
            if field is not None and not event_id:
                # A new event's form lists every venue's sections: say which venue each is at.
                # (A saved event's list holds its own venue's sections only: "101 · Grada baja 101".)
                setattr(field, "label_from_instance", _section_with_venue)  # noqa: B010 - a plain function, no self
            return field
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_dbfield(self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any) -> FormField | None:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "section" and field is not None:
            # Add/change/delete/view icons on each of twenty rows made the table
            # wider than the screen; sections are edited on the venue's page.
            for flag in ("can_add_related", "can_change_related", "can_delete_related", "can_view_related"):
                setattr(field.widget, flag, False)
        return field


SALE_PHASE_WORDS = {
    SalePhase.PRESALE: _("Presale is open"),
    SalePhase.ON_SALE: _("On sale now"),
    SalePhase.ENDED: _("The sale has ended"),
}


@admin.register(Event)
class EventAdmin(JsonImportMixin, admin.ModelAdmin[Event]):
    # Six columns fit 1280 px beside the filters: the date of the show and
    # the sale in short form, sold and total in one column.
    list_display = ("name", "venue", "show_starts", "sale", "is_published", "sales")
    list_filter = ("venue", "is_published", "starts_at")
    search_fields = ("name", "artist", "slug", "venue__name")
    date_hierarchy = "starts_at"
    list_per_page = 50
    prepopulated_fields = {"slug": ("name",)}
    inlines = [PriceTierInline]
    actions = ["create_inventory", "export_json"]
    readonly_fields = ("inventory_status",)
    save_on_top = True
    import_service = staticmethod(catalog.import_event)
    import_title = _("Import events from JSON")
    # Short fields share a line (dates in the order they happen), so the
    # page shows the event, its dates and limits without scrolling far.
    fieldsets = (
        (None, {"fields": (("name", "artist"), ("slug", "venue"), "is_published")}),
        (_("Dates"), {"fields": (("presale_opens_at", "sale_opens_at"), ("sale_closes_at", "starts_at"))}),
        (
            _("Limits and virtual queue"),
            {
                "fields": (
                    ("admission_rate_per_minute", "max_in_store"),
                    ("hold_ttl_seconds", "checkout_ttl_seconds"),
                    "max_tickets_per_fan",
                )
            },
        ),
        (_("Seats and places"), {"fields": ("inventory_status",)}),
        (_("Description"), {"classes": ("collapse",), "fields": ("description",)}),
    )

    def get_urls(self):  # type: ignore[no-untyped-def]
        dash = [
            ("<int:pk>/dashboard/", self.dashboard_view, "inventory_event_dashboard"),
            ("<int:pk>/dashboard/figures/", self.dashboard_figures_view, "inventory_event_dashboard_figures"),
            ("<int:pk>/dashboard/control/", self.dashboard_control_view, "inventory_event_dashboard_control"),
        ]
        return [
            *(path(route, self.admin_site.admin_view(view), name=name) for route, view, name in dash),
            *super().get_urls(),  # type: ignore[no-untyped-call]
        ]

    # --- the live sale dashboard (inventory/dashboard.py, docs/dashboard.md) ---

    def _dashboard_event(self, request: HttpRequest, pk: int) -> Event:
        event = Event.objects.select_related("venue").filter(pk=pk).first()
        if event is None:
            raise Http404
        if not self.has_view_permission(request, event):
            raise PermissionDenied
        return event

    def dashboard_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The page: figures for whoever may view the event, the controls
        each user's permissions allow."""
        event = self._dashboard_event(request, pk)
        shot = dashboard.snapshot(event)
        forms = [
            format_html('<div class="dash-control-set" data-controls="{}">{}</div>', c.name, c.render(event, request))
            for c in dashboard.controls()
            if request.user.has_perm(c.permission)
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Live dashboard: %(event)s") % {"event": event.name},
            "opts": Event._meta,
            "event": event,
            "body": dashboard_render.body_html(event, shot),
            "stale": shot.stale,
            "figures_url": reverse("admin:inventory_event_dashboard_figures", args=[event.pk]),
            "every_ms": str(DASHBOARD_POLL_EVERY_MS),
            "controls": forms,
        }
        return TemplateResponse(request, "admin/inventory/event/dashboard.html", context)

    def dashboard_figures_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """What the page polls: the body's HTML and the figures as JSON."""
        event = Event.objects.select_related("venue").filter(pk=pk).first()
        if event is None:
            return api_error(404)
        if not self.has_view_permission(request, event):
            return api_error(403)
        shot = dashboard.snapshot(event)
        return JsonResponse(
            {
                "html": str(dashboard_render.body_html(event, shot, now=shot.t)),
                "stale": shot.stale,
                "t": shot.t,
                "figures": shot.data(),
            }
        )

    def dashboard_control_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """One control: permission first (403, nothing changes), then the
        confirmation (asked here when the page's script did not), then the
        change and its audit entry (the admin's LogEntry, naming the user)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        event = self._dashboard_event(request, pk)
        action = request.POST.get("action", "")
        found = dashboard.controls_for(action)
        if found is None:
            return HttpResponseBadRequest(gettext("Unknown control."))
        if not request.user.has_perm(found.permission):
            raise PermissionDenied
        back = reverse("admin:inventory_event_dashboard", args=[event.pk])
        if request.POST.get("confirmed") != "yes":
            fields = [(k, v) for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "confirmed")]
            context = {
                **self.admin_site.each_context(request),
                "title": gettext("Are you sure?"),
                "opts": Event._meta,
                "question": found.question(event, action, request.POST),
                "fields": fields,
                "control_url": request.path,
                "dashboard_url": back,
            }
            return TemplateResponse(request, "admin/inventory/event/dashboard_confirm.html", context)
        try:
            message = found.apply(event, action, request.POST)
        except dashboard.ControlError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(back)
        self.log_change(request, event, message)
        log.warning("sale dashboard: %s on %s by %s: %s", action, event.slug, request.user.get_username(), message)
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(back)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        return (
            super()
            .get_queryset(request)
            .select_related("venue")
            .annotate(n_items=Count("items"), n_sold=Count("items", filter=Q(items__status="SOLD")))
        )

    @admin.display(description=capfirst(_("show starts")), ordering="starts_at")
    def show_starts(self, obj: Event) -> str:
        return _short_datetime(obj.starts_at)

    @admin.display(description=capfirst(_("sale")), ordering="sale_opens_at")
    def sale(self, obj: Event) -> str:
        phase = obj.sale_phase()
        if phase != SalePhase.NOT_OPEN:
            return str(SALE_PHASE_WORDS[phase])
        if obj.presale_opens_at:
            return gettext("Presale opens %(date)s") % {"date": _short_datetime(obj.presale_opens_at)}
        return gettext("Sale opens %(date)s") % {"date": _short_datetime(obj.sale_opens_at)}

    @admin.display(description=capfirst(_("sold / total")), ordering="n_sold")
    def sales(self, obj: Event) -> str:
        sold, total = int(obj.n_sold), int(obj.n_items)  # type: ignore[attr-defined]
        return (
            f"{formats.number_format(sold, force_grouping=True)} / {formats.number_format(total, force_grouping=True)}"
        )

    @admin.display(description=_("Seats and places by status"))
    def inventory_status(self, obj: Event) -> str:
        if not obj.pk:
            return gettext("Saved events get their seats and places from the venue's map.")
        counts = selectors.status_counts(obj)
        total = sum(counts.values())
        labels = dict(ItemStatus.choices)
        cells = format_html_join(
            " · ", "{}: <strong>{}</strong>", ((labels.get(status, status), n) for status, n in counts.items())
        )
        return format_html("{} — {}", cells, gettext("%(count)s in all") % {"count": total})

    def formfield_for_dbfield(self, db_field: Field[Any, Any], request: HttpRequest, **kwargs: Any) -> FormField | None:
        if db_field.name == "description":
            kwargs["widget"] = AdminTextareaWidget(attrs={"rows": 4})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Event, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            created = catalog.create_event_inventory(event=obj)
            self.message_user(request, _created_message(created), messages.INFO)

    @admin.action(description=_("Create the seats and places from the venue's map (adds what is missing)"))
    def create_inventory(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        total = sum(catalog.create_event_inventory(event=e) for e in queryset)
        self.message_user(request, _created_message(total), messages.SUCCESS)

    @admin.action(description=_("Export the selected events as JSON"))
    def export_json(self, request: HttpRequest, queryset: QuerySet[Event]) -> HttpResponse:
        data = [catalog.export_event(e) for e in queryset.select_related("venue")]
        return _json_download(data[0] if len(data) == 1 else data, "events.json")


def _created_message(count: int) -> str:
    return ngettext(
        "Created %(count)d seat or place from the venue's map.",
        "Created %(count)d seats and places from the venue's map.",
        count,
    ) % {"count": count}


@admin.register(InventoryItem)
class InventoryItemAdmin(admin.ModelAdmin[InventoryItem]):
    list_display = ("__str__", "event", "status", "locked_by", "locked_until", "order", "updated_at")
    list_filter = ("status", "event", "section")
    search_fields = ("row_label", "section__code", "locked_by", "sold_to", "order__id")
    list_select_related = ("event", "section")
    readonly_fields = [f.name for f in InventoryItem._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderItemInline(admin.TabularInline[OrderItem, Order]):
    model = OrderItem
    extra = 0
    can_delete = False
    readonly_fields = ("item", "price", "fee", "is_live")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditInline(admin.TabularInline[AuditEntry, Order]):
    model = AuditEntry
    extra = 0
    can_delete = False
    fields = ("created_at", "subject", "item", "from_status", "to_status", "reason", "actor")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin[Order]):
    list_display = ("reference", "event", "status", "ticket_count", "total", "created_at", "expires_at", "owner")
    list_filter = ("status", "event")
    search_fields = ("id", "owner")
    list_select_related = ("event",)
    readonly_fields = [f.name for f in Order._meta.fields]
    inlines = [OrderItemInline, AuditInline]

    @admin.display(description=capfirst(_("order")), ordering="id")
    def reference(self, order: Order) -> str:
        """The first 8 hex digits (the whole id is on the order's page; search takes either)."""
        return str(order.pk)[:8]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    list_display = ("created_at", "subject", "order", "item", "from_status", "to_status", "reason", "actor")
    list_filter = ("subject", "reason", "to_status", "event")
    search_fields = ("order__id", "actor", "reason")
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The audit trail is evidence: nobody edits or deletes it, superusers included.
        return False
