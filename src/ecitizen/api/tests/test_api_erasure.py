"""The api app's eraser: a resident's consents to apps go with their account."""

from __future__ import annotations

import pytest

from ecitizen.api import erasure
from ecitizen.api.models import Consent
from ecitizen.api.tests import support as helpers
from ecitizen.core.models import AuditEvent
from ecitizen.core.registry import registry

api_admin = helpers.api_admin
resident_app = helpers.resident_app

pytestmark = pytest.mark.django_db


def test_the_consents_of_the_resident_are_erased_and_no_one_elses(
    resident, second_resident, resident_app, api_admin
):
    assert registry.erasers["api"].erase is erasure.erase
    Consent.objects.create(user=resident, application=resident_app, scopes="profile")
    Consent.objects.create(user=second_resident, application=resident_app, scopes="profile")
    planned = erasure.plan(resident)
    assert [part.count for part in planned.erased] == [1]
    assert Consent.objects.filter(user=resident).exists()

    done = erasure.erase(resident, api_admin)
    assert done == planned
    assert not Consent.objects.filter(user=resident).exists()
    assert Consent.objects.filter(user=second_resident).count() == 1
    assert AuditEvent.objects.filter(action="api.consents_erased").count() == 1
    # Nothing left to erase: a second run changes nothing and records nothing.
    assert [part.count for part in erasure.erase(resident, api_admin).erased] == [0]
    assert AuditEvent.objects.filter(action="api.consents_erased").count() == 1
