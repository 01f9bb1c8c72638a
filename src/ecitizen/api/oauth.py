"""The platform's rules for django-oauth-toolkit (configured in ``settings.OAUTH2_PROVIDER``).

- :class:`ClientScopes`: a client may be granted only the scopes registered for it, and
  those only among its kind's (:data:`RESIDENT_SCOPES` for apps acting for a resident,
  :data:`BACK_OFFICE_SCOPES` for back-office systems).
- :class:`EcitizenOAuth2Validator`: a disabled client gets nothing and its tokens stop
  working; a client-credentials token belongs to the client's service account (so the
  API applies that account's role and remit); authorization codes must use PKCE with
  S256 (the authorization view refuses ``plain`` before the consent page).

Tokens are kept only as their SHA-256 checksum (``COMPLIANT_BCP_RFC9700_TOKEN_STORAGE``):
the toolkit's lookups, refresh, revocation and introspection all go by the checksum.
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes
from oauth2_provider.settings import oauth2_settings

#: What an app acting for a resident may be granted (with the resident's consent).
RESIDENT_SCOPES = (
    "profile",
    "applications:read",
    "applications:write",
    "documents:read",
    "bills:read",
    "notifications:read",
    "webhooks",
)
#: What a back-office system may be granted (within its department, ward and role).
BACK_OFFICE_SCOPES = ("cases:read", "cases:write", "webhooks")

RESIDENT_APP = "resident_app"
BACK_OFFICE = "back_office"

SCOPES_BY_KIND = {RESIDENT_APP: RESIDENT_SCOPES, BACK_OFFICE: BACK_OFFICE_SCOPES}


def scope_label(scope: str) -> str:
    """The plain-words description of ``scope`` (in the active language)."""
    return str(oauth2_settings.SCOPES.get(scope, scope))


def _integration(application: Any) -> Any:
    """The application's ``IntegrationClient``, or ``None`` (an application made outside
    the platform's registration, which may then be granted nothing)."""
    if application is None:
        return None
    try:
        return application.integration
    except Exception:
        return None


def allowed_scopes(application: Any) -> list[str]:
    """The scopes ``application`` may be granted: those registered for it that its kind
    allows, none when it is disabled or was not registered through the platform."""
    integration = _integration(application)
    if integration is None or integration.disabled_at is not None:
        return []
    permitted = SCOPES_BY_KIND.get(integration.kind, ())
    return [scope for scope in integration.scope_list if scope in permitted]


class ClientScopes(BaseScopes):
    """Scopes per client (see the module's docstring)."""

    def get_all_scopes(self) -> dict[str, Any]:
        return dict(oauth2_settings.SCOPES)

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return allowed_scopes(application)

    def get_default_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        # A request that names no scope asks for everything the client may have; the
        # resident sees each of them on the consent page.
        return allowed_scopes(application)


class EcitizenOAuth2Validator(OAuth2Validator):
    """django-oauth-toolkit's validator with the platform's rules (module docstring)."""

    def _load_application(self, client_id: str, request: Any) -> Any:
        application = super()._load_application(client_id, request)
        integration = _integration(application)
        if application is not None and (integration is None or integration.disabled_at):
            # Unknown to the platform, or disabled: as if it did not exist.
            request.client = None
            return None
        return application

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        integration = _integration(client)
        if integration is None:
            return False
        if grant_type == "client_credentials" and integration.kind != BACK_OFFICE:
            return False
        if grant_type in ("authorization_code", "refresh_token") and integration.kind != (
            RESIDENT_APP
        ):
            return False
        return bool(
            super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)
        )

    def _create_access_token(
        self, expires: Any, request: Any, token: Any, source_refresh_token: Any = None
    ) -> Any:
        if request.grant_type == "client_credentials":
            # The toolkit leaves a client-credentials token without a user; ours acts as
            # the client's service account, which holds the client's role and remit.
            integration = _integration(request.client)
            request.user = integration.service_account if integration else None
        return super()._create_access_token(expires, request, token, source_refresh_token)

    def validate_bearer_token(self, token: str, scopes: Any, request: Any) -> bool:
        if not super().validate_bearer_token(token, scopes, request):
            return False
        integration = _integration(request.client)
        user = request.user
        if integration is None or integration.disabled_at is not None:
            request.oauth2_error = {
                "error": "invalid_token",
                "error_description": "The client of this access token is disabled.",
            }
            return False
        if user is None or not user.is_active:
            request.oauth2_error = {
                "error": "invalid_token",
                "error_description": "The account of this access token is closed.",
            }
            return False
        return True
