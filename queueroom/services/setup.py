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


@dataclass(frozen=True)
class QueueSetup:
    event_id: int
    slug: str
    rate_per_minute: int
    max_in_store: int
    lanes: tuple[LaneSetup, ...]

    @property
    def general(self) -> LaneSetup:
        return next(lane for lane in self.lanes if lane.kind == Lane.Kind.GENERAL)

    def lane(self, lane_id: int) -> LaneSetup | None:
        return next((lane for lane in self.lanes if lane.id == lane_id), None)


SETUP_TTL = 5.0
# Keyed by event ids from signed tokens, so only real events; bounded anyway.
# The TTL is read when the memo is (re)built, so a test may lengthen it.
_setup_cache: Memo[int, QueueSetup] = Memo("queueroom.setup", maxsize=1024, ttl=lambda: SETUP_TTL)


def ensure_queue(event: Event) -> list[Lane]:
    """The event's lanes, creating the general lane and settings if missing."""
    lanes = list(Lane.objects.filter(event=event))
    if not any(lane.kind == Lane.Kind.GENERAL for lane in lanes):
        try:
            with transaction.atomic():
                lanes.append(Lane.objects.create(event=event, name="General", kind=Lane.Kind.GENERAL))
        except IntegrityError:  # created concurrently
            lanes = list(Lane.objects.filter(event=event))
    QueueConfig.objects.get_or_create(event=event)
    return lanes


def load_setup(event: Event) -> QueueSetup:
    lanes = ensure_queue(event)
    return QueueSetup(
        event_id=event.pk,
        slug=event.slug,
        rate_per_minute=event.admission_rate_per_minute,
        max_in_store=event.max_in_store,
        lanes=tuple(
            LaneSetup(
                id=lane.pk,
                name=lane.name,
                kind=lane.kind,
                weight=lane.weight,
                opens_at=lane.opens_at(event).timestamp(),
                shuffle_key=lane.shuffle_key,
                commitment=lane.commitment,
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
