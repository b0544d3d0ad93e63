"""The live sale dashboard (inventory/dashboard.py, queueroom/dashboard.py,
payments/dashboard.py; docs/dashboard.md): who sees the figures and who the
controls, the figures the page polls after real queue state, holds and
sales, each control with its audit entry, the groups, the last hour's
charts, and a presale lane the promoter closed."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from inventory import dashboard
from inventory.models import Event, InventoryItem, ItemStatus, Order, OrderStatus
from inventory.tests.helpers import ensure_dashboard_groups, seat_ids
from queueroom import services
from queueroom.models import Lane, QueueConfig
from ticketing import metrics
from ticketing.tests.words import shown

pytestmark = pytest.mark.django_db

HOLDS = "/api/v1/events/demo-small/holds/"


def page_url(event: Event) -> str:
    return f"/admin/inventory/event/{event.pk}/dashboard/"


def figures_url(event: Event) -> str:
    return f"/admin/inventory/event/{event.pk}/dashboard/figures/"


def control_url(event: Event) -> str:
    return f"/admin/inventory/event/{event.pk}/dashboard/control/"


@pytest.fixture(autouse=True)
def _fresh_figures(settings, small_event) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.DASHBOARD_DB_CACHE_SECONDS = 0
    settings.STORE_ACCESS_CHECK = ""  # holds straight through the API; the door has its own tests
    client = dashboard._client()
    client.delete(dashboard.history_key(small_event.pk), metrics.counters_key())
    yield
    client.delete(dashboard.history_key(small_event.pk), metrics.counters_key())
    cache.clear()


@pytest.fixture
def groups(db) -> None:  # type: ignore[no-untyped-def]
    ensure_dashboard_groups()


def _user(django_user_model, name: str, group: str | None) -> Client:  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user(username=name, password=f"pw-{name}-12345", is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def promoter_group_client(django_user_model, groups) -> Client:  # type: ignore[no-untyped-def]
    return _user(django_user_model, "watcher", "promoter")


@pytest.fixture
def operator_client(django_user_model, groups) -> Client:  # type: ignore[no-untyped-def]
    return _user(django_user_model, "steerer", "operator")


def _join(slug: str, code: str = "") -> None:
    body = json.dumps({"code": code}) if code else ""
    response = Client().post(f"/api/v1/events/{slug}/queue/", data=body, content_type="application/json")
    assert response.status_code == 201, response.content


def _control(client: Client, event: Event, action: str, **fields: Any) -> Any:
    return client.post(control_url(event), {"action": action, "confirmed": "yes", **fields})


# --- who sees what -------------------------------------------------------------------


def test_the_groups_exist_after_migrate_with_their_permissions(groups):
    # What the data migrations make (run again by the fixture: a transactional
    # test elsewhere in the run may have emptied the tables since migrate).
    def perms(name: str) -> set[str]:
        group = Group.objects.get(name=name)
        return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}

    promoter, operator = perms("promoter"), perms("operator")
    for seen in ("inventory.view_event", "inventory.view_order", "queueroom.view_lane", "payments.view_payment"):
        assert seen in promoter and seen in operator
    assert "queueroom.control_queue" in operator
    assert "queueroom.control_queue" not in promoter
    # Neither edits the event (its form would change the rate past the control) nor refunds.
    assert not {"inventory.change_event", "payments.refund_payment"} & (promoter | operator)


def test_a_superuser_sees_figures_and_controls(promoter_client, small_event):
    html = promoter_client.get(page_url(small_event)).content.decode()
    assert 'data-key="waiting"' in html and 'data-key="sold"' in html and 'data-key="psp_breaker"' in html
    assert 'value="queue.pause"' in html and 'value="queue.rate"' in html and 'value="queue.capacity"' in html
    assert '<script src="/static/queueroom/admin_live.js" defer></script>' in html
    assert f'data-url="{figures_url(small_event)}" data-every-ms="2000"' in html
    assert "<script>" not in html  # no inline script: the CSP allows none
    link = promoter_client.get(f"/admin/inventory/event/{small_event.pk}/change/").content.decode()
    assert page_url(small_event) in link


def test_a_promoter_sees_the_figures_but_no_controls(promoter_group_client, small_event):
    response = promoter_group_client.get(page_url(small_event))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-key="waiting"' in html and 'class="dash-venue"' in html and 'data-chart="queue"' in html
    assert 'name="action"' not in html and 'class="dash-control"' not in html
    assert "Can steer the sale from the dashboard" in html
    assert promoter_group_client.get(figures_url(small_event)).status_code == 200
    event_page = promoter_group_client.get(f"/admin/inventory/event/{small_event.pk}/change/")
    assert event_page.status_code == 200 and page_url(small_event) in event_page.content.decode()


def test_an_operator_sees_the_controls(operator_client, small_event):
    Lane.objects.create(event=small_event, name="Fan club", kind=Lane.Kind.PRIORITY)
    html = operator_client.get(page_url(small_event)).content.decode()
    assert 'value="queue.pause"' in html and 'value="queue.lane_close"' in html
    assert 'data-confirm="' in html


def test_staff_without_view_permission_get_403(django_user_model, small_event):
    clerk = _user(django_user_model, "clerk", None)
    assert clerk.get(page_url(small_event)).status_code == 403
    assert clerk.get(figures_url(small_event)).json()["error"] == "forbidden"


# --- the figures ---------------------------------------------------------------------


def test_the_figures_the_page_polls(promoter_client, small_event, fan):
    Event.objects.filter(pk=small_event.pk).update(max_in_store=2, admission_rate_per_minute=120)
    small_event.refresh_from_db()
    services.forget_setup(small_event.pk)
    for _ in range(5):
        _join(small_event.slug)
    services.tick(event=small_event, now=time.time())  # 2 offered (the capacity), 3 wait
    # Holds: one of two seats by a fan (201), the same seats again by another (409).
    ids = seat_ids(small_event, "A", 2)
    assert fan.post(HOLDS, data=json.dumps({"seat_ids": ids}), content_type="application/json").status_code == 201
    again = Client().post(HOLDS, data=json.dumps({"seat_ids": ids}), content_type="application/json")
    assert again.status_code == 409
    # Sales: 10 standing places sold in one paid order of 250 €.
    order = Order.objects.create(
        event=small_event,
        owner="buyer",
        status=OrderStatus.PAID,
        total=Decimal("250.00"),
        ticket_count=10,
        paid_at=timezone.now(),
    )
    sold = list(
        InventoryItem.objects.filter(event=small_event, section__code="PISTA").values_list("pk", flat=True)[:10]
    )
    InventoryItem.objects.filter(pk__in=sold).update(
        status=ItemStatus.SOLD, order=order, sold_to="buyer", sold_at=timezone.now()
    )
    metrics.incr("queue_admitted", 4, event=small_event.slug, lane="1", kind="GENERAL")

    response = promoter_client.get(figures_url(small_event))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    data = response.json()
    queue, inventory, payments = data["figures"]["queue"], data["figures"]["inventory"], data["figures"]["payments"]
    assert queue["waiting"] == 3 and queue["in_store"] + queue["offers"] == 2
    assert queue["lanes"][0]["waiting"] == 3 and queue["lanes"][0]["kind"] == "GENERAL"
    assert queue["rate_per_minute"] == 120 and queue["max_in_store"] == 2 and queue["paused"] is False
    assert queue["admitted_total"] == 4 and queue["conversion"] == 0.25  # 1 paid order / 4 let in
    assert inventory["capacity"] == 90 and inventory["sold"] == 10 and inventory["held"] == 2
    assert inventory["revenue"] == "250.00" and inventory["orders_paid"] == 1 and inventory["holds_open"] == 1
    assert inventory["hold_attempts"] == {"all": 2.0, "refused": 1.0, "errors": 0.0}
    assert inventory["error_rate"] == 0.0
    pista = next(s for s in inventory["sections"] if s["code"] == "PISTA")
    seats = next(s for s in inventory["sections"] if s["code"] == "A")
    assert (pista["capacity"], pista["sold"], pista["held"]) == (40, 10, 0)
    assert (seats["capacity"], seats["sold"], seats["held"]) == (50, 0, 2)
    assert payments["breaker"] == "closed" and payments["bucket_seconds"] == 0
    assert data["stale"] is False
    # And the HTML the page swaps in says the same in words, the venue coloured by fullness.
    html = data["html"]
    assert re.search(r'data-key="waiting">.*?<strong class="dash-value">3</strong>', html)
    assert '<g class="dv-section" data-code="PISTA" data-share="0.25">' in html
    assert '<g class="dv-section" data-code="A" data-share="0.04">' in html


def test_a_redis_outage_of_one_source_leaves_the_others(promoter_client, small_event, monkeypatch):
    def down(event_id: int) -> None:
        raise services.QueueError("Redis is down", code="unavailable", status=503)

    monkeypatch.setattr(services, "state_document", down)
    data = promoter_client.get(figures_url(small_event)).json()
    assert data["figures"]["queue"] == {"unavailable": True} and data["stale"] is True
    assert data["figures"]["inventory"]["capacity"] == 90


# --- the controls ---------------------------------------------------------------------


def _log(event: Event) -> list[tuple[str, str]]:
    return [
        (entry.user.username, entry.change_message)
        for entry in LogEntry.objects.filter(object_id=str(event.pk)).order_by("pk")
    ]


def test_each_control_changes_the_queue_and_is_audited(operator_client, small_event):
    lane = Lane.objects.create(event=small_event, name="Fan club", kind=Lane.Kind.PRIORITY)

    response = _control(operator_client, small_event, "queue.pause")
    assert response.status_code == 302 and response["Location"] == page_url(small_event)
    assert QueueConfig.objects.get(event=small_event).paused is True
    assert services.plan_tick(event=small_event).paused_reason == "organiser"

    _control(operator_client, small_event, "queue.resume")
    assert QueueConfig.objects.get(event=small_event).paused is False

    _control(operator_client, small_event, "queue.rate", value="450")
    _control(operator_client, small_event, "queue.capacity", value="77")
    small_event.refresh_from_db()
    assert (small_event.admission_rate_per_minute, small_event.max_in_store) == (450, 77)
    setup = services.load_setup(small_event)
    assert (setup.rate_per_minute, setup.max_in_store) == (450, 77)

    _control(operator_client, small_event, "queue.lane_close", lane=str(lane.pk))
    lane.refresh_from_db()
    assert lane.closed is True
    _control(operator_client, small_event, "queue.lane_open", lane=str(lane.pk))
    lane.refresh_from_db()
    small_event.refresh_from_db()
    assert lane.closed is False
    assert small_event.presale_opens_at is None  # its time had come: nothing else moved

    log = _log(small_event)
    assert [user for user, _ in log] == ["steerer"] * 6
    messages = [message for _, message in log]
    assert messages[0] == shown("Paused admissions.") and messages[1] == shown("Resumed admissions.")
    assert "450" in messages[2] and "77" in messages[3]
    assert "Fan club" in messages[4] and "Fan club" in messages[5]


def test_without_confirmation_the_server_asks_and_changes_nothing(operator_client, small_event):
    response = operator_client.post(control_url(small_event), {"action": "queue.rate", "value": "999"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="confirmed" value="yes"' in html and 'name="value" value="999"' in html
    small_event.refresh_from_db()
    assert small_event.admission_rate_per_minute != 999 and not _log(small_event)


def test_bad_input_is_refused_with_a_message_and_changes_nothing(operator_client, small_event):
    before = small_event.admission_rate_per_minute
    response = _control(operator_client, small_event, "queue.rate", value="0")
    assert response.status_code == 302
    small_event.refresh_from_db()
    assert small_event.admission_rate_per_minute == before and not _log(small_event)
    assert _control(operator_client, small_event, "queue.lane_close", lane="999999").status_code == 302
    assert _control(operator_client, small_event, "queue.nonsense").status_code == 400


def test_without_the_permission_a_control_is_403_and_nothing_changes(promoter_group_client, small_event):
    before = small_event.admission_rate_per_minute
    for action, fields in (("queue.pause", {}), ("queue.rate", {"value": "5"}), ("queue.capacity", {"value": "5"})):
        assert _control(promoter_group_client, small_event, action, **fields).status_code == 403
    small_event.refresh_from_db()
    assert small_event.admission_rate_per_minute == before
    assert not QueueConfig.objects.filter(event=small_event, paused=True).exists()
    assert not _log(small_event)
    assert Client().post(control_url(small_event), {"action": "queue.pause", "confirmed": "yes"}).status_code == 302
    assert not QueueConfig.objects.filter(event=small_event, paused=True).exists()


def test_a_closed_presale_lane_lets_nobody_in(small_event):
    lane = Lane.objects.create(event=small_event, name="Fan club", kind=Lane.Kind.PRIORITY)
    lane.codes.create(code="FANS", max_uses=10)
    Event.objects.filter(pk=small_event.pk).update(presale_opens_at=timezone.now() - dt.timedelta(minutes=5))
    small_event.refresh_from_db()
    services.forget_setup(small_event.pk)
    services.set_lane_closed(event=small_event, lane_id=lane.pk, closed=True)
    for _ in range(3):
        _join(small_event.slug, code="FANS")
    now = time.time()
    for i in range(3):
        doc = services.tick(event=small_event, now=now + i)
    assert doc is not None
    got = doc["lanes"][str(lane.pk)]
    assert got["closed"] is True and got["admitted"] == 0 and got["front"] == 0 and got["seq"] == 3

    services.set_lane_closed(event=small_event, lane_id=lane.pk, closed=False)
    admitted = 0
    for i in range(3, 6):
        doc = services.tick(event=small_event, now=now + i)
        assert doc is not None
        admitted += doc["lanes"][str(lane.pk)]["admitted"]
    assert admitted == 3


def test_opening_a_presale_lane_before_its_time_opens_the_presale_now(operator_client, future_event):
    lane = Lane.objects.create(event=future_event, name="Fan club", kind=Lane.Kind.PRIORITY, closed=True)
    _control(operator_client, future_event, "queue.lane_open", lane=str(lane.pk))
    future_event.refresh_from_db()
    assert future_event.presale_opens_at is not None and future_event.presale_opens_at <= timezone.now()
    assert Lane.objects.get(pk=lane.pk).closed is False
    assert services.load_setup(future_event).lane(lane.pk).opens_at <= time.time()  # type: ignore[union-attr]


# --- the last hour --------------------------------------------------------------------


def test_the_sampler_keeps_an_hour_and_the_charts_draw_it(promoter_client, small_event, settings):
    settings.DASHBOARD_SAMPLE_SECONDS = 60  # 61 samples make the hour
    now = time.time()
    for i in range(70):  # 70 minutes of samples: the first 9 fall out
        t = now - (69 - i) * 60
        dashboard.record(small_event.pk, t, {"waiting": float(100 + i), "in_store": 5.0, "admitted": float(i * 30)})
    samples = dashboard.history(small_event.pk, now=now)
    assert len(samples) in (60, 61) and samples[-1]["v"]["waiting"] == 169
    assert dashboard._client().llen(dashboard.history_key(small_event.pk)) == 61

    html = promoter_client.get(figures_url(small_event)).json()["html"]
    chart = re.search(r'<figure class="dash-chart" data-chart="queue">.*?</figure>', html, re.S)
    assert chart is not None and "<svg" in chart.group(0)
    assert re.search(r'data-series="waiting" data-points="6[01]"', chart.group(0))
    assert "169" in chart.group(0)  # the legend's last value
    admissions = re.search(r'<figure class="dash-chart" data-chart="admissions">.*?</figure>', html, re.S)
    assert admissions is not None and re.search(r'data-series="admitted" data-points="(59|60)"', admissions.group(0))
    assert "<strong>30</strong>" in admissions.group(0)  # 30 let in per minute


def test_the_beat_task_samples_every_event_on_sale(small_event, future_event):
    from inventory.tasks import sample_dashboards

    _join(small_event.slug)
    services.tick(event=small_event, now=time.time())
    assert sample_dashboards() == 1  # the future event opens in days: not sampled
    (sample,) = dashboard.history(small_event.pk)
    assert sample["v"]["waiting"] + sample["v"]["offers"] + sample["v"]["in_store"] == 1
    assert sample["v"]["sold"] == 0 and sample["v"]["bucket_seconds"] == 0
    assert django_settings.CELERY_BEAT_SCHEDULE["inventory-sample-dashboards"]["task"] == "inventory.sample_dashboards"
    dashboard._client().delete(dashboard.history_key(future_event.pk))


def test_the_psp_figures_are_in_metrics(settings):
    from prometheus_client.parser import text_string_to_metric_families

    settings.METRICS_TOKEN = "dash-token"
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer dash-token")
    names = {family.name: family for family in text_string_to_metric_families(response.content.decode())}
    assert names["psp_breaker_open"].samples[0].value == 0
    assert names["psp_bucket_wait_seconds"].samples[0].value == 0
    up = {s.labels["source"]: s.value for s in names["ticketing_metrics_source_up"].samples}
    assert up["psp"] == 1


@pytest.mark.parametrize("language", ["es", "ca"])
def test_numbers_read_by_the_browser_are_never_localized(promoter_client, small_event, language):
    now = time.time()
    for i in range(5):
        dashboard.record(small_event.pk, now - 40 + i * 10, {"waiting": 1234.5 + i, "revenue": 98765.25 * i})
    html = promoter_client.get(figures_url(small_event), HTTP_ACCEPT_LANGUAGE=language).json()["html"]
    number = r"-?\d+(\.\d+)?"
    for name, value in re.findall(r'\b(x|y|x1|x2|y1|y2|width|height|font-size|data-share)="([^"]*)"', html):
        assert re.fullmatch(number, value), (name, value)
    for points in re.findall(r'(?<![-\w])points="([^"]*)"', html):
        assert all(re.fullmatch(f"{number},{number}", pair) for pair in points.split()), points
    for box in re.findall(r'viewBox="([^"]*)"', html):
        assert all(re.fullmatch(number, part) for part in box.split()), box
    # while the legend's numbers are written as the language writes them (Spanish groups with a no-break space)
    assert re.search(r"<strong>1[.\xa0]?23[89]</strong>", html), re.findall(r"<strong>[^<]*", html)
