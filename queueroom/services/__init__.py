"""The waiting room's write paths, by concern (docs/waiting-room.md):

    setup.py      an event's lanes and admission settings, cached per process
    places.py     a fan's place: join, status (heartbeat + claim), heartbeat, leave, find
    fast.py       the asyncio twins of join and status (queueroom.fastpath)
    positions.py  where a fan stands, from a parsed status row: what both of those share
    admission.py  the admission tick (plan, build, run, parse), the state document, the admitter
    controls.py   the promoter's controls: pause, admission rate and capacity
    sessions.py   store sessions: end one, check a pass's revocation
    errors.py     QueueError, and a Redis outage mapped to 503 in one place

Every Redis call goes through queueroom.redis_scripts, every key comes from
queueroom.keys, and every script reply is parsed by queueroom.replies.
Callers import from here: ``from queueroom import services``.
"""

from queueroom.keys import group_name
from queueroom.messages import FanStatus
from queueroom.services.admission import (
    TickPlan,
    admission_cycle,
    apply_tick,
    plan_tick,
    release_leadership,
    state_document,
    take_leadership,
    tick,
)
from queueroom.services.controls import set_admission, set_lane_closed, set_paused
from queueroom.services.errors import REDIS_DOWN, UNAVAILABLE, QueueError
from queueroom.services.fast import ajoin, astatus
from queueroom.services.places import find_place, heartbeat, heartbeat_many, join, leave, status
from queueroom.services.positions import QueueStatus
from queueroom.services.sessions import end_session, end_session_of_fan, is_revoked
from queueroom.services.setup import LaneSetup, QueueSetup, cached_setup, forget_setup, load_setup

PRE_QUEUE = FanStatus.PRE_QUEUE
WAITING = FanStatus.WAITING
OFFERED = FanStatus.OFFERED
ADMITTED = FanStatus.ADMITTED
CLOSED = FanStatus.CLOSED

__all__ = [
    "ADMITTED",
    "CLOSED",
    "OFFERED",
    "PRE_QUEUE",
    "REDIS_DOWN",
    "UNAVAILABLE",
    "WAITING",
    "FanStatus",
    "LaneSetup",
    "QueueError",
    "QueueSetup",
    "QueueStatus",
    "TickPlan",
    "admission_cycle",
    "ajoin",
    "apply_tick",
    "astatus",
    "cached_setup",
    "end_session",
    "end_session_of_fan",
    "find_place",
    "forget_setup",
    "group_name",
    "heartbeat",
    "heartbeat_many",
    "is_revoked",
    "join",
    "leave",
    "load_setup",
    "plan_tick",
    "release_leadership",
    "set_admission",
    "set_lane_closed",
    "set_paused",
    "state_document",
    "status",
    "take_leadership",
    "tick",
]
