"""Public pages, display and language preferences, session keep-alive, health."""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.paginator import Paginator
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import translate_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import (
    check_for_language,
    get_language,
    get_language_bidi,
    get_language_info,
)
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ecitizen.core.access import AUDIT_READ, public, signed_in, staff_only
from ecitizen.core.context_processors import brand
from ecitizen.core.forms import DisplayForm
from ecitizen.core.metrics import exposition
from ecitizen.core.middleware import DISPLAY_COOKIE, remember_in_cookie, session_seconds_left
from ecitizen.core.observability import metrics_allowed
from ecitizen.core.registry import registry
from ecitizen.core.selectors import (
    audit_actions,
    audit_events,
    platform_health,
    platform_readiness,
)


def _safe_next(request: HttpRequest, fallback: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _static_page(template: str) -> Any:
    @public
    def view(request: HttpRequest) -> HttpResponse:
        return render(request, template)

    view.__name__ = template.rsplit("/", 1)[-1].removesuffix(".html")
    return view


privacy = _static_page("core/pages/privacy.html")
accessibility = _static_page("core/pages/accessibility.html")
cookies = _static_page("core/pages/cookies.html")
contact = _static_page("core/pages/contact.html")


@public
def display(request: HttpRequest) -> HttpResponse:
    """Text size and contrast: kept on the account when signed in, in a cookie otherwise."""
    if request.method == "POST":
        form = DisplayForm(request.POST)
        if form.is_valid():
            size, contrast = form.cleaned_data["text_size"], form.cleaned_data["contrast"]
            response = redirect(_safe_next(request, request.path))
            if request.user.is_authenticated:
                registry.identity.preferences_update(
                    user=request.user, text_size=size, contrast=contrast
                )
            else:
                remember_in_cookie(response, DISPLAY_COOKIE, f"{size}.{contrast}", httponly=True)
            messages.success(request, _("Your display settings have been saved."))
            return response
    else:
        form = DisplayForm(initial=getattr(request, "display", {}))
    return render(request, "core/display.html", {"form": form})


@public
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch language; also remembered on the account of a signed-in person."""
    language = request.POST.get("language", "")
    next_url = _safe_next(request)
    if not check_for_language(language) or language not in dict(settings.LANGUAGES):
        messages.error(request, _("That language is not available."))
        return redirect(next_url)
    response = HttpResponseRedirect(translate_url(next_url, language))
    remember_in_cookie(response, settings.LANGUAGE_COOKIE_NAME, language)
    if request.user.is_authenticated:
        registry.identity.preferences_update(user=request.user, language=language)
    return response


@signed_in
@require_GET
def session_status(request: HttpRequest) -> JsonResponse:
    """Seconds left before the session times out; does not count as activity."""
    return JsonResponse({"seconds_left": session_seconds_left(request)})


@signed_in
@require_POST
def session_extend(request: HttpRequest) -> HttpResponse:
    """ "Stay signed in": any request counts as activity, this one exists to be that request."""
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"seconds_left": session_seconds_left(request)})
    messages.success(request, _("You are still signed in."))
    return redirect(_safe_next(request))


@public
def session_ended(request: HttpRequest) -> HttpResponse:
    """Where the timeout dialog sends people once their time is up. The middleware has
    signed them out by then; a session still alive (kept busy in another tab) is not ended
    by a mere link, it goes back to the account."""
    if request.user.is_authenticated:
        if session_seconds_left(request) > 0:
            return redirect("accounts:home")
        logout(request)
    return render(request, "core/session_ended.html")


@public
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The whole platform's health, workers included (for monitoring, not for a load
    balancer: a dead worker does not make a web process unfit to serve)."""
    healthy, report = platform_health()
    report["status"] = "ok" if healthy else "error"
    return JsonResponse(report, status=200 if healthy else 503)


@public
@require_GET
def livez(request: HttpRequest) -> JsonResponse:
    """Liveness: this process answers. Reads nothing, so that an outage of the database
    does not make an orchestrator kill and restart healthy web processes in a loop."""
    return JsonResponse({"status": "ok"})


@public
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness, for load balancers: this process can serve requests now (database
    reachable and migrated, cache reachable). 503 takes it out of rotation until it can."""
    ready, report = platform_readiness()
    report["status"] = "ok" if ready else "error"
    return JsonResponse(report, status=200 if ready else 503)


@public
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics (``ecitizen.core.metrics``), for the scraper only: see
    :func:`ecitizen.core.observability.metrics_allowed`."""
    if not metrics_allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)


def _error_context(status: int, request: HttpRequest) -> dict[str, Any]:
    # Built from settings alone: these pages must render when the database is down.
    language = get_language() or settings.LANGUAGE_CODE
    return {
        "status": status,
        "brand": brand(),
        "display": {"text_size": "standard", "contrast": "standard"},
        "LANGUAGE_CODE": language,
        "LANGUAGE_BIDI": get_language_bidi(),
        "language_name": get_language_info(language)["name_local"],
        "csp_nonce": getattr(request, "csp_nonce", ""),
    }


def _error_response(status: int, request: HttpRequest) -> HttpResponse:
    body = render_to_string(f"{status}.html", _error_context(status, request))
    return HttpResponse(body, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_response(400, request)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_response(403, request)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_response(404, request)


#: Seconds a client is told to wait when the database cannot be reached (Retry-After).
OUTAGE_RETRY_AFTER_SECONDS = 30


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page, or the 503 page when what failed is reaching the database (it is
    down, restarting or refusing connections, or a transient lock error): nothing is
    wrong with the request, trying again later will work. Django calls this while
    handling the exception, so :func:`sys.exc_info` names it."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        response = _error_response(503, request)
        response["Retry-After"] = str(OUTAGE_RETRY_AFTER_SECONDS)
        return response
    return _error_response(500, request)


@staff_only(AUDIT_READ)
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit trail for auditors, newest first, filterable by action."""
    action = request.GET.get("action", "").strip()
    events = audit_events(action=action or None)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "staff/audit.html",
        {
            "page": page,
            "action": action,
            "action_query": urlencode({"action": action}) if action else "",
            "actions": audit_actions(),
        },
    )
