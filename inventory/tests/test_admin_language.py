"""The promoters' admin speaks the promoter's language (issue 10, "The
promoter"): model and field names, fieldsets, columns, actions, messages and
validation errors are translatable, and the admin has its own language choice.

The expected words come from gettext in the page's language, so these tests
hold before and after the .po files get their translations."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.html import escape
from django.utils.text import capfirst

from inventory.models import Event, Section, Venue
from queueroom.models import Lane, PresaleCode
from ticketing.tests.words import shown

pytestmark = pytest.mark.django_db

LANGUAGES = ["es", "ca", "en"]
# Fields whose name is already the word for them in every language.
UNNAMED_FIELDS = {"id", "x", "y"}
# Django's own words, from its catalog (in variables, so makemessages does
# not copy them into ours).
SELECT_TO_CHANGE, CHANGE = "Select %s to change", "Change %s"


def in_language(client: Client, language: str) -> Client:
    client.cookies["django_language"] = language
    return client


def words(text: str, language: str) -> str:
    """A model or field name as the admin prints it: capitalised, escaped."""
    with translation.override(language):
        return escape(capfirst(translation.gettext(text)))


@pytest.mark.parametrize("app", ["inventory", "queueroom"])
def test_every_model_and_field_name_and_help_text_is_translatable(app):
    """A name left as a plain string would show in English to every promoter."""
    plain = []
    for model in apps.get_app_config(app).get_models():
        opts = model._meta
        for what in ("verbose_name", "verbose_name_plural"):
            if not isinstance(getattr(opts, what), Promise):
                plain.append(f"{opts.label}.{what}")
        for field in opts.get_fields(include_hidden=False):
            if not field.concrete or field.name in UNNAMED_FIELDS:
                continue
            if not isinstance(field.verbose_name, Promise):
                plain.append(f"{opts.label}.{field.name}")
            if field.help_text and not isinstance(field.help_text, Promise):
                plain.append(f"{opts.label}.{field.name}.help_text")
    assert plain == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_event_list_speaks_the_promoters_language(promoter_client, small_event, language):
    html = in_language(promoter_client, language).get("/admin/inventory/event/").content.decode()
    assert f'<html lang="{language}"' in html
    with translation.override(language):
        title = translation.gettext(SELECT_TO_CHANGE) % translation.gettext("event")
    assert f"<h1>{title}</h1>" in html  # Django's words around our model's name
    assert words("events", language) in html  # breadcrumbs: the plural
    assert words("show starts", language) in html  # a column
    assert shown("On sale now", language) in html  # the sale's phase, in words
    assert shown("Export the selected events as JSON", language) in html  # an action
    assert shown("Import JSON", language) in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_event_page_speaks_the_promoters_language(promoter_client, small_event, language):
    url = f"/admin/inventory/event/{small_event.pk}/change/"
    html = in_language(promoter_client, language).get(url).content.decode()
    with translation.override(language):
        title = translation.gettext(CHANGE) % translation.gettext("event")
    assert f"<h1>{title}</h1>" in html
    for label in ("general sale opens", "tickets per fan", "admissions per minute"):
        assert f"{words(label, language)}:</label>" in html
    for fieldset in ("Dates", "Limits and virtual queue", "Virtual queue, live"):
        assert shown(fieldset, language) in html
    assert shown("Fans let from the virtual queue into the store each minute.", language) in html  # a help text
    assert words("price tiers", language) in html  # the inline's title


@pytest.mark.parametrize("language", ["es", "ca"])
def test_a_date_in_the_wrong_order_is_refused_in_the_promoters_language(promoter_client, small_event, language):
    url = f"/admin/inventory/event/{small_event.pk}/change/"
    client = in_language(promoter_client, language)
    sale = timezone.localtime(small_event.sale_opens_at)
    presale = sale + dt.timedelta(days=1)  # after the general sale: wrong
    response = client.post(
        url,
        {
            "name": small_event.name,
            "artist": small_event.artist,
            "slug": small_event.slug,
            "venue": small_event.venue_id,
            "is_published": "on",
            "presale_opens_at_0": presale.strftime("%d/%m/%Y"),
            "presale_opens_at_1": presale.strftime("%H:%M:%S"),
            "sale_opens_at_0": sale.strftime("%d/%m/%Y"),
            "sale_opens_at_1": sale.strftime("%H:%M:%S"),
            "starts_at_0": timezone.localtime(small_event.starts_at).strftime("%d/%m/%Y"),
            "starts_at_1": "21:00:00",
            "max_tickets_per_fan": 4,
            "admission_rate_per_minute": 500,
            "max_in_store": 5000,
            "hold_ttl_seconds": 600,
            "checkout_ttl_seconds": 900,
            "price_tiers-TOTAL_FORMS": 0,
            "price_tiers-INITIAL_FORMS": 0,
            "queue_config-TOTAL_FORMS": 0,
            "queue_config-INITIAL_FORMS": 0,
            "queue_lanes-TOTAL_FORMS": 0,
            "queue_lanes-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert shown("The presale must open before the general sale.", language) in response.content.decode()
    small_event.refresh_from_db()
    assert small_event.presale_opens_at is None  # nothing changed


@pytest.mark.parametrize("language", LANGUAGES)
def test_model_validation_messages_are_in_the_promoters_language(small_event, language):
    event = Event(
        venue=small_event.venue,
        name="x",
        slug="x",
        starts_at=small_event.starts_at,
        sale_opens_at=small_event.starts_at + dt.timedelta(hours=1),
        sale_closes_at=small_event.starts_at,
    )
    Lane.objects.get_or_create(event=small_event, kind=Lane.Kind.GENERAL, defaults={"name": "General"})
    second = Lane(event=small_event, name="Another", kind=Lane.Kind.GENERAL)
    lane = Lane.objects.create(event=small_event, name="Fan club", kind=Lane.Kind.PRIORITY)
    code = PresaleCode(lane=lane, code="LUX", max_uses=1, used=3)
    standing = Section(venue=small_event.venue, code="Z", name="Z", kind=Section.Kind.GENERAL_ADMISSION, capacity=0)
    with translation.override(language):
        with pytest.raises(ValidationError) as caught:
            event.full_clean()
        assert caught.value.message_dict["sale_opens_at"] == [
            translation.gettext("The general sale must open before the show starts.")
        ]
        assert caught.value.message_dict["sale_closes_at"] == [
            translation.gettext("The sale must close after it opens.")
        ]
        with pytest.raises(ValidationError) as caught:
            standing.full_clean()
        assert caught.value.message_dict == {
            "capacity": [translation.gettext("A standing section needs a capacity above 0.")]
        }
        with pytest.raises(ValidationError) as caught:
            second.full_clean()
        assert caught.value.message_dict == {
            "kind": [translation.gettext("This event already has a general sale lane.")]
        }
        with pytest.raises(ValidationError) as caught:
            code.full_clean()
        expected = translation.ngettext(
            "This code has been used %(used)d time already; allow at least that many.",
            "This code has been used %(used)d times already; allow at least that many.",
            3,
        ) % {"used": 3}
        assert caught.value.message_dict == {"max_uses": [expected]}


def test_the_admin_has_a_language_choice_that_sets_the_fans_cookie(promoter_client, small_event):
    page = promoter_client.get("/admin/inventory/event/").content.decode()
    assert 'action="/i18n/setlang/"' in page
    for language in LANGUAGES:
        assert f'name="language" value="{language}"' in page
    assert 'value="es" lang="es" title="Español" aria-current="true"' in page  # the default
    back = promoter_client.post("/i18n/setlang/", {"language": "ca", "next": "/admin/inventory/event/"})
    assert (back.status_code, back["Location"]) == (302, "/admin/inventory/event/")
    page = promoter_client.get("/admin/inventory/event/").content.decode()
    assert '<html lang="ca"' in page and 'value="ca" lang="ca" title="Català" aria-current="true"' in page


def test_the_login_page_has_the_language_choice_too(client):
    page = in_language(client, "ca").get("/admin/login/").content.decode()
    assert '<html lang="ca"' in page and 'action="/i18n/setlang/"' in page


def test_seat_generation_speaks_the_promoters_language(promoter_client, small_event):
    client = in_language(promoter_client, "ca")
    page = client.get(f"/admin/inventory/venue/{small_event.venue_id}/change/").content.decode()
    assert shown("generate rows and seats", "ca") in page  # the link on the seated section's row
    venue = Venue.objects.create(name="Nou", slug="nou")
    section = Section.objects.create(venue=venue, code="B", name="Grada B")
    url = f"/admin/inventory/section/{section.pk}/generate-seats/"
    refused = client.post(url, {"rows": "A-C", "seats_per_row": "10,12"}).content.decode()
    assert shown("Give one seat count, or one per row (%(rows)d rows, %(counts)d counts).", "ca", rows=3, counts=2) in (
        refused
    )


def test_action_messages_are_in_the_promoters_language(promoter_client, small_event):
    client = in_language(promoter_client, "ca")
    response = client.post(
        "/admin/inventory/event/", {"action": "pause_queue", "_selected_action": [small_event.pk]}, follow=True
    )
    with translation.override("ca"):
        done = translation.ngettext(
            "Paused the queue of %(count)d event.", "Paused the queues of %(count)d events.", 1
        ) % {"count": 1}
    assert escape(done) in response.content.decode()
