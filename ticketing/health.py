"""Liveness and readiness probes for load balancers and `make run`."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means not ready
        return f"{type(exc).__name__}: {exc}"
    return None


def check_redis() -> str | None:
    from django_redis import get_redis_connection

    try:
        get_redis_connection("default").ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def check_celery(timeout: float = 1.0) -> str | None:
    from ticketing.celery import app

    try:
        replies = app.control.ping(timeout=timeout)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    if not replies:
        return "no Celery worker answered a ping"
    return None


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"postgresql": check_database(), "redis": check_redis()}
    # Celery is pinged over Redis; no point asking when Redis is down.
    checks["celery"] = check_celery(settings.READYZ_CELERY_TIMEOUT) if checks["redis"] is None else "redis is down"
    failing = {name: error for name, error in checks.items() if error}
    body = {
        "status": "ok" if not failing else "unavailable",
        "checks": {name: ("ok" if not error else error) for name, error in checks.items()},
    }
    if failing:
        body["error"] = "not_ready"
        body["detail"] = "Not ready: " + ", ".join(sorted(failing))
    return JsonResponse(body, status=503 if failing else 200)
