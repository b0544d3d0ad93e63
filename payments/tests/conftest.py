"""Fixtures of the payments tests.

A private localstripe per test session (and per xdist worker), so parallel
workers never share PSP state."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
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


@pytest.fixture
def fresh_psp(localstripe_url: str) -> None:
    """An empty localstripe: this worker's earlier tests left intents there
    (their database rows were rolled back), which checks of the PSP's whole
    list would see as strangers."""
    request = urllib.request.Request(f"{localstripe_url}/_config/data", method="DELETE")  # noqa: S310 - our own server
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert response.status == 200


@pytest.fixture
def celery_eager() -> Iterator[None]:
    """Tasks queued with .delay() run at once, in this process (errors raised)."""
    from ticketing.celery import app

    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = before
