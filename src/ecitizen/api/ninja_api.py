"""The one versioned public REST API, ``/api/v1/``, built from the apps' routers.

Each app registers its django-ninja router with ``registry.register_api_router(
ApiRouter(prefix, "ecitizen.<app>.api.router", tag))``; :func:`get_api` imports them by
their dotted path (so this app imports no app above it) and adds what every operation
shares:

- errors as RFC 9457 problem details (``problems``), including 404 for unknown paths and
  405 for a method an operation does not have, which Django and ninja would otherwise
  answer in HTML or plain text;
- JSON bodies only (415 for anything else, 400 for JSON that does not parse);
- a rate limit per client (``ratelimit``);
- ``Idempotency-Key`` on every POST (``core.idempotency``);
- an OpenAPI 3.1 document that declares every response, problems included, the OAuth2
  scopes of each operation and the ``Idempotency-Key`` header.

:func:`urlpatterns` gives the URL map the root URLconf mounts at ``api/v1/`` (namespace
``api_v1``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotAllowed
from django.urls import URLPattern, path, re_path
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation
from ninja.parser import Parser
from ninja.utils import normalize_path, replace_path_param_notation

from ecitizen.api.auth import OAuth2, Principal, security_scheme
from ecitizen.api.docs_views import api_docs
from ecitizen.api.problems import (
    AUTH_PROBLEMS,
    COMMON_PROBLEMS,
    PROBLEM_CONTENT_TYPE,
    WRITE_PROBLEMS,
    ApiProblem,
    Problem,
    UnsupportedMediaType,
    install,
    problem_response,
)
from ecitizen.api.ratelimit import ClientRateThrottle
from ecitizen.core.access import public
from ecitizen.core.http import client_ip
from ecitizen.core.idempotency import (
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    StoredResponse,
    idempotent_call,
    request_fingerprint,
)
from ecitizen.core.registry import registry

NAMESPACE = "api_v1"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_DESCRIPTION = """\
The public REST API of the platform. Public resources (the service catalogue, document
verification, street reports, open data, elections) need no token; a resident's data
needs an OAuth2 access token the resident consented to, with the scope named on each
operation; staff operations need a back-office client's token, whose service account
has the same remit (department and ward) as an official.

Every error is an RFC 9457 problem (`application/problem+json`) with a stable `code`.
Lists page with an opaque `cursor` (follow `next`). Every POST accepts an
`Idempotency-Key` header: a retry with the same key and body replays the first
response. Calls are rate-limited per client (429 with `Retry-After`).
"""


class JsonOnlyParser(Parser):
    """ninja's JSON parser, refusing bodies that do not say they are JSON (415)."""

    def parse_body(self, request: HttpRequest) -> Any:
        content_type = (request.content_type or "").lower()
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise UnsupportedMediaType(
                _("Send the body as JSON, with Content-Type: application/json (not %(type)s).")
                % {"type": content_type or _("no content type")}
            )
        return super().parse_body(request)


