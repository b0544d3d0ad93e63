"""The client address: X-Forwarded-For only from trusted proxies, as many hops as configured."""

from __future__ import annotations

import pytest

from ticketing import clientip


def test_without_trusted_proxies_the_header_is_ignored(settings) -> None:
    settings.TRUSTED_PROXIES = []
    assert clientip.resolve("203.0.113.9", ["198.51.100.1"]) == "203.0.113.9"


def test_a_trusted_proxy_names_the_client(settings) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.TRUSTED_PROXY_HOPS = 1
    assert clientip.resolve("10.1.2.3", ["198.51.100.7"]) == "198.51.100.7"


def test_a_client_cannot_choose_its_address_through_a_trusted_proxy(settings) -> None:
    """The proxy appends the peer it saw; whatever the client wrote before stays unread."""
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.TRUSTED_PROXY_HOPS = 1
    assert clientip.resolve("10.1.2.3", ["1.1.1.1, 198.51.100.7"]) == "198.51.100.7"
    assert clientip.resolve("10.1.2.3", ["1.1.1.1", "198.51.100.7"]) == "198.51.100.7"


def test_an_untrusted_peer_cannot_forward(settings) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert clientip.resolve("203.0.113.9", ["10.9.9.9"]) == "203.0.113.9"


def test_hops_are_walked_only_through_trusted_proxies_and_up_to_the_count(settings) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.168.0.0/16"]
    settings.TRUSTED_PROXY_HOPS = 2
    # client → CDN edge (192.168.1.1) → our balancer (10.0.0.1) → us
    assert clientip.resolve("10.0.0.1", ["198.51.100.7, 192.168.1.1"]) == "198.51.100.7"
    settings.TRUSTED_PROXY_HOPS = 1
    assert clientip.resolve("10.0.0.1", ["198.51.100.7, 192.168.1.1"]) == "192.168.1.1"


def test_garbage_in_the_header_stops_the_walk_at_the_last_trusted_address(settings) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.TRUSTED_PROXY_HOPS = 3
    assert clientip.resolve("10.0.0.1", ["not-an-ip"]) == "10.0.0.1"
    assert clientip.resolve("10.0.0.1", ["198.51.100.7, \x00"]) == "10.0.0.1"


def test_ports_and_mapped_addresses_are_read_as_addresses(settings) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert clientip.resolve("10.0.0.1", ["198.51.100.7:4431"]) == "198.51.100.7"
    assert clientip.resolve("10.0.0.1", ["[2001:db8::1]:443"]) == "2001:db8::1"
    assert clientip.resolve("::ffff:203.0.113.9", []) == "203.0.113.9"
    assert clientip.resolve(None, []) == clientip.UNKNOWN


@pytest.mark.parametrize(
    ("address", "network"),
    [("198.51.100.7", "198.51.100.0/24"), ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"), ("unknown", "unknown")],
)
def test_addresses_are_grouped_by_household_sized_networks(address: str, network: str) -> None:
    assert clientip.subnet_of(address) == network


def test_asgi_scope_and_django_request_agree(settings, rf) -> None:
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    scope = {"client": ("127.0.0.1", 5000), "headers": [(b"x-forwarded-for", b"198.51.100.7")]}
    assert clientip.from_scope(scope) == "198.51.100.7"
    request = rf.get("/", HTTP_X_FORWARDED_FOR="198.51.100.7", REMOTE_ADDR="127.0.0.1")
    assert clientip.from_request(request) == "198.51.100.7"
