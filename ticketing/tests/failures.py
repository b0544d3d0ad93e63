"""Real servers a failure test starts, breaks and starts again (docs/failures.md).

Each runs on a free port with its data in a directory of the test's own,
never the shared PostgreSQL (5432) or Redis (6379):

* ``RedisServer``: a redis-server that can crash (SIGKILL) and come back on
  the same port and data directory, with the persistence docs/failures.md
  recommends (AOF, ``appendfsync everysec``) unless told otherwise.
* ``PostgresServer``: ``initdb`` into a fresh directory, started and stopped
  with ``pg_ctl`` (as the ``postgres`` user when the tests run as root, as
  scripts/devstack.py does), loaded with a copy of the test database.
* ``Proc``: a process of the platform (web server, admitter, Celery worker)
  in its own session, its output in a log file the failure message shows.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
import requests
from django.conf import settings

from scripts import devstack
from ticketing.tests.live import free_port, process_env

HANG = 60.0
"""Seconds after which waiting for a condition fails the test (a busy 2-core machine is slow, not stuck)."""


def wait_for(
    condition: Callable[[], Any],
    *,
    what: str,
    timeout: float = HANG,
    every: float = 0.1,
    context: Callable[[], str] | None = None,
) -> Any:
    """Poll ``condition`` until it returns something truthy (returned), or
    fail after ``timeout`` seconds saying ``what`` never happened (and
    ``context()``, e.g. a process's log)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:.0f} s: {what}" + (f"\n{context()}" if context else ""))
        time.sleep(every)


class Proc:
    """A process of the platform, in its own session (so a kill takes what it forked too)."""

    def __init__(self, name: str, cmd: list[str], *, env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log = logs / f"{name}.log"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own programs
                cmd,
                cwd=Path(settings.BASE_DIR),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole group (kill -9 by default) and reap the leader."""
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


class Browser(requests.Session):
    """A fan's browser: keeps its cookies (identity, store pass); JSON in and out."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *, timeout: float = 30) -> Any:
        return self.request(method, self.base + path, json=body, timeout=timeout)


def start_web(env_extra: dict[str, str], *, logs: Path, name: str = "web") -> tuple[Proc, str]:
    """The web server as ``make run`` starts it (scripts/devstack.py
    web_command), on a free port, waited for until /healthz answers."""
    port = free_port()
    # As the root conftest's autouse fixture does in-process: a join is one
    # request, no proof of work (queueroom/tests/test_bots.py tests that).
    env = process_env({"QUEUE_CHALLENGE_MAX_NUMBER": "0", **env_extra})
    proc = Proc(name, devstack.web_command(env, "127.0.0.1", str(port)), env=env, logs=logs)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.alive(), f"{name} exited:\n{proc.output()}"
        try:
            return requests.get(base + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_for(up, what=f"{name} answers /healthz")
    return proc, base


def start_admitter(*, logs: Path, name: str = "admitter", ticks: int = 600) -> Proc:
    """The real admitter (``manage.py run_admitter``), not waited for: it
    ticks once it holds the leader lock (``leader_pid``)."""
    return Proc(name, python("manage.py", "run_admitter", "--ticks", str(ticks)), env=process_env(), logs=logs)


def leader_pid() -> int | None:
    """The pid of the admitter holding the leader lock (its owner is "host:pid"), if one does."""
    from queueroom import keys
    from queueroom import redis_scripts as rs

    owner = rs.client().get(keys.leader())
    return int(str(owner).rsplit(":", 1)[1]) if owner else None


@contextmanager
def running(*procs: Proc) -> Iterator[None]:
    """Kill these processes however the block ends."""
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()


# --- Redis ----------------------------------------------------------------------


class RedisServer:
    """A private redis-server that can crash and come back with its data.

    ``aof=True``: the settings docs/failures.md recommends for the waiting
    room (``appendonly yes``, ``appendfsync everysec``, no RDB snapshots);
    ``aof=False``: no persistence at all (what ``make run``'s private Redis does)."""

    def __init__(self, directory: Path, *, aof: bool = True) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.aof = aof
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "everysec"] if self.aof else ["--appendonly", "no"]
        self.proc = subprocess.Popen(  # noqa: S603
            [
                shutil.which("redis-server") or "redis-server",
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)),
                *("--save", "", *persistence, "--logfile", str(self.directory / "redis.log")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, what="the private redis-server answers", every=0.02)

    def answers(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, (self.directory / "redis.log").read_text()[-2000:]
        check = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        try:
            # Loading the AOF answers LOADING errors until done.
            return bool(check.ping()) and check.info("persistence").get("loading") == 0
        except redis.RedisError:
            return False
        finally:
            check.close()

    def crash(self) -> None:
        """kill -9: no shutdown, no last save; what the AOF has is what comes back."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5)


# --- PostgreSQL -------------------------------------------------------------------


class PostgresServer:
    """A private PostgreSQL cluster: initdb into a fresh directory, started
    and stopped with pg_ctl on a free port. Its directory is under /tmp, not
    the test's tmp_path: when the tests run as root, the server runs as the
    ``postgres`` user, who cannot enter pytest's root-only directories."""

    def __init__(self) -> None:
        bindir = devstack.pg_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="fail-pg-"))
        self.data = self.root / "data"
        if devstack.is_root():
            shutil.chown(self.root, "postgres", "postgres")
        self.port = free_port()
        self._run(
            [str(bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
        )
        self.start()

    def _run(self, cmd: list[str]) -> None:
        done = subprocess.run(devstack.as_postgres_user(cmd), capture_output=True, text=True, check=False)  # noqa: S603
        assert done.returncode == 0, f"{' '.join(cmd)}:\n{done.stdout}\n{done.stderr}"

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off -c max_connections=60"
        log = self.root / "server.log"
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(log), "-w", "start", "-o", options])

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: a crash for the clients (connections cut, recovery on the next start)."""
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def copy_database(self, source_url: str, name: str) -> str:
        """A copy of ``source_url``'s database (schema and committed rows)
        named ``name`` here; its URL. pg_dump is ten times quicker than migrating."""
        self._psql("postgres", f'CREATE DATABASE "{name}"')
        dump = subprocess.run(  # noqa: S603
            ["pg_dump", "--no-owner", "--no-privileges", source_url], capture_output=True, check=False
        )
        assert dump.returncode == 0, dump.stderr.decode()
        load = subprocess.run(  # noqa: S603
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", self.url(name)], input=dump.stdout, capture_output=True, check=False
        )
        assert load.returncode == 0, load.stderr.decode()
        return self.url(name)

    def _psql(self, name: str, sql: str) -> str:
        done = subprocess.run(  # noqa: S603
            ["psql", "-qAt", "-v", "ON_ERROR_STOP=1", self.url(name), "-c", sql], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def query(self, name: str, sql: str) -> str:
        return self._psql(name, sql).strip()

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(  # noqa: S603
                devstack.as_postgres_user(
                    [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
                ),
                capture_output=True,
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)


def worker_database_url() -> str:
    """The URL of this pytest worker's test database (as live.process_env builds it)."""
    return process_env()["DATABASE_URL"]


def python(*args: str) -> list[str]:
    return [sys.executable, *args]
