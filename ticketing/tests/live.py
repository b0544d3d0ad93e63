"""A real Daphne process for tests that need a server: the test run's own
database and Redis key space, a free port, stopped (SIGKILL if it must be)
at the end. Data the test writes must be committed to be seen by it
(``transactional_db``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, *, timeout: float = 10.0, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """(status, body) of a GET; HTTP errors are answers too."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - a local test server
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())


def process_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a process the test starts (server, admitter,
    Locust): this run's database and Redis key prefix, which already name the
    xdist worker."""
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "ticketing.settings",
        "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
        "SECRET_KEY": settings.SECRET_KEY,
        "LOG_LEVEL": "WARNING",
        **(extra or {}),
    }


@contextmanager
def admitter(*, ticks: int) -> Iterator[None]:
    """The real admitter (`manage.py run_admitter`) for ``ticks`` seconds,
    waited for until it holds its leader lock (it ticks from then on; on a
    busy machine Django's start alone can take seconds)."""
    from queueroom import keys
    from queueroom import redis_scripts as rs

    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run_admitter", "--ticks", str(ticks)],
        cwd=settings.BASE_DIR,
        env=process_env(),
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not rs.client().exists(keys.leader()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the admitter did not start")
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def daphne(env_extra: dict[str, str] | None = None) -> Iterator[str]:
    """Serve ticketing.asgi on a free port; yields the base URL."""
    port = free_port()
    env = process_env(env_extra)
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "ticketing.asgi:application"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(base + "/healthz", timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("daphne did not start") from None
                time.sleep(0.05)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
