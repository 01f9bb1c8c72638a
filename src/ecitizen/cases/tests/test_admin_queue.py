"""The queue and the case page agree on who may see what: every case a platform
administrator's queue lists opens (it used to list cases whose pages answered 404)."""

from __future__ import annotations

import re

from django.urls import reverse

from ecitizen.accounts import services as accounts
from ecitizen.cases import services
from tests.factories import JurisdictionFactory, UserFactory
from tests.personas import sign_in_official

from .support import PARKING_ANSWERS, draft_with, pdf_file, submit_shed


def _listed(client, **query) -> list[str]:
    """Every reference the queue lists, page after page."""
    found: list[str] = []
    page = 1
    while True:
        response = client.get(reverse("staff:case_queue"), {**query, "page": page})
        assert response.status_code == 200
        body = response.content.decode()
        found += re.findall(r'href="/staff/cases/([A-Z0-9-]+)/"', body)
        if f"page={page + 1}" not in body:
            return found
        page += 1


def test_every_case_the_admins_queue_lists_opens(
    client, shed, riverton, resident, works_officer, platform_admin
):
    # Cases of two departments, in a ward and in none, open and closed.
    ward = JurisdictionFactory(code="harbour", name="Harbour")
    in_ward = UserFactory(email="harbour.resident@example.test")
    accounts.profile_update(user=in_ward, data={"ward": ward}, actor=in_ward)
    in_ward.refresh_from_db()
    submit_shed(shed, resident)
    submit_shed(shed, in_ward)
    withdrawn = submit_shed(shed, resident)
    services.case_transition(case=withdrawn, action_id="withdraw", actor=resident)
    reviewed = submit_shed(shed, in_ward)
    services.case_transition(case=reviewed, action_id="start_review", actor=works_officer)
    draft = draft_with(riverton["residents-parking-permit"], in_ward, PARKING_ANSWERS)
    draft = services.draft_save_answers(
        draft=draft, values={}, files={"proof_of_address": [pdf_file("bill.pdf")]}, actor=in_ward
    )
    services.draft_submit(draft=draft, actor=in_ward)

    sign_in_official(client, platform_admin)
    listed = _listed(client, closed="1")
    assert len(listed) == 5, listed
    for reference in listed:
        response = client.get(reverse("staff:case_detail", args=[reference]))
        assert response.status_code == 200, reference
