"""The live queue panel of the event admin refreshes itself from a
staff-only JSON endpoint (queueroom/admin.py, static/queueroom/admin_live.js)."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from inventory.models import Event
from queueroom import services
from ticketing.tests.words import shown

pytestmark = pytest.mark.django_db


def figures_url(event: Event) -> str:
    return f"/admin/inventory/event/{event.pk}/queue-figures/"


def _join(slug: str) -> None:
    assert Client().post(f"/api/v1/events/{slug}/queue/", content_type="application/json").status_code == 201


def test_staff_get_the_figures_of_the_last_tick(promoter_client, small_event):
    _join(small_event.slug)
    services.tick(event=small_event, now=time.time())
    response = promoter_client.get(figures_url(small_event))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    data = response.json()
    assert data["stale"] is False and data["age_seconds"] < 5
    assert data["figures"]["event"] == small_event.pk and data["figures"]["in_store"] + data["figures"]["offers"] >= 1
    assert shown("Turns offered, not yet taken") in data["html"] and "<table>" in data["html"]


def test_the_figures_follow_the_queue_without_a_page_reload(promoter_client, small_event):
    Event.objects.filter(pk=small_event.pk).update(max_in_store=1)  # one fan in; the others wait
    small_event.refresh_from_db()
    services.forget_setup(small_event.pk)
    _join(small_event.slug)
    services.tick(event=small_event, now=time.time())
    before = promoter_client.get(figures_url(small_event)).json()["figures"]["waiting"]
    _join(small_event.slug)
    _join(small_event.slug)
    services.tick(event=small_event, now=time.time() + 1)
    after = promoter_client.get(figures_url(small_event)).json()["figures"]["waiting"]
    assert after == before + 2


def test_no_queue_yet_is_said_in_words(promoter_client, small_event):
    data = promoter_client.get(figures_url(small_event)).json()
    assert data["figures"] is None and data["stale"] is False
    assert shown("No queue yet: the figures appear when the first fan joins.") in data["html"]


def test_figures_the_admitter_stopped_updating_are_marked_stale(promoter_client, small_event):
    _join(small_event.slug)
    services.tick(event=small_event, now=time.time() - 60)
    data = promoter_client.get(figures_url(small_event)).json()
    assert data["stale"] is True and data["age_seconds"] >= 59
    assert "queue-live-warning" in data["html"]


def test_an_ended_sale_is_not_stale(promoter_client, small_event):
    _join(small_event.slug)
    services.tick(event=small_event, now=time.time() - 60)
    Event.objects.filter(pk=small_event.pk).update(sale_closes_at=timezone.now())
    assert promoter_client.get(figures_url(small_event)).json()["stale"] is False


def test_only_staff_who_may_view_events_get_the_figures(small_event, django_user_model):
    anonymous = Client().get(figures_url(small_event))
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]

    fan = Client()
    fan.force_login(django_user_model.objects.create_user(username="fan", password="pw-fan-12345"))
    assert fan.get(figures_url(small_event)).status_code == 302  # not staff: the admin's login

    staff = django_user_model.objects.create_user(username="clerk", password="pw-clerk-12345", is_staff=True)
    clerk = Client()
    clerk.force_login(staff)
    refused = clerk.get(figures_url(small_event))
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")

    staff.user_permissions.add(Permission.objects.get(codename="view_event"))
    assert clerk.get(figures_url(small_event)).status_code == 200


def test_unknown_event_is_a_json_404(promoter_client):
    response = promoter_client.get("/admin/inventory/event/999999/queue-figures/")
    assert (response.status_code, response.json()["error"]) == (404, "not_found")


def test_event_page_loads_the_panel_script_and_points_it_at_the_endpoint(promoter_client, small_event):
    html = promoter_client.get(f"/admin/inventory/event/{small_event.pk}/change/").content.decode()
    assert '<script src="/static/queueroom/admin_live.js"></script>' in html
    assert f'data-queue-live data-url="{figures_url(small_event)}" data-every-ms="2000"' in html
    assert shown("Figures unavailable: no answer from the server. These are the last ones received.") in html
    assert "<script>" not in html  # no inline script: the CSP allows none
