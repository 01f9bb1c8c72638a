"""Device cookies: a browser that completed a sign-in keeps signing in while the
account is throttled (NIST SP 800-63B 5.2.2; OWASP "device cookies").

Without them, anyone who knows a resident's email address can keep the account in
sign-in waits by typing wrong passwords, from any address, and the owner waits too. With
them:

- after a **complete** sign-in (the password, and the second factor when the account has
  one), the browser gets a cookie naming the account and a random device code, signed
  with ``SECRET_KEY``, ``HttpOnly``, ``Secure`` when the session cookie is, sent only to
  ``/accounts/`` (sign-in and re-authentication), for ``SIGNIN_DEVICE_COOKIE_DAYS``. The
  code is new at every complete sign-in. One cookie holds up to five accounts (a shared
  family computer), the latest first;
- a sign-in attempt for an account whose cookie the browser presents is counted against
  **that device** instead of the account (:mod:`ecitizen.accounts.services`, the
  throttle functions): the attacker's failures, counted against the account, do not
  make the owner wait, and the owner's own failures make only their device wait. The
  per-address count applies to both;
- a cookie for another account, an expired, altered or foreign one is ignored: the
  attempt is counted against the account as before.

The cookie never proves anything by itself: the password and, where enrolled, the
second factor are still checked.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponseBase

from ecitizen.accounts.models import User

DEVICE_COOKIE = "ecitizen_device"
COOKIE_PATH = "/accounts/"
MAX_ACCOUNTS = 5
_SALT = "ecitizen.accounts.devices"
_CACHE_ATTRIBUTE = "_ecitizen_device_codes"


def _max_age() -> int:
    return int(settings.SIGNIN_DEVICE_COOKIE_DAYS) * 24 * 3600


def _entries(request: HttpRequest) -> list[dict[str, Any]]:
    """The (account id, device code) pairs of a valid cookie; empty for anything else."""
    raw = request.COOKIES.get(DEVICE_COOKIE)
    if not raw:
        return []
    try:
        value = signing.loads(raw, salt=_SALT, max_age=_max_age())
    except signing.BadSignature:  # altered, foreign or expired
        return []
    if not isinstance(value, list):
        return []
    return [
        entry
        for entry in value[:MAX_ACCOUNTS]
        if isinstance(entry, dict)
        and isinstance(entry.get("u"), int)
        and isinstance(entry.get("d"), str)
    ]


def device_code(request: HttpRequest, email: str) -> str | None:
    """The device code this browser holds for the account with ``email`` (as typed),
    or ``None``: no cookie, an invalid one, or one for other accounts only."""
    cache: dict[str, str | None] = request.__dict__.setdefault(_CACHE_ATTRIBUTE, {})
    typed = email.strip().lower()
    if typed in cache:
        return cache[typed]
    code = None
    entries = _entries(request)
    if entries and typed:
        user_id = User.objects.filter(email__iexact=typed).values_list("pk", flat=True).first()
        code = next((e["d"] for e in entries if e["u"] == user_id), None)
    cache[typed] = code
    return code


def remember_device(request: HttpRequest, response: HttpResponseBase, user: Any) -> None:
    """Give this browser a new device code for ``user`` (after a complete sign-in),
    keeping its codes for up to four other accounts."""
    others = [entry for entry in _entries(request) if entry["u"] != user.pk]
    entries = [{"u": user.pk, "d": secrets.token_urlsafe(16)}, *others][:MAX_ACCOUNTS]
    response.set_cookie(
        DEVICE_COOKIE,
        signing.dumps(entries, salt=_SALT, compress=True),
        max_age=_max_age(),
        path=COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE or request.is_secure(),
        httponly=True,
        samesite="Lax",
    )


def sign_in_complete(request: HttpRequest, user: Any) -> bool:
    """Did this sign-in check the password and, if the account has one, a second factor?
    (Signing in by an email confirmation link or right after sign-up does not count.)"""
    from allauth.account.authentication import get_authentication_records
    from allauth.mfa.utils import is_mfa_enabled

    methods = {record.get("method") for record in get_authentication_records(request, user)}
    if "password" not in methods:
        return False
    return "mfa" in methods or not is_mfa_enabled(user)
