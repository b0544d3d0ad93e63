"""The sale's Prometheus metrics: a registry of collectors, counters kept in
Redis, and the token-guarded ``/metrics`` view.

Why Redis and scrape-time collectors rather than in-process counters: the
sale runs in several processes (Daphne, the admitter, Celery workers, on
several machines in production), and a Prometheus client counter lives in
one process's memory. prometheus_client's multiprocess mode shares files in
one directory, so it covers one machine only and needs that directory wiped
at every start. Instead:

* figures that already live somewhere are read at scrape time (gauges): the
  queue's state documents in Redis (waiting per lane, in store, offers, the
  measured admission rate) and PostgreSQL (inventory by status, orders,
  payments). Any web process answers the same numbers.
* events that leave no trace (an admitted place, a refused hold, a tick's
  duration) are counted in one Redis hash with ``HINCRBY``
  (``incr``/``observe``) and read back by the collector: true counters across
  processes and machines, surviving a process restart.

Counting must never cost a fan the sale: the metrics client has its own short
timeouts, and after a failure it stops writing for ``METRICS_BACKOFF_SECONDS``
(a lost count is better than a hold waiting on a hung Redis).

Registration point for other apps: ``register_collector(name, fn)`` at
``AppConfig.ready()``, where ``fn()`` returns prometheus_client metric
families (``GaugeMetricFamily`` ...). payments registers its PSP circuit
breaker (``psp_breaker_open``) and leaky bucket (``psp_bucket_wait_seconds``)
there; see docs/operations.md, "Metrics".
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache, wraps
from typing import Any, ParamSpec, TypeVar, cast

import redis
from django.conf import settings
from django.core.signals import setting_changed
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

NAMESPACE = "ticketing"
# The admitter's tick: a one-second loop, so anything near 1 s is trouble.
TICK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

P = ParamSpec("P")
R = TypeVar("R")
CollectorFn = Callable[[], Iterable[Metric]]
_collectors: dict[str, CollectorFn] = {}
_lock = threading.Lock()


# --- the registry ------------------------------------------------------------------


def register_collector(name: str, fn: CollectorFn) -> None:
    """Add (or replace, by name) a source of metric families read at every
    scrape. Call it from an AppConfig.ready(); ``fn`` must be quick and must
    not raise for an outage it can describe (export a 0/1 gauge instead): an
    exception drops that source from the scrape and is logged."""
    with _lock:
        _collectors[name] = fn


def unregister_collector(name: str) -> None:
    with _lock:
        _collectors.pop(name, None)


def registered() -> list[str]:
    with _lock:
        return sorted(_collectors)


class SaleCollector(Collector):
    """What prometheus_client asks at scrape time: every registered source."""

    def collect(self) -> Iterator[Metric]:
        with _lock:
            sources = list(_collectors.items())
        # One family for every source's flag: a name may appear once per exposition.
        up = GaugeMetricFamily(
            f"{NAMESPACE}_metrics_source_up", "1 when the source answered this scrape", labels=["source"]
        )
        for name, fn in sources:
            try:
                families = list(fn())
            except Exception:
                log.exception("metrics source %s failed", name)
                up.add_metric([name], 0.0)
                continue
            up.add_metric([name], 1.0)
            yield from families
        yield up

    def describe(self) -> Iterable[Metric]:
        # Nothing up front: registering must not read Redis or PostgreSQL.
        return []


_installed = False


def install() -> None:
    """Register the sale collector with the default registry once per process
    (django-prometheus' metrics are there already) and the built-in sources."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    from ticketing import sale_metrics

    register_collector("counters", counter_families)
    register_collector("queue", sale_metrics.queue_families)
    register_collector("inventory", sale_metrics.inventory_families)
    register_collector("payments", sale_metrics.payment_families)
    REGISTRY.register(SaleCollector())


# --- counters in Redis -----------------------------------------------------------


def counters_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:metrics:{{m}}:counters"


@cache
def _client() -> redis.Redis:
    timeout = settings.METRICS_REDIS_TIMEOUT
    return redis.Redis.from_url(
        settings.REDIS_URL, decode_responses=True, socket_connect_timeout=timeout, socket_timeout=timeout
    )


def _reset(**kwargs: Any) -> None:
    if kwargs.get("setting") in ("REDIS_URL", "METRICS_REDIS_TIMEOUT", None):
        _client.cache_clear()


setting_changed.connect(_reset, dispatch_uid="ticketing.metrics.reset")

_down_until = 0.0


def _field(kind: str, name: str, labels: Mapping[str, str]) -> str:
    return json.dumps([kind, name, sorted(labels.items())], separators=(",", ":"))


def _write(increments: list[tuple[str, float]]) -> None:
    """HINCRBYFLOAT each field in one round trip; never raises."""
    global _down_until
    if time.monotonic() < _down_until:
        return
    try:
        pipe = _client().pipeline(transaction=False)
        for field, amount in increments:
            pipe.hincrbyfloat(counters_key(), field, amount)
        pipe.execute()
    except redis.RedisError as exc:
        _down_until = time.monotonic() + settings.METRICS_BACKOFF_SECONDS
        log.warning(
            "metrics: not counted, redis unavailable (%s); retrying in %s s", exc, settings.METRICS_BACKOFF_SECONDS
        )


def incr(name: str, amount: float = 1, **labels: str) -> None:
    """Add to the cross-process counter ``ticketing_<name>_total{labels}``."""
    if amount:
        _write([(_field("c", name, labels), amount)])


def incr_many(items: Iterable[tuple[str, float, Mapping[str, str]]]) -> None:
    """Several counters in one round trip: (name, amount, labels)."""
    writes = [(_field("c", name, labels), amount) for name, amount, labels in items if amount]
    if writes:
        _write(writes)


def observe(name: str, value: float, buckets: tuple[float, ...] = TICK_BUCKETS) -> None:
    """One observation of the cross-process histogram ``ticketing_<name>``:
    cumulative buckets, count and sum, in one round trip."""
    writes = [(_field("h", name, {"le": str(b)}), 1.0) for b in buckets if value <= b]
    writes += [(_field("h", name, {"le": "+Inf"}), 1.0), (_field("s", name, {}), value)]
    _write(writes)


def count_outcomes(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a service taking ``event=``: each call adds 1 to
    ``ticketing_<name>_total{event, outcome, status}``, outcome "created"
    when it returns (a replayed idempotent answer, ``.replayed`` set, is
    "replayed") and the DomainError's code when it refuses (then re-raised)."""
    from ticketing.errors import DomainError

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            event = getattr(kwargs.get("event"), "slug", "")
            try:
                result = fn(*args, **kwargs)
            except DomainError as exc:
                incr(name, event=event, outcome=exc.code, status=str(exc.status))
                raise
            replayed = getattr(result, "replayed", None) is not None
            incr(name, event=event, outcome="replayed" if replayed else "created", status="200" if replayed else "201")
            return result

        return wrapper

    return decorate


def counter_families() -> Iterator[Metric]:
    """The Redis counters and histograms as metric families (one HGETALL)."""
    raw = cast(dict[str, str], _client().hgetall(counters_key()))
    counters: dict[str, list[tuple[dict[str, str], float]]] = {}
    buckets: dict[str, dict[str, float]] = {}
    sums: dict[str, float] = {}
    for field, value in raw.items():
        try:
            kind, name, pairs = json.loads(field)
            number = float(value)
        except (ValueError, TypeError):
            continue
        labels = {str(k): str(v) for k, v in pairs}
        if kind == "c":
            counters.setdefault(name, []).append((labels, number))
        elif kind == "h":
            buckets.setdefault(name, {})[labels["le"]] = number
        elif kind == "s":
            sums[name] = number
    for name, rows in sorted(counters.items()):
        keys = sorted({k for labels, _ in rows for k in labels})
        family = CounterMetricFamily(f"{NAMESPACE}_{name}", HELP.get(name, name), labels=keys)
        for labels, number in rows:
            family.add_metric([labels.get(k, "") for k in keys], number)
        yield family
    for name, by_le in sorted(buckets.items()):
        ordered = sorted(by_le.items(), key=lambda kv: float(kv[0]))
        family_h = HistogramMetricFamily(f"{NAMESPACE}_{name}", HELP.get(name, name))
        family_h.add_metric([], [(le, count) for le, count in ordered], sum_value=sums.get(name, 0.0))
        yield family_h


def counter_totals(name: str, by: str, **match: str) -> dict[str, float]:
    """The cross-process counter ``name`` summed by the label ``by``, over the
    fields whose labels include ``match`` (one HGETALL; for the sale
    dashboard, docs/dashboard.md). Raises redis.RedisError."""
    raw = cast(dict[str, str], _client().hgetall(counters_key()))
    out: dict[str, float] = {}
    for field, value in raw.items():
        try:
            kind, counter, pairs = json.loads(field)
            number = float(value)
        except (ValueError, TypeError):
            continue
        labels = {str(k): str(v) for k, v in pairs}
        if kind != "c" or counter != name or any(labels.get(k) != v for k, v in match.items()):
            continue
        key = labels.get(by, "")
        out[key] = out.get(key, 0.0) + number
    return out


HELP = {
    "queue_admitted": "Places offered a store slot by the admitter, per event and lane",
    "queue_tick_duration_seconds": "Wall time of one admission cycle of the leading admitter (all events)",
    "holds": "Hold attempts that reached the hold service, by outcome (created, or the refusal code) and HTTP status",
}


# --- the endpoint ------------------------------------------------------------------


def _authorised(request: HttpRequest) -> bool:
    token: str = settings.METRICS_TOKEN
    if not token:
        return False
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus' text format, for a bearer of METRICS_TOKEN only. Anyone
    else (no token, a wrong one, or no METRICS_TOKEN set) gets the site's
    ordinary 404, so the endpoint's existence is not revealed."""
    if request.method not in ("GET", "HEAD") or not _authorised(request):
        raise Http404
    install()
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
