"""The web server `make run` starts: Daphne, with the HTTP limits it lacks.

    python -m ticketing.server [any daphne option] ticketing.asgi:application

Daphne 4.2 serves HTTP/1.1 through Twisted's `HTTPChannel`, whose only clock
is an idle timer (60 s) that every received byte resets: a client trickling
one byte a second keeps a request open for ever (slowloris), head or body.
A request line or header line over 16 KB closes the connection without an
answer, an oversized head gets a bare 400 with no body, a request body of any
size is buffered (to a temporary file past 100 KB) before the application sees
it, and every answer says `Server: daphne`.

This module keeps Daphne's command line and adds, per connection (values from
the environment, see `Limits`):

* the head (request line and headers) must arrive within HTTP_HEADER_TIMEOUT
  seconds, counted from the connection, or from the first byte of the next
  request on a kept-alive connection, however the client trickles it;
* the body must arrive within HTTP_BODY_TIMEOUT seconds after the head;
* an idle kept-alive connection closes after HTTP_KEEPALIVE_TIMEOUT seconds
  (Twisted's own idle timer, set to this value);
* a request line over HTTP_MAX_LINE_BYTES answers 414, a header line over it
  or a head over HTTP_MAX_HEADER_BYTES 431, a body over HTTP_MAX_BODY_BYTES
  413, a late head or body 408; all as the API's JSON errors
  `{"error": code, "detail": text}`, then the connection closes;
* Daphne's own error pages (a malformed header, an application crash) are
  JSON too, and no answer carries a `Server` header (`-s NAME` sets one);
* every WebSocket scope carries the extension `ticketing.shared_frames`
  (`SharedFrames`): the waiting room writes one pre-framed message per tick
  straight to tens of thousands of sockets (queueroom/consumers.py).

The hooks are Twisted's `HTTPChannel` methods and a few of its attributes
(`_receivedHeaderSize`, `_handlingRequest`, `_abortingCall`): private API, so
Twisted is pinned in requirements.txt and ticketing/tests/test_server_limits.py
exercises every limit against the real server. The reverse proxy in front
enforces its own limits too (docs/architecture.md, "Server limits and the
proxy in front").
"""

# Daphne installs Twisted's asyncio reactor on import: it must come before
# anything that imports a reactor.
from daphne.server import Server

# isort: split
import dataclasses
import json
import os
import socket
import sys
from http import HTTPStatus
from typing import Any

from daphne import server as daphne_server
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from twisted.internet.base import DelayedCall
from twisted.internet.endpoints import AdoptedStreamServerEndpoint, serverFromString
from twisted.web import http

from ticketing.env import envint
from ticketing.errors import json_error_body

# After an error answer, how long to keep reading (and dropping) what the
# client still sends before closing: closing a socket with unread input
# resets the connection, and the client may lose the answer with it
# (nginx's lingering_close does the same).
LINGER_SECONDS = 2


