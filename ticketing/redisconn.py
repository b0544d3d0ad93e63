"""The options every Redis client of the project is made with (queueroom's
scripts, the limiters): bounded waits, so a Redis that stops answering costs
a request about REDIS_SOCKET_TIMEOUT, then a 503. from_url clients do not
retry, so that is the whole wait."""

from __future__ import annotations

from typing import Any

from django.conf import settings

# Settings that change the clients: tests that point Redis elsewhere reset them.
CLIENT_SETTINGS = ("REDIS_URL", "REDIS_CONNECT_TIMEOUT", "REDIS_SOCKET_TIMEOUT")


def client_options() -> dict[str, Any]:
    return {
        "decode_responses": True,
        "max_connections": 64,
        "socket_connect_timeout": settings.REDIS_CONNECT_TIMEOUT,
        "socket_timeout": settings.REDIS_SOCKET_TIMEOUT,
        "socket_keepalive": True,
    }
