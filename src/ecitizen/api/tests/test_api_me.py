"""``/api/v1/me``: the resident an app acts for, with the ``profile`` scope only."""

from __future__ import annotations

import pytest
from django.utils import timezone

from ecitizen.accounts.models import IdentityVerification
from ecitizen.api.tests import support as helpers
from ecitizen.api.tests.support import bearer

api_admin = helpers.api_admin
resident_app = helpers.resident_app
token_for = helpers.token_for

pytestmark = pytest.mark.django_db


def test_an_app_reads_the_resident_it_acts_for(client, resident, token_for):
    body = client.get("/api/v1/me", **bearer(token_for(resident))).json()
    assert body == {
        "email": "resident@example.test",
        "name": "Alex Morgan",
        "language": resident.language,
        "verified_identity": None,
    }
    now = timezone.now()
    IdentityVerification.objects.create(
        user=resident, provider="eid", acr="substantial", verified_at=now, first_verified_at=now
    )
    verified = client.get("/api/v1/me", **bearer(token_for(resident))).json()
    assert verified["verified_identity"]["provider"] == "eid"
    assert verified["verified_identity"]["acr"] == "substantial"


def test_the_profile_scope_is_needed(client, resident, token_for):
    response = client.get("/api/v1/me", **bearer(token_for(resident, ["applications:read"])))
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert client.get("/api/v1/me").status_code == 401
