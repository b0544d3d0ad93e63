"""`make simulate-onsale`: the LUX Tour on-sale day replayed on this machine
through the real HTTP stack (issue 13).

It makes its own world, so it runs from a fresh clone and never touches the
development database or a running `make run`: a database (DATABASE_URL's
name + "_sim", dropped, created and migrated each run), a Redis key prefix of
its own, a private localstripe, Daphne (as `make run` starts it), the two
Celery workers, beat and the admitter, each on free ports. It builds the 8
LUX Tour shows (``--scale`` keeps that share of every section: the best-ranked
places, the rest deleted before the sale, so check_inventory holds as for a
smaller venue), opens the sale a few seconds after the servers are up, and
runs Locust headless (locustfiles/simulation.py: many fans per Locust user)
until every ticket is sold or ``--max-minutes``. Every few seconds it samples
tickets sold per show, fans waiting, the admission rate and CPU per process.
At the end: check_inventory, check_payments, and reports/onsale-<time>/
(summary.json, report.html, Locust's CSV and HTML, the processes' logs).

    python3 scripts/devstack.py exec python scripts/simulate_onsale.py --scale 0.02
    make simulate-onsale SIM_ARGS="--scale 1 --max-minutes 40"
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = ROOT / ".venv" / "bin"

from scripts import onsale_report  # noqa: E402
from scripts.devstack import listening_socket, register_webhook, web_command, web_env  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=float, default=0.1, help="share of every section on sale (1 = the real tour)")
    p.add_argument("--max-minutes", type=float, default=20, help="stop then, sold out or not")
    p.add_argument(
        "--rate", type=int, default=40, help="admission rate per show, fans per minute (what the promoter sets)"
    )
    p.add_argument(
        "--max-in-store",
        type=int,
        default=0,
        help="fans in the store at once per show (default: the event's own, 5,000)",
    )
    p.add_argument(
        "--users", type=int, default=0, help="Locust users (each plays many fans in a row; 0: sized from the rate)"
    )
    p.add_argument("--spawn-rate", type=float, default=50)
    p.add_argument(
        "--web-processes", type=int, default=2, help="Daphne processes behind the one port (make run's WEB_PROCESSES)"
    )
    p.add_argument("--difficulty", type=int, default=2000, help="the proof of work's max number")
    p.add_argument("--psp-per-minute", type=int, default=3000, help="the PSP bucket (what the simulated PSP allows)")
    p.add_argument("--decline", type=float, default=0.03, help="share of fans whose first card is declined")
    p.add_argument("--abandon", type=float, default=0.05, help="share of fans who abandon their cart")
    p.add_argument("--leave", type=float, default=0.02, help="share of fans who leave the queue")
    p.add_argument("--opens-in", type=float, default=15, help="seconds from the servers being up to the sale opening")
    p.add_argument(
        "--presale-minutes",
        type=float,
        default=3,
        help="the presale lane opens first, the general sale this many minutes later (0: no presale)",
    )
    p.add_argument("--presale-share", type=float, default=0.1, help="share of fans who have a presale code")
    p.add_argument("--sample-seconds", type=float, default=3)
    p.add_argument("--out", type=Path, default=ROOT / "reports")
    return p.parse_args(argv)


def sim_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ticketing")
    parts = urlsplit(url)
    return parts._replace(path=f"{parts.path.rstrip('/')}_sim").geturl()


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


# --- the world ---------------------------------------------------------------------


def build_tour(scale: float) -> dict[str, int]:
    """The 8 shows, presale off, every section cut to ``scale`` of its places
    (its best-ranked ones); {slug: capacity}."""
    from django.db import connection

    from inventory.models import Event, InventoryItem
    from inventory.services.demo import seed_lux_tour

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    seed_lux_tour(sale_opens_at=later)
    Event.objects.update(presale_opens_at=None)
    if scale < 1:
        with connection.cursor() as cursor:
            cursor.execute(
                """DELETE FROM inventory_item WHERE id IN (
                     SELECT id FROM (
                       SELECT id, row_number() OVER w AS rn, count(*) OVER (PARTITION BY event_id, section_id) AS n
                       FROM inventory_item WINDOW w AS (PARTITION BY event_id, section_id ORDER BY rank, id)
                     ) t WHERE rn > GREATEST(1, ceil(n * %s)))""",
                [scale],
            )
    return {e.slug: InventoryItem.objects.filter(event=e).count() for e in Event.objects.order_by("starts_at")}


def fan_weights(slugs: list[str]) -> dict[str, float]:
    """Most fans want the first Madrid and the first Barcelona date."""
    weights: dict[str, float] = {}
    seen: dict[str, int] = {}
    for slug in slugs:
        city = slug.split("-")[2]
        n = seen.get(city, 0)
        seen[city] = n + 1
        weights[slug] = 6.0 if n == 0 else 2.0 if n == 1 else 1.0
    return weights


PRESALE_CODE = "LUXFAN"
PROMOTER = "sim-promoter"


def make_promoter() -> str:
    """An admin account in the promoter group (figures, no controls), for the
    Locust user that watches the dashboard; its password."""
    import secrets

    from django.contrib.auth.models import Group, User

    password = secrets.token_urlsafe(16)
    user = User.objects.create_user(PROMOTER, password=password, is_staff=True)
    user.groups.add(Group.objects.get(name="promoter"))
    return password


def open_sale(*, rate: int, max_in_store: int, difficulty: int, opens_in: float, presale_minutes: float) -> float:
    """Open the sale ``opens_in`` seconds from now: with ``presale_minutes``,
    a PRIORITY lane (the artist's presale, code PRESALE_CODE) opens then and
    the general sale that many minutes later. The time the first lane opens."""
    from django.utils import timezone

    from inventory.models import Event
    from queueroom import services
    from queueroom.models import Lane, PresaleCode, QueueConfig

    opens = timezone.now() + dt.timedelta(seconds=opens_in)
    general = opens + dt.timedelta(minutes=presale_minutes)
    Event.objects.update(
        sale_opens_at=general,
        presale_opens_at=opens if presale_minutes > 0 else None,
        admission_rate_per_minute=rate,
        max_in_store=max_in_store,
    )
    for event in Event.objects.all():
        if presale_minutes > 0:
            lane = Lane.objects.create(event=event, name="Artist presale", kind=Lane.Kind.PRIORITY, weight=3)
            PresaleCode.objects.create(lane=lane, code=PRESALE_CODE, max_uses=10**9)
        services.load_setup(event)
    QueueConfig.objects.update(challenge_max_number=difficulty)
    return opens.timestamp()


class Processes:
    """The server processes, each logging to its own file, stopped together."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        logs.mkdir(parents=True, exist_ok=True)

    def start(
        self, name: str, cmd: list[str], env: dict[str, str] | None = None, pass_fds: tuple[int, ...] = ()
    ) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env or self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=pass_fds,
        )
        self.procs[name] = proc
        return proc

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


