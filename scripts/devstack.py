#!/usr/bin/env python3
"""Bootstrap and run the whole stack on one machine: `make run`, `make test`.

Stage 1 runs on the system Python with the standard library only: it makes
`.venv` and installs requirements.txt, then re-runs this file inside the venv.
Stage 2 finds PostgreSQL and Redis (DATABASE_URL / REDIS_URL when set; else
servers answering on 127.0.0.1:5432 / 6379; else private servers under .var/
started from the system binaries, installed with apt-get when running as root),
then runs the command. See README.md "How the bootstrap finds its services".
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / ".var"
VENV = ROOT / ".venv"
VENV_PY = VENV / "bin" / "python"
REQUIREMENTS = ROOT / "requirements.txt"
STAMP = VENV / ".requirements.sha256"

PG_DEFAULT = ("127.0.0.1", 5432)
REDIS_DEFAULT = ("127.0.0.1", 6379)
PG_PRIVATE_PORT = 54329
REDIS_PRIVATE_PORT = 63799
PG_DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ticketing"
REDIS_DEFAULT_URL = "redis://127.0.0.1:6379/0"


def say(message: str) -> None:
    try:
        print(f"[devstack] {message}", flush=True)
    except OSError:
        pass  # the terminal is gone (SIGHUP): carry on, e.g. with stopping the stack


# --- stage 1: the virtualenv -------------------------------------------------


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def apt_install(*packages: str) -> bool:
    if not is_root() or not shutil.which("apt-get"):
        return False
    say(f"installing {' '.join(packages)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    return subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=False, env=env).returncode == 0


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - stage 1 runs on whatever python3 the machine has
        sys.exit("Python 3.11 or newer is needed (found %s)." % sys.version.split()[0])
    if not VENV_PY.exists():
        say("creating .venv")
        if subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=False).returncode != 0:
            shutil.rmtree(VENV, ignore_errors=True)
            minor = f"python3.{sys.version_info.minor}-venv"
            if not (apt_install(minor) or apt_install("python3-venv")):
                sys.exit("Could not create a virtualenv: install the python3-venv package.")
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != digest:
        say("installing requirements.txt into .venv")
        subprocess.run([str(VENV_PY), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
        subprocess.run([str(VENV_PY), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], check=True)
        STAMP.write_text(digest)


# --- stage 2: services ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ServicePlan:
    """What the bootstrap will do for one service, and the URL it ends with."""

    action: str  # "env" | "existing" | "private-running" | "private-start" | "install" | "missing"
    url: str
    message: str


def plan_service(
    *,
    name: str,
    env_url: str | None,
    default_url: str,
    private_url: str,
    default_answers: bool,
    private_answers: bool,
    binaries_present: bool,
    root_with_apt: bool,
    package: str,
) -> ServicePlan:
    """The bootstrap's decision for one service, free of side effects."""
    if env_url:
        return ServicePlan("env", env_url, f"{name}: using the URL from the environment")
    if default_answers:
        return ServicePlan("existing", default_url, f"{name}: using the server on {urlsplit(default_url).netloc}")
    if private_answers:
        return ServicePlan("private-running", private_url, f"{name}: using the private server under .var/")
    if binaries_present:
        return ServicePlan("private-start", private_url, f"{name}: starting a private server under .var/")
    if root_with_apt:
        return ServicePlan("install", private_url, f"{name}: installing the {package} package, then a private server")
    return ServicePlan(
        "missing",
        "",
        f"{name} is not running and not installed. Install it (Debian/Ubuntu: "
        f"sudo apt-get install {package}) or set {'DATABASE_URL' if name == 'PostgreSQL' else 'REDIS_URL'}.",
    )


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pg_bindir() -> Path | None:
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        return Path(shutil.which("initdb")).parent  # type: ignore[arg-type]
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return candidates[0].parent if candidates else None


