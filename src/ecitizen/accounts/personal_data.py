"""What the accounts app holds about a resident, for their data rights (the ``privacy``
app): the account, the profile (decrypted for its owner), staff roles, the eID link and
connected sign-in providers. Registered as ``accounts`` in ``AccountsConfig.ready()``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import PersonalData

NAME = "accounts"


def export(user: Any) -> dict[str, Any]:
    """The account of ``user`` and its profile, decrypted; their roles if staff; their
    verified identity (eID) and linked sign-in providers. Nothing about anyone else."""
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount

    from ecitizen.accounts import models
    from ecitizen.accounts.models import ResidentProfile, RoleAssignment

    item: dict[str, Any] = {
        "kind": "account",
        "email": user.email,
        "full_name": user.full_name,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "language": user.language,
        "text_size": user.text_size,
        "contrast": user.contrast,
        "email_addresses": [
            {"email": address.email, "verified": address.verified, "primary": address.primary}
            for address in EmailAddress.objects.filter(user=user).order_by("pk")
        ],
    }
    items: list[dict[str, Any]] = [item]
    profile = ResidentProfile.objects.filter(user=user).select_related("ward").first()
    if profile is not None:
        items.append(
            {
                "kind": "profile",
                "legal_name": profile.legal_name,
                "preferred_name": profile.preferred_name,
                "date_of_birth": profile.date_of_birth,
                "national_id": profile.national_id,
                "address_line_1": profile.address_line_1,
                "address_line_2": profile.address_line_2,
                "town": profile.town,
                "postcode": profile.postcode,
                "phone": profile.phone,
                "contact_preference": profile.contact_preference,
                "ward": profile.ward.name if profile.ward else None,
                "updated_at": profile.updated_at,
            }
        )
    for assignment in RoleAssignment.objects.filter(user=user).select_related(
        "department", "jurisdiction"
    ):
        items.append(
            {
                "kind": "role",
                "role": assignment.role,
                "department": assignment.department.name if assignment.department else None,
                "ward": assignment.jurisdiction.name if assignment.jurisdiction else None,
                "granted_at": assignment.granted_at,
            }
        )
    # The eID link (its model arrives with the eID sign-in; absent before).
    verifications = getattr(models, "IdentityVerification", None)
    verification = verifications.objects.filter(user=user).first() if verifications else None
    if verification is not None:
        items.append(
            {
                "kind": "verified_identity",
                "provider": verification.provider,
                "level_of_assurance": verification.acr,
                "authentication_methods": verification.amr,
                "verified_fields": verification.verified_fields,
                "first_verified_at": verification.first_verified_at,
                "verified_at": verification.verified_at,
            }
        )
    for account in SocialAccount.objects.filter(user=user).order_by("pk"):
        items.append(
            {
                "kind": "linked_sign_in",
                "provider": account.provider,
                "subject": account.uid,
                "linked_at": account.date_joined,
                "last_sign_in": account.last_login,
            }
        )
    return {"items": items}


PERSONAL_DATA = PersonalData(
    name=NAME,
    label=_("Your account and profile"),
    purpose=_(
        "To give you an account, know who you are, reuse your details so you are not "
        "asked twice, and contact you the way you prefer."
    ),
    lawful_basis="public_task",
    categories=(
        _("Name and email address"),
        _("Date of birth and national identity number"),
        _("Postal address and phone number"),
        _("Contact and display preferences"),
        _("Identity verified by the national eID (level of assurance)"),
        _("Staff roles, for officials"),
    ),
    recipients=_("Staff of the authority whose work needs it, within their department and ward."),
    retention=_(
        "While you have an account; erased when you close it, except what the law requires "
        "us to keep."
    ),
    export=export,
    order=10,
)
