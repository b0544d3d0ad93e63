"""Payments: (a) paid orders per second end to end with the PSP's bucket
opened wide, and (b) the PSP outflow the bucket lets through at its default
rate. Results: docs/performance.md, "Payments".

    python3 scripts/devstack.py exec python bench/payments.py [--seconds 60] [--orders 240] [--clients 4]

(a) ``--clients`` processes, each with its own fans (a Django test client per
fan, so every request runs the whole middleware stack, in-process), buy one
standing place each, ``--orders`` in all: hold → checkout (the PaymentIntent)
→ confirm at the PSP as Stripe.js would (``pm_card_visa``) → the signed
``payment_intent.succeeded`` webhook → the settle task (eager: inline) →
PAID with its ticket. The rate is orders that reached PAID over the wall
time from the start line to the last one. The PSP is a private localstripe,
fresh for the run: it slows as it stores objects (docs/payments.md), so the
number is as much localstripe's as ours.

(b) 2 processes × 4 threads call the PSP through the guarded provider (a
retrieve of one intent, task patience) as fast as the bucket lets them, for
``--seconds``; the outflow is the requests sent in the measured window,
per minute, against PSP_BUCKET_PER_MINUTE (default 500: within 5% passes).

It works in its own database (DATABASE_URL's name + "_bench_payments"),
dropped and rebuilt on every run, and its own Redis key prefix.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SLUG = "bench-payments"
PREFIX = f"bench-psp-{os.getpid()}"
WIDE_OPEN = 6_000_000  # per minute: 10 µs a request


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ticketing")
    parts = urlsplit(url)
    if parts.path.endswith("_bench_payments"):
        return url  # already switched (base_env)
    return parts._replace(path=f"{parts.path.rstrip('/')}_bench_payments").geturl()


def base_env(psp_url: str) -> None:
    """Settings every process of the bench shares (read by Django at setup)."""
    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ["DB_POOL"] = "0"
    os.environ["REDIS_KEY_PREFIX"] = PREFIX
    os.environ["STRIPE_API_BASE"] = psp_url
    os.environ["STRIPE_WEBHOOK_SECRET"] = "whsec_bench"  # noqa: S105 - a bench secret
    os.environ["STORE_ACCESS_CHECK"] = ""  # the store without the waiting room's pass
    os.environ["HOLD_RATE_LIMIT"] = ""
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"  # the webhook's settle task runs inline
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")


def django_setup() -> None:
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic for a bench

    django.setup()


def start_localstripe() -> tuple[subprocess.Popen[bytes], str]:
    from _common import free_port, wait_port

    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(ROOT / "scripts" / "localstripe_server.py"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port)
    return proc, f"http://127.0.0.1:{port}"


def prepare_database(places: int) -> None:
    from holds import recreate_database

    recreate_database(bench_database_url())
    django_setup()
    from django.core.management import call_command
    from django.utils import timezone

    from inventory.services.demo import SectionPlan, build_event, build_venue

    call_command("migrate", verbosity=0)
    plans = [SectionPlan("PISTA", "Pista", "Pista", "45.00", "4.50", capacity=places, map_x=300, map_y=200)]
    venue = build_venue("sala-bench-payments", {"name": "Sala Bench", "city": "Madrid"}, plans)
    now = timezone.now()
    build_event(
        venue=venue,
        plans=plans,
        slug=SLUG,
        name="Bench payments",
        starts_at=now + dt.timedelta(days=60),
        presale_opens_at=None,
        sale_opens_at=now - dt.timedelta(minutes=1),
    )


def forget_redis_keys() -> None:
    from payments.bucket import redis_client

    client = redis_client()
    found = list(client.scan_iter(match=f"{PREFIX}*", count=1000))
    for i in range(0, len(found), 500):
        client.delete(*found[i : i + 500])


def collect(results: Any, procs: list[Any], *, timeout: float) -> list[Any]:
    """One result per process; fails at once when one of them died."""
    import queue

    got: list[Any] = []
    deadline = time.time() + timeout
    while len(got) < len(procs):
        try:
            got.append(results.get(timeout=1))
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead or time.time() > deadline:
                raise SystemExit(f"a bench process failed (exit codes {dead}) or timed out") from None
    return got


# --- (a) paid orders per second ------------------------------------------------


def signed(payload: bytes, secret: str) -> str:
    import hashlib
    import hmac

    stamp = int(time.time())
    signature = hmac.new(secret.encode(), b"%d.%s" % (stamp, payload), hashlib.sha256).hexdigest()
    return f"t={stamp},v1={signature}"


def buy_one(n: int) -> dict[str, float]:
    """One fan's purchase; returns each step's seconds."""
    from django.conf import settings
    from django.test import Client

    from payments.providers.stripe import stripe_provider

    fan = Client(HTTP_HOST="127.0.0.1")  # an allowed host
    steps: dict[str, float] = {}
    t = time.perf_counter()
    held = fan.post(
        f"/api/v1/events/{SLUG}/holds/", {"section": "PISTA", "quantity": 1}, content_type="application/json"
    )
    assert held.status_code == 201, held.content
    order_id = held.json()["order_id"]
    steps["hold"] = time.perf_counter() - t
    t = time.perf_counter()
    checkout = fan.post(f"/api/v1/orders/{order_id}/checkout/", {}, content_type="application/json")
    assert checkout.status_code == 200, checkout.content
    intent_id = checkout.json()["payment"]["client_secret"].split("_secret_")[0]
    steps["checkout"] = time.perf_counter() - t
    t = time.perf_counter()
    # Stripe.js confirms from the fan's browser: not through our bucket.
    stripe_provider().confirm(intent_id=intent_id, payment_method="pm_card_visa")
    steps["confirm (browser)"] = time.perf_counter() - t
    t = time.perf_counter()
    payload = json.dumps(
        {
            "id": f"evt_bench_{os.getpid()}_{n}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": intent_id, "object": "payment_intent"}},
        }
    ).encode()
    hook = fan.post(
        "/payments/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signed(payload, settings.STRIPE_WEBHOOK_SECRET),
    )
    assert hook.status_code == 200, hook.content
    steps["webhook + settle"] = time.perf_counter() - t
    shown = fan.get(f"/api/v1/orders/{order_id}/").json()
    assert shown["status"] == "PAID", shown
    return steps


def buyer(count: int, start: Any, results: Any) -> None:
    django_setup()
    buy_one(-1 - os.getpid())  # warm: imports, connections (not counted)
    start.wait()
    rows = []
    for n in range(count):
        steps = buy_one(n)
        rows.append({**steps, "done": time.time()})
    results.put(rows)


def paid_orders_per_second(orders: int, clients: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(clients + 1)
    results = ctx.Queue()
    per = orders // clients
    procs = [ctx.Process(target=buyer, args=(per, start, results)) for _ in range(clients)]
    for p in procs:
        p.start()
    start.wait()
    t0 = time.time()
    rows = [row for rows in collect(results, procs, timeout=900) for row in rows]
    for p in procs:
        p.join(30)
    done = sorted(row["done"] - t0 for row in rows)
    elapsed = done[-1]
    half = len(done) // 2
    steps = [k for k in rows[0] if k != "done"]
    return {
        "orders": len(rows),
        "seconds": elapsed,
        "per_second": len(rows) / elapsed,
        # localstripe slows as it stores objects: the first half's rate is the fairer figure of ours.
        "first_half_per_second": half / done[half - 1],
        "step_ms": {k: 1000 * statistics.median(row[k] for row in rows) for k in steps},
        "order_p95_ms": 1000 * sorted(sum(row[k] for k in steps) for row in rows)[int(len(rows) * 0.95) - 1],
    }


# --- (b) the outflow at the default rate ---------------------------------------


def caller(seconds: float, intent_id: str, start: Any, results: Any) -> None:
    django_setup()
    from django.conf import settings

    from payments import bucket
    from payments.providers import ProviderError, get_provider

    provider = get_provider()
    sent: list[float] = []
    lock = threading.Lock()
    start.wait()
    stop_at = time.time() + seconds

    def loop() -> None:
        with bucket.waiting_up_to(settings.PSP_BUCKET_TASK_MAX_WAIT_SECONDS):
            while time.time() < stop_at:
                try:
                    got = bucket.acquire(cost=1)
                except ProviderError:
                    continue
                at = time.time()
                if at >= stop_at:
                    return
                # The request the slot was for, sent unmetered now that it has its slot.
                try:
                    provider.inner.retrieve(intent_id=intent_id)
                except ProviderError:
                    pass
                with lock:
                    sent.append(at if got is not None else -at)

    threads = [threading.Thread(target=loop) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put(sent)


def outflow(seconds: float) -> dict[str, Any]:
    from django.conf import settings

    from payments.providers.stripe import stripe_provider

    intent = stripe_provider().create_intent(amount=100, currency="eur", idempotency_key="bench-outflow", metadata={})
    forget_redis_keys()
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(3)
    results = ctx.Queue()
    procs = [ctx.Process(target=caller, args=(seconds, intent.id, start, results)) for _ in range(2)]
    for p in procs:
        p.start()
    start.wait()
    t0 = time.time()
    sent = sorted(s for got in collect(results, procs, timeout=seconds + 120) for s in got)
    for p in procs:
        p.join(30)
    unmetered = sum(1 for s in sent if s < 0)
    sent = [abs(s) for s in sent]
    # The first second is the start (a burst can never happen: the first slot is now).
    window = [s for s in sent if t0 + 1 <= s < t0 + seconds]
    span = seconds - 1
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    rate = settings.PSP_BUCKET_PER_MINUTE
    per_minute = len(window) / span * 60
    return {
        "rate": rate,
        "seconds": seconds,
        "requests": len(sent),
        "per_minute": per_minute,
        "deviation_pct": 100 * (per_minute - rate) / rate,
        "gap_ms_min": 1000 * min(gaps) if gaps else 0,
        "gap_ms_median": 1000 * statistics.median(gaps) if gaps else 0,
        "unmetered": unmetered,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of the outflow run (default 60)")
    parser.add_argument("--orders", type=int, default=240, help="orders to pay in (a) (default 240)")
    parser.add_argument("--clients", type=int, default=4, help="buyer processes in (a) (default 4)")
    args = parser.parse_args()

    psp, psp_url = start_localstripe()
    try:
        base_env(psp_url)
        print(f"bench database: {urlsplit(bench_database_url()).path.lstrip('/')} (dropped and rebuilt)", flush=True)
        prepare_database(places=args.orders + args.clients + 10)
        forget_redis_keys()

        configured = os.environ.get("PSP_BUCKET_PER_MINUTE")
        os.environ["PSP_BUCKET_PER_MINUTE"] = str(WIDE_OPEN)
        paid = paid_orders_per_second(args.orders, args.clients)
        print(
            f"(a) paid orders end to end, bucket wide open, {args.clients} client processes, fresh localstripe:\n"
            f"    {paid['orders']} orders PAID in {paid['seconds']:.1f} s = {paid['per_second']:.1f} orders/s "
            f"(first half {paid['first_half_per_second']:.1f}/s; order p95 {paid['order_p95_ms']:.0f} ms)\n"
            "    median per step: " + ", ".join(f"{k} {v:.0f} ms" for k, v in paid["step_ms"].items()),
            flush=True,
        )

        # Back to the default (or the environment's) for (b).
        os.environ.pop("PSP_BUCKET_PER_MINUTE")
        if configured is not None:
            os.environ["PSP_BUCKET_PER_MINUTE"] = configured
        out = outflow(args.seconds)
        ok = abs(out["deviation_pct"]) <= 5
        print(
            f"(b) PSP outflow, bucket at {out['rate']}/min, 2 processes x 4 threads, {out['seconds']:.0f} s:\n"
            f"    {out['per_minute']:.1f} requests/min measured ({out['deviation_pct']:+.2f}%, "
            f"{'within' if ok else 'OUTSIDE'} 5%); gaps between requests: min {out['gap_ms_min']:.1f} ms, "
            f"median {out['gap_ms_median']:.1f} ms (the bucket's interval: {60_000 / out['rate']:.1f} ms)"
            + (f"; {out['unmetered']} unmetered (Redis did not answer)" if out["unmetered"] else ""),
            flush=True,
        )
        forget_redis_keys()
        return 0 if ok else 1
    finally:
        psp.terminate()
        psp.wait(10)


if __name__ == "__main__":
    sys.exit(main())
