"""What a fan is told about their place, in one shape for every channel.

The ``queue.state`` fields (QueueState) are the same in the HTTP status
(the API and the fast path: QueueStatus.as_dict adds the place's own fields
around them) and in the WebSocket's per-fan messages (the snapshot on
connect, which adds the fan's lane and place). Every tick, the WebSocket
sends one ``queue.tick`` frame per event, identical for all its fans
(``tick_frame``); the page computes its ``queue.state`` fields from it
and its place as ``frame_state`` does.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import Any, NamedTuple


class FanStatus(StrEnum):
    PRE_QUEUE = "PRE_QUEUE"  # the lane has not opened yet
    WAITING = "WAITING"
    OFFERED = "OFFERED"  # the turn came; claiming it opens the store session
    ADMITTED = "ADMITTED"  # in the store (holds a pass)
    CLOSED = "CLOSED"  # the place is over; ``reason`` says why


class QueueState(NamedTuple):
    """The ``queue.state`` fields, in the order they are sent."""

    status: FanStatus
    position: int | None
    ahead: int | None
    total_waiting: int
    eta_seconds: int | None
    eta_range: tuple[int, int] | None
    paused: bool
    reason: str | None
    updated_at: float


def state_message(state: QueueState) -> str:
    """The WebSocket ``queue.state`` message."""
    return json.dumps({"type": "queue.state", **state._asdict()})


def offered_message(*, store_pass: str, expires_at: int | None, store_url: str | None) -> str:
    """The WebSocket message that hands the fan their pass to the store."""
    return json.dumps({"type": "queue.offered", "pass": store_pass, "expires_at": expires_at, "store_url": store_url})


def snapshot_message(state: QueueState, *, lane: int | None, place: int | None) -> str:
    """The WebSocket ``queue.state`` a fan gets on connect (and on a resync
    or a claim): ``state_message`` plus the fan's lane and place, from which
    the page computes its position from every later ``queue.tick``."""
    return json.dumps({"type": "queue.state", **state._asdict(), "lane": lane, "place": place})


def tick_frame(doc: dict[str, Any]) -> str:
    """The WebSocket ``queue.tick``: one text per event and tick, the same for
    every fan of the event (each server process encodes it once and writes
    it to all its sockets). Per lane what a fan needs to place itself:
    the front, the leavers beyond it (``gone``, prorated over ``behind``),
    the admission rate, whether the lane is open. ``frame_state`` is the
    arithmetic the page does with it (static/queueroom/waiting.js).
    ``updated_at`` comes last (bench/queue_ws_fanout.py reads it raw)."""
    lanes = {}
    for lane_id, lane in doc["lanes"].items():
        if lane["opened"]:
            lanes[lane_id] = {
                "opened": True,
                "front": lane["front"],
                "gone": lane["gone"],
                "behind": max(lane["seq"] - lane["front"], 1),
                "per_second": max(lane["per_second"] or doc["rate_per_minute"] / 60, 1 / 60),
            }
        else:
            lanes[lane_id] = {"opened": False, "opens_at": lane["opens_at"], "total": lane["seq"]}
    return json.dumps(
        {
            "type": "queue.tick",
            "lanes": lanes,
            "waiting": int(doc["waiting"]),
            "paused": doc["paused"],
            "closed": doc["closed"],
            "updated_at": doc["t"],
        }
    )


def frame_state(frame: dict[str, Any], *, lane: int, place: int) -> QueueState | None:
    """What the waiting page shows from a ``queue.tick`` for the fan at
    ``place`` in ``lane``: the reference for waiting.js, which does the same
    arithmetic (``Math.round`` is ``floor(x + 0.5)``, ``Math.floor`` is
    ``int`` for these non-negative numbers). None when the frame says
    nothing to show: the lane is not open, or the turn came (the server
    then sends the fan its own message)."""
    if frame["closed"]:
        return QueueState(
            FanStatus.CLOSED, None, None, frame["waiting"], None, None, frame["paused"], "sold_out", frame["updated_at"]
        )
    shared = frame["lanes"].get(str(lane))
    if shared is None or not shared["opened"] or place <= shared["front"]:
        return None
    raw = place - shared["front"] - 1
    # Leavers ahead are known exactly only to Redis; the frame carries their
    # count beyond the front, so prorate it (exact on GET status).
    ahead = raw - math.floor(shared["gone"] * raw / shared["behind"] + 0.5) if shared["gone"] else raw
    ahead = max(ahead, 0)
    eta = ahead / shared["per_second"]
    return QueueState(
        status=FanStatus.WAITING,
        position=ahead + 1,
        ahead=ahead,
        total_waiting=frame["waiting"],
        eta_seconds=int(eta),
        eta_range=(int(eta * 0.8), math.ceil(eta * 1.3)),
        paused=frame["paused"],
        reason=None,
        updated_at=frame["updated_at"],
    )
