"""Queue joins are limited per client address and per network, new fan
identities more tightly; an over-limit join takes no place (docs/security.md)."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client
from django.utils import translation

from queueroom import bots, keys, limits, services
from queueroom import redis_scripts as rs
from ticketing import clientip

pytestmark = pytest.mark.django_db


@pytest.fixture
def limited(settings):  # type: ignore[no-untyped-def]
    """Small limits, and buckets of their own for this test (a fresh address range)."""
    settings.JOIN_LIMIT_PER_ADDRESS = "4/1"
    settings.JOIN_LIMIT_PER_NETWORK = "50/1"
    settings.NEW_FAN_LIMIT_PER_ADDRESS = "2/1"
    settings.NEW_FAN_LIMIT_PER_NETWORK = "20/1"
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    third = uuid.uuid4().int % 250 + 1
    return f"10.{uuid.uuid4().int % 250}.{third}"  # a /24 nobody else uses


def _join(client: Client, slug: str, address: str):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/events/{slug}/queue/", content_type="application/json", HTTP_X_FORWARDED_FOR=address)


def _waiting(event) -> int:  # type: ignore[no-untyped-def]
    lane = services.cached_setup(event.pk).general.id
    return int(rs.client().hget(keys.lane(event.pk, lane), "seq") or 0)


def test_new_identities_from_one_address_are_limited_and_refused_joins_take_no_place(limited, small_event) -> None:
    address = f"{limited}.7"
    answers = [_join(Client(), small_event.slug, address) for _ in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 429, 429]
    refused = answers[2].json()
    assert refused["error"] == "rate_limited" and int(answers[2]["Retry-After"]) >= 1
    assert services.find_place(event=small_event, fan_id="nobody") is None
    # Two fans have places, the two refused ones none.
    tokens = {a.json()["token"] for a in answers[:2]}
    assert len(tokens) == 2


def test_a_fan_with_a_cookie_pays_only_the_address_bucket(limited, small_event) -> None:
    address = f"{limited}.8"
    fan = Client()
    codes = [_join(fan, small_event.slug, address).status_code for _ in range(5)]
    # The first join made the identity (one new-fan token); four joins per address in all.
    assert codes == [201, 200, 200, 200, 429]


def test_the_network_bucket_covers_neighbouring_addresses(limited, small_event, settings) -> None:
    settings.NEW_FAN_LIMIT_PER_NETWORK = "3/1"
    codes = [_join(Client(), small_event.slug, f"{limited}.{n}").status_code for n in range(10, 15)]
    assert codes == [201, 201, 201, 429, 429]
    other_network = f"{limited.rsplit('.', 1)[0]}.{(int(limited.rsplit('.', 1)[1]) % 250) + 1}.10"
    assert _join(Client(), small_event.slug, other_network).status_code == 201


def test_forwarded_addresses_from_untrusted_peers_do_not_escape_the_limit(limited, small_event, settings) -> None:
    settings.TRUSTED_PROXIES = []  # the test client's 127.0.0.1 is no proxy now
    settings.NEW_FAN_LIMIT_PER_ADDRESS = "2/0.001"
    before = _waiting(small_event)
    codes = [_join(Client(), small_event.slug, f"{limited}.{n}").status_code for n in range(20, 24)]
    # Each request claims another address; all count as 127.0.0.1's. Other
    # tests' joins from 127.0.0.1 may have used the bucket already.
    assert codes.count(201) <= 2 and codes[-1] == 429
    assert _waiting(small_event) - before == codes.count(201)


def test_the_waiting_page_says_it_kindly_in_the_fans_language(limited, small_event) -> None:
    address = f"{limited}.9"
    for _ in range(2):
        Client().post(f"/events/{small_event.slug}/queue/", HTTP_X_FORWARDED_FOR=address)
    page = Client().post(f"/events/{small_event.slug}/queue/", HTTP_X_FORWARDED_FOR=address, HTTP_ACCEPT_LANGUAGE="ca")
    assert page.status_code == 429 and int(page["Retry-After"]) >= 1
    with translation.override("ca"):
        words = translation.gettext("That was a lot of tries in a short time. Wait a minute, then try again.")
    assert words in page.content.decode()


def test_parallel_joins_from_one_address_never_get_more_places_than_the_burst(limited, small_event, settings) -> None:
    settings.NEW_FAN_LIMIT_PER_ADDRESS = "7/0.001"
    settings.JOIN_LIMIT_PER_ADDRESS = "100/1"
    address = f"{limited}.30"
    setup = services.cached_setup(small_event.pk)
    before = _waiting(small_event)

    def join(i: int) -> bool:
        now = time.time()
        try:
            bots.check_join(setup, address, new_fan=True, now=now, payload=None)
        except services.QueueError:
            return False
        services.join(event=small_event, fan_id=f"bot-{uuid.uuid4().hex}", now=now)
        return True

    with ThreadPoolExecutor(max_workers=12) as pool:
        admitted = list(pool.map(join, range(60)))
    assert admitted.count(True) == 7
    assert _waiting(small_event) - before == 7


def test_the_raw_asgi_fast_path_is_limited_too(limited, small_event) -> None:
    """The join the fast path answers on the event loop pays the same buckets."""
    from asgiref.sync import async_to_sync
    from channels.testing import HttpCommunicator

    from queueroom import selectors
    from ticketing.asgi import application

    selectors.published_event(small_event.slug)
    services.cached_setup(small_event.pk)
    address = f"{limited}.40"

    async def post() -> dict:  # type: ignore[type-arg]
        headers = [(b"host", b"127.0.0.1"), (b"x-forwarded-for", address.encode())]
        path = f"/api/v1/events/{small_event.slug}/queue/"
        return await HttpCommunicator(application, "POST", path, headers=headers).get_response(timeout=10)

    answers = [async_to_sync(post)() for _ in range(3)]
    # Two new identities per address: the third is refused (a join the fast
    # path hands on to Django may pay twice, never less).
    statuses = [a["status"] for a in answers]
    assert statuses[0] == 201 and statuses[2] == 429 and statuses.count(201) <= 2
    body = json.loads(answers[2]["body"])
    assert body["error"] == "rate_limited"
    assert any(name.lower() == b"retry-after" for name, _ in answers[2]["headers"])


def test_a_redis_outage_does_not_make_the_limiter_stop_the_sale(limited, small_event, monkeypatch) -> None:
    import redis

    from ticketing import limiters

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    scripts = {name: dead.register_script(src) for name, src in limiters._SOURCES.items()}
    monkeypatch.setattr(limiters, "_sync", lambda: (dead, scripts))
    setup = services.cached_setup(small_event.pk)
    # The join needs the same Redis: 503 + Retry-After at once, never a rate-limit refusal.
    with pytest.raises(services.QueueError) as refused:
        bots.check_join(setup, clientip.UNKNOWN, new_fan=True, now=time.time(), payload=None)
    assert refused.value.code == services.UNAVAILABLE and refused.value.retry_after


def test_polling_sooner_than_told_gets_the_kept_answer_without_redis(small_event, fan) -> None:
    """A fan told to ask again in N seconds who asks sooner gets the same
    answer from memory; leaving forgets it."""

    token = fan.post(f"/api/v1/events/{small_event.slug}/queue/", content_type="application/json").json()["token"]
    first = fan.get(f"/api/v1/queue/{token}/")
    assert first.status_code == 200 and first.json()["poll_after_seconds"] > 0
    assert limits.early_poll(token, now=time.time()) == first.content
    # Were Redis asked, the heartbeat would move; the kept answer is byte for byte the same.
    assert fan.get(f"/api/v1/queue/{token}/").content == first.content
    assert limits.early_poll(token, now=time.time() + first.json()["poll_after_seconds"]) is None
    assert fan.delete(f"/api/v1/queue/{token}/").json()["status"] != first.json()["status"]
    assert limits.early_poll(token, now=time.time()) is None
