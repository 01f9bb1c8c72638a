"""Through the API a resident's token reads their own applications only: not the ones
the same person submitted for someone else as a helper (which the web's "applications
I made for others" shows), since the resident's consent to an app covers their own."""

from __future__ import annotations

import pytest

from ecitizen.api.tests import support as api_support
from ecitizen.api.tests.support import bearer
from ecitizen.cases.models import Case, Channel
from ecitizen.cases.selectors import case_get_for_user

# The shared fixtures (pytest finds them as this module's attributes).
api_admin = api_support.api_admin
published = api_support.published
resident_app = api_support.resident_app
token_for = api_support.token_for


@pytest.mark.django_db
def test_a_helpers_token_does_not_read_the_applications_they_made_for_others(
    client, published, resident, second_resident, token_for
):
    from ecitizen.api.tests.test_api_resources import _apply

    response = _apply(client, token_for(resident))
    assert response.status_code == 201, response.content
    case = Case.objects.get(reference=response.json()["reference"])
    Case.objects.filter(pk=case.pk).update(channel=Channel.ASSISTED, submitted_by=second_resident)

    # On the web the helper still sees it…
    assert case_get_for_user(user=second_resident, reference=case.reference) == case
    # …but not through an app acting for them, in the list or by reference.
    helper_token = token_for(second_resident)
    listed = client.get("/api/v1/applications", **bearer(helper_token)).json()["items"]
    assert listed == []
    detail = client.get(f"/api/v1/applications/{case.reference}", **bearer(helper_token))
    assert detail.status_code == 404
    own = client.get(f"/api/v1/applications/{case.reference}", **bearer(token_for(resident)))
    assert own.status_code == 200