def _problem_ref() -> dict[str, Any]:
    return {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


class _Schema(OpenAPISchema):
    """ninja's OpenAPI document, plus what it cannot know: the problem responses of
    every operation, the OAuth2 scopes each needs and the Idempotency-Key header."""

    def responses(self, operation: Operation) -> dict[int, Any]:
        result = super().responses(operation)
        if "Problem" not in self.schemas:
            schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            self.schemas.update(schema.pop("$defs", {}))
            self.schemas["Problem"] = schema
        declared: dict[int, str] = dict(COMMON_PROBLEMS)
        if operation.auth_callbacks:
            declared.update(AUTH_PROBLEMS)
        if WRITE_METHODS & set(operation.methods):
            declared.update(WRITE_PROBLEMS)
        for status, description in declared.items():
            if status in result:
                continue
            entry: dict[str, Any] = {"description": description, "content": _problem_ref()}
            if status == 429:
                entry["headers"] = {
                    "Retry-After": {
                        "description": "Seconds to wait.",
                        "schema": {"type": "integer"},
                    }
                }
            if status == 401:
                entry["headers"] = {
                    "WWW-Authenticate": {
                        "description": "The Bearer challenge.",
                        "schema": {"type": "string"},
                    }
                }
            result[status] = entry
        return result

    def operation_security(self, operation: Operation) -> list[dict[str, Any]] | None:
        requirements = []
        for auth in operation.auth_callbacks or []:
            if isinstance(auth, OAuth2):
                requirements.append({"OAuth2": list(auth.scopes)})
                self.securitySchemes["OAuth2"] = security_scheme()
        return requirements or None

    def operation_parameters(self, operation: Operation) -> list[dict[str, Any]]:
        parameters = super().operation_parameters(operation)
        if "POST" in operation.methods:
            parameters.append(
                {
                    "in": "header",
                    "name": "Idempotency-Key",
                    "required": False,
                    "description": (
                        "A unique value per intended write. A retry with the same key and "
                        "body replays the first response (`Idempotent-Replayed: true`); the "
                        "same key with another body is a 409. Kept 24 hours."
                    ),
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                }
            )
        return parameters


class EcitizenAPI(NinjaAPI):
    """NinjaAPI with our OpenAPI document (see :class:`_Schema`), built once per
    process and per language."""

    _schemas: dict[str, dict[str, Any]]

    def get_openapi_operation_id(self, operation: Operation) -> str:
        """The operation's URL name (``applications_list``): short and stable for
        generated clients, unique since URL names are."""
        return getattr(operation, "url_name", None) or super().get_openapi_operation_id(operation)

    def get_openapi_schema(  # type: ignore[override]
        self, *, path_prefix: str | None = None, path_params: Any = None
    ) -> dict[str, Any]:
        language = get_language() or ""
        cached = getattr(self, "_schemas", None)
        if cached is None:
            cached = self._schemas = {}
        if language not in cached:
            prefix = path_prefix if path_prefix is not None else self.get_root_path({})
            cached[language] = dict(_Schema(self, prefix))
        return cached[language]


def _scope_of(request: HttpRequest) -> str:
    principal = getattr(request, "auth", None)
    if isinstance(principal, Principal):
        return f"client:{principal.client_id}:user:{principal.user.pk}"
    address = client_ip(request) or "unknown"
    return "ip:" + hashlib.sha256(address.encode()).hexdigest()[:32]


def _idempotent(api: NinjaAPI, operation: Operation) -> None:
    """Make ``operation`` honour ``Idempotency-Key`` (runs after authentication and
    validation, around the operation's own function)."""
    view_func = operation.view_func

    @wraps(view_func)
    def wrapper(request: HttpRequest, *args: Any, **values: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view_func(request, *args, **values)

        def call() -> StoredResponse:
            try:
                with transaction.atomic():
                    result = view_func(request, *args, **values)
                    response = operation._result_to_response(
                        request, result, api.create_temporal_response(request)
                    )
            except Exception as error:
                response = api.on_exception(request, error)
            assert isinstance(response, HttpResponse)
            return StoredResponse(
                response.status_code,
                response.get("Content-Type", "application/json"),
                response.content.decode("utf-8"),
            )

        try:
            stored, replayed = idempotent_call(
                scope=_scope_of(request),
                key=key.strip(),
                fingerprint=request_fingerprint(request.method or "", request.path, request.body),
                call=call,
            )
        except IdempotencyKeyReused as error:
            raise ApiProblem(409, error.code, error.message) from error
        except IdempotencyKeyInvalid as error:
            raise ApiProblem(
                422,
                error.code,
                error.message,
                errors=[
                    {"field": "Idempotency-Key", "message": str(error.message), "code": error.code}
                ],
            ) from error
        response = HttpResponse(
            stored.body, status=stored.status_code, content_type=stored.content_type
        )
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    operation.view_func = wrapper


_api: EcitizenAPI | None = None


def get_api() -> EcitizenAPI:
    """The API, built on first use from the registered routers (after apps are ready)."""
    global _api  # noqa: PLW0603 - one API per process, built once
    if _api is not None:
        return _api
    api = EcitizenAPI(
        title="ecitizen API",
        version="1",
        description=_DESCRIPTION,
        urls_namespace=NAMESPACE,
        openapi_url=None,
        docs_url=None,
        parser=JsonOnlyParser(),
        throttle=ClientRateThrottle(),
    )
    install(api)
    for spec in sorted(registry.api_routers.values(), key=lambda item: item.prefix):
        api.add_router(spec.prefix, spec.router, tags=[spec.tag])
    for bound in api._get_bound_routers():
        for path_view in bound.path_operations.values():
            for operation in path_view.operations:
                if "POST" in operation.methods:
                    _idempotent(api, operation)
    _api = api
    return api


def _method_not_allowed(request: HttpRequest, allowed: list[str]) -> HttpResponse:
    return problem_response(
        request,
        405,
        "method_not_allowed",
        _("This address does not accept %(method)s; it accepts %(allowed)s.")
        % {"method": request.method, "allowed": ", ".join(allowed)},
        headers={"Allow": ", ".join(allowed)},
    )


def _refuse_non_json(request: HttpRequest) -> HttpResponse | None:
    """415 for a write whose body is not JSON. Checked before anything reads the body:
    a form body may have been parsed into ``request.POST`` by then, after which its raw
    bytes can no longer be read."""
    if request.method not in WRITE_METHODS:
        return None
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    content_type = (request.content_type or "").lower()
    if not length or content_type == "application/json" or content_type.endswith("+json"):
        return None
    return problem_response(
        request,
        415,
        "unsupported_media_type",
        _("Send the body as JSON, with Content-Type: application/json (not %(type)s).")
        % {"type": content_type or _("no content type")},
    )


def _operation_view(path_view: Any) -> Callable[..., HttpResponseBase]:
    """The Django view of one path: ninja's, with 405 answered as a problem. Marked
    ``access_rule = "api"``: each operation declares its own auth (the URL-map test
    checks them through ``api_operations``)."""
    ninja_view = path_view.get_view()
    allowed = sorted({method for op in path_view.operations for method in op.methods})

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        refused = _refuse_non_json(request)
        if refused is not None:
            return refused
        response: HttpResponseBase = ninja_view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            return _method_not_allowed(request, allowed)
        if "Authorization" in request.headers and not response.has_header("Cache-Control"):
            # An answer for a token's holder: no shared cache may keep it.
            response["Cache-Control"] = "private, no-store"
        return response

    view.csrf_exempt = True  # type: ignore[attr-defined] # token auth, no cookies
    view.access_rule = "api"  # type: ignore[attr-defined]
    view.api_operations = list(path_view.operations)  # type: ignore[attr-defined]
    return view


@public
def api_root(request: HttpRequest) -> HttpResponse:
    """Where the API's documents are (public: it holds no one's data)."""
    if request.method not in {"GET", "HEAD"}:
        return _method_not_allowed(request, ["GET", "HEAD"])
    body = {
        "title": "ecitizen API",
        "version": "1",
        "openapi": request.build_absolute_uri("openapi.json"),
        "docs": request.build_absolute_uri("docs/"),
    }
    return HttpResponse(json.dumps(body), content_type="application/json")


@public
def openapi_document(request: HttpRequest) -> HttpResponse:
    """The OpenAPI 3.1 document of every operation (public: it describes the API)."""
    if request.method not in {"GET", "HEAD"}:
        return _method_not_allowed(request, ["GET", "HEAD"])
    return HttpResponse(
        json.dumps(get_api().get_openapi_schema(), default=str),
        content_type="application/json",
    )


@public
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other address under the API: a 404 problem, not the site's HTML page."""
    return problem_response(
        request, 404, "not_found", _("There is no API operation at this address.")
    )


not_found.csrf_exempt = True  # type: ignore[attr-defined]
openapi_document.csrf_exempt = True  # type: ignore[attr-defined]
api_root.csrf_exempt = True  # type: ignore[attr-defined]


def urlpatterns() -> list[URLPattern]:
    """The URL map of the API (mount it at ``api/v1/`` with namespace ``api_v1``)."""
    api = get_api()
    patterns = [
        path("", api_root, name="api-root"),
        path("openapi.json", openapi_document, name="openapi-json"),
        path("docs/", api_docs, name="docs"),
    ]
    for bound in api._get_bound_routers():
        prefix = replace_path_param_notation(bound.prefix)
        for route_path, path_view in bound.path_operations.items():
            route = "/".join(
                part for part in (prefix, replace_path_param_notation(route_path)) if part
            )
            route = normalize_path(route).lstrip("/")
            first = path_view.operations[0]
            name = getattr(first, "url_name", "") or first.view_func.__name__
            patterns.append(path(route, _operation_view(path_view), name=name))
    patterns.append(re_path(r"^(?P<rest>.*)$", not_found, name="not_found"))
    return patterns
