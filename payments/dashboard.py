"""The PSP on the sale dashboard (inventory/dashboard.py) and in /metrics
(ticketing/metrics.py), registered by PaymentsConfig.ready: the circuit
breaker's state and the leaky bucket's level, shared by every process in
Redis, and the event's payment attempts by outcome."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from prometheus_client.core import GaugeMetricFamily, Metric

from inventory import dashboard
from inventory.dashboard_render import human, percent
from inventory.models import Event
from payments import breaker, bucket
from payments.models import Payment, PaymentStatus


def psp_families() -> Iterator[Metric]:
    """psp_breaker_open and psp_bucket_wait_seconds, the names the alert
    rules use (ops/prometheus/alerts.yml). Raises RedisError: the scrape then
    reports ticketing_metrics_source_up{source="psp"} 0."""
    state = breaker.status()
    yield GaugeMetricFamily(
        "psp_breaker_open",
        "1 while the PSP circuit breaker is not closed (open or half-open)",
        value=float(state.state != breaker.CLOSED),
    )
    yield GaugeMetricFamily(
        "psp_bucket_wait_seconds",
        "How far ahead the PSP's leaky bucket is booked: how long a PSP call now waits for its slot",
        value=bucket.backlog_seconds(),
    )


def psp_figures(event: Event) -> dashboard.Figures:
    state = breaker.status()
    booked = bucket.backlog_seconds()
    by_status = dict(
        dashboard.shared_rows(
            "payments",
            event.pk,
            lambda: list(
                Payment.objects.filter(order__event_id=event.pk)
                .values_list("status")
                .annotate(n=Count("pk"))
                .order_by()
            ),
        )
    )
    attempts = sum(by_status.values())
    failed = by_status.get(PaymentStatus.FAILED, 0)
    data: dict[str, Any] = {
        "breaker": state.state,
        "breaker_failures": state.failures,
        "breaker_retry_after": state.retry_after,
        "bucket_seconds": round(booked, 2),
        "bucket_per_minute": settings.PSP_BUCKET_PER_MINUTE,
        "payments": by_status,
        "declined_share": round(failed / attempts, 4) if attempts else None,
    }
    closed = state.state == breaker.CLOSED
    words = {breaker.CLOSED: gettext("closed"), breaker.OPEN: gettext("OPEN"), breaker.HALF_OPEN: gettext("half-open")}
    tiles = [
        dashboard.Tile(
            "psp_breaker",
            gettext("PSP breaker"),
            words.get(state.state, state.state),
            gettext("%(failures)s failures in a row") % {"failures": state.failures}
            if closed
            else gettext("admission paused; next trial in %(seconds)s s") % {"seconds": state.retry_after},
            tone="ok" if closed else "bad",
        ),
        dashboard.Tile(
            "psp_bucket",
            gettext("PSP bucket"),
            f"{human(booked, 1)} s",
            gettext("booked ahead at %(rate)s calls/min") % {"rate": human(settings.PSP_BUCKET_PER_MINUTE)}
            + (
                ""
                if data["declined_share"] is None
                else "; " + gettext("%(share)s declined") % {"share": percent(data["declined_share"])}
            ),
            tone="" if booked < 2 else ("warn" if booked < 5 else "bad"),
        ),
    ]
    series = {
        "breaker_open": float(not closed),
        "bucket_seconds": round(booked, 2),
        "payments_failed": float(failed),
        "payments_paid": float(by_status.get(PaymentStatus.PAID, 0)),
    }
    return dashboard.Figures(data=data, tiles=tiles, series=series)


def register() -> None:
    from ticketing import metrics

    metrics.register_collector("psp", psp_families)
    dashboard.register_figures("payments", psp_figures, order=30)
    dashboard.register_chart(
        dashboard.Chart(
            "psp",
            _("Payments bucket (seconds booked ahead)"),
            (dashboard.Line("bucket_seconds", _("booked ahead"), "#e76f51"),),
            order=60,
        )
    )
