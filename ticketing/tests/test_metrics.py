"""/metrics: hidden behind METRICS_TOKEN (404 like any unknown address
otherwise), and the sale's figures move with the sale (docs/operations.md)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
import redis
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from inventory.services import holds
from inventory.tests.helpers import seat_ids
from queueroom import keys
from queueroom import redis_scripts as rs
from queueroom.management.commands import run_admitter
from ticketing import memo, metrics

pytestmark = pytest.mark.django_db

TOKEN = "test-metrics-token-0123456789"


@pytest.fixture(autouse=True)
def _metrics(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_DB_CACHE_SECONDS = 0  # figures read fresh; the sharing has its own test
    settings.STORE_ACCESS_CHECK = ""
    memo.clear_all()
    yield
    client = rs.client()
    found = list(client.scan_iter(match=f"{keys.prefix()}*", count=1000))
    if found:
        client.delete(*found)
    memo.clear_all()


def scrape(client: Client | None = None) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    figures = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            figures[sample.name, frozenset(sample.labels.items())] = sample.value
    return figures


def value(figures: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return figures.get((name, frozenset(labels.items())), 0.0)


# --- hidden ----------------------------------------------------------------------------


def page(content: bytes, path: bytes) -> bytes:
    """A 404 page without what differs by request: the CSRF token, the path."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", content).replace(path, b"/PATH")


def unknown_page() -> bytes:
    response = Client().get("/no-such-page-at-all")
    assert response.status_code == 404
    return page(response.content, b"/no-such-page-at-all")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer wrong-token"},
        {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}x"},
        {"HTTP_AUTHORIZATION": f"Basic {TOKEN}"},
        {"HTTP_AUTHORIZATION": TOKEN},
    ],
)
def test_without_the_token_metrics_is_a_plain_404(headers, small_event):  # type: ignore[no-untyped-def]
    response = Client().get("/metrics", **headers)
    assert response.status_code == 404
    assert page(response.content, b"/metrics") == unknown_page()
    assert "WWW-Authenticate" not in response


def test_with_no_token_configured_even_an_empty_bearer_gets_404(settings, small_event):  # type: ignore[no-untyped-def]
    settings.METRICS_TOKEN = ""
    for header in ("Bearer ", "Bearer", f"Bearer {TOKEN}"):
        assert Client().get("/metrics", HTTP_AUTHORIZATION=header).status_code == 404


def test_writing_to_metrics_is_a_404_too(small_event):  # type: ignore[no-untyped-def]
    response = Client().post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 404


# --- the figures ---------------------------------------------------------------------


def test_django_prometheus_metrics_are_exported(small_event):  # type: ignore[no-untyped-def]
    Client().get(f"/api/v1/events/{small_event.slug}/")
    figures = scrape()
    names = {name for name, _ in figures}
    assert "django_http_requests_total_by_method_total" in names
    # Not its database wrapper (off: docs/operations.md, "Metrics").
    assert not any(name.startswith("django_db_execute_total") for name in names)
    assert value(figures, "ticketing_metrics_source_up", source="queue") == 1
    assert value(figures, "ticketing_metrics_source_up", source="payments") == 1


def test_each_metric_is_described_once(small_event, future_event):  # type: ignore[no-untyped-def]
    """Prometheus refuses an exposition that names a metric twice."""
    metrics.register_collector("test_broken", lambda: 1 / 0)  # type: ignore[arg-type,return-value]
    try:
        for slug in (small_event.slug, future_event.slug):
            Client().post(f"/api/v1/events/{slug}/queue/", content_type="application/json")
        text = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    finally:
        metrics.unregister_collector("test_broken")
    helps = [line.split()[2] for line in text.splitlines() if line.startswith("# HELP ")]
    assert len(helps) == len(set(helps)), sorted(name for name in helps if helps.count(name) > 1)
    assert "ticketing_metrics_source_up" in helps


