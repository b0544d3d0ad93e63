"""The limiters' arithmetic against the real Redis, with the time given by
the test, and their atomicity under parallel callers."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ImproperlyConfigured

from ticketing import limiters


def fresh_key() -> str:
    return limiters.key("test", uuid.uuid4().hex)


def test_a_token_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    bucket = limiters.TokenBucket(capacity=3, per_minute=60)  # one token a second
    key, t = fresh_key(), 1_000.0
    assert [bucket.take(key, now=t).allowed for _ in range(3)] == [True, True, True]
    refused = bucket.take(key, now=t)
    assert refused is not None and not refused.allowed
    assert refused.retry_after == pytest.approx(1.0)
    assert refused.retry_after_header == 1
    half = bucket.take(key, now=t + 0.5)
    assert half is not None and not half.allowed and half.retry_after == pytest.approx(0.5)
    later = bucket.take(key, now=t + 1.0)
    assert later is not None and later.allowed
    # Never more than the capacity, however long it rested.
    rested = [bucket.take(key, now=t + 3600).allowed for _ in range(4)]
    assert rested == [True, True, True, False]


def test_a_bucket_expires_once_it_would_be_full_again() -> None:
    from ticketing.limiters import _sync

    bucket = limiters.TokenBucket(capacity=10, per_minute=600)  # full again after 1 s
    key = fresh_key()
    bucket.take(key, now=5.0)
    ttl = _sync()[0].pttl(key)
    assert 0 < ttl <= 2000


def test_a_refused_take_costs_nothing() -> None:
    bucket = limiters.TokenBucket(capacity=1, per_minute=60)
    key = fresh_key()
    assert bucket.take(key, now=0.0).allowed
    for _ in range(5):
        assert not bucket.take(key, now=0.2).allowed
    assert bucket.take(key, now=1.0).allowed


def test_parallel_takes_never_hand_out_more_than_the_burst() -> None:
    bucket = limiters.TokenBucket(capacity=25, per_minute=0.001)
    key = fresh_key()
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: bucket.take(key, now=50.0).allowed, range(200)))
    assert results.count(True) == 25


def test_the_sliding_log_counts_exactly_the_last_window() -> None:
    log = limiters.SlidingLog(limit=3, window=10)
    key = fresh_key()
    assert [log.record(key, now=t, member=f"m{t}").allowed for t in (0, 1, 2)] == [True, True, True]
    refused = log.record(key, now=5, member="m5")
    assert not refused.allowed and refused.retry_after == pytest.approx(5)
    assert not log.record(key, now=9.9, member="m9").allowed
    assert log.record(key, now=10.5, member="m10").allowed  # the event at 0 left the window


def test_parallel_events_never_overfill_the_log() -> None:
    log = limiters.SlidingLog(limit=40, window=60)
    key = fresh_key()
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda i: log.record(key, now=1.0, member=str(i)).allowed, range(300)))
    assert results.count(True) == 40


@pytest.mark.parametrize("text", ["10", "a/b", "0/10", "5/0", "5/-1"])
def test_a_bad_bucket_setting_is_refused_at_start(text: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        limiters.TokenBucket.parse(text)


def test_an_empty_bucket_setting_means_no_limit() -> None:
    assert limiters.TokenBucket.parse("") is None
    assert limiters.TokenBucket.parse("30/60") == limiters.TokenBucket(capacity=30, per_minute=60.0)
