import pytest

pytestmark = pytest.mark.django_db


def test_event_list_page_lists_events(fan, small_event):
    body = fan.get("/").content.decode()
    assert "Demo · small show" in body
    assert "/events/demo-small/" in body


@pytest.mark.parametrize(
    "language, heading",
    [("en", "Prices and availability"), ("es", "Precios y disponibilidad"), ("ca", "Preus i disponibilitat")],
)
def test_event_page_speaks_the_fans_language(fan, small_event, language, heading):
    fan.post("/i18n/setlang/", {"language": language, "next": "/"})
    body = fan.get("/events/demo-small/").content.decode()
    assert heading in body
    assert f'<html lang="{language}">' in body


def test_event_page_shows_sections_prices_and_availability(fan, small_event):
    fan.post("/i18n/setlang/", {"language": "en", "next": "/"})
    body = fan.get("/events/demo-small/").content.decode()
    assert "On sale now" in body
    assert "Grada" in body and "65.00 €" in body
    assert "40" in body and "50" in body


def test_event_page_counts_down_to_the_sale(fan, future_event):
    fan.post("/i18n/setlang/", {"language": "en", "next": "/"})
    body = fan.get("/events/future-show/").content.decode()
    assert "Sale opens soon" in body
    assert f'data-countdown="{future_event.presale_opens_at.isoformat()}"' in body


def test_past_shows_leave_the_list_and_their_page_says_the_sale_ended(fan, small_event):
    import datetime as dt

    from django.utils import timezone

    small_event.sale_opens_at = timezone.now() - dt.timedelta(days=2)
    small_event.starts_at = timezone.now() - dt.timedelta(hours=1)
    small_event.save(update_fields=["sale_opens_at", "starts_at"])
    fan.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "/events/demo-small/" not in fan.get("/").content.decode()
    body = fan.get("/events/demo-small/").content.decode()
    assert "The sale has ended" in body
    assert "Join the queue" not in body and "/buy/" not in body


def test_unknown_event_page_is_404(fan, db):
    assert fan.get("/events/nope/").status_code == 404


def test_fan_gets_a_signed_identity_cookie_once(fan, db):
    first = fan.get("/")
    assert "fan_id" in first.cookies
    second = fan.get("/")
    assert "fan_id" not in second.cookies
