"""Session timeouts, per-person display preferences, and the headers and limits every
request and response goes through (proxies, methods, body size, caching, browser
features)."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import AuthenticationMiddleware, get_user
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import get_language, get_language_bidi, get_language_info, ngettext

from ecitizen.core.access import is_official
from ecitizen.core.http import BODY_TOO_LARGE_ATTRIBUTE, from_trusted_proxy, request_max_bytes
from ecitizen.core.preferences import Contrast, TextSize
from ecitizen.core.processcache import reverse_once

LAST_ACTIVITY_KEY = "ecitizen_last_activity"
SIGNED_IN_AT_KEY = "ecitizen_signed_in_at"
DISPLAY_COOKIE = "ecitizen_display"


def idle_limit_seconds(user: object) -> int:
    return int(
        settings.SESSION_IDLE_TIMEOUT_STAFF
        if is_official(user)
        else settings.SESSION_IDLE_TIMEOUT_RESIDENT
    )


def session_seconds_left(request: HttpRequest, now: float | None = None) -> int:
    """Seconds before the signed-in session times out (idle or, for staff, absolute)."""
    now = time.time() if now is None else now
    last = float(request.session.get(LAST_ACTIVITY_KEY, now))
    left = idle_limit_seconds(request.user) - (now - last)
    if is_official(request.user):
        started = float(request.session.get(SIGNED_IN_AT_KEY, now))
        left = min(left, settings.SESSION_ABSOLUTE_TIMEOUT_STAFF - (now - started))
    return max(0, int(left))


#: Activity is written to the session at most this often: writing it at every request
#: made every page of a signed-in person save their session (a database write and a new
#: signature each time). The idle limits (30 and 60 minutes) then count from up to this
#: many seconds earlier than the last request.
ACTIVITY_RESOLUTION_SECONDS = 30


def note_activity(request: HttpRequest, now: float | None = None) -> None:
    """Record that the signed-in person did something now, unless it was recorded less
    than :data:`ACTIVITY_RESOLUTION_SECONDS` ago (then the session is left unchanged and
    is not saved)."""
    now = time.time() if now is None else now
    last = request.session.get(LAST_ACTIVITY_KEY)
    if last is None or now - float(last) >= ACTIVITY_RESOLUTION_SECONDS:
        request.session[LAST_ACTIVITY_KEY] = now


def start_session_clock(request: HttpRequest) -> None:
    """Called at sign-in: the idle and absolute clocks start now."""
    now = time.time()
    request.session[SIGNED_IN_AT_KEY] = now
    request.session[LAST_ACTIVITY_KEY] = now


class ResolvedUserAuthenticationMiddleware(AuthenticationMiddleware):
    """Django's ``AuthenticationMiddleware`` with ``request.user`` the user itself, not a
    lazy proxy to it.

    Laziness saves nothing here: :class:`SessionTimeoutMiddleware`, next but one, asks
    every request whether its person is signed in. And each attribute read through
    Django's ``SimpleLazyObject`` first fails on the proxy (an ``AttributeError`` raised
    and caught) before it reads the user: some hundred reads a page (templates, access
    checks), 3 % of the web's CPU under load. The user is read as Django's own lazy
    object reads it (``get_user``, kept on the request for ``request.auser`` too), so
    nothing else changes: a visitor without a session cookie costs no query.
    """

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = get_user(request)


class SessionTimeoutMiddleware:
    """Sign people out after the idle limit (30 min staff, 60 min residents) and staff
    after the absolute limit (12 h); every other request counts as activity."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            if session_seconds_left(request) <= 0:
                minutes = max(1, idle_limit_seconds(request.user) // 60)
                logout(request)
                if request.path == reverse("core:session_ended"):
                    return self.get_response(request)  # the page that explains it
                messages.info(
                    request,
                    ngettext(
                        "You were signed out to protect your information because you had "
                        "not done anything for %(minutes)d minute. Sign in again to continue.",
                        "You were signed out to protect your information because you had "
                        "not done anything for %(minutes)d minutes. Sign in again to continue.",
                        minutes,
                    )
                    % {"minutes": minutes},
                )
                target = reverse("account_login")
                if request.method == "GET":
                    target += "?" + urlencode({"next": request.get_full_path()})
                return redirect(target)
            # Asking how long is left (the timeout dialog does) is not activity.
            if request.path != reverse_once("core:session_status"):
                note_activity(request)
        return self.get_response(request)


class PreferencesMiddleware:
    """Attach ``request.display`` (text size and contrast) from the person's account or,
    for visitors, from the display cookie; apply a signed-in person's language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.display = display_preferences(request)  # type: ignore[attr-defined]
        response = self.get_response(request)
        language = getattr(request, "language_to_remember", None)
        if language:
            remember_in_cookie(response, settings.LANGUAGE_COOKIE_NAME, language)
        return response


def remember_in_cookie(
    response: HttpResponse, name: str, value: str, *, httponly: bool = False
) -> None:
    """Keep a preference (language, display) on this device for a year."""
    response.set_cookie(
        name,
        value,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=httponly,
    )


def display_preferences(request: HttpRequest) -> dict[str, str]:
    user = request.user
    if user.is_authenticated:
        return {"text_size": user.text_size, "contrast": user.contrast}
    size, _sep, contrast = request.COOKIES.get(DISPLAY_COOKIE, "").partition(".")
    return {
        "text_size": size if size in TextSize.values else TextSize.STANDARD,
        "contrast": contrast if contrast in Contrast.values else Contrast.STANDARD,
    }


# --- Every request and response ---------------------------------------------------------

#: Methods answered with 405 everywhere: TRACE echoes the request back (with its cookies
#: and headers, the old cross-site-tracing trick) and TRACK is IIS's name for it.
REFUSED_METHODS = frozenset({"TRACE", "TRACK"})
_ALLOWED_METHODS = ["GET", "HEAD", "POST", "OPTIONS"]


def permissions_policy_header(policy: dict[str, list[str]]) -> str:
    """``{"camera": [], "geolocation": ["self"]}`` as ``camera=(), geolocation=(self)``."""
    return ", ".join(f"{feature}=({' '.join(allowlist)})" for feature, allowlist in policy.items())


def _is_personal(request: HttpRequest) -> bool:
    """Does this response belong to one person? True when someone is signed in, and when
    an anonymous visitor's session holds something (a sign-in waiting for its second
    factor, a journey in progress). Static files are served before the session and the
    user are attached, so they never count."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return True
    session = getattr(request, "session", None)
    # Only a session the view already read: asking an unread one would cost a query.
    return bool(session is not None and session.accessed and session.keys())


