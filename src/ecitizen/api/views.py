"""Pages and endpoints of OAuth2 for integrators.

- ``/oauth/authorize/``: the consent page (django-oauth-toolkit's authorization endpoint
  in our design), PKCE with S256 required;
- ``/oauth/token/``, ``/oauth/revoke_token/``, ``/oauth/introspect/``: the toolkit's
  endpoints, public because clients authenticate themselves there;
- ``/account/apps/``: "Apps connected to your account", with a Revoke button per app;
- ``/staff/api-clients/``: the platform administrator registers, disables and rotates
  clients.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauth2_provider import views as oauth2_views
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import get_access_token_model
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauthlib.common import Request as OauthlibRequest
from oauthlib.oauth2.rfc6749 import errors as oauthlib_errors

from ecitizen.api import clients, selectors
from ecitizen.api.forms import ClientForm
from ecitizen.api.oauth import scope_label
from ecitizen.core.access import public, signed_in, staff_only
from ecitizen.core.errors import DomainError
from ecitizen.core.http import client_ip
from ecitizen.core.registry import registry

# --- OAuth2 endpoints ---------------------------------------------------------------------


class AuthorizeView(oauth2_views.AuthorizationView):
    """The consent page: the app's name and the scopes it asks for, in plain words, with
    Allow and Do not allow. An answer is audited (``api.consent_granted`` with the
    consent, ``api.consent_refused``)."""

    template_name = "api/authorize.html"

    def validate_authorization_request(self, request: HttpRequest) -> tuple[Any, Any]:
        scopes, credentials = super().validate_authorization_request(request)
        # PKCE is required (PKCE_REQUIRED); only S256 is accepted: "plain" would send
        # the verifier itself through the browser.
        if credentials.get("code_challenge_method") != "S256":
            raise OAuthToolkitError(
                error=oauthlib_errors.InvalidRequestError(
                    description="PKCE with code_challenge_method=S256 is required.",
                    state=credentials.get("state"),
                ),
                redirect_uri=credentials.get("redirect_uri"),
            )
        return scopes, credentials

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = super().get(request, *args, **kwargs)
        redirect_uri = str(self.oauth2_data.get("redirect_uri") or "")
        parts = urlsplit(redirect_uri)
        if parts.scheme and parts.netloc:
            # The browser follows the answer's redirect to the app: the page's
            # form-action must allow the app's origin (checked redirect URI, one origin).
            response._csp_update = {  # type: ignore[attr-defined]
                "form-action": [f"{parts.scheme}://{parts.netloc}"]
            }
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        scopes = self.oauth2_data.get("scopes") or kwargs.get("scopes") or []
        context["scope_labels"] = [scope_label(scope) for scope in scopes]
        return context

    def create_authorization_response(
        self, request: HttpRequest, scopes: str, credentials: Any, allow: bool
    ) -> Any:
        client = selectors.client_by_client_id(str(credentials.get("client_id") or ""))
        if not allow:
            if client is not None:
                clients.consent_refused(
                    user=request.user, application=client.application, ip_address=client_ip(request)
                )
            # The toolkit answers the client with access_denied.
            return super().create_authorization_response(
                request=request, scopes=scopes, credentials=credentials, allow=allow
            )
        with transaction.atomic():
            response = super().create_authorization_response(
                request=request, scopes=scopes, credentials=credentials, allow=allow
            )
            # Reached only when the toolkit accepted the request (it raises otherwise).
            if client is not None:
                clients.consent_record(
                    user=request.user,
                    application=client.application,
                    scopes=scopes.split(),
                    ip_address=client_ip(request),
                )
        return response


class TokenView(oauth2_views.TokenView):
    """The token endpoint (authorization code with PKCE, refresh, client credentials)."""


class RevokeTokenView(oauth2_views.RevokeTokenView):
    """RFC 7009: a client revokes one of its own tokens."""


@method_decorator(csrf_exempt, name="dispatch")
class IntrospectView(View):
    """RFC 7662 for confidential clients: a client authenticates with its credentials
    and learns whether one of *its own* tokens is active (another client's token is
    reported inactive, as an unknown one is)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        core = get_oauthlib_core()
        uri, method, body, headers = core._extract_params(request)
        oauth_request = OauthlibRequest(uri, method, body, headers)
        if not core.server.request_validator.authenticate_client(oauth_request):
            response = JsonResponse({"error": "invalid_client"}, status=401)
            response["WWW-Authenticate"] = 'Basic realm="oauth"'
            return response
        raw = request.POST.get("token", "")
        if not raw:
            return JsonResponse(
                {"error": "invalid_request", "error_description": "Token parameter is missing."},
                status=400,
            )
        token = (
            get_access_token_model()
            .objects.select_related("user", "application")
            .filter(
                token_checksum=hashlib.sha256(raw.encode("utf-8")).hexdigest(),
                application=oauth_request.client,
            )
            .first()
        )
        if token is None or not token.is_valid():
            return JsonResponse({"active": False})
        data: dict[str, Any] = {
            "active": True,
            "scope": token.scope,
            "client_id": token.application.client_id,
            "token_type": "Bearer",
            "exp": int(calendar.timegm(token.expires.utctimetuple())),
        }
        if token.user is not None:
            data["sub"] = str(token.user.pk)
        return JsonResponse(data)


