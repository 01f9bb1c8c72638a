"""allauth adapters: registration through our services, throttled sign-in, encrypted MFA
secrets."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.mfa.adapter import DefaultMFAAdapter
from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import formats, timezone
from django.utils.translation import ngettext

from ecitizen.accounts import devices, services
from ecitizen.accounts.models import User
from ecitizen.core import crypto
from ecitizen.core.authority import authority_name, service_name
from ecitizen.core.http import client_ip
from ecitizen.core.middleware import SIGNED_IN_AT_KEY

MFA_ENCRYPTION_CONTEXT = "mfa.authenticator"


def throttle_message(wait_seconds: int) -> str:
    """What happened and when the person can try again, in plain words."""
    minutes = max(1, -(-wait_seconds // 60))
    until = timezone.localtime(timezone.now() + timedelta(seconds=wait_seconds))
    return ngettext(
        "There have been too many unsuccessful attempts to sign in. For your security, "
        "wait %(minutes)d minute before trying again (you can try again at %(time)s).",
        "There have been too many unsuccessful attempts to sign in. For your security, "
        "wait %(minutes)d minutes before trying again (you can try again at %(time)s).",
        minutes,
    ) % {"minutes": minutes, "time": formats.time_format(until, "H:i")}


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=False)
        user.full_name = form.cleaned_data["full_name"]
        if not commit:
            return user
        return services.user_register(user=user, ip_address=client_ip(request))

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Every account email is signed by the authority, not by a host name."""
        context = {
            **context,
            # In the language the email is written in (the active one).
            "authority_name": authority_name(),
            "service_name": service_name(),
            "contact_email": settings.AUTHORITY_CONTACT_EMAIL,
        }
        super().send_mail(template_prefix, email, context)

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        email = str(credentials.get("email") or credentials.get("username") or "")
        try:
            services.signin_attempt_begin(
                email=email,
                ip_address=client_ip(request),
                device=devices.device_code(request, email),
            )
        except services.SignInThrottled as throttled:
            raise forms.ValidationError(
                throttle_message(throttled.wait_seconds), code="sign_in_throttled"
            ) from throttled

    def authenticate(self, request: HttpRequest, **credentials: Any) -> Any:
        user = super().authenticate(request, **credentials)
        if user is not None:
            email = str(credentials.get("email") or credentials.get("username") or "")
            services.signin_password_accepted(
                email=email,
                ip_address=client_ip(request),
                device=devices.device_code(request, email),
            )
        return user

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        email = str(credentials.get("email") or credentials.get("username") or "")
        user = User.objects.filter(email__iexact=email).first() if email else None
        services.signin_failure_record(
            email=email,
            ip_address=client_ip(request),
            user=user,
            device=devices.device_code(request, email),
        )

    def post_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse:
        """After a complete sign-in (password and, if enrolled, second factor), the
        browser gets a new device cookie for this account (:mod:`accounts.devices`)."""
        response: HttpResponse = super().post_login(request, user, **kwargs)
        if devices.sign_in_complete(request, user):
            devices.remember_device(request, response, user)
        return response

    def get_client_ip(self, request: HttpRequest) -> str:
        return client_ip(request) or "0.0.0.0"  # noqa: S104 - an unknown address, not a bind

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return True

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """Sensitive changes (email, MFA) ask for the password again, unless the person
        signed in within the re-authentication window: having just typed it, asking again
        only gets in the way (an official sent to set up MFA right after signing in)."""
        if not super().is_reauthentication_required(app=app, **kwargs):
            return False
        request = allauth_context.request
        signed_in_at = request.session.get(SIGNED_IN_AT_KEY) if request is not None else None
        if signed_in_at is None:
            return True
        return time.time() - float(signed_in_at) >= settings.ACCOUNT_REAUTHENTICATION_TIMEOUT


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets and recovery-code seeds are stored as envelope-encrypted tokens."""

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text, context=MFA_ENCRYPTION_CONTEXT)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text, context=MFA_ENCRYPTION_CONTEXT)
