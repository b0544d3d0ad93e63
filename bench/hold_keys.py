"""What an Idempotency-Key costs a hold: one client alone, Python and
PostgreSQL CPU per hold with and without a key (through
inventory.services.idempotency.hold, what the API calls), and per key lookup
(the shipped prepared statement against the same lookup through the ORM).
Results: docs/performance.md.

    python3 scripts/devstack.py exec python bench/hold_keys.py [--holds 250] [--rounds 5]

It works in its own database (DATABASE_URL's name + "_bench_keys"), dropped
and rebuilt on every run, on one 18,000-place Palau Sant Jordi event.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.holds import (  # noqa: E402 - after the path fix above
    adjacent_pairs,
    bench_database_url,
    build_events,
    recreate_database,
    seated_sections,
    setup_django,
)


def backend_cpu_reader() -> Callable[[], float]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]

    def read() -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    return read


def measure(n: int, step: Callable[[int], object], backend_cpu: Callable[[], float]) -> tuple[float, float, float]:
    """Wall, Python CPU and PostgreSQL CPU per step, in ms."""
    wall, cpu, pg = time.perf_counter(), time.process_time(), backend_cpu()
    for i in range(n):
        step(i)
    return (
        (time.perf_counter() - wall) / n * 1000,
        (time.process_time() - cpu) / n * 1000,
        (backend_cpu() - pg) / n * 1000,
    )


def spread(values: list[tuple[float, float, float]]) -> str:
    parts = []
    for name, k in (("wall", 0), ("Python", 1), ("PostgreSQL", 2)):
        low, high = min(v[k] for v in values), max(v[k] for v in values)
        parts.append(f"{name} {low:.2f}-{high:.2f} ms")
    return ", ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holds", type=int, default=250, help="holds per variant and round")
    parser.add_argument("--lookups", type=int, default=3000, help="lookups per variant and round")
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()

    parts = urlsplit(bench_database_url())
    url = parts._replace(path=f"{parts.path}_keys").geturl()
    print(f"bench database: {urlsplit(url).path.lstrip('/')} (dropped and rebuilt)", flush=True)
    recreate_database(url)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    slug = build_events(1)[0]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    from inventory.models import Event, Order
    from inventory.services import holds, idempotency
    from inventory.services.locking import prepared_cursor

    event = Event.objects.select_related("venue").get(slug=slug)
    pairs = adjacent_pairs(slug)
    random.Random(0).shuffle(pairs)
    sections = seated_sections(slug)
    backend_cpu = backend_cpu_reader()
    serial = iter(range(10**9))

    def hold(mode: str, keyed: bool) -> Callable[[int], object]:
        def step(i: int) -> object:
            n = next(serial)
            if mode == "best":
                wanted = idempotency.HoldRequest(section=sections[i % len(sections)], quantity=2, best=True)
            else:
                wanted = idempotency.HoldRequest(seat_ids=pairs.pop())
            try:
                return idempotency.hold(
                    event=event, owner=f"fan-{n}", request=wanted, key=f"key-{n}" if keyed else None
                )
            except holds.HoldError:
                return None

        return step

    def orm_lookup(i: int) -> object:
        return Order.objects.select_related("event").filter(owner=f"fan-{i}", idempotency_key=f"key-{i}").first()

    def prepared_lookup(i: int) -> object:
        with prepared_cursor() as cursor:
            cursor.execute(idempotency._KEY_SQL, [f"fan-{i}", f"key-{i}"])
            return cursor.fetchone()

    results: dict[str, list[tuple[float, float, float]]] = {}
    for _ in range(opts.rounds):
        for mode in ("best", "chosen"):
            for keyed in (False, True):
                name = f"hold {mode:6} {'with' if keyed else 'no':>4} key"
                results.setdefault(name, []).append(measure(opts.holds, hold(mode, keyed), backend_cpu))
        for name, step in (("lookup via the ORM", orm_lookup), ("lookup, prepared (shipped)", prepared_lookup)):
            results.setdefault(name, []).append(measure(opts.lookups, step, backend_cpu))
    print(f"one client; {opts.rounds} rounds of {opts.holds} holds / {opts.lookups} lookups; per operation:")
    for name, values in results.items():
        print(f"  {name:28} {spread(values)}")
    call_command("check_inventory", slug, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
