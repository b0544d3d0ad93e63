"""The HTTP API and the waiting page, through Django's test client."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.utils import timezone

from inventory.access import StoreAccessDenied, ensure_store_access
from queueroom import passes, services
from queueroom.testing import fan_id_of
from ticketing.tests.words import shown

pytestmark = pytest.mark.django_db


def _join(client: Client, slug: str, **body: str):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/events/{slug}/queue/", body or None, content_type="application/json")


def test_join_api_is_idempotent_per_browser(small_event, fan: Client, second_fan: Client) -> None:
    first = _join(fan, small_event.slug)
    assert first.status_code == 201
    data = first.json()
    assert set(data) >= {"token", "status", "position", "ahead", "total_waiting", "eta_seconds", "ws_url"}
    again = _join(fan, small_event.slug)
    assert again.status_code == 200 and again.json()["token"] == data["token"]
    assert _join(second_fan, small_event.slug).json()["token"] != data["token"]


def test_bad_requests_get_json_errors(small_event, fan: Client) -> None:
    assert _join(fan, "no-such-show").json()["error"] == "event_not_found"
    bad = fan.post(f"/api/v1/events/{small_event.slug}/queue/", "{nope", content_type="application/json")
    assert (bad.status_code, bad.json()["error"]) == (400, "malformed_json")
    assert _join(fan, small_event.slug, code="NOPE").json()["error"] == "invalid_code"
    assert fan.get("/api/v1/queue/1.2.3.forged/").json()["error"] == "not_found"


def test_admitted_fan_gets_a_pass_cookie_that_opens_the_store(small_event, fan: Client, rf) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    services.tick(event=small_event, now=now - 2)
    token = _join(fan, small_event.slug).json()["token"]
    services.tick(event=small_event, now=now - 1)
    response = fan.get(f"/api/v1/queue/{token}/")
    data = response.json()
    assert data["status"] == "ADMITTED" and data["pass"] and data["store_url"]
    cookie = response.cookies[passes.pass_cookie_name(small_event.pk)]
    assert cookie.value == data["pass"] and cookie["httponly"]
    request = rf.get("/store/")
    request.COOKIES[passes.pass_cookie_name(small_event.pk)] = data["pass"]
    # The pass is bound to this browser's identity cookie.
    request.fan_id = fan.cookies["fan_id"].value.split(":")[0]
    ensure_store_access(request, small_event)
    request.fan_id = "someone-else"
    with pytest.raises(StoreAccessDenied):
        ensure_store_access(request, small_event)


def test_another_browser_with_the_token_sees_the_place_but_gets_no_pass(small_event, fan, second_fan) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    services.tick(event=small_event, now=now - 2)
    token = _join(fan, small_event.slug).json()["token"]
    services.tick(event=small_event, now=now - 1)
    stolen = second_fan.get(f"/api/v1/queue/{token}/").json()
    assert stolen["status"] == "OFFERED" and "pass" not in stolen


def test_state_document_is_the_same_for_everyone_and_cacheable(small_event, fan) -> None:  # type: ignore[no-untyped-def]
    _join(fan, small_event.slug)
    services.tick(event=small_event, now=time.time())
    response = Client().get(f"/api/v1/events/{small_event.slug}/queue/state/")
    assert response.status_code == 200 and "public" in response["Cache-Control"]
    # The sale is open, so the join opened the lane and this first tick offered the place.
    assert (response.json()["waiting"], response.json()["offers"]) == (0, 1)


def test_leaving_frees_the_place(small_event, fan) -> None:  # type: ignore[no-untyped-def]
    token = _join(fan, small_event.slug).json()["token"]
    left = fan.delete(f"/api/v1/queue/{token}/").json()
    assert (left["status"], left["reason"]) == ("CLOSED", "left")
    assert _join(fan, small_event.slug).json()["token"] != token


def test_waiting_page_joins_on_post_and_refreshes_without_js(small_event, fan) -> None:  # type: ignore[no-untyped-def]
    url = f"/events/{small_event.slug}/queue/"
    page = fan.get(url)
    assert page.status_code == 200
    assert services.load_setup(small_event).general.commitment in page.content.decode()
    joined = fan.post(url)
    assert joined.status_code == 302
    page = fan.get(url).content.decode()
    assert 'http-equiv="refresh" content="20"' in page and "data-token=" in page
    detail = fan.get(f"/events/{small_event.slug}/").content.decode()
    assert url in detail


def test_waiting_fan_uses_a_presale_code_from_the_waiting_page(future_event, fan) -> None:  # type: ignore[no-untyped-def]
    from queueroom import passes
    from queueroom.models import Lane, PresaleCode

    lane = Lane.objects.create(event=future_event, name="Fan club", kind=Lane.Kind.PRIORITY, weight=1)
    PresaleCode.objects.create(lane=lane, code="LUX", max_uses=1)
    services.forget_setup(future_event.pk)
    fan.post("/i18n/setlang/", {"language": "en", "next": "/"})
    url = f"/events/{future_event.slug}/queue/"
    assert fan.post(url).status_code == 302  # joins the general line (pre-queue)
    page = fan.get(url).content.decode()
    assert "Have a presale code?" in page

    wrong = fan.post(url, {"code": "NOPE"}).content.decode()
    assert "This presale code does not exist for this event." in wrong and "Have a presale code?" in wrong
    assert fan.post(url, {"code": "LUX"}).status_code == 302
    page = fan.get(url).content.decode()
    assert "Have a presale code?" not in page  # now in the presale line
    token = services.find_place(event=future_event, fan_id=fan_id_of(fan))
    assert token is not None and passes.verify_token(token).lane_id == lane.pk
    assert PresaleCode.objects.get(lane=lane).used == 1


def test_promoter_sees_live_figures_and_can_pause(small_event, promoter_client) -> None:  # type: ignore[no-untyped-def]
    _join(Client(), small_event.slug)
    services.tick(event=small_event, now=time.time())
    page = promoter_client.get(f"/admin/inventory/event/{small_event.pk}/change/").content.decode()
    assert shown("Queue now") in page and shown("Turns offered, not yet taken") in page
    promoter_client.post("/admin/inventory/event/", {"action": "pause_queue", "_selected_action": [small_event.pk]})
    assert small_event.queue_config.paused


def test_waiting_page_shows_the_pre_queue_countdown_and_commitment(future_event, fan) -> None:  # type: ignore[no-untyped-def]
    url = f"/events/{future_event.slug}/queue/"
    fan.post(url)
    page = fan.get(url).content.decode()
    assert "q-prequeue" in page
    assert services.load_setup(future_event).general.commitment in page
    assert 'data-seconds="' in page


def test_waiting_page_tells_waiting_fans_when_the_event_sells_out(small_event, fan) -> None:  # type: ignore[no-untyped-def]
    from inventory.models import InventoryItem, ItemStatus, Order, OrderStatus

    url = f"/events/{small_event.slug}/queue/"
    services.tick(event=small_event, now=time.time() - 1)
    fan.post(url)
    sold_at = timezone.now()
    order = Order.objects.create(event=small_event, owner="x", status=OrderStatus.PAID, paid_at=sold_at)
    InventoryItem.objects.filter(event=small_event).update(
        status=ItemStatus.SOLD, sold_to="x", sold_at=sold_at, order=order
    )
    services.tick(event=small_event, now=time.time())
    page = fan.get(url).content.decode()
    assert "q-closed" in page and 'content="20"' not in page


def test_heartbeat_needs_the_browser_that_joined(small_event, fan, second_fan) -> None:  # type: ignore[no-untyped-def]
    token = _join(fan, small_event.slug).json()["token"]
    url = f"/api/v1/queue/{token}/heartbeat/"
    assert fan.post(url).status_code == 200
    stranger = second_fan.post(url)
    assert (stranger.status_code, stranger.json()["error"]) == (403, "not_your_place")
    cookieless = Client().post(url)
    assert (cookieless.status_code, cookieless.json()["error"]) == (403, "not_your_place")


def test_promoter_sees_whether_background_work_runs(small_event, promoter_client) -> None:  # type: ignore[no-untyped-def]
    from django_redis import get_redis_connection

    from ticketing import health
    from ticketing.celery import heartbeat

    _join(Client(), small_event.slug)
    services.tick(event=small_event, now=time.time())
    get_redis_connection("default").delete(health.heartbeat_key())
    health.probe.clear()
    page = promoter_client.get(f"/admin/inventory/event/{small_event.pk}/change/").content.decode()
    assert shown("Background work (Celery)") in page and "no Celery heartbeat yet" in page
    heartbeat()
    health.probe.clear()
    page = promoter_client.get(f"/admin/inventory/event/{small_event.pk}/change/").content.decode()
    assert "no Celery heartbeat" not in page
