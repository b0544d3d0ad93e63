"""At most so many requests inside Django at once, per server process.

Under ASGI, Django runs each request's sync code (middleware, views, the
ORM) in a thread of its own: Daphne or uvicorn accept as many requests as
arrive, and each starts a thread that asks the database pool for a
connection. Past DB_POOL_MAX of them the rest wait in the pool, each in its
own thread, and after the pool's timeout answer 500 with a traceback in the
log; the simulation of the on-sale (docs/simulation.md) found exactly that
under a surge, with the process spending its CPU on starting threads and
formatting tracebacks instead of selling.

`DjangoGate` sits in front of Django's handler (after the fast paths, which
never touch the database): a request waits for a slot on the event loop,
where waiting costs nothing, and answers 503 JSON with Retry-After if no slot
frees within HTTP_DJANGO_WAIT_SECONDS. HTTP_DJANGO_CONCURRENCY is the number
of slots (default: DB_POOL_MAX, so every request inside holds at most one of
the pool's connections without waiting for it); 0 turns the gate off.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.conf import settings

from ticketing.edge import security_headers
from ticketing.env import envfloat, envint
from ticketing.errors import json_error_body


def _limit() -> int:
    return envint("HTTP_DJANGO_CONCURRENCY", int(settings.DB_POOL_MAX), minimum=0)


class DjangoGate:
    def __init__(self, app: Any, *, limit: int | None = None, wait_seconds: float | None = None) -> None:
        self.app = app
        self.limit = _limit() if limit is None else limit
        self.wait = envfloat("HTTP_DJANGO_WAIT_SECONDS", 10.0, minimum=0.0) if wait_seconds is None else wait_seconds
        # Bound to the running loop at first use (the server's one loop).
        self.slots = asyncio.Semaphore(self.limit) if self.limit > 0 else None
        self.refused = 0

    @property
    def inside(self) -> int:
        """Requests inside Django now (for tests and the curious)."""
        return 0 if self.slots is None else self.limit - self.slots._value  # noqa: SLF001

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.slots is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        acquired = False
        try:
            async with asyncio.timeout(self.wait):
                await self.slots.acquire()
                acquired = True
        except TimeoutError:
            pass
        if not acquired:
            self.refused += 1
            await busy(scope, send, retry_after=max(1, round(self.wait / 2)))
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release()


BUSY_DETAIL = "The server is busy: try again in a moment; nothing was changed."
# A page, not JSON, for a fan's browser: in the fans' three languages, since
# no Django (and so no translation machinery) runs for this answer; it asks
# again by itself after Retry-After.
BUSY_PAGE = """<!doctype html><html lang="es"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{seconds}"><title>Un momento · Un moment · One moment</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem">
<h1>Un momento…</h1>
<p lang="es">Hay mucha gente a la vez. Esta página se recargará sola en unos segundos; no se ha cambiado nada.</p>
<p lang="ca">Hi ha molta gent alhora. Aquesta pàgina es tornarà a carregar sola d'aquí a uns segons; no s'ha canviat res.</p>
<p lang="en">Lots of people at once. This page reloads by itself in a few seconds; nothing was changed.</p>
</body></html>"""


async def busy(scope: dict[str, Any], send: Any, *, retry_after: int) -> None:
    if scope.get("path", "").startswith(("/api/", "/payments/")):
        body, ctype = json_error_body(503, "busy", BUSY_DETAIL), b"application/json"
    else:
        body, ctype = BUSY_PAGE.format(seconds=retry_after).encode(), b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", ctype),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after).encode()),
                (b"cache-control", b"no-store"),
                *security_headers(scope),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
