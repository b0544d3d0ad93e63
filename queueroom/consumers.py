"""Live queue positions over WebSocket, with a process-local fan-out.

The admitter publishes one state document per event per tick to the channel
layer group of the event. Each server process (event loop) holds ONE layer
channel in those groups (QueueHub), encodes ONE ``queue.tick`` frame per
event and tick (messages.tick_frame: each lane's front, leavers, rate) and
writes that same frame to every local connection of the event; each fan's
page computes its own position and ETA from it and the place it was told on
connect (messages.frame_state is the arithmetic). Per-fan messages go out
only on connect (the snapshot, with the fan's lane and place), on a resync,
and on the fan's own transitions (the turn came: offered or admitted).
Consumers do not join groups themselves: Channels would then run one handler
per consumer per tick, each behind a thread hop, which measured 330-550 µs
per message (see docs/performance.md).

Under ticketing.server (Daphne, `make run`) each WebSocket scope carries a
``ticketing.shared_frames`` extension: the frame is framed once per tick and
its bytes written straight to each socket, past the per-connection ASGI
send, Daphne's reply handling and autobahn's framing. Elsewhere (uvicorn,
tests) the frame goes through the ASGI send. Either way a socket that does
not read skips frames and is closed (QUEUE_WS_MAX_BACKLOG_BYTES).

Consumers hold no truth: on connect they subscribe first, then send a
snapshot read from Redis, so a reconnect always resyncs.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import weakref
from typing import Any, Protocol

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from inventory.identity import fan_id_from_scope
from queueroom import keys, messages, passes, services
from queueroom.messages import FanStatus
from queueroom.shuffle import place_of
from queueroom.socket_limits import MessageBucket, Verdict, sockets

log = logging.getLogger(__name__)

HEARTBEAT_EVERY = 60.0


class FrameWriter(Protocol):
    """``scope["extensions"]["ticketing.shared_frames"]`` (ticketing.server)."""

    def prepare(self, text: str) -> Any:
        """The frame's bytes on the wire, made once per tick for every socket."""

    def write(self, prepared: Any) -> bool:
        """Write a prepared frame now; False if the socket is not open."""

    def backlog(self) -> int:
        """Bytes written to the socket and not yet taken by the kernel."""

    def abort(self) -> None:
        """Close the connection at once, dropping what is unsent."""


