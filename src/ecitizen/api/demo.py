"""The api app's part of the demo: one app acting for residents (a public client, PKCE
only) and one back-office system (Public Works' works-order system, client credentials).

Idempotent: a second load makes no new client and writes nothing. Secrets are kept only
as hashes, so the back-office secret is printed by the first load alone; a later load
says where an administrator rotates it.
"""

from __future__ import annotations

from typing import Any

from ecitizen.accounts.models import Role
from ecitizen.accounts.selectors import department_by_slug, user_by_email
from ecitizen.api import clients
from ecitizen.api.models import IntegrationClient
from ecitizen.api.oauth import BACK_OFFICE, RESIDENT_APP

RESIDENT_APP_NAME = "Riverton in your pocket (demo app)"
RESIDENT_APP_REDIRECT = "https://app.riverton.example/oauth/callback"
BACK_OFFICE_NAME = "Public Works works-order system (demo)"
BACK_OFFICE_DEPARTMENT = "public-works"


def _admin(context: Any) -> Any:
    for person in context.city.staff:
        if person.role == Role.PLATFORM_ADMIN:
            return user_by_email(email=context.city.email(person.local))
    return None


def demo_api_load(context: Any) -> None:
    """Register the two demo clients once (using the platform administrator as actor),
    and add a note with their ids and, for the demo only, the back-office secret."""
    admin = _admin(context)
    if admin is None:
        return
    app = (
        IntegrationClient.objects.select_related("application")
        .filter(application__name=RESIDENT_APP_NAME)
        .first()
    )
    if app is None:
        app, _secret = clients.client_register(
            name=RESIDENT_APP_NAME,
            kind=RESIDENT_APP,
            scopes=[
                "profile",
                "applications:read",
                "documents:read",
                "bills:read",
                "notifications:read",
                "webhooks",
            ],
            redirect_uris=[RESIDENT_APP_REDIRECT],
            public=True,
            actor=admin,
        )
    office = (
        IntegrationClient.objects.select_related("application")
        .filter(application__name=BACK_OFFICE_NAME)
        .first()
    )
    department = department_by_slug(slug=BACK_OFFICE_DEPARTMENT)
    if department is None:
        return
    if office is None:
        office, secret = clients.client_register(
            name=BACK_OFFICE_NAME,
            kind=BACK_OFFICE,
            scopes=["cases:read", "cases:write", "webhooks"],
            department=department,
            role=Role.CASE_OFFICER,
            actor=admin,
        )
        office_line = f"for this demo only, the secret {secret}"
    else:
        office_line = (
            "the secret printed by the first demo load (an administrator gives it a new "
            "one at /staff/api-clients/)"
        )
    context.notes.append(
        "API (docs at /api/v1/docs/): the resident app "
        f"'{RESIDENT_APP_NAME}' has client_id {app.application.client_id} (public client: "
        f"authorization code with PKCE S256, redirect {RESIDENT_APP_REDIRECT}; consent at "
        "/oauth/authorize/, connected apps at /account/apps/). The back-office system "
        f"'{BACK_OFFICE_NAME}' (Public Works, case officer) has client_id "
        f"{office.application.client_id} and {office_line} "
        "(client credentials at /oauth/token/). Clients are managed at /staff/api-clients/."
    )
