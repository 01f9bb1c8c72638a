"""allauth adapters: registration through our services, throttled sign-in, encrypted MFA
secrets."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, NoReturn

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.core import context as allauth_context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.models import SocialAccount, SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext

from ecitizen.accounts import devices, oidc, selectors, services
from ecitizen.accounts.models import User
from ecitizen.core import crypto
from ecitizen.core.authority import authority_name, service_name
from ecitizen.core.compiled import CompiledQuery
from ecitizen.core.http import client_ip
from ecitizen.core.middleware import SIGNED_IN_AT_KEY
from ecitizen.core.services import audit_record

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
        """The address allauth's rate limits count per ``ip`` (``login``, ``signup``,
        ``reset_password``...): the platform's own client address
        (:func:`ecitizen.core.http.client_ip`, behind ``TRUSTED_PROXIES``), the one our
        sign-in throttle counts and the audit trail records. allauth's own reading
        (``ALLAUTH_TRUSTED_PROXY_COUNT``) would believe ``X-Forwarded-For`` from any peer,
        or else put everyone behind the proxy in one bucket. A request without a usable
        address is counted under ``0.0.0.0`` rather than refused."""
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

    def is_mfa_enabled(self, user: Any, types: Any = None) -> bool:
        """allauth's answer (any authenticator of ``types``, or of any type), read for
        any type through a query compiled once per process: every request of an official
        asks it (``core.access.mfa_gate``), and building allauth's ``exists()`` cost more
        than running it."""
        if types is not None or user.pk is None:  # a visitor, an account not saved yet
            return bool(super().is_mfa_enabled(user, types=types))
        return _AN_AUTHENTICATOR_OF.value(user=user.pk) is not None


def _an_authenticator_of(user: int) -> Any:
    return Authenticator.objects.filter(user_id=user).values_list("pk")[:1]


_AN_AUTHENTICATOR_OF = CompiledQuery(
    Authenticator,
    _an_authenticator_of,
    user=(-7_031_962_442, Authenticator._meta.get_field("user")),
)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Sign-in and linking with OpenID Connect providers (``accounts.oidc``), with our
    rules: accounts created through our services, an email already in use never merged,
    one national identity number per account, staff roles from the staff provider's
    groups. Refusals render ``socialaccount/authentication_error.html`` with a message
    and change no account.
    """

    error_messages = {
        **DefaultSocialAccountAdapter.error_messages,
        "no_password": _lazy(
            "You cannot unlink this: it is the only way you sign in. Set a password for "
            "your account first (the password page), then unlink it."
        ),
        "disconnect_last": _lazy("You cannot unlink this: it is the only way you sign in."),
        "no_verified_email": _lazy(
            "You cannot unlink this until your email address is confirmed: without it "
            "you could not get back into your account."
        ),
        "connected_other": _lazy(
            "This eID is already linked to a different account. Sign in to that account "
            "to unlink it first."
        ),
    }

    # --- refusals -----------------------------------------------------------------------

    def _refuse(
        self, request: HttpRequest, sociallogin: SocialLogin, code: str, message: str
    ) -> NoReturn:
        audit_record(
            action="auth.identity_provider_refused",
            actor=request.user if request.user.is_authenticated else None,
            changes={"provider": sociallogin.account.provider, "reason": code},
            ip_address=client_ip(request),
        )
        raise ImmediateHttpResponse(
            render_authentication_error(
                request,
                sociallogin.provider,
                exception=oidc.IdentityRefused(code, message),
            )
        )

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        """Check, before anything is saved, that this sign-in or link may go ahead."""
        config = oidc.provider_config(sociallogin.account.provider)
        if config is None:
            return
        name = config["name"]
        process = sociallogin.state.get("process")
        target = (
            request.user
            if process == AuthProcess.CONNECT and request.user.is_authenticated
            else (sociallogin.user if sociallogin.is_existing else None)
        )
        if sociallogin.is_existing and sociallogin.account.pk:
            # allauth saved the new claims on the existing link before asking us: keep
            # them in memory only (they are sealed in any case).
            services.sealed_claims_forget(account_id=sociallogin.account.pk)
        if (
            process == AuthProcess.CONNECT
            and sociallogin.is_existing
            and target is not None
            and sociallogin.user != target
        ):
            self._refuse(
                request,
                sociallogin,
                "linked_to_other_account",
                _(
                    "This %(provider)s identity is already linked to a different account. "
                    "Sign in to that account to unlink it first. Nothing was changed."
                )
                % {"provider": name},
            )
        if target is not None and process == AuthProcess.CONNECT:
            other = SocialAccount.objects.filter(
                user=target, provider=sociallogin.account.provider
            ).exclude(uid=sociallogin.account.uid)
            if other.exists():
                self._refuse(
                    request,
                    sociallogin,
                    "already_linked",
                    _(
                        "Your account is already linked to another %(provider)s identity. "
                        "Unlink it first. Nothing was changed."
                    )
                    % {"provider": name},
                )
        claims = oidc.sealed_claims(sociallogin)
        if config["purpose"] == "resident":
            claim = config["claims"].get("national_id", "national_id")
            national_id = claims.get(claim)
            if national_id:
                holder = selectors.national_id_holder(str(national_id))
                if holder is not None and (target is None or holder.pk != target.pk):
                    self._refuse(
                        request,
                        sociallogin,
                        "national_id_in_use",
                        _(
                            "The national identity number %(provider)s confirmed is already "
                            "linked to another account, so it cannot be linked to this one. "
                            "Nothing was changed. If you have two accounts, sign in to the "
                            "other one; if you think this is a mistake, contact us."
                        )
                        % {"provider": name},
                    )
        else:
            wanted = services.staff_roles_from_groups(
                groups=claims.get(config.get("groups_claim") or "groups"),
                group_roles=config.get("group_roles") or {},
            )
            if not wanted and not (target is not None and selectors.user_is_staff(target)):
                self._refuse(
                    request,
                    sociallogin,
                    "no_staff_role",
                    _(
                        "Your %(provider)s does not give you a role on this platform, so you "
                        "have not been signed in. Ask your administrator to add you to the "
                        "right group."
                    )
                    % {"provider": name},
                )
        if target is None:
            self._new_account_check(request, sociallogin, name)

    def _new_account_check(self, request: HttpRequest, sociallogin: SocialLogin, name: str) -> None:
        email = sociallogin.email_addresses[0].email if sociallogin.email_addresses else ""
        if not email:
            self._refuse(
                request,
                sociallogin,
                "no_email",
                _(
                    "%(provider)s did not share an email address, which we need to create "
                    "your account. Create an account with your email address, then link "
                    "%(provider)s from your account page."
                )
                % {"provider": name},
            )
        if User.objects.filter(email__iexact=email).exists() or (
            EmailAddress.objects.filter(email__iexact=email).exists()
        ):
            self._refuse(
                request,
                sociallogin,
                "email_in_use",
                _(
                    "An account already uses the email address %(provider)s gave. Sign in "
                    "to that account with your password, then link %(provider)s from your "
                    "account page. Nothing was changed."
                )
                % {"provider": name},
            )

    # --- accounts -----------------------------------------------------------------------

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: Any) -> Any:
        user = super().populate_user(request, sociallogin, data)
        user.full_name = str(data.get("name") or "").strip()[:200]
        return user

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return True

    def save_user(self, request: HttpRequest, sociallogin: SocialLogin, form: Any = None) -> Any:
        """A new account from the provider: created through ``user_register`` (profile
        and audit included), without a password (the person may set one later), then
        its verified identity or staff roles filed."""
        with transaction.atomic():
            user = sociallogin.user
            user.set_unusable_password()
            services.user_register(user=user, ip_address=client_ip(request))
            sociallogin.save(request)
            identity_from_sign_in(request, user, sociallogin)
        return user

    def validate_disconnect(self, account: Any, accounts: Any) -> None:
        """Unlinking is refused when it would leave no way in (no password and no other
        link); allauth's own checks (password, confirmed email) run before this."""
        others = [a for a in accounts if a.pk != account.pk]
        if not others and not account.user.has_usable_password():
            raise self.validation_error("no_password")

    def get_connect_redirect_url(self, request: HttpRequest, socialaccount: Any) -> str:
        return reverse("socialaccount_connections")

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: Any = None,
        exception: Any = None,
        extra_context: Any = None,
    ) -> None:
        """A sign-in that failed before our checks (a lost ``state``, a provider that
        answered with an error) is audited like our own refusals."""
        if isinstance(exception, oidc.IdentityRefused):
            return  # audited where it was refused
        audit_record(
            action="auth.identity_provider_refused",
            actor=None,
            changes={
                "provider": getattr(getattr(provider, "app", None), "provider_id", ""),
                "reason": str(error or type(exception).__name__ if exception else error),
            },
            ip_address=client_ip(request),
        )


