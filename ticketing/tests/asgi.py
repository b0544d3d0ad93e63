"""Drive the real ASGI application (ticketing.asgi) in-process, chunk by
chunk, as a server would: for what Django's test client cannot show (the
raw-ASGI layers in front of Django, bodies that arrive in pieces)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from django.core.signals import request_finished, request_started
from django.db import close_old_connections


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    messages: list[dict[str, Any]] = field(default_factory=list)
    cookies: list[str] = field(default_factory=list)

    def json(self) -> Any:
        import json

        return json.loads(self.body)


def request(
    method: str,
    path: str,
    *,
    chunks: list[bytes] | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    query: bytes = b"",
    scheme: str = "http",
) -> Answer:
    """One HTTP request through ticketing.asgi.application. Run from a sync
    test: Django's sync views then run on this thread, inside the test's
    database transaction."""
    from django.core.asgi import get_asgi_application

    from ticketing.asgi import http_app

    # A fresh Django handler: middleware reads settings when it is built, and
    # tests change settings.
    application = http_app(get_asgi_application())

    pieces = list(chunks or [b""])
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []

    async def run() -> None:
        queue: list[dict[str, Any]] = [
            {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1} for i, piece in enumerate(pieces)
        ]
        done = asyncio.Event()

        async def receive() -> dict[str, Any]:
            if queue:
                return queue.pop(0)
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        await application(scope, receive, send)

    # As Django's test client does: the test's transaction holds the
    # connection, so requests must not close it.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        async_to_sync(run)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    heads: dict[str, str] = {}
    cookies: list[str] = []
    for k, v in start["headers"]:
        name = k.decode().lower()
        if name == "set-cookie":
            cookies.append(v.decode("latin-1"))
        heads[name] = v.decode("latin-1")
    return Answer(start["status"], heads, body, sent, cookies)
