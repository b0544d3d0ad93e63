"""Benchmark 1: joins per second through the HTTP API (POST
/api/v1/events/{slug}/queue/), one server process, load client on the same
box, each request a new browser (so each is a real join). Prints
redis-benchmark on the same machine for scale.

CHALLENGE=1: the event asks for the proof of work (queueroom.bots) and each
join carries its own solved ALTCHA payload ({"altcha": ...}, ~600 bytes),
made before the clock starts at a trivial difficulty (the server's check is
two HMACs and a SET NX whatever the difficulty). Without it the event asks
for none (difficulty 0). The join limits are off unless set in the
environment (see LIMITS).

CLUSTER=1: the waiting room (its keys, scripts and the join limiters) on a
local 3-master Redis Cluster (docs/redis-cluster.md) instead of REDIS_URL.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import bench_event, drop_queue, free_port, setup_django, start_server, stop

CONCURRENCY = int(os.environ.get("CONCURRENCY", "64"))
DURATION = float(os.environ.get("DURATION", "10"))
CHALLENGE = os.environ.get("CHALLENGE") == "1"
CLUSTER = os.environ.get("CLUSTER") == "1"
# The join limits (one client address here): off unless set in the environment
# (e.g. "1000000/6000000" each: every join pays their Redis round trip, none is refused).
LIMITS = {
    name: os.environ.get(name, "")
    for name in (
        "JOIN_LIMIT_PER_ADDRESS",
        "JOIN_LIMIT_PER_NETWORK",
        "NEW_FAN_LIMIT_PER_ADDRESS",
        "NEW_FAN_LIMIT_PER_NETWORK",
    )
}
PAYLOADS: list[bytes] = []


def solved_payloads(event_id: int, count: int) -> list[bytes]:
    from queueroom import bots

    now = time.time()
    return [
        json.dumps({"altcha": bots.solve(bots.new_challenge(event_id, 10, now=now))}).encode() for _ in range(count)
    ]


def set_difficulty(event, difficulty: int) -> None:  # type: ignore[no-untyped-def]
    from queueroom import services
    from queueroom.models import QueueConfig

    services.load_setup(event)
    QueueConfig.objects.filter(event=event).update(challenge_max_number=difficulty)


def _request(path: str) -> bytes:
    body = PAYLOADS.pop() if PAYLOADS else b""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def client(port: int, path: str, stop_at: float, counts: dict[int, int], lat: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        writer.write(_request(path))
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        lat.append(time.perf_counter() - started)
        counts[status] = counts.get(status, 0) + 1
    writer.close()


async def load(port: int, path: str) -> tuple[dict[int, int], list[float], float]:
    counts: dict[int, int] = {}
    lat: list[float] = []
    # Warm up (connections, caches), then measure.
    await asyncio.gather(*(client(port, path, time.perf_counter() + 1, {}, []) for _ in range(8)))
    started = time.perf_counter()
    stop_at = started + DURATION
    await asyncio.gather(*(client(port, path, stop_at, counts, lat) for _ in range(CONCURRENCY)))
    return counts, lat, time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (includes the 1 s warm-up: a slight overestimate)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    cluster = None
    if CLUSTER:
        from ticketing.tests.redis_cluster import LocalCluster

        cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="bench-cluster-")))
        # Set before Django starts here and inherited by the servers started below.
        os.environ["QUEUE_REDIS_URL"], os.environ["QUEUE_REDIS_CLUSTER"] = cluster.url, "1"
    try:
        run()
    finally:
        if cluster is not None:
            cluster.stop()


def run() -> None:
    setup_django()
    event = bench_event()
    servers = sys.argv[1:] or ["daphne", "uvicorn"]
    mode = "each with a solved challenge" if CHALLENGE else "no challenge"
    mode += ", the queue on a 3-master Redis Cluster" if CLUSTER else ""
    print(f"Joins through HTTP, {CONCURRENCY} keep-alive connections, {DURATION:.0f} s, one server process, {mode}")
    for kind in servers:
        bench_event()
        set_difficulty(event, 10 if CHALLENGE else 0)
        if CHALLENGE:
            PAYLOADS[:] = solved_payloads(event.pk, int(os.environ.get("PAYLOADS", "40000")))
        port = free_port()
        proc = start_server(kind, port, {"DB_POOL": "1", **LIMITS})
        try:
            cpu_before = cpu_seconds(proc.pid)
            counts, lat, elapsed = asyncio.run(load(port, f"/api/v1/events/{event.slug}/queue/"))
            cpu = cpu_seconds(proc.pid) - cpu_before
        finally:
            stop(proc)
        lat.sort()
        ok = counts.get(201, 0)

        def p(q: float, lat: list[float] = lat) -> float:
            return lat[int(q * (len(lat) - 1))] * 1000

        print(
            f"{kind:>8}: {ok / elapsed:7.0f} joins/s  (statuses {counts}; latency p50 {p(0.5):.1f} ms, "
            f"p95 {p(0.95):.1f} ms, p99 {p(0.99):.1f} ms); server CPU {cpu * 1000 / max(ok, 1):.2f} ms/join "
            f"= {ok / max(cpu, 1e-9):.0f} joins per CPU-second; load average {os.getloadavg()[0]:.1f}"
        )
    drop_queue(event)
    print("redis-benchmark on the same machine (-q -n 100000 -c 50):")
    out = subprocess.run(
        ["redis-benchmark", "-q", "-n", "100000", "-c", "50", "-t", "incr,set,get", "-P", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line.strip().split("\r")[-1] for line in out.stdout.strip().splitlines()]
    print("  " + "\n  ".join(line for line in lines if "requests per second" in line))


if __name__ == "__main__":
    main()