def identity_from_sign_in(request: HttpRequest | None, user: Any, sociallogin: SocialLogin) -> None:
    """After a sign-in or a link through an OpenID Connect provider: file the resident's
    verified identity, or make the official's roles follow their groups and remember a
    second factor the staff provider asserted. Does nothing for other providers."""
    config = oidc.provider_config(sociallogin.account.provider)
    if config is None:
        return
    claims = oidc.sealed_claims(sociallogin)
    if not claims:
        return
    # Filed once: a sign-up files here and then signs in, which calls this again.
    sociallogin.account.extra_data.pop(oidc.CLAIMS_KEY, None)
    ip_address = client_ip(request) if request is not None else None
    if config["purpose"] == "resident":
        try:
            services.identity_verification_record(
                user=user,
                provider_id=sociallogin.account.provider,
                claims=claims,
                claim_names=config["claims"],
                ip_address=ip_address,
            )
        except services.NationalIdInUse as error:
            # Checked before the sign-in (pre_social_login); only another account taking
            # the number in the meantime gets here. Nothing was filed; say so.
            if request is not None:
                messages.error(request, str(error.message))
        return
    services.staff_roles_sync(
        user=user,
        provider_id=sociallogin.account.provider,
        groups=claims.get(config.get("groups_claim") or "groups"),
        group_roles=config.get("group_roles") or {},
        ip_address=ip_address,
    )
    if request is not None and hasattr(request, "session"):
        if oidc.asserts_second_factor(config, claims):
            request.session[selectors.IDP_SECOND_FACTOR_SESSION_KEY] = user.pk
        else:
            request.session.pop(selectors.IDP_SECOND_FACTOR_SESSION_KEY, None)


