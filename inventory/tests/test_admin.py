"""What a promoter does in the admin."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inventory.models import Event, InventoryItem, Seat, Section, Venue
from inventory.services import catalog
from ticketing.tests.words import shown

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/inventory/venue/",
        "/admin/inventory/venue/?q=sala",
        "/admin/inventory/section/?kind__exact=GA",
        "/admin/inventory/seat/?q=A",
        "/admin/inventory/event/",
        "/admin/inventory/event/?q=demo",
        "/admin/inventory/inventoryitem/?status__exact=AVAILABLE",
        "/admin/inventory/order/",
        "/admin/inventory/auditentry/",
        "/admin/inventory/venue/import-json/",
        "/admin/inventory/event/import-json/",
        "/admin/inventory/event/add/",
    ],
)
def test_promoter_pages_load(promoter_client, small_event, url):
    assert promoter_client.get(url).status_code == 200


def test_fans_cannot_open_the_admin(fan, small_event):
    response = fan.get("/admin/inventory/event/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_event_page_shows_counts_per_status(promoter_client, small_event):
    body = promoter_client.get(f"/admin/inventory/event/{small_event.pk}/change/").content.decode()
    assert f"{shown('Available')}: <strong>90</strong>" in body
    assert f"{shown('Sold')}: <strong>0</strong>" in body


def test_venue_page_links_seat_generation(promoter_client, small_event):
    section = Section.objects.get(venue=small_event.venue, code="A")
    body = promoter_client.get(f"/admin/inventory/venue/{small_event.venue.pk}/change/").content.decode()
    assert f"/admin/inventory/section/{section.pk}/generate-seats/" in body


def test_promoter_generates_rows_and_seats(promoter_client):
    venue = Venue.objects.create(name="Nou", slug="nou")
    section = Section.objects.create(venue=venue, code="B", name="Grada B")
    url = f"/admin/inventory/section/{section.pk}/generate-seats/"
    response = promoter_client.post(url, {"rows": "A-C", "seats_per_row": "10,12,14"})
    assert response.status_code == 302
    assert Seat.objects.filter(section=section).count() == 36
    section.refresh_from_db()
    assert section.capacity == 36


def test_bad_seat_generation_input_shows_an_error_and_changes_nothing(promoter_client):
    venue = Venue.objects.create(name="Nou", slug="nou")
    section = Section.objects.create(venue=venue, code="B", name="Grada B")
    url = f"/admin/inventory/section/{section.pk}/generate-seats/"
    response = promoter_client.post(url, {"rows": "A-C", "seats_per_row": "10,12"})
    assert response.status_code == 200
    assert shown("Give one seat count, or one per row (%(rows)d rows, %(counts)d counts).", rows=3, counts=2) in (
        response.content.decode()
    )
    assert not Seat.objects.filter(section=section).exists()


def test_adding_an_event_creates_its_inventory(promoter_client, small_event):
    response = promoter_client.post(
        "/admin/inventory/event/add/",
        {
            "name": "Second show",
            "slug": "second-show",
            "venue": small_event.venue.pk,
            "artist": "",
            "description": "",
            "is_published": "on",
            "starts_at_0": "2027-05-01",
            "starts_at_1": "21:00:00",
            "sale_opens_at_0": "2027-01-10",
            "sale_opens_at_1": "10:00:00",
            "max_tickets_per_fan": 4,
            "admission_rate_per_minute": 500,
            "max_in_store": 5000,
            "hold_ttl_seconds": 600,
            "checkout_ttl_seconds": 900,
            "price_tiers-TOTAL_FORMS": 0,
            "price_tiers-INITIAL_FORMS": 0,
            # Inlines the waiting room adds to the same admin page.
            "queue_config-TOTAL_FORMS": 0,
            "queue_config-INITIAL_FORMS": 0,
            "queue_lanes-TOTAL_FORMS": 0,
            "queue_lanes-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert InventoryItem.objects.filter(event__slug="second-show").count() == 90


def test_export_then_import_event_json_through_the_admin(promoter_client, small_event):
    response = promoter_client.post(
        "/admin/inventory/event/", {"action": "export_json", "_selected_action": [small_event.pk]}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="events.json"'
    data = json.loads(response.content)
    assert data["format"] == catalog.EVENT_FORMAT
    data["slug"] = "imported-show"
    upload = SimpleUploadedFile("e.json", json.dumps(data).encode(), content_type="application/json")
    response = promoter_client.post("/admin/inventory/event/import-json/", {"file": upload})
    assert response.status_code == 302
    imported = Event.objects.get(slug="imported-show")
    # The venue slug already existed, so the import reuses the venue.
    assert imported.venue == small_event.venue
    assert imported.items.count() == 90


def test_importing_a_broken_file_shows_the_error(promoter_client, small_event):
    upload = SimpleUploadedFile("e.json", b"{not json", content_type="application/json")
    response = promoter_client.post("/admin/inventory/venue/import-json/", {"file": upload})
    assert response.status_code == 200
    assert "Expecting property name" in response.content.decode()
    assert Venue.objects.count() == 1


def test_export_venue_json(promoter_client, small_event):
    response = promoter_client.post(
        "/admin/inventory/venue/", {"action": "export_json", "_selected_action": [small_event.venue.pk]}
    )
    data = json.loads(response.content)
    assert data["slug"] == "sala-demo"
    assert sum(len(r["seats"]) for s in data["sections"] for r in s.get("rows", [])) == 50


def test_order_list_shows_a_short_reference_and_finds_orders_by_it(promoter_client, small_event):
    from inventory.services import holds
    from inventory.tests.helpers import seat_ids

    hold = holds.hold_seats(event=small_event, owner="fan-1", seat_ids=seat_ids(small_event, count=1))
    other = holds.hold_seats(event=small_event, owner="fan-2", seat_ids=seat_ids(small_event, count=2)[1:])
    short = str(hold.order_id)[:8]
    body = promoter_client.get(f"/admin/inventory/order/?q={short}").content.decode()
    assert f">{short}</a>" in body
    assert str(other.order_id)[:8] not in body


@pytest.mark.django_db
def test_audit_entries_cannot_be_deleted_even_by_a_superuser(promoter_client, small_event):
    from inventory.models import AuditEntry
    from inventory.services import holds

    holds.hold_best_available(event=small_event, owner="fan-1", section_code="PISTA", quantity=1)
    entry = AuditEntry.objects.first()
    assert entry is not None
    page = promoter_client.get(f"/admin/inventory/auditentry/{entry.pk}/delete/")
    assert page.status_code == 403
    promoter_client.post(
        "/admin/inventory/auditentry/", {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db
def test_a_new_events_price_tiers_name_the_venue_of_each_section(promoter_client, small_event):
    page = promoter_client.get("/admin/inventory/event/add/").content.decode()
    venue = small_event.venue.name
    assert f"{venue} · PISTA · " in page
