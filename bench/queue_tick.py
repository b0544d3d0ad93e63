"""Benchmark 2: Redis commands and time per admission tick, with 4,000 and
400,000 fans waiting. Runs on a private redis-server so INFO commandstats
counts only this tick's commands (including those run inside Lua)."""

from __future__ import annotations

import statistics
import time

from _common import bench_event, fill_queue, private_redis, setup_django, stop


def commands(c) -> int:  # type: ignore[no-untyped-def]
    stats = c.info("commandstats")
    return sum(v["calls"] for k, v in stats.items() if k not in ("cmdstat_info", "cmdstat_config|resetstat"))


def measure(waiting: int, *, shuffled: bool) -> dict[str, float]:
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
    c = rs.client()
    cmds, redis_ms, total_ms = [], [], []
    t0 = int(time.time()) - 40
    for i in range(20):
        c.config_resetstat()
        started = time.perf_counter()
        doc = services.apply_tick(plan=plan, now=t0 + i)
        total_ms.append((time.perf_counter() - started) * 1000)
        stats = c.info("commandstats")
        redis_ms.append(sum(v["usec"] for k, v in stats.items() if k != "cmdstat_info") / 1000)
        cmds.append(commands(c))
        assert doc is not None and doc["admitted"] == 9, doc
    return {
        "waiting": waiting,
        "commands": statistics.median(cmds),
        "redis_ms": statistics.median(redis_ms),
        "tick_ms_p50": statistics.median(total_ms),
        "tick_ms_max": max(total_ms),
    }


def main() -> None:
    proc, url = private_redis()
    try:
        setup_django(redis_url=url)
        print("Admission tick, 9 admissions per tick (median of 20 ticks)")
        print(f"{'fans waiting':>12} {'order':>9} {'commands':>9} {'redis ms':>9} {'tick ms p50':>12} {'max':>7}")
        for waiting in (4_000, 400_000):
            for shuffled in (False, True):
                r = measure(waiting, shuffled=shuffled)
                order = "shuffled" if shuffled else "fifo"
                print(
                    f"{waiting:>12,} {order:>9} {r['commands']:>9.0f} {r['redis_ms']:>9.3f} "
                    f"{r['tick_ms_p50']:>12.3f} {r['tick_ms_max']:>7.3f}"
                )
    finally:
        stop(proc)


if __name__ == "__main__":
    main()
