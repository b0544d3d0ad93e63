"""Liveness and readiness probes for load balancers and `make run`.

Load balancers probe every node from many places at once, so a probe must
cost next to nothing and must never take what requests need. The readiness
checks (PostgreSQL, Redis) therefore run at most once per
READYZ_CACHE_SECONDS per process, one at a time, each on its own short-lived
connection with a timeout (never the request pool's, never held while
waiting on anything else); every other probe is answered from the last
result. Celery is not a readiness condition: a missing worker must not take
web nodes out of rotation, so its heartbeat (written by a beat-scheduled task
on a worker) is reported in the body as a warning instead.

The server answers /healthz and /readyz on the event loop (`ProbeApp`, in
front of everything in ticketing.asgi), without Django's thread hops; the
Django views serve the same answers to the test client and to anything that
mounts the Django app alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import psycopg
import redis
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ticketing.edge import security_headers

HEARTBEAT_KEY = "celery:heartbeat"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Readiness:
    checked_at: float
    checks: dict[str, str]
    warnings: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(result == "ok" for result in self.checks.values())

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok" if self.ready else "unavailable", "checks": dict(self.checks)}
        if self.warnings:
            body["warnings"] = dict(self.warnings)
        if not self.ready:
            failing = sorted(name for name, result in self.checks.items() if result != "ok")
            body["error"] = "not_ready"
            body["detail"] = "Not ready: " + ", ".join(failing)
        return body

    @property
    def status(self) -> int:
        return 200 if self.ready else 503


def _error(exc: BaseException) -> str:
    # Enough to act on, bounded: a driver's message can be long.
    return f"{type(exc).__name__}: {exc}"[:200]


def check_database(timeout: float) -> str:
    """SELECT 1 on a connection of its own, opened and closed here."""
    db = connections["default"].settings_dict
    try:
        with psycopg.connect(
            dbname=db["NAME"],
            user=db["USER"] or None,
            password=db["PASSWORD"] or None,
            host=db["HOST"] or None,
            port=db["PORT"] or None,
            connect_timeout=max(1, round(timeout)),
            options=f"-c statement_timeout={int(timeout * 1000)}",
            autocommit=True,
        ) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any driver error means not ready
        return _error(exc)
    return "ok"


@cache
def _redis(url: str, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_connect_timeout=timeout, socket_timeout=timeout, max_connections=2, retry_on_timeout=False
    )


def heartbeat_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:{HEARTBEAT_KEY}"


def check_redis(timeout: float) -> tuple[str, float | None]:
    """('ok', last Celery heartbeat or None), or the error."""
    try:
        pipe = _redis(settings.REDIS_URL, timeout).pipeline(transaction=False)
        pipe.ping()
        pipe.get(heartbeat_key())
        _, beat = pipe.execute()
    except Exception as exc:
        _redis.cache_clear()  # a fresh client next time, not a poisoned pool
        return _error(exc), None
    try:
        return "ok", float(beat) if beat else None
    except ValueError:
        return "ok", None


def celery_warning(last_beat: float | None, now: float) -> str | None:
    stale = settings.READYZ_CELERY_STALE_SECONDS
    if last_beat is None:
        return "no Celery heartbeat yet (is a worker and beat running?)"
    if now - last_beat > stale:
        return f"no Celery heartbeat for {int(now - last_beat)} s (worker or beat down?)"
    return None


def run_checks() -> Readiness:
    timeout = settings.READYZ_TIMEOUT
    database = check_database(timeout)
    redis_result, last_beat = check_redis(timeout)
    now = time.time()
    warnings = {}
    if redis_result == "ok" and (warning := celery_warning(last_beat, now)):
        warnings["celery"] = warning
    return Readiness(
        checked_at=time.monotonic(), checks={"postgresql": database, "redis": redis_result}, warnings=warnings
    )


class _Probe:
    """Single-flight, cached readiness for one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.last: Readiness | None = None

    def fresh(self) -> Readiness | None:
        last = self.last
        if last is not None and time.monotonic() - last.checked_at < settings.READYZ_CACHE_SECONDS:
            return last
        return None

    def report(self) -> Readiness:
        """The current result; runs the checks when it is stale and no other
        thread is running them (the others get the previous result at once)."""
        found = self.fresh()
        if found is not None:
            return found
        previous = self.last
        # With a previous answer nobody waits; the very first probes wait for
        # the one running check (bounded by its timeouts).
        if previous is None:
            got = self._lock.acquire(timeout=4 * settings.READYZ_TIMEOUT + 1)
        else:
            got = self._lock.acquire(blocking=False)
        if not got:
            return previous or Readiness(time.monotonic(), {"readiness": "check still running"})
        try:
            found = self.fresh()
            if found is None:
                found = self.last = run_checks()
            return found
        finally:
            self._lock.release()

    def clear(self) -> None:
        self.last = None


probe = _Probe()


@csrf_exempt
@require_http_methods(["GET", "HEAD"])
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@csrf_exempt
@require_http_methods(["GET", "HEAD"])
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    report = probe.report()
    response = JsonResponse(report.body(), status=report.status)
    if report.status == 503:
        response["Retry-After"] = "5"
    return response


# --- on the event loop --------------------------------------------------------

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_HEALTHZ = json.dumps({"status": "ok"}).encode()


class ProbeApp:
    """Answers GET/HEAD /healthz and /readyz before anything else runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or path not in ("/healthz", "/readyz"):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            body = json.dumps({"error": "method_not_allowed", "detail": "Probes answer GET and HEAD."}).encode()
            await self._answer(scope, send, 405, body, [(b"allow", b"GET, HEAD")])
            return
        if path == "/healthz":
            status, body = 200, _HEALTHZ
        else:
            report = probe.fresh()
            if report is None:
                try:
                    report = await asyncio.get_running_loop().run_in_executor(None, probe.report)
                except Exception as exc:  # a probe answers; it never becomes a 500
                    log.exception("readiness check failed")
                    report = Readiness(time.monotonic(), {"readiness": _error(exc)})
            status, body = report.status, json.dumps(report.body()).encode()
        # A load balancer retries an unready node after a few seconds.
        extra = [(b"retry-after", b"5")] if status == 503 else []
        await self._answer(scope, send, status, body, extra)

    async def _answer(
        self, scope: Scope, send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]
    ) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"max-age=0, no-cache, no-store, must-revalidate, private"),
                    *security_headers(scope),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
