"""A bare ASGI WebSocket application for test_shared_frames.py: it drives
ticketing.server's ``ticketing.shared_frames`` extension on command and keeps
what it saw in STATS, which a second connection can read."""

from __future__ import annotations

import asyncio
import json
from typing import Any

STATS: dict[str, Any] = {}


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "websocket"
    frames = scope.get("extensions", {}).get("ticketing.shared_frames")
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": json.dumps({"extension": frames is not None})})
    prepared = frames.prepare("shared é") if frames else None
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            if frames is not None:
                # A closed socket mid-fan-out: nothing written, nothing raised.
                STATS["written_after_close"] = frames.write(prepared)
                STATS["backlog_after_close"] = frames.backlog()
            return
        command = message.get("text", "")
        if command == "stats":
            await send({"type": "websocket.send", "text": json.dumps(STATS)})
        elif command == "interleave":
            # Shared frames and per-connection ASGI sends keep their order.
            await send({"type": "websocket.send", "text": "asgi 1"})
            frames.write(prepared)
            frames.write(prepared)
            await send({"type": "websocket.send", "text": "asgi 2"})
            frames.write(prepared)
        elif command == "flood":
            # The client stops reading: write 10 KB frames until the backlog
            # passes 64 KB, giving the reactor its turns, then abort.
            big = frames.prepare("x" * 10_000)
            writes = 0
            while frames.backlog() <= 65_536 and writes < 100_000:
                frames.write(big)
                writes += 1
                await asyncio.sleep(0.001)
            STATS["flood_writes"], STATS["flood_backlog"] = writes, frames.backlog()
            frames.abort()
