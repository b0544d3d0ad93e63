"""The Lua scripts' replies (queueroom/lua/), parsed once into named rows.

Redis hands back flat arrays (and the join script one ``|``-joined string,
which parses much faster than a 19-element array); nothing outside this
module reads a reply by position. Empty strings and nils both mean "not
set".
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum, StrEnum
from typing import Any, NamedTuple


class PlaceState(StrEnum):
    """A ticket's ``st`` field: one letter in Redis, named here."""

    WAITING = "W"
    OFFERED = "O"
    ADMITTED = "A"  # holds a store lease
    LEFT = "L"
    LOST = "X"  # no heartbeat for the grace period when its turn came
    OFFER_EXPIRED = "E"
    SESSION_DONE = "D"

    @property
    def live(self) -> bool:
        """An offer or a store session: what only the sync path (claim, pass) handles."""
        return self is PlaceState.OFFERED or self is PlaceState.ADMITTED


# Why a place is over, in the words of the API's ``reason``.
_CLOSED_REASONS = {
    PlaceState.LEFT: "left",
    PlaceState.LOST: "no_heartbeat",
    PlaceState.OFFER_EXPIRED: "offer_expired",
    PlaceState.SESSION_DONE: "session_ended",
}


def closed_reason(state: PlaceState | None) -> str:
    return _CLOSED_REASONS.get(state, "closed") if state is not None else "closed"


class StatusRow(NamedTuple):
    """One place and its lane as the status script reads them (also the tail
    of the join reply): the ticket hash, the lane hash, the event's meta
    hash and the number of leavers beyond the front."""

    fan: str | None  # the browser binding that joined
    seen: float | None  # last heartbeat
    state: PlaceState
    offer_expires: float | None
    session_id: str | None
    cap: float | None  # the store session's hard end
    seq: int  # tickets the lane handed out
    front: int  # places the lane served
    opened: bool
    m: int  # the pre-queue's size when the lane opened
    key: str | None  # the lane's shuffle key, once opened
    ema: float  # measured admissions per second (0: none yet)
    paused: bool
    closed: bool  # sold out
    waiting: int | None  # the event's waiting count at the last tick
    gone: int


def _float(value: Any) -> float | None:
    return float(value) if value else None


# Enum lookup by value through the class call is ~10 times slower than a dict;
# every join and status poll parses one state.
_BY_LETTER: dict[str, PlaceState] = {state.value: state for state in PlaceState}


def _status_row(v: Sequence[Any]) -> StatusRow:
    fan, seen, st, oexp, sid, cap, seq, front, opened, m, key, ema, paused, closed, waiting, gone = v
    return StatusRow(
        fan=fan or None,
        seen=_float(seen),
        state=_BY_LETTER[st],
        offer_expires=_float(oexp),
        session_id=sid or None,
        cap=_float(cap),
        seq=int(seq or 0),
        front=int(front or 0),
        opened=opened == "1",
        m=int(m or 0),
        key=key or None,
        ema=float(ema or 0),
        paused=paused == "1",
        closed=closed == "1",
        waiting=int(waiting) if waiting else None,
        gone=int(gone or 0),
    )


def status_row(reply: Sequence[Any] | None) -> StatusRow | None:
    """The status script's reply; None when the ticket does not exist."""
    return None if not reply else _status_row(reply)


class JoinReply(NamedTuple):
    created: bool  # a new place (False: the browser's live place, returned again)
    lane_id: int
    ticket: int
    row: StatusRow


def join_reply(reply: str) -> JoinReply | None:
    """The join script's "created|lane|ticket|<status row>"; None when the
    queue is closed (sold out) and nobody may join."""
    parts = reply.split("|")
    if parts[0] == "-1":
        return None
    return JoinReply(created=parts[0] == "1", lane_id=int(parts[1]), ticket=int(parts[2]), row=_status_row(parts[3:]))


class ClaimReply(NamedTuple):
    """What claiming an offer left: ADMITTED with its session, or the state
    that ended the place (None: no such ticket, or another browser's)."""

    state: PlaceState | None
    session_id: str | None = None
    cap: float | None = None


def claim_reply(reply: Sequence[Any]) -> ClaimReply:
    if reply[0] in ("none", "forbidden"):
        return ClaimReply(None)
    state = _BY_LETTER[reply[0]]
    if state is PlaceState.ADMITTED:
        return ClaimReply(state, reply[1], float(reply[2]))
    return ClaimReply(state)


FORBIDDEN = "forbidden"  # the scripts' answer to a browser that does not own the place


class HeartbeatReply(NamedTuple):
    state: PlaceState | None  # None: no such ticket
    forbidden: bool = False


def heartbeat_reply(reply: str | None) -> HeartbeatReply:
    if reply == FORBIDDEN:
        return HeartbeatReply(None, forbidden=True)
    return HeartbeatReply(_BY_LETTER[reply] if reply else None)


class LeaveReply(NamedTuple):
    found: bool
    forbidden: bool = False
    # False when the place was already over (its state is unchanged).
    left: bool = False


def leave_reply(reply: str | None) -> LeaveReply:
    if not reply:
        return LeaveReply(found=False)
    if reply == FORBIDDEN:
        return LeaveReply(found=True, forbidden=True)
    return LeaveReply(found=True, left=reply == "ok")


class TickOutcome(Enum):
    DONE = 1
    ALREADY_DONE = 0  # this second was ticked already: a no-op
    RACED = -1  # a lane's front moved since it was read: another admitter ticked


class TickLane(NamedTuple):
    lane_id: int
    seq: int
    front: int
    opened: bool
    m: int
    gone: int
    admitted: int
    ema: float


class TickReply(NamedTuple):
    outcome: TickOutcome
    raced_lane: int | None = None
    lanes: tuple[TickLane, ...] = ()
    in_store: int = 0
    offers: int = 0
    waiting: int = 0


_LANE_WIDTH = len(TickLane._fields)


def _tick_lane(v: Sequence[Any]) -> TickLane:
    lane_id, seq, front, opened, m, gone, admitted, ema = v
    return TickLane(
        lane_id=int(lane_id),
        seq=int(seq),
        front=int(front),
        opened=bool(opened),
        m=int(m),
        gone=int(gone),
        admitted=int(admitted),
        ema=float(ema),
    )


def tick_reply(reply: Sequence[Any]) -> TickReply:
    """``{1, <8 fields per lane>..., in_store, offers, waiting}``, ``{0}`` or ``{-1, lane}``."""
    outcome = TickOutcome(int(reply[0]))
    if outcome is TickOutcome.RACED:
        return TickReply(outcome, raced_lane=int(reply[1]))
    if outcome is TickOutcome.ALREADY_DONE:
        return TickReply(outcome)
    end = len(reply) - 3
    lanes = tuple(_tick_lane(reply[i : i + _LANE_WIDTH]) for i in range(1, end, _LANE_WIDTH))
    in_store, offers, waiting = (int(x) for x in reply[end:])
    return TickReply(outcome, lanes=lanes, in_store=in_store, offers=offers, waiting=waiting)
