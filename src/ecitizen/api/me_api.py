"""The resident's own account in the public API: ``/api/v1/me`` (scope ``profile``).

What an app acting for the resident may know of them with the ``profile`` scope: their
name, email address, preferred language and whether (and how strongly) their identity was
verified with the national eID. Never a national identity number, a date of birth or
another encrypted identifier: an app that needs those asks the resident in its own way.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from ecitizen.accounts.selectors import identity_verification_for
from ecitizen.api.auth import OAuth2, principal_of

router = Router()


class VerifiedIdentity(Schema):
    """The national eID that verified the resident's identity: ``provider`` (its id in
    the settings), the level of assurance it asserted (``acr``; empty when it asserted
    none) and when it last did."""

    provider: str
    acr: str
    verified_at: datetime.datetime


class Me(Schema):
    email: str
    name: str
    language: str
    verified_identity: VerifiedIdentity | None


@router.get("", response=Me, auth=OAuth2(["profile"]), url_name="me")
def me(request: HttpRequest) -> dict[str, Any]:
    """The resident the token acts for."""
    user = principal_of(request).user
    verification = identity_verification_for(user)
    return {
        "email": user.email,
        "name": user.full_name,
        "language": user.language,
        "verified_identity": None
        if verification is None
        else {
            "provider": verification.provider,
            "acr": verification.acr,
            "verified_at": verification.verified_at,
        },
    }
