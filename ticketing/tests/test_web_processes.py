"""`make run` with WEB_PROCESSES=N: N web servers accept on one socket that
the supervisor binds (scripts/devstack.py, start_web). Each process really
serves the port: with one killed, the other still answers; with both gone,
nobody does."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from scripts import devstack
from ticketing.tests.live import free_port, get


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def answers(port: int) -> bool:
    try:
        status, _ = get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    except OSError:
        return False
    return status == 200


@contextmanager
def web_tier(kind: str, processes: int) -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    port = free_port()
    env = {**os.environ, "ASGI_SERVER": kind, "LOG_LEVEL": "WARNING", "WEB_PROCESSES": str(processes)}
    sock = devstack.listening_socket("127.0.0.1", port, 128)
    penv = devstack.web_env(env, devstack.web_processes(env))
    procs = [
        subprocess.Popen(
            devstack.web_command(penv, "127.0.0.1", str(port), fd=sock.fileno()),
            cwd=devstack.ROOT,
            env=penv,
            pass_fds=(sock.fileno(),),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(processes)
    ]
    sock.close()  # the servers hold it now; the port lives as long as one of them
    try:
        yield port, procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
def test_every_process_serves_the_one_port(kind: str) -> None:
    with web_tier(kind, 2) as (port, procs):
        wait_for(lambda: answers(port), f"{kind} to answer")
        first, second = procs
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        # Connections wait in the socket's backlog until the second process
        # (which may still be starting on a busy machine) accepts them.
        wait_for(lambda: answers(port), "the second process to serve the port")
        assert all(answers(port) for _ in range(5))
        second.send_signal(signal.SIGKILL)
        second.wait(10)
        assert not answers(port), "something else answered on the port"


def test_pool_is_shared_out_between_processes() -> None:
    assert devstack.web_env({}, 1) == {}
    assert devstack.web_env({}, 2)["DB_POOL_MAX"] == "20"
    assert devstack.web_env({}, 4)["DB_POOL_MAX"] == "10"
    assert devstack.web_env({}, 16)["DB_POOL_MAX"] == "5"
    assert devstack.web_env({"DB_POOL_MAX": "7"}, 4)["DB_POOL_MAX"] == "7"


@pytest.mark.parametrize("raw", ["0", "-1", "two", "65"])
def test_bad_web_processes_is_refused(raw: str) -> None:
    with pytest.raises(SystemExit, match="WEB_PROCESSES"):
        devstack.web_processes({"WEB_PROCESSES": raw})
