"""Request helpers shared by views, middleware and services' callers."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, trusting exactly ``TRUSTED_PROXY_COUNT`` reverse proxies.

    With no trusted proxy, ``X-Forwarded-For`` is ignored (a client could forge it);
    with N proxies, the Nth address from the right is the one the first proxy saw.
    """
    candidate: str | None = request.META.get("REMOTE_ADDR")
    proxies = int(settings.TRUSTED_PROXY_COUNT)
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            candidate = forwarded[-proxies]
    return normalise_ip(candidate)


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
