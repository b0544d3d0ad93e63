"""ticketing.gate: at most N requests inside Django at once; the rest wait on
the event loop and, past the wait, get 503 + Retry-After (JSON for the API, a
page that reloads itself for fans), and nothing of theirs reaches Django."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from ticketing.gate import DjangoGate

pytestmark = pytest.mark.asyncio


class Blocking:
    """A Django stand-in whose requests stay inside until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered: list[str] = []
        self.fail_on: str | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.entered.append(scope["path"])
        if scope["path"] == self.fail_on:
            raise RuntimeError("the view crashed")
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def call(app: Any, path: str, kind: str = "http") -> dict[str, Any]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": kind, "path": path, "headers": []}, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return {"status": start["status"], "headers": dict(start["headers"]), "body": body}


async def wait_until(condition: Any) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def test_past_the_limit_requests_wait_their_turn() -> None:
    inner = Blocking()
    gate = DjangoGate(inner, limit=2, wait_seconds=30)
    tasks = [asyncio.create_task(call(gate, f"/api/v1/r{i}/")) for i in range(5)]
    await wait_until(lambda: len(inner.entered) == 2)
    await asyncio.sleep(0.05)
    assert len(inner.entered) == 2 and gate.inside == 2  # three wait on the loop, not in Django
    inner.release.set()
    answers = await asyncio.gather(*tasks)
    assert [a["status"] for a in answers] == [200] * 5
    assert len(inner.entered) == 5 and gate.inside == 0


async def test_a_request_that_waits_too_long_is_refused_and_never_reaches_django() -> None:
    inner = Blocking()
    gate = DjangoGate(inner, limit=1, wait_seconds=0.05)
    first = asyncio.create_task(call(gate, "/api/v1/first/"))
    await wait_until(lambda: inner.entered)
    api = await call(gate, "/api/v1/events/x/holds/")
    page = await call(gate, "/events/x/")
    assert api["status"] == 503 and page["status"] == 503
    assert json.loads(api["body"])["error"] == "busy"
    assert api["headers"][b"content-type"] == b"application/json"
    assert int(api["headers"][b"retry-after"]) >= 1
    assert b"content-security-policy" in api["headers"]
    assert page["headers"][b"content-type"].startswith(b"text/html")
    assert b'http-equiv="refresh"' in page["body"] and b'lang="ca"' in page["body"]
    assert inner.entered == ["/api/v1/first/"] and gate.refused == 2
    inner.release.set()
    assert (await first)["status"] == 200


async def test_a_crashing_request_gives_its_slot_back() -> None:
    inner = Blocking()
    inner.fail_on = "/api/v1/crash/"
    gate = DjangoGate(inner, limit=1, wait_seconds=0.5)
    with pytest.raises(RuntimeError):
        await call(gate, "/api/v1/crash/")
    assert gate.inside == 0
    inner.release.set()
    assert (await call(gate, "/api/v1/next/"))["status"] == 200


async def test_a_waiter_that_goes_away_takes_no_slot() -> None:
    inner = Blocking()
    gate = DjangoGate(inner, limit=1, wait_seconds=30)
    first = asyncio.create_task(call(gate, "/api/v1/first/"))
    await wait_until(lambda: inner.entered)
    gone = asyncio.create_task(call(gate, "/api/v1/gone/"))  # a dropped connection: the server cancels it
    await asyncio.sleep(0.01)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    inner.release.set()
    await first
    assert gate.inside == 0
    assert (await call(gate, "/api/v1/after/"))["status"] == 200
    assert "/api/v1/gone/" not in inner.entered


async def test_off_and_not_http_pass_straight_through() -> None:
    inner = Blocking()
    inner.release.set()
    assert (await call(DjangoGate(inner, limit=0), "/api/v1/a/"))["status"] == 200
    gate = DjangoGate(inner, limit=1, wait_seconds=0.01)
    assert gate.slots is not None
    await gate.slots.acquire()  # full
    assert (await call(gate, "/api/v1/b/", kind="lifespan-like"))["status"] == 200
