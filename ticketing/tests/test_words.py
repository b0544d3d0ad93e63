"""Fans read the pages in their own words: plurals, dates as each language
writes them, tab titles, the fairness text, error pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import RequestFactory
from django.utils import timezone, translation

from inventory.models import Event
from queueroom import services
from ticketing.errors import error_page

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("language", "site"), [("ca", "Entrades"), ("es", "Entradas"), ("en", "Tickets")])
def test_tab_title_names_the_site_in_the_page_language(fan, small_event, language, site):
    html = fan.get("/events/demo-small/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert re.search(rf"<title>[^<]* · {site}</title>", html)


@pytest.mark.parametrize(
    ("language", "written"),
    [("es", "martes, 13 de abril de 2027, 21:00"), ("ca", "dimarts, 13 d’abril de 2027, 21:00")],
)
def test_dates_are_written_as_each_language_writes_them(fan, small_event, language, written):
    starts = timezone.make_aware(dt.datetime(2027, 4, 13, 21, 0))
    Event.objects.filter(pk=small_event.pk).update(starts_at=starts)
    assert written in fan.get("/events/demo-small/", HTTP_ACCEPT_LANGUAGE=language).content.decode()


@pytest.mark.parametrize(
    ("language", "written"),
    [("es", "mar 13 abr 2027 · 21:00"), ("ca", "dt. 13 abr. 2027 · 21:00"), ("en", "Tue 13 Apr 2027 · 21:00")],
)
def test_the_event_list_writes_short_dates_in_lower_case_where_the_language_does(fan, small_event, language, written):
    starts = timezone.make_aware(dt.datetime(2027, 4, 13, 21, 0))
    Event.objects.filter(pk=small_event.pk).update(starts_at=starts)
    assert written in fan.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_one_fan_in_the_pre_queue_is_singular(fan, future_event):
    fan.post("/events/future-show/queue/", HTTP_ACCEPT_LANGUAGE="en")
    html = fan.get("/events/future-show/queue/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert services.PRE_QUEUE and "1 fan in the pre-queue" in html


def test_fairness_text_speaks_to_fans_and_the_command_is_on_the_technical_page(fan, future_event):
    html = fan.get("/events/future-show/queue/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "manage.py" not in html and 'href="/events/future-show/queue/fairness/"' in html
    technical = fan.get("/events/future-show/queue/fairness/", HTTP_ACCEPT_LANGUAGE="en")
    assert technical.status_code == 200 and "verify_shuffle" in technical.content.decode()


@pytest.mark.parametrize(("status", "title"), [(429, "Demasiados intentos"), (503, "Hay mucha gente")])
def test_429_and_503_pages_are_styled_and_translated(status, title):
    with translation.override("es"):
        response = error_page(RequestFactory().get("/events/x/"), status)
    html = response.content.decode()
    assert response.status_code == status and title in html and 'class="error-page"' in html
