"""An event's queue setup: its lanes and admission settings, read from
PostgreSQL and cached per process so the hot join and status paths run no SQL."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse

from inventory.models import Event
from queueroom.models import Lane, QueueConfig
from ticketing.memo import Memo


@dataclass(frozen=True)
class LaneSetup:
    id: int
    name: str
    kind: str
    weight: int
    opens_at: float
    shuffle_key: str
    commitment: str
    # Closed by the promoter (the sale dashboard): admits nobody, does not open.
    closed: bool = False

    @property
    def flagged(self) -> bool:
        """A lane the waiting room made for flagged clients (never shown to fans)."""
        return self.kind in (Lane.Kind.BACK, Lane.Kind.SHADOW)

    @property
    def tick_weight(self) -> int:
        """The weight handed to the tick (queueroom/lua/tick.lua): 0 gets only
        what the other lanes leave (the back of the line), -1 never admits and
        is not counted as waiting (the shadow line)."""
        if self.kind == Lane.Kind.BACK:
            return 0
        if self.kind == Lane.Kind.SHADOW:
            return -1
        return self.weight


@dataclass(frozen=True)
class QueueSetup:
    event_id: int
    slug: str
    rate_per_minute: int
    max_in_store: int
    lanes: tuple[LaneSetup, ...]
    challenge_max_number: int = 0
    flagged_fans: str = QueueConfig.FlaggedFans.OFF

    @property
    def general(self) -> LaneSetup:
        return next(lane for lane in self.lanes if lane.kind == Lane.Kind.GENERAL)

    @property
    def public_lanes(self) -> tuple[LaneSetup, ...]:
        """The lanes fans are told about (not the flagged ones)."""
        return tuple(lane for lane in self.lanes if not lane.flagged)

    @property
    def flagged_lane(self) -> LaneSetup | None:
        """Where a flagged client's new place goes: the lane of the event's
        choice (back of the line or shadow), None when flagging is off."""
        return next((lane for lane in self.lanes if lane.kind == self.flagged_fans), None)

    def lane(self, lane_id: int) -> LaneSetup | None:
        return next((lane for lane in self.lanes if lane.id == lane_id), None)


SETUP_TTL = 5.0
# Keyed by event ids from signed tokens, so only real events; bounded anyway.
# The TTL is read when the memo is (re)built, so a test may lengthen it.
_setup_cache: Memo[int, QueueSetup] = Memo("queueroom.setup", maxsize=1024, ttl=lambda: SETUP_TTL)


_LANE_NAMES = {Lane.Kind.GENERAL: "General", Lane.Kind.BACK: "Flagged (back)", Lane.Kind.SHADOW: "Flagged (shadow)"}


def _ensure_lane(event: Event, lanes: list[Lane], kind: Lane.Kind) -> list[Lane]:
    if any(lane.kind == kind for lane in lanes):
        return lanes
    try:
        with transaction.atomic():
            return [*lanes, Lane.objects.create(event=event, name=_LANE_NAMES[kind], kind=kind)]
    except IntegrityError:  # created concurrently
        return list(Lane.objects.filter(event=event))


def ensure_queue(event: Event) -> tuple[list[Lane], QueueConfig]:
    """The event's lanes and settings, creating the general lane, the
    settings, and the lane flagged clients go to (when the event sends them
    to one) if missing."""
    config, _ = QueueConfig.objects.get_or_create(event=event)
    lanes = _ensure_lane(event, list(Lane.objects.filter(event=event)), Lane.Kind.GENERAL)
    if config.flagged_fans != QueueConfig.FlaggedFans.OFF:
        lanes = _ensure_lane(event, lanes, Lane.Kind(config.flagged_fans))
    return lanes, config


def load_setup(event: Event) -> QueueSetup:
    lanes, config = ensure_queue(event)
    return QueueSetup(
        event_id=event.pk,
        slug=event.slug,
        rate_per_minute=event.admission_rate_per_minute,
        max_in_store=event.max_in_store,
        challenge_max_number=config.challenge_max_number,
        flagged_fans=config.flagged_fans,
        lanes=tuple(
            LaneSetup(
                id=lane.pk,
                name=lane.name,
                kind=lane.kind,
                weight=lane.weight,
                opens_at=lane.opens_at(event).timestamp(),
                shuffle_key=lane.shuffle_key,
                commitment=lane.commitment,
                closed=lane.closed,
            )
            for lane in sorted(lanes, key=lambda x: x.pk)
        ),
    )


def cached_setup(event_id: int) -> QueueSetup:
    """The queue setup, cached in-process for a few seconds (the hot join and
    status paths then run no SQL)."""
    return _setup_cache.get_or_load(event_id, lambda: load_setup(Event.objects.get(pk=event_id)))


def peek_setup(event_id: int) -> QueueSetup | None:
    """The cached setup, or None (never touches the database)."""
    return _setup_cache.get(event_id)


def forget_setup(event_id: int) -> None:
    _setup_cache.discard(event_id)


def store_url(slug: str) -> str:
    try:
        return reverse("inventory:store", args=[slug])
    except NoReverseMatch:
        return reverse("inventory:event_detail", args=[slug])


def lease_idle_seconds() -> int:
    return int(settings.QUEUE_LEASE_IDLE_SECONDS)


def lease_max_seconds() -> int:
    return int(settings.QUEUE_LEASE_MAX_SECONDS)
