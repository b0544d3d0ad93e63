"""Seat-hold throughput: committed holds/s with 16 concurrent clients on an
18,000-place Palau Sant Jordi event, best-available of 2 and chosen seats,
through the service layer and through HTTP (a real uvicorn process), printed
beside `pgbench -N` TPS measured in the same run. Results: docs/performance.md.

    python3 scripts/devstack.py exec python bench/holds.py [--seconds 10] [--clients 16]

It works in its own database (DATABASE_URL's name + "_bench"), dropped and
rebuilt on every run; each phase gets a fresh event. At service-layer speed
16 clients sell the event's 11,000 seats within the phase, so the headline
rate covers the first half of them and the sell-out is reported beside it.
Chosen-seat clients pick pairs their (polled, cached) seat map shows free.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FLOOR = 500  # holds/s through the service layer (issue 3)


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ticketing")
    parts = urlsplit(url)
    return parts._replace(path=f"{parts.path.rstrip('/')}_bench").geturl()


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DB_POOL"] = "0"  # one persistent connection per client process
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")
    import django

    django.setup()


def build_events(count: int) -> list[str]:
    import datetime as dt

    from django.utils import timezone

    from inventory.services.demo import PALAU, TOUR, build_event, build_venue

    info = TOUR["palau-sant-jordi"][0]
    venue = build_venue("palau-sant-jordi", info, PALAU)
    now = timezone.now()
    slugs = []
    for n in range(count):
        event, created = build_event(
            venue=venue,
            plans=PALAU,
            slug=f"bench-palau-{n}",
            name=f"Bench · Palau Sant Jordi {n}",
            starts_at=now + dt.timedelta(days=30),
            presale_opens_at=None,
            sale_opens_at=now - dt.timedelta(minutes=1),
        )
        assert created == 18000, created
        slugs.append(event.slug)
    return slugs


# --- clients ----------------------------------------------------------------------


def adjacent_pairs(slug: str) -> list[list[int]]:
    from inventory.models import InventoryItem

    rows: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for item_id, section, row, number in InventoryItem.objects.filter(event__slug=slug, seat__isnull=False).values_list(
        "id", "section_id", "row_label", "number"
    ):
        rows.setdefault((section, row), []).append((number, item_id))
    pairs = []
    for seats in rows.values():
        seats.sort()
        pairs += [[a[1], b[1]] for a, b in zip(seats[::2], seats[1::2], strict=False)]
    return pairs


def seated_sections(slug: str) -> list[str]:
    from inventory.models import Event

    event = Event.objects.get(slug=slug)
    return [s.code for s in event.venue.sections.filter(kind="SEATED")]


# --- the fans' view of the seat map -------------------------------------------------
#
# A fan choosing seats picks ones their seat map shows free. The page polls the
# seats API every SEATMAP_POLL_SECONDS and the API serves a copy cached for
# INVENTORY_SEATS_CACHE_SECONDS, so the view lags the database by up to the
# sum; a fan told "taken" also stops asking for those seats. The bench models
# exactly that: one refresher process rebuilds the shared map from the
# database every cache period, each client copies it every poll period and
# remembers its own refusals. Collisions (409s) come from the lag, as in a
# real on-sale, instead of from asking again for seats sold long ago.

SEATMAP_POLL_SECONDS = 3.0  # static/js/seatmap.js
SEATMAP_CACHE_SECONDS = 2.0  # INVENTORY_SEATS_CACHE_SECONDS default
_SEATMAP = None  # multiprocessing.Array of one flag per pair, inherited across fork


def seatmap_refresher(slug: str, pairs: list[list[int]], stop: mp.Event) -> None:  # type: ignore[type-arg]
    from django.db import connection

    pair_of = {item: index for index, pair in enumerate(pairs) for item in pair}
    while not stop.wait(SEATMAP_CACHE_SECONDS):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT i.id FROM inventory_item i JOIN inventory_event e ON e.id = i.event_id "
                "WHERE e.slug = %s AND i.status <> 'AVAILABLE'",
                [slug],
            )
            taken = {pair_of[row[0]] for row in cursor.fetchall() if row[0] in pair_of}
        for index in taken:
            _SEATMAP[index] = 1  # type: ignore[index]
    connection.close()


class SeatView:
    """One fan's copy of the seat map and what they were told themselves."""

    def __init__(self, pairs: list[list[int]], rng: random.Random) -> None:
        self.pairs, self.rng = pairs, rng
        self.mine: set[int] = set()
        self.refresh()

    def refresh(self) -> None:
        shown = bytes(_SEATMAP) if _SEATMAP is not None else bytes(len(self.pairs))  # type: ignore[arg-type]
        self.free = [index for index, taken in enumerate(shown) if not taken]
        self.polled = time.monotonic()

    def pick(self) -> tuple[int, list[int]]:
        if time.monotonic() - self.polled >= SEATMAP_POLL_SECONDS:
            self.refresh()
        while self.free:
            at = self.rng.randrange(len(self.free))
            index = self.free[at]
            if index not in self.mine:
                return index, self.pairs[index]
            self.free[at] = self.free[-1]  # this fan already holds it or was refused it
            self.free.pop()
        index = self.rng.randrange(len(self.pairs))  # the map shows nothing free: ask anyway
        return index, self.pairs[index]


