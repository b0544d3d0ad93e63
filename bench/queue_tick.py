"""Benchmark 2: Redis commands and time per admission tick, with 4,000 and
400,000 fans waiting. Runs on a private redis-server so INFO commandstats
counts only this tick's commands (including those run inside Lua).

``--cluster``: on a local 3-master Redis Cluster instead (docs/redis-cluster.md);
the commands are summed over the three masters. ``--waiting 4000`` for the
small queue only."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from _common import bench_event, fill_queue, private_redis, setup_django, stop


def commands(nodes) -> int:  # type: ignore[no-untyped-def]
    return sum(
        v["calls"]
        for c in nodes
        for k, v in c.info("commandstats").items()
        if k not in ("cmdstat_info", "cmdstat_config|resetstat")
    )


def measure(waiting: int, *, shuffled: bool, nodes) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """``nodes``: a client of each server whose commands count (the masters, on a cluster)."""
    from queueroom import redis_scripts as rs
    from queueroom import services

    event = bench_event(rate=540, max_in_store=1_000_000)  # 9 admissions per tick
    if shuffled:
        # Everyone joins the pre-queue; the first tick opens and shuffles it.
        fill_queue(event, waiting, now=time.time() - 100)
        services.tick(event=event, now=time.time() - 60)
    else:
        services.tick(event=event, now=time.time() - 60)
        fill_queue(event, waiting, now=time.time() - 50)
    plan = services.plan_tick(event=event)
    nodes = nodes or [rs.client()]
    cmds, redis_ms, total_ms = [], [], []
    t0 = int(time.time()) - 40
    for i in range(20):
        for c in nodes:
            c.config_resetstat()
        started = time.perf_counter()
        doc = services.apply_tick(plan=plan, now=t0 + i)
        total_ms.append((time.perf_counter() - started) * 1000)
        stats = [c.info("commandstats") for c in nodes]
        redis_ms.append(sum(v["usec"] for st in stats for k, v in st.items() if k != "cmdstat_info") / 1000)
        cmds.append(commands(nodes))
        assert doc is not None and doc["admitted"] == 9, doc
    return {
        "waiting": waiting,
        "commands": statistics.median(cmds),
        "redis_ms": statistics.median(redis_ms),
        "tick_ms_p50": statistics.median(total_ms),
        "tick_ms_max": max(total_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cluster", action="store_true", help="a local 3-master Redis Cluster")
    parser.add_argument("--waiting", type=int, nargs="+", default=[4_000, 400_000])
    opts = parser.parse_args()
    proc, url = private_redis()  # the rest of Redis (cache, channels) in both cases
    cluster = None
    nodes = []
    try:
        if opts.cluster:
            from ticketing.tests.redis_cluster import LocalCluster

            cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="bench-cluster-")))
            os.environ["QUEUE_REDIS_URL"], os.environ["QUEUE_REDIS_CLUSTER"] = cluster.url, "1"
            nodes = [cluster.node(port) for port in cluster.ports]
        setup_django(redis_url=url)
        where = "a 3-master Redis Cluster" if cluster else "one redis-server"
        print(f"Admission tick on {where}, 9 admissions per tick (median of 20 ticks)")
        print(f"{'fans waiting':>12} {'order':>9} {'commands':>9} {'redis ms':>9} {'tick ms p50':>12} {'max':>7}")
        for waiting in opts.waiting:
            for shuffled in (False, True):
                r = measure(waiting, shuffled=shuffled, nodes=nodes)
                order = "shuffled" if shuffled else "fifo"
                print(
                    f"{waiting:>12,} {order:>9} {r['commands']:>9.0f} {r['redis_ms']:>9.3f} "
                    f"{r['tick_ms_p50']:>12.3f} {r['tick_ms_max']:>7.3f}"
                )
    finally:
        if cluster is not None:
            cluster.stop()
        stop(proc)


if __name__ == "__main__":
    main()
