"""Redis outages for tests: a private redis-server to pause (SIGSTOP, what a
Redis that hangs instead of refusing looks like to its clients) and resume,
a port that never completes a connection, and a hang detector.

Fixtures (loaded by the root conftest): ``private_redis``, ``silent_redis_url``.
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
import redis
from django.test import override_settings

T = TypeVar("T")

HANG = 10.0
"""Seconds after which a call counts as hung (the clients' timeouts are far shorter)."""


class PrivateRedis:
    """A redis-server of this test alone, on a free port, without persistence."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{port}/0"
        self.paused = False
        check = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                check.ping()
                break
            except redis.exceptions.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the private redis-server did not start") from None
                time.sleep(0.02)  # no event to wait on: the server starts in a few ms
            finally:
                check.close()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5)

    def pause(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)
        self.paused = False

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def silent_redis_url() -> Iterator[str]:
    """A Redis URL whose connections never complete: a listening socket whose
    one-place accept queue is already full, so the kernel drops every SYN
    (what a host that vanished or a black-holing firewall looks like)."""
    listener = socket.socket()
    filler = socket.socket()
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        filler.connect(listener.getsockname())
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        filler.close()
        listener.close()


@contextmanager
def redis_at(url: str, *, connect_timeout: float, socket_timeout: float) -> Iterator[None]:
    """Point every Redis client the settings configure at ``url``, with these
    timeouts wherever the settings set one (a client the settings give no
    timeout keeps none, as in production). The queue's clients are rebuilt on
    the way in and out (queueroom.redis_scripts.reset_clients)."""
    from django.conf import settings

    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = url
    options = caches["default"].setdefault("OPTIONS", {})
    for key, value in (("SOCKET_CONNECT_TIMEOUT", connect_timeout), ("SOCKET_TIMEOUT", socket_timeout)):
        if key in options:
            options[key] = value
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    hosts = layers["default"]["CONFIG"]["hosts"]
    for i, host in enumerate(hosts):
        host = dict(host) if isinstance(host, dict) else {"address": host}
        host["address"] = url
        for key, value in (("socket_connect_timeout", connect_timeout), ("socket_timeout", socket_timeout)):
            if key in host:
                host[key] = value
        hosts[i] = host
    with override_settings(
        REDIS_URL=url,
        REDIS_CONNECT_TIMEOUT=connect_timeout,
        REDIS_SOCKET_TIMEOUT=socket_timeout,
        CACHES=caches,
        CHANNEL_LAYERS=layers,
    ):
        yield


def bounded(call: Callable[[], T], *, seconds: float = HANG) -> T:
    """``call()`` on a thread; its result, or the test fails if it has not
    returned after ``seconds``: it hung."""
    from django.db import connections

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"no answer after {seconds:.0f} s: the call hangs on Redis")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]
