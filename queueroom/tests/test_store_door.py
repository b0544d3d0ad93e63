"""The store's real door: holds and store pages need a valid pass for the event."""

import json
import re

import pytest

from queueroom.testing import fan_id_of, grant_store_pass

pytestmark = pytest.mark.django_db


def _hold(client, slug="demo-small"):
    return client.post(
        f"/api/v1/events/{slug}/holds/",
        data=json.dumps({"section": "PISTA", "quantity": 2}),
        content_type="application/json",
    )


def test_hold_without_a_pass_is_403_and_holds_nothing(fan, small_event):
    from inventory.models import Order

    response = _hold(fan)
    assert response.status_code == 403
    assert response.json()["error"] == "queue_pass_required"
    assert not Order.objects.exists()


def test_hold_with_a_pass_for_this_event_is_created(fan, small_event):
    grant_store_pass(fan, small_event)
    response = _hold(fan)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "HELD"


def test_a_pass_does_not_travel_to_another_browser(fan, second_fan, small_event):
    token = grant_store_pass(fan, small_event)
    second_fan.get("/healthz")
    for name, morsel in fan.cookies.items():
        if morsel.value == token:
            second_fan.cookies[name] = token
    assert _hold(second_fan).status_code == 403


def test_store_page_without_a_pass_redirects_to_the_waiting_room(fan, small_event):
    response = fan.get("/events/demo-small/buy/PISTA/")
    assert response.status_code in (302, 303)
    assert "demo-small" in response["Location"]


def _admitted(fan, event):
    """Queue for real: join, the tick's offer, the claim that issues the pass."""
    import time

    from queueroom import services

    now = time.time()
    services.tick(event=event, now=now - 2)
    token = fan.post(f"/api/v1/events/{event.slug}/queue/", None, content_type="application/json").json()["token"]
    services.tick(event=event, now=now - 1)
    assert fan.get(f"/api/v1/queue/{token}/").json()["status"] == "ADMITTED"
    return token


def test_leaving_the_queue_ends_the_pass(fan, small_event):
    token = _admitted(fan, small_event)
    assert fan.get("/api/v1/events/demo-small/seats/?section=PISTA").status_code == 200
    assert fan.delete(f"/api/v1/queue/{token}/").status_code == 200
    response = _hold(fan)
    assert (response.status_code, response.json()["error"]) == (403, "queue_pass_required")
    assert fan.get("/api/v1/events/demo-small/seats/?section=PISTA").status_code == 403


def test_an_ended_store_session_ends_the_pass(fan, small_event):
    from queueroom import passes, services

    _admitted(fan, small_event)
    raw = fan.cookies[passes.pass_cookie_name(small_event.pk)].value
    claims = passes.verify_pass(raw, event_id=small_event.pk, fan_id=fan_id_of(fan))
    assert services.end_session(store_pass=claims) is True
    assert _hold(fan).status_code == 403


def test_other_passes_of_the_event_survive_a_revocation(fan, second_fan, small_event):
    token = _admitted(fan, small_event)
    grant_store_pass(second_fan, small_event)
    fan.delete(f"/api/v1/queue/{token}/")
    assert _hold(second_fan).status_code == 201


def test_every_refused_pass_gets_the_same_answer(fan, second_fan, small_event, caplog):
    import logging

    from queueroom import passes

    good = grant_store_pass(fan, small_event)
    second_fan.get("/healthz")
    cases = {
        "malformed": "not-a-pass",
        "bad signature": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
        "other browser": good,
    }
    bodies = set()
    with caplog.at_level(logging.INFO, logger="queueroom.door"):
        for value in cases.values():
            second_fan.cookies[passes.pass_cookie_name(small_event.pk)] = value
            response = _hold(second_fan)
            assert response.status_code == 403
            bodies.add(response.content)
    assert len(bodies) == 1
    body = json.loads(bodies.pop())
    for reason in cases:
        assert reason not in body["detail"]
        assert any(reason in record.getMessage() for record in caplog.records)


def test_admitted_fan_sees_their_turn_one_next_step_and_the_session_time_left(fan, small_event):
    grant_store_pass(fan, small_event, ttl=600)
    html = fan.get("/events/demo-small/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "It&#x27;s your turn" in html or "It's your turn" in html
    assert 'href="/events/demo-small/buy/' in html
    assert "/queue/" not in html  # not "Join the queue" next to the way in
    assert re.search(r'data-store-session="[^"]+">00:(10:00|09:5\d)<', html)  # 10 minutes left, counting down


def test_store_session_time_left_shows_on_the_section_page(fan, small_event):
    grant_store_pass(fan, small_event, ttl=600)
    html = fan.get("/events/demo-small/buy/A/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-store-session="' in html


def test_fan_without_a_pass_has_one_button_join_the_queue(fan, small_event):
    html = fan.get("/events/demo-small/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert html.count('class="button') == 1
    assert 'href="/events/demo-small/queue/"' in html
    assert "/buy/" not in html and "data-store-session" not in html


def test_a_paid_order_ends_the_store_session(fan, small_event, django_capture_on_commit_callbacks):
    """Paying frees the fan's place in the store at once (inventory's
    order_paid signal, received by the waiting room), and the pass stops
    opening the store."""
    from inventory.services import holds

    _admitted(fan, small_event)
    order_id = _hold(fan).json()["order_id"]
    with django_capture_on_commit_callbacks(execute=True):
        holds.start_checkout(order_id=order_id, owner=fan_id_of(fan))
        holds.sell_order(order_id=order_id)
    response = _hold(fan)
    assert (response.status_code, response.json()["error"]) == (403, "queue_pass_required")


@pytest.fixture
def presale_event(small_event):
    """small_event in its presale: the presale lane is open, the general sale an hour away."""
    import datetime as dt

    from django.utils import timezone

    from queueroom.models import Lane, PresaleCode

    now = timezone.now()
    small_event.presale_opens_at = now - dt.timedelta(hours=1)
    small_event.sale_opens_at = now + dt.timedelta(hours=1)
    small_event.save()
    lane = Lane.objects.create(event=small_event, name="Fan club", kind=Lane.Kind.PRIORITY, weight=1)
    PresaleCode.objects.create(lane=lane, code="LUX", max_uses=10)
    return small_event, lane


def test_presale_fans_hold_during_the_presale_and_general_passes_do_not(fan, second_fan, presale_event):
    event, lane = presale_event
    grant_store_pass(fan, event, lane_id=lane.pk)
    assert _hold(fan).status_code == 201
    grant_store_pass(second_fan, event)  # the general lane's
    response = _hold(second_fan)
    assert response.json()["error"] == "sale_not_open"


def test_a_presale_fan_queues_gets_in_and_holds(fan, presale_event):
    """The whole way in during the presale: join with the code, the tick's
    offer, the pass, the store page that says it's the fan's turn, a hold."""
    import time

    from django.utils import translation

    from queueroom import services

    event, _ = presale_event
    now = time.time()
    joined = fan.post(f"/api/v1/events/{event.slug}/queue/", {"code": "LUX"}, content_type="application/json").json()
    services.tick(event=event, now=now + 1)
    assert fan.get(f"/api/v1/queue/{joined['token']}/").json()["status"] == "ADMITTED"
    page = fan.get(f"/events/{event.slug}/").content.decode()
    with translation.override("es"):
        assert translation.gettext("It's your turn") in page
    section = fan.get(f"/events/{event.slug}/buy/A/").content.decode()
    assert 'name="mode" value="best"' in section  # the hold form, not "not on sale"
    assert _hold(fan).status_code == 201