def as_postgres_user(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    if is_root():
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def start_private_postgres() -> None:
    bindir = pg_bindir()
    if bindir is None:
        sys.exit("PostgreSQL binaries not found after install.")
    data = VAR / "postgres"
    VAR.mkdir(exist_ok=True)
    if is_root():
        subprocess.run(["id", "postgres"], check=True, capture_output=True)
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if is_root():
            shutil.chown(data, "postgres", "postgres")
        subprocess.run(
            as_postgres_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    log = data / "server.log"
    subprocess.run(
        as_postgres_user(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "start",
                "-o",
                f"-p {PG_PRIVATE_PORT} -c listen_addresses=127.0.0.1 -k {data} -c max_connections=200",
            ]
        ),
        check=True,
    )


def start_private_redis() -> None:
    directory = VAR / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(REDIS_PRIVATE_PORT),
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "yes",
            "--dir",
            str(directory),
            "--pidfile",
            str(directory / "redis.pid"),
            "--logfile",
            str(directory / "redis.log"),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
    )
    for _ in range(50):
        if port_answers("127.0.0.1", REDIS_PRIVATE_PORT):
            return
        time.sleep(0.1)
    sys.exit("The private Redis did not start; see .var/redis/redis.log")


def ensure_services() -> dict[str, str]:
    root_apt = is_root() and bool(shutil.which("apt-get"))
    pg = plan_service(
        name="PostgreSQL",
        env_url=os.environ.get("DATABASE_URL"),
        default_url=PG_DEFAULT_URL,
        private_url=f"postgres://postgres@127.0.0.1:{PG_PRIVATE_PORT}/ticketing",
        default_answers=port_answers(*PG_DEFAULT),
        private_answers=port_answers("127.0.0.1", PG_PRIVATE_PORT),
        binaries_present=pg_bindir() is not None,
        root_with_apt=root_apt,
        package="postgresql",
    )
    redis = plan_service(
        name="Redis",
        env_url=os.environ.get("REDIS_URL"),
        default_url=REDIS_DEFAULT_URL,
        private_url=f"redis://127.0.0.1:{REDIS_PRIVATE_PORT}/0",
        default_answers=port_answers(*REDIS_DEFAULT),
        private_answers=port_answers("127.0.0.1", REDIS_PRIVATE_PORT),
        binaries_present=shutil.which("redis-server") is not None,
        root_with_apt=root_apt,
        package="redis-server",
    )
    for plan, start, package in (
        (pg, start_private_postgres, "postgresql"),
        (redis, start_private_redis, "redis-server"),
    ):
        say(plan.message)
        if plan.action == "missing":
            sys.exit(plan.message)
        if plan.action == "install":
            if not apt_install(package):
                sys.exit(f"apt-get could not install {package}.")
            start()
        elif plan.action == "private-start":
            start()
    ensure_database(pg.url)
    return {"DATABASE_URL": pg.url, "REDIS_URL": redis.url}


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "postgres"
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            say(f"creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def secret_key() -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = VAR / "secret_key"
    VAR.mkdir(exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def stack_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(ensure_services())
    env["SECRET_KEY"] = secret_key()
    env.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")
    # Plain http on this machine: no secure-only cookies, HSTS or https redirect.
    env.setdefault("ENVIRONMENT", "development")
    # On this machine the load generator stands in for a proxy: Locust gives
    # each simulated fan its own X-Forwarded-For address, so the per-address
    # join limits see many fans, not one (docs/loadtest.md). Only loopback.
    env.setdefault("TRUSTED_PROXIES", "127.0.0.1/32,::1/128")
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def manage(env: dict[str, str], *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_PY), "manage.py", *args], cwd=ROOT, env=env, check=True, text=True, capture_output=capture
    )


# --- commands ----------------------------------------------------------------


def cmd_env() -> int:
    for key, value in stack_env().items():
        if key in ("DATABASE_URL", "REDIS_URL"):
            print(f"export {key}={value}")
    return 0


def cmd_prepare(env: dict[str, str]) -> None:
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "collectstatic", "--no-input", "-v", "0")
    # A store you can try: the tour as a rehearsal on sale now (the real
    # 2026 shows are over; `seed_demo` alone builds them on their real dates).
    manage(env, "seed_demo", "--if-empty", "--sale-opens-in", "0")
    manage(env, "ensure_promoter")


# How long `make run` lets its processes stop on SIGTERM before SIGKILL.
STOP_GRACE_DEFAULT = 5.0
# After SIGKILL, how long to wait for the kernel to take them away.
KILL_WAIT = 5.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def stop_grace_seconds(env: dict[str, str]) -> float:
    raw = env.get("STOP_GRACE_SECONDS", "").strip()
    if not raw:
        return STOP_GRACE_DEFAULT
    try:
        value = float(raw)
    except ValueError:
        sys.exit(f"STOP_GRACE_SECONDS must be a number of seconds, got {raw!r}")
    return max(0.0, value)


