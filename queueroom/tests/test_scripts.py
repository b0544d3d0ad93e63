"""The Lua scripts, the key names and the parsed replies agree with each other."""

from __future__ import annotations

import json

import pytest

from queueroom import keys, passes, services
from queueroom import redis_scripts as rs
from queueroom.messages import FanStatus, QueueState, frame_state, state_message, tick_frame
from queueroom.replies import (
    PlaceState,
    TickOutcome,
    claim_reply,
    closed_reason,
    heartbeat_reply,
    join_reply,
    leave_reply,
    status_row,
    tick_reply,
)
from queueroom.services.positions import eta


def test_every_script_is_read_from_its_lua_file() -> None:
    assert rs.LUA_DIR.is_dir()  # next to the module: found when running from the repository
    assert {path.stem for path in rs.LUA_DIR.glob("*.lua")} == set(rs.NAMES)
    for name in rs.NAMES:
        assert rs._SCRIPTS[name] == (rs.LUA_DIR / f"{name}.lua").read_text(encoding="utf-8")


@pytest.mark.django_db
def test_the_scripts_write_the_keys_keys_py_names(small_event, now) -> None:  # type: ignore[no-untyped-def]
    services.tick(event=small_event, now=now - 1)
    joined, _ = services.join(event=small_event, fan_id="fan-a", now=now)
    other, _ = services.join(event=small_event, fan_id="fan-b", now=now)
    third, _ = services.join(event=small_event, fan_id="fan-c", now=now)
    e, lane = small_event.pk, joined.lane
    assert lane is not None and joined.ticket is not None
    c = rs.client()
    assert c.hget(keys.ticket(e, lane, joined.ticket), "st") == PlaceState.WAITING
    assert c.get(keys.fan(e, passes.browser_binding("fan-a"))) == keys.place(lane, joined.ticket)
    assert keys.parse_place(keys.place(lane, joined.ticket)) == (lane, joined.ticket)
    assert c.hget(keys.lane(e, lane), "seq") == "3"
    assert c.sismember(keys.active(), e)
    services.leave(token=joined.token or "", fan_id="fan-a", now=now)
    services.leave(token=other.token or "", fan_id="fan-b", now=now)
    assert c.zcard(keys.gone(e, lane)) == 2
    assert services.tick(event=small_event, now=now + 1)["admitted"] == 1
    # The script walked past both leavers (read from the ticket keys it builds itself) to the third fan.
    assert c.hget(keys.lane(e, lane), "front") == "3" and c.zcard(keys.gone(e, lane)) == 0
    assert c.zrange(keys.offers(e), 0, -1) == [keys.place(lane, third.ticket or 0)]
    assert json.loads(c.get(keys.state(e)) or "{}")["event"] == e
    # Every key of the event carries its hash tag (one Redis Cluster slot).
    found = set(c.scan_iter(match=f"{keys.prefix()}*"))
    assert found - {keys.active()} and all(key.startswith(keys.base(e)) for key in found - {keys.active()})


def test_replies_are_parsed_into_named_rows() -> None:
    row = status_row(["fan", "10", "W", None, None, None, "5", "2", "1", "3", "ab", "0.5", "0", None, None, 1])
    assert row is not None
    assert (row.state, row.seq, row.front, row.opened, row.m, row.key, row.ema) == (
        PlaceState.WAITING,
        5,
        2,
        True,
        3,
        "ab",
        0.5,
    )
    assert (row.paused, row.closed, row.waiting, row.offer_expires, row.gone) == (False, False, None, None, 1)
    assert status_row(None) is None
    assert join_reply("-1||") is None  # the queue is closed
    # created, lane, ticket, then the 16 fields of the status row ("" is a nil).
    joined = join_reply("|".join(["1", "7", "42", "fan", "10", "W", "", "", "", "3", "0", *[""] * 7, "0"]))
    assert joined is not None and (joined.created, joined.lane_id, joined.ticket) == (True, 7, 42)
    assert (joined.row.seq, joined.row.opened, joined.row.key) == (3, False, None)
    assert claim_reply(["A", "sid", "99.5"]) == (PlaceState.ADMITTED, "sid", 99.5)
    assert claim_reply(["forbidden"]).state is None and closed_reason(claim_reply(["E"]).state) == "offer_expired"
    assert heartbeat_reply("forbidden").forbidden and heartbeat_reply(None).state is None
    assert leave_reply("ok").left and not leave_reply("L").left and not leave_reply(None).found
    tick = tick_reply([1, 7, 10, 4, 1, 0, 0, 2, "1.5", 8, 3, 2, 0, 0, 0, 1, "0", 2, 5, 9])
    assert tick.outcome is TickOutcome.DONE and (tick.in_store, tick.offers, tick.waiting) == (2, 5, 9)
    assert [(lane.lane_id, lane.admitted, lane.ema, lane.opened) for lane in tick.lanes] == [
        (7, 2, 1.5, True),
        (8, 1, 0.0, False),
    ]
    assert tick_reply([-1, 8]).raced_lane == 8 and tick_reply([0]).outcome is TickOutcome.ALREADY_DONE


def test_the_page_arithmetic_on_the_shared_frame_gives_the_status_fields() -> None:
    """The WebSocket sends one queue.tick per event and tick; the page turns
    it into the queue.state fields with its place (frame_state, mirrored by
    static/queueroom/waiting.js): the ETA as the HTTP status computes it."""
    lane = {"opened": True, "front": 100, "seq": 1100, "gone": 50, "per_second": 1.5, "opens_at": 0.0}
    doc = {"t": 1765000000.25, "paused": True, "closed": False, "waiting": 1234, "rate_per_minute": 60}
    frame = json.loads(tick_frame({**doc, "lanes": {"7": lane}}))
    assert frame["type"] == "queue.tick" and list(frame)[-1] == "updated_at"
    state = frame_state(frame, lane=7, place=401)
    ahead = 300 - 15  # 300 places between, 50 leavers over the 1,000 behind the front, prorated
    seconds, eta_range = eta(ahead, 1.5)
    assert state == QueueState(FanStatus.WAITING, ahead + 1, ahead, 1234, seconds, eta_range, True, None, doc["t"])
    assert frame_state(frame, lane=7, place=100) is None  # the turn came: the server says so alone
    assert frame_state(frame, lane=8, place=401) is None
    # Half-way proration rounds up, as JavaScript's Math.round does (not to even).
    half = json.loads(tick_frame({**doc, "lanes": {"7": {**lane, "gone": 1, "seq": 104}}}))
    assert half["lanes"]["7"]["behind"] == 4
    state = frame_state(half, lane=7, place=103)  # raw 2, 2 x 1 / 4 = 0.5 leavers -> 1
    assert state is not None and state.ahead == 1


def test_the_http_status_carries_the_same_queue_state_fields() -> None:
    status = services.QueueStatus(token="t", status=FanStatus.WAITING, position=3, ahead=2, eta_range=(1, 2))
    document = status.as_dict()
    assert {name: document[name] for name in QueueState._fields} == status.queue_state()._asdict()
    sent = json.loads(state_message(status.queue_state()))
    assert sent.pop("type") == "queue.state"
    assert sent == json.loads(json.dumps({name: document[name] for name in QueueState._fields}))