authorize = signed_in(AuthorizeView.as_view())
token = public(TokenView.as_view())
revoke_token = public(RevokeTokenView.as_view())
introspect = public(cast(Callable[..., HttpResponse], IntrospectView.as_view()))


# --- The resident's connected apps --------------------------------------------------------


@signed_in
def connected_apps(request: HttpRequest) -> HttpResponse:
    consents = [
        {"consent": consent, "scope_labels": [scope_label(s) for s in consent.scope_list]}
        for consent in selectors.consents_for_user(user=request.user)
    ]
    return render(request, "api/connected_apps.html", {"consents": consents})


@signed_in
@require_POST
def connected_app_revoke(request: HttpRequest, consent_id: int) -> HttpResponse:
    try:
        consent = clients.consent_revoke(
            user=request.user, consent_id=consent_id, ip_address=client_ip(request)
        )
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request,
            _("%(app)s can no longer use your account.") % {"app": consent.application.name},
        )
    return redirect("integrations:connected_apps")


# --- The platform administrator's client pages --------------------------------------------


@staff_only(clients.API_MANAGE)
def client_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "api/staff/clients.html", {"clients": selectors.clients_list(actor=request.user)}
    )


@staff_only(clients.API_MANAGE)
def client_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ClientForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                client, secret = clients.client_register(
                    name=data["name"],
                    kind=data["kind"],
                    scopes=data["scopes"],
                    redirect_uris=data["redirect_uris"],
                    public=data["public"],
                    department=data["department"],
                    ward=data["ward"],
                    role=data["role"],
                    actor=request.user,
                    ip_address=client_ip(request),
                )
            except DomainError as error:
                form.add_error(ClientForm.field_for(error.code), str(error.message))
            else:
                # Rendered, not redirected: the secret is shown once and kept nowhere.
                return render(
                    request, "api/staff/client_secret.html", {"client": client, "secret": secret}
                )
    else:
        form = ClientForm()
    return render(request, "api/staff/client_new.html", {"form": form})


@staff_only(clients.API_MANAGE)
def client_detail(request: HttpRequest, client_pk: int) -> HttpResponse:
    client = selectors.client_get(actor=request.user, client_pk=client_pk)
    return render(
        request,
        "api/staff/client_detail.html",
        {
            "client": client,
            "scope_labels": [(s, scope_label(s)) for s in client.scope_list],
            "role_label": dict(registry.role_choices()).get(client.role, client.role),
            "subscriptions": selectors.subscriptions_for_staff(actor=request.user, client=client),
        },
    )


@staff_only(clients.API_MANAGE)
@require_POST
def client_rotate(request: HttpRequest, client_pk: int) -> HttpResponse:
    client = selectors.client_get(actor=request.user, client_pk=client_pk)
    try:
        secret = clients.client_secret_rotate(
            client=client, actor=request.user, ip_address=client_ip(request)
        )
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect("staff:api_client", client_pk=client.pk)
    return render(
        request,
        "api/staff/client_secret.html",
        {"client": client, "secret": secret, "rotated": True},
    )


@staff_only(clients.API_MANAGE)
@require_POST
def client_toggle(request: HttpRequest, client_pk: int) -> HttpResponse:
    client = selectors.client_get(actor=request.user, client_pk=client_pk)
    if client.disabled_at is None:
        clients.client_disable(client=client, actor=request.user, ip_address=client_ip(request))
        messages.success(
            request,
            _("%(name)s is disabled and its tokens are revoked.") % {"name": client},
        )
    else:
        clients.client_enable(client=client, actor=request.user, ip_address=client_ip(request))
        messages.success(request, _("%(name)s can ask for tokens again.") % {"name": client})
    return redirect("staff:api_client", client_pk=client.pk)
