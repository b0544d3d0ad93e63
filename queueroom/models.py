"""The promoter's side of the waiting room: per-event queue settings, lanes
with weights and shuffle keys, and presale codes. The live queue itself lives
in Redis (queueroom/redis_scripts.py); these rows are read once per tick."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from inventory.models import Event


def new_shuffle_key() -> str:
    return secrets.token_hex(32)


def default_challenge_max_number() -> int:
    """New events start with the site's default difficulty (settings.QUEUE_CHALLENGE_MAX_NUMBER)."""
    return int(settings.QUEUE_CHALLENGE_MAX_NUMBER)


class QueueConfig(models.Model):
    """Per-event switches the admitter reads on every tick."""

    class FlaggedFans(models.TextChoices):
        """Where a join from a flagged client address goes (queueroom.bots)."""

        OFF = "OFF", _("Off: flagged fans join like everyone")
        BACK = "BACK", _("Back of the line: let in after everyone else")
        SHADOW = "SHADOW", _("Shadow line: a place that is never let in")

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="queue_config", verbose_name=_("event"))
    paused = models.BooleanField(
        _("paused"), default=False, help_text=_("No admissions while paused; fans keep their places.")
    )
    challenge_max_number = models.PositiveIntegerField(
        _("bot check difficulty"),
        default=default_challenge_max_number,
        validators=[MaxValueValidator(10_000_000)],
        help_text=_(
            "Proof of work a browser does before it gets a place (about this many hashes at most; "
            "0 turns the check off). 20,000 takes a phone a few hundred milliseconds."
        ),
    )
    flagged_fans = models.CharField(
        _("flagged fans"),
        max_length=6,
        choices=FlaggedFans.choices,
        default=FlaggedFans.BACK,
        help_text=_(
            "Clients caught flooding joins, making many identities or failing the bot check: where their new places go."
        ),
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("queue settings")
        verbose_name_plural = _("queue settings")
        # The sale dashboard's controls (docs/dashboard.md): the operator group has it.
        permissions = [("control_queue", "Can steer the sale from the dashboard (pause, rate, capacity, presale)")]

    def __str__(self) -> str:
        return gettext("Virtual queue of %(event)s") % {"event": self.event}


class Lane(models.Model):
    """A line of the waiting room. Every event has a GENERAL lane; presale
    codes put fans into a PRIORITY lane, which opens at presale time. Each
    tick's admissions are shared across open lanes by weight."""

    class Kind(models.TextChoices):
        GENERAL = "GENERAL", _("General sale")
        PRIORITY = "PRIORITY", _("Presale (priority)")
        # Made by the waiting room itself for flagged clients (queueroom.bots):
        # BACK is let in only when the other lanes have nobody to let in,
        # SHADOW never. Neither is shown to fans.
        BACK = "BACK", _("Flagged fans: back of the line")
        SHADOW = "SHADOW", _("Flagged fans: shadow line")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="queue_lanes", verbose_name=_("event"))
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.GENERAL)
    weight = models.PositiveIntegerField(
        _("weight"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("Share of each tick's admissions while several lanes are open."),
    )
    # Secret until the lane opens; its SHA-256 (the commitment) is public from
    # the start, so nobody, us included, can choose the pre-queue order later.
    shuffle_key = models.CharField(_("shuffle key"), max_length=64, default=new_shuffle_key, editable=False)
    closed = models.BooleanField(
        _("closed"),
        default=False,
        help_text=_("Closed by the promoter: nobody is let in from this lane; its fans keep their places."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["event", "kind", "pk"]
        verbose_name = _("queue lane")
        verbose_name_plural = _("queue lanes")
        constraints = [
            models.UniqueConstraint(fields=["event", "name"], name="lane_name_unique_in_event"),
            models.UniqueConstraint(fields=["event"], condition=Q(kind="GENERAL"), name="lane_one_general_per_event"),
            models.UniqueConstraint(
                fields=["event", "kind"],
                condition=Q(kind__in=["BACK", "SHADOW"]),
                name="lane_one_flagged_kind_per_event",
            ),
            models.CheckConstraint(condition=Q(weight__gte=1), name="lane_weight_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (×{self.weight})"

    def clean(self) -> None:
        # The database refuses a second one too (lane_one_general_per_event);
        # this says so next to the field.
        if self.kind == self.Kind.GENERAL and self.event_id is not None:
            others = Lane.objects.filter(event_id=self.event_id, kind=self.Kind.GENERAL).exclude(pk=self.pk)
            if others.exists():
                raise ValidationError({"kind": _("This event already has a general sale lane.")})

    @property
    def commitment(self) -> str:
        return hashlib.sha256(bytes.fromhex(self.shuffle_key)).hexdigest()

    def opens_at(self, event: Event) -> dt.datetime:
        if self.kind == self.Kind.PRIORITY and event.presale_opens_at:
            return event.presale_opens_at
        return event.sale_opens_at


class PresaleCode(models.Model):
    lane = models.ForeignKey(Lane, on_delete=models.CASCADE, related_name="codes", verbose_name=_("lane"))
    code = models.CharField(_("code"), max_length=40)
    max_uses = models.PositiveIntegerField(
        _("uses allowed"), default=1, validators=[MinValueValidator(1)], help_text=_("How many fans can use this code.")
    )
    used = models.PositiveIntegerField(_("used"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("presale code")
        verbose_name_plural = _("presale codes")
        constraints = [
            models.UniqueConstraint(fields=["lane", "code"], name="presale_code_unique_in_lane"),
            models.CheckConstraint(condition=Q(used__lte=F("max_uses")), name="presale_code_within_limit"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.used}/{self.max_uses})"

    def clean(self) -> None:
        # The database refuses it too (presale_code_within_limit).
        if self.max_uses is not None and self.max_uses < self.used:
            raise ValidationError(
                {
                    "max_uses": ngettext(
                        "This code has been used %(used)d time already; allow at least that many.",
                        "This code has been used %(used)d times already; allow at least that many.",
                        self.used,
                    )
                    % {"used": self.used}
                },
            )
