"""The pre-queue shuffle: a keyed permutation of ticket numbers 1..m.

A balanced Feistel network (keyed BLAKE2b rounds) over the smallest even number of bits that holds
m, with cycle walking to stay inside 1..m, is a bijection for any key, so
nothing is lost or duplicated, and it needs no O(m) rewrite: the place of
ticket n is computed on demand (status, WebSocket), and the admitter asks
for the inverse of the next few places each tick. The key is committed to
(SHA-256) before the lane opens and published afterwards; anyone can rerun
this with `python manage.py verify_shuffle`.
"""

from __future__ import annotations

import hashlib

ROUNDS = 6


def commitment(key_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(key_hex)).hexdigest()


class Permutation:
    def __init__(self, key_hex: str, m: int) -> None:
        if m < 0:
            raise ValueError("m must be >= 0")
        self.key = bytes.fromhex(key_hex)
        self.m = m
        bits = max(2, (max(m - 1, 1)).bit_length())
        bits += bits % 2
        self.half = bits // 2
        self.mask = (1 << self.half) - 1

    def _f(self, round_: int, value: int) -> int:
        # Keyed BLAKE2b is a PRF, and several times cheaper than HMAC here.
        digest = hashlib.blake2b(b"%d:%d" % (round_, value), key=self.key, digest_size=8).digest()
        return int.from_bytes(digest, "big") & self.mask

    def _encrypt(self, x: int) -> int:
        left, right = x >> self.half, x & self.mask
        for r in range(ROUNDS):
            left, right = right, left ^ self._f(r, right)
        return (left << self.half) | right

    def _decrypt(self, y: int) -> int:
        left, right = y >> self.half, y & self.mask
        for r in reversed(range(ROUNDS)):
            left, right = right ^ self._f(r, left), left
        return (left << self.half) | right

    def place(self, ticket: int) -> int:
        """Place in line (1..m) of pre-queue ticket ``ticket`` (1..m)."""
        if not 1 <= ticket <= self.m:
            raise ValueError("ticket outside the pre-queue")
        y = self._encrypt(ticket - 1)
        while y >= self.m:
            y = self._encrypt(y)
        return y + 1

    def ticket_at(self, place: int) -> int:
        """Inverse of place()."""
        if not 1 <= place <= self.m:
            raise ValueError("place outside the pre-queue")
        x = self._decrypt(place - 1)
        while x >= self.m:
            x = self._decrypt(x)
        return x + 1

    def order(self) -> list[int]:
        """Ticket numbers in admission order (O(m); for verification only)."""
        return [self.ticket_at(p) for p in range(1, self.m + 1)]


def place_of(ticket: int, *, m: int, key_hex: str | None) -> int:
    """A ticket's place in its lane's line once the lane has opened: shuffled
    inside the pre-queue (1..m), arrival order after it."""
    if ticket > m or not key_hex:
        return ticket
    return Permutation(key_hex, m).place(ticket)
