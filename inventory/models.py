"""Catalog (venues, sections, seats, events, prices) and the per-event
inventory: one row per seat and per general-admission place, orders and the
audit trail. The database, not only the code, keeps a seat from being sold
twice: see the constraints on InventoryItem and OrderItem, and docs/locking.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Venue(models.Model):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=100, unique=True, help_text=_("The venue's name in its web address."))
    city = models.CharField(_("city"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("venue")
        verbose_name_plural = _("venues")

    def __str__(self) -> str:
        return f"{self.name} ({self.city})" if self.city else self.name

    @property
    def capacity(self) -> int:
        return sum(section.capacity for section in self.sections.all())


class Section(models.Model):
    class Kind(models.TextChoices):
        SEATED = "SEATED", _("Seated")
        GENERAL_ADMISSION = "GA", _("General admission")

    CODE_MAX_LENGTH = 20

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="sections", verbose_name=_("venue"))
    code = models.CharField(
        _("code"), max_length=CODE_MAX_LENGTH, help_text=_("Short code, unique in the venue, e.g. PISTA or 101.")
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.SEATED)
    # Seated: kept equal to the number of seats by the generator and importer.
    # General admission: the number of places sold.
    capacity = models.PositiveIntegerField(
        _("capacity"),
        default=0,
        help_text=_("Standing: the places on sale. Seated: the number of seats (set by the seat generator)."),
    )
    sort_order = models.PositiveIntegerField(_("position"), default=0, help_text=_("Lower numbers are listed first."))
    # Where the section sits on the venue overview (0-1000 units).
    map_x = models.FloatField(_("map x"), default=0, help_text=_("Position on the venue overview, 0-1000."))
    map_y = models.FloatField(
        _("map y"), default=0, help_text=_("Distance from the stage on the venue overview, 0-1000.")
    )

    class Meta:
        ordering = ["venue", "sort_order", "code"]
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        constraints = [
            models.UniqueConstraint(fields=["venue", "code"], name="section_code_unique_in_venue"),
            models.CheckConstraint(condition=~Q(kind="GA") | Q(capacity__gt=0), name="section_ga_has_capacity"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def clean(self) -> None:
        # The database refuses it too (section_ga_has_capacity); this says so next to the field.
        if self.kind == self.Kind.GENERAL_ADMISSION and not self.capacity:
            raise ValidationError({"capacity": _("A standing section needs a capacity above 0.")})

    @property
    def is_general_admission(self) -> bool:
        return self.kind == self.Kind.GENERAL_ADMISSION


class Seat(models.Model):
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="seats", verbose_name=_("section"))
    row_label = models.CharField(_("row"), max_length=8)
    row_index = models.PositiveIntegerField(_("row index"), default=0, help_text=_("0 is the row nearest the stage."))
    number = models.PositiveIntegerField(_("number"))
    rank = models.PositiveIntegerField(
        _("rank"), default=0, help_text=_("Quality for best available: lower is better.")
    )
    x = models.FloatField(default=0)
    y = models.FloatField(default=0)

    class Meta:
        ordering = ["section", "row_index", "number"]
        verbose_name = _("seat")
        verbose_name_plural = _("seats")
        constraints = [
            models.UniqueConstraint(fields=["section", "row_label", "number"], name="seat_unique_in_section"),
        ]

    def __str__(self) -> str:
        return f"{self.section.code} {self.row_label}-{self.number}"


class SalePhase(StrEnum):
    """Where an event's sale stands (Event.sale_phase). A str, so the JSON API
    and templates read the same words as before (``phase == "ON_SALE"``)."""

    NOT_OPEN = "NOT_OPEN"
    PRESALE = "PRESALE"
    ON_SALE = "ON_SALE"
    ENDED = "ENDED"


class Event(models.Model):
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="events", verbose_name=_("venue"))
    name = models.CharField(_("name"), max_length=200)
    artist = models.CharField(_("artist"), max_length=200, blank=True)
    slug = models.SlugField(_("slug"), max_length=120, unique=True, help_text=_("The event's name in its web address."))
    description = models.TextField(_("description"), blank=True)
    starts_at = models.DateTimeField(_("show starts"))
    presale_opens_at = models.DateTimeField(
        _("presale opens"), null=True, blank=True, help_text=_("Empty: no presale.")
    )
    sale_opens_at = models.DateTimeField(_("general sale opens"))
    sale_closes_at = models.DateTimeField(
        _("sale closes"), null=True, blank=True, help_text=_("Empty: the sale closes when the show starts.")
    )
    is_published = models.BooleanField(
        _("published"), default=True, help_text=_("Only published events are shown to fans.")
    )
    max_tickets_per_fan = models.PositiveSmallIntegerField(
        _("tickets per fan"),
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text=_("Most tickets one fan can buy for this event, all orders together (1-20)."),
    )
    # Waiting-room settings (read by queueroom on every admission tick).
    admission_rate_per_minute = models.PositiveIntegerField(
        _("admissions per minute"),
        default=500,
        validators=[MinValueValidator(1)],
        help_text=_("Fans let from the virtual queue into the store each minute."),
    )
    max_in_store = models.PositiveIntegerField(
        _("most fans in the store"),
        default=5000,
        validators=[MinValueValidator(1)],
        help_text=_("Fans choosing tickets at the same time; the rest wait in the virtual queue."),
    )
    # Lock lifetimes of the seat state machine.
    hold_ttl_seconds = models.PositiveIntegerField(
        _("cart time (seconds)"),
        default=600,
        validators=[MinValueValidator(30)],
        help_text=_("How long a cart keeps its tickets before they go back on sale."),
    )
    checkout_ttl_seconds = models.PositiveIntegerField(
        _("payment time (seconds)"),
        default=900,
        validators=[MinValueValidator(60)],
        help_text=_("How long a payment in progress keeps its tickets."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        constraints = [
            models.CheckConstraint(
                condition=Q(presale_opens_at__isnull=True) | Q(presale_opens_at__lt=F("sale_opens_at")),
                name="event_presale_before_sale",
            ),
            models.CheckConstraint(condition=Q(sale_opens_at__lte=F("starts_at")), name="event_sale_before_show"),
            models.CheckConstraint(
                condition=Q(max_tickets_per_fan__gte=1) & Q(max_tickets_per_fan__lte=20),
                name="event_max_tickets_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The order of the dates, next to the field to change (the database
        refuses the first two as well: event_presale_before_sale,
        event_sale_before_show)."""
        errors: dict[str, ValidationError] = {}
        if self.presale_opens_at and self.sale_opens_at and self.presale_opens_at >= self.sale_opens_at:
            errors["presale_opens_at"] = ValidationError(_("The presale must open before the general sale."))
        if self.sale_opens_at and self.starts_at and self.sale_opens_at > self.starts_at:
            errors["sale_opens_at"] = ValidationError(_("The general sale must open before the show starts."))
        if self.sale_closes_at and self.sale_opens_at and self.sale_closes_at <= self.sale_opens_at:
            errors["sale_closes_at"] = ValidationError(_("The sale must close after it opens."))
        if errors:
            raise ValidationError(errors)

    def sale_phase(self, now: dt.datetime | None = None) -> SalePhase:
        """The phase of the sale at ``now``. The sale ends at
        ``sale_closes_at``, or when the show starts if that is not set."""
        now = now or timezone.now()
        if now >= (self.sale_closes_at or self.starts_at):
            return SalePhase.ENDED
        if now >= self.sale_opens_at:
            return SalePhase.ON_SALE
        if self.presale_opens_at and now >= self.presale_opens_at:
            return SalePhase.PRESALE
        return SalePhase.NOT_OPEN


