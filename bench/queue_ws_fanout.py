"""Benchmark 3: WebSocket fan-out. N connections held by ONE server process,
one queue update per connection every 2 s (one broadcast per tick through
the channels-redis pub/sub layer, fanned out in-process by QueueHub).
Measures delivery delay (tick published -> message parsed by the client),
missed updates and server memory per connection.

    python bench/queue_ws_fanout.py [daphne|uvicorn] [connections] [seconds]
(raise `ulimit -n` above 2 x connections + slack first)"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from _common import bench_event, fill_queue, free_port, setup_django, start_server, stop

TICK_EVERY = 2.0


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def prepare(n: int):  # type: ignore[no-untyped-def]
    from queueroom import passes, services

    event = bench_event(rate=1)
    services.tick(event=event, now=time.time() - 5)  # open the lane
    fill_queue(event, n + 100, now=time.time())  # the first 100 are not connected: nobody's turn comes
    lane = services.load_setup(event).general.id
    doc = services.tick(event=event, now=time.time() - 4)
    assert doc is not None
    tokens = [passes.sign_token(passes.QueueToken(event.pk, lane, 101 + i)) for i in range(n)]
    return event, doc, tokens


async def run(kind: str, n: int, seconds: float, event, doc, tokens) -> None:  # type: ignore[no-untyped-def]
    from channels.layers import get_channel_layer
    from websockets.asyncio.client import connect

    from queueroom import services

    port = free_port()
    proc = start_server(kind, port)
    await asyncio.sleep(1.0)
    base_rss = rss_kb(proc.pid)
    delays: list[float] = []
    received = [0] * n
    connected = 0
    measuring = False
    sem = asyncio.Semaphore(200)
    stop_event = asyncio.Event()

    async def fan(i: int) -> None:
        nonlocal connected
        async with sem:
            ws = await connect(
                f"ws://127.0.0.1:{port}/ws/queue/{tokens[i]}/",
                origin="http://127.0.0.1",  # type: ignore[arg-type]
                ping_interval=None,
                max_queue=16,
                open_timeout=60,
            )
            await ws.recv()  # the snapshot
            connected += 1
        try:
            async for raw in ws:
                now = time.time()
                # Cheaper than json.loads: the client shares the 2 cores.
                at = raw.rfind('"updated_at": ')
                if measuring and at > 0:
                    delays.append(now - float(raw[at + 14 : raw.index("}", at)]))
                    received[i] += 1
        except Exception:  # noqa: S110 - closed at the end
            pass

    started = time.perf_counter()
    tasks = [asyncio.ensure_future(fan(i)) for i in range(n)]
    while connected < n:
        await asyncio.sleep(0.5)
        if time.perf_counter() - started > 600:
            raise RuntimeError(f"only {connected} of {n} connected")
    connect_s = time.perf_counter() - started
    await asyncio.sleep(2)
    full_rss = rss_kb(proc.pid)

    layer = get_channel_layer()
    group = services.group_name(event.pk)
    measuring = True
    ticks = 0
    t_end = time.time() + seconds
    while time.time() < t_end:
        doc["t"] = time.time()
        await layer.group_send(group, {"type": "queue.tick", "state": doc})
        ticks += 1
        await asyncio.sleep(TICK_EVERY)
    await asyncio.sleep(3)  # let the last tick drain
    measuring = False
    stop_event.set()
    stop(proc)
    for t in tasks:
        t.cancel()
    delays.sort()
    missed = sum(max(ticks - r, 0) for r in received)
    pct = lambda q: delays[int(q * (len(delays) - 1))] if delays else float("nan")  # noqa: E731
    print(
        f"{kind:>8} {n:>7,} conns: connect {connect_s:6.1f} s, {ticks} ticks, {len(delays):,} messages, "
        f"missed {missed}, delay p50 {pct(0.5) * 1000:.0f} ms p95 {pct(0.95) * 1000:.0f} ms "
        f"p99 {pct(0.99) * 1000:.0f} ms max {delays[-1] * 1000 if delays else 0:.0f} ms, "
        f"memory {(full_rss - base_rss) / n:.1f} KB/connection (RSS {base_rss // 1024} -> {full_rss // 1024} MB)"
    )


def main() -> None:
    setup_django()
    kind = sys.argv[1] if len(sys.argv) > 1 else "uvicorn"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 30
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 2 * n + 1000)), hard))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    asyncio.run(run(kind, n, seconds, *prepare(n)))


if __name__ == "__main__":
    main()
