"""ticketing.server's shared-frame extension (the waiting room's per-tick
frame, written once-framed to every socket) against the real server, on a
bare ASGI app (shared_frames_app.py): the frame arrives whole and in order
with the ASGI sends, a closed socket is skipped without an error, and a
client that stops reading shows a bounded backlog and can be aborted."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from scripts import devstack

BOUND = 20.0
pytestmark = pytest.mark.filterwarnings(r"ignore:connect\(\) must be used as a context manager:DeprecationWarning")


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ticketing.server",
            "-b",
            "127.0.0.1",
            "-p",
            "0",
            "ticketing.tests.shared_frames_app:application",
        ],
        cwd=devstack.ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    found: list[int] = []
    started = threading.Event()

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if not found and (match := re.search(r"Listening on TCP address [\d.]+:(\d+)", line)):
                found.append(int(match.group(1)))
                started.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        assert started.wait(60), "the server did not start"
        yield found[0]
    finally:
        proc.terminate()
        proc.wait(10)


def ws(port: int, **options: Any) -> ClientConnection:
    conn = connect(f"ws://127.0.0.1:{port}/", open_timeout=BOUND, compression=None, max_size=None, **options)
    assert json.loads(conn.recv(timeout=BOUND)) == {"extension": True}
    return conn


def stats(port: int) -> dict:  # type: ignore[type-arg]
    with ws(port) as control:
        control.send("stats")
        return json.loads(control.recv(timeout=BOUND))  # type: ignore[no-any-return]


def test_shared_frames_arrive_whole_and_in_order_with_asgi_sends(port: int) -> None:
    with ws(port) as conn:
        conn.send("interleave")
        got = [conn.recv(timeout=BOUND) for _ in range(5)]
    assert got == ["asgi 1", "shared é", "shared é", "asgi 2", "shared é"]


def test_a_closed_socket_is_skipped_without_an_error(port: int) -> None:
    conn = ws(port)
    conn.socket.shutdown(socket.SHUT_RDWR)  # gone without a closing handshake
    conn.socket.close()
    for _ in range(100):
        found = stats(port)
        if "written_after_close" in found:
            break
    assert found["written_after_close"] is False


def test_a_client_that_stops_reading_has_a_bounded_backlog_and_is_aborted(port: int) -> None:
    # The client reads no message (websockets stops reading the socket past
    # max_queue unread messages): the kernel's buffers fill, then Twisted's.
    conn = ws(port, max_queue=1)
    conn.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    conn.send("flood")
    for _ in range(200):
        found = stats(port)
        if "flood_writes" in found:
            break
    # Bounded: past 64 KB queued, the writer stopped; what the kernels took
    # on both sides is the rest (a few MB at most on loopback).
    assert found["flood_backlog"] > 65_536
    assert found["flood_writes"] < 100_000
    # Then aborted: the connection ends without a closing handshake.
    with pytest.raises(ConnectionClosed):
        while True:
            conn.recv(timeout=BOUND)  # TimeoutError (a failure) if it stayed open
