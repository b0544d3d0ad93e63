"""A Redis that stops answering (a private redis-server paused with SIGSTOP,
or a port that never completes a connection): every waiting-room request
answers 503 + Retry-After within the clients' timeouts, never hangs, never
500s, and all of it recovers by itself when Redis answers again."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import HttpCommunicator

from queueroom import keys, limits, selectors, services
from queueroom.management.commands.run_admitter import Command as Admitter
from queueroom.models import Lane, PresaleCode
from ticketing.tests.redis_outage import HANG, PrivateRedis, bounded, redis_at
from ticketing.tests.words import shown

pytestmark = pytest.mark.django_db(transaction=True)

# Short client timeouts keep the test quick; HANG (10 s) tells a bounded
# wait from a hang.
TIMEOUT = 0.5


@pytest.fixture
def redis_server(private_redis: PrivateRedis) -> Iterator[PrivateRedis]:
    with redis_at(private_redis.url, connect_timeout=TIMEOUT, socket_timeout=TIMEOUT):
        yield private_redis


def _unavailable(response: Any) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response.json()["error"] == "unavailable" and response.json()["detail"]
    assert int(response["Retry-After"]) >= 1


def test_queue_api_answers_503_while_redis_hangs_and_recovers_by_itself(
    small_event, redis_server, fan, second_fan
) -> None:  # type: ignore[no-untyped-def]
    join_url = f"/api/v1/events/{small_event.slug}/queue/"
    joined = fan.post(join_url, content_type="application/json")
    assert joined.status_code == 201
    token = joined.json()["token"]
    place_url = f"/api/v1/queue/{token}/"
    before = fan.get(place_url).json()
    lane = Lane.objects.create(event=small_event, name="Fan club", kind=Lane.Kind.PRIORITY)
    PresaleCode.objects.create(lane=lane, code="LUX", max_uses=5)

    redis_server.pause()
    try:
        _unavailable(bounded(lambda: second_fan.post(join_url, content_type="application/json")))
        _unavailable(bounded(lambda: second_fan.post(join_url, {"code": "LUX"}, content_type="application/json")))
        # Asked again before poll_after_seconds: the kept answer, no Redis needed.
        early = bounded(lambda: fan.get(place_url))
        assert early.status_code == 200 and early.json()["position"] == before["position"]
        limits.forget_poll(token)
        _unavailable(bounded(lambda: fan.get(place_url)))
        _unavailable(bounded(lambda: fan.post(f"{place_url}heartbeat/")))
        _unavailable(bounded(lambda: fan.get(f"/api/v1/events/{small_event.slug}/queue/state/")))
    finally:
        redis_server.resume()

    # A timed-out command may still run once Redis resumes (the first join
    # here), so a 503 means "retry", and every retry is safe: the fan keeps
    # the place, the second fan gets one place however often they ask, and
    # the presale code was not used up (the code path failed before it).
    again = bounded(lambda: fan.get(place_url))
    assert again.status_code == 200
    same = ("token", "status", "lane", "ticket", "position")
    assert [again.json()[k] for k in same] == [before[k] for k in same]
    retried = bounded(lambda: second_fan.post(join_url, content_type="application/json"))
    assert retried.status_code in (200, 201)
    assert second_fan.post(join_url, content_type="application/json").json()["token"] == retried.json()["token"]
    general = services.cached_setup(small_event.pk).general.id
    assert redis_server.client().hget(keys.lane(small_event.pk, general), "seq") == "2"
    assert PresaleCode.objects.get(code="LUX").used == 0


def test_waiting_page_says_kindly_that_the_queue_is_unavailable(small_event, redis_server, fan) -> None:  # type: ignore[no-untyped-def]
    url = f"/events/{small_event.slug}/queue/"
    assert fan.post(url).status_code == 302
    fan.post("/i18n/setlang/", {"language": "ca", "next": "/"})

    redis_server.pause()
    try:
        for request in (lambda: fan.get(url), lambda: fan.post(url)):
            page = bounded(request)
            assert page.status_code == 503 and int(page["Retry-After"]) >= 1
            html = page.content.decode()
            assert "Un moment, si us plau" in html  # the fan's language
            assert f'http-equiv="refresh" content="{page["Retry-After"]}"' in html  # tries again, even without JS
    finally:
        redis_server.resume()

    page = bounded(lambda: fan.get(url))
    assert page.status_code == 200 and "data-token=" in page.content.decode()


def test_redis_that_never_accepts_the_connection_costs_a_bounded_wait(small_event, silent_redis_url, fan) -> None:  # type: ignore[no-untyped-def]
    # A long read timeout: only the connect timeout can end these waits.
    with redis_at(silent_redis_url, connect_timeout=TIMEOUT, socket_timeout=60):
        join_url = f"/api/v1/events/{small_event.slug}/queue/"
        _unavailable(bounded(lambda: fan.post(join_url, content_type="application/json")))
        assert bounded(lambda: fan.get(f"/events/{small_event.slug}/queue/")).status_code == 503


def test_promoter_page_shows_the_event_while_the_queue_is_unavailable(
    small_event, redis_server, promoter_client
) -> None:  # type: ignore[no-untyped-def]
    redis_server.pause()
    try:
        page = bounded(lambda: promoter_client.get(f"/admin/inventory/event/{small_event.pk}/change/"))
    finally:
        redis_server.resume()
    assert page.status_code == 200
    assert shown("Queue figures unavailable: Redis does not answer.") in page.content.decode()


def test_live_queue_figures_answer_503_while_redis_hangs(small_event, redis_server, promoter_client) -> None:  # type: ignore[no-untyped-def]
    """The panel's script shows "figures unavailable" on any answer but 200."""
    url = f"/admin/inventory/event/{small_event.pk}/queue-figures/"
    redis_server.pause()
    try:
        _unavailable(bounded(lambda: promoter_client.get(url)))
    finally:
        redis_server.resume()
    assert bounded(lambda: promoter_client.get(url)).status_code == 200


