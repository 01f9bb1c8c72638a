"""Rate limits of the API, per client, counted in the shared cache.

A client is the OAuth2 application of the request's token (every token of one client
shares its allowance, whichever user it acts for), or the caller's address
(``core.http.client_ip``, which honours the trusted proxies) for anonymous calls. The
count is a fixed window of ``API_RATE_LIMIT_WINDOW`` seconds in Django's cache, which the
settings make shared by every process (the database cache by default, ADR 0008), so the
limit holds across machines. Past the limit the API answers 429 with ``Retry-After``
(the seconds left in the window) as a problem.
"""

from __future__ import annotations

import hashlib
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.throttling import BaseThrottle

from ecitizen.api.auth import Principal
from ecitizen.core.http import client_ip

_state = threading.local()


def client_key(request: HttpRequest) -> tuple[str, int]:
    """The counter's key for this caller and the requests per window it is allowed."""
    principal = getattr(request, "auth", None)
    if isinstance(principal, Principal) and principal.client_id:
        return f"client:{principal.client_id}", int(settings.API_RATE_LIMIT)
    address = client_ip(request) or "unknown"
    # Hashed: the cache need not hold callers' addresses in clear.
    digest = hashlib.sha256(address.encode()).hexdigest()[:32]
    return f"ip:{digest}", int(settings.API_RATE_LIMIT_ANONYMOUS)


def hit(key: str, limit: int, *, now: float | None = None) -> int | None:
    """Count one request for ``key``; ``None`` when allowed, else the seconds until
    the window ends. Side effect: a cache entry per key and window."""
    window = int(settings.API_RATE_LIMIT_WINDOW)
    moment = time.time() if now is None else now
    start = int(moment // window) * window
    cache_key = f"api:rate:{key}:{start}"
    cache.add(cache_key, 0, timeout=window + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr: start again
        cache.set(cache_key, 1, timeout=window + 5)
        count = 1
    if count > limit:
        return max(1, int(start + window - moment + 0.999))
    return None


class ClientRateThrottle(BaseThrottle):
    """ninja throttle: ``API_RATE_LIMIT`` requests per window per client,
    ``API_RATE_LIMIT_ANONYMOUS`` per address without a token. Runs after
    authentication, so the token's client is known."""

    def allow_request(self, request: HttpRequest) -> bool:
        key, limit = client_key(request)
        _state.wait = hit(key, limit)
        return _state.wait is None

    def wait(self) -> float | None:
        # ninja asks right after allow_request, in the same thread.
        return getattr(_state, "wait", None)
