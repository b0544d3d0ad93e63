"""The WebSocket limits (queueroom/socket_limits.py) over the real channels-redis layer:
sockets per queue token and per client address, and the bucket on client messages."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from queueroom import services
from queueroom.tests.conftest import signed_fan_cookie

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def _communicator(token: str, fan_id: str, address: str | None = None) -> WebsocketCommunicator:
    from ticketing.asgi import application

    headers = [
        (b"origin", b"http://127.0.0.1"),
        (b"host", b"127.0.0.1"),
        (b"cookie", f"fan_id={signed_fan_cookie(fan_id)}".encode()),
    ]
    communicator = WebsocketCommunicator(application, f"/ws/queue/{token}/", headers=headers)
    if address is not None:
        communicator.scope["client"] = [address, 50000]
    return communicator


@pytest.fixture
def status_calls(monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """Every services.status call (each one is a Redis round trip), by token."""
    calls: list[str] = []
    original: Callable[..., Any] = services.status

    def counting(**kwargs: Any) -> Any:
        calls.append(kwargs["token"])
        return original(**kwargs)

    monkeypatch.setattr(services, "status", counting)
    return calls


async def _waiting_fans(event, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Tokens of ``count`` waiting fans; the setup is cached so consumers need no SQL."""
    t0 = time.time()
    await sync_to_async(services.tick)(event=event, now=t0 - 2)
    await sync_to_async(services.cached_setup)(event.pk)
    return [
        (await sync_to_async(services.join)(event=event, fan_id=f"lim-{i}", now=t0 - 2))[0].token or ""
        for i in range(count)
    ]


async def _open(token: str, fan_id: str, address: str | None = None) -> WebsocketCommunicator:
    communicator = _communicator(token, fan_id, address)
    assert (await communicator.connect(timeout=5))[0]
    assert (await communicator.receive_json_from(timeout=5))["status"] == "WAITING"
    return communicator


async def _close_all(communicators: list[WebsocketCommunicator]) -> None:
    for communicator in communicators:
        await communicator.disconnect()
    await sync_to_async(connections.close_all)()


async def test_one_socket_more_than_the_cap_per_token_is_refused_without_redis(  # type: ignore[no-untyped-def]
    small_event, settings, status_calls
) -> None:
    settings.QUEUE_WS_PER_TOKEN = 4  # before warming: a settings change clears the caches
    (token,) = await _waiting_fans(small_event, 1)
    tabs = [await _open(token, "lim-0") for _ in range(4)]
    calls = len(status_calls)

    refused = _communicator(token, "lim-0")
    assert await refused.connect(timeout=5) == (False, 4429)
    assert len(status_calls) == calls

    # A closed tab frees its place.
    await tabs.pop().disconnect()
    tabs.append(await _open(token, "lim-0"))
    await _close_all([refused, *tabs])


async def test_one_socket_more_than_the_cap_per_address_is_refused(  # type: ignore[no-untyped-def]
    small_event, settings, status_calls
) -> None:
    settings.QUEUE_WS_PER_ADDRESS = 2
    tokens = await _waiting_fans(small_event, 4)
    household = [await _open(tokens[i], f"lim-{i}", address="203.0.113.7") for i in range(2)]
    calls = len(status_calls)

    refused = _communicator(tokens[2], "lim-2", address="203.0.113.7")
    assert await refused.connect(timeout=5) == (False, 4429)
    assert len(status_calls) == calls
    neighbour = await _open(tokens[3], "lim-3", address="198.51.100.9")
    await _close_all([refused, neighbour, *household])


async def test_a_flood_of_messages_gets_at_most_the_burst_in_redis_calls_then_a_disconnect(  # type: ignore[no-untyped-def]
    small_event, settings, status_calls
) -> None:
    settings.QUEUE_WS_MESSAGE_BURST = 3
    settings.QUEUE_WS_MESSAGE_EVERY_SECONDS = 600.0  # no refill while the test runs
    (token,) = await _waiting_fans(small_event, 1)
    fan = await _open(token, "lim-0")
    status_calls.clear()

    for _ in range(100):
        await fan.send_to(text_data="resync")
    replies, closed = 0, None
    deadline = time.monotonic() + 10
    while closed is None:
        message = await fan.receive_output(timeout=max(deadline - time.monotonic(), 0.01))
        if message["type"] == "websocket.send":
            replies += 1
        elif message["type"] == "websocket.close":
            closed = message["code"]
    assert closed == 4429
    assert replies == 3 and len(status_calls) == 3
    await _close_all([fan])  # the consumer sees the rest of the flood first
    assert len(status_calls) == 3


async def test_an_oversized_message_closes_the_socket_without_redis(  # type: ignore[no-untyped-def]
    small_event, settings, status_calls
) -> None:
    (token,) = await _waiting_fans(small_event, 1)
    fan = await _open(token, "lim-0")
    status_calls.clear()
    await fan.send_to(text_data="x" * (settings.QUEUE_WS_MAX_MESSAGE_BYTES + 1))
    assert (await fan.receive_output(timeout=5)) == {
        "type": "websocket.close",
        "code": 1009,
        "reason": "message too big",
    }
    assert status_calls == []
    await _close_all([fan])


async def test_a_socket_that_crashes_gives_its_place_back(small_event, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings.QUEUE_WS_PER_TOKEN = 1
    (token,) = await _waiting_fans(small_event, 1)

    def broken(**kwargs: Any) -> Any:
        raise ConnectionError("redis went away")

    monkeypatch.setattr(services, "status", broken)
    crashed = _communicator(token, "lim-0")
    assert (await crashed.connect(timeout=5))[0]
    with pytest.raises(ConnectionError):
        await crashed.wait(timeout=5)
    monkeypatch.undo()
    again = await _open(token, "lim-0")
    await _close_all([again])
