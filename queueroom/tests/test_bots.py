"""Bots (docs/security.md, "Bots"): a queue place costs a solved ALTCHA
challenge, accepted once; abusive client addresses are flagged, and a
flagged client's places go to the back of the line or to a shadow line that
never admits, as the promoter chose."""

from __future__ import annotations

import base64
import json
import time
import uuid

import pytest
from django.test import Client

from inventory.models import Event
from queueroom import bots, keys, passes, services
from queueroom import redis_scripts as rs
from queueroom.models import Lane, QueueConfig
from queueroom.tests.conftest import join_many

pytestmark = pytest.mark.django_db

DIFFICULTY = 300  # a few hundred hashes: instant in Python, the protocol is the same


def _configure(event: Event, **fields: object) -> services.QueueSetup:
    services.load_setup(event)  # makes the settings row
    QueueConfig.objects.filter(event=event).update(**fields)
    services.forget_setup(event.pk)
    return services.cached_setup(event.pk)


@pytest.fixture
def challenged(small_event, settings):  # type: ignore[no-untyped-def]
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    _configure(small_event, challenge_max_number=DIFFICULTY)
    return small_event


def _address() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def _challenge(client: Client, slug: str) -> dict:  # type: ignore[type-arg]
    response = client.get(f"/api/v1/events/{slug}/queue/challenge/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    return response.json()  # type: ignore[no-any-return]


def _join(client: Client, slug: str, address: str, payload: str | None = None):  # type: ignore[no-untyped-def]
    body = {} if payload is None else {"altcha": payload}
    return client.post(
        f"/api/v1/events/{slug}/queue/", json.dumps(body), content_type="application/json", HTTP_X_FORWARDED_FOR=address
    )


def _flagged(address: str) -> bool:
    return bool(rs.client().exists(bots.flag_key(address)))


def _lane_of(token: str) -> int:
    return passes.verify_token(token).lane_id


def test_a_join_needs_a_solved_challenge_and_each_solution_is_accepted_once(challenged) -> None:
    slug, address = challenged.slug, _address()
    missing = _join(Client(), slug, address)
    assert missing.status_code == 403 and missing.json()["error"] == "challenge_required"
    assert not _flagged(address)  # no JavaScript is not a crime
    payload = bots.solve(_challenge(Client(), slug))
    joined = _join(Client(), slug, address, payload)
    assert joined.status_code == 201
    setup = services.cached_setup(challenged.pk)
    assert _lane_of(joined.json()["token"]) == setup.general.id
    replayed = _join(Client(), slug, address, payload)
    assert replayed.status_code == 403
    assert replayed.json()["error"] == "challenge_failed" and "replayed" in replayed.json()["detail"]
    # The replay flagged the address: its next place, with a good solution, is at the back.
    assert _flagged(address)
    later = _join(Client(), slug, address, bots.solve(_challenge(Client(), slug)))
    assert later.status_code == 201
    assert setup.flagged_lane is not None and setup.flagged_lane.kind == Lane.Kind.BACK
    assert _lane_of(later.json()["token"]) == setup.flagged_lane.id
    figures = bots.figures(challenged.pk)
    assert figures["challenge_missing"] == 1 and figures["challenge_replayed"] == 1
    assert figures["flagged_joins"] == 1 and figures["flags_raised"] == 1


def _tampered(payload: str, change) -> str:  # type: ignore[no-untyped-def]
    doc = json.loads(base64.b64decode(payload))
    change(doc)
    return base64.b64encode(json.dumps(doc).encode()).decode()


def test_forged_wrong_expired_and_foreign_solutions_are_refused_and_flag(challenged, future_event) -> None:
    slug = challenged.slug
    good = bots.solve(_challenge(Client(), slug))
    now = time.time()
    _configure(future_event, challenge_max_number=DIFFICULTY)
    cases = {
        # The signed parameters changed (an easier prefix, a later expiry): the signature fails.
        "forged": _tampered(good, lambda d: d["challenge"]["parameters"].update(keyPrefix="00")),
        "forged-expiry": _tampered(good, lambda d: d["challenge"]["parameters"].update(expiresAt=2**40)),
        "unsigned": _tampered(good, lambda d: d["challenge"].pop("signature")),
        # A made-up answer to a real challenge.
        "wrong": _tampered(good, lambda d: d["solution"].update(derivedKey="ab" * 32)),
        "expired": bots.solve(bots.new_challenge(challenged.pk, DIFFICULTY, now=now - 3600)),
        "other event": bots.solve(bots.new_challenge(future_event.pk, DIFFICULTY, now=now)),
        "garbage": "not base64 at all!",
        "not a string": 12,
    }
    for name, payload in cases.items():
        address = _address()
        response = _join(Client(), slug, address, payload)  # type: ignore[arg-type]
        assert response.status_code == 403, name
        assert response.json()["error"] == "challenge_failed", name
        assert _flagged(address), name
    # None of them took a place; the untouched solution still works once.
    assert (
        int(rs.client().hget(keys.lane(challenged.pk, services.cached_setup(challenged.pk).general.id), "seq") or 0)
        == 0
    )
    assert _join(Client(), slug, _address(), good).status_code == 201


def test_difficulty_zero_turns_the_challenge_off(small_event) -> None:
    _configure(small_event, challenge_max_number=0)
    off = Client().get(f"/api/v1/events/{small_event.slug}/queue/challenge/")
    assert off.status_code == 404 and off.json()["error"] == "no_challenge"
    assert _join(Client(), small_event.slug, _address()).status_code == 201


def test_the_challenge_names_the_event_expires_and_costs_half_to_all_of_its_difficulty(challenged) -> None:
    doc = _challenge(Client(), challenged.slug)
    params = doc["parameters"]
    assert params["data"] == {"event": challenged.pk} and params["algorithm"] == "SHA-256"
    assert 0 < params["expiresAt"] - time.time() <= 300
    counter = json.loads(base64.b64decode(bots.solve(doc)))["solution"]["counter"]
    assert DIFFICULTY // 2 <= counter <= DIFFICULTY


def test_refused_joins_past_the_abuse_limit_flag_the_address(small_event, settings) -> None:
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    settings.JOIN_LIMIT_PER_ADDRESS = "2/1"
    settings.BOT_ABUSE_LIMIT = "3/60"
    address = _address()
    fan = Client()
    codes = [_join(fan, small_event.slug, address).status_code for _ in range(6)]
    assert codes == [201, 200, 429, 429, 429, 429]
    # Three refusals fit in the log; the fourth overflowed it.
    assert _flagged(address)


def test_running_out_of_new_identities_flags_the_address_at_once(small_event, settings) -> None:
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    settings.NEW_FAN_LIMIT_PER_ADDRESS = "2/1"
    address = _address()
    codes = [_join(Client(), small_event.slug, address).status_code for _ in range(3)]
    assert codes == [201, 201, 429] and _flagged(address)
    assert bots.figures(small_event.pk)["flags_raised"] == 1


def _set_event(event: Event, **fields: int) -> None:
    Event.objects.filter(pk=event.pk).update(**fields)
    event.refresh_from_db()
    services.forget_setup(event.pk)


def _states(fans: list[services.QueueStatus], now: float) -> list[str]:
    return [services.status(token=f.token, fan_id=None, now=now, claim=False).status.value for f in fans]


def test_the_shadow_line_never_admits_and_looks_normal(small_event, now) -> None:
    _set_event(small_event, admission_rate_per_minute=6000, max_in_store=1000)
    setup = _configure(small_event, flagged_fans=QueueConfig.FlaggedFans.SHADOW)
    assert services.tick(event=small_event, now=now) is not None
    shadowed = [services.join(event=small_event, fan_id=f"bot-{i}", now=now, flagged=True)[0] for i in range(5)]
    fans = join_many(small_event, 5, now=now)
    assert setup.flagged_lane is not None
    assert {s.lane for s in shadowed} == {setup.flagged_lane.id}
    # A shadowed place reads like anyone's: waiting, with a position and an ETA.
    first = services.status(token=shadowed[0].token, fan_id=None, now=now)
    assert first.status == services.WAITING and first.position == 1 and first.eta_seconds is not None
    for second in range(1, 6):  # capacity and rate to spare, every tick
        doc = services.tick(event=small_event, now=now + second)
        assert doc is not None
    assert set(_states(fans, now + 5)) == {"OFFERED"}
    assert set(_states(shadowed, now + 5)) == {"WAITING"}
    # Nobody waits in the public count but the shadowed; they are not counted.
    assert doc["waiting"] == 0
    hidden = Client().get(f"/api/v1/events/{small_event.slug}/queue/state/").json()
    assert str(setup.flagged_lane.id) not in hidden["lanes"]


def test_the_back_of_the_line_is_let_in_only_after_everyone_else(small_event, now) -> None:
    _set_event(small_event, admission_rate_per_minute=180, max_in_store=1000)  # 3 a second
    setup = _configure(small_event, flagged_fans=QueueConfig.FlaggedFans.BACK)
    assert services.tick(event=small_event, now=now) is not None
    # The flagged arrive first, the fans after them.
    flagged = [services.join(event=small_event, fan_id=f"bot-{i}", now=now, flagged=True)[0] for i in range(4)]
    fans = join_many(small_event, 5, now=now)
    assert setup.flagged_lane is not None and {s.lane for s in flagged} == {setup.flagged_lane.id}
    order: list[str] = []
    for second in range(1, 5):
        services.tick(event=small_event, now=now + second)
        for name, group in (("fan", fans), ("bot", flagged)):
            for i, s in enumerate(_states(group, now + second)):
                if s == "OFFERED" and f"{name}-{i}" not in order:
                    order.append(f"{name}-{i}")
    assert order == [f"fan-{i}" for i in range(5)] + [f"bot-{i}" for i in range(4)]


def test_flagging_off_keeps_flagged_clients_in_the_general_line(small_event, now) -> None:
    setup = _configure(small_event, flagged_fans=QueueConfig.FlaggedFans.OFF)
    placed, _ = services.join(event=small_event, fan_id="bot", now=now, flagged=True)
    assert placed.lane == setup.general.id and setup.flagged_lane is None


def test_the_waiting_page_carries_the_widget_and_says_what_to_do_without_javascript(challenged) -> None:
    fan = Client()
    fan.post("/i18n/setlang/", {"language": "en", "next": "/"})
    url = f"/events/{challenged.slug}/queue/"
    page = fan.get(url).content.decode()
    assert "<altcha-widget" in page and f"/api/v1/events/{challenged.slug}/queue/challenge/" in page
    assert "vendor/altcha/altcha.min.js" in page and "<noscript>" in page
    refused = fan.post(url, HTTP_X_FORWARDED_FOR=_address())
    assert refused.status_code == 403
    assert "That needs JavaScript" in refused.content.decode()
    solved = fan.post(url, {"altcha": bots.solve(_challenge(fan, challenged.slug))}, HTTP_X_FORWARDED_FOR=_address())
    assert solved.status_code == 302
    assert "data-token=" in fan.get(url).content.decode()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_fast_path_checks_the_solution_on_the_event_loop(small_event, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from asgiref.sync import sync_to_async
    from channels.testing import HttpCommunicator
    from django.db import connections

    from queueroom import selectors
    from ticketing.asgi import application

    answered_here: list[bool] = []
    original = services.ajoin

    async def spy(**kwargs):  # type: ignore[no-untyped-def]
        result = await original(**kwargs)
        answered_here.append(result is not None)
        return result

    monkeypatch.setattr(services, "ajoin", spy)
    await sync_to_async(_configure)(small_event, challenge_max_number=DIFFICULTY)
    await sync_to_async(selectors.published_event)(small_event.slug)
    await sync_to_async(services.cached_setup)(small_event.pk)
    path = f"/api/v1/events/{small_event.slug}/queue/"

    async def post(body: bytes) -> tuple[int, dict]:  # type: ignore[type-arg]
        headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
        got = await HttpCommunicator(application, "POST", path, body=body, headers=headers).get_response(timeout=10)
        return got["status"], json.loads(got["body"])

    payload = bots.solve(bots.new_challenge(small_event.pk, DIFFICULTY, now=time.time()))
    status, body = await post(json.dumps({"altcha": payload}).encode())
    assert status == 201 and answered_here == [True]
    status, body = await post(json.dumps({"altcha": payload}).encode())
    assert (status, body["error"]) == (403, "challenge_failed") and "replayed" in body["detail"]
    status, body = await post(b"")
    assert (status, body["error"]) == (403, "challenge_required")
    assert answered_here == [True]  # the refusals never reached the join
    await sync_to_async(connections.close_all)()


def test_the_promoter_sees_the_bot_figures_and_sets_them_per_event(small_event, promoter_client, now) -> None:  # type: ignore[no-untyped-def]
    _configure(small_event, flagged_fans=QueueConfig.FlaggedFans.SHADOW)
    services.join(event=small_event, fan_id="bot", now=now, flagged=True)
    services.tick(event=small_event, now=now)
    page = promoter_client.get(f"/admin/inventory/event/{small_event.pk}/change/").content.decode()
    assert "Flagged fans (shadow)" in page and "1 places given, 1 waiting" in page
    assert "Client addresses flagged" in page and "Bot checks refused" in page
    assert 'name="queue_config-0-challenge_max_number"' in page and 'name="queue_config-0-flagged_fans"' in page


def test_the_lean_check_answers_like_the_altcha_library(challenged) -> None:
    """bots.check_proof narrows altcha.verify_solution to our challenges' one
    shape for speed: on good and tampered payloads both say the same."""
    import altcha

    key_secret = bots._secrets()[1]
    now = time.time()
    good = bots.solve(bots.new_challenge(challenged.pk, DIFFICULTY, now=now))
    payloads = [
        good,
        _tampered(good, lambda d: d["challenge"]["parameters"].update(keyPrefix="00")),
        _tampered(good, lambda d: d["challenge"]["parameters"].update(cost=2)),
        _tampered(good, lambda d: d["challenge"]["parameters"]["data"].update(event=-1)),
        _tampered(good, lambda d: d["challenge"].update(signature="00" * 32)),
        _tampered(good, lambda d: d["solution"].update(derivedKey="ab" * 32)),
        _tampered(good, lambda d: d["solution"].update(derivedKey="xyz")),
    ]
    for payload in payloads:
        ours = bots.check_proof(payload, event_id=challenged.pk, now=now).code is None
        theirs = altcha.verify_solution(payload, bots._secrets()[0], hmac_key_secret=key_secret).verified
        assert ours == theirs, payload
    assert bots.check_proof(good, event_id=challenged.pk, now=now).code is None


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_fast_path_hands_out_challenges_like_the_view(small_event) -> None:  # type: ignore[no-untyped-def]
    from asgiref.sync import sync_to_async
    from channels.testing import HttpCommunicator
    from django.db import connections

    from queueroom import selectors
    from ticketing.asgi import application

    await sync_to_async(_configure)(small_event, challenge_max_number=DIFFICULTY)
    path = f"/api/v1/events/{small_event.slug}/queue/challenge/"
    cold = await sync_to_async(Client().get)(path)  # the Django view, which also warms the caches
    await sync_to_async(selectors.published_event)(small_event.slug)
    hot = await HttpCommunicator(application, "GET", path, headers=[(b"host", b"127.0.0.1")]).get_response(timeout=10)
    assert hot["status"] == 200 and (b"Cache-Control", b"no-store") in hot["headers"]
    doc = json.loads(hot["body"])
    assert doc.keys() == cold.json().keys() and doc["parameters"]["data"] == {"event": small_event.pk}
    assert bots.check_proof(bots.solve(doc), event_id=small_event.pk, now=time.time()).code is None
    await sync_to_async(connections.close_all)()


def test_the_gate_loads_the_limit_script_when_redis_lost_it(small_event, settings, monkeypatch) -> None:
    """The gate runs the token bucket by EVALSHA; a Redis that restarted
    without it answers NOSCRIPT, and the gate loads it and takes the tokens."""
    import hashlib
    from types import SimpleNamespace

    from ticketing import limiters

    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    settings.JOIN_LIMIT_PER_ADDRESS = "2/1"
    client, scripts = limiters.sync_client()
    source = scripts["token_bucket"].script + f"\n-- never loaded: {uuid.uuid4().hex}\n"
    fresh = SimpleNamespace(script=source, sha=hashlib.sha1(source.encode()).hexdigest())  # noqa: S324 - Redis's script id
    monkeypatch.setitem(scripts, "token_bucket", fresh)
    assert client.script_exists(fresh.sha) == [False]
    address, fan = _address(), Client()
    assert [_join(fan, small_event.slug, address).status_code for _ in range(3)] == [201, 200, 429]
    assert client.script_exists(fresh.sha) == [True]