def test_a_join_shows_as_a_fan_waiting(small_event):  # type: ignore[no-untyped-def]
    from queueroom.models import Lane

    join = f"/api/v1/events/{small_event.slug}/queue/"
    assert Client().post(join, content_type="application/json").status_code in (200, 201)
    lane = Lane.objects.get(event=small_event, kind="GENERAL")
    labels = {"event": small_event.slug, "lane": str(lane.pk), "kind": "GENERAL"}
    before = scrape()
    assert value(before, "ticketing_queue_waiting", **labels) == 1
    assert Client().post(join, content_type="application/json").status_code in (200, 201)
    after = scrape()
    assert value(after, "ticketing_queue_waiting", **labels) == 2
    assert value(after, "ticketing_queue_paused", event=small_event.slug) == 0


def test_an_admitter_tick_counts_admissions_and_its_duration(monkeypatch, small_event):  # type: ignore[no-untyped-def]
    from queueroom.models import Lane

    # The test's transaction holds the connection the admitter would recycle.
    monkeypatch.setattr(run_admitter, "close_old_connections", lambda: None)

    from inventory.models import Event
    from queueroom import services

    Event.objects.filter(pk=small_event.pk).update(admission_rate_per_minute=6000, max_in_store=1000)
    services.forget_setup(small_event.pk)
    now = float(int(time.time()))
    # The first tick after the sale opened opens the lane; then fans join in arrival order.
    services.tick(event=small_event, now=now - 1)
    for _ in range(3):
        assert Client().post(
            f"/api/v1/events/{small_event.slug}/queue/", content_type="application/json"
        ).status_code in (200, 201)
    lane = Lane.objects.get(event=small_event, kind="GENERAL")
    before = scrape()
    labels = {"event": small_event.slug, "lane": str(lane.pk), "kind": "GENERAL"}
    docs = run_admitter._cycle("metrics-test", now)
    admitted = sum(lane_doc["admitted"] for doc in docs for lane_doc in doc["lanes"].values())
    assert admitted > 0
    after = scrape()
    assert (
        value(after, "ticketing_queue_admitted_total", **labels)
        == value(before, "ticketing_queue_admitted_total", **labels) + admitted
    )
    ticks = "ticketing_queue_tick_duration_seconds_count"
    assert value(after, ticks) == value(before, ticks) + 1
    assert value(after, "ticketing_queue_waiting", **labels) == 3 - admitted
    assert value(after, "ticketing_queue_offers", event=small_event.slug) == admitted
    assert 0 <= value(after, "ticketing_queue_last_tick_age_seconds", event=small_event.slug) < 60


def test_holds_refusals_and_a_sale_move_their_figures(small_event):  # type: ignore[no-untyped-def]
    slug = small_event.slug
    url = f"/api/v1/events/{slug}/holds/"
    ids = seat_ids(small_event, count=2)
    before = scrape()

    fan, other = Client(), Client()
    held = fan.post(url, json.dumps({"seat_ids": ids}), content_type="application/json")
    assert held.status_code == 201
    refused = other.post(url, json.dumps({"seat_ids": ids}), content_type="application/json")
    assert refused.status_code == 409
    code = refused.json()["error"]
    middle = scrape()
    created = {"event": slug, "outcome": "created", "status": "201"}
    taken = {"event": slug, "outcome": code, "status": "409"}
    assert value(middle, "ticketing_holds_total", **created) == value(before, "ticketing_holds_total", **created) + 1
    assert value(middle, "ticketing_holds_total", **taken) == value(before, "ticketing_holds_total", **taken) + 1
    assert value(middle, "ticketing_orders", event=slug, status="HELD") == 1
    assert value(middle, "ticketing_sold", event=slug) == 0

    order_id = held.json()["order_id"]
    owner = fan.cookies["fan_id"].value
    from inventory.identity import fan_id_from_cookies

    owner = fan_id_from_cookies({"fan_id": owner}) or ""
    holds.start_checkout(order_id=order_id, owner=owner)
    holds.sell_order(order_id=order_id)
    after = scrape()
    assert value(after, "ticketing_sold", event=slug) == 2
    assert value(after, "ticketing_inventory_places", event=slug, status="SOLD") == 2
    assert value(after, "ticketing_orders", event=slug, status="PAID") == 1
    assert value(after, "ticketing_orders", event=slug, status="HELD") == 0


