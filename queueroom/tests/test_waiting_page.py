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


def test_after_the_opening_the_pre_queue_says_the_places_are_being_drawn_not_opens_in_0_s(fan, small_event):
    """Between the opening time and the admitter's draw, a pre-queue fan
    reads that the places are being drawn (and the script asks until the
    place exists), never a countdown stuck at "0 s"."""
    import datetime as dt

    from django.utils import timezone, translation

    from queueroom.services import forget_setup
    from queueroom.testing import fan_id_of

    opening = timezone.now() - dt.timedelta(seconds=2)
    Event.objects.filter(pk=small_event.pk).update(sale_opens_at=opening, presale_opens_at=None)
    small_event.refresh_from_db()
    forget_setup(small_event.pk)
    fan.get("/healthz")
    joined, _ = services.join(event=small_event, fan_id=fan_id_of(fan), now=opening.timestamp() - 60)
    assert joined.status == services.PRE_QUEUE
    html = fan.get("/events/demo-small/queue/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    with translation.override("es"):
        assert translation.gettext("The sale is opening: places are being drawn…") in html
        assert translation.gettext("Opens in") not in html
    assert 'class="countdown"' not in html
