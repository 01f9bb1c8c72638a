"""Sign-in with OpenID Connect: allauth's OpenID Connect provider, made strict.

allauth (65.x) does the authorization-code flow, ``state`` (stashed in the session, used
once) and PKCE (forced on here). What it does not do, and this module adds (ADR 0022):

- a ``nonce`` in every authorization request, kept with the state and required to come
  back in the ID token (a token minted for another sign-in — a replay — is refused);
- the ID token's signature checked against the provider's JWKS *always* (allauth skips
  it when the token came straight from the token endpoint) with an asymmetric algorithm
  only, and ``iss`` (also the discovery document's, against the configured issuer),
  ``aud``, ``azp`` (when present it must be our client, and a token with several
  audiences must have it), ``exp``, ``iat`` (required, not in the future, not stale),
  ``sub``;
- userinfo's ``sub`` must be the ID token's;
- the level of assurance: ``acr`` must be at least the configured minimum;
- ``auth_params`` and ``scope`` from the request are ignored (an attacker's link could
  otherwise drop ``acr_values`` or replace the ``nonce``);
- the verified claims never reach ``SocialAccount.extra_data`` in clear: they travel
  encrypted (``crypto``) to the services that file them in the encrypted profile.

Every refusal is an :class:`IdentityRefused` with a message for the person, shown by
``socialaccount/authentication_error.html``, audited, and changes no account.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any, NoReturn

import requests
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.socialaccount.providers.base import AuthProcess, ProviderException
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.utils import generate_code_challenge
from allauth.socialaccount.providers.oauth2.views import (
    OAuth2CallbackView,
    OAuth2LoginView,
)
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import reverse
from django.utils.translation import gettext as _

from ecitizen.accounts.oidc_settings import CLAIMS_KEY
from ecitizen.core import crypto
from ecitizen.core.access import public
from ecitizen.core.http import client_ip
from ecitizen.core.services import audit_record

#: Encryption context of the verified claims while they travel through allauth.
CLAIMS_CONTEXT = "accounts.oidc.claims"
#: Asymmetric algorithms accepted for ID tokens (never ``none`` nor a shared secret).
ALLOWED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
#: Seconds of clock difference tolerated with the provider.
LEEWAY_SECONDS = 60
#: An ID token issued longer ago than this is stale, whatever its ``exp``.
MAX_TOKEN_AGE_SECONDS = 600
#: Claims kept in clear on the linked account: who (``sub``, ``iss``), how (``acr``,
#: ``amr``) and when — nothing that identifies a person by itself.
PUBLIC_CLAIMS = ("sub", "iss", "acr", "amr", "auth_time")


class IdentityRefused(ProviderException):
    """The provider's answer was refused; ``message`` says why, in plain words."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def ecitizen_config(app: SocialApp) -> dict[str, Any]:
    """ecitizen's part of an app's settings (``oidc_settings.provider_app``)."""
    config: dict[str, Any] = dict(app.settings.get("ecitizen") or {})
    config.setdefault("purpose", "resident")
    config.setdefault("acr_levels", [])
    config.setdefault("claims", {})
    return config


def acr_rank(config: Mapping[str, Any], acr: str | None) -> int:
    """The position of ``acr`` among the provider's levels (lowest 0); -1 if unknown."""
    levels = list(config.get("acr_levels") or [])
    return levels.index(acr) if acr in levels else -1


def acr_meets(config: Mapping[str, Any], acr: str | None, minimum: str | None) -> bool:
    """Whether ``acr`` is at or above ``minimum`` in the provider's order (no minimum:
    any)."""
    if not minimum:
        return True
    return acr_rank(config, acr) >= acr_rank(config, minimum) >= 0


def claims_seal(claims: Mapping[str, Any]) -> str:
    return crypto.encrypt(json.dumps(dict(claims), sort_keys=True), context=CLAIMS_CONTEXT)


