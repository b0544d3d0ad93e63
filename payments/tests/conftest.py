"""Fixtures of the payments tests.

A private localstripe per test session (and per xdist worker), so parallel
workers never share PSP state."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(ROOT / "scripts" / "localstripe_server.py"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("localstripe did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(autouse=True)
def _psp(settings, localstripe_url):  # type: ignore[no-untyped-def]
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test"
    settings.STORE_ACCESS_CHECK = ""
    # The flow tests are not about the rate: a wide bucket (1 ms a request)
    # keeps them quick; the bucket's own tests set theirs.
    settings.PSP_BUCKET_PER_MINUTE = 60_000


def forget_psp_state() -> None:
    """Delete this run's bucket and breaker keys and its payments queue."""
    from django.conf import settings

    from payments import bucket, keys

    client = bucket.redis_client()
    for pattern in (f"{keys.prefix()}*", f"{settings.REDIS_KEY_PREFIX}:celery:*payments*"):
        found = list(client.scan_iter(match=pattern, count=1000))
        if found:
            client.delete(*found)


@pytest.fixture(autouse=True)
def _fresh_psp_protection() -> Iterator[None]:
    """Each test starts with an empty bucket and a closed breaker, and leaves
    them so for the next test of this worker (whatever app it is in)."""
    forget_psp_state()
    yield
    forget_psp_state()
