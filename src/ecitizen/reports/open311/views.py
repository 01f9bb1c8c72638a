"""The Open311 GeoReport v2 server (``/open311/v2/``), for apps: docs/open311.md.

Every endpoint answers in the format its address ends with (``.xml`` or ``.json``),
errors included (the specification's ``errors`` document). Reading is public and needs
no key; posting a request or an update needs an app's ``api_key`` (CSRF does not apply:
apps send no cookies, the key is the credential).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from ecitizen.core.access import public
from ecitizen.reports import services
from ecitizen.reports.open311 import documents, queries, render, submit
from ecitizen.reports.open311.params import (
    Open311Error,
    RequestsQuery,
    requests_query,
    updates_query,
)

Endpoint = Callable[..., HttpResponse]


def _endpoint(*methods: str) -> Callable[[Endpoint], Endpoint]:
    """Answer only ``methods`` (a 405 error document otherwise, with ``Allow``), turn an
    :class:`Open311Error` into its error document, and let web pages of any origin read
    the answer (public data, no credentials)."""
    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())

    def decorator(view: Endpoint) -> Endpoint:
        @wraps(view)
        def wrapper(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            if request.method not in allowed:
                error = Open311Error(
                    405,
                    _("This address answers %(methods)s only")
                    % {"methods": ", ".join(sorted(allowed))},
                    headers={"Allow": ", ".join(sorted(allowed))},
                )
            else:
                try:
                    response = view(request, fmt, **kwargs)
                except Open311Error as refused:
                    error = refused
                else:
                    response["Access-Control-Allow-Origin"] = "*"
                    return response
            response = render.respond(
                render.errors_document(error.errors, status=error.status, headers=error.headers),
                fmt,
            )
            response["Access-Control-Allow-Origin"] = "*"
            return response

        return wrapper

    return decorator


@public
@_endpoint("GET")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    """Service discovery: contact, how to get a key, the endpoint and its formats."""
    return render.respond(documents.discovery(services.categories()), fmt)


@public
@_endpoint("GET")
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    """The categories residents can report."""
    return render.respond(documents.services(services.categories()), fmt)


@public
@_endpoint("GET")
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    """A category's attributes (its questions); 404 for an unknown ``service_code``."""
    try:
        category = services.category_get(code)
    except services.ReportError:
        raise Open311Error(404, _("service_code %(code)s was not found") % {"code": code}) from None
    return render.respond(documents.service_definition(category), fmt)


def _requests_answer(reports: Sequence[queries.PublicRequest], fmt: str) -> HttpResponse:
    categories = {category.code: category for category in services.categories()}
    return render.respond(documents.requests(reports, categories), fmt)


@public
@csrf_exempt
@_endpoint("GET", "POST")
def service_requests(request: HttpRequest, fmt: str) -> HttpResponse:
    """GET: public reports matching the filters (the last 90 days, at most 1000, by
    default). POST: an app reports a problem (``api_key`` required)."""
    if request.method == "POST":
        key = request.POST.get("api_key") or request.GET.get("api_key") or ""
        client = submit.api_client({"api_key": key}, action="create_request")
        created = submit.request_create(request, client)
        return render.respond(
            documents.created(created.report, created.category, account_id=created.account_id),
            fmt,
        )
    query = requests_query(request.GET, now=timezone.now())
    return _requests_answer(queries.requests_matching(query), fmt)


@public
@_endpoint("GET")
def service_request(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    """One public report, as a list of one; 404 when there is no such public report."""
    reports = queries.requests_matching(RequestsQuery(ids=(request_id,), page_size=1))
    if not reports:
        raise Open311Error(404, _("service_request_id %(id)s was not found") % {"id": request_id})
    return _requests_answer(reports, fmt)


@public
@_endpoint("GET")
def token(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    """The ``service_request_id`` of the request a POST's token stands for."""
    report = queries.report_public_by_token(token)
    if report is None:
        raise Open311Error(404, _("token %(token)s was not found") % {"token": token})
    return render.respond(documents.token(report), fmt)


@public
@csrf_exempt
@_endpoint("GET", "POST")
def request_updates(request: HttpRequest, fmt: str) -> HttpResponse:
    """mySociety's extension. GET: public updates in a window (``start_date`` and
    ``end_date``, or ``updated_after``). POST: an app adds a comment to a report
    (``api_key`` required)."""
    if request.method == "POST":
        key = request.POST.get("api_key") or request.GET.get("api_key") or ""
        submit.api_client({"api_key": key}, action="create_update")
        return render.respond(documents.update_added(submit.update_create(request)), fmt)
    query = updates_query(request.GET, now=timezone.now())
    return render.respond(documents.request_updates(queries.updates_matching(query)), fmt)