def service_client(args: tuple[int, str, str, float, list[list[int]], list[str], mp.Barrier]) -> dict[str, Any]:
    index, mode, slug, seconds, pairs, sections, barrier = args
    from django.db import connection

    from inventory.models import Event
    from inventory.services import holds
    from inventory.services.locking import Busy

    event = Event.objects.select_related("venue").get(slug=slug)
    rng = random.Random(index)
    view = SeatView(pairs, rng)
    counts: dict[str, Any] = {"ok": 0, "refused": 0, "busy": 0, "times": []}
    barrier.wait()
    counts["start"] = time.monotonic()
    deadline = counts["start"] + seconds
    n = 0
    while time.monotonic() < deadline:
        n += 1
        owner = f"bench-{index}-{n}"
        pair = -1
        try:
            if mode == "best":
                holds.hold_best_available(event=event, owner=owner, section_code=rng.choice(sections), quantity=2)
            else:
                pair, seat_ids = view.pick()
                holds.hold_seats(event=event, owner=owner, seat_ids=seat_ids)
            counts["ok"] += 1
            counts["times"].append(time.monotonic())
        except holds.HoldError:
            counts["refused"] += 1
        except Busy:
            counts["busy"] += 1
        view.mine.add(pair)  # held now, or shown taken: this fan asks for other seats next
    connection.close()
    return counts