# --- sampling ------------------------------------------------------------------------


class CpuMeter:
    """CPU % of one core per named process (children included: Celery's
    prefork pool), and of PostgreSQL and Redis when found (all their
    processes on this machine, which other users may share)."""

    def __init__(self, procs: dict[str, subprocess.Popen[bytes]]) -> None:
        import psutil

        self.psutil = psutil
        self.named = {name: psutil.Process(p.pid) for name, p in procs.items()}
        self.seen: dict[int, Any] = {}

    def _tree(self, proc: Any) -> list[Any]:
        try:
            return [proc, *proc.children(recursive=True)]
        except self.psutil.Error:
            return []

    def _percent(self, procs: list[Any]) -> float:
        total = 0.0
        for proc in procs:
            cached = self.seen.setdefault(proc.pid, proc)
            try:
                total += cached.cpu_percent(None)
            except self.psutil.Error:
                self.seen.pop(proc.pid, None)
        return round(total, 1)

    def sample(self) -> dict[str, float]:
        out = {name: self._percent(self._tree(proc)) for name, proc in self.named.items()}
        extra: dict[str, list[Any]] = {"postgresql": [], "redis": []}
        for proc in self.psutil.process_iter(["name"]):
            name = proc.info["name"] or ""
            if name.startswith("postgres"):
                extra["postgresql"].append(proc)
            elif name.startswith("redis-server"):
                extra["redis"].append(proc)
        for name, procs in extra.items():
            if procs:
                out[name] = self._percent(procs)
        # The whole machine, in the same unit (% of one core).
        out[onsale_report.MACHINE] = round(self.psutil.cpu_percent(None) * (os.cpu_count() or 1), 1)
        return out


def sample(slugs: dict[str, int], cpu: CpuMeter) -> dict[str, Any]:
    from django.db.models import Count

    from inventory.models import Event, InventoryItem, ItemStatus
    from queueroom import services

    ids = dict(Event.objects.values_list("pk", "slug"))
    sold = dict.fromkeys(slugs, 0)
    for row in (
        InventoryItem.objects.filter(status=ItemStatus.SOLD).values("event_id").order_by().annotate(n=Count("id"))
    ):
        sold[ids[row["event_id"]]] = row["n"]
    waiting, rate, in_store, admitting = {}, {}, {}, {}
    for pk, slug in ids.items():
        doc = services.state_document(pk) or {}
        waiting[slug] = int(doc.get("waiting") or 0)
        in_store[slug] = int(doc.get("in_store") or 0)
        rate[slug] = int(doc.get("rate_per_minute") or 0)
        admitting[slug] = round(60 * sum(lane.get("per_second", 0) for lane in doc.get("lanes", {}).values()), 1)
    return {
        "t": time.time(),
        "sold": sold,
        "waiting": waiting,
        "in_store": in_store,
        "rate": rate,
        "admitting": admitting,
        "cpu": cpu.sample(),
    }


