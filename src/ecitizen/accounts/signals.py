"""Audit receivers for identity events raised by Django and allauth."""

from __future__ import annotations

from typing import Any

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from allauth.socialaccount import signals as social_signals
from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver
from django.http import HttpRequest

from ecitizen.accounts import services
from ecitizen.accounts.selectors import IDP_SECOND_FACTOR_SESSION_KEY, MFA_VERIFIED_SESSION_KEY
from ecitizen.core.http import client_ip
from ecitizen.core.middleware import start_session_clock
from ecitizen.core.services import audit_record


def _ip(request: HttpRequest | None) -> str | None:
    return client_ip(request) if request is not None else None


@receiver(auth_signals.user_logged_in)
def on_signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    services.signin_record(user=user, ip_address=_ip(request))
    if request is not None:
        start_session_clock(request)
        if user.language:
            request.language_to_remember = user.language  # type: ignore[attr-defined]


@receiver(auth_signals.user_logged_out)
def on_signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(
            action="auth.signed_out",
            actor=user,
            obj=user,
            subject_user_id=user.pk,
            ip_address=_ip(request),
        )


def _audit_user_event(action: str, request: HttpRequest | None, user: Any, **extra: Any) -> None:
    audit_record(
        action=action,
        actor=user,
        obj=user,
        subject_user_id=user.pk,
        ip_address=_ip(request),
        **extra,
    )


@receiver(mfa_signals.authentication_failed)
def on_second_factor_failed(
    sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kwargs: Any
) -> None:
    _audit_user_event("auth.second_factor_failed", request, user)


@receiver(mfa_signals.authenticator_added)
def on_authenticator_added(
    sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kw: Any
) -> None:
    _audit_user_event(f"mfa.{authenticator.type}_added", request, user)
    if request is not None:
        request.session[MFA_VERIFIED_SESSION_KEY] = True


@receiver(mfa_signals.authenticator_removed)
def on_authenticator_removed(
    sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kw: Any
) -> None:
    _audit_user_event(f"mfa.{authenticator.type}_removed", request, user)


@receiver(mfa_signals.authenticator_reset)
def on_authenticator_reset(
    sender: Any, request: HttpRequest, user: Any, authenticator: Any, **kw: Any
) -> None:
    _audit_user_event(f"mfa.{authenticator.type}_reset", request, user)


@receiver(account_signals.password_changed)
def on_password_changed(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    _audit_user_event("auth.password_changed", request, user)


@receiver(account_signals.password_reset)
def on_password_reset(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    _audit_user_event("auth.password_reset", request, user)


@receiver(account_signals.email_confirmed)
def on_email_confirmed(
    sender: Any, request: HttpRequest, email_address: Any, **kwargs: Any
) -> None:
    _audit_user_event("account.email_confirmed", request, email_address.user)


@receiver(account_signals.email_changed)
def on_email_changed(
    sender: Any,
    request: HttpRequest,
    user: Any,
    from_email_address: Any,
    to_email_address: Any,
    **kwargs: Any,
) -> None:
    _audit_user_event(
        "account.email_changed",
        request,
        user,
        changes={
            "email": {
                "before": getattr(from_email_address, "email", None),
                "after": getattr(to_email_address, "email", None),
            }
        },
    )


# --- OpenID Connect providers (national eID, staff identity provider) -------------------


@receiver(account_signals.user_logged_in)
def on_signed_in_with_provider(
    sender: Any, request: HttpRequest, user: Any, sociallogin: Any = None, **kwargs: Any
) -> None:
    """A complete sign-in (second factor included). Through an OpenID Connect provider:
    file the verified identity or follow the staff groups; any other way: withdraw the
    roles a linked staff provider manages, which hold only for its sign-ins
    (``adapters``)."""
    from ecitizen.accounts.adapters import identity_from_sign_in, staff_roles_after_sign_in

    if sociallogin is not None:
        identity_from_sign_in(request, user, sociallogin)
    staff_roles_after_sign_in(request, user, sociallogin)


@receiver(social_signals.social_account_added)
def on_provider_linked(sender: Any, request: HttpRequest, sociallogin: Any, **kwargs: Any) -> None:
    from ecitizen.accounts.adapters import identity_from_sign_in

    _audit_user_event(
        "account.identity_provider_linked",
        request,
        sociallogin.user,
        changes={"provider": {"before": None, "after": sociallogin.account.provider}},
    )
    identity_from_sign_in(request, sociallogin.user, sociallogin)


@receiver(social_signals.social_account_removed)
def on_provider_unlinked(
    sender: Any, request: HttpRequest, socialaccount: Any, **kwargs: Any
) -> None:
    user = socialaccount.user
    _audit_user_event(
        "account.identity_provider_unlinked",
        request,
        user,
        changes={"provider": {"before": socialaccount.provider, "after": None}},
    )
    services.identity_verification_remove(
        user=user, provider_id=socialaccount.provider, actor=user, ip_address=_ip(request)
    )
    from ecitizen.accounts.adapters import staff_roles_after_unlink

    staff_roles_after_unlink(request, socialaccount)
    if request is not None:
        request.session.pop(IDP_SECOND_FACTOR_SESSION_KEY, None)
