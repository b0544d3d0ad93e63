"""The raw-ASGI fast path answers exactly like the Django views it shortcuts."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.db import connections

from queueroom import selectors, services

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def _post(path: str, cookie: str = "", body: bytes = b"") -> dict:  # type: ignore[type-arg]
    from ticketing.asgi import application

    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return await HttpCommunicator(application, "POST", path, body=body, headers=headers).get_response(timeout=10)


def _cookie(response: dict) -> str:  # type: ignore[type-arg]
    for name, value in response["headers"]:
        if name.lower() == b"set-cookie" and value.startswith(b"fan_id="):
            return value.decode().split(";")[0]
    return ""


async def test_joins_through_the_fast_path_match_the_django_view(small_event, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    calls = []
    original = services.ajoin

    async def spy(**kwargs):  # type: ignore[no-untyped-def]
        if not calls:  # the first join goes to Django, as with cold caches
            calls.append(False)
            return None
        result = await original(**kwargs)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(services, "ajoin", spy)
    # Warm the caches here: Django's per-request threads then need no SQL
    # (their pooled connections would keep the test database open).
    await sync_to_async(selectors.published_event)(small_event.slug)
    await sync_to_async(services.cached_setup)(small_event.pk)
    path = f"/api/v1/events/{small_event.slug}/queue/"
    cold = await _post(path)
    assert cold["status"] == 201
    hot = await _post(path)
    assert hot["status"] == 201 and calls[-1] is True  # answered on the event loop
    cookie = _cookie(hot)
    assert cookie
    first, again = json.loads(hot["body"]), await _post(path, cookie)
    assert again["status"] == 200 and json.loads(again["body"])["token"] == first["token"]
    assert json.loads(cold["body"])["token"] != first["token"]
    # Presale codes and bad bodies still go to Django.
    bad = await _post(path, body=b"{nope")
    assert (bad["status"], json.loads(bad["body"])["error"]) == (400, "malformed_json")
    # Polling the place while waiting is answered on the event loop too, with the same shape.
    from ticketing.asgi import application

    polled = await HttpCommunicator(
        application, "GET", f"/api/v1/queue/{first['token']}/", headers=[(b"host", b"127.0.0.1")]
    ).get_response(timeout=10)
    assert polled["status"] == 200
    assert json.loads(polled["body"]).keys() == first.keys()
    status = await sync_to_async(services.status)(token=first["token"], fan_id=None, now=0)
    assert status.ticket == json.loads(polled["body"])["ticket"] == first["ticket"]
    await sync_to_async(connections.close_all)()
