"""A burst of new connections: THREADS clients each open ROUNDS fresh
connections to /readyz at once, against `python -m ticketing.server` with
HTTP_LISTEN_BACKLOG=50 (Twisted's default) and then 1024 (ours). A dropped
SYN costs its client a 1 s retransmit, which shows in the p99.
Results: docs/performance.md ("Probes under load").

    python3 scripts/devstack.py exec python bench/probe_burst.py [--threads 200] [--rounds 10]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from _common import free_port, wait_port  # noqa: E402


def burst(port: int, threads: int, rounds: int) -> tuple[int, float, float]:
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()

    def client() -> None:
        nonlocal failures
        for _ in range(rounds):
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as r:  # noqa: S310
                    r.read()
            except OSError:
                with lock:
                    failures += 1
            with lock:
                latencies.append(time.perf_counter() - started)

    pool = [threading.Thread(target=client) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    latencies.sort()
    return failures, latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99) - 1] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    opts = parser.parse_args()
    for backlog in (50, 1024):
        port = free_port()
        env = {**os.environ, "HTTP_LISTEN_BACKLOG": str(backlog), "LOG_LEVEL": "WARNING"}
        cmd = [sys.executable, "-m", "ticketing.server", "-b", "127.0.0.1", "-p", str(port), "-v", "0"]
        server = subprocess.Popen([*cmd, "ticketing.asgi:application"], cwd=ROOT, env=env, start_new_session=True)
        try:
            wait_port(port)
            failures, p50, p99 = burst(port, opts.threads, opts.rounds)
        finally:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        print(
            f"backlog {backlog:>5}: {opts.threads * opts.rounds} probes, p50 {p50:.0f} ms, p99 {p99:.0f} ms, {failures} failed"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
