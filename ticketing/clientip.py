"""Who is asking: the client's address, as far as we can trust it.

A request arrives from its peer: the fan's browser, or a reverse proxy in
front of us. ``X-Forwarded-For`` is believed only as far as a chain of
proxies we trust reaches (settings.TRUSTED_PROXIES, networks in CIDR form,
and at most settings.TRUSTED_PROXY_HOPS of them): the header is read from
the right, each hop's address becomes the next peer while the peer is a
trusted proxy. Anyone else's ``X-Forwarded-For`` is ignored, so a client
cannot choose the address it is limited by.

With no trusted proxy configured (the default), the address is the peer's.
Limits group addresses by network (``subnet_of``): an IPv4 /24 or an IPv6
/64, which is what one household, office or venue Wi-Fi usually holds.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

UNKNOWN = "unknown"


@cache
def _trusted() -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in settings.TRUSTED_PROXIES)


def _reset(**kwargs: Any) -> None:
    if kwargs.get("setting") in ("TRUSTED_PROXIES", None):
        _trusted.cache_clear()


setting_changed.connect(_reset, dispatch_uid="ticketing.clientip.reset")


def _parse(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Address) -> bool:
    return any(address in network for network in _trusted())


def is_trusted_peer(peer: str | None) -> bool:
    """Whether the connection comes from one of settings.TRUSTED_PROXIES
    (whose headers, such as X-Request-ID, may be believed)."""
    current = _parse(peer) if peer else None
    return current is not None and _is_trusted(current)


def resolve(peer: str | None, forwarded_for: Iterable[str]) -> str:
    """The client address from the peer's address and the values of its
    ``X-Forwarded-For`` headers (in order). ``UNKNOWN`` when the peer has
    none (a Unix socket)."""
    current = _parse(peer) if peer else None
    if current is None:
        return UNKNOWN
    if not _is_trusted(current):
        return str(current)
    hops = [part for value in forwarded_for for part in value.split(",") if part.strip()]
    for _ in range(settings.TRUSTED_PROXY_HOPS):
        if not hops or not _is_trusted(current):
            break
        parsed = _parse(hops.pop())
        if parsed is None:
            break  # a garbled hop: the last address we could trust stands
        current = parsed
    return str(current)


def from_scope(scope: Mapping[str, Any]) -> str:
    """The client address of an ASGI connection (HTTP or WebSocket)."""
    client = scope.get("client")
    peer = str(client[0]) if client else None
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-forwarded-for"]
    return resolve(peer, values)


def from_request(request: HttpRequest) -> str:
    """The client address of a Django request (memoised on it)."""
    found = getattr(request, "_client_address", None)
    if found is None:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
        found = resolve(request.META.get("REMOTE_ADDR"), [forwarded] if forwarded else [])
        request._client_address = found  # type: ignore[attr-defined]
    return str(found)


def subnet_of(address: str) -> str:
    """The network an address is grouped in for limits: /24 for IPv4, /64
    for IPv6 (the address itself when it does not parse)."""
    parsed = _parse(address)
    if parsed is None:
        return address
    prefix = 24 if parsed.version == 4 else 64
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


def for_axes(request: HttpRequest) -> str | None:
    """django-axes' client address: None when there is none (a test's
    force_login, a Unix socket), which its logs store as empty."""
    found = from_request(request)
    return None if found == UNKNOWN else found
