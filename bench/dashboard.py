"""What the sale dashboard costs (docs/dashboard.md, "What it costs"): one
Movistar Arena event of the LUX Tour (17,500 places, 2,000 of them sold or
held), a full hour of history, then the median of several runs of:

* a snapshot with the PostgreSQL counts computed (cold) and shared from the
  cache (warm: every other poll within DASHBOARD_DB_CACHE_SECONDS),
* the body the page swaps in (six SVG charts over 361 samples), and its size,
* one sample of the beat task, and the history's memory in Redis.

Its own database (DATABASE_URL's name + "_bench_dash", dropped and rebuilt)
and key prefix, so it never touches the development data. Prints numbers;
asserts nothing about speed.

    python3 scripts/devstack.py exec python bench/dashboard.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

RUNS = 7


def median_ms(fn: Callable[[], object], before: Callable[[], object] | None = None) -> float:
    times = []
    for _ in range(RUNS):
        if before:
            before()
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def main() -> None:
    from holds import recreate_database

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ticketing")
    parts = urlsplit(url)
    url = parts._replace(path=f"{parts.path.rstrip('/')}_bench_dash").geturl()
    print(f"bench database: {urlsplit(url).path.lstrip('/')} (dropped and rebuilt)", flush=True)
    recreate_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ["REDIS_KEY_PREFIX"] = "bench-dash"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)

    import datetime as dt

    from django.conf import settings
    from django.core.cache import cache
    from django.utils import timezone, translation

    from inventory import dashboard, dashboard_render
    from inventory.models import InventoryItem, ItemStatus, Order, OrderStatus
    from inventory.services.demo import MOVISTAR, TOUR, build_event, build_venue

    translation.activate("es")
    now = timezone.now()
    venue = build_venue("movistar-arena", TOUR["movistar-arena"][0], MOVISTAR)
    event, places = build_event(
        venue=venue,
        plans=MOVISTAR,
        slug="bench-dash",
        name="Bench dashboard",
        starts_at=now + dt.timedelta(days=30),
        presale_opens_at=None,
        sale_opens_at=now - dt.timedelta(minutes=30),
    )
    order = Order.objects.create(event=event, owner="bench", status=OrderStatus.PAID, total=1, paid_at=now)
    sold = list(InventoryItem.objects.filter(event=event).values_list("pk", flat=True)[::9][:2000])
    InventoryItem.objects.filter(pk__in=sold).update(status=ItemStatus.SOLD, order=order, sold_to="bench", sold_at=now)
    print(f"event: {places} places, {len(sold)} sold")

    client = dashboard._client()
    client.delete(dashboard.history_key(event.pk))
    t0 = time.time()
    names = ["waiting", "in_store", "offers", "rate_set", "admitted", "sold", "held", "revenue", "hold_attempts"]
    names += ["hold_refusals", "hold_errors", "orders_made", "orders_paid", "breaker_open", "bucket_seconds"]
    names += ["payments_failed", "payments_paid"]
    for i in range(dashboard.history_length()):
        dashboard.record(event.pk, t0 - 3600 + i * 10, {n: float(i * 37 + j) for j, n in enumerate(names)})
    memory = client.memory_usage(dashboard.history_key(event.pk))
    print(f"history: {client.llen(dashboard.history_key(event.pk))} samples, {memory} bytes in Redis")

    settings.DASHBOARD_DB_CACHE_SECONDS = 2
    cold = median_ms(lambda: dashboard.snapshot(event), before=cache.clear)
    shot = dashboard.snapshot(event)
    warm = median_ms(lambda: dashboard.snapshot(event))
    body = dashboard_render.body_html(event, shot)
    render = median_ms(lambda: dashboard_render.body_html(event, shot))
    sample = median_ms(dashboard.sample_all, before=cache.clear)
    print(f"snapshot, counts computed: {cold} ms (median of {RUNS})")
    print(f"snapshot, counts shared from the cache: {warm} ms")
    print(f"body with six charts: {render} ms, {len(body.encode())} bytes")
    print(f"one beat sample (every event on sale, counts computed): {sample} ms")
    client.delete(dashboard.history_key(event.pk))


if __name__ == "__main__":
    main()
