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
    try:
        return ipaddress.ip_address(candidate or "").compressed
    except ValueError:
        return None