@dataclasses.dataclass(frozen=True)
class Limits:
    header_timeout: int
    body_timeout: int
    keepalive_timeout: int
    max_line_bytes: int
    max_header_bytes: int
    max_body_bytes: int

    @classmethod
    def from_env(cls) -> "Limits":
        return cls(
            header_timeout=envint("HTTP_HEADER_TIMEOUT", 10, minimum=1),
            body_timeout=envint("HTTP_BODY_TIMEOUT", 30, minimum=1),
            keepalive_timeout=envint("HTTP_KEEPALIVE_TIMEOUT", 75, minimum=1),
            max_line_bytes=envint("HTTP_MAX_LINE_BYTES", 8192, minimum=256),
            max_header_bytes=envint("HTTP_MAX_HEADER_BYTES", 16384, minimum=1024),
            max_body_bytes=envint("HTTP_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=1024),
        )


def error_response(status: int, code: str, detail: str) -> bytes:
    """A complete HTTP/1.1 answer carrying the API's JSON error, closing the connection."""
    body = json_error_body(status, code, detail)
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class LimitedChannel(http.HTTPChannel):
    """Twisted's HTTP/1.1 channel with deadlines and size limits (module docstring)."""

    maxHeaders = 100  # browsers send about 20; Twisted allows 500, Apache 100
    limits: Limits
    _head_timer: DelayedCall | None = None
    _body_timer: DelayedCall | None = None
    _awaiting_head = False  # between requests: the next byte starts a head
    _received_any = False  # this request has sent at least one byte
    _body_bytes = 0
    _rejected = False

    def connectionMade(self) -> None:
        super().connectionMade()
        self.MAX_LENGTH = self.limits.max_line_bytes
        self.totalHeadersSize = self.limits.max_header_bytes
        self._start_head_timer()

    def dataReceived(self, data: bytes) -> None:
        if self._rejected:
            return  # answered: whatever else comes is dropped
        if data:
            self._received_any = True
            if self._awaiting_head:
                self._awaiting_head = False
                self._start_head_timer()
        super().dataReceived(data)

    def lineReceived(self, line: bytes) -> None:
        if self._rejected:
            return  # Twisted's line loop goes on after an answer
        # Twisted answers a bare 400 past totalHeadersSize; say what it is.
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            self._reject(431, "headers_too_large", f"The request head is over {self.totalHeadersSize} bytes.")
            return
        super().lineReceived(line)

    def headerReceived(self, line: bytes) -> bool:
        # Twisted answers a bare 400 past maxHeaders.
        if self._receivedHeaderCount >= self.maxHeaders:
            self._reject(431, "headers_too_large", f"The request has over {self.maxHeaders} headers.")
            return False
        ok: bool = super().headerReceived(line)
        return ok

    def lineLengthExceeded(self, line: bytes) -> None:
        # Twisted closes without a word. No header line counted yet means
        # the long one is the request line, i.e. the URL.
        if self._receivedHeaderSize == 0:
            self._reject(414, "uri_too_long", f"The request line is over {self.MAX_LENGTH} bytes.")
        else:
            self._reject(431, "headers_too_large", f"A header line is over {self.MAX_LENGTH} bytes.")

    def allHeadersReceived(self) -> None:
        self._cancel_timers()
        if self.length is not None and self.length > self.limits.max_body_bytes:
            # Before Twisted would answer "100 Continue" and buffer it all.
            self._reject(413, "body_too_large", f"The request body is over {self.limits.max_body_bytes} bytes.")
            return
        super().allHeadersReceived()
        if self.length != 0:
            self._body_bytes = 0
            self._body_timer = self.callLater(self.limits.body_timeout, self._body_too_slow)

    def rawDataReceived(self, data: bytes) -> None:
        if self._rejected:
            return
        if not self._handlingRequest:  # a body, not the next pipelined request
            self._body_bytes += len(data)
            if self.length is None and self._body_bytes > self.limits.max_body_bytes:  # chunked
                self._reject(413, "body_too_large", f"The request body is over {self.limits.max_body_bytes} bytes.")
                return
        super().rawDataReceived(data)

    def allContentReceived(self) -> None:
        self._cancel_timers()
        super().allContentReceived()

    def requestDone(self, request: http.Request) -> None:
        if self.persistent:
            # Twisted's idle timer (HTTP_KEEPALIVE_TIMEOUT) runs until the
            # next request's first byte, the head deadline from then on.
            # Set before Twisted replays any pipelined bytes.
            self._awaiting_head = True
            self._received_any = False
        super().requestDone(request)

    def connectionLost(self, reason: Any = None) -> None:
        self._cancel_timers()
        super().connectionLost(reason)

    def _respondToBadRequestAndDisconnect(self) -> None:
        self._reject(400, "bad_request", "The request is not valid HTTP/1.1.")

    def _start_head_timer(self) -> None:
        self._cancel_timers()
        self._head_timer = self.callLater(self.limits.header_timeout, self._head_too_slow)

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None and timer.active():
                timer.cancel()
        self._head_timer = self._body_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if not self._received_any:
            # An idle connection (say, a browser's preconnect): nothing to answer.
            self._rejected = True
            self.setTimeout(None)
            self.loseConnection()
            return
        self._reject(408, "request_timeout", f"The request head took over {self.limits.header_timeout} s.")

    def _body_too_slow(self) -> None:
        self._body_timer = None
        self._reject(408, "request_timeout", f"The request body took over {self.limits.body_timeout} s.")

    def _reject(self, status: int, code: str, detail: str) -> None:
        """Answer with the JSON error, then close: the write side once the
        answer is out, the whole connection when the client closes or after
        LINGER_SECONDS."""
        if self._rejected or self.transport is None:
            return
        self._rejected = True
        self._cancel_timers()
        self.setTimeout(None)
        self._networkProducer.unregisterProducer()
        transport: Any = self.transport  # a TCP transport; zope interfaces confuse mypy
        transport.write(error_response(status, code, detail))
        transport.loseWriteConnection()
        if self._abortingCall is None:
            self._abortingCall = self.callLater(LINGER_SECONDS, self.forceAbortClient)


class JsonErrorRequest(WebRequest):  # type: ignore[misc]  # daphne has no types
    """Daphne's request, with its own error answers (a malformed header, an
    application that crashed or timed out) in the API's JSON shape instead
    of an HTML page signed "Daphne"."""

    CODES = {400: "bad_request", 500: "server_error", 503: "unavailable"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Twisted parses a form POST's body into `request.args` (and the
        # Content-Type through the email package) before Daphne hands the
        # raw body to Django, which parses it again; Daphne never reads
        # `args`. Profiled under the simulation: ~2 % of the server's samples.
        self._parsePOSTFormSubmission = False

    def basic_error(self, status: int, status_text: bytes, body: str) -> None:
        payload = json.dumps({"error": self.CODES.get(status, "error"), "detail": body}).encode()
        self.handle_reply(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"x-content-type-options", b"nosniff"),
                ],
            }
        )
        self.handle_reply({"type": "http.response.body", "body": payload})


