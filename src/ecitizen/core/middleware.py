"""Session timeouts and per-person display preferences."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import ngettext

from ecitizen.accounts.models import Contrast, TextSize
from ecitizen.accounts.selectors import user_is_staff

LAST_ACTIVITY_KEY = "ecitizen_last_activity"
SIGNED_IN_AT_KEY = "ecitizen_signed_in_at"
DISPLAY_COOKIE = "ecitizen_display"


def idle_limit_seconds(user: object) -> int:
    return int(
        settings.SESSION_IDLE_TIMEOUT_STAFF
        if user_is_staff(user)
        else settings.SESSION_IDLE_TIMEOUT_RESIDENT
    )


def session_seconds_left(request: HttpRequest, now: float | None = None) -> int:
    """Seconds before the signed-in session times out (idle or, for staff, absolute)."""
    now = time.time() if now is None else now
    last = float(request.session.get(LAST_ACTIVITY_KEY, now))
    left = idle_limit_seconds(request.user) - (now - last)
    if user_is_staff(request.user):
        started = float(request.session.get(SIGNED_IN_AT_KEY, now))
        left = min(left, settings.SESSION_ABSOLUTE_TIMEOUT_STAFF - (now - started))
    return max(0, int(left))


def start_session_clock(request: HttpRequest) -> None:
    """Called at sign-in: the idle and absolute clocks start now."""
    now = time.time()
    request.session[SIGNED_IN_AT_KEY] = now
    request.session[LAST_ACTIVITY_KEY] = now


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
            if request.path != reverse("core:session_status"):
                request.session[LAST_ACTIVITY_KEY] = time.time()
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