def test_payments_by_outcome(small_event):  # type: ignore[no-untyped-def]
    from inventory.models import Order
    from payments.models import Payment, PaymentStatus

    fan = Client()
    held = fan.post(
        f"/api/v1/events/{small_event.slug}/holds/",
        json.dumps({"seat_ids": seat_ids(small_event, count=1)}),
        content_type="application/json",
    )
    order = Order.objects.get(pk=held.json()["order_id"])
    Payment.objects.create(
        order=order, attempt=1, amount=4550, currency="eur", status=PaymentStatus.FAILED, idempotency_key="m-1"
    )
    Payment.objects.create(
        order=order, attempt=2, amount=4550, currency="eur", status=PaymentStatus.PAID, idempotency_key="m-2"
    )
    figures = scrape()
    assert value(figures, "ticketing_payments", event=small_event.slug, status="FAILED") == 1
    assert value(figures, "ticketing_payments", event=small_event.slug, status="PAID") == 1
    assert value(figures, "ticketing_payments_amount", event=small_event.slug, status="PAID", currency="EUR") == 45.5


def test_the_database_figures_are_shared_for_a_few_seconds(settings, small_event):  # type: ignore[no-untyped-def]
    from django.core.cache import cache

    settings.METRICS_DB_CACHE_SECONDS = 30
    cache.delete_many(["metrics:rows:places", "metrics:rows:orders", "metrics:rows:payments"])
    try:
        first = scrape()
        assert value(first, "ticketing_orders", event=small_event.slug, status="HELD") == 0
        held = Client().post(
            f"/api/v1/events/{small_event.slug}/holds/",
            json.dumps({"seat_ids": seat_ids(small_event, count=1)}),
            content_type="application/json",
        )
        assert held.status_code == 201
        # Another process's scrape within the window reads the shared rows, not the database.
        assert value(scrape(), "ticketing_orders", event=small_event.slug, status="HELD") == 0
        cache.delete("metrics:rows:orders")
        assert value(scrape(), "ticketing_orders", event=small_event.slug, status="HELD") == 1
    finally:
        cache.delete_many(["metrics:rows:places", "metrics:rows:orders", "metrics:rows:payments"])


def test_apps_register_their_own_sources(small_event):  # type: ignore[no-untyped-def]
    from prometheus_client.core import GaugeMetricFamily

    metrics.register_collector("test_breaker", lambda: [GaugeMetricFamily("test_app_gauge", "test", value=1)])
    metrics.register_collector("test_broken", lambda: 1 / 0)  # type: ignore[arg-type,return-value]
    try:
        figures = scrape()
    finally:
        metrics.unregister_collector("test_breaker")
        metrics.unregister_collector("test_broken")
    assert value(figures, "test_app_gauge") == 1
    assert value(figures, "ticketing_metrics_source_up", source="test_breaker") == 1
    # A failing source is reported, and the rest of the scrape still answers.
    assert value(figures, "ticketing_metrics_source_up", source="test_broken") == 0
    assert value(figures, "ticketing_metrics_source_up", source="inventory") == 1


def test_counting_never_fails_and_backs_off_when_redis_is_down(settings, monkeypatch, small_event):  # type: ignore[no-untyped-def]
    class DownRedis:
        calls = 0

        def __call__(self) -> None:
            self.calls += 1
            raise redis.ConnectionError("refused")

        def cache_clear(self) -> None:
            pass

    down = DownRedis()
    settings.METRICS_BACKOFF_SECONDS = 60
    monkeypatch.setattr(metrics, "_client", down)
    monkeypatch.setattr(metrics, "_down_until", 0.0)
    metrics.incr("holds", event="x", outcome="created", status="201")  # no exception
    assert down.calls == 1
    for _ in range(100):
        metrics.incr("holds", event="x", outcome="created", status="201")
    assert down.calls == 1  # not tried again while backing off
