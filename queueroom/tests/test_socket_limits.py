"""The per-process socket counts and the message bucket (queueroom/socket_limits.py)."""

from __future__ import annotations

from queueroom.socket_limits import FLOOD_DEBT, MessageBucket, OpenSockets, Refusal, Verdict


def test_counts_refuse_over_either_cap_and_forget_closed_keys() -> None:
    sockets = OpenSockets()
    assert sockets.open(token="t1", address="a", per_token=2, per_address=3) is None
    assert sockets.open(token="t1", address="a", per_token=2, per_address=3) is None
    assert sockets.open(token="t1", address="b", per_token=2, per_address=3) is Refusal.SAME_PLACE
    assert sockets.open(token="t2", address="a", per_token=2, per_address=3) is None
    assert sockets.open(token="t3", address="a", per_token=2, per_address=3) is Refusal.SAME_ADDRESS
    assert sockets.open(token="t3", address="a", per_token=2, per_address=0) is None  # 0: no cap per address
    assert sockets.open(token="t4", address=None, per_token=2, per_address=1) is None  # a Unix socket
    for token in ("t1", "t1", "t2", "t3"):
        sockets.close(token=token, address="a")
    sockets.close(token="t4", address=None)
    assert sockets.by_token.open == {} and sockets.by_address.open == {}


def test_the_bucket_serves_a_burst_then_one_per_period_and_calls_a_long_flood() -> None:
    bucket = MessageBucket(burst=3, every=2.0, now=100.0)
    assert [bucket.take(100.0) for _ in range(4)] == [Verdict.SERVE] * 3 + [Verdict.DROP]
    assert bucket.take(101.0) is Verdict.DROP  # half a token back, the drop took one
    assert bucket.take(106.0) is Verdict.SERVE  # -1.5 + 2.5: refilled at one per 2 s
    flood = [bucket.take(105.0) for _ in range(FLOOD_DEBT + 2)]
    assert flood[:FLOOD_DEBT] == [Verdict.DROP] * FLOOD_DEBT and flood[-1] is Verdict.FLOOD
