"""The CKAN actions the API answers, and the errors they raise.

An action is a function ``fn(context, data) -> result`` registered with :func:`action`,
marked side-effect-free (it may be called with GET) or not (POST only). ``context`` says
who is asking; ``data`` is the request's parameters as one dict (query string, form or
JSON body). An action raises one of the errors below; the view turns them into CKAN's
envelope and status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass
class ActionContext:
    """Who calls and where from: ``user`` is the API token's owner, the signed-in user (for
    GET from a browser), or ``None``; ``base_url`` ("https://host") makes URLs absolute."""

    user: Any
    base_url: str
    request: Any = None


ActionFunction = Callable[[ActionContext, Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Action:
    name: str
    function: ActionFunction
    side_effect_free: bool
    help: str = ""


ACTIONS: dict[str, Action] = {}


def action(name: str, *, side_effect_free: bool) -> Callable[[ActionFunction], ActionFunction]:
    """Register ``fn`` as the action ``name``; its docstring is its ``help``."""

    def register(function: ActionFunction) -> ActionFunction:
        if name in ACTIONS:
            raise RuntimeError(f"CKAN action {name!r} is registered twice")
        ACTIONS[name] = Action(name, function, side_effect_free, (function.__doc__ or "").strip())
        return function

    return register


class CkanError(Exception):
    """An error CKAN reports in its envelope: ``status`` and ``error.__type``."""

    status = 400
    type_name = ""

    def __init__(self, message: object = "", *, fields: Mapping[str, Any] | None = None) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.fields: dict[str, Any] = dict(fields or {})

    def error_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"__type": self.type_name}
        if self.fields:
            body.update(self.fields)
        if self.message or not self.fields:
            body["message"] = self.message
        return body


class NotFound(CkanError):
    status = 404
    type_name = "Not Found Error"


class ValidationError(CkanError):
    """``fields`` maps each field to its list of messages (CKAN's shape)."""

    status = 409
    type_name = "Validation Error"


class NotAuthorized(CkanError):
    status = 403
    type_name = "Authorization Error"


class SearchError(CkanError):
    """A search CKAN's Solr would refuse (an ``fq`` that cannot be parsed): CKAN answers
    409 "Search Error"."""

    status = 409
    type_name = "Search Error"


class SearchQueryError(CkanError):
    """Search parameters CKAN refuses before searching (an unknown parameter, a ``sort``
    it cannot read): 400 "Search Query Error"."""

    status = 400
    type_name = "Search Query Error"
