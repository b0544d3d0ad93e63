"""Structured logs: the request id (X-Request-ID) on every line of a request
and of the Celery task it queued, in a real worker (docs/operations.md, "Logs")."""

from __future__ import annotations

import io
import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from payments.tests.helpers import hold, pay_order
from ticketing.logging_setup import json_formatter, tasks_from_requests_only
from ticketing.requestid import HEADER, fan_digest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Every log line of this process while the test runs, as the JSON
    formatter writes them (django-structlog's request lines included)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    quiet = logging.getLogger("django_structlog.middlewares")
    level, root_level = quiet.level, root.level
    quiet.setLevel(logging.INFO)
    root.setLevel(logging.INFO)
    root.addHandler(handler)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]

    try:
        yield lines
    finally:
        root.removeHandler(handler)
        quiet.setLevel(level)
        root.setLevel(root_level)


@pytest.mark.django_db
def test_a_request_id_is_made_and_returned(fan, small_event):  # type: ignore[no-untyped-def]
    first = fan.get(f"/api/v1/events/{small_event.slug}/")
    second = fan.get(f"/api/v1/events/{small_event.slug}/")
    assert len(first[HEADER]) == 32 and int(first[HEADER], 16) >= 0
    assert first[HEADER] != second[HEADER]
    # Errors too, pages too.
    assert Client().get("/no-such-page")[HEADER]
    assert Client().get(f"/events/{small_event.slug}/")[HEADER]


@pytest.mark.django_db
def test_an_incoming_request_id_is_kept_only_from_a_trusted_proxy(settings, small_event):  # type: ignore[no-untyped-def]
    url = f"/api/v1/events/{small_event.slug}/"
    mine = "lb-7f3a9c.42"
    # Straight from a client (the test client's peer is 127.0.0.1, not a trusted proxy).
    settings.TRUSTED_PROXIES = []
    assert Client().get(url, HTTP_X_REQUEST_ID=mine)[HEADER] != mine
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert Client().get(url, HTTP_X_REQUEST_ID=mine)[HEADER] != mine
    # From the proxy in front of us.
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]
    assert Client().get(url, HTTP_X_REQUEST_ID=mine)[HEADER] == mine
    # Even the proxy's must look like an id: nothing a client could use to write into our logs.
    for bad in ("", "a" * 129, "two words", 'x"}\n{"level":"error"', "é"):
        answer = Client().get(url, HTTP_X_REQUEST_ID=bad)[HEADER]
        assert answer != bad and len(answer) == 32


@pytest.mark.django_db
def test_every_line_of_a_request_carries_its_id_and_the_fan(settings, fan, small_event, json_lines):  # type: ignore[no-untyped-def]
    settings.STORE_ACCESS_CHECK = ""
    fan.get(f"/events/{small_event.slug}/")  # the fan gets an identity
    response = fan.post(f"/api/v1/events/{small_event.slug}/holds/", "{nope", content_type="application/json")
    assert response.status_code == 400
    request_id = response[HEADER]
    lines = [line for line in json_lines() if line.get("request_id") == request_id]
    finished = [line for line in lines if line["event"] == "request_finished"]
    assert len(finished) == 1
    assert finished[0]["code"] == 400 and finished[0]["level"] == "info"
    assert finished[0]["ip"] == "127.0.0.1"
    from inventory.identity import fan_id_from_cookies

    fan_id = fan_id_from_cookies({"fan_id": fan.cookies["fan_id"].value})
    assert fan_id and finished[0]["fan"] == fan_digest(fan_id)
    assert {"timestamp", "logger", "level"} <= set(finished[0])


def test_routine_task_lines_are_dropped_unless_a_request_queued_them() -> None:
    record = logging.LogRecord("django_structlog.celery.receivers", logging.INFO, "", 0, "", (), None)
    record.msg = {"event": "task_started"}  # type: ignore[assignment]
    assert not tasks_from_requests_only(record)
    record.msg = {"event": "task_started", "request_id": "abc"}  # type: ignore[assignment]
    assert tasks_from_requests_only(record)
    record.msg, record.levelno = {"event": "task_failed"}, logging.ERROR  # type: ignore[assignment]
    assert tasks_from_requests_only(record)


# --- into a Celery worker -------------------------------------------------------


def _database_url() -> str:
    params = connection.settings_dict
    return f"postgres://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"


