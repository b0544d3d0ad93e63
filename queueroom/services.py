"""The waiting room's write paths: join, status (heartbeat + claim), leave,
the admission tick, pause/resume. Every Redis call goes through
queueroom.redis_scripts; every function takes ``now`` (epoch seconds) so
tests control time. See docs/waiting-room.md for the design."""

from __future__ import annotations

import functools
import json
import logging
import math
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, cast

import redis
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import NoReverseMatch, reverse

from inventory.models import Event, InventoryItem, ItemStatus
from queueroom import passes
from queueroom import redis_scripts as rs
from queueroom.models import Lane, PresaleCode, QueueConfig
from queueroom.shuffle import Permutation, place_of
from ticketing.memo import Memo

log = logging.getLogger(__name__)

PRE_QUEUE = "PRE_QUEUE"
WAITING = "WAITING"
OFFERED = "OFFERED"
ADMITTED = "ADMITTED"
CLOSED = "CLOSED"

_CLOSED_REASONS = {
    "L": "left",
    "X": "no_heartbeat",
    "E": "offer_expired",
    "D": "session_ended",
}


class QueueError(Exception):
    def __init__(self, status: int, code: str, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.retry_after = retry_after


UNAVAILABLE = "unavailable"
# What Redis raises when it refuses, drops or stops answering (the clients
# time out after settings.REDIS_SOCKET_TIMEOUT). BusyLoadingError is a
# ConnectionError: a restarting Redis is unavailable too.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

P = ParamSpec("P")
R = TypeVar("R")


_quiet_until = 0.0


def _unavailable(exc: Exception) -> QueueError:
    global _quiet_until
    mono = time.monotonic()
    if mono >= _quiet_until:  # every waiting fan fails at once: one line per 10 s, not one per request
        _quiet_until = mono + 10
        log.warning("waiting room unavailable: redis %s: %s (repeats muted for 10 s)", type(exc).__name__, exc)
    # A few seconds, spread so that a crowd told to come back does not come
    # back in one wave.
    return QueueError(
        503,
        UNAVAILABLE,
        "The waiting room is not answering right now. Try again in a few seconds; a place you have is kept.",
        retry_after=random.randint(3, 7),
    )


def unavailable_on_redis_error(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a Redis outage inside ``func`` into QueueError 503 "unavailable"
    with a retry-after: the one mapping for every entry point of the queue."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except REDIS_DOWN as exc:
            raise _unavailable(exc) from exc

    return wrapper


def aunavailable_on_redis_error(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """unavailable_on_redis_error for coroutine functions."""

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await func(*args, **kwargs)
        except REDIS_DOWN as exc:
            raise _unavailable(exc) from exc

    return wrapper


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


@dataclass
class QueueStatus:
    token: str | None
    status: str
    position: int | None = None
    ahead: int | None = None
    total_waiting: int = 0
    eta_seconds: int | None = None
    eta_range: tuple[int, int] | None = None
    ws_url: str | None = None
    poll_after_seconds: int = 20
    paused: bool = False
    reason: str | None = None
    lane: int | None = None
    ticket: int | None = None
    place: int | None = None
    updated_at: float = 0
    store_pass: str | None = field(default=None, repr=False)
    pass_expires_at: int | None = None
    store_url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = {
            "token": self.token,
            "status": self.status,
            "position": self.position,
            "ahead": self.ahead,
            "total_waiting": self.total_waiting,
            "eta_seconds": self.eta_seconds,
            "eta_range": list(self.eta_range) if self.eta_range else None,
            "ws_url": self.ws_url,
            "poll_after_seconds": self.poll_after_seconds,
            "paused": self.paused,
            "reason": self.reason,
            "lane": self.lane,
            "ticket": self.ticket,
            "place": self.place,
            "updated_at": self.updated_at,
            "store_url": self.store_url,
        }
        if self.store_pass is not None:
            data["pass"], data["pass_expires_at"] = self.store_pass, self.pass_expires_at
        return data


# --- configuration -------------------------------------------------------------

_SETUP_TTL = 5.0
# Keyed by event ids from signed tokens, so only real events; bounded anyway.
_setup_cache: Memo[int, QueueSetup] = Memo("queueroom.setup", maxsize=1024, ttl=_SETUP_TTL)


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


def cached_setup(event_id: int, *, now: float | None = None) -> QueueSetup:
    """The queue setup, cached in-process for a few seconds (the hot join and
    status paths then run no SQL)."""
    return _setup_cache.get_or_load(event_id, lambda: load_setup(Event.objects.get(pk=event_id)))


def forget_setup(event_id: int) -> None:
    _setup_cache.discard(event_id)


def store_url(slug: str) -> str:
    try:
        return reverse("inventory:store", args=[slug])
    except NoReverseMatch:
        return reverse("inventory:event_detail", args=[slug])


def _keys(event_id: int, lane_id: int, ticket: int) -> tuple[str, str, str, str]:
    b = rs.base(event_id)
    return f"{b}t{lane_id}:{ticket}", f"{b}L{lane_id}", f"{b}L{lane_id}:gone", f"{b}meta"


# --- fans ---------------------------------------------------------------------


def _use_code(event: Event, code: str) -> int:
    """Consume one use of a presale code; the priority lane's id."""
    found = PresaleCode.objects.filter(lane__event=event, code=code.strip()).values_list("pk", "lane_id").first()
    if found is None:
        raise QueueError(400, "invalid_code", "This presale code does not exist for this event.")
    used = PresaleCode.objects.filter(pk=found[0], used__lt=F("max_uses")).update(used=F("used") + 1)
    if not used:
        raise QueueError(409, "code_used_up", "This presale code has been used as many times as it allows.")
    return found[1]


def _give_back_code(lane_id: int, code: str) -> None:
    """Undo one use of a code that did not get its fan a new place."""
    PresaleCode.objects.filter(lane_id=lane_id, code=code.strip(), used__gt=0).update(used=F("used") - 1)


@unavailable_on_redis_error
def join(*, event: Event, fan_id: str, code: str = "", now: float) -> tuple[QueueStatus, bool]:
    """Take a place in the event's queue, or return the fan's existing one
    (refreshes, more tabs and retries never add a second place). A presale
    code puts the fan in its priority lane, also when they are already
    waiting in the general line: that place is given up for one in the
    priority lane. Returns (status, created)."""
    setup = cached_setup(event.pk)
    bind = passes.browser_binding(fan_id)
    b = rs.base(event.pk)
    c = rs.client()
    fan_key = f"{b}f:{bind}"
    lane_id = setup.general.id
    if code:
        existing = cast(str | None, c.get(fan_key))
        if existing is None:
            lane_id = _use_code(event, code)
        elif _waiting_in_general(existing, setup=setup, event=event, fan_id=fan_id, now=now):
            lane_id = _use_code(event, code)  # an unknown or used-up code leaves the place alone
            token = passes.sign_token(passes.QueueToken(event.pk, *(int(x) for x in existing.split(":"))))
            try:
                leave(token=token, fan_id=fan_id, now=now)
            except QueueError:
                _give_back_code(lane_id, code)
                raise
    lane = setup.lane(lane_id)  # None for a lane newer than the cached setup: the tick opens it
    opening = (lane.opens_at, lane.shuffle_key) if lane else (2**53, "")
    res = _join_row(rs.run("join", [fan_key, f"{b}L{lane_id}", f"{b}meta"], [b, lane_id, bind, now, *opening]))
    _mark_active(event.pk)
    created, got_lane, ticket = res[0], res[1], res[2]
    if created == -1:
        return QueueStatus(token=None, status=CLOSED, reason="sold_out"), False
    if code and lane_id != setup.general.id and (not created or int(got_lane) != lane_id):
        _give_back_code(lane_id, code)
    t = passes.QueueToken(event.pk, int(got_lane), int(ticket))
    token = passes.sign_token(t)
    row = res[3:]
    if row[2] in ("O", "A"):  # an existing place with an offer or a lease: claim it if due
        return status(token=token, fan_id=fan_id, now=now), False
    span = _gone_range(t, row)
    gone_ahead = c.zcount(f"{b}L{t.lane_id}:gone", *span) if span else 0
    return _fan_free_status(_status_base(token, t, row, now), t, row, setup, now, gone_ahead), bool(created)


def _waiting_in_general(existing: str, *, setup: QueueSetup, event: Event, fan_id: str, now: float) -> bool:
    """Whether the fan's place ("lane:ticket") is still waiting (or in the
    pre-queue) in the general lane: the only place a presale code upgrades.
    An offer or a store session is kept as it is."""
    lane_id, ticket = (int(x) for x in existing.split(":"))
    if lane_id != setup.general.id:
        return False
    token = passes.sign_token(passes.QueueToken(event.pk, lane_id, ticket))
    try:
        now_status = status(token=token, fan_id=fan_id, now=now, heartbeat=False, claim=False)
    except QueueError:
        return False
    return now_status.status in (WAITING, PRE_QUEUE)


def _join_row(raw: str) -> list[Any]:
    """The join script's reply: created, lane, ticket, then the status row
    (empty strings are Redis nils)."""
    parts: list[Any] = [x or None for x in raw.split("|")]
    parts[0] = int(parts[0] or 0)
    if len(parts) > 18:
        parts[18] = int(parts[18] or 0)
    return parts


# Events this process told the admitter about in the last few seconds.
_active_until: Memo[int, bool] = Memo("queueroom.marked_active", maxsize=1024, ttl=_SETUP_TTL)


def _mark_active(event_id: int) -> None:
    """Tell the admitter this event has a queue (at most every few seconds per process)."""
    if not _active_until.get(event_id):
        rs.client().sadd(rs.active_key(), event_id)
        _active_until.set(event_id, True)


def eta(ahead: int, per_second: float) -> tuple[int, tuple[int, int]]:
    per_second = max(per_second, 1 / 60)
    eta = ahead / per_second
    return int(eta), (int(eta * 0.8), int(math.ceil(eta * 1.3)))


def _parse_token(token: str) -> passes.QueueToken:
    try:
        return passes.verify_token(token)
    except passes.PassInvalid as exc:
        raise QueueError(404, "not_found", "No such place in a queue.") from exc


def _status_base(token: str, t: passes.QueueToken, row: list[Any], now: float) -> QueueStatus:
    seq, paused, waiting = row[6], row[12], row[14]
    return QueueStatus(
        token=token,
        status=WAITING,
        ws_url=f"/ws/queue/{token}/",
        paused=paused == "1",
        lane=t.lane_id,
        ticket=t.ticket,
        total_waiting=int(waiting or seq or 0),
        updated_at=now,
    )


def _gone_range(t: passes.QueueToken, row: list[Any]) -> tuple[int, int] | None:
    """The places to count leavers in, when some may be ahead of this ticket."""
    front, opened, m, key, gone = row[7], row[8], row[9], row[10], row[15]
    if row[2] != "W" or opened != "1" or not int(gone):
        return None
    place = place_of(t.ticket, m=int(m or 0), key_hex=key)
    front_int = int(front or 0)
    return (front_int + 1, place - 1) if place - front_int > 1 else None


def _fan_free_status(
    out: QueueStatus, t: passes.QueueToken, row: list[Any], setup: QueueSetup, now: float, gone_ahead: int
) -> QueueStatus:
    """Status of a ticket that is not offered or admitted (no claim, no pass)."""
    st, seq, front, opened, m, key, ema, closed = row[2], row[6], row[7], row[8], row[9], row[10], row[11], row[13]
    if st != "W":
        return _closed(out, _CLOSED_REASONS.get(st, "closed"))
    if closed == "1":
        return _closed(out, "sold_out")
    if opened != "1":
        out.status = PRE_QUEUE
        out.total_waiting = int(seq or 0)
        lane = setup.lane(t.lane_id)
        out.eta_seconds = max(int(lane.opens_at - now), 0) if lane else None
        return out
    front_int = int(front or 0)
    place = place_of(t.ticket, m=int(m or 0), key_hex=key)
    ahead = max(place - front_int - 1 - gone_ahead, 0)
    out.place, out.ahead, out.position = place, ahead, ahead + 1
    out.total_waiting = max(out.total_waiting, ahead + 1)  # the count is from the last tick
    per_second = float(ema or 0) or setup.rate_per_minute / 60
    out.eta_seconds, out.eta_range = eta(ahead, per_second)
    out.poll_after_seconds = max(2, min(20, out.eta_seconds // 10))
    return out


@unavailable_on_redis_error
def status(*, token: str, fan_id: str | None, now: float, heartbeat: bool = True, claim: bool = True) -> QueueStatus:
    """Where the token's fan stands. Counts as a heartbeat; an offer is
    claimed (the store lease opens and the pass is issued) when the caller is
    the browser that joined."""
    t = _parse_token(token)
    ticket_key, lane_key, gone_key, meta_key = _keys(t.event_id, t.lane_id, t.ticket)
    row = rs.run("status", [ticket_key, lane_key, gone_key, meta_key], [now, 1 if heartbeat else 0])
    if row is None:
        raise QueueError(404, "not_found", "No such place in a queue.")
    fan, st, oexp, sid, cap = row[0], row[2], row[3], row[4], row[5]
    setup = cached_setup(t.event_id)
    out = _status_base(token, t, row, now)
    mine = bool(fan_id) and passes.browser_binding(fan_id or "") == fan
    if st == "O":
        if float(oexp) <= now:
            return _closed(out, "offer_expired")
        if not (claim and mine):
            out.status = OFFERED
            out.poll_after_seconds = 2
            out.store_url = store_url(setup.slug)
            return out
        got = rs.run(
            "claim",
            [ticket_key, f"{rs.base(t.event_id)}offers", f"{rs.base(t.event_id)}leases"],
            [
                now,
                fan,
                secrets.token_urlsafe(12),
                _setting("QUEUE_LEASE_IDLE_SECONDS"),
                _setting("QUEUE_LEASE_MAX_SECONDS"),
                f"{t.lane_id}:{t.ticket}",
            ],
        )
        st = got[0]
        if st == "A":
            sid, cap = got[1], got[2]
        else:
            return _closed(out, _CLOSED_REASONS.get(st, "closed"))
    if st == "A":
        if float(cap) <= now:
            return _closed(out, "session_ended")
        out.status = ADMITTED
        out.store_url = store_url(setup.slug)
        if mine:
            out.pass_expires_at = int(float(cap))
            out.store_pass = passes.sign_pass(
                passes.StorePass(t.event_id, t.lane_id, t.ticket, sid, out.pass_expires_at, fan)
            )
        return out
    span = _gone_range(t, row)
    gone_ahead = rs.client().zcount(gone_key, *span) if span else 0
    return _fan_free_status(out, t, row, setup, now, gone_ahead)


# --- async hot paths (queueroom.fastpath) ---------------------------------------


def peek_setup(event_id: int) -> QueueSetup | None:
    """The cached setup, or None (never touches the database)."""
    return _setup_cache.get(event_id)


@aunavailable_on_redis_error
async def astatus(*, token: str, now: float) -> QueueStatus | None:
    """status() for async servers, for tickets that are not offered or
    admitted; None means "ask status()" (claims and passes stay sync)."""
    t = _parse_token(token)
    setup = peek_setup(t.event_id)
    if setup is None:
        return None
    ticket_key, lane_key, gone_key, meta_key = _keys(t.event_id, t.lane_id, t.ticket)
    row = await rs.arun("status", [ticket_key, lane_key, gone_key, meta_key], [now, 1])
    if row is None:
        raise QueueError(404, "not_found", "No such place in a queue.")
    if row[2] in ("O", "A"):
        return None
    span = _gone_range(t, row)
    gone_ahead = await rs.async_client()[0].zcount(gone_key, *span) if span else 0
    return _fan_free_status(_status_base(token, t, row, now), t, row, setup, now, gone_ahead)


@aunavailable_on_redis_error
async def ajoin(*, event_id: int, fan_id: str, now: float) -> tuple[QueueStatus, bool] | None:
    """join() without a presale code for async servers; None means "call
    join()" (which is idempotent, so the fallback is always safe)."""
    setup = peek_setup(event_id)
    if setup is None:
        return None
    bind = passes.browser_binding(fan_id)
    b = rs.base(event_id)
    lane = setup.general
    c, scripts = rs.async_client()
    res = _join_row(
        await scripts["join"](
            keys=[f"{b}f:{bind}", f"{b}L{lane.id}", f"{b}meta"],
            args=[b, lane.id, bind, now, lane.opens_at, lane.shuffle_key],
        )
    )
    if not _active_until.get(event_id):
        await c.sadd(rs.active_key(), event_id)
        _active_until.set(event_id, True)
    created, got_lane, ticket = res[0], res[1], res[2]
    if created == -1:
        return QueueStatus(token=None, status=CLOSED, reason="sold_out"), False
    row = res[3:]
    if row[2] in ("O", "A"):
        return None
    t = passes.QueueToken(event_id, int(got_lane), int(ticket))
    token = passes.sign_token(t)
    span = _gone_range(t, row)
    gone_ahead = await c.zcount(f"{b}L{t.lane_id}:gone", *span) if span else 0
    return _fan_free_status(_status_base(token, t, row, now), t, row, setup, now, gone_ahead), bool(created)


def _closed(out: QueueStatus, reason: str) -> QueueStatus:
    out.status, out.reason, out.ws_url = CLOSED, reason, None
    return out


def _setting(name: str) -> int:
    from django.conf import settings

    return int(getattr(settings, name))


@unavailable_on_redis_error
def heartbeat(*, token: str, fan_id: str | None, now: float) -> str | None:
    """Keep a waiting fan's place (grace period) or an admitted fan's lease.
    Only the browser that joined may: QueueError 403 for any other."""
    t = _parse_token(token)
    if not fan_id:
        raise QueueError(403, "not_your_place", "This place belongs to another browser.")
    ticket_key, _, _, _ = _keys(t.event_id, t.lane_id, t.ticket)
    state: str | None = rs.run(
        "heartbeat",
        [ticket_key, f"{rs.base(t.event_id)}leases"],
        [now, _setting("QUEUE_LEASE_IDLE_SECONDS"), passes.browser_binding(fan_id)],
    )
    if state == "forbidden":
        raise QueueError(403, "not_your_place", "This place belongs to another browser.")
    return state


def heartbeat_many(*, tokens: list[str], now: float) -> None:
    """heartbeat() for many places in pipelined batches (the WebSocket hub's
    connections, once a minute)."""
    idle = _setting("QUEUE_LEASE_IDLE_SECONDS")
    c = rs.client()
    for start in range(0, len(tokens), 500):
        pipe = c.pipeline(transaction=False)
        for token in tokens[start : start + 500]:
            try:
                t = passes.verify_token(token)
            except passes.PassInvalid:
                continue
            ticket_key, _, _, _ = _keys(t.event_id, t.lane_id, t.ticket)
            # The hub's own connections: no owner check (a connection holds no pass).
            rs.run("heartbeat", [ticket_key, f"{rs.base(t.event_id)}leases"], [now, idle, ""], pipe=pipe)
        try:
            pipe.execute()
        except REDIS_DOWN as exc:
            # The hub calls this once a minute and places last QUEUE_GRACE_SECONDS
            # (5 min) without one: skip this round instead of ending the hub's loop.
            log.warning("queue heartbeats skipped: redis %s: %s", type(exc).__name__, exc)
            return


@unavailable_on_redis_error
def leave(*, token: str, fan_id: str, now: float) -> QueueStatus:
    """Give up the place (or end the store session); the fan may join again, at the back."""
    t = _parse_token(token)
    ticket_key, lane_key, gone_key, _ = _keys(t.event_id, t.lane_id, t.ticket)
    b = rs.base(t.event_id)
    c = rs.client()
    m, key = cast(list[str | None], c.hmget(lane_key, ["m", "key"]))  # the client decodes replies to str
    place = place_of(t.ticket, m=int(m or 0), key_hex=key)
    bind = passes.browser_binding(fan_id)
    got = rs.run(
        "leave",
        [ticket_key, gone_key, f"{b}offers", f"{b}leases", f"{b}f:{bind}", revoked_key(t.event_id)],
        [bind, place, f"{t.lane_id}:{t.ticket}", now],
    )
    if got is None:
        raise QueueError(404, "not_found", "No such place in a queue.")
    if got == "forbidden":
        raise QueueError(403, "not_your_place", "This place belongs to another browser.")
    return status(token=token, fan_id=fan_id, now=now, heartbeat=False, claim=False)


@unavailable_on_redis_error
def end_session(*, store_pass: passes.StorePass, now: float | None = None) -> bool:
    """End the store session a pass belongs to (order paid, fan left the
    store): its place in the store goes to the next fan on the next tick,
    and the pass is revoked (is_revoked). Idempotent; False when there was
    no live session."""
    b = rs.base(store_pass.event_id)
    ticket_key, _, _, _ = _keys(store_pass.event_id, store_pass.lane_id, store_pass.ticket)
    got = rs.run(
        "end_session",
        [ticket_key, f"{b}leases", revoked_key(store_pass.event_id)],
        [store_pass.session_id, time.time() if now is None else now],
    )
    return bool(got == 1)


def revoked_key(event_id: int) -> str:
    """Sessions ended before their pass expired: member session id, score
    the pass's expiry (entries past it are dropped as new ones arrive)."""
    return f"{rs.base(event_id)}revoked"


def is_revoked(store_pass: passes.StorePass) -> bool:
    """Whether the pass's store session was ended (fan left, order paid).
    One Redis round trip; the store's only one per request besides the rate limit."""
    return rs.client().zscore(revoked_key(store_pass.event_id), store_pass.session_id) is not None


# --- promoter -----------------------------------------------------------------


def set_paused(*, event: Event, paused: bool) -> None:
    """Pause or resume admissions; the admitter applies it on its next tick."""
    QueueConfig.objects.update_or_create(event=event, defaults={"paused": paused})


def set_admission(*, event: Event, rate_per_minute: int | None = None, max_in_store: int | None = None) -> None:
    changes: dict[str, int] = {}
    if rate_per_minute is not None:
        changes["admission_rate_per_minute"] = max(1, rate_per_minute)
    if max_in_store is not None:
        changes["max_in_store"] = max(1, max_in_store)
    if changes:
        Event.objects.filter(pk=event.pk).update(**changes)
        for name, value in changes.items():
            setattr(event, name, value)
        forget_setup(event.pk)


@unavailable_on_redis_error
def state_document(event_id: int) -> dict[str, Any] | None:
    raw = rs.client().get(f"{rs.base(event_id)}state")
    return json.loads(raw) if raw else None


# --- admission ----------------------------------------------------------------


def _sold_out(event_id: int) -> bool:
    items = InventoryItem.objects.filter(event_id=event_id)
    return not items.exclude(status=ItemStatus.SOLD).exists() and items.exists()


@dataclass(frozen=True)
class TickPlan:
    """Everything a tick needs from PostgreSQL, read before touching Redis."""

    setup: QueueSetup
    paused: bool
    closed: bool


def plan_tick(*, event: Event) -> TickPlan:
    """The promoter's current settings (pause, rate, capacity, lanes) and the
    sold-out flag: changes take effect on the next tick."""
    return TickPlan(
        setup=load_setup(event),
        paused=QueueConfig.objects.filter(event=event, paused=True).exists(),
        closed=_sold_out(event.pk),
    )


def tick(*, event: Event, now: float) -> dict[str, Any] | None:
    """One admission tick of one event; see apply_tick."""
    return apply_tick(plan=plan_tick(event=event), now=now)


def apply_tick(*, plan: TickPlan, now: float) -> dict[str, Any] | None:
    """One admission tick: open lanes whose time has come, expire offers and
    leases, admit min(rate budget, free capacity, waiting) shared across lanes
    by weight. Idempotent per second (a repeated tick is a no-op) and
    compare-and-set on each lane's front, so concurrent admitters cannot
    admit a place twice. Redis work depends on the number admitted, never on
    the queue length. Returns the new state document, or None when this
    tick was already done or lost a race."""
    from django.conf import settings

    setup = plan.setup
    event_id = setup.event_id
    b = rs.base(event_id)
    c = rs.client()
    pipe = c.pipeline(transaction=False)
    for lane in setup.lanes:
        pipe.hmget(f"{b}L{lane.id}", ["front", "opened", "m"])
    heads = pipe.execute()
    upper = min(math.ceil(max(setup.rate_per_minute / 60, 1)), setup.max_in_store)
    # Headroom for skipped places (left, no heartbeat); the rest waits a tick.
    budget = upper * 2 + 16
    args: list[Any] = [
        b,
        now,
        int(now),
        setup.rate_per_minute,
        setup.max_in_store,
        1 if plan.paused else 0,
        1 if plan.closed else 0,
        settings.QUEUE_OFFER_TTL_SECONDS,
        settings.QUEUE_GRACE_SECONDS,
        len(setup.lanes),
    ]
    for lane, (front, opened, m) in zip(setup.lanes, heads, strict=True):
        front_i, m_i = int(front or 0), int(m or 0)
        cands: list[int] = []
        if opened == "1" and front_i < m_i:
            perm = Permutation(lane.shuffle_key, m_i)
            cands = [perm.ticket_at(p) for p in range(front_i + 1, min(m_i, front_i + budget) + 1)]
        is_open = 1 if now >= lane.opens_at else 0
        args += [lane.id, lane.weight, is_open, lane.shuffle_key, front_i, len(cands), *cands]
    res = rs.run("tick", [f"{b}meta", f"{b}offers", f"{b}leases"], args)
    if res[0] != 1:
        if res[0] == -1:
            log.warning("queue tick for event %s lost a race on lane %s", event_id, res[1])
        return None
    lanes_out: dict[str, dict[str, Any]] = {}
    by_id = {lane.id: lane for lane in setup.lanes}
    pos = 1
    admitted_total = 0
    for _ in setup.lanes:
        lane_id, seq, front, opened, m, gone, admitted, ema = res[pos : pos + 8]
        pos += 8
        admitted_total += admitted
        lane = by_id[int(lane_id)]
        lanes_out[str(lane.id)] = {
            "name": lane.name,
            "kind": lane.kind,
            "weight": lane.weight,
            "seq": seq,
            "front": front,
            "opened": bool(opened),
            "m": m,
            "gone": gone,
            "admitted": admitted,
            "per_second": round(float(ema), 3),
            "opens_at": lane.opens_at,
            "commitment": lane.commitment,
            # The key is published once the lane has opened (its order is fixed).
            "key": lane.shuffle_key if opened else None,
        }
    in_store, offers, waiting = res[pos : pos + 3]
    doc = {
        "event": event_id,
        "t": now,
        "paused": plan.paused,
        "closed": plan.closed,
        "in_store": in_store,
        "offers": offers,
        "waiting": waiting,
        "admitted": admitted_total,
        "rate_per_minute": setup.rate_per_minute,
        "max_in_store": setup.max_in_store,
        "lanes": lanes_out,
    }
    c.set(f"{b}state", json.dumps(doc), ex=3600)
    return doc


def take_leadership(*, owner: str, ttl_ms: int = 3000) -> bool:
    return bool(rs.run("leader", [rs.leader_key()], [owner, ttl_ms]))


def release_leadership(*, owner: str) -> None:
    rs.run("release", [rs.leader_key()], [owner])


def admission_cycle(*, owner: str, now: float) -> list[dict[str, Any]]:
    """One second of the admitter: if this process holds the leader lock,
    tick every event with a queue. Returns the state documents to broadcast."""
    if not take_leadership(owner=owner):
        return []
    docs = []
    c = rs.client()
    for event_id in sorted(int(x) for x in c.smembers(rs.active_key())):
        event = Event.objects.filter(pk=event_id).first()
        if event is None or event.sale_phase() == "ENDED":
            c.srem(rs.active_key(), event_id)
            continue
        doc = tick(event=event, now=now)
        if doc is not None:
            docs.append(doc)
    return docs


def group_name(event_id: int) -> str:
    from django.conf import settings

    return f"{settings.REDIS_KEY_PREFIX}.queue.{event_id}"


@unavailable_on_redis_error
def find_place(*, event: Event, fan_id: str) -> str | None:
    """The token of this browser's live place in the event's queue, if any."""
    b = rs.base(event.pk)
    found = cast(str | None, rs.client().get(f"{b}f:{passes.browser_binding(fan_id)}"))
    if not found:
        return None
    lane_id, ticket = (int(x) for x in found.split(":"))
    return passes.sign_token(passes.QueueToken(event.pk, lane_id, ticket))
