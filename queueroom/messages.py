"""What a fan is told about their place, in one shape for every channel.

The ``queue.state`` fields (QueueState) are the same in the HTTP status
(the API and the fast path: QueueStatus.as_dict adds the place's own fields
around them), in the WebSocket snapshot and in every WebSocket tick. The
per-tick message is pre-rendered once per lane and tick from the same
fields (``waiting_template``) so that each connection costs one
``%``-format, not a ``json.dumps``.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import NamedTuple


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


# Placeholders json.dumps renders as unique strings, replaced by %d afterwards.
_POSITION, _AHEAD, _ETA, _ETA_LOW, _ETA_HIGH = ("\x00queue-%s\x00" % n for n in range(5))


def waiting_template(*, total_waiting: int, paused: bool, updated_at: float) -> str:
    """``state_message`` of a waiting fan, with ``%d`` for what differs per
    connection, in field order: position, ahead, eta_seconds, then the ETA
    range's low and high ends."""
    marked = QueueState(
        status=FanStatus.WAITING,
        position=_POSITION,  # type: ignore[arg-type]
        ahead=_AHEAD,  # type: ignore[arg-type]
        total_waiting=total_waiting,
        eta_seconds=_ETA,  # type: ignore[arg-type]
        eta_range=(_ETA_LOW, _ETA_HIGH),  # type: ignore[arg-type]
        paused=paused,
        reason=None,
        updated_at=updated_at,
    )
    text = state_message(marked).replace("%", "%%")
    for mark in (_POSITION, _AHEAD, _ETA, _ETA_LOW, _ETA_HIGH):
        text = text.replace(json.dumps(mark), "%d")
    return text