@pytest.fixture
def worker(localstripe_url: str) -> Iterator[queue.Queue[dict[str, Any]]]:
    """A real Celery worker on the payments queue of this test's Redis key
    prefix, writing JSON logs; yields its log lines as they come."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"},
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "DATABASE_URL": _database_url(),
        "DB_POOL": "0",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "STRIPE_API_BASE": localstripe_url,
    }
    command = [sys.executable, "-m", "celery", "-A", "ticketing", "worker", "-Q", "payments", "-P", "solo"]
    command += ["--without-heartbeat", "--without-mingle", "--without-gossip", "-n", f"logs-{os.getpid()}@%h"]
    proc = subprocess.Popen(  # noqa: S603 - our own worker
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue[dict[str, Any]] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for text in proc.stdout:
            if text.startswith("{"):
                try:
                    lines.put(json.loads(text))
                except ValueError:
                    pass

    threading.Thread(target=read, daemon=True).start()
    try:
        yield lines
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_for(lines: queue.Queue[dict[str, Any]], match: Any, seconds: float = 60) -> list[dict[str, Any]]:
    """The worker's lines until one matches (or fail at the deadline)."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        if match(line):
            return seen
    pytest.fail(f"the worker never logged the line; it logged: {seen}")


@pytest.mark.django_db(transaction=True)
def test_the_task_a_request_queued_logs_the_requests_id(settings, localstripe_url, fan, json_lines, worker):  # type: ignore[no-untyped-def]
    from inventory.services.demo import seed_small
    from payments.models import Payment

    settings.STRIPE_API_BASE = localstripe_url
    settings.STORE_ACCESS_CHECK = ""
    seed_small()
    order = hold(fan, 1)
    # The pay request sells the order and queues the tickets e-mail on commit.
    order = pay_order(fan, order)
    assert order.status == "PAID"
    pay_lines = [
        line for line in json_lines() if line.get("event") == "request_finished" and "/pay/" in line["request"]
    ]
    request_id = pay_lines[-1]["request_id"]
    enqueued = [line for line in json_lines() if line.get("event") == "task_enqueued"]
    assert [line["request_id"] for line in enqueued] == [request_id]
    assert enqueued[0]["child_task_name"] == "payments.send_tickets_email"

    seen = _wait_for(
        worker, lambda line: line.get("event") == "task_succeeded" and line.get("request_id") == request_id
    )
    started = [line for line in seen if line.get("event") == "task_started"]
    assert started and started[-1]["request_id"] == request_id
    assert started[-1]["task"] == "payments.send_tickets_email"
    assert started[-1]["task_id"] == enqueued[0]["child_task_id"]
    assert started[-1]["fan"] == pay_lines[-1]["fan"]
    assert Payment.objects.get(order=order).tickets_sent_at is not None


# --- under ASGI (Daphne's path): the hooks run on the event loop ------------------------


@pytest.fixture
def keep_logging(monkeypatch):  # type: ignore[no-untyped-def]
    """get_asgi_application() runs django.setup(), which would apply LOGGING
    again and drop the capturing handler: Django is set up already."""
    import django.core.asgi

    monkeypatch.setattr(django.core.asgi.django, "setup", lambda set_prefix=True: None)


@pytest.mark.django_db
def test_under_asgi_the_request_is_counted_logged_and_answered_with_its_id(small_event, keep_logging, json_lines):  # type: ignore[no-untyped-def]
    from prometheus_client import REGISTRY

    from ticketing.tests import asgi

    def served() -> float:
        return REGISTRY.get_sample_value("django_http_responses_total_by_status_total", {"status": "200"}) or 0.0

    before = served()
    answer = asgi.request("GET", f"/api/v1/events/{small_event.slug}/")
    assert answer.status == 200
    request_id = answer.headers["x-request-id"]
    assert served() == before + 1
    finished = [line for line in json_lines() if line.get("event") == "request_finished"]
    assert [line["request_id"] for line in finished] == [request_id], json_lines()
    assert finished[0]["ip"] == "127.0.0.1" and "user_id" not in finished[0]


@pytest.mark.django_db
def test_under_asgi_a_promoters_request_names_the_user(promoter, promoter_client, keep_logging, json_lines):  # type: ignore[no-untyped-def]
    from ticketing.tests import asgi

    session = promoter_client.cookies["sessionid"].value
    answer = asgi.request("GET", "/admin/", headers=[(b"cookie", f"sessionid={session}".encode())])
    assert answer.status == 200
    finished = [line for line in json_lines() if line.get("event") == "request_finished"]
    assert finished[-1]["user_id"] == promoter.pk
    assert finished[-1]["request_id"] == answer.headers["x-request-id"]