class LimitedHTTPFactory(HTTPFactory):  # type: ignore[misc]
    # A plain HTTP/1.1 channel in place of Twisted's HTTP/2-negotiating
    # wrapper: Daphne only negotiates HTTP/2 over TLS with Twisted's http2
    # extra, neither of which this project installs (TLS ends at the proxy).
    protocol = LimitedChannel

    def __init__(self, server: Server, limits: Limits) -> None:
        super().__init__(server)
        self.limits = limits
        self.timeOut = limits.keepalive_timeout

    def buildProtocol(self, addr: Any) -> LimitedChannel:
        channel: LimitedChannel = super().buildProtocol(addr)
        channel.limits = self.limits
        channel.requestFactory = JsonErrorRequest
        return channel


class SharedFrames:
    """The ASGI scope extension ``ticketing.shared_frames`` of one WebSocket.

    Daphne's path for a message is per connection: the ASGI send coroutine,
    ``handle_reply`` and its checks, UTF-8 encoding, autobahn framing, then
    ``transport.write``, which only queues the bytes and asks the reactor
    to watch the socket for writability (two epoll changes per message on
    the asyncio reactor). For a frame that is the same for every fan, this
    frames it once (autobahn's ``prepareMessage``) and hands the bytes to
    the socket at once when nothing is queued before them, as asyncio's own
    transports do; what the kernel does not take goes through Twisted's
    buffer as usual. Compression is never negotiated by Daphne; were it
    on, autobahn's ``sendPreparedMessage`` compresses per connection.

    A closed socket (or one closing) is skipped: ``write`` returns False.
    ``backlog`` is what Twisted still holds for the socket, for the caller's
    back-pressure policy (skip frames, then ``abort``). The buffer fields are
    Twisted's private ones (``FileDescriptor``), pinned in requirements.txt;
    ticketing/tests/test_server_limits.py drives this against the real server.
    """

    __slots__ = ("protocol",)

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol

    def prepare(self, text: str) -> Any:
        return self.protocol.factory.prepareMessage(text.encode("utf-8"))

    def backlog(self) -> int:
        transport = self.protocol.transport
        if transport is None:
            return 0
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen  # type: ignore[no-any-return]

    def write(self, prepared: Any) -> bool:
        protocol = self.protocol
        transport = protocol.transport
        if (
            protocol.state != protocol.STATE_OPEN
            or transport is None
            or not transport.connected
            or transport.disconnecting
            or transport._writeDisconnected
        ):
            return False
        if protocol._perMessageCompress is not None:
            protocol.sendPreparedMessage(prepared)
            return True
        data: bytes = prepared.payloadHybi
        if transport.dataBuffer or transport._tempDataLen:
            transport.write(data)  # behind what is queued: in order
            return True
        try:
            sent = transport.socket.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            # Reset or broken: Twisted sees it on the next read and closes.
            return False
        if sent < len(data):
            transport.write(data[sent:])
        return True

    def abort(self) -> None:
        transport = self.protocol.transport
        if transport is not None:
            transport.abortConnection()


