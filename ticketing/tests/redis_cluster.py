"""A local Redis Cluster for tests: three masters (no replicas) on free
loopback ports, their cluster files in a temporary directory, started once
per test session (and per xdist worker) and stopped at its end.

Fixtures (loaded by the root conftest): ``redis_cluster`` (session),
``queue_on_cluster`` (points the waiting room's clients at it). Used by
queueroom/tests/test_on_cluster.py; docs/redis-cluster.md.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import redis
from django.test import override_settings

MASTERS = 3
START_SECONDS = 30.0


def _free_ports(count: int) -> list[int]:
    """Ports the kernel has just handed out as free, all held at once so they differ."""
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


class LocalCluster:
    """``MASTERS`` redis-servers in cluster mode, joined by ``redis-cli --cluster create``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        # Each node: a client port and its cluster bus port (cluster-port, Redis 7),
        # both free ports rather than the default port + 10000.
        ports = _free_ports(2 * MASTERS)
        self.ports, bus_ports = ports[:MASTERS], ports[MASTERS:]
        self.procs: list[subprocess.Popen[bytes]] = []
        server = shutil.which("redis-server") or "redis-server"
        for port, bus in zip(self.ports, bus_ports, strict=True):
            self.procs.append(
                subprocess.Popen(  # noqa: S603 - the local redis-server
                    [
                        server,
                        *("--port", str(port), "--cluster-port", str(bus), "--bind", "127.0.0.1"),
                        *("--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf"),
                        *("--dir", str(workdir), "--save", "", "--appendonly", "no"),
                        *("--logfile", f"redis-{port}.log"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        """A startup node: the client learns the others from it."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def node(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, decode_responses=True, socket_timeout=5)

    def _wait(self, what: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + START_SECONDS
        while not ready():
            if any(p.poll() is not None for p in self.procs) or time.monotonic() > deadline:
                raise RuntimeError(f"the local Redis Cluster did not start: {what} (logs in {self.workdir})")
            time.sleep(0.02)  # no event to wait on: the nodes answer within milliseconds

    def _answers(self, port: int) -> bool:
        try:
            with self.node(port) as c:
                return bool(c.ping())
        except redis.exceptions.ConnectionError:
            return False

    def _state_ok(self, port: int) -> bool:
        with self.node(port) as c:
            info = c.execute_command("CLUSTER INFO")  # parsed into a dict by redis-py
        return bool(info.get("cluster_state") == "ok")

    def _start(self) -> None:
        for port in self.ports:
            self._wait(f"node {port} does not answer", lambda port=port: self._answers(port))
        cli = shutil.which("redis-cli") or "redis-cli"
        subprocess.run(  # noqa: S603 - the local redis-cli
            [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports)]
            + ["--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=START_SECONDS,
        )
        # redis-cli returns once the nodes agree on the slots; each node says
        # "ok" once it has heard from the others.
        self._wait("cluster_state is not ok", lambda: all(self._state_ok(p) for p in self.ports))

    def masters(self) -> dict[str, tuple[int, int]]:
        """Node id -> (client port, number of keys it holds)."""
        out = {}
        for port in self.ports:
            with self.node(port) as c:
                out[str(c.execute_command("CLUSTER MYID"))] = (port, int(c.dbsize()))
        return out

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs:
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server and redis-cli are needed for the Redis Cluster tests")
    cluster = LocalCluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def queue_on_cluster(redis_cluster: LocalCluster) -> Iterator[LocalCluster]:
    """The waiting room (queueroom's scripts and keys, the join limiters) on
    the cluster for a whole test module; its clients are rebuilt on the way
    in and out (queueroom.redis_scripts.reset_clients). Module-scoped so it
    is in place before the function fixtures that clean the queue's keys."""
    with override_settings(QUEUE_REDIS_URL=redis_cluster.url, QUEUE_REDIS_CLUSTER=True):
        yield redis_cluster
