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

from queueroom import consumers, passes, services
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

    # One tick admits the first fan; its broadcast moves everyone else up.
    doc = await sync_to_async(services.tick)(event=small_event, now=t0 - 2)
    assert doc["admitted"] == 1
    await _publish(doc)
    update = await third.receive_json_from(timeout=5)
    assert (update["type"], update["position"], update["ahead"]) == ("queue.state", 2, 1)

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
    assert (await third.receive_json_from(timeout=5))["position"] == 1

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
    assert (closed["status"], closed["reason"]) == ("CLOSED", "sold_out")
    await communicator.disconnect()
    await sync_to_async(connections.close_all)()


async def test_fans_of_a_lane_in_the_pre_queue_get_one_shared_message_per_tick() -> None:
    sent: list[str] = []

    class Recording(consumers.QueueConsumer):
        async def send(
            self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
        ) -> None:
            sent.append(text_data or "")

    fans = []
    for ticket in (1, 2):
        fan = Recording()
        fan.lane_id, fan.ticket, fan.synced, fan.finished, fan.claiming = 7, ticket, True, False, False
        fans.append(fan)
    lane = {"opened": False, "opens_at": 1_000_060.0, "seq": 12}
    doc = {"event": 1, "t": 1_000_000.0, "closed": False, "paused": False, "waiting": 0, "lanes": {"7": lane}}
    for fan in fans:
        await fan.on_tick(doc)
    assert len(sent) == 2 and sent[0] is sent[1]  # rendered once for the lane
    message = json.loads(sent[0])
    assert (message["type"], message["status"], message["eta_seconds"], message["total_waiting"]) == (
        "queue.state",
        "PRE_QUEUE",
        60,
        12,
    )
    assert message["position"] is None and message["updated_at"] == doc["t"]