@pytest.mark.asyncio
async def test_fast_path_answers_503_itself_while_redis_hangs(small_event, redis_server) -> None:  # type: ignore[no-untyped-def]
    from ticketing.asgi import application

    # Warm caches: the fast path only answers when it needs no SQL.
    await sync_to_async(selectors.published_event)(small_event.slug)
    await sync_to_async(services.cached_setup)(small_event.pk)
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
    join_url = f"/api/v1/events/{small_event.slug}/queue/"
    joined = await HttpCommunicator(application, "POST", join_url, headers=headers).get_response(timeout=HANG)
    token = json.loads(joined["body"])["token"]

    redis_server.pause()
    try:
        for method, path in (("POST", join_url), ("GET", f"/api/v1/queue/{token}/")):
            response = await HttpCommunicator(application, method, path, headers=headers).get_response(timeout=HANG)
            assert response["status"] == 503
            assert json.loads(response["body"])["error"] == "unavailable"
            assert int(dict(response["headers"])[b"Retry-After"]) >= 1
    finally:
        redis_server.resume()

    response = await HttpCommunicator(application, "GET", f"/api/v1/queue/{token}/", headers=headers).get_response(
        timeout=HANG
    )
    assert response["status"] == 200


@pytest.mark.asyncio
async def test_idle_subscription_outlives_the_read_timeout_and_a_pause(redis_server) -> None:  # type: ignore[no-untyped-def]
    layer = get_channel_layer()
    channel = await layer.new_channel("outage.")
    await layer.group_add("outage", channel)
    try:
        # Idle for several read timeouts: the subscription must not be cut.
        await asyncio.sleep(4 * TIMEOUT)
        await layer.group_send("outage", {"type": "ping", "n": 1})
        assert (await asyncio.wait_for(layer.receive(channel), HANG))["n"] == 1

        redis_server.pause()
        try:
            # A publish gives up after the timeout instead of hanging the caller.
            with pytest.raises(services.REDIS_DOWN):
                await asyncio.wait_for(layer.group_send("outage", {"type": "ping", "n": 2}), HANG)
            await asyncio.sleep(4 * TIMEOUT)  # the subscriber waits through the pause
        finally:
            redis_server.resume()
        await layer.group_send("outage", {"type": "ping", "n": 3})
        # The timed-out publish may be delivered too, once Redis resumes.
        got = [(await asyncio.wait_for(layer.receive(channel), HANG))["n"]]
        if got == [2]:
            got.append((await asyncio.wait_for(layer.receive(channel), HANG))["n"])
        assert got[-1] == 3
    finally:
        await layer.flush()


def test_websocket_heartbeats_skip_a_round_while_redis_hangs(small_event, redis_server, caplog) -> None:  # type: ignore[no-untyped-def]
    status, _ = services.join(event=small_event, fan_id="fan-ws", now=time.time())
    assert status.token
    redis_server.pause()
    try:
        with caplog.at_level(logging.WARNING, logger="queueroom.services"):
            bounded(lambda: services.heartbeat_many(tokens=[status.token or ""], now=time.time()))
    finally:
        redis_server.resume()
    assert "queue heartbeats skipped" in caplog.text


class _Signal(logging.Handler):
    """Sets an event when a record containing ``text`` is logged."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.WARNING)
        self.text = text
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


def test_admitter_backs_off_while_redis_hangs_and_admits_again_when_it_returns(small_event, redis_server) -> None:  # type: ignore[no-untyped-def]
    status, _ = services.join(event=small_event, fan_id="fan-a", now=time.time())
    assert status.token
    stop = threading.Event()
    down, back = _Signal("redis unavailable"), _Signal("redis is back")
    logger = logging.getLogger("queueroom.management.commands.run_admitter")
    logger.addHandler(down)
    logger.addHandler(back)
    redis_server.pause()
    admitter = threading.Thread(target=lambda: asyncio.run(Admitter()._loop("test-admitter", 0, stop)), daemon=True)
    try:
        admitter.start()
        assert down.seen.wait(HANG), "the admitter did not notice the outage"
        redis_server.resume()
        assert back.seen.wait(HANG), "the admitter did not carry on when Redis returned"
        deadline = time.monotonic() + HANG
        while services.status(token=status.token, fan_id="fan-a", now=time.time()).status != services.ADMITTED:
            assert time.monotonic() < deadline, "the fan was not admitted after Redis returned"
            time.sleep(0.1)  # the admitter ticks once a second; nothing to await across threads
    finally:
        stop.set()
        redis_server.resume()
        admitter.join(HANG)
        logger.removeHandler(down)
        logger.removeHandler(back)
    assert not admitter.is_alive(), "the admitter did not stop"


def test_admitter_stops_promptly_even_while_redis_hangs(small_event, redis_server) -> None:  # type: ignore[no-untyped-def]
    stop = threading.Event()
    down = _Signal("redis unavailable")
    logger = logging.getLogger("queueroom.management.commands.run_admitter")
    logger.addHandler(down)
    redis_server.pause()
    admitter = threading.Thread(target=lambda: asyncio.run(Admitter()._loop("test-admitter", 0, stop)), daemon=True)
    try:
        admitter.start()
        assert down.seen.wait(HANG), "the admitter hangs on Redis"
        stop.set()
        admitter.join(HANG)
        assert not admitter.is_alive(), "the admitter hangs on Redis"
    finally:
        stop.set()
        redis_server.resume()
        admitter.join(HANG)
        logger.removeHandler(down)
