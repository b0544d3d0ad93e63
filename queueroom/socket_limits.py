"""Limits on the waiting room's WebSockets: open sockets per queue token and
per client address, and a token bucket on what each socket sends.

A fan needs one socket per tab and never needs to send anything (the hub
heartbeats connected fans; the page only listens), so the limits are far
above real use and only stop scripts: one token once opened 500 sockets in
0.9 s, and every client message cost a Redis call.

Counts are per server process, kept only for open sockets (a key leaves the
table when its last socket closes), and touched only from the process's
event loop, so they need no lock and no Redis: refusing costs nothing.
Why per process is enough is in docs/waiting-room.md ("Limits").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

# A socket that sends this many messages beyond what its bucket allows is
# disconnected: dropped messages count against it and are refilled at the
# same rate, so a client sending faster than the rate for long enough is cut
# off, while one that bursts once only loses the extra messages.
FLOOD_DEBT = 10


class Refusal(enum.StrEnum):
    SAME_PLACE = "too many connections for this place in the queue"
    SAME_ADDRESS = "too many connections from this address"


@dataclass
class _Counts:
    open: dict[str, int] = field(default_factory=dict)

    def get(self, key: str) -> int:
        return self.open.get(key, 0)

    def add(self, key: str) -> None:
        self.open[key] = self.open.get(key, 0) + 1

    def remove(self, key: str) -> None:
        left = self.open.get(key, 0) - 1
        if left > 0:
            self.open[key] = left
        else:
            self.open.pop(key, None)


@dataclass
class OpenSockets:
    """The sockets open in this process, by queue token and by client address."""

    by_token: _Counts = field(default_factory=_Counts)
    by_address: _Counts = field(default_factory=_Counts)

    def open(self, *, token: str, address: str | None, per_token: int, per_address: int) -> Refusal | None:
        """Count a new socket, or say why it is refused (then nothing is counted).
        ``per_address`` 0 means no cap per address; ``address`` None (a Unix
        socket) is not counted by address."""
        if self.by_token.get(token) >= per_token:
            return Refusal.SAME_PLACE
        if address is not None and per_address and self.by_address.get(address) >= per_address:
            return Refusal.SAME_ADDRESS
        self.by_token.add(token)
        if address is not None:
            self.by_address.add(address)
        return None

    def close(self, *, token: str, address: str | None) -> None:
        self.by_token.remove(token)
        if address is not None:
            self.by_address.remove(address)


sockets = OpenSockets()


class Verdict(enum.Enum):
    SERVE = "serve"
    DROP = "drop"
    FLOOD = "flood"


class MessageBucket:
    """A token bucket per socket: ``burst`` messages at once, then one per
    ``every`` seconds. Every message takes a token, served or not; below
    ``-FLOOD_DEBT`` the client is flooding."""

    __slots__ = ("burst", "every", "tokens", "stamp")

    def __init__(self, *, burst: int, every: float, now: float) -> None:
        self.burst = burst
        self.every = every
        self.tokens = float(burst)
        self.stamp = now

    def take(self, now: float) -> Verdict:
        if now > self.stamp:
            self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) / self.every)
            self.stamp = now
        self.tokens -= 1
        if self.tokens >= 0:
            return Verdict.SERVE
        if self.tokens < -FLOOD_DEBT:
            return Verdict.FLOOD
        return Verdict.DROP