class PriceTier(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="price_tiers", verbose_name=_("event"))
    section = models.ForeignKey(
        Section, on_delete=models.PROTECT, related_name="price_tiers", verbose_name=_("section")
    )
    name = models.CharField(_("name"), max_length=100)
    price = models.DecimalField(_("price"), max_digits=8, decimal_places=2, validators=[MinValueValidator(0)])
    fee = models.DecimalField(
        _("fee"), max_digits=8, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(0)]
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        ordering = ["event", "section__sort_order"]
        verbose_name = _("price tier")
        verbose_name_plural = _("price tiers")
        constraints = [
            models.UniqueConstraint(fields=["event", "section"], name="price_tier_one_per_section"),
            models.CheckConstraint(condition=Q(price__gte=0) & Q(fee__gte=0), name="price_tier_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.price} {self.currency}"

    @property
    def total(self) -> Decimal:
        return self.price + self.fee


class ItemStatus(models.TextChoices):
    AVAILABLE = "AVAILABLE", _("Available")
    SOFT_LOCKED = "SOFT_LOCKED", _("In a cart")
    HARD_LOCKED = "HARD_LOCKED", _("Paying")
    SOLD = "SOLD", _("Sold")


class OrderStatus(models.TextChoices):
    HELD = "HELD", _("Held")
    PAYMENT_PENDING = "PAYMENT_PENDING", _("Payment pending")
    PAID = "PAID", _("Paid")
    EXPIRED = "EXPIRED", _("Expired")
    CANCELLED = "CANCELLED", _("Cancelled")
    FAILED = "FAILED", _("Failed")
    # Paid, then refunded as a whole (a promoter, from the admin): its seats
    # went back on sale; the payments app voided its tickets.
    REFUNDED = "REFUNDED", _("Refunded")


LIVE_ORDER_STATUSES = (OrderStatus.HELD, OrderStatus.PAYMENT_PENDING, OrderStatus.PAID)


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="orders", verbose_name=_("event"))
    owner = models.CharField(_("fan"), max_length=64, help_text=_("The fan's browser identity."))
    status = models.CharField(_("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.HELD)
    total = models.DecimalField(_("total"), max_digits=10, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    ticket_count = models.PositiveSmallIntegerField(_("tickets"), default=0)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    # The Idempotency-Key of the request that created the order (NULL without
    # one) and the SHA-256 of that request, normalised, so a retry with the
    # same key gets this order back and the key reused for another request is
    # refused (inventory/services/idempotency.py).
    idempotency_key = models.CharField(_("idempotency key"), max_length=255, null=True, blank=True, editable=False)  # noqa: DJ001 - NULL: no key, and outside the partial unique index
    request_hash = models.CharField(_("request hash"), max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["event", "owner"], name="order_event_owner"),
            models.Index(fields=["status", "expires_at"], name="order_status_expiry"),
        ]
        constraints = [
            # One order per fan and key: two requests racing with the same key
            # cannot both create one. Partial, so the keyless holds of the hot
            # path pay no index insert.
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="order_idempotency_key_unique",
            ),
            models.CheckConstraint(
                condition=Q(idempotency_key__isnull=True, request_hash__isnull=True)
                | Q(idempotency_key__isnull=False, request_hash__isnull=False),
                name="order_idempotency_key_has_hash",
            ),
            models.CheckConstraint(
                condition=~Q(status="PAID") | Q(paid_at__isnull=False), name="order_paid_has_paid_at"
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_non_negative"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in OrderStatus]), name="order_status_valid"),
            models.CheckConstraint(condition=Q(ticket_count__gte=0), name="order_ticket_count_non_negative"),
        ]

    def __str__(self) -> str:
        return gettext("Order %(reference)s (%(status)s)") % {
            "reference": str(self.id)[:8],
            "status": self.get_status_display(),
        }

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_ORDER_STATUSES


class InventoryItem(models.Model):
    """One sellable unit of one event: a seat, or one general-admission place."""

    # Each index costs every hold an insert (status changes defeat HOT
    # updates): event_id is covered by item_event_status, order_id by item_order.
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="items", db_index=False, verbose_name=_("event")
    )
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="items", verbose_name=_("section"))
    seat = models.ForeignKey(
        Seat, on_delete=models.PROTECT, null=True, blank=True, related_name="items", verbose_name=_("seat")
    )
    place_number = models.PositiveIntegerField(_("standing place number"), null=True, blank=True)
    # Copied from the seat so best-available reads one table.
    row_label = models.CharField(_("row"), max_length=8, blank=True)
    row_index = models.PositiveIntegerField(_("row index"), default=0)
    number = models.PositiveIntegerField(_("number"), default=0)
    rank = models.PositiveIntegerField(_("rank"), default=0)

    status = models.CharField(_("status"), max_length=12, choices=ItemStatus.choices, default=ItemStatus.AVAILABLE)
    locked_by = models.CharField(_("held by"), max_length=64, null=True, blank=True)  # noqa: DJ001 - NULL is the "no lock" state the constraints check
    locked_until = models.DateTimeField(_("held until"), null=True, blank=True)
    sold_to = models.CharField(_("sold to"), max_length=64, null=True, blank=True)  # noqa: DJ001
    sold_at = models.DateTimeField(_("sold at"), null=True, blank=True)
    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inventory_items",
        db_index=False,
        verbose_name=_("order"),
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        db_table = "inventory_item"
        verbose_name = _("seat or place")
        verbose_name_plural = _("seats and places")
        ordering = ["section", "row_index", "number", "place_number"]
        indexes = [
            models.Index(fields=["event", "status"], name="item_event_status"),
            models.Index(
                fields=["locked_until"],
                name="item_locked_until",
                condition=Q(status__in=["SOFT_LOCKED", "HARD_LOCKED"]),
            ),
            models.Index(fields=["event", "section", "rank", "row_index", "number"], name="item_best_available"),
            # Best-available scans only what is free, however much is sold.
            models.Index(
                fields=["event", "section", "rank", "row_index", "number"],
                name="item_free_best",
                condition=Q(status="AVAILABLE"),
            ),
            models.Index(fields=["order"], name="item_order"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "seat"], condition=Q(seat__isnull=False), name="item_one_per_seat"
            ),
            models.UniqueConstraint(
                fields=["event", "section", "place_number"],
                condition=Q(place_number__isnull=False),
                name="item_one_per_place",
            ),
            models.CheckConstraint(
                condition=(Q(seat__isnull=False) & Q(place_number__isnull=True))
                | (Q(seat__isnull=True) & Q(place_number__isnull=False)),
                name="item_is_seat_or_place",
            ),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in ItemStatus]), name="item_status_valid"),
            models.CheckConstraint(
                condition=~Q(status="AVAILABLE")
                | (
                    Q(locked_by__isnull=True)
                    & Q(locked_until__isnull=True)
                    & Q(order__isnull=True)
                    & Q(sold_to__isnull=True)
                    & Q(sold_at__isnull=True)
                ),
                name="item_available_is_clear",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["SOFT_LOCKED", "HARD_LOCKED"])
                | (
                    Q(locked_by__isnull=False)
                    & Q(locked_until__isnull=False)
                    & Q(order__isnull=False)
                    & Q(sold_to__isnull=True)
                    & Q(sold_at__isnull=True)
                ),
                name="item_locked_has_owner_and_expiry",
            ),
            models.CheckConstraint(
                condition=~Q(status="SOLD")
                | (
                    Q(order__isnull=False)
                    & Q(sold_to__isnull=False)
                    & Q(sold_at__isnull=False)
                    & Q(locked_until__isnull=True)
                ),
                name="item_sold_has_one_order",
            ),
        ]

    def __str__(self) -> str:
        if self.seat_id:
            return f"{self.section.code} {self.row_label}-{self.number}"
        return f"{self.section.code} #{self.place_number}"


