"""Erasing a resident's account once the data-protection officer approved their request
(the ``privacy`` app runs it, last of all the erasers; ADR 0023).

Erased: the profile's personal values (names, date of birth, national identity number and
its blind index, address, phone) and the name's search indexes; the verified identity;
the email addresses, sessions, second factors (TOTP, passkeys, recovery codes), links to
the national eID (social accounts and their tokens), OAuth2 tokens and grants, and the
sign-in failure counts of the address. The account row stays, closed: the records the
law keeps (bills, payments, issued documents, the audit trail) refer to it. Its email
address becomes ``erased-<random>@erased.invalid`` and its name empty; it can no longer
sign in (inactive, unusable password).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ecitizen.accounts.models import (
    IdentityVerification,
    ResidentNameIndex,
    ResidentProfile,
    SignInThrottle,
    User,
)
from ecitizen.accounts.services import _ACCOUNT_KEY_CONTEXT
from ecitizen.core import crypto
from ecitizen.core.registry import ErasedPart, Erasure
from ecitizen.core.services import audit_record

NAME = "accounts"
#: The domain of erased accounts' addresses (``.invalid`` never resolves: RFC 2606).
ERASED_DOMAIN = "erased.invalid"


def _session_keys(user: User) -> list[str]:
    """The keys of the database sessions signed in as ``user`` (the session table holds
    the user id inside its encoded data only, so each live session is decoded)."""
    keys = []
    wanted = str(user.pk)
    for session in Session.objects.all().iterator():
        # get_decoded() answers {} for a session it cannot decode (tampered, old key).
        data = session.get_decoded()
        if str(data.get("_auth_user_id", "")) == wanted:
            keys.append(session.session_key)
    return keys


def _third_party(user: User) -> dict[str, Any]:
    """Querysets of allauth's and django-oauth-toolkit's rows of ``user``."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.socialaccount.models import SocialAccount
    from oauth2_provider.models import (
        get_access_token_model,
        get_grant_model,
        get_id_token_model,
        get_refresh_token_model,
    )

    return {
        "emails": EmailAddress.objects.filter(user=user),
        "mfa": Authenticator.objects.filter(user=user),
        "social": SocialAccount.objects.filter(user=user),
        "tokens": [
            get_access_token_model().objects.filter(user=user),
            get_refresh_token_model().objects.filter(user=user),
            get_grant_model().objects.filter(user=user),
            get_id_token_model().objects.filter(user=user),
        ],
    }


def _run(user: User, actor: Any, *, apply: bool) -> Erasure:
    profile = ResidentProfile.objects.filter(user=user).first()
    rows = _third_party(user)
    sessions = _session_keys(user)
    throttles = SignInThrottle.objects.filter(
        scope=SignInThrottle.Scope.ACCOUNT,
        key=crypto.blind_index(user.email.strip().lower(), context=_ACCOUNT_KEY_CONTEXT),
    )
    personal = (
        "legal_name",
        "preferred_name",
        "date_of_birth",
        "national_id",
        "address_line_1",
        "address_line_2",
        "town",
        "postcode",
        "phone",
    )
    counts = {
        "profile": 1 if profile is not None and any(getattr(profile, f) for f in personal) else 0,
        "email": 0 if user.email.endswith("@" + ERASED_DOMAIN) else 1,
        "identity": IdentityVerification.objects.filter(user=user).count(),
        "emails": rows["emails"].count(),
        "mfa": rows["mfa"].count(),
        "social": rows["social"].count(),
        "tokens": sum(query.count() for query in rows["tokens"]),
        "sessions": len(sessions),
    }
    if apply:
        if profile is not None:
            ResidentNameIndex.objects.filter(profile=profile).delete()
            for field in ("legal_name", "preferred_name", "address_line_1", "address_line_2"):
                setattr(profile, field, "")
            profile.town = ""
            profile.postcode = ""
            profile.date_of_birth = None
            profile.national_id = None
            profile.national_id_index = None
            profile.phone = None
            profile.ward = None
            profile.save()
        IdentityVerification.objects.filter(user=user).delete()
        rows["emails"].delete()
        rows["mfa"].delete()
        rows["social"].delete()  # its tokens go with it (CASCADE)
        for query in rows["tokens"]:
            query.delete()
        Session.objects.filter(session_key__in=sessions).delete()
        throttles.delete()
        user.email = f"erased-{secrets.token_hex(8)}@{ERASED_DOMAIN}"
        user.full_name = ""
        user.is_active = False
        user.set_unusable_password()
        user.save()
        audit_record(
            action="account.erased",
            actor=actor,
            obj=user,
            subject_user_id=user.pk,
            changes={name: count for name, count in counts.items() if count},
        )
    return Erasure(
        name=NAME,
        erased=(
            ErasedPart(
                _("Your profile: names, date of birth, identity number, address, phone"),
                counts["profile"],
            ),
            ErasedPart(_("Your identity as verified by the national eID"), counts["identity"]),
            ErasedPart(_("Your email addresses"), max(counts["emails"], counts["email"])),
            ErasedPart(_("Your two-factor authentication methods"), counts["mfa"]),
            ErasedPart(_("Your links to the national eID"), counts["social"]),
            ErasedPart(_("Access granted to apps acting for you"), counts["tokens"]),
            ErasedPart(_("Your signed-in sessions"), counts["sessions"]),
        ),
        kept=(
            ErasedPart(
                _("Your closed account, with no name or email address"),
                1,
                _("The records we must keep refer to it. It can no longer be used to sign in."),
            ),
        ),
    )


def erase(user: User, actor: Any) -> Erasure:
    """Erase the account's personal data and close it (see the module's docstring).
    Precondition: inside the privacy app's transaction, after every other eraser."""
    with transaction.atomic():
        return _run(user, actor, apply=True)


def plan(user: User) -> Erasure:
    """What :func:`erase` would do now; changes nothing."""
    return _run(user, None, apply=False)
