"""Readiness probes during a hold load test: holds/s through HTTP with and
without PROBERS threads calling /readyz (and /healthz) as fast as they can,
the probes' latency, and whether every endpoint still answers afterwards.
Issue 8: "30-100 concurrent readiness probes during a hold load test leave
every endpoint answering normally". Results: docs/performance.md.

    python3 scripts/devstack.py exec python bench/readiness_storm.py [--probers 60] [--seconds 10]

One Daphne process (the default server) with its database pool, in its own
database (DATABASE_URL's name + "_probes", dropped and rebuilt), no Celery
worker anywhere (the case that used to take the process down).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import signal
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

import holds  # noqa: E402  (the hold bench's database, events and HTTP clients)


def probe_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ticketing")
    parts = urlsplit(url)
    return parts._replace(path=f"{parts.path.rstrip('/')}_probes").geturl()


def start_daphne(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "DB_POOL": "1", "LOG_LEVEL": "WARNING", "STORE_ACCESS_CHECK": ""}
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "-v",
            "0",
            "ticketing.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status, _ = get(port, "/healthz", timeout=1)
            if status == 200:
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("daphne exited during start-up") from None
            time.sleep(0.2)
    raise SystemExit("daphne did not start in 30 s")


def get(port: int, path: str, *, timeout: float = 10) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def probers(port: int, threads: int, interval: float, stop: Any, out: Any) -> None:
    """A process of ``threads`` load-balancer probes, each on its own keep-alive connection."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()

    def probe(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        path = "/readyz" if i % 4 else "/healthz"
        mine: list[float] = []
        seen: dict[str, int] = {}
        while not stop.is_set():
            started = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                key = str(response.status)
            except (OSError, http.client.HTTPException) as exc:
                key = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            mine.append(time.perf_counter() - started)
            seen[key] = seen.get(key, 0) + 1
            if interval:
                stop.wait(interval)
        with lock:
            latencies.extend(mine)
            for key, count in seen.items():
                statuses[key] = statuses.get(key, 0) + count

    pool = [threading.Thread(target=probe, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    out.put({"latencies": latencies, "statuses": statuses})


def hold_phase(slug: str, port: int, clients: int, seconds: float) -> dict[str, Any]:
    from django.db import connections

    pairs = holds.adjacent_pairs(slug)
    sections = holds.seated_sections(slug)
    connections.close_all()
    return holds.run_phase(
        holds.http_client,
        lambda i, b: (i, "best", slug, seconds, pairs, sections, b, port),
        clients,
        slug,
        pairs,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probers", type=int, default=60, help="concurrent probe threads")
    parser.add_argument("--clients", type=int, default=8, help="hold clients")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--interval", type=float, default=0.0, help="each prober's pause between probes (0: as fast as it can)"
    )
    opts = parser.parse_args()

    url = probe_database_url()
    print(f"bench database: {urlsplit(url).path.lstrip('/')} (dropped and rebuilt)", flush=True)
    holds.recreate_database(url)
    holds.setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    slugs = holds.build_events(2)
    port = holds.free_port()
    server = start_daphne(url, port)
    rows = []
    failed = False
    try:
        for slug, storm in zip(slugs, (False, True), strict=True):
            ctx = mp.get_context("fork")
            stop, out = ctx.Event(), ctx.Queue()
            storm_proc = (
                ctx.Process(target=probers, args=(port, opts.probers, opts.interval, stop, out)) if storm else None
            )
            if storm_proc:
                storm_proc.start()
            totals = hold_phase(slug, port, opts.clients, opts.seconds)
            probes: dict[str, Any] = {}
            if storm_proc:
                stop.set()
                probes = out.get(timeout=60)
                storm_proc.join(30)
            after = {path: get(port, path)[0] for path in ("/api/v1/events/", f"/api/v1/events/{slug}/", "/readyz")}
            rows.append((storm, totals, probes, after))
            call_command("check_inventory", slug, verbosity=0)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)

    print()
    print(
        f"{'probers':>8}{'holds/s':>9}{'holds':>7}{'busy':>6}{'errors':>8}{'probes/s':>10}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}  probe answers / endpoints after"
    )
    for storm, totals, probes, after in rows:
        lat = sorted(probes.get("latencies", []))
        rate = len(lat) / opts.seconds if lat else 0.0
        p50 = statistics.median(lat) * 1000 if lat else 0.0
        p99 = lat[int(len(lat) * 0.99) - 1] * 1000 if lat else 0.0
        worst = lat[-1] * 1000 if lat else 0.0
        print(
            f"{opts.probers if storm else 0:>8}{totals['rate']:>9.0f}{totals['ok']:>7}{totals.get('busy', 0):>6}"
            f"{totals.get('error', 0):>8}{rate:>10.0f}{p50:>8.1f}{p99:>8.1f}{worst:>8.1f}  "
            f"{json.dumps(probes.get('statuses', {}))} {json.dumps(after)}"
        )
        bad_probes = {k: v for k, v in probes.get("statuses", {}).items() if k != "200"}
        if totals.get("error", 0) or bad_probes or any(status != 200 for status in after.values()):
            failed = True
    if failed:
        print("FAILED: an error, a probe that did not answer 200, or an endpoint not answering afterwards")
        return 1
    print("every hold answered, every probe answered 200, every endpoint answers afterwards")
    return 0


if __name__ == "__main__":
    sys.exit(main())