def http_client(args: tuple[int, str, str, float, list[list[int]], list[str], mp.Barrier, int]) -> dict[str, Any]:
    index, mode, slug, seconds, pairs, sections, barrier, port = args
    rng = random.Random(index)
    view = SeatView(pairs, rng)
    counts: dict[str, Any] = {"ok": 0, "refused": 0, "busy": 0, "error": 0, "times": []}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    path = f"/api/v1/events/{slug}/holds/"
    headers = {"Content-Type": "application/json"}  # no cookie: every hold is a new fan
    barrier.wait()
    counts["start"] = time.monotonic()
    deadline = counts["start"] + seconds
    while time.monotonic() < deadline:
        if mode == "best":
            body: dict[str, object] = {"section": rng.choice(sections), "quantity": 2}
        else:
            pair, seat_ids = view.pick()
            view.mine.add(pair)
            body = {"seat_ids": seat_ids}
        try:
            conn.request("POST", path, body=json.dumps(body), headers=headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            counts["error"] += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        status = response.status
        if status == 201:
            counts["times"].append(time.monotonic())
        counts[
            "ok" if status == 201 else "refused" if status in (409, 400) else "busy" if status == 503 else "error"
        ] += 1
    conn.close()
    return counts


def run_phase(worker, args_for, clients: int, slug: str, pairs: list[list[int]]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    global _SEATMAP
    ctx = mp.get_context("fork")
    _SEATMAP = ctx.Array("B", len(pairs), lock=False)
    stop = ctx.Event()
    refresher = ctx.Process(target=seatmap_refresher, args=(slug, pairs, stop))
    refresher.start()
    try:
        with ctx.Manager() as manager:
            barrier = manager.Barrier(clients)
            with ctx.Pool(clients) as pool:
                results = pool.map(worker, [args_for(i, barrier) for i in range(clients)])
    finally:
        stop.set()
        refresher.join(10)
        _SEATMAP = None
    start = min(result.pop("start") for result in results)
    times = sorted(t - start for result in results for t in result.pop("times"))
    total: dict[str, Any] = {}
    for result in results:
        for key, value in result.items():
            total[key] = total.get(key, 0) + value
    # Reachable holds: one per pair of adjacent seats in the seated sections
    # (the bench only asks for those). Sixteen clients sell half of them in a
    # few seconds; after that each hold is a search for the last seats, which
    # measures the sell-out, not the hold path: the headline rate is taken
    # over the first half, and the phase also reports how long it lasted.
    half = len(pairs) // 2
    if len(times) >= half:
        total["rate"] = half / max(times[half - 1], 0.001)
        total["half_s"] = times[half - 1]
    else:
        total["rate"] = len(times) / max(times[-1], 0.001) if times else 0.0
        total["half_s"] = None
    total["last_s"] = times[-1] if times else 0.0
    return total


def cost_per_hold(
    slug: str, pairs: list[list[int]], sections: list[str], holds_each: int = 300
) -> dict[str, tuple[float, float, float]]:
    """One client alone: wall, Python CPU and PostgreSQL backend CPU (from
    /proc, same machine) per hold, in ms. Independent of other load on the box,
    unlike the throughput figures."""
    from django.db import connection

    from inventory.models import Event
    from inventory.services import holds

    event = Event.objects.select_related("venue").get(slug=slug)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]

    def backend_cpu() -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    rng = random.Random(0)
    chosen = rng.sample(pairs, holds_each)
    result = {}
    for mode in ("best", "chosen"):
        wall, cpu, pg = time.perf_counter(), time.process_time(), backend_cpu()
        for n in range(holds_each):
            owner = f"cost-{mode}-{n}"
            try:
                if mode == "best":
                    holds.hold_best_available(
                        event=event, owner=owner, section_code=sections[n % len(sections)], quantity=2
                    )
                else:
                    holds.hold_seats(event=event, owner=owner, seat_ids=chosen[n])
            except holds.HoldError:
                pass
        result[mode] = (
            (time.perf_counter() - wall) / holds_each * 1000,
            (time.process_time() - cpu) / holds_each * 1000,
            (backend_cpu() - pg) / holds_each * 1000,
        )
    connection.close()
    return result


# --- the HTTP server ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    # The bench measures the store, not the waiting room's door (whose pass
    # check is one HMAC, no I/O): the server runs with the door open.
    env = {**os.environ, "DATABASE_URL": url, "DB_POOL": "1", "LOG_LEVEL": "WARNING", "STORE_ACCESS_CHECK": ""}
    uvicorn = shutil.which("uvicorn") or str(ROOT / ".venv" / "bin" / "uvicorn")
    proc = subprocess.Popen(
        [
            uvicorn,
            "ticketing.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--workers",
            str(workers),
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("uvicorn exited during start-up") from None
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("uvicorn did not start in 30 s")


# --- pgbench -------------------------------------------------------------------------


def pgbench_tps(url: str, clients: int, seconds: int) -> float | None:
    if not shutil.which("pgbench"):
        return None
    parts = urlsplit(url)
    env = {**os.environ}
    if parts.password:
        env["PGPASSWORD"] = parts.password
    conn = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]
    name = parts.path.lstrip("/")
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", *conn, name], check=True, env=env, capture_output=True)
    out = subprocess.run(
        ["pgbench", "-N", "-c", str(clients), "-j", "2", "-T", str(seconds), *conn, name],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    return float(match.group(1)) if match else None


# --- main -------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each phase")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--http-workers", type=int, default=2, help="uvicorn worker processes")
    opts = parser.parse_args()

    url = bench_database_url()
    print(f"bench database: {urlsplit(url).path.lstrip('/')} (dropped and rebuilt)", flush=True)
    recreate_database(url)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    phases = [("cost", "both"), ("service", "best"), ("service", "chosen")]
    if not opts.skip_http:
        phases += [("http", "best"), ("http", "chosen")]
    slugs = build_events(len(phases))
    with connections["default"].cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would soon after a real event is created
    print(
        f"built {len(slugs)} events of 18,000 places; {opts.clients} clients, {opts.seconds:g} s per phase", flush=True
    )

    rows = []
    costs: dict[str, tuple[float, float, float]] = {}
    server = None
    port = free_port()
    try:
        for (layer, mode), slug in zip(phases, slugs, strict=True):
            pairs = adjacent_pairs(slug)
            sections = seated_sections(slug)
            connections.close_all()  # never share a connection across fork
            if layer == "http" and server is None:
                server = start_server(url, port, opts.http_workers)
            started = time.monotonic()
            if layer == "cost":
                costs = cost_per_hold(slug, pairs, sections)
                for m, (wall_ms, py_ms, pg_ms) in costs.items():
                    print(
                        f"  one client, {m:6}: {wall_ms:.2f} ms wall, {py_ms:.2f} ms Python CPU, {pg_ms:.2f} ms PostgreSQL CPU per hold",
                        flush=True,
                    )
                connections.close_all()
                continue
            if layer == "service":
                totals = run_phase(
                    service_client,
                    lambda i, b, m=mode, s=slug, p=pairs, sc=sections: (i, m, s, opts.seconds, p, sc, b),
                    opts.clients,
                    slug,
                    pairs,
                )
            else:
                totals = run_phase(
                    http_client,
                    lambda i, b, m=mode, s=slug, p=pairs, sc=sections: (i, m, s, opts.seconds, p, sc, b, port),
                    opts.clients,
                    slug,
                    pairs,
                )
            wall = time.monotonic() - started
            rate = totals["rate"]
            rows.append((layer, mode, totals, rate))
            shown = {k: round(v, 2) if isinstance(v, float) else v for k, v in totals.items()}
            print(f"  {layer:7} {mode:6} {rate:8.0f} holds/s  {shown}  ({wall:.1f} s wall)", flush=True)
            call_command("check_inventory", slug, verbosity=0)
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)

    tps = pgbench_tps(url, opts.clients, int(opts.seconds))
    print()
    print(
        f"{'path':<10}{'mode':<8}{'holds/s':>10}{'half in':>9}{'holds':>8}{'last at':>9}{'overall/s':>11}"
        f"{'refused':>9}{'busy':>6}"
    )
    for layer, mode, totals, rate in rows:
        half = f"{totals['half_s']:.1f} s" if totals["half_s"] is not None else "-"
        overall = totals["ok"] / max(totals["last_s"], 0.001)
        print(
            f"{layer:<10}{mode:<8}{rate:>10.0f}{half:>9}{totals['ok']:>8}{totals['last_s']:>7.1f} s{overall:>11.0f}"
            f"{totals.get('refused', 0):>9}{totals.get('busy', 0):>6}"
        )
    print(
        "holds/s: committed holds while the first half of the seated pairs sold (the whole phase if it sold less);\n"
        "half in: when that half was reached; last at: the phase's last committed hold;\n"
        "overall/s: all holds over the time to the last one, sell-out tail included"
    )
    print(f"{'pgbench -N':<18}{(f'{tps:.0f} TPS' if tps else 'n/a'):>10}  ({opts.clients} clients, same run)")
    for m, (wall_ms, py_ms, pg_ms) in costs.items():
        print(
            f"cost of one hold ({m}): {py_ms:.2f} ms Python + {pg_ms:.2f} ms PostgreSQL CPU, {wall_ms:.2f} ms wall alone"
        )
    service_best = min(rate for layer, _, _, rate in rows if layer == "service")
    if service_best < FLOOR:
        print(f"BELOW THE FLOOR: {service_best:.0f} < {FLOOR} holds/s through the service layer")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