def run_check(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    return {"ok": done.returncode == 0, "exit": done.returncode, "output": (done.stdout + done.stderr)[-3000:]}


def drop_redis_keys(prefix: str) -> None:
    from queueroom import redis_scripts as rs

    c = rs.client()
    found = list(c.scan_iter(match=f"{prefix}*", count=5000))
    for i in range(0, len(found), 1000):
        c.delete(*found[i : i + 1000])


# --- the run -------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows through a pipe
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = args.out / f"onsale-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    prefix = f"sim{stamp.replace('-', '')}"
    db_url = sim_database_url()
    print(f"simulation database: {urlsplit(db_url).path.lstrip('/')} (dropped and rebuilt); Redis prefix {prefix}")
    recreate_database(db_url)
    os.environ.update(
        {
            "DATABASE_URL": db_url,
            "REDIS_KEY_PREFIX": prefix,
            "DJANGO_SETTINGS_MODULE": "ticketing.settings",
            "LOG_LEVEL": "WARNING",
        }
    )
    os.environ.setdefault("SECRET_KEY", "simulation-secret-key-not-for-production")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    t0 = time.monotonic()
    capacity = build_tour(args.scale)
    total = sum(capacity.values())
    print(f"built {len(capacity)} shows, {total:,} tickets, in {time.monotonic() - t0:.0f} s")

    rate = args.rate
    # A fan's store lease lasts until QUEUE_LEASE_IDLE_SECONDS (10 min) of
    # idleness, bought or not: a ceiling under rate x 10 min throttles the
    # admissions (found by the first runs), so the model's default stays.
    from inventory.models import Event

    max_in_store = args.max_in_store or Event._meta.get_field("max_in_store").get_default()
    fans_per_second = rate * len(capacity) / 60
    # Enough fans at once that every show's queue stays fed: most fans want
    # the first dates and wait in those queues (at the promoter's rate), so
    # far more than the store's ~20 s per fan times the admissions per second.
    users = args.users or max(40, min(1500, int(fans_per_second * 100)))

    stripe_port, web_port = free_port(), free_port()
    stripe = f"http://127.0.0.1:{stripe_port}"
    base = f"http://127.0.0.1:{web_port}"
    env = {
        **os.environ,
        "STRIPE_API_BASE": stripe,
        "PSP_BUCKET_PER_MINUTE": str(args.psp_per_minute),
        "SITE_URL": base,
        "TRUSTED_PROXIES": "127.0.0.1/32,::1/128",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "ENVIRONMENT": os.environ.get("ENVIRONMENT", "development"),
    }
    os.environ["STRIPE_API_BASE"] = stripe
    procs = Processes(env, out / "logs")
    python = str(VENV_BIN / "python")
    celery = [str(VENV_BIN / "celery"), "-A", "ticketing", "worker", "-l", "WARNING"]
    samples: list[dict[str, Any]] = []
    locust_rc = None
    try:
        procs.start("localstripe", [python, "scripts/localstripe_server.py", "--port", str(stripe_port)])
        wait_port(stripe_port)
        # As `make run` with WEB_PROCESSES: the servers accept on one socket.
        listener = listening_socket("127.0.0.1", web_port, 4096)
        wenv = web_env(env, args.web_processes)
        for number in range(1, args.web_processes + 1):
            procs.start(
                f"web{number}",
                web_command(wenv, "127.0.0.1", str(web_port), fd=listener.fileno()),
                env=wenv,
                pass_fds=(listener.fileno(),),
            )
        listener.close()
        procs.start("worker", [*celery, "-Q", "celery", "-n", f"default-{prefix}@%h", "-c", "2"])
        procs.start("payments", [*celery, "-Q", "payments", "-n", f"payments-{prefix}@%h", "-P", "threads", "-c", "8"])
        procs.start("admitter", [python, "manage.py", "run_admitter"])
        procs.start(
            "beat",
            [
                str(VENV_BIN / "celery"),
                "-A",
                "ticketing",
                "beat",
                "-l",
                "WARNING",
                "-s",
                str(out / "celerybeat-schedule"),
            ],
        )
        wait_port(web_port)
        register_webhook(
            stripe,
            url=f"{base}/payments/stripe/webhook/",
            secret=env.get("STRIPE_WEBHOOK_SECRET", "whsec_localstripe"),
            name=f"sim-{web_port}",
        )
        cpu = CpuMeter(procs.procs)
        opened = open_sale(
            rate=rate,
            max_in_store=max_in_store,
            difficulty=args.difficulty,
            opens_in=args.opens_in,
            presale_minutes=args.presale_minutes,
        )
        settings_used = {
            "scale": args.scale,
            "tickets": total,
            "rate_per_show_per_minute": rate,
            "max_in_store": max_in_store,
            "users": users,
            "difficulty": args.difficulty,
            "psp_per_minute": args.psp_per_minute,
            "decline": args.decline,
            "abandon": args.abandon,
            "leave": args.leave,
            "presale_minutes": args.presale_minutes,
            "presale_share": args.presale_share,
            "web_processes": args.web_processes,
            "cpus": os.cpu_count(),
        }
        print(f"sale opens in {args.opens_in:.0f} s; {settings_used}")
        promoter_password = make_promoter()
        weights = fan_weights(list(capacity))
        locust_env = {
            **env,
            "SIM_EVENTS": ",".join(f"{slug}={w}" for slug, w in weights.items()),
            "SIM_TIMELINE": str(out / "timeline.json"),
            "LOCUST_DECLINE_SHARE": str(args.decline),
            "LOCUST_ABANDON_SHARE": str(args.abandon),
            "LOCUST_LEAVE_SHARE": str(args.leave),
            "SIM_PRESALE_CODE": PRESALE_CODE if args.presale_minutes > 0 else "",
            "SIM_PRESALE_SHARE": str(args.presale_share),
            # One promoter watches the live dashboard, show after show, every 2 s.
            "SIM_PROMOTERS": "1",
            "LOCUST_PROMOTER_USER": PROMOTER,
            "LOCUST_PROMOTER_PASSWORD": promoter_password,
            "LOCUST_MAX_QUEUE_WAIT": str(args.max_minutes * 60),
            "LOCUST_MAX_P95_MS": "600000",  # the report judges; the run is not a pass/fail threshold
            "LOCUST_MAX_FAIL_RATIO": "1",
        }
        started = time.time()
        locust = procs.start(
            "locust",
            [python, "-m", "locust", "-f", "locustfiles/simulation.py", "--headless", "--only-summary"]
            + ["-u", str(users), "-r", str(args.spawn_rate), "-t", f"{int(args.max_minutes * 60)}s", "--host", base]
            + ["--csv", str(out / "locust"), "--html", str(out / "locust.html"), "--stop-timeout", "10"],
            env=locust_env,
        )
        cpu = CpuMeter(procs.procs)
        cpu.sample()
        while locust.poll() is None:
            time.sleep(args.sample_seconds)
            s = sample(capacity, cpu)
            samples.append(s)
            sold = sum(s["sold"].values())
            print(
                f"[{(s['t'] - opened) / 60:5.1f} min] sold {sold:,}/{total:,}  waiting {sum(s['waiting'].values()):,}"
                f"  in store {sum(s['in_store'].values()):,}  cpu {s['cpu']}",
                flush=True,
            )
            if sold >= total:
                print("sold out: stopping Locust")
                locust.send_signal(signal.SIGTERM)
                break
            for name, proc in procs.procs.items():
                if proc.poll() is not None and name != "locust":
                    print(f"{name} exited with {proc.returncode}; stopping")
                    locust.send_signal(signal.SIGTERM)
                    break
        locust_rc = locust.wait(60)
        ended = samples[-1]["t"] if samples else time.time()
        time.sleep(3)  # the last webhooks and the sweeper
        checks = {
            "check_inventory": run_check(env, "check_inventory"),
            "check_payments": run_check(env, "check_payments"),
        }
    finally:
        procs.stop()
    stats_rows = _read_csv(out / "locust_stats.csv")
    timeline = json.loads((out / "timeline.json").read_text()) if (out / "timeline.json").exists() else {}
    summary = onsale_report.build_summary(
        started=started,
        opened=opened,
        ended=ended,
        capacity=capacity,
        samples=samples,
        locust_stats=stats_rows,
        timeline=timeline,
        checks=checks,
        settings=settings_used,
    )
    summary["locust_exit"] = locust_rc
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "samples.json").write_text(json.dumps(samples))
    (out / "report.html").write_text(onsale_report.build_html(summary, samples, timeline))
    onsale_report.print_summary(summary)
    print(f"report: {out / 'report.html'}")
    drop_redis_keys(prefix)
    return 0 if all(c["ok"] for c in checks.values()) else 1


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
