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

from _common import bench_event, drop_queue, fill_queue, free_port, setup_django, start_server, stop

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


async def client(port: int, tokens: list[str], ready, go, done, out) -> None:  # type: ignore[no-untyped-def]
    """One load-client process: holds its connections, records delays while measuring."""
    from websockets.asyncio.client import connect

    delays: list[float] = []
    received = [0] * len(tokens)
    state = {"connected": 0, "measuring": False}
    # Handshakes in flight per client process (CONNECT_CONCURRENCY): a loaded
    # server then answers each before the client's timeout instead of working
    # on handshakes already given up.
    sem = asyncio.Semaphore(int(os.environ.get("CONNECT_CONCURRENCY", "100")))
    errors: dict[str, int] = {}

    async def fan(i: int) -> None:
        async with sem:
            for attempt in range(5):  # a busy server may time a handshake out: retry, and say so
                try:
                    ws = await connect(
                        f"ws://127.0.0.1:{port}/ws/queue/{tokens[i]}/",
                        origin="http://127.0.0.1",  # type: ignore[arg-type]
                        ping_interval=None,
                        max_queue=16,
                        open_timeout=300,
                    )
                    await ws.recv()  # the snapshot
                    break
                except Exception as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    if attempt == 4:
                        raise
            state["connected"] += 1
        try:
            async for raw in ws:
                now = time.time()
                # Cheaper than json.loads: the client shares the 2 cores.
                at = raw.rfind('"updated_at": ')
                if state["measuring"] and at > 0:
                    delays.append(now - float(raw[at + 14 : raw.index("}", at)]))
                    received[i] += 1
        except Exception:  # noqa: S110 - closed at the end
            pass

    tasks = [asyncio.ensure_future(fan(i)) for i in range(len(tokens))]
    while state["connected"] < len(tokens):
        await asyncio.sleep(0.2)
        if all(t.done() for t in tasks):
            print(f"client: {state['connected']} of {len(tokens)} connected, errors {errors}", flush=True)
            return
    if errors:
        print(f"client: retried connections after {errors}", flush=True)
    ready.set()
    while not go.is_set():
        await asyncio.sleep(0.05)
    state["measuring"] = True
    while not done.is_set():
        await asyncio.sleep(0.1)
    state["measuring"] = False
    out.put((delays, received))
    for t in tasks:
        t.cancel()


def client_process(port, tokens, ready, go, done, out) -> None:  # type: ignore[no-untyped-def]
    try:
        import uvloop

        uvloop.run(client(port, tokens, ready, go, done, out))
    except ImportError:
        asyncio.run(client(port, tokens, ready, go, done, out))


async def publish(event_id: int, doc, seconds: float) -> int:  # type: ignore[no-untyped-def]
    from channels.layers import get_channel_layer

    from queueroom import keys

    layer = get_channel_layer()
    group = keys.group_name(event_id)
    ticks = 0
    t_end = time.time() + seconds
    while time.time() < t_end:
        doc["t"] = time.time()
        await layer.group_send(group, {"type": "queue.tick", "state": doc})
        ticks += 1
        await asyncio.sleep(TICK_EVERY)
    await asyncio.sleep(3)  # let the last tick drain
    return ticks


def run(kind: str, n: int, seconds: float, event, doc, tokens) -> None:  # type: ignore[no-untyped-def]
    import multiprocessing as mp

    procs_n = int(os.environ.get("CLIENT_PROCS", "2"))
    port = free_port()
    server = start_server(kind, port)
    time.sleep(1.0)
    base_rss = rss_kb(server.pid)
    ctx = mp.get_context("fork")
    try:
        measure(kind, n, seconds, event, doc, tokens, server, ctx, port, procs_n, base_rss)
    finally:
        stop(server)


def measure(kind, n, seconds, event, doc, tokens, server, ctx, port, procs_n, base_rss) -> None:  # type: ignore[no-untyped-def]
    go, done, out = ctx.Event(), ctx.Event(), ctx.Queue()
    readies, clients = [], []
    started = time.perf_counter()
    for k in range(procs_n):
        ready = ctx.Event()
        p = ctx.Process(target=client_process, args=(port, tokens[k::procs_n], ready, go, done, out))
        p.start()
        readies.append(ready)
        clients.append(p)
    from queueroom import services

    deadline = time.monotonic() + max(300, n / 20)  # ~30 handshakes/s on a loaded 2-core machine
    for ready in readies:
        # Places without a heartbeat expire: while a slow machine connects
        # tens of thousands, keep the not yet connected ones alive, as their
        # pages would (the hub heartbeats the connected ones).
        while not ready.wait(20):
            services.heartbeat_many(tokens=tokens, now=time.time())
            if time.monotonic() > deadline:
                for p in clients:
                    p.terminate()
                raise RuntimeError("clients did not connect in time")
    connect_s = time.perf_counter() - started
    time.sleep(2)
    full_rss = rss_kb(server.pid)
    go.set()
    time.sleep(0.5)  # every client is measuring before the first tick
    ticks = asyncio.run(publish(event.pk, doc, seconds))
    done.set()
    delays: list[float] = []
    missed = 0
    for _ in clients:
        d, received = out.get(timeout=60)
        delays += d
        missed += sum(max(ticks - r, 0) for r in received)
    for p in clients:
        p.join(10)
    delays.sort()

    def pct(q: float) -> float:
        return delays[int(q * (len(delays) - 1))] * 1000 if delays else float("nan")

    print(
        f"{kind:>8} {n:>7,} conns ({procs_n} client processes): connect {connect_s:6.1f} s, {ticks} ticks, "
        f"{len(delays):,} messages, missed {missed}, delay p50 {pct(0.5):.0f} ms p95 {pct(0.95):.0f} ms "
        f"p99 {pct(0.99):.0f} ms max {pct(1.0):.0f} ms, memory {(full_rss - base_rss) / n:.1f} KB/connection "
        f"(RSS {base_rss // 1024} -> {full_rss // 1024} MB), load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    setup_django()
    kind = sys.argv[1] if len(sys.argv) > 1 else "uvicorn"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 30
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 2 * n + 1000)), hard))
    if hard < n + 200:
        print(f"warning: the hard limit of open files ({hard}) is below {n} connections + slack", flush=True)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Every bench connection comes from 127.0.0.1: lift the per-address cap.
    os.environ.setdefault("QUEUE_WS_PER_ADDRESS", "0")
    event, doc, tokens = prepare(n)
    try:
        run(kind, n, seconds, event, doc, tokens)
    finally:
        drop_queue(event)


if __name__ == "__main__":
    main()