def claims_open(token: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(crypto.decrypt(token, context=CLAIMS_CONTEXT))
    return data


def sealed_claims(sociallogin: SocialLogin) -> dict[str, Any]:
    """The verified claims carried (encrypted) by a sign-in through our provider."""
    token = (sociallogin.account.extra_data or {}).get(CLAIMS_KEY)
    return claims_open(token) if token else {}


def authorized_party_problem(claims: Mapping[str, Any], client_id: str) -> str | None:
    """Why the ID token's authorized party (``azp``) is refused, or ``None`` if it is
    fine (OpenID Connect Core 1.0, 3.1.3.7, steps 4 and 5; ``aud`` holding ``client_id``
    is checked by the signature check before this).

    ``azp``, when present, must be our ``client_id`` whatever the number of audiences
    (a token the provider issued to another client, even naming us among its audiences,
    is not ours to accept); a token with more than one audience must have one.
    Returns ``azp_mismatch`` or ``azp_missing``.
    """
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if "azp" in claims:
        if claims["azp"] != client_id:
            return "azp_mismatch"
    elif len(audiences) > 1:
        return "azp_missing"
    return None


class EcitizenOpenIDConnectAdapter(OpenIDConnectOAuth2Adapter):
    """The callback's half: fetch tokens (allauth), then check the ID token here."""

    #: The stashed state of this flow (set by :class:`_CallbackView`): its nonce.
    flow_state: dict[str, Any] | None = None

    def get_callback_url(self, request: HttpRequest, app: SocialApp) -> str:
        from allauth.utils import build_absolute_uri

        url = reverse("oidc_callback", kwargs={"provider_id": self.provider_id})
        return str(build_absolute_uri(request, url, self.redirect_uri_protocol))

    def _refuse(self, request: HttpRequest, app: SocialApp, code: str, message: str) -> NoReturn:
        audit_record(
            action="auth.identity_provider_refused",
            actor=None,
            changes={"provider": app.provider_id, "reason": code},
            ip_address=client_ip(request),
        )
        raise IdentityRefused(code, message)

    def complete_login(
        self, request: HttpRequest, app: SocialApp, token: Any, **kwargs: Any
    ) -> SocialLogin:
        provider = self.get_provider()
        response = kwargs.get("response") or {}
        id_token = response.get("id_token")
        name = app.name
        if not id_token:
            self._refuse(
                request,
                app,
                "no_id_token",
                _("%(provider)s did not confirm who you are. Try again.") % {"provider": name},
            )
        claims = self._id_token_claims(request, app, str(id_token))
        data: dict[str, Any] = {"id_token": claims}
        if app.settings.get("fetch_userinfo", True):
            userinfo = self._fetch_user_info(token.token)
            if str(userinfo.get("sub")) != str(claims.get("sub")):
                self._refuse(
                    request,
                    app,
                    "userinfo_mismatch",
                    _("%(provider)s answered about someone else. Nothing was changed.")
                    % {"provider": name},
                )
            data["userinfo"] = userinfo
        login: SocialLogin = provider.sociallogin_from_response(request, data)
        return login

    def _id_token_claims(
        self, request: HttpRequest, app: SocialApp, id_token: str
    ) -> dict[str, Any]:
        """The ID token's claims once every check passed; otherwise a refusal."""
        import jwt

        config = ecitizen_config(app)
        name = app.name
        failed = _(
            "%(provider)s sent an answer that could not be trusted, so you have not "
            "been signed in and nothing was changed. Try again; if it happens again, "
            "contact us."
        ) % {"provider": name}
        openid_config = self.openid_config
        expected_issuer = str(app.settings["server_url"]).rstrip("/")
        if str(openid_config.get("issuer", "")).rstrip("/") != expected_issuer:
            self._refuse(request, app, "issuer_mismatch", failed)
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            self._refuse(request, app, "malformed_token", failed)
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            self._refuse(request, app, "algorithm_refused", failed)
        try:
            alg, key = jwtkit.fetch_key(id_token, openid_config["jwks_uri"], jwtkit.lookup_kid_jwk)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key=key,
                algorithms=[alg],
                audience=app.client_id,
                issuer=openid_config["issuer"],
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            self._refuse(
                request,
                app,
                "token_expired",
                _(
                    "The confirmation from %(provider)s had expired, so you have not been "
                    "signed in and nothing was changed. Start again."
                )
                % {"provider": name},
            )
        except jwt.InvalidSignatureError:
            self._refuse(request, app, "bad_signature", failed)
        except (jwt.PyJWTError, OAuth2Error, KeyError, ValueError):
            self._refuse(request, app, "invalid_token", failed)
        now = time.time()
        if float(claims["iat"]) < now - MAX_TOKEN_AGE_SECONDS - LEEWAY_SECONDS:
            self._refuse(
                request,
                app,
                "token_stale",
                _(
                    "The confirmation from %(provider)s was too old, so you have not been "
                    "signed in and nothing was changed. Start again."
                )
                % {"provider": name},
            )
        problem = authorized_party_problem(claims, app.client_id)
        if problem:
            self._refuse(request, app, problem, failed)
        expected_nonce = str((self.flow_state or {}).get("nonce") or "")
        if not expected_nonce or not hmac.compare_digest(
            str(claims.get("nonce", "")), expected_nonce
        ):
            self._refuse(
                request,
                app,
                "nonce_mismatch",
                _(
                    "The confirmation from %(provider)s did not belong to this sign-in (it may "
                    "have been used before), so you have not been signed in and nothing was "
                    "changed. Start again."
                )
                % {"provider": name},
            )
        try:
            jwtkit.verify_jti(claims)
        except OAuth2Error:
            self._refuse(request, app, "token_replayed", failed)
        minimum = str(config.get("minimum_acr") or "")
        if minimum and not acr_meets(config, claims.get("acr"), minimum):
            self._refuse(
                request,
                app,
                "acr_too_low",
                _(
                    "You signed in to %(provider)s at a lower level of assurance than this "
                    "service needs, so you have not been signed in and nothing was changed. "
                    "Sign in to %(provider)s again with a stronger method (for example your "
                    "identity card or app)."
                )
                % {"provider": name},
            )
        return claims


class EcitizenOpenIDConnectProvider(OpenIDConnectProvider):
    """allauth's OpenID Connect provider with a nonce, forced PKCE, configured
    ``acr_values`` and scope only, and claims that do not stay in clear."""

    def get_oauth2_adapter(self, request: HttpRequest) -> EcitizenOpenIDConnectAdapter:
        return EcitizenOpenIDConnectAdapter(request, self.app.provider_id)

    def get_login_url(self, request: HttpRequest, **kwargs: Any) -> str:
        from django.utils.http import urlencode

        url = reverse("oidc_login", kwargs={"provider_id": self.app.provider_id})
        return f"{url}?{urlencode(kwargs)}" if kwargs else url

    def get_callback_url(self) -> str:
        return reverse("oidc_callback", kwargs={"provider_id": self.app.provider_id})

    def get_pkce_params(self) -> dict[str, Any]:
        # Always: PKCE is how a stolen authorization code stays useless.
        return dict(generate_code_challenge())

    def get_auth_params_from_request(self, request: HttpRequest, action: Any) -> dict[str, Any]:
        return dict(self.get_auth_params())

    def get_scope_from_request(self, request: HttpRequest) -> list[str]:
        return list(self.get_scope())

    def redirect(
        self,
        request: HttpRequest,
        process: Any,
        next_url: str | None = None,
        data: Any = None,
        **kwargs: Any,
    ) -> HttpResponse:
        config = ecitizen_config(self.app)
        nonce = secrets.token_urlsafe(32)
        auth_params = dict(kwargs.pop("auth_params", None) or self.get_auth_params())
        auth_params["nonce"] = nonce
        if config.get("acr_values"):
            auth_params["acr_values"] = " ".join(config["acr_values"])
        try:
            response: HttpResponse = super().redirect(
                request, process, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs
            )
        except (requests.RequestException, ValueError, KeyError) as exc:
            return render_authentication_error(
                request,
                self,
                exception=IdentityRefused(
                    "provider_unavailable",
                    _(
                        "%(provider)s is not answering at the moment. Try again in a few "
                        "minutes, or sign in with your email address and password."
                    )
                    % {"provider": self.app.name},
                ),
                extra_context={"cause": str(exc)[:200]},
            )
        return response

    def extract_common_fields(self, data: Any) -> dict[str, Any]:
        fields: dict[str, Any] = super().extract_common_fields(data)
        claims = _merged(data)
        name_claim = ecitizen_config(self.app)["claims"].get("name", "name")
        fields["name"] = claims.get(name_claim) or claims.get("name")
        return fields

    def extract_extra_data(self, data: Any) -> dict[str, Any]:
        """Only non-identifying claims in clear; everything else sealed (encrypted)."""
        claims = _merged(data)
        extra = {key: claims[key] for key in PUBLIC_CLAIMS if key in claims}
        extra[CLAIMS_KEY] = claims_seal(claims)
        return extra


def _merged(data: Any) -> dict[str, Any]:
    """The ID token's claims with userinfo's over them (userinfo may carry more), but the
    assurance claims (``acr``, ``amr``, ``auth_time``) from the signed ID token only."""
    id_token = dict(data.get("id_token") or {})
    merged = {**id_token, **dict(data.get("userinfo") or {})}
    for key in ("acr", "amr", "auth_time", "iss", "sub", "nonce"):
        if key in id_token:
            merged[key] = id_token[key]
        else:
            merged.pop(key, None)
    return merged


class _CallbackView(OAuth2CallbackView):
    """allauth's callback, keeping the flow's stashed state for the nonce check."""

    def _get_state(self, request: HttpRequest, provider: Any) -> tuple[Any, Any]:
        state, response = super()._get_state(request, provider)
        if isinstance(self.adapter, EcitizenOpenIDConnectAdapter):
            self.adapter.flow_state = state
        return state, response


@public
def login_view(request: HttpRequest, provider_id: str) -> HttpResponse:
    """Start a sign-in (or, with ``process=connect``, a link) at the provider — on a POST
    only, which carries our CSRF token: the buttons are forms. A GET (a link, a
    redirect, another site's page) only shows a page that asks the person to confirm
    with such a form, whatever ``SOCIALACCOUNT_LOGIN_ON_GET`` says, so no other site can
    start a sign-in or a link in someone's browser (login CSRF). Other methods: 405."""
    if request.method not in {"GET", "HEAD", "POST"}:
        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    try:
        adapter = EcitizenOpenIDConnectAdapter(request, provider_id)
        if request.method != "POST":
            return _login_confirm(request, adapter.get_provider())
        view = OAuth2LoginView.adapter_view(adapter)
        response: HttpResponse = view(request)
    except SocialApp.DoesNotExist as exc:
        raise Http404 from exc
    return response


def _login_confirm(request: HttpRequest, provider: Any) -> HttpResponse:
    """The page a GET of the sign-in address shows: what will happen, a button (a POST
    form with the CSRF token, the ``process`` and a safe ``next``) and a way out."""
    from allauth.account.utils import get_next_redirect_url
    from django.shortcuts import render

    process = request.GET.get("process")
    process = AuthProcess.CONNECT if process == AuthProcess.CONNECT else AuthProcess.LOGIN
    cancel = "socialaccount_connections" if process == AuthProcess.CONNECT else "account_login"
    return render(
        request,
        "socialaccount/login.html",
        {
            "provider": provider,
            "process": str(process),
            "next_url": get_next_redirect_url(request) or "",
            "cancel_url": reverse(cancel),
        },
    )


@public
def callback_view(request: HttpRequest, provider_id: str) -> HttpResponse:
    """Where the provider sends the person back with a code (and ``state``)."""
    try:
        view = _CallbackView.adapter_view(EcitizenOpenIDConnectAdapter(request, provider_id))
        response: HttpResponse = view(request)
    except SocialApp.DoesNotExist as exc:
        raise Http404 from exc
    return response


def configured_apps(purpose: str | None = None) -> list[dict[str, Any]]:
    """The OpenID Connect providers in the settings (``SOCIALACCOUNT_PROVIDERS``), of
    ``purpose`` (``resident`` or ``staff``) when given, as allauth app dictionaries."""
    from django.conf import settings

    apps = settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", [])
    return [
        app
        for app in apps
        if purpose is None
        or (app.get("settings", {}).get("ecitizen") or {}).get("purpose", "resident") == purpose
    ]


def provider_config(provider_id: str) -> dict[str, Any] | None:
    """ecitizen's settings of the configured provider ``provider_id`` (``None``: not
    configured), with its ``name``."""
    for app in configured_apps():
        if app.get("provider_id") == provider_id:
            config = dict(app.get("settings", {}).get("ecitizen") or {})
            config.setdefault("purpose", "resident")
            config.setdefault("acr_levels", [])
            config.setdefault("claims", {})
            config["name"] = app.get("name") or provider_id
            return config
    return None


def asserts_second_factor(config: Mapping[str, Any], claims: Mapping[str, Any]) -> bool:
    """Whether the staff provider says the person used more than a password: ``amr``
    names one of the configured methods, or ``acr`` is at or above ``mfa_acr``."""
    amr = claims.get("amr") or []
    if isinstance(amr, str):
        amr = [amr]
    if set(map(str, amr)) & set(config.get("mfa_amr") or []):
        return True
    mfa_acr = str(config.get("mfa_acr") or "")
    return bool(mfa_acr) and acr_meets(config, claims.get("acr"), mfa_acr)
