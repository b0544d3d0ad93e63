"""The machine's own ceilings, measured in the same run as the other benches
(`make bench` runs this first): what PostgreSQL and Redis do here with
nothing of ours in the way, so each bench's figures can be read beside them.

- PostgreSQL: pgbench's simple-update mode (-N: one UPDATE, one SELECT, one
  INSERT per transaction, the shape of a hold) at scale 10, 8 clients, 10 s,
  in a throwaway database (DATABASE_URL's name + "_bench_ceiling").
- Redis: redis-benchmark -q for INCR, SET, GET and EVALSHA-like work (the
  scripts we run are a few commands each), 50 clients, no pipelining.

Needs pgbench and redis-benchmark on PATH (Debian: postgresql-client /
postgresql-contrib and redis-tools); a missing one is said and skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from urllib.parse import urlsplit

SECONDS = int(os.environ.get("CEILING_SECONDS", "10"))


def pg() -> None:
    if shutil.which("pgbench") is None:
        print("pgbench: not installed, skipped")
        return
    url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ticketing"))
    name = f"{url.path.strip('/') or 'ticketing'}_bench_ceiling"
    base = ["-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    subprocess.run(["dropdb", "--if-exists", *base, name], env=env, check=False, capture_output=True)
    subprocess.run(["createdb", *base, name], env=env, check=True, capture_output=True)
    try:
        subprocess.run(["pgbench", "-i", "-q", "-s", "10", *base, name], env=env, check=True, capture_output=True)
        out = subprocess.run(
            ["pgbench", "-N", "-c", "8", "-j", "2", "-T", str(SECONDS), *base, name],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        subprocess.run(["dropdb", "--if-exists", *base, name], env=env, check=False, capture_output=True)
    tps = re.search(r"tps = ([0-9.]+)", out)
    latency = re.search(r"latency average = ([0-9.]+) ms", out)
    print(
        f"PostgreSQL (pgbench -N, scale 10, 8 clients, {SECONDS} s): "
        f"{float(tps.group(1)) if tps else float('nan'):,.0f} transactions/s, "
        f"latency {latency.group(1) if latency else '?'} ms"
    )


def redis() -> None:
    if shutil.which("redis-benchmark") is None:
        print("redis-benchmark: not installed, skipped")
        return
    url = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    out = subprocess.run(
        ["redis-benchmark", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 6379), "-q"]
        + ["-n", "100000", "-c", "50", "-t", "incr,set,get"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    lines = [line.strip().split("\r")[-1] for line in out.splitlines() if "requests per second" in line]
    print("Redis (redis-benchmark -q, 50 clients, no pipelining):")
    for line in lines:
        print(f"  {line}")


if __name__ == "__main__":
    print(f"== the machine's ceilings ({os.cpu_count()} CPUs)")
    pg()
    redis()