class QueueHub:
    """One per event loop: one channel-layer subscription per event with
    local connections, and the loop that fans each tick out to them."""

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.by_event: dict[int, set[QueueConsumer]] = {}
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._beat: asyncio.Task[None] | None = None
        self.messages = 0

    async def register(self, consumer: QueueConsumer) -> None:
        async with self._lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel("queuehub.")
                self._reader = asyncio.ensure_future(self._read())
                self._beat = asyncio.ensure_future(self._heartbeats())
            conns = self.by_event.get(consumer.event_id)
            if conns is None:
                conns = self.by_event[consumer.event_id] = set()
                await self.layer.group_add(keys.group_name(consumer.event_id), self.channel)
            conns.add(consumer)

    async def unregister(self, consumer: QueueConsumer) -> None:
        async with self._lock:
            conns = self.by_event.get(consumer.event_id)
            if conns is None:
                return
            conns.discard(consumer)
            if not conns:
                del self.by_event[consumer.event_id]
                await self.layer.group_discard(keys.group_name(consumer.event_id), self.channel)

    async def _read(self) -> None:
        assert self.channel is not None
        while True:
            message = await self.layer.receive(self.channel)
            if message.get("type") != "queue.tick":
                continue
            doc = message["state"]
            self.messages += 1
            started = time.perf_counter()
            local = list(self.by_event.get(int(doc["event"]), ()))
            if not local:
                continue
            # The loop touches a few objects per connection; with tens of
            # thousands of connections alive, the cyclic GC would otherwise run
            # full collections over all of them in the middle of the fan-out.
            # Nothing here makes cycles, so collect after it instead.
            paused_gc = gc.isenabled()
            gc.disable()
            try:
                written = await self.fan_out(doc, local)
            finally:
                if paused_gc:
                    gc.enable()
            log.debug(
                "fan-out of event %s to %d connections (%d frames written): %.1f ms (%.1f ms after the tick)",
                doc["event"],
                len(local),
                written,
                (time.perf_counter() - started) * 1000,
                (time.time() - doc["t"]) * 1000,
            )

    async def fan_out(self, doc: dict[str, Any], local: list[QueueConsumer]) -> int:
        """Write the tick's one frame to every connection of the event that
        is listening, and start the claims of those whose turn came. Returns
        the number of frames written."""
        frame = messages.tick_frame(doc)
        prepared: Any = None
        lanes: dict[int, tuple[bool, int | None, dict[str, Any]]] = {
            int(k): (bool(v["opened"]), v["front"] if v["opened"] else None, v) for k, v in doc["lanes"].items()
        }
        closed = bool(doc["closed"])
        max_backlog = settings.QUEUE_WS_MAX_BACKLOG_BYTES
        max_skipped = settings.QUEUE_WS_MAX_SKIPPED_FRAMES
        written = 0
        for c in local:
            if c.finished or c.claiming:
                continue
            if not c.synced:
                c.pending = (doc, frame)
                continue
            lane = lanes.get(c.lane_id)
            if lane is None:
                continue
            if closed:
                c.finished = True  # the page reloads: the queue is over for everyone
            elif lane[0]:
                if c.place is None:
                    c.place = place_of(c.ticket, m=lane[2]["m"], key_hex=lane[2]["key"])
                if c.place <= lane[1]:  # type: ignore[operator]
                    # Our turn came this tick (or we were skipped): ask Redis
                    # once, and tell this fan alone.
                    c.claiming = True
                    asyncio.ensure_future(c._claim())
                    continue
            try:
                writer = c.frames
                if writer is None:
                    await c.base_send({"type": "websocket.send", "text": frame})
                    written += 1
                    continue
                if writer.backlog() > max_backlog:
                    # Not reading: skip (the next frame supersedes this one), then close.
                    c.skipped += 1
                    if c.skipped >= max_skipped:
                        log.info("websocket closed: %d frames unread by %s", c.skipped, c.address)
                        c.closing = True
                        writer.abort()
                    continue
                c.skipped = 0
                if prepared is None:
                    prepared = writer.prepare(frame)
                if writer.write(prepared):
                    written += 1
            except Exception:  # one broken socket must not stop the fan-out
                log.exception("queue fan-out to one connection failed")
        return written

    async def _heartbeats(self) -> None:
        # Connected fans keep their places: one pipelined batch per process.
        while True:
            await asyncio.sleep(HEARTBEAT_EVERY)
            tokens = [c.token for conns in self.by_event.values() for c in conns if c.live]
            if tokens:
                await sync_to_async(services.heartbeat_many, thread_sensitive=False)(tokens=tokens, now=time.time())


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, QueueHub] = weakref.WeakKeyDictionary()


def hub() -> QueueHub:
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = QueueHub()
    return found