def running_groups(pgids: set[int]) -> set[int]:
    """The groups among `pgids` with a process still running. Zombies do not
    count: they hold no port and no CPU, and an orphan's zombie may never be
    reaped when PID 1 is not an init (containers)."""
    alive = set()
    for pgid in pgids:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass
        alive.add(pgid)
    if not alive or not Path("/proc/self/stat").exists():
        return alive
    running = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        fields = text[text.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[0] not in ("Z", "X") and int(fields[2]) in alive:
            running.add(int(fields[2]))
    return running


def run_watchdog() -> int:
    """`devstack.py _watchdog`: the supervisor's watchdog. It reads the
    process groups to guard from its stdin, one per line ("-N" once group N
    is gone), and when stdin reaches EOF, because the supervisor exited or was
    killed in any way (SIGKILL included), it SIGKILLs every group still
    listed: the grandchildren the parent-death signal does not reach, and the
    children on systems without one. It runs in its own session, so a
    terminal's Ctrl-C or hangup never reaches it."""
    groups: set[int] = set()
    pending = b""
    while chunk := os.read(0, 4096):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            pgid = int(line)
            if pgid > 0:
                groups.add(pgid)
            else:
                groups.discard(-pgid)
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass
    return 0


def exec_child(argv: list[str]) -> int:
    """`devstack.py _child SUPERVISOR_PID CMD...`: how every supervised
    process starts. On Linux it asks the kernel for SIGKILL when its parent
    (the supervisor) dies, however it dies, then execs CMD, which keeps the
    request. (Done here rather than in a Popen preexec_fn, which is unsafe in
    a process with threads, as the supervisor is.) Elsewhere, or if prctl
    fails, the supervisor's watchdog covers the same case a moment later."""
    supervisor, cmd = int(argv[0]), argv[1:]
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != supervisor:
        return 1  # the supervisor died before prctl: nobody would ever stop us
    os.execvp(cmd[0], cmd)


class Supervisor:
    """Runs the processes in the foreground, prefixes their logs, and stops
    them all on Ctrl-C, SIGTERM, SIGHUP or when one of them exits.

    Each process runs in its own session (so a terminal's Ctrl-C reaches only
    the supervisor, which stops them in order) and is stopped as a whole
    process group: SIGTERM, STOP_GRACE_SECONDS to exit, then SIGKILL, and the
    supervisor returns only once nothing of any group is left running, so the
    port is free when `make run` returns. A second Ctrl-C (or SIGTERM) skips
    the grace period but not the waiting. If the supervisor itself dies, its
    children die with it (see exec_child and run_watchdog).
    """

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.grace = stop_grace_seconds(env)
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.stopping = threading.Event()
        self.kill_now = threading.Event()
        # Installed before the first child starts: a signal arriving between
        # two starts must stop the ones already running, not orphan them.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self.stop)
        self.watchdog = subprocess.Popen(self.helper("_watchdog"), stdin=subprocess.PIPE, start_new_session=True)

    @staticmethod
    def helper(*args: str) -> list[str]:
        # -I -S: the standard library only, nothing from the environment.
        return [sys.executable, "-I", "-S", str(Path(__file__).resolve()), *args]

    def start(
        self, name: str, cmd: list[str], *, env: dict[str, str] | None = None, pass_fds: tuple[int, ...] = ()
    ) -> None:
        # Call from the main thread: the kernel's parent-death signal follows
        # the thread that started the child, not the process.
        proc = subprocess.Popen(
            [*self.helper("_child", str(os.getpid())), *cmd],
            cwd=ROOT,
            env=env or self.env,
            pass_fds=pass_fds,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append((name, proc))
        self._tell_watchdog(proc.pid)
        threading.Thread(target=self._pump, args=(name, proc), daemon=True).start()

    def _tell_watchdog(self, pgid: int) -> None:
        assert self.watchdog.stdin is not None
        try:
            self.watchdog.stdin.write(f"{pgid}\n".encode())
            self.watchdog.stdin.flush()
        except OSError:
            pass  # the watchdog is gone; the parent-death signal still holds

    def _pump(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in iter(proc.stdout.readline, b""):
            try:
                sys.stdout.write(f"{name:>7} | {line.decode(errors='replace')}")
                sys.stdout.flush()
            except (OSError, ValueError):
                # The terminal is gone (closed window, broken pipe): keep
                # draining, or the child would block writing its logs.
                pass

    def stop(self, *_: object) -> None:
        if self.stopping.is_set():
            self.kill_now.set()
        self.stopping.set()

    def wait(self) -> int:
        code = 0
        try:
            while not self.stopping.is_set():
                for name, proc in self.procs:
                    if proc.poll() is not None:
                        say(f"{name} exited with {proc.returncode}; stopping everything")
                        code = proc.returncode or 1
                        self.stopping.set()
                self.stopping.wait(0.5)
        finally:
            self.shutdown()
        return code

    def shutdown(self) -> None:
        """Stop every process group and wait until none is left running."""
        self.stopping.set()
        groups = {proc.pid: name for name, proc in self.procs}
        say(f"stopping (SIGKILL after {self.grace:g} s; Ctrl-C again to kill at once)")
        # Every group, even one whose leader already exited: what it forked
        # may still be there.
        left = self._signal_and_wait(set(groups), signal.SIGTERM, self.grace)
        if left:
            say(f"still running: {', '.join(sorted(groups[g] for g in left))}; sending SIGKILL")
            left = self._signal_and_wait(left, signal.SIGKILL, KILL_WAIT)
        if left:
            say(f"could not stop process groups {sorted(left)}")
        assert self.watchdog.stdin is not None
        self.watchdog.stdin.close()  # it SIGKILLs whatever is still listed, then exits
        try:
            self.watchdog.wait(KILL_WAIT)
        except subprocess.TimeoutExpired:
            self.watchdog.kill()

    def _signal_and_wait(self, pgids: set[int], sig: int, timeout: float) -> set[int]:
        for pgid in pgids:
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while True:
            for _, proc in self.procs:
                proc.poll()  # reap our own children
            alive = running_groups(pgids)
            for pgid in pgids - alive:
                self._tell_watchdog(-pgid)
            pgids = alive
            if not pgids or time.monotonic() >= deadline:
                return pgids
            if sig == signal.SIGKILL:
                time.sleep(0.05)
            elif self.kill_now.wait(0.05):
                return pgids  # a second Ctrl-C: no more grace


def web_command(env: dict[str, str], host: str, port: str, *, fd: int | None = None) -> list[str]:
    """The web server as `make run` starts it (tests start it the same way).
    Daphne through ticketing/server.py, which adds the head and body
    deadlines, the keep-alive timeout and the size limits (HTTP_* settings);
    uvicorn with the options it has for them. With `fd`, the server accepts
    on that inherited listening socket instead of binding host:port (several
    web processes behind one port, see web_processes)."""
    # The server drops a WebSocket message over this before buffering it
    # whole (defaults: Daphne 1 MiB, uvicorn 16 MiB); the consumer checks it too.
    ws_max = env.get("QUEUE_WS_MAX_MESSAGE_BYTES") or "1024"
    where = ["--fd", str(fd)] if fd is not None else None
    if env.get("ASGI_SERVER", "daphne") == "uvicorn":
        return [
            str(VENV / "bin" / "uvicorn"),
            "ticketing.asgi:application",
            *(where or ["--host", host, "--port", port]),
            "--no-server-header",
            "--timeout-keep-alive",
            env.get("HTTP_KEEPALIVE_TIMEOUT") or "75",
            "--ws-max-size",
            ws_max,
        ]
    return [
        str(VENV_PY),
        "-m",
        "ticketing.server",
        *(where or ["-b", host, "-p", port]),
        "--websocket-max-message-size",
        ws_max,
        "--websocket-max-frame-size",
        ws_max,
        "ticketing.asgi:application",
    ]


def web_processes(env: dict[str, str]) -> int:
    """WEB_PROCESSES: how many web server processes serve the one port (1)."""
    raw = env.get("WEB_PROCESSES") or "1"
    try:
        count = int(raw)
    except ValueError:
        raise SystemExit(f"WEB_PROCESSES must be a whole number, not {raw!r}") from None
    if not 1 <= count <= 64:
        raise SystemExit(f"WEB_PROCESSES must be between 1 and 64, not {count}")
    return count


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    """One listening TCP socket that several web processes inherit and accept
    on: the kernel hands each new connection to one of the processes waiting
    in accept, so a busy process takes fewer. Bound here, in the supervisor,
    so the port is taken (or refused) once, before any server starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def web_env(env: dict[str, str], processes: int) -> dict[str, str]:
    """Each web process has its own database pool: with several, each gets a
    share of what one would have (DB_POOL_MAX, 20), at least 5, so that N
    processes do not open N times the connections PostgreSQL allows (100 by
    default, shared with Celery and the admitter). An explicit DB_POOL_MAX
    is kept as it is, per process."""
    if processes == 1 or env.get("DB_POOL_MAX"):
        return env
    return {**env, "DB_POOL_MAX": str(max(5, 40 // processes))}


def start_web(sup: Supervisor, env: dict[str, str], host: str, port: str) -> None:
    """`make run`'s web tier: one server process on host:port, or with
    WEB_PROCESSES=N, N processes accepting on one socket bound here."""
    processes = web_processes(env)
    if processes == 1:
        sup.start("web", web_command(env, host, port))
        return
    backlog = int(env.get("HTTP_LISTEN_BACKLOG") or "1024")
    sock = listening_socket(host, int(port), backlog)
    penv = web_env(env, processes)
    for number in range(1, processes + 1):
        sup.start(f"web{number}", web_command(penv, host, port, fd=sock.fileno()), env=penv, pass_fds=(sock.fileno(),))
    say(f"{processes} web processes on {host}:{port} (DB_POOL_MAX={penv.get('DB_POOL_MAX', '20')} each)")


LOCALSTRIPE = "http://127.0.0.1:8420"


def plan_psp(*, env_base: str | None, default_answers: bool) -> ServicePlan:
    """The bootstrap's decision for the PSP, free of side effects: a
    STRIPE_API_BASE from the environment is used as it is (a real Stripe test
    account, or someone's emulator); else a localstripe answering on 8420;
    else `make run` starts one (scripts/localstripe_server.py, its state under .var/)."""
    if env_base:
        return ServicePlan("env", env_base, "PSP: using STRIPE_API_BASE from the environment")
    if default_answers:
        return ServicePlan("existing", LOCALSTRIPE, "PSP: using the localstripe on 127.0.0.1:8420")
    return ServicePlan("private-start", LOCALSTRIPE, "PSP: starting localstripe on 127.0.0.1:8420 (state under .var/)")


def register_webhook(base: str, *, url: str, secret: str, name: str) -> None:
    """Point localstripe's webhooks for this stack at our endpoint."""
    import urllib.parse
    import urllib.request

    data = urllib.parse.urlencode({"url": url, "secret": secret}).encode()
    request = urllib.request.Request(f"{base}/_config/webhooks/{name}", data=data, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - the local emulator
        pass


def start_psp(sup: Supervisor, env: dict[str, str], host: str, port: str) -> None:
    plan = plan_psp(env_base=os.environ.get("STRIPE_API_BASE"), default_answers=port_answers("127.0.0.1", 8420))
    say(plan.message)
    if plan.action == "env":
        return
    if plan.action == "private-start":
        (VAR / "localstripe").mkdir(parents=True, exist_ok=True)
        state = str(VAR / "localstripe" / "state.pickle")
        sup.start(
            "psp", [str(VENV_PY), str(ROOT / "scripts" / "localstripe_server.py"), "--port", "8420", "--state", state]
        )
        deadline = time.monotonic() + 30
        while not port_answers("127.0.0.1", 8420):
            if time.monotonic() > deadline:
                say("localstripe did not start; payments will answer 503")
                return
            time.sleep(0.2)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    try:
        register_webhook(
            plan.url,
            url=f"http://{shown}:{port}/payments/stripe/webhook/",
            secret=env.get("STRIPE_WEBHOOK_SECRET", "whsec_localstripe"),
            name=f"ticketing-{port}",
        )
    except OSError as exc:
        say(f"could not register the webhook with localstripe ({exc}); paid orders settle on reconciliation only")


def cmd_run() -> int:
    env = stack_env()
    cmd_prepare(env)
    host = env.get("HOST", "127.0.0.1")
    port = env.get("PORT", "8000")
    # Links in e-mails point at this server unless the environment says otherwise.
    env.setdefault("SITE_URL", f"http://{host}:{port}")
    sup = Supervisor(env)
    start_psp(sup, env, host, port)
    start_web(sup, env, host, port)
    celery = [str(VENV / "bin" / "celery"), "-A", "ticketing", "worker", "-l", "INFO"]
    # The default queue: the sweeper, the heartbeat.
    sup.start("worker", [*celery, "-Q", "celery", "-n", "default@%h", "-c", env.get("CELERY_CONCURRENCY", "2")])
    # Payment work (CELERY_TASK_ROUTES) on its own worker: its tasks sleep
    # until the PSP's leaky bucket gives them a slot, which must never hold up
    # the sweeper or the heartbeat. Threads, since they mostly wait (on the
    # bucket and on the PSP); the bucket, not this number, sets the outflow.
    payments_pool = ["-P", "threads", "-c", env.get("PAYMENTS_CONCURRENCY", "8")]
    sup.start("payments", [*celery, "-Q", "payments", "-n", "payments@%h", *payments_pool])
    # The waiting room's admitter: one tick per second, leader-elected (queueroom).
    sup.start("admit", [str(VENV_PY), "manage.py", "run_admitter"])
    sup.start(
        "beat",
        [str(VENV / "bin" / "celery"), "-A", "ticketing", "beat", "-l", "INFO", "-s", str(VAR / "celerybeat-schedule")],
    )
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    say(f"fans:      http://{shown}:{port}/")
    say(f"promoters: http://{shown}:{port}/admin/")
    say("Ctrl-C stops everything")
    return sup.wait()


BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_browser() -> str | None:
    """Chromium for the browser tests: CHROMIUM_PATH, else one on PATH, else
    Debian's package installed with apt-get when running as root."""
    if os.environ.get("CHROMIUM_PATH"):
        return os.environ["CHROMIUM_PATH"]
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None and apt_install("chromium"):
        found = shutil.which("chromium")
    if found is None:
        say("no Chromium (install the chromium package or set CHROMIUM_PATH): the browser tests will be skipped")
    return found


def cmd_test(args: list[str]) -> int:
    env = stack_env()
    env["REDIS_KEY_PREFIX"] = f"test{os.getpid()}"
    browser = find_browser()
    if browser:
        env["CHROMIUM_PATH"] = browser
    steps = [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        [str(VENV_PY), "-m", "mypy"],
        [str(VENV_PY), "manage.py", "makemigrations", "--check", "--dry-run"],
        [str(VENV_PY), "-m", "pytest", *args],
    ]
    for step in steps:
        say("$ " + " ".join(step))
        result = subprocess.run(step, cwd=ROOT, env=env, check=False)
        if result.returncode != 0:
            say(f"FAILED: {' '.join(step)} (exit {result.returncode})")
            return result.returncode
    return 0


def cmd_exec(args: list[str]) -> int:
    """Run any command with the stack's environment (used by bench/ and make targets)."""
    env = stack_env()
    return subprocess.run(args, cwd=ROOT, env=env, check=False).returncode


def cmd_stop() -> int:
    data = VAR / "postgres"
    bindir = pg_bindir()
    if (data / "postmaster.pid").exists() and bindir:
        subprocess.run(as_postgres_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]), check=False)
    pidfile = VAR / "redis" / "redis.pid"
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        except (ValueError, ProcessLookupError):
            pass
    say("private servers stopped (servers you started yourself are left alone)")
    return 0


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "_child":
        return exec_child(rest)
    if command == "_watchdog":
        return run_watchdog()
    if not in_venv():
        ensure_venv()
        os.execv(str(VENV_PY), [str(VENV_PY), __file__, *argv])
    if command == "run":
        return cmd_run()
    if command == "test":
        return cmd_test(rest)
    if command == "env":
        return cmd_env()
    if command == "prepare":
        cmd_prepare(stack_env())
        return 0
    if command == "exec":
        return cmd_exec(rest)
    if command == "stop":
        return cmd_stop()
    print(f"unknown command {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
