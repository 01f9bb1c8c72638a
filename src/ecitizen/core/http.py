"""Request helpers shared by views, middleware and services' callers."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

#: Set on a request whose body went past ``REQUEST_MAX_MB`` while it was being read.
BODY_TOO_LARGE_ATTRIBUTE = "ecitizen_body_too_large"
_MEGABYTE = 1024 * 1024

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def trusted_proxy_networks() -> tuple[Network, ...]:
    """The networks of ``TRUSTED_PROXIES`` (validated by the settings)."""
    return _networks(tuple(settings.TRUSTED_PROXIES))


def _in_networks(address: str | None, networks: tuple[Network, ...]) -> bool:
    if address is None:
        return False
    parsed = ipaddress.ip_address(address)
    return any(parsed.version == net.version and parsed in net for net in networks)


def from_trusted_proxy(request: HttpRequest) -> bool:
    """Did this request reach us through a proxy we trust to set ``X-Forwarded-*``?

    With ``TRUSTED_PROXIES`` set: only when the TCP peer is in one of those networks.
    Without it, the older ``TRUSTED_PROXY_COUNT`` (a number of proxies, not their
    addresses) cannot tell, so the headers are trusted from any peer when it is above 0,
    and from nobody when it is 0 (then ``X-Forwarded-Proto`` is honoured only if
    ``TRUST_X_FORWARDED_PROTO`` is set, as before).
    """
    networks = trusted_proxy_networks()
    if networks:
        return _in_networks(normalise_ip(request.META.get("REMOTE_ADDR")), networks)
    return True


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, as the nearest proxy we do not run saw it.

    With ``TRUSTED_PROXIES`` (networks): when the TCP peer is one of them,
    ``X-Forwarded-For`` is read from the right, skipping the addresses of trusted
    proxies; the first other address is the client. A peer outside those networks is the
    client itself, whatever the header says (it could forge it).

    Otherwise, with ``TRUSTED_PROXY_COUNT`` = N > 0, the Nth address from the right of
    ``X-Forwarded-For`` is taken; with neither, the header is ignored.
    """
    peer = normalise_ip(request.META.get("REMOTE_ADDR"))
    networks = trusted_proxy_networks()
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if networks:
        if not _in_networks(peer, networks):
            return peer
        candidate = peer
        for hop in reversed(forwarded):
            address = normalise_ip(hop)
            if address is None:
                # Something a trusted proxy did not write: the chain is broken here.
                return candidate
            candidate = address
            if not _in_networks(address, networks):
                return address
        return candidate
    proxies = int(settings.TRUSTED_PROXY_COUNT)
    if proxies and len(forwarded) >= proxies:
        return normalise_ip(forwarded[-proxies])
    return peer


def normalise_ip(value: str | None) -> str | None:
    """The canonical text of an address, as the database gives it back: IPv4-mapped IPv6
    addresses (``::ffff:1.2.3.4``, common behind dual-stack listeners) become plain IPv4.
    ``None`` for anything that is not an address."""
    try:
        address = ipaddress.ip_address(value or "")
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return address.compressed


def request_max_bytes() -> int:
    """The largest request body accepted (``REQUEST_MAX_MB``), in bytes."""
    return int(settings.REQUEST_MAX_MB) * _MEGABYTE


def upload_max_bytes() -> int:
    """The largest single uploaded file accepted anywhere (``UPLOAD_MAX_MB``), in bytes."""
    return int(settings.UPLOAD_MAX_MB) * _MEGABYTE


def address_in_networks(address: str | None, entries: tuple[str, ...]) -> bool:
    """Is ``address`` (an IP address as the socket gave it) in one of the networks
    ``entries`` (CIDR strings, validated by the settings)?"""
    return _in_networks(normalise_ip(address), _networks(entries))
