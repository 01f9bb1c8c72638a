"""Writes about integrators' OAuth2 clients and residents' consents to them. Every change
is audited; the platform administrator (capability :data:`API_MANAGE`) manages clients.

A client's secret is shown once, when it is made or rotated, and kept only as a password
hash. Tokens are kept only as their SHA-256 checksum (see :mod:`ecitizen.api.oauth`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import (
    AbstractApplication,
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_refresh_token_model,
    set_token_value,
)
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import generate_token

from ecitizen.accounts.models import Department, Jurisdiction
from ecitizen.accounts.selectors import user_acting_as
from ecitizen.accounts.services import role_assign, user_create
from ecitizen.api.models import Consent, IntegrationClient, WebhookSubscription
from ecitizen.api.oauth import BACK_OFFICE, RESIDENT_APP, SCOPES_BY_KIND, allowed_scopes
from ecitizen.core.access import holds_capability
from ecitizen.core.errors import DomainError, PermissionDenied
from ecitizen.core.registry import registry
from ecitizen.core.services import audit_record

#: Registering, disabling and rotating integrators' clients (the platform administrator).
API_MANAGE = "api.manage"

#: Where service accounts' addresses live: a reserved top-level domain (RFC 2606), so no
#: mail ever reaches them and no password-reset link can be used to sign in as one.
SERVICE_ACCOUNT_DOMAIN = "clients.invalid"


class ClientError(DomainError):
    code = "client_invalid"


def back_office_roles() -> list[tuple[str, Any]]:
    """The roles a back-office system may hold: an official's role within a department
    (never an authority-wide one: a system is bound to one department)."""
    wide = registry.authority_wide_roles()
    staff = registry.staff_roles()
    return [(code, label) for code, label in registry.role_choices() if code in staff - wide]


def _check_manager(actor: Any) -> None:
    if not holds_capability(actor, API_MANAGE):
        raise PermissionDenied(_("Only a platform administrator can manage API clients."))


def _scopes_valid(kind: str, scopes: Iterable[str]) -> list[str]:
    permitted = SCOPES_BY_KIND.get(kind)
    if permitted is None:
        raise ClientError(_("Choose what kind of client this is."), code="client_kind_unknown")
    chosen = list(dict.fromkeys(scopes))
    if not chosen:
        raise ClientError(_("Choose at least one scope."), code="client_scopes_required")
    refused = [scope for scope in chosen if scope not in permitted]
    if refused:
        raise ClientError(
            _("A client of this kind cannot be granted: %(scopes)s.")
            % {"scopes": ", ".join(refused)},
            code="client_scope_not_allowed",
        )
    return chosen


def _redirect_uris_valid(kind: str, redirect_uris: Iterable[str]) -> list[str]:
    uris = [uri.strip() for uri in redirect_uris if uri.strip()]
    if kind == BACK_OFFICE:
        return []
    if not uris:
        raise ClientError(
            _("Enter at least one redirect address for an app acting for residents."),
            code="client_redirect_required",
        )
    schemes = oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES
    for uri in uris:
        scheme = uri.partition(":")[0].lower()
        if scheme not in schemes or "#" in uri or " " in uri:
            raise ClientError(
                _(
                    "Redirect addresses must be full addresses starting with %(schemes)s, "
                    "without a fragment (#)."
                )
                % {"schemes": " or ".join(f"{s}://" for s in schemes)},
                code="client_redirect_invalid",
            )
    return uris


@transaction.atomic
def client_register(
    *,
    name: str,
    kind: str,
    scopes: Iterable[str],
    redirect_uris: Iterable[str] = (),
    public: bool = False,
    department: Department | None = None,
    ward: Jurisdiction | None = None,
    role: str = "",
    actor: Any,
    ip_address: str | None = None,
) -> tuple[IntegrationClient, str]:
    """Register an integrator's client and return it with its secret in clear (``""``
    for a public client, which has none). The secret is shown once and kept hashed.

    An app acting for residents (``kind="resident_app"``) uses the authorization code
    grant with PKCE, needs redirect addresses and may be granted only residents' scopes
    and ``webhooks``; ``public`` makes it a public client (a mobile or browser app). A
    back-office system (``"back_office"``) uses client credentials, may be granted only
    ``cases:*`` and ``webhooks``, and needs a ``department``, a ``role`` an official
    holds within a department and optionally a ``ward``: a service account (that cannot
    sign in) is created holding that role there.

    Raises :class:`PermissionDenied` unless ``actor`` holds ``api.manage`` and
    :class:`ClientError` for invalid input. Audited (``api.client_registered``).
    """
    _check_manager(actor)
    name = name.strip()
    if not name:
        raise ClientError(_("Enter the client's name."), code="client_name_required")
    chosen = _scopes_valid(kind, scopes)
    uris = _redirect_uris_valid(kind, redirect_uris)
    if kind == BACK_OFFICE:
        if department is None:
            raise ClientError(
                _("Choose the department a back-office system works in."),
                code="client_department_required",
            )
        if role not in dict(back_office_roles()):
            raise ClientError(
                _("Choose the role the back-office system acts in."), code="client_role_invalid"
            )
        public = False
    else:
        department, ward, role = None, None, ""
    secret = "" if public else generate_client_secret()
    application_model = get_application_model()
    application = application_model(
        name=name[:255],
        client_type=(
            AbstractApplication.CLIENT_PUBLIC if public else AbstractApplication.CLIENT_CONFIDENTIAL
        ),
        authorization_grant_type=(
            AbstractApplication.GRANT_CLIENT_CREDENTIALS
            if kind == BACK_OFFICE
            else AbstractApplication.GRANT_AUTHORIZATION_CODE
        ),
        redirect_uris=" ".join(uris),
        client_secret=secret,
        hash_client_secret=True,
        skip_authorization=False,
        algorithm="",
    )
    application.save()
    service_account = None
    if kind == BACK_OFFICE:
        service_account = user_create(
            email=f"api-{application.client_id[:24].lower()}@{SERVICE_ACCOUNT_DOMAIN}",
            full_name=_("%(name)s (API client)") % {"name": name},
            password=None,
            actor=actor,
            ip_address=ip_address,
        )
        role_assign(
            user=service_account,
            role=role,
            department=department,
            jurisdiction=ward,
            actor=actor,
            ip_address=ip_address,
        )
    client = IntegrationClient.objects.create(
        application=application,
        kind=kind,
        scopes=" ".join(chosen),
        department=department,
        ward=ward,
        role=role,
        service_account=service_account,
        created_by=actor,
    )
    audit_record(
        action="api.client_registered",
        actor=actor,
        actor_role=user_acting_as(actor),
        obj=client,
        changes={
            "client_id": {"before": None, "after": application.client_id},
            "name": {"before": None, "after": name},
            "kind": {"before": None, "after": kind},
            "scopes": {"before": None, "after": client.scopes},
            "redirect_uris": {"before": None, "after": application.redirect_uris},
            "remit": {
                "before": None,
                "after": f"{department.slug if department else ''}"
                f"/{ward.code if ward else ''}/{role}",
            },
        },
        ip_address=ip_address,
    )
    return client, secret


def _revoke_tokens(*, application: Any, user: Any = None) -> int:
    """Revoke every token and pending authorization code of ``application`` (for
    ``user`` only, when given). Returns how many access and refresh tokens stopped
    working."""
    filters: dict[str, Any] = {"application": application}
    if user is not None:
        filters["user"] = user
    now = timezone.now()
    refreshed = (
        get_refresh_token_model()
        .objects.filter(revoked__isnull=True, **filters)
        .update(revoked=now, access_token=None, updated=now)
    )
    accessed, _rows = get_access_token_model().objects.filter(**filters).delete()
    get_grant_model().objects.filter(**filters).delete()
    return int(refreshed) + int(accessed)


@transaction.atomic
def client_secret_rotate(
    *, client: IntegrationClient, actor: Any, ip_address: str | None = None
) -> str:
    """Give a confidential client a new secret and return it in clear (shown once); the
    old secret stops working at once and the client's back-office tokens are revoked.
    Raises :class:`ClientError` for a public client. Audited."""
    _check_manager(actor)
    client = (
        IntegrationClient.objects.select_for_update(of=("self",))
        .select_related("application")
        .get(pk=client.pk)
    )
    application = client.application
    if application.client_type == AbstractApplication.CLIENT_PUBLIC:
        raise ClientError(_("A public client has no secret."), code="client_public")
    secret = generate_client_secret()
    application.client_secret = secret
    application.save(update_fields=["client_secret", "updated"])
    client.secret_rotated_at = timezone.now()
    client.save(update_fields=["secret_rotated_at"])
    if client.kind == BACK_OFFICE:
        _revoke_tokens(application=application)
    audit_record(
        action="api.client_secret_rotated",
        actor=actor,
        actor_role=user_acting_as(actor),
        obj=client,
        ip_address=ip_address,
    )
    return secret


@transaction.atomic
def client_disable(
    *, client: IntegrationClient, actor: Any, ip_address: str | None = None
) -> IntegrationClient:
    """Disable a client: it gets no more tokens, every token it holds is revoked and its
    webhooks stop. Doing it again changes nothing. Audited."""
    _check_manager(actor)
    client = (
        IntegrationClient.objects.select_for_update(of=("self",))
        .select_related("application")
        .get(pk=client.pk)
    )
    if client.disabled_at is not None:
        return client
    client.disabled_at = timezone.now()
    client.save(update_fields=["disabled_at"])
    revoked = _revoke_tokens(application=client.application)
    WebhookSubscription.objects.filter(client=client).update(active=False)
    audit_record(
        action="api.client_disabled",
        actor=actor,
        actor_role=user_acting_as(actor),
        obj=client,
        changes={"tokens_revoked": {"before": None, "after": revoked}},
        ip_address=ip_address,
    )
    return client


@transaction.atomic
def client_enable(
    *, client: IntegrationClient, actor: Any, ip_address: str | None = None
) -> IntegrationClient:
    """Let a disabled client ask for tokens again (its old tokens stay revoked; residents
    consent again). Audited."""
    _check_manager(actor)
    client = IntegrationClient.objects.select_for_update().get(pk=client.pk)
    if client.disabled_at is None:
        return client
    client.disabled_at = None
    client.save(update_fields=["disabled_at"])
    audit_record(
        action="api.client_enabled",
        actor=actor,
        actor_role=user_acting_as(actor),
        obj=client,
        ip_address=ip_address,
    )
    return client


# --- Residents' consents ------------------------------------------------------------------


@transaction.atomic
def consent_record(
    *, user: Any, application: Any, scopes: Iterable[str], ip_address: str | None = None
) -> Consent:
    """The resident allowed ``application`` to act for them with ``scopes`` (the consent
    page's "Allow"). Replaces an earlier consent's scopes and date. Audited
    (``api.consent_granted``, about the resident, who sees it in their account activity).
    """
    chosen = " ".join(dict.fromkeys(scopes))
    consent, created = Consent.objects.select_for_update().get_or_create(
        user=user, application=application, defaults={"scopes": chosen}
    )
    before = None if created or consent.revoked_at else consent.scopes
    if not created:
        consent.scopes = chosen
        consent.granted_at = timezone.now()
        consent.revoked_at = None
        consent.save(update_fields=["scopes", "granted_at", "revoked_at"])
    audit_record(
        action="api.consent_granted",
        actor=user,
        obj=consent,
        subject_user_id=user.pk,
        changes={
            "application": {"before": None, "after": application.client_id},
            "scopes": {"before": before, "after": chosen},
        },
        ip_address=ip_address,
    )
    return consent


def consent_refused(*, user: Any, application: Any, ip_address: str | None = None) -> None:
    """The resident said no on the consent page (audited, ``api.consent_refused``)."""
    audit_record(
        action="api.consent_refused",
        actor=user,
        object_type="oauth2_provider.application",
        object_id=str(application.pk),
        subject_user_id=user.pk,
        changes={"application": {"before": None, "after": application.client_id}},
        ip_address=ip_address,
    )


@transaction.atomic
def consent_revoke(*, user: Any, consent_id: int, ip_address: str | None = None) -> Consent:
    """The resident disconnected an app from their account: every token and code the app
    holds for them is revoked at once, its webhooks for them stop, and the consent is
    marked revoked. Raises :class:`ClientError` (``consent_not_found``) for a consent
    that is not this resident's or is already revoked. Audited (``api.consent_revoked``).
    """
    consent = (
        Consent.objects.select_for_update(of=("self",))
        .select_related("application")
        .filter(pk=consent_id, user=user, revoked_at__isnull=True)
        .first()
    )
    if consent is None:
        raise ClientError(_("This app is not connected to your account."), code="consent_not_found")
    consent.revoked_at = timezone.now()
    consent.save(update_fields=["revoked_at"])
    revoked = _revoke_tokens(application=consent.application, user=user)
    WebhookSubscription.objects.filter(client__application=consent.application, user=user).update(
        active=False
    )
    audit_record(
        action="api.consent_revoked",
        actor=user,
        obj=consent,
        subject_user_id=user.pk,
        changes={
            "application": {"before": consent.application.client_id, "after": None},
            "tokens_revoked": {"before": None, "after": revoked},
        },
        ip_address=ip_address,
    )
    return consent


# --- Tokens for tests and tools -----------------------------------------------------------


@transaction.atomic
def access_token_issue(
    *,
    application: Any,
    user: Any = None,
    scopes: Iterable[str],
    expires_in: int | None = None,
) -> str:
    """Mint an access token for ``application`` acting as ``user`` with ``scopes``, the
    way the token endpoint would, and return it in clear (it is stored only as its
    SHA-256). For tests and operators' tools: no consent page, no client authentication.

    A back-office client's token acts as its service account (``user`` must be ``None``
    or that account); an app acting for residents needs the resident as ``user``.
    ``expires_in``: seconds (negative for an already expired token, for tests). Raises
    :class:`ClientError` when the client may not be granted one of ``scopes`` or is
    disabled.
    """
    chosen = list(dict.fromkeys(scopes))
    permitted = allowed_scopes(application)
    refused = [scope for scope in chosen if scope not in permitted]
    if refused:
        raise ClientError(
            _("This client cannot be granted: %(scopes)s.") % {"scopes": ", ".join(refused)},
            code="client_scope_not_allowed",
        )
    integration = application.integration
    if integration.kind == BACK_OFFICE:
        if user is not None and user != integration.service_account:
            raise ClientError(
                _("A back-office client acts only as its own service account."),
                code="client_user_invalid",
            )
        user = integration.service_account
    elif integration.kind == RESIDENT_APP and user is None:
        raise ClientError(_("An app acting for residents needs a resident."), code="client_user")
    seconds = oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS if expires_in is None else expires_in
    raw = generate_token()
    token = get_access_token_model()(
        user=user,
        application=application,
        scope=" ".join(chosen),
        expires=timezone.now() + timedelta(seconds=seconds),
    )
    set_token_value(token, raw)
    token.save()
    return str(raw)
