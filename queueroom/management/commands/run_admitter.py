"""The admitter: one tick per second for every event with a queue.

Run one or more (`make run` starts one); a leader lock in Redis lets exactly
one of them tick at a time, and the others take over within seconds if it
dies. Each tick's state document is published once per event to the channel
layer, where each server process fans it out to its own WebSockets.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from queueroom import keys, services
from ticketing import sale_metrics

log = logging.getLogger(__name__)

# Longest pause between attempts while Redis is unavailable (seconds).
BACKOFF_MAX = 5.0


class Command(BaseCommand):
    help = "Run the waiting room's admission loop (one tick per second, leader-elected)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--ticks", type=int, default=0, help="Stop after this many seconds (0: run forever).")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = f"{socket.gethostname()}:{os.getpid()}"
        asyncio.run(self._loop(owner, options["ticks"]))

    async def _loop(self, owner: str, ticks: int, stop: threading.Event | None = None) -> None:
        layer = get_channel_layer()
        done = 0
        down_since: float | None = None
        self.stdout.write(f"admitter {owner} running")
        try:
            while (not ticks or done < ticks) and not (stop and stop.is_set()):
                now = time.time()
                pause: float | None = None
                try:
                    docs = await sync_to_async(_cycle, thread_sensitive=True)(owner, now)
                    for doc in docs:
                        await layer.group_send(keys.group_name(doc["event"]), {"type": "queue.tick", "state": doc})
                except services.REDIS_DOWN as exc:
                    # Each attempt already waited up to REDIS_SOCKET_TIMEOUT; wait
                    # longer the longer the outage, but never past BACKOFF_MAX, so
                    # admissions resume within seconds of Redis coming back.
                    if down_since is None:
                        down_since = time.monotonic()
                        log.warning("admitter: redis unavailable (%s: %s); backing off", type(exc).__name__, exc)
                    pause = min(BACKOFF_MAX, 1.0 + (time.monotonic() - down_since) / 10)
                except Exception:
                    log.exception("admission tick failed; retrying next second")
                else:
                    if down_since is not None:
                        log.warning("admitter: redis is back after %.0f s", time.monotonic() - down_since)
                        down_since = None
                done += 1
                await asyncio.sleep(max(0.0, 1.0 - (time.time() % 1.0)) if pause is None else pause)
        finally:
            try:
                await sync_to_async(services.release_leadership)(owner=owner)
            except services.REDIS_DOWN:
                log.warning("admitter: leader lock not released (redis unavailable); it expires by itself")


def _cycle(owner: str, now: float) -> list[dict[str, Any]]:
    close_old_connections()
    started = time.perf_counter()
    docs = services.admission_cycle(owner=owner, now=now)
    if docs:
        # Admissions per lane and the cycle's duration (ticketing/metrics.py, docs/operations.md).
        sale_metrics.record_ticks(docs, time.perf_counter() - started)
    return docs
