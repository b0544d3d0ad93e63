"""The promoter's side of the waiting room: per-event queue settings, lanes
with weights and shuffle keys, and presale codes. The live queue itself lives
in Redis (queueroom/redis_scripts.py); these rows are read once per tick."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
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

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="queue_config")
    paused = models.BooleanField(default=False, help_text=_("No admissions while paused; fans keep their places."))
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
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("queue settings")
        verbose_name_plural = _("queue settings")

    def __str__(self) -> str:
        return f"Queue of {self.event}"


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

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="queue_lanes")
    name = models.CharField(max_length=60)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.GENERAL)
    weight = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    # Secret until the lane opens; its SHA-256 (the commitment) is public from
    # the start, so nobody, us included, can choose the pre-queue order later.
    shuffle_key = models.CharField(max_length=64, default=new_shuffle_key, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["event", "kind", "pk"]
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

    @property
    def commitment(self) -> str:
        return hashlib.sha256(bytes.fromhex(self.shuffle_key)).hexdigest()

    def opens_at(self, event: Event) -> dt.datetime:
        if self.kind == self.Kind.PRIORITY and event.presale_opens_at:
            return event.presale_opens_at
        return event.sale_opens_at


class PresaleCode(models.Model):
    lane = models.ForeignKey(Lane, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=40)
    max_uses = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    used = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lane", "code"], name="presale_code_unique_in_lane"),
            models.CheckConstraint(condition=Q(used__lte=F("max_uses")), name="presale_code_within_limit"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.used}/{self.max_uses})"
