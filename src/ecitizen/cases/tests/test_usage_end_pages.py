"""The "you cannot use this service" end page completes the journey for the completion
rate: one completion with the outcome ``not_eligible`` per application, however often
the page is shown; a later submission of the same application adds its own completion."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ecitizen.cases import services
from ecitizen.cases.models import Draft, ServiceUsage
from ecitizen.cases.services.drafts import draft_reach_ineligible

from .support import SHED_ANSWERS, pdf_file

pytestmark = pytest.mark.django_db


def _completions(draft_id):
    return list(
        ServiceUsage.objects.filter(draft_id=draft_id, kind=ServiceUsage.Kind.COMPLETED)
        .order_by("pk")
        .values_list("outcome", "channel")
    )


def _ineligible_url(client, service):
    start = client.get(reverse("cases:apply_start", args=[service.slug]))
    question = client.post(start["Location"], {"answer": "no"})
    return question["Location"]


def test_the_ineligible_page_records_one_completion_however_often_it_is_shown(
    client, shed, resident
):
    client.force_login(resident)
    url = _ineligible_url(client, shed)
    assert "/cannot-apply/owns_property/" in url
    for _reload in range(3):
        page = client.get(url)
        assert page.status_code == 200
        assert "Only the owner of a property can apply." in page.content.decode()
    draft = Draft.objects.get()
    assert _completions(draft.pk) == [("not_eligible", "online")]
    # The start was recorded as usual: one journey, started and completed.
    assert ServiceUsage.objects.filter(draft_id=draft.pk, kind="started").count() == 1


def test_an_eligible_answer_does_not_reach_the_end_page(client, shed, resident):
    client.force_login(resident)
    start = client.get(reverse("cases:apply_start", args=[shed.slug]))
    next_page = client.post(start["Location"], {"answer": "yes"})["Location"]
    draft = Draft.objects.get()
    # Typing the address of the end page leads back into the journey, recording nothing.
    response = client.get(reverse("cases:ineligible", args=[draft.pk, "owns_property"]))
    assert response.status_code == 302
    assert response["Location"] == next_page
    assert _completions(draft.pk) == []
    # An eligibility question the service does not have is not a page at all.
    missing = client.get(reverse("cases:ineligible", args=[draft.pk, "no_such_question"]))
    assert missing.status_code == 404


def test_a_later_submission_adds_its_own_completion(client, shed, resident):
    client.force_login(resident)
    url = _ineligible_url(client, shed)
    client.get(url)
    draft = Draft.objects.get()
    # The applicant goes back, changes the answer and sends the application after all.
    draft = services.draft_save_answers(draft=draft, values=SHED_ANSWERS, actor=resident)
    draft = services.draft_save_answers(
        draft=draft, values={}, files={"plan_files": [pdf_file()]}, actor=resident
    )
    services.draft_submit(draft=draft, actor=resident)
    assert _completions(draft.pk) == [("not_eligible", "online"), ("", "online")]
    # A sent application's end page is its confirmation: the old address leads there.
    again = client.get(url)
    assert again.status_code == 302
    assert _completions(draft.pk) == [("not_eligible", "online"), ("", "online")]


def test_the_service_refuses_what_is_not_an_ineligible_end(shed, resident):
    draft = services.draft_start(service=shed, applicant=resident, actor=resident)
    with pytest.raises(services.CaseError) as unanswered:
        draft_reach_ineligible(draft=draft, question_id="owns_property")
    assert unanswered.value.code == "not_ineligible"
    draft = services.draft_save_answers(
        draft=draft, values={"owns_property": False}, actor=resident
    )
    with pytest.raises(services.CaseError) as unknown:
        draft_reach_ineligible(draft=draft, question_id="lives_in_riverton")
    assert unknown.value.code == "not_ineligible"
    assert draft_reach_ineligible(draft=draft, question_id="owns_property") is True
    assert draft_reach_ineligible(draft=draft, question_id="owns_property") is False
    services.draft_discard(draft=draft, actor=resident)
    with pytest.raises(services.CaseError) as closed:
        draft_reach_ineligible(draft=draft, question_id="owns_property")
    assert closed.value.code == "closed"
    assert _completions(draft.pk) == [("not_eligible", "online")]


def test_an_assisted_application_records_its_channel(shed, resident, helper):
    draft = services.draft_start(
        service=shed,
        applicant=resident,
        actor=helper,
        channel="assisted",
        consent_statement="The resident agreed on the phone.",
    )
    draft = services.draft_save_answers(draft=draft, values={"owns_property": False}, actor=helper)
    draft_reach_ineligible(draft=draft, question_id="owns_property")
    assert _completions(draft.pk) == [("not_eligible", "assisted")]
