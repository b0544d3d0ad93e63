"""The promoter's view of payments: each order's payments and tickets, and
refunding a paid order as a whole (an action with a confirmation page).

Added to inventory's order admin from here, as the waiting room adds its
controls to the event admin: inventory never imports payments.

Refunding needs the ``payments.refund_payment`` permission, not just staff
status; the action is not offered, and a forged post of it does nothing,
without it. Each refund is recorded twice: in inventory's audit trail (the
order and every seat, with the promoter's user name) and in the admin's own
history of the order.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from inventory.admin import OrderAdmin
from inventory.models import Order, OrderStatus
from inventory.services.locking import Busy
from payments import refunds
from payments.errors import RefundRefused
from payments.models import Payment, Ticket
from payments.providers import ProviderError

REFUND_PERMISSION = "payments.refund_payment"


class PaymentInline(admin.TabularInline[Payment, Order]):
    model = Payment
    extra = 0
    can_delete = False
    fields = ("attempt", "status", "amount", "currency", "intent_id", "refund_id", "refund_reason", "tickets_sent_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TicketInline(admin.TabularInline[Ticket, Order]):
    model = Ticket
    extra = 0
    can_delete = False
    fields = ("item", "issued_at", "voided_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PaymentsOrderAdmin(OrderAdmin):
    inlines = [*OrderAdmin.inlines, PaymentInline, TicketInline]
    actions = ["refund_orders"]  # the order admin has none of its own

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REFUND_PERMISSION)

    @admin.action(description=gettext_lazy("Refund the selected paid orders (whole orders)…"), permissions=["refund"])
    def refund_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> TemplateResponse | None:
        orders = list(queryset.select_related("event").order_by("created_at"))
        if request.POST.get("confirm") != "yes":
            return self._confirmation(request, orders)
        actor = request.user.get_username()
        for order in orders:
            self._refund_one(request, order, actor)
        return None

    def _confirmation(self, request: HttpRequest, orders: list[Order]) -> TemplateResponse:
        paid = [o for o in orders if o.status == OrderStatus.PAID]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Refund these orders?"),
            "opts": self.model._meta,
            "paid": paid,
            "skipped": [o for o in orders if o.status != OrderStatus.PAID],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/payments/refund_confirmation.html", context)

    def _refund_one(self, request: HttpRequest, order: Order, actor: str) -> None:
        name = _("Order %(id)s") % {"id": str(order.pk)[:8]}
        try:
            result = refunds.refund_order(order_id=order.pk, actor=actor)
        except RefundRefused as exc:
            self.message_user(
                request, _("%(order)s: not refunded. %(why)s") % {"order": name, "why": exc.detail}, messages.WARNING
            )
            return
        except (ProviderError, Busy) as exc:
            self.message_user(
                request,
                _("%(order)s: not refunded yet (%(why)s). Try again.") % {"order": name, "why": exc.detail},
                messages.ERROR,
            )
            return
        if result.outcome == refunds.Outcome.REFUNDED:
            self.log_change(request, order, f"Refunded the whole order ({result.refund_id}).")
            done = _("%(order)s: refunded (%(refund)s); its seats are back on sale.")
            self.message_user(request, done % {"order": name, "refund": result.refund_id}, messages.SUCCESS)
        elif result.outcome == refunds.Outcome.ALREADY_REFUNDED:
            self.message_user(
                request,
                _("%(order)s: already refunded (%(refund)s).") % {"order": name, "refund": result.refund_id},
                messages.INFO,
            )
        else:
            self.message_user(
                request,
                _("%(order)s: a refund is under way; look again in a moment.") % {"order": name},
                messages.WARNING,
            )


admin.site.unregister(Order)
admin.site.register(Order, PaymentsOrderAdmin)


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin[Payment]):
    list_display = ("order", "attempt", "status", "amount", "currency", "intent_id", "created_at", "tickets_sent_at")
    list_filter = ("status",)
    search_fields = ("order__id", "intent_id", "refund_id", "email")
    list_select_related = ("order",)
    readonly_fields = [f.name for f in Payment._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin[Ticket]):
    list_display = ("__str__", "order", "item", "issued_at", "voided_at")
    list_filter = ("voided_at",)
    search_fields = ("code", "order__id")
    list_select_related = ("order", "item", "item__section")
    readonly_fields = [f.name for f in Ticket._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
