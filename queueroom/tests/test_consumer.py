"""The WebSocket consumer over the real channels-redis pub/sub layer."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connections

from queueroom import consumers, messages, passes, services
from queueroom.messages import FanStatus
from queueroom.tests.conftest import signed_fan_cookie

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def _communicator(token: str, fan_id: str) -> WebsocketCommunicator:
    from ticketing.asgi import application

    headers = [
        (b"origin", b"http://127.0.0.1"),
        (b"host", b"127.0.0.1"),
        (b"cookie", f"fan_id={signed_fan_cookie(fan_id)}".encode()),
    ]
    return WebsocketCommunicator(application, f"/ws/queue/{token}/", headers=headers)


async def _publish(doc: dict) -> None:  # type: ignore[type-arg]
    await get_channel_layer().group_send(services.group_name(doc["event"]), {"type": "queue.tick", "state": doc})


async def test_consumer_receives_state_then_offer_over_redis(small_event) -> None:  # type: ignore[no-untyped-def]
    t0 = time.time()
    await sync_to_async(services.set_admission)(event=small_event, rate_per_minute=60)
    await sync_to_async(services.tick)(event=small_event, now=t0 - 3)
    await sync_to_async(services.cached_setup)(small_event.pk)  # consumers then need no SQL
    joined = [
        (await sync_to_async(services.join)(event=small_event, fan_id=f"ws-{i}", now=t0 - 3))[0] for i in range(3)
    ]
    third = _communicator(joined[2].token, "ws-2")
    assert (await third.connect())[0]
    snapshot = await third.receive_json_from(timeout=5)
    assert (snapshot["type"], snapshot["status"], snapshot["position"]) == ("queue.state", "WAITING", 3)
    assert snapshot["lane"] == joined[2].lane and snapshot["place"] == joined[2].place

    # One tick admits the first fan; its broadcast moves everyone else up.
    doc = await sync_to_async(services.tick)(event=small_event, now=t0 - 2)
    assert doc["admitted"] == 1
    await _publish(doc)
    update = await third.receive_json_from(timeout=5)
    assert update["type"] == "queue.tick"
    state = messages.frame_state(update, lane=snapshot["lane"], place=snapshot["place"])
    assert state is not None and (state.status, state.position, state.ahead) == (FanStatus.WAITING, 2, 1)

    # The first fan connects (or reconnects): the snapshot carries the offer and the pass.
    first = _communicator(joined[0].token, "ws-0")
    assert (await first.connect())[0]
    offered = await first.receive_json_from(timeout=5)
    assert offered["type"] == "queue.offered" and offered["store_url"]
    assert passes.verify_pass(offered["pass"], event_id=small_event.pk, fan_id="ws-0")

    # The second fan's turn arrives by broadcast while connected.
    second = _communicator(joined[1].token, "ws-1")
    assert (await second.connect())[0]
    assert (await second.receive_json_from(timeout=5))["position"] == 1
    await third.receive_nothing(timeout=0.05)
    doc = await sync_to_async(services.tick)(event=small_event, now=t0 - 1)
    await _publish(doc)
    got = await second.receive_json_from(timeout=5)
    assert got["type"] == "queue.offered"
    state = messages.frame_state(
        await third.receive_json_from(timeout=5), lane=snapshot["lane"], place=snapshot["place"]
    )
    assert state is not None and state.position == 1

    # Reconnecting resyncs from Redis.
    await third.disconnect()
    third = _communicator(joined[2].token, "ws-2")
    assert (await third.connect())[0]
    assert (await third.receive_json_from(timeout=5))["position"] == 1
    for c in (first, second, third):
        await c.disconnect()
    await asyncio.sleep(0)
    assert not consumers.hub().by_event.get(small_event.pk)
    await sync_to_async(connections.close_all)()


async def test_a_forged_token_is_refused(small_event) -> None:  # type: ignore[no-untyped-def]
    communicator = _communicator("1.1.1.forged", "ws-x")
    connected, code = await communicator.connect()
    assert not connected


async def test_waiting_fans_are_told_at_once_when_the_event_sells_out(small_event) -> None:  # type: ignore[no-untyped-def]
    t0 = time.time()
    await sync_to_async(services.tick)(event=small_event, now=t0 - 2)
    await sync_to_async(services.cached_setup)(small_event.pk)
    joined, _ = await sync_to_async(services.join)(event=small_event, fan_id="ws-late", now=t0 - 2)
    communicator = _communicator(joined.token, "ws-late")
    assert (await communicator.connect())[0]
    assert (await communicator.receive_json_from(timeout=5))["status"] == "WAITING"
    doc = await sync_to_async(services.state_document)(small_event.pk)
    await _publish({**doc, "closed": True, "t": t0})
    closed = await communicator.receive_json_from(timeout=5)
    assert (closed["type"], closed["closed"]) == ("queue.tick", True)
    state = messages.frame_state(closed, lane=joined.lane, place=joined.place)  # type: ignore[arg-type]
    assert state is not None and (state.status, state.reason) == (FanStatus.CLOSED, "sold_out")
    await communicator.disconnect()
    await sync_to_async(connections.close_all)()


async def test_two_fans_of_one_event_get_the_same_frame_and_each_computes_its_own_place(small_event) -> None:  # type: ignore[no-untyped-def]
    """One queue.tick per event and tick, byte for byte the same for every
    fan; with the place each was told on connect, each page's arithmetic
    (messages.frame_state, mirrored by waiting.js) gives what Redis says
    (exactly, with no leavers to prorate: test_scripts covers those)."""
    t0 = time.time()
    await sync_to_async(services.set_admission)(event=small_event, rate_per_minute=120)
    await sync_to_async(services.tick)(event=small_event, now=t0 - 5)
    await sync_to_async(services.cached_setup)(small_event.pk)
    joined = [
        (await sync_to_async(services.join)(event=small_event, fan_id=f"ws-s{i}", now=t0 - 5))[0] for i in range(6)
    ]
    fans = {i: _communicator(joined[i].token, f"ws-s{i}") for i in (3, 5)}
    told = {}
    for i, fan in fans.items():
        assert (await fan.connect())[0]
        told[i] = await fan.receive_json_from(timeout=5)
    doc = await sync_to_async(services.tick)(event=small_event, now=t0 - 3)
    assert doc["admitted"] >= 1
    await _publish(doc)
    raw = {i: await fan.receive_from(timeout=5) for i, fan in fans.items()}
    assert raw[3] == raw[5]  # the identical shared frame
    frame = json.loads(raw[3])
    assert frame["type"] == "queue.tick" and frame["updated_at"] == doc["t"]
    for i in fans:
        state = messages.frame_state(frame, lane=told[i]["lane"], place=told[i]["place"])
        exact = await sync_to_async(services.status)(token=joined[i].token, fan_id=f"ws-s{i}", now=t0 - 3)
        assert state is not None
        assert (state.position, state.ahead, state.total_waiting) == (exact.position, exact.ahead, exact.total_waiting)
    for fan in fans.values():
        await fan.disconnect()
    await sync_to_async(connections.close_all)()


class _Writer:
    """A stand-in for ticketing.server.SharedFrames (driven for real in
    ticketing/tests/test_server_limits.py)."""

    def __init__(self, backlog: int = 0) -> None:
        self.prepared: list[str] = []
        self.written: list[object] = []
        self.pending = backlog
        self.aborted = False

    def prepare(self, text: str) -> object:
        self.prepared.append(text)
        return ("prepared", text)

    def write(self, prepared: object) -> bool:
        self.written.append(prepared)
        return True

    def backlog(self) -> int:
        return self.pending

    def abort(self) -> None:
        self.aborted = True


def _listening(writer: _Writer, *, lane: int, place: int | None) -> consumers.QueueConsumer:
    fan = consumers.QueueConsumer()
    fan.lane_id, fan.place, fan.ticket, fan.address = lane, place, place or 1, "127.0.0.1"
    fan.synced, fan.finished, fan.claiming, fan.frames = True, False, False, writer
    return fan


def _doc(**lane: object) -> dict:  # type: ignore[type-arg]
    shared = {"opened": True, "front": 10, "seq": 40, "gone": 0, "per_second": 1.0, "m": 64, "key": None, **lane}
    return {
        "event": 1,
        "t": 1_000_000.0,
        "closed": False,
        "paused": False,
        "waiting": 30,
        "rate_per_minute": 60,
        "lanes": {"7": shared},
    }


async def test_the_frame_is_prepared_once_per_tick_for_every_socket() -> None:
    first, second = _Writer(), _Writer()
    fans = [
        _listening(first, lane=7, place=20),
        _listening(second, lane=7, place=30),
        _listening(first, lane=7, place=25),
    ]
    written = await consumers.QueueHub.fan_out(None, _doc(), fans)  # type: ignore[arg-type]
    assert written == 3
    # Prepared by the first writer met; the same object goes to every socket.
    assert len(first.prepared) == 1 and not second.prepared
    assert first.written[0] is first.written[1] is second.written[0]
    assert json.loads(first.prepared[0])["lanes"]["7"]["front"] == 10


async def test_a_socket_that_does_not_read_skips_frames_then_is_closed(settings) -> None:  # type: ignore[no-untyped-def]
    settings.QUEUE_WS_MAX_BACKLOG_BYTES, settings.QUEUE_WS_MAX_SKIPPED_FRAMES = 1024, 3
    slow, quick = _Writer(backlog=5000), _Writer()
    fans = [_listening(slow, lane=7, place=20), _listening(quick, lane=7, place=21)]
    for _ in range(2):
        assert await consumers.QueueHub.fan_out(None, _doc(), fans) == 1  # type: ignore[arg-type]
    assert not slow.written and not slow.aborted and len(quick.written) == 2
    slow.pending = 0  # it read: the count starts again
    await consumers.QueueHub.fan_out(None, _doc(), fans)  # type: ignore[arg-type]
    assert len(slow.written) == 1 and fans[0].skipped == 0
    slow.pending = 5000
    for _ in range(3):
        await consumers.QueueHub.fan_out(None, _doc(), fans)  # type: ignore[arg-type]
    assert slow.aborted and fans[0].closing and len(slow.written) == 1


async def test_the_pre_queue_frame_carries_the_opening_and_no_place() -> None:
    writer = _Writer()
    fan = _listening(writer, lane=7, place=None)
    doc = _doc(opened=False, opens_at=1_000_060.0, seq=12)
    await consumers.QueueHub.fan_out(None, doc, [fan])  # type: ignore[arg-type]
    frame = json.loads(writer.prepared[0])
    assert frame["lanes"]["7"] == {"opened": False, "opens_at": 1_000_060.0, "total": 12}
    assert fan.place is None and messages.frame_state(frame, lane=7, place=1) is None
