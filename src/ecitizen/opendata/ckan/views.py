"""The CKAN Action API: one view that reads the request as CKAN does
(``ckan/views/api.py``), finds the action in the registry, and answers CKAN's envelope.

- Parameters: the query string (GET, side-effect-free actions only; a GET of any other
  action is CKAN's 400), a form or multipart body (files included), or a JSON body.
- Who calls: the ``Authorization`` header (a token, bare or after ``Bearer``; also
  ``X-CKAN-API-Key``). An unknown or revoked token is refused (403) whatever the action.
  Without a token a GET may act for the signed-in browser session; a POST never does
  (the endpoint is exempt from CSRF, so it must not act on cookies).
- No redirects: the API answers at ``/api/3/action/<name>`` and ``/api/action/<name>``,
  with or without a trailing slash.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from ecitizen.core.access import public
from ecitizen.opendata import services
from ecitizen.opendata.ckan import (
    actions,  # noqa: F401 (registers the actions)
    datastore_actions,  # noqa: F401 (registers its actions)
)
from ecitizen.opendata.ckan.registry import ACTIONS, ActionContext, CkanError, ValidationError

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/json;charset=utf-8"
_CALLBACK = re.compile(r"^[A-Za-z_$][\w$.]{0,99}$")


class _RequestDataError(ValueError):
    """The request's parameters cannot be read (CKAN's "JSON Error")."""


def _json(status: int, body: Any) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False),
        status=status,
        content_type=CONTENT_TYPE,
    )


def _bad_request(message: str) -> HttpResponse:
    """CKAN's ``_finish_bad_request``: a JSON string, not an envelope."""
    return _json(400, _("Bad request: %(message)s") % {"message": message})


def _mixed(multi: Any) -> dict[str, Any]:
    """CKAN's ``mixed``: one value as a string, repeated ones as a list."""
    return {key: values[0] if len(values) == 1 else values for key, values in multi.lists()}


def _request_data(request: HttpRequest, *, side_effect_free: bool) -> dict[str, Any]:
    if request.method == "GET" and not side_effect_free:
        raise _RequestDataError(_("Invalid request. Please use POST method for your request"))
    content_type = request.content_type or ""
    data: Any = {}
    if request.method == "POST" and content_type in (
        "multipart/form-data",
        "application/x-www-form-urlencoded",
    ):
        form = request.POST
        values = list(form.values())
        if len(form) == 1 and values[0] in ("1", "") and content_type != "multipart/form-data":
            # CKAN reads a form whose only key is a JSON document as that document.
            try:
                data = json.loads(next(iter(form.keys())))
            except ValueError as error:
                raise _RequestDataError(
                    _("Error decoding JSON data. Error: %(error)s") % {"error": error}
                ) from None
        else:
            data = _mixed(form)
        if isinstance(data, dict):
            for key, upload in request.FILES.items():
                data[key] = upload
    elif request.method == "POST" and request.body.strip():
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as error:
            raise _RequestDataError(
                _("Error decoding JSON data. Error: %(error)s") % {"error": error}
            ) from None
    elif side_effect_free and request.GET:
        data = _mixed(request.GET)
    if not isinstance(data, dict):
        raise _RequestDataError(
            _("Request data JSON decoded to %(value)s but it needs to be a dictionary.")
            % {"value": type(data).__name__}
        )
    return data


def _field_with_nul(value: Any, name: str = "") -> str | None:
    """The first parameter with a NUL character anywhere in it (PostgreSQL's text cannot
    hold one, and no real value has one), or ``None``."""
    if isinstance(value, str):
        return name if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _field_with_nul(item, name or str(key)) or (
                name or str(key) if "\x00" in str(key) else None
            )
            if found is not None:
                return found
    if isinstance(value, list):
        for item in value:
            if (found := _field_with_nul(item, name)) is not None:
                return found
    return None


def _credentials(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization") or request.headers.get("X-CKAN-API-Key")
    if not header or header.strip().lower().startswith("basic "):
        return None  # HTTP basic credentials belong to a proxy in front, not to us
    return header.strip()


def _error_body(error: CkanError) -> dict[str, Any]:
    body = error.error_dict()
    if error.status == 404:
        body["message"] = (
            _("Not found: %(message)s") % {"message": error.message}
            if error.message
            else _("Not found")
        )
    elif error.status == 403:
        body["message"] = (
            _("Access denied: %(message)s") % {"message": error.message}
            if error.message
            else _("Access denied")
        )
    return body


@public
@csrf_exempt
def action_view(  # noqa: PLR0911 (one answer per CKAN outcome)
    request: HttpRequest, logic_function: str
) -> HttpResponse:
    """``/api/3/action/<logic_function>``: call the action, answer CKAN's envelope."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    found = ACTIONS.get(logic_function)
    if found is None:
        return _bad_request(_("Action name not known: %(name)s") % {"name": logic_function})
    base_url = request.build_absolute_uri("/").rstrip("/")
    help_url = (
        base_url
        + reverse("opendata:ckan_action", kwargs={"logic_function": "help_show"})
        + "?name="
        + logic_function
    )
    envelope: dict[str, Any] = {"help": help_url}
    try:
        data = _request_data(request, side_effect_free=found.side_effect_free)
    except _RequestDataError as error:
        return _bad_request(_("JSON Error: %(error)s") % {"error": error})

    with_nul = _field_with_nul(data)
    if with_nul is not None:
        refusal = ValidationError(
            fields={with_nul: [_("Remove the NUL character (\\u0000): no text may contain it.")]}
        )
        envelope.update(success=False, error=_error_body(refusal))
        return _json(refusal.status, envelope)
    callback = data.pop("callback", None)
    secret = _credentials(request)
    user: Any = None
    if callback is None and secret is not None:
        user = services.api_token_user(secret=secret)
        if user is None:
            envelope.update(
                success=False,
                error={
                    "__type": "Authorization Error",
                    "message": _("Access denied: %(message)s")
                    % {"message": _("the API token is not valid (unknown or revoked)")},
                },
            )
            return _json(403, envelope)
    elif callback is None and request.method == "GET" and request.user.is_authenticated:
        user = request.user
    context = ActionContext(user=user, base_url=base_url, request=request)

    try:
        result = found.function(context, data)
    except CkanError as error:
        envelope.update(success=False, error=_error_body(error))
        return _json(error.status, envelope)
    except Exception:  # CKAN's last resort: the envelope, never an HTML page
        log.exception("CKAN action %s failed", logic_function)
        envelope.update(
            success=False,
            error={"__type": "Internal Server Error", "message": "Internal Server Error"},
        )
        return _json(500, envelope)
    envelope.update(success=True, result=result)
    response = _json(200, envelope)
    if (
        isinstance(callback, str) and request.method == "GET" and _CALLBACK.match(callback)
    ):  # JSONP, as CKAN answers it (anonymous: no session, no token)
        response = HttpResponse(
            f"{callback}({response.content.decode()});",
            content_type="application/javascript;charset=utf-8",
        )
    return response


@public
@csrf_exempt
def api_version(request: HttpRequest, ver: str | None = None) -> HttpResponse:
    """``/api`` and ``/api/<1..3>``: the API version (CKAN's ``get_api``; ``/api``
    alone says 1, as CKAN's does)."""
    return _json(200, {"version": int(ver) if ver else 1})
