"""The bucket holds its rate across processes: two real worker processes,
started together, each make N PSP calls (to localstripe) through the guarded
provider as fast as the bucket lets them. The slots the script handed out
are checked with the bucket's own arithmetic: every slot distinct, sorted
slots at least one interval apart, so N calls from two processes span at
least (2N - 1) intervals, whatever the machine's speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from payments import bucket

CALLS = 12  # per process
RATE = 600  # per minute: 100 ms a request

WORKER = """
import json, sys
import django
django.setup()
from payments import bucket
from payments.providers import ProviderError, get_provider

taken = []
real_acquire = bucket.acquire

def recording(**kwargs):
    got = real_acquire(**kwargs)
    taken.append([got.slot_us, got.wait_us, got.now_us, got.cost])
    return got

bucket.acquire = recording  # the guarded provider calls bucket.acquire
provider = get_provider()
print("ready", flush=True)
sys.stdin.readline()  # go: both processes start calling together
with bucket.waiting_up_to(60):
    for i in range(int(sys.argv[1])):
        try:
            provider.retrieve(intent_id=f"pi_missing_{i}")  # localstripe answers 404: a real request
        except ProviderError:
            pass
print(json.dumps(taken), flush=True)
"""


@pytest.fixture
def worker_env(localstripe_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ticketing.settings",
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,  # this test worker's bucket
        "STRIPE_API_BASE": localstripe_url,
        "PSP_BUCKET_PER_MINUTE": str(RATE),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("PYTEST_XDIST_WORKER", None)  # else the prefix would get a second suffix
    return env


def test_two_processes_share_one_constant_outflow(worker_env: dict[str, str], settings) -> None:  # type: ignore[no-untyped-def]
    settings.PSP_BUCKET_PER_MINUTE = RATE
    interval = bucket.interval_us()
    procs = [
        subprocess.Popen(  # noqa: S603 - our own code
            [sys.executable, "-c", WORKER, str(CALLS)],
            cwd=Path(settings.BASE_DIR),
            env=worker_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert [proc.returncode for proc in procs] == [0, 0]
    taken = [json.loads(out.strip().splitlines()[-1]) for out in outputs]

    assert [len(t) for t in taken] == [CALLS, CALLS]  # one reservation per request
    for slot, wait, now, cost in (row for t in taken for row in t):
        assert cost == 1 and wait == slot - now >= 0  # each waited exactly until its slot
    slots = sorted(row[0] for t in taken for row in t)
    assert len(set(slots)) == len(slots)  # no two requests share a slot
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    assert min(gaps) >= interval  # never faster than the rate, across both processes
    assert slots[-1] - slots[0] >= (2 * CALLS - 1) * interval
    # The two really competed: their slots interleave in time.
    first, second = ([row[0] for row in t] for t in taken)
    assert min(first) < max(second) and min(second) < max(first)
