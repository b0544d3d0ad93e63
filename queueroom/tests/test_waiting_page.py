"""The waiting page's live parts: what the script updates must be on the page."""

from __future__ import annotations

import time

import pytest

from inventory.models import Event
from queueroom import services, views

pytestmark = pytest.mark.django_db


def test_paused_banner_is_on_the_page_for_the_script_to_show_without_a_reload(fan, small_event):
    Event.objects.filter(pk=small_event.pk).update(admission_rate_per_minute=1)
    fan.post("/events/demo-small/queue/")
    fan.post("/events/demo-small/queue/")  # the same place
    html = fan.get("/events/demo-small/queue/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'class="q-paused" data-q="paused" hidden' in html
    assert 'data-eta-paused="when the queue resumes"' in html
    assert services.tick(event=small_event, now=time.time()) is not None


@pytest.mark.parametrize(
    ("seconds", "minutes"), [((60, 80), (1, 2)), ((48, 78), (0, 2)), ((240, 390), (4, 7)), ((0, 10), (0, 1))]
)
def test_eta_never_reads_one_to_one_minute(seconds, minutes):
    assert views.eta_minutes(seconds) == minutes
