"""Authentication of API calls: OAuth2 bearer tokens issued by django-oauth-toolkit.

Tokens are verified only through DOT's own machinery (``get_oauthlib_core().
verify_request``), so that however DOT stores them (hashed, see the ``api`` app's OAuth2
settings) and whatever validator it is configured with, this module never reads the
token table itself.

Every verified token has a user: the resident who consented (authorization code) or the
client's service account, an official with a role in the client's department and ward
(client credentials). ``request.user`` becomes that user, so every selector, service,
capability and remit check applies exactly as it does to the web pages.

- No token, or a token DOT does not accept (unknown, expired, revoked): 401 with
  ``WWW-Authenticate: Bearer`` (``error="invalid_token"`` when one was sent).
- A valid token without every scope the operation needs: 403 ``insufficient_scope``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from ninja.security.base import AuthBase

from ecitizen.api.problems import ApiProblem

#: The scopes the API knows, with what they let a client do (shown in the OpenAPI
#: document; the OAuth2 settings declare the same names for consent).
SCOPES: dict[str, str] = {
    "profile": "Read the resident's name and contact details.",
    "applications:read": "Read the resident's applications and their status.",
    "applications:write": "Apply to services for the resident.",
    "documents:read": "Read the documents issued to the resident.",
    "bills:read": "Read the resident's bills.",
    "notifications:read": "Read the resident's messages.",
    "cases:read": "Read the cases in the staff queue (back-office systems).",
    "cases:write": "Move cases through their workflow (back-office systems).",
    "webhooks": "Manage the client's webhook subscriptions.",
}


@dataclass(frozen=True)
class Principal:
    """Who calls: the token's ``user``, its client (``client_id``, the OAuth2
    application's public id) and the scopes granted."""

    user: Any
    client_id: str
    scopes: frozenset[str]


def _url(name: str, fallback: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


def _declared_scopes() -> dict[str, str]:
    declared = getattr(settings, "OAUTH2_PROVIDER", {}).get("SCOPES") or {}
    return {name: str(declared.get(name, text)) for name, text in SCOPES.items()}


def security_scheme() -> dict[str, Any]:
    """The OpenAPI ``oauth2`` security scheme, with the token and authorisation URLs."""
    scopes = _declared_scopes()
    token_url = _url("oauth2_provider:token", "/oauth/token/")
    return {
        "type": "oauth2",
        "description": (
            "OAuth2 access tokens: authorization code with PKCE for apps acting for a "
            "resident, client credentials for back-office systems. Send "
            "`Authorization: Bearer <token>`."
        ),
        "flows": {
            "authorizationCode": {
                "authorizationUrl": _url("oauth2_provider:authorize", "/oauth/authorize/"),
                "tokenUrl": token_url,
                "scopes": scopes,
            },
            "clientCredentials": {"tokenUrl": token_url, "scopes": scopes},
        },
    }


def _bearer_challenge(error: str | None = None, description: str = "", scope: str = "") -> str:
    parts = ['Bearer realm="api"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append('error_description="{}"'.format(description.replace('"', "'")))
    if scope:
        parts.append(f'scope="{scope}"')
    return ", ".join(parts)


def verify_token(request: HttpRequest) -> Principal | None:
    """The principal of the request's bearer token, ``None`` when no token was sent.

    Raises :class:`ApiProblem` 401 ``invalid_token`` for a token DOT does not accept (or
    whose user is no longer active). Side effect: none (DOT reads, never writes, here).
    """
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    from oauth2_provider.oauth2_backends import get_oauthlib_core

    valid, oauth_request = get_oauthlib_core().verify_request(request, scopes=[])
    token = getattr(oauth_request, "access_token", None) if valid else None
    user = getattr(token, "user", None) if token is not None else None
    if token is None or user is None or not user.is_active:
        raise ApiProblem(
            401,
            "invalid_token",
            _("The access token is not valid: it may have expired or been revoked."),
            headers={
                "WWW-Authenticate": _bearer_challenge(
                    "invalid_token", "The access token is invalid, expired or revoked."
                )
            },
        )
    application = getattr(token, "application", None)
    client_id = getattr(application, "client_id", "") or ""
    return Principal(user=user, client_id=client_id, scopes=frozenset(token.scope.split()))


class OAuth2(AuthBase):
    """A ninja auth requiring an OAuth2 bearer token granted all of ``scopes``.

    ``OAuth2(scopes=["applications:read"])``. On success ``request.auth`` is the
    :class:`Principal` and ``request.user`` the token's user.
    """

    openapi_type = "oauth2"
    # The flows name URLs, which cannot be reversed while the URL map is being built
    # (routers are imported then): the OpenAPI document fills them in with
    # :func:`security_scheme` when it is generated.
    openapi_flows: dict[str, Any] = {}

    def __init__(self, scopes: list[str] | tuple[str, ...] = ()) -> None:
        unknown = [scope for scope in scopes if scope not in SCOPES]
        if unknown:
            raise ValueError(f"Unknown API scopes: {unknown}")
        self.scopes = tuple(scopes)
        super().__init__()

    def __call__(self, request: HttpRequest) -> Principal:
        principal = verify_token(request)
        if principal is None:
            raise ApiProblem(
                401,
                "not_authenticated",
                _("Send an OAuth2 access token in the Authorization header."),
                headers={"WWW-Authenticate": _bearer_challenge()},
            )
        missing = [scope for scope in self.scopes if scope not in principal.scopes]
        if missing:
            raise ApiProblem(
                403,
                "insufficient_scope",
                _("The access token was not granted the scope this needs: %(scopes)s.")
                % {"scopes": " ".join(missing)},
                headers={
                    "WWW-Authenticate": _bearer_challenge(
                        "insufficient_scope", scope=" ".join(self.scopes)
                    )
                },
            )
        request.user = principal.user
        return principal


def principal_of(request: HttpRequest) -> Principal:
    """The :class:`Principal` of an operation guarded by :class:`OAuth2`."""
    principal = getattr(request, "auth", None)
    if not isinstance(principal, Principal):  # an operation without OAuth2(): a bug
        raise RuntimeError("This operation is not guarded by OAuth2().")
    return principal
