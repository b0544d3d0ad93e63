"""Hostile and malformed input: always a clear 4xx, never a 500, nothing changed.

Each case here was a 500 (or an HTML answer on the JSON API) before."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from inventory.models import AuditEntry, InventoryItem, Order
from queueroom.testing import grant_store_pass
from ticketing.tests import asgi

pytestmark = pytest.mark.django_db

EVENT = "/api/v1/events/demo-small/"
HOLDS = EVENT + "holds/"
JOIN = EVENT + "queue/"


def nothing_changed() -> tuple[int, int, int]:
    return (
        Order.objects.count(),
        AuditEntry.objects.count(),
        InventoryItem.objects.exclude(status="AVAILABLE").count(),
    )


def api_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"error", "detail"}
    if code:
        assert body["error"] == code
    return body


@pytest.fixture
def admitted(fan, small_event):
    grant_store_pass(fan, small_event)
    return fan


@pytest.mark.parametrize(
    "raw",
    [
        '{"section": "A\\u0000", "quantity": 1}',
        '{"section": "PISTA", "quantity": 1, "x\\u0000": 1}',
        '{"section": "\\ud800", "quantity": 1}',
        '{"seat_ids": [1], "section": "\\udfff"}',
    ],
    ids=["nul-value", "nul-key", "lone-high-surrogate", "lone-low-surrogate"],
)
def test_unstorable_text_in_a_hold_is_refused(admitted, raw):
    before = nothing_changed()
    body = api_error(admitted.post(HOLDS, data=raw, content_type="application/json"), 400, "invalid_text")
    assert "NUL" in body["detail"] or "Unicode" in body["detail"]
    assert nothing_changed() == before


@pytest.mark.parametrize("raw", ['{"code": "A\\u0000"}', '{"code": "\\ud800"}'], ids=["nul", "surrogate"])
def test_unstorable_text_in_a_join_is_refused(fan, small_event, raw):
    api_error(fan.post(JOIN, data=raw, content_type="application/json"), 400, "invalid_text")


def test_deeply_nested_json_is_refused(admitted, small_event):
    raw = "[" * 30_000 + "]" * 30_000
    api_error(admitted.post(HOLDS, data=raw, content_type="application/json"), 400, "malformed_json")
    api_error(admitted.post(JOIN, data='{"a":' * 10_000 + "1" + "}" * 10_000, content_type="application/json"), 400)


def test_moderately_nested_json_is_refused_before_it_reaches_a_service(admitted):
    raw = '{"section": "A", "quantity": 1, "x": ' + "[" * 40 + "]" * 40 + "}"
    api_error(admitted.post(HOLDS, data=raw, content_type="application/json"), 400, "invalid_text")


def test_nul_in_a_query_parameter_is_refused(admitted):
    api_error(admitted.get(EVENT + "seats/?section=A%00"), 400, "invalid_text")


def test_nul_in_the_seat_map_address_is_a_friendly_page(admitted):
    response = admitted.get("/events/demo-small/buy/A%00/", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    assert "text/html" in response["Content-Type"]
    assert "no es válido" in response.content.decode()


def test_nul_in_the_hold_form_is_a_friendly_page(admitted):
    before = nothing_changed()
    response = admitted.post(
        "/events/demo-small/hold/",
        "section=A%00&mode=best&quantity=1",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "text/html" in response["Content-Type"]
    assert nothing_changed() == before


def test_a_section_with_a_slash_in_the_hold_form_goes_back_with_a_message(admitted):
    before = nothing_changed()
    response = admitted.post("/events/demo-small/hold/", {"section": "a/b", "mode": "best", "quantity": "1"})
    assert response.status_code == 302
    assert response["Location"] == "/events/demo-small/"
    assert nothing_changed() == before


def test_an_unknown_section_is_not_echoed_in_full(admitted):
    huge = "Z" * 30_000
    body = api_error(admitted.get(EVENT + "seats/", {"section": huge}), 400, "unknown_section")
    assert len(body["detail"]) < 120
    body = api_error(
        admitted.post(HOLDS, data=json.dumps({"section": huge, "quantity": 1}), content_type="application/json"),
        400,
        "unknown_section",
    )
    assert len(body["detail"]) < 120


def test_an_unknown_slug_is_not_echoed_in_full(fan, db):
    body = api_error(fan.get("/api/v1/events/" + "s" * 5000 + "/"), 404, "event_not_found")
    assert len(body["detail"]) < 120


def test_wrong_method_is_a_json_405_with_allow(admitted):
    body = api_error(admitted.put(HOLDS), 405, "method_not_allowed")
    assert body["detail"]
    response = admitted.put(HOLDS)
    assert response["Allow"] == "POST"


def test_post_to_a_read_only_endpoint_is_a_json_405_even_with_csrf_checks(small_event):
    strict = Client(enforce_csrf_checks=True)
    for path in ("/api/v1/events/", EVENT, EVENT + "seats/?section=A", JOIN + "state/"):
        response = strict.post(path, data="{}", content_type="application/json")
        api_error(response, 405, "method_not_allowed")
        assert "GET" in response["Allow"]


def test_a_body_over_the_limit_is_a_json_413(admitted, settings):
    settings.API_MAX_BODY_BYTES = 2048
    before = nothing_changed()
    raw = json.dumps({"section": "PISTA", "quantity": 1, "pad": "x" * 4000})
    api_error(admitted.post(HOLDS, data=raw, content_type="application/json"), 413, "payload_too_large")
    assert nothing_changed() == before


def test_an_unknown_api_path_is_a_json_404(fan, db):
    api_error(fan.get("/api/v1/nothing/here/"), 404, "not_found")
    api_error(fan.get("/api/v2/"), 404, "not_found")


@pytest.mark.parametrize(("language", "text"), [("es", "Esta página no existe"), ("ca", "Aquesta pàgina no existeix")])
def test_an_unknown_page_is_a_friendly_page_in_the_fans_language(fan, db, language, text):
    response = fan.get("/no/such/page/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    assert text in response.content.decode()


# --- through the raw-ASGI layers in front of Django ----------------------------


def test_a_join_body_over_4_kb_reaches_django_whole(fan, small_event):
    """The queue's fast path used to read 4,096 bytes and pass on a truncated
    body: 500 and 'Invalid ASGI message after request body'."""
    body = json.dumps({"code": "x" * 6000}).encode()
    answer = asgi.request(
        "POST",
        JOIN,
        chunks=[body[:3000], body[3000:6000], body[6000:]],
        headers=[(b"content-type", b"application/json")],
    )
    assert answer.status == 400, answer.body
    assert answer.json()["error"] == "invalid_code"


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(small_event, settings):
    settings.API_MAX_BODY_BYTES = 2048
    answer = asgi.request(
        "POST",
        HOLDS,
        chunks=[b"{}"],
        headers=[(b"content-type", b"application/json"), (b"content-length", b"999999999")],
    )
    assert answer.status == 413
    assert answer.json()["error"] == "payload_too_large"


def test_a_streamed_body_over_the_limit_is_cut_off(small_event, settings):
    settings.API_MAX_BODY_BYTES = 2048
    answer = asgi.request(
        "POST", JOIN, chunks=[b"{" + b" " * 1500, b" " * 1500, b"}"], headers=[(b"content-type", b"application/json")]
    )
    assert answer.status == 413
    assert [m["type"] for m in answer.messages] == ["http.response.start", "http.response.body"]