class QueueConsumer(AsyncWebsocketConsumer):
    # No channel per consumer: the hub is the only subscriber in this process.
    channel_layer_alias = "queueroom-hub-only"

    token: str
    event_id: int
    live = False
    counted = False  # holds a place in socket_limits.sockets
    closing = False
    frames: FrameWriter | None = None  # the server's shared-frame writer, if it has one
    skipped = 0  # shared frames skipped in a row because the socket was not reading

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Also when the consumer crashed or was cancelled without a
            # disconnect: a leaked count would lock the fan's token out.
            if self.counted:
                self.counted = False
                sockets.close(token=self.token, address=self.address)

    async def connect(self) -> None:
        self.token = self.scope["url_route"]["kwargs"]["token"]
        try:
            parsed = passes.verify_token(self.token)
        except passes.PassInvalid:
            await self.close(code=4404)
            return
        if await self._refused():
            return
        self.bucket = MessageBucket(
            burst=settings.QUEUE_WS_MESSAGE_BURST, every=settings.QUEUE_WS_MESSAGE_EVERY_SECONDS, now=time.monotonic()
        )
        self.event_id, self.lane_id, self.ticket = parsed.event_id, parsed.lane_id, parsed.ticket
        self.fan_id = fan_id_from_scope(self.scope)
        self.place: int | None = None
        self.claiming = False
        self.finished = False
        self.pending: tuple[dict[str, Any], str] | None = None
        self.synced = False
        self.frames = self.scope.get("extensions", {}).get("ticketing.shared_frames")
        await self.accept()
        # Subscribe first, then the snapshot: no tick can fall in between.
        await hub().register(self)
        self.live = True
        now = time.time()
        try:
            snapshot = await sync_to_async(services.status, thread_sensitive=False)(
                token=self.token, fan_id=self.fan_id, now=now
            )
        except services.QueueError:
            self.closing = True
            await self.close(code=4404)
            return
        await self._send_status(snapshot)
        self.synced = True
        pending = self._take_pending()
        if pending is not None and pending[0]["t"] > now:
            await hub().fan_out(pending[0], [self])

    async def _refused(self) -> bool:
        """Whether the socket limits refuse this connection (then it is closed).
        Refused before the handshake and before any Redis call. Daphne then
        answers 403; the page polls instead and retries with a backoff."""
        client = self.scope.get("client")
        self.address: str | None = str(client[0]) if client else None
        refusal = sockets.open(
            token=self.token,
            address=self.address,
            per_token=settings.QUEUE_WS_PER_TOKEN,
            per_address=settings.QUEUE_WS_PER_ADDRESS,
        )
        if refusal is not None:
            # Debug only: a script opening sockets in a loop must not flood the logs too.
            log.debug("websocket refused (%s) from %s", refusal.name, self.address)
            await self.close(code=4429, reason=refusal.value)
            return True
        self.counted = True
        return False

    def _take_pending(self) -> tuple[dict[str, Any], str] | None:
        """The newest tick the hub delivered while the snapshot was being read."""
        pending, self.pending = self.pending, None
        return pending

    async def disconnect(self, code: int) -> None:
        if self.live:
            self.live = False
            await hub().unregister(self)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # Anything from the client is a heartbeat; "resync" asks for a snapshot.
        # Each costs a Redis call, so the bucket decides first; the page
        # itself never sends (the hub heartbeats connected fans).
        if self.closing:
            return
        size = len(text_data) if text_data is not None else len(bytes_data or b"")
        if size > settings.QUEUE_WS_MAX_MESSAGE_BYTES:
            await self._shut(1009, "message too big")
            return
        verdict = self.bucket.take(time.monotonic())
        if verdict is Verdict.DROP:
            return
        if verdict is Verdict.FLOOD:
            log.info("websocket closed for flooding from %s", self.address)
            await self._shut(4429, "too many messages")
            return
        now = time.time()
        snapshot = await sync_to_async(services.status, thread_sensitive=False)(
            token=self.token, fan_id=self.fan_id, now=now
        )
        if text_data and "resync" in text_data:
            await self._send_status(snapshot)

    async def _shut(self, code: int, reason: str) -> None:
        # Messages already queued for this consumer are still dispatched;
        # they must not reach Redis either.
        self.closing = True
        await self.close(code=code, reason=reason)

    async def _send_status(self, s: services.QueueStatus) -> None:
        if s.status == FanStatus.ADMITTED and s.store_pass:
            self.finished = True
            await self.send(
                text_data=messages.offered_message(
                    store_pass=s.store_pass, expires_at=s.pass_expires_at, store_url=s.store_url
                )
            )
            return
        if s.status == FanStatus.CLOSED:
            self.finished = True
        if s.place is not None:
            self.place = s.place
        await self.send(text_data=messages.snapshot_message(s.queue_state(), lane=s.lane, place=s.place))

    async def _claim(self) -> None:
        try:
            s = await sync_to_async(services.status, thread_sensitive=False)(
                token=self.token, fan_id=self.fan_id, now=time.time()
            )
            await self._send_status(s)
        except services.QueueError:
            self.finished = True
        finally:
            self.claiming = False