def _staff_providers_linked(user: Any) -> list[dict[str, Any]]:
    """The staff identity providers configured and linked to ``user`` (their settings)."""
    apps = oidc.configured_apps("staff")
    if not apps or not getattr(user, "pk", None):
        return []
    linked = set(
        SocialAccount.objects.filter(user=user).values_list("provider", flat=True).distinct()
    )
    found = []
    for app in apps:
        provider_id = str(app.get("provider_id") or "")
        config = oidc.provider_config(provider_id) if provider_id in linked else None
        if config is not None:
            found.append({**config, "provider_id": provider_id})
    return found


def staff_roles_after_sign_in(
    request: HttpRequest | None, user: Any, sociallogin: SocialLogin | None
) -> None:
    """After any complete sign-in: the roles a staff identity provider manages hold only
    for sessions signed in through it. A sign-in another way (password, passkey, code,
    the residents' eID) by someone linked to a staff provider withdraws them (audited,
    and the person is told how to get them back); a sign-in through it has just made them
    follow the groups (:func:`identity_from_sign_in`)."""
    through = sociallogin.account.provider if sociallogin is not None else None
    through_config = oidc.provider_config(through) if through else None
    through_staff = through_config is not None and through_config["purpose"] == "staff"
    if not through_staff and request is not None and hasattr(request, "session"):
        # A second factor the staff provider asserted belongs to its sign-ins only.
        request.session.pop(selectors.IDP_SECOND_FACTOR_SESSION_KEY, None)
    for config in _staff_providers_linked(user):
        if config["provider_id"] == through:
            continue
        removed = services.staff_roles_withdraw(
            user=user,
            provider_id=config["provider_id"],
            group_roles=config.get("group_roles") or {},
            keep=(through_config or {}).get("group_roles") if through_staff else None,
            reason=services.WITHDRAWN_SIGNED_IN_ANOTHER_WAY,
            ip_address=client_ip(request) if request is not None else None,
        )
        if removed and request is not None:
            messages.info(
                request,
                _(
                    "You signed in without %(provider)s, so the roles it gives you are not "
                    "available. To use them, sign out and sign in with %(provider)s."
                )
                % {"provider": config["name"]},
                fail_silently=True,
            )


def staff_roles_after_unlink(request: HttpRequest | None, socialaccount: Any) -> None:
    """The person unlinked a staff identity provider: the roles it manages go with it
    (audited). Does nothing for other providers."""
    config = oidc.provider_config(socialaccount.provider)
    if config is None or config["purpose"] != "staff":
        return
    services.staff_roles_withdraw(
        user=socialaccount.user,
        provider_id=socialaccount.provider,
        group_roles=config.get("group_roles") or {},
        reason=services.WITHDRAWN_UNLINKED,
        ip_address=client_ip(request) if request is not None else None,
    )
