"""RFC 9457 problem details: the one shape of every error the API answers.

A problem is a JSON object served as ``application/problem+json`` with ``type`` (a URI
naming the kind of problem, under ``/api/v1/problems/``), ``title`` (the same for every
occurrence of that kind), ``status``, ``detail`` (this occurrence, for people),
``instance`` (the request's path) and two extensions: ``code``, the stable code of the
domain error or of the API's own check (what a client's program should switch on), and
``errors`` for field validation (``[{"field": "answers.age", "message": ...,
"code": ...}]``).

:func:`install` replaces django-ninja's default exception handlers, so that
authentication, scopes, validation, unparsable bodies, unknown objects, domain errors,
rate limits and unexpected failures all answer this way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

from ecitizen.core.errors import DomainError
from ecitizen.core.errors import PermissionDenied as DomainPermissionDenied

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
#: Where the ``type`` URIs of our problems live (a relative reference, RFC 9457 3.1.1).
PROBLEM_TYPE_BASE = "/api/v1/problems/"

#: The title of each kind of problem, by HTTP status (RFC 9457: the same for every
#: occurrence of the type; ``detail`` says what happened this time).
TITLES: dict[int, Any] = {
    400: gettext_lazy("The request could not be read"),
    401: gettext_lazy("Authentication required"),
    403: gettext_lazy("Not allowed"),
    404: gettext_lazy("Not found"),
    405: gettext_lazy("Method not allowed"),
    409: gettext_lazy("Conflict"),
    413: gettext_lazy("Request too large"),
    415: gettext_lazy("Unsupported media type"),
    422: gettext_lazy("The request is not valid"),
    429: gettext_lazy("Too many requests"),
    500: gettext_lazy("Internal server error"),
}


class FieldError(Schema):
    """One invalid field: where (dotted), why (for people) and a stable code."""

    field: str
    message: str
    code: str


class Problem(Schema):
    """An RFC 9457 problem details object (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    errors: list[FieldError] | None = None


class ApiProblem(Exception):
    """Raised by operations (or the API's own checks) to answer with a problem.

    ``status``: the HTTP status; ``code``: the stable machine-readable code; ``detail``:
    for people (translated); ``errors``: field errors for 422; ``headers``: extra
    response headers (``WWW-Authenticate``, ``Retry-After``, ``Allow``)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: object,
        *,
        errors: Iterable[Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(str(detail))
        self.status = status
        self.code = code
        self.detail = str(detail)
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})


class UnsupportedMediaType(Exception):
    """A request body that is not JSON (raised by :class:`JsonOnlyParser`)."""


def problem_response(
    request: HttpRequest,
    status: int,
    code: str,
    detail: object,
    *,
    errors: Iterable[Mapping[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    """A ``application/problem+json`` response. No side effects."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": str(TITLES.get(status, TITLES[400] if status < 500 else TITLES[500])),
        "status": status,
        "detail": str(detail),
        "instance": request.path,
        "code": code,
    }
    if errors is not None:
        body["errors"] = [dict(error) for error in errors]
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_name(loc: Iterable[Any]) -> str:
    # ninja's locations start with where the value came from (body, query, path,
    # header); the body's own schema name is dropped when the body is one schema.
    parts = [str(part) for part in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form"}:
        source, parts = parts[0], parts[1:]
        if source == "body" and len(parts) > 1 and parts[0] in {"payload", "data", "body"}:
            parts = parts[1:]
        if not parts:
            return source
    return ".".join(parts)


def validation_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """ninja/pydantic validation errors as our ``errors`` list."""
    return [
        {
            "field": _field_name(error.get("loc", ())),
            "message": str(error.get("msg", "")),
            "code": str(error.get("type", "invalid")),
        }
        for error in errors
    ]


def _handle_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return problem_response(
        request,
        422,
        "validation_failed",
        _("Some values are missing or not valid: see errors."),
        errors=validation_errors(exc.errors),
    )


def _handle_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:  # noqa: PLR0911 - one answer per kind of error
    cause = exc.__cause__
    if isinstance(cause, UnsupportedMediaType):
        return problem_response(request, 415, "unsupported_media_type", str(cause))
    if isinstance(cause, RequestDataTooBig):
        return problem_response(
            request, 413, "request_too_large", _("The request body is too large.")
        )
    if exc.status_code == 400 and cause is not None:
        return problem_response(
            request,
            400,
            "malformed_json",
            _("The request body is not valid JSON: %(reason)s") % {"reason": cause},
        )
    if isinstance(exc, Throttled):
        return problem_response(
            request, 429, "rate_limited", _("Too many requests: slow down and try again.")
        )
    if isinstance(exc, AuthenticationError):
        return problem_response(
            request,
            401,
            "not_authenticated",
            _("Send a valid OAuth2 access token in the Authorization header."),
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    if isinstance(exc, AuthorizationError):
        return problem_response(request, 403, "forbidden", str(exc))
    return problem_response(request, exc.status_code, "http_error", str(exc))


def _handle_problem(request: HttpRequest, exc: ApiProblem) -> HttpResponse:
    return problem_response(
        request, exc.status, exc.code, exc.detail, errors=exc.errors, headers=exc.headers
    )


def _handle_404(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(
        request, 404, "not_found", _("There is nothing here, or you may not see it.")
    )


def _handle_permission(request: HttpRequest, exc: Exception) -> HttpResponse:
    detail = str(getattr(exc, "message", "") or "") or _("You may not do this.")
    return problem_response(request, 403, getattr(exc, "code", "permission_denied"), detail)


def _handle_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    # A rule of the domain refused the request as it stands (a closed application, a
    # transition not allowed in this state): 409, the state of the resource conflicts.
    return problem_response(request, 409, exc.code, str(exc.message))


def _handle_body_too_big(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(request, 413, "request_too_large", _("The request body is too large."))


def _handle_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Called by ninja from its own ``except`` block, so the traceback is at hand.
    logger.error("API operation failed: %s %s", request.method, request.path, exc_info=exc)
    return problem_response(
        request,
        500,
        "server_error",
        _("Something went wrong on our side. Try again later; if it persists, contact us."),
    )


def install(api: NinjaAPI) -> None:
    """Answer every error of ``api`` with a problem (replaces ninja's handlers)."""
    handlers: list[tuple[type[Exception], Callable[[HttpRequest, Any], HttpResponse]]] = [
        (Exception, _handle_unexpected),
        (Http404, _handle_404),
        (HttpError, _handle_http_error),
        (NinjaValidationError, _handle_validation),
        (ApiProblem, _handle_problem),
        (DomainError, _handle_domain_error),
        (DomainPermissionDenied, _handle_permission),
        (DjangoPermissionDenied, _handle_permission),
        (RequestDataTooBig, _handle_body_too_big),
    ]
    for exception_class, handler in handlers:
        api.add_exception_handler(exception_class, handler)


#: The problem responses every operation may give, declared in the OpenAPI document
#: (see ``ninja_api``): status -> description.
COMMON_PROBLEMS: dict[int, str] = {
    400: "The body is not valid JSON.",
    404: "Nothing here, or not yours to see.",
    413: "The body is too large.",
    415: "The body is not JSON.",
    422: "Invalid parameters or body (see `errors`).",
    429: "Rate limit reached (see `Retry-After`).",
    500: "Unexpected failure.",
}
AUTH_PROBLEMS: dict[int, str] = {
    401: "No valid access token (see `WWW-Authenticate`).",
    403: "The token lacks a scope, or its user may not do this.",
}
WRITE_PROBLEMS: dict[int, str] = {
    409: "A domain rule refused the change, or the Idempotency-Key was reused.",
}