class EdgeMiddleware:
    """The outermost layer.

    On the way in, ``X-Forwarded-Proto`` is dropped unless the request came from one of
    ``TRUSTED_PROXIES`` (a client talking to the web process directly could otherwise
    claim HTTPS). On the way out, every response gets the ``Permissions-Policy`` header,
    and a response that belongs to one person (:func:`_is_personal`) gets
    ``Cache-Control: no-store, private`` so that neither a shared cache nor the browser of
    a library computer keeps it. Public pages and static files keep their own caching.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.permissions_policy = permissions_policy_header(settings.PERMISSIONS_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_X_FORWARDED_PROTO" in request.META and not from_trusted_proxy(request):
            del request.META["HTTP_X_FORWARDED_PROTO"]
        response = self.get_response(request)
        if self.permissions_policy:
            response.headers.setdefault("Permissions-Policy", self.permissions_policy)
        if _is_personal(request):
            patch_cache_control(response, no_store=True, private=True)
        return response


class RequestGuardMiddleware:
    """Refuse what no page needs before any of it is read: ``TRACE`` and ``TRACK``
    (405), and a body announced larger than ``REQUEST_MAX_MB`` (413, with a page that
    says what to do). Bodies that turn out larger while uploaded files are read are
    stopped by :class:`ecitizen.core.uploads.LimitedUploadHandler`, which marks the
    request; the response is then replaced by the same 413 page.

    Sits after the CSP middleware, so that the error page gets its nonce and policy.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in REFUSED_METHODS:
            return HttpResponseNotAllowed(_ALLOWED_METHODS)
        try:
            announced = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            announced = 0  # Django refuses a malformed length itself when it reads the body
        if announced > request_max_bytes():
            return request_too_large(request)
        response = self.get_response(request)
        if getattr(request, BODY_TOO_LARGE_ATTRIBUTE, False):
            return request_too_large(request)
        return response


def request_too_large(request: HttpRequest) -> HttpResponse:
    """The 413 page: the files sent were too big, what the limits are, what to do."""
    from ecitizen.core.context_processors import brand

    language = get_language() or settings.LANGUAGE_CODE
    context = {
        "status": 413,
        "brand": brand(),
        "display": {"text_size": "standard", "contrast": "standard"},
        "LANGUAGE_CODE": language,
        "LANGUAGE_BIDI": get_language_bidi(),
        "language_name": get_language_info(language)["name_local"],
        "csp_nonce": getattr(request, "csp_nonce", ""),
        "file_limit_mb": settings.UPLOAD_MAX_MB,
        "request_limit_mb": settings.REQUEST_MAX_MB,
    }
    return HttpResponse(render_to_string("413.html", context), status=413)
