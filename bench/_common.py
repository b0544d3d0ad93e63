"""Shared set-up for the waiting-room benchmarks: their own database, Django,
a bench event, a private Redis when a clean INFO commandstats is needed,
server processes.

Like bench/holds.py, they work in their own database (DATABASE_URL's name +
"_bench_queue"), dropped, created and migrated on every run, so they run from
a fresh clone and never touch the development database."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = ROOT / ".venv" / "bin"


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ticketing")
    parts = urlsplit(url)
    return parts._replace(path=f"{parts.path.rstrip('/')}_bench_queue").geturl()


def setup_django(*, redis_url: str | None = None, prefix: str = "bench") -> None:
    """Django on a freshly migrated bench database; the servers the bench
    starts inherit it through the environment."""
    from holds import recreate_database

    url = bench_database_url()
    print(f"bench database: {urlsplit(url).path.lstrip('/')} (dropped and rebuilt)", flush=True)
    recreate_database(url)
    os.environ["DATABASE_URL"] = url
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("REDIS_KEY_PREFIX", prefix)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def private_redis() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    wait_port(port)
    return proc, f"redis://127.0.0.1:{port}/0"


def start_server(kind: str, port: int, env_extra: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    env = {"LOG_LEVEL": "WARNING", **os.environ, **(env_extra or {})}
    if kind == "uvicorn":
        cmd = [str(VENV_BIN / "uvicorn"), "ticketing.asgi:application", "--port", str(port), "--log-level", "warning"]
        cmd += ["--no-access-log", "--ws", os.environ.get("UVICORN_WS", "auto")]
    else:
        cmd = [
            str(VENV_BIN / "python"),
            "-m",
            "ticketing.server",
            "-p",
            str(port),
            "-v",
            "0",
            "ticketing.asgi:application",
        ]
    if os.environ.get("PROFILE_SERVER"):
        cmd = [str(VENV_BIN / "python"), "-m", "cProfile", "-o", os.environ["PROFILE_SERVER"], *cmd]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    wait_port(port)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def drop_queue(event) -> None:  # type: ignore[no-untyped-def]
    """Delete the event's queue keys (the benches leave nothing behind in a shared Redis)."""
    from queueroom import keys
    from queueroom import redis_scripts as rs

    c = rs.client()
    found = list(c.scan_iter(match=f"{keys.base(event.pk)}*", count=5000))
    for i in range(0, len(found), 1000):
        c.delete(*found[i : i + 1000])
    c.srem(keys.active(), event.pk)


def bench_event(*, rate: int = 500, max_in_store: int = 5000):  # type: ignore[no-untyped-def]
    """A published event on sale now, with a fresh queue (its Redis keys deleted)."""
    from django.utils import timezone

    from inventory.models import Event
    from inventory.services.demo import SMALL, build_event, build_venue

    event = Event.objects.filter(slug="bench-queue").first()
    if event is None:
        venue = build_venue("sala-bench", {"name": "Sala Bench", "city": "Madrid"}, SMALL)
        now = timezone.now()
        event, _ = build_event(
            venue=venue,
            plans=SMALL,
            slug="bench-queue",
            name="Bench",
            starts_at=now + dt.timedelta(days=60),
            presale_opens_at=None,
            sale_opens_at=now - dt.timedelta(minutes=1),
        )
    Event.objects.filter(pk=event.pk).update(admission_rate_per_minute=rate, max_in_store=max_in_store)
    event.refresh_from_db()
    drop_queue(event)
    return event


def fill_queue(event, count: int, *, now: float) -> None:  # type: ignore[no-untyped-def]
    """``count`` fans join, pipelined 1,000 at a time (the join script itself)."""
    from queueroom import passes, services
    from queueroom import redis_scripts as rs
    from queueroom.services.places import join_call

    setup = services.load_setup(event)
    lane = setup.general.id
    for start in range(0, count, 1000):
        pipe = rs.pipeline()
        for i in range(start, min(count, start + 1000)):
            rs.run(
                "join", *join_call(event.pk, lane, passes.browser_binding(f"bench-{i}"), now, setup=setup), pipe=pipe
            )
        pipe.execute()
