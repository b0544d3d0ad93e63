"""Where a fan stands, computed from a parsed status row without I/O: the
part the sync services and their async twins (the fast path) share.

Reading a place takes the status row (one script), then, only when some
fans ahead may have left, one ZCOUNT of the leavers between the front and
the place (``gone_range``): each caller runs those two round trips with its
own client and hands the results to ``waiting_status``/``free_status``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from queueroom import passes
from queueroom.messages import FanStatus, QueueState
from queueroom.replies import PlaceState, StatusRow, closed_reason
from queueroom.services.errors import not_found
from queueroom.services.setup import QueueSetup
from queueroom.shuffle import place_of


@dataclass
class QueueStatus:
    token: str | None
    status: FanStatus
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

    def queue_state(self) -> QueueState:
        """The fields every channel sends (queueroom.messages)."""
        return QueueState(
            status=self.status,
            position=self.position,
            ahead=self.ahead,
            total_waiting=self.total_waiting,
            eta_seconds=self.eta_seconds,
            eta_range=self.eta_range,
            paused=self.paused,
            reason=self.reason,
            updated_at=self.updated_at,
        )

    def as_dict(self) -> dict[str, Any]:
        """The HTTP status: the queue.state fields and the place's own."""
        data = {
            "token": self.token,
            **self.queue_state()._asdict(),
            "ws_url": self.ws_url,
            "poll_after_seconds": self.poll_after_seconds,
            "lane": self.lane,
            "ticket": self.ticket,
            "place": self.place,
            "store_url": self.store_url,
        }
        if self.store_pass is not None:
            data["pass"], data["pass_expires_at"] = self.store_pass, self.pass_expires_at
        return data


def closed_status(reason: str) -> QueueStatus:
    """No place at all (the queue is closed to newcomers)."""
    return QueueStatus(token=None, status=FanStatus.CLOSED, reason=reason)


def parse_token(token: str) -> passes.QueueToken:
    try:
        return passes.verify_token(token)
    except passes.PassInvalid as exc:
        raise not_found() from exc


def eta(ahead: int, per_second: float) -> tuple[int, tuple[int, int]]:
    """Seconds until the turn comes, and the range shown (×0.8 – ×1.3)."""
    per_second = max(per_second, 1 / 60)
    seconds = ahead / per_second
    return int(seconds), (int(seconds * 0.8), int(math.ceil(seconds * 1.3)))


def waiting_status(token: str, t: passes.QueueToken, row: StatusRow, now: float) -> QueueStatus:
    """The status every place starts from before its state is looked at."""
    return QueueStatus(
        token=token,
        status=FanStatus.WAITING,
        ws_url=f"/ws/queue/{token}/",
        paused=row.paused,
        lane=t.lane_id,
        ticket=t.ticket,
        # The event's count from the last tick; the lane's tickets before the first one.
        total_waiting=row.waiting if row.waiting is not None else row.seq,
        updated_at=now,
    )


def close(out: QueueStatus, reason: str) -> QueueStatus:
    out.status, out.reason, out.ws_url = FanStatus.CLOSED, reason, None
    return out


def gone_range(t: passes.QueueToken, row: StatusRow) -> tuple[int, int] | None:
    """The places to count leavers in (ZCOUNT of the lane's gone set), when
    some may be ahead of this ticket."""
    if row.state is not PlaceState.WAITING or not row.opened or not row.gone:
        return None
    place = place_of(t.ticket, m=row.m, key_hex=row.key)
    return (row.front + 1, place - 1) if place - row.front > 1 else None


def free_status(
    out: QueueStatus, t: passes.QueueToken, row: StatusRow, setup: QueueSetup, now: float, gone_ahead: int
) -> QueueStatus:
    """Status of a ticket that is not offered or admitted (no claim, no pass);
    ``gone_ahead`` counts the leavers in ``gone_range``."""
    if row.state is not PlaceState.WAITING:
        return close(out, closed_reason(row.state))
    if row.closed:
        return close(out, "sold_out")
    if not row.opened:
        out.status = FanStatus.PRE_QUEUE
        out.total_waiting = row.seq
        lane = setup.lane(t.lane_id)
        out.eta_seconds = max(int(lane.opens_at - now), 0) if lane else None
        return out
    place = place_of(t.ticket, m=row.m, key_hex=row.key)
    ahead = max(place - row.front - 1 - gone_ahead, 0)
    out.place, out.ahead, out.position = place, ahead, ahead + 1
    out.total_waiting = max(out.total_waiting, ahead + 1)  # the count is from the last tick
    per_second = row.ema or setup.rate_per_minute / 60
    out.eta_seconds, out.eta_range = eta(ahead, per_second)
    out.poll_after_seconds = max(2, min(20, out.eta_seconds // 10))
    return out