class OrderItem(models.Model):
    # order_id is covered by order_item_unique_in_order (order, item).
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="items", db_index=False, verbose_name=_("order")
    )
    item = models.ForeignKey(
        InventoryItem, on_delete=models.PROTECT, related_name="order_items", verbose_name=_("seat or place")
    )
    price = models.DecimalField(_("price"), max_digits=8, decimal_places=2)
    fee = models.DecimalField(_("fee"), max_digits=8, decimal_places=2, default=Decimal("0.00"))
    # Denormalised from the order's status so the database can refuse a seat
    # in two live orders (Postgres cannot put a partial index across tables).
    is_live = models.BooleanField(_("live"), default=True, help_text=_("Held, being paid or paid."))

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.UniqueConstraint(fields=["item"], condition=Q(is_live=True), name="order_item_one_live_per_item"),
            models.UniqueConstraint(fields=["order", "item"], name="order_item_unique_in_order"),
            models.CheckConstraint(condition=Q(price__gte=0) & Q(fee__gte=0), name="order_item_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.item_id}"


class AuditEntry(models.Model):
    """Every state change of an order or an inventory item: from → to, when,
    why, by whom."""

    class Subject(models.TextChoices):
        ORDER = "order", _("Order")
        ITEM = "item", _("Seat/place")

    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="audit_entries", null=True, verbose_name=_("event")
    )
    subject = models.CharField(_("about"), max_length=8, choices=Subject.choices)
    # order_id is covered by audit_order_time (order, created_at).
    order = models.ForeignKey(
        Order,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="audit_entries",
        db_index=False,
        verbose_name=_("order"),
    )
    item = models.ForeignKey(
        InventoryItem,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="audit_entries",
        verbose_name=_("seat or place"),
    )
    from_status = models.CharField(_("previous status"), max_length=16, blank=True)
    to_status = models.CharField(_("new status"), max_length=16)
    reason = models.CharField(_("reason"), max_length=64)
    actor = models.CharField(_("done by"), max_length=100, help_text=_("Fan id, 'system' or a staff user name."))
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["order", "created_at"], name="audit_order_time")]

    def __str__(self) -> str:
        return f"{self.subject} {self.from_status}→{self.to_status} ({self.reason})"