class LimitedServer(Server):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.limits = Limits.from_env()
        super().__init__(*args, **kwargs)
        # Twisted listens with a backlog of 50: a burst of new connections
        # (a load balancer's probes from many nodes, fans arriving at the
        # opening) overflows it, and each dropped SYN costs its client a
        # 1 s retransmit. The kernel caps it at net.core.somaxconn.
        backlog = envint("HTTP_LISTEN_BACKLOG", 1024, minimum=1)
        self.endpoints: list[str] = [
            f"{e}:backlog={backlog}" if e.startswith("tcp:") and "backlog=" not in e else e for e in self.endpoints
        ]

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        if scope.get("type") == "websocket":
            scope = {
                **scope,
                "extensions": {**scope.get("extensions", {}), "ticketing.shared_frames": SharedFrames(protocol)},
            }
        return super().create_application(protocol, scope)

    # Server.run() builds `self.http_factory = HTTPFactory(self)` and listens
    # with it at once, with no hook in between: this property hands it ours.
    @property
    def http_factory(self) -> LimitedHTTPFactory:
        return self._http_factory

    @http_factory.setter
    def http_factory(self, _daphnes: object) -> None:
        self._http_factory = LimitedHTTPFactory(self, self.limits)


def server_from_string(reactor: Any, description: str) -> Any:
    """Daphne's `--fd N` listens on "fd:fileno=N", a description today's
    Twisted no longer parses (its `fd:` parser is gone): adopt the inherited
    listening socket directly. Every other description goes to Twisted.
    `make run` with WEB_PROCESSES > 1 starts several servers on one socket
    this way (scripts/devstack.py, start_web)."""
    if description.startswith("fd:"):
        options = dict(part.split("=", 1) for part in description.split(":")[1:] if "=" in part)
        fileno = int(options["fileno"])
        family = socket.AF_INET6 if options.get("domain") == "INET6" else socket.AF_INET
        try:
            with socket.socket(fileno=os.dup(fileno)) as probe:
                family = probe.family
        except OSError:
            pass  # not a socket: Twisted says so when it adopts it
        return AdoptedStreamServerEndpoint(reactor, fileno, family)
    return serverFromString(reactor, description)


daphne_server.serverFromString = server_from_string


class LimitedCommandLineInterface(CommandLineInterface):  # type: ignore[misc]
    server_class = LimitedServer

    def __init__(self) -> None:
        super().__init__()
        self.parser.set_defaults(server_name="")  # no Server header unless `-s NAME`


def main(argv: list[str]) -> None:
    LimitedCommandLineInterface().run(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
