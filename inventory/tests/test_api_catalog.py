import pytest

pytestmark = pytest.mark.django_db


def test_event_list_returns_published_events(fan, small_event, future_event):
    response = fan.get("/api/v1/events/")
    assert response.status_code == 200
    slugs = [e["slug"] for e in response.json()["events"]]
    assert slugs == ["future-show", "demo-small"]  # by start date


def test_unpublished_event_is_hidden(fan, small_event):
    small_event.is_published = False
    small_event.save(update_fields=["is_published"])
    assert fan.get("/api/v1/events/").json()["events"] == []
    assert fan.get("/api/v1/events/demo-small/").status_code == 404


def test_event_detail_has_sections_with_price_and_availability(fan, small_event):
    body = fan.get("/api/v1/events/demo-small/").json()
    sections = {s["code"]: s for s in body["sections"]}
    assert sections["PISTA"] == {
        "code": "PISTA",
        "name": "Pista",
        "kind": "GA",
        "tier": "Pista",
        "price": "45.00",
        "fee": "4.50",
        "currency": "EUR",
        "capacity": 40,
        "available": 40,
    }
    assert sections["A"]["capacity"] == 50
    assert body["available"] == 90
    assert body["sale_phase"] == "ON_SALE"


def test_sold_and_locked_places_are_not_available(fan, small_event):
    import datetime as dt

    from django.utils import timezone

    from inventory.models import InventoryItem, Order

    order = Order.objects.create(event=small_event, owner="someone")
    items = list(InventoryItem.objects.filter(event=small_event, section__code="A").order_by("id")[:3])
    InventoryItem.objects.filter(pk=items[0].pk).update(
        status="SOLD", order=order, sold_to="someone", sold_at=timezone.now()
    )
    InventoryItem.objects.filter(pk=items[1].pk).update(
        status="SOFT_LOCKED", order=order, locked_by="someone", locked_until=timezone.now() + dt.timedelta(minutes=5)
    )
    # An expired lock is claimable at once, so it counts as available.
    InventoryItem.objects.filter(pk=items[2].pk).update(
        status="SOFT_LOCKED", order=order, locked_by="someone", locked_until=timezone.now() - dt.timedelta(seconds=1)
    )
    sections = {s["code"]: s for s in fan.get("/api/v1/events/demo-small/").json()["sections"]}
    assert sections["A"]["available"] == 48


def test_unknown_event_is_json_404(fan, db):
    response = fan.get("/api/v1/events/nope/")
    assert response.status_code == 404
    assert response.json() == {"error": "event_not_found", "detail": "No event with slug 'nope'."}


def test_unknown_api_path_is_json_404(fan, db):
    response = fan.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_event_list_rejects_post(fan, db):
    assert fan.post("/api/v1/events/").status_code == 405


def test_availability_is_cached_briefly_and_shared_by_all_fans(fan, second_fan, small_event, settings):
    from django.core.cache import cache

    from inventory.models import InventoryItem

    settings.AVAILABILITY_CACHE_SECONDS = 60
    cache.delete(f"availability:{small_event.pk}")
    assert fan.get("/api/v1/events/demo-small/").json()["available"] == 90
    InventoryItem.objects.filter(event=small_event, section__code="PISTA").delete()
    # Within the cache window every fan sees the same (slightly old) counts.
    assert second_fan.get("/api/v1/events/demo-small/").json()["available"] == 90
    cache.delete(f"availability:{small_event.pk}")
    assert fan.get("/api/v1/events/demo-small/").json()["available"] == 50
