"""What the web server itself enforces, tested on the real server as `make run`
starts it (scripts/devstack.py `web_command`), over raw sockets: deadlines for
a trickled head and body, the idle keep-alive timeout, 414/431/413 answers in
the API's JSON shape, and no `Server` banner. Short deadlines come from the
environment; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from scripts import devstack

HEADER_TIMEOUT = 2
BODY_TIMEOUT = 2
KEEPALIVE_TIMEOUT = 3
MAX_BODY = 4096
BOUND = 20.0  # no wait in this module lasts longer (a busy 2-core machine)

LISTENING = re.compile(r"Listening on TCP address [\d.]+:(\d+)|Uvicorn running on http://[\d.]+:(\d+)")


@dataclass
class Answer:
    status: int | None
    headers: dict[str, str]
    body: bytes
    closed: bool  # the server closed the connection
    seconds: float


@dataclass
class Server:
    port: int

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=BOUND)

    def exchange(self, raw: bytes) -> Answer:
        with self.connect() as sock:
            try:
                sock.sendall(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered early and closed; read what it said
            return read_answer(sock)


def read_raw(sock: socket.socket, started: float) -> tuple[bytes, bool]:
    """What the server sends until it closes, or until a whole answer has
    come on a connection it keeps open (BOUND at most). True if it closed."""
    data = b""
    sock.settimeout(0.2)
    while time.monotonic() - started < BOUND:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            if complete(data):
                return data, False
            continue
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def read_answer(sock: socket.socket) -> Answer:
    started = time.monotonic()
    data, closed = read_raw(sock, started)
    return parse(data, closed, time.monotonic() - started)


def complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    match = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    return bool(sep and match and len(body) >= int(match.group(1)))


def parse(data: bytes, closed: bool, seconds: float) -> Answer:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(status, headers, body, closed, seconds)


def trickle(sock: socket.socket, data: bytes, *, every: float = 1.0) -> Answer:
    """Send `data` one byte per `every` seconds until the server answers or
    closes; waiting for its answer paces the bytes."""
    started = time.monotonic()
    for byte in data:
        sock.settimeout(every)
        try:
            sock.sendall(bytes([byte]))
            first = sock.recv(65536)
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            return parse(b"", True, time.monotonic() - started)
        rest, closed = read_raw(sock, started) if first else (b"", True)
        return parse(first + rest, closed, time.monotonic() - started)
    raise AssertionError(f"the server took {len(data)} trickled bytes without answering or closing")


def start_server(kind: str) -> tuple[subprocess.Popen[str], int]:
    env = {
        **os.environ,
        "ASGI_SERVER": kind,
        "HTTP_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "HTTP_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "HTTP_KEEPALIVE_TIMEOUT": str(KEEPALIVE_TIMEOUT),
        "HTTP_MAX_BODY_BYTES": str(MAX_BODY),
        "PYTHONUNBUFFERED": "1",
    }
    # Port 0: the server picks a free port and logs it.
    proc = subprocess.Popen(
        devstack.web_command(env, "127.0.0.1", "0"),
        cwd=devstack.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if match := LISTENING.search(line):
            return proc, int(match.group(1) or match.group(2))
    proc.kill()
    raise AssertionError(f"the {kind} server did not start: {''.join(seen)}")


def running(kind: str) -> Iterator[Server]:
    proc, port = start_server(kind)
    try:
        yield Server(port)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """Daphne, the default (ticketing/server.py)."""
    yield from running("daphne")


@pytest.fixture(scope="module")
def uvicorn() -> Iterator[Server]:
    """ASGI_SERVER=uvicorn: only its own options (docs/architecture.md)."""
    yield from running("uvicorn")


def json_error(answer: Answer) -> str:
    assert answer.headers.get("content-type") == "application/json", answer
    return str(json.loads(answer.body)["error"])


GET = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def test_a_head_trickled_a_byte_a_second_is_cut_at_the_deadline(server: Server) -> None:
    with server.connect() as sock:
        answer = trickle(sock, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"z" * 100)
    assert answer.closed
    assert answer.status == 408
    assert json_error(answer) == "request_timeout"


def test_a_trickled_body_is_answered_408_at_the_deadline(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"POST /api/v1/events/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 200\r\n\r\n")
        answer = trickle(sock, b"{" * 200)
    assert (answer.status, answer.closed) == (408, True)
    assert json_error(answer) == "request_timeout"


def test_a_connection_that_sends_nothing_is_closed_at_the_head_deadline(server: Server) -> None:
    with server.connect() as sock:
        answer = read_answer(sock)
    assert answer.closed
    assert answer.status is None  # nothing asked, nothing answered


def test_an_idle_kept_alive_connection_is_closed(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(GET)
        first = read_answer(sock)
        assert first.status == 200 and not first.closed
        idle = read_answer(sock)
    assert idle.closed and idle.body == b""


def test_keep_alive_and_pipelining_still_work(server: Server) -> None:
    with server.connect() as sock:
        for _ in range(3):
            sock.sendall(GET)
            assert read_answer(sock).status == 200
        sock.sendall(GET * 3 + GET.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        data, closed = read_raw(sock, time.monotonic())
    assert closed
    assert data.count(b"HTTP/1.1 200 OK") == 4


@pytest.mark.parametrize("path", ["/api/v1/events/", "/events/"])
def test_a_20_kb_url_gets_a_414_json_answer(server: Server, path: str) -> None:
    answer = server.exchange(f"GET {path}?q={'a' * 20_000} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    assert answer.status == 414
    assert json_error(answer) == "uri_too_long"
    assert answer.closed


def test_oversized_headers_get_431(server: Server) -> None:
    long_line = server.exchange(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"b" * 20_000 + b"\r\n\r\n")
    many = server.exchange(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-A: a\r\n" * 200 + b"\r\n")
    big_head = server.exchange(
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + b"".join(b"X-%d: %s\r\n" % (n, b"h" * 6000) for n in range(3))
        + b"\r\n"
    )
    for answer in (long_line, many, big_head):
        assert answer.status == 431
        assert json_error(answer) == "headers_too_large"


def test_a_body_over_the_limit_gets_413_before_it_is_sent(server: Server) -> None:
    declared = server.exchange(
        f"POST /api/v1/events/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {MAX_BODY + 1}\r\n"
        "Expect: 100-continue\r\n\r\n".encode()
    )
    assert (declared.status, declared.closed) == (413, True)
    assert json_error(declared) == "body_too_large"
    chunk = b"a" * 1000
    chunked = server.exchange(
        b"POST /api/v1/events/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        + (b"3e8\r\n" + chunk + b"\r\n") * 6
    )
    assert chunked.status == 413


def test_malformed_requests_get_json_errors(server: Server) -> None:
    no_colon = server.exchange(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon here\r\n\r\n")
    control_char = server.exchange(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\x0bb\r\n\r\n")
    for answer in (no_colon, control_char):
        assert answer.status == 400
        assert json_error(answer) == "bad_request"


def test_no_answer_names_the_server(server: Server) -> None:
    from queueroom import passes

    token = passes.sign_token(passes.QueueToken(event_id=999_999, lane_id=1, ticket=1))
    websocket = (
        f"GET /ws/queue/{token}/ HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://127.0.0.1\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    with server.connect() as sock:
        sock.sendall(websocket)
        sock.settimeout(BOUND)
        handshake = parse(sock.recv(65536), False, 0)
    answers = {
        "healthz": server.exchange(GET.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")),
        "414": server.exchange(b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\n\r\n"),
        "400": server.exchange(b"GET /healthz HTTP/1.1\r\nX-A: a\x0bb\r\n\r\n"),
        "websocket": handshake,
    }
    assert handshake.status == 101  # the upgrade still works through the limited channel
    for name, answer in answers.items():
        assert answer.status is not None, name
        assert "server" not in answer.headers, f"{name}: Server: {answer.headers.get('server')}"


def test_uvicorn_sends_no_banner_and_closes_idle_kept_alive_connections(uvicorn: Server) -> None:
    with uvicorn.connect() as sock:
        sock.sendall(GET)
        first = read_answer(sock)
        assert first.status == 200 and not first.closed
        assert "server" not in first.headers
        idle = read_answer(sock)
    assert idle.closed and idle.body == b""
