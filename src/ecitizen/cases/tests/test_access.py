"""Who can see a case, its files and its issued document: everyone else gets 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ecitizen.accounts.models import Role
from ecitizen.cases import services
from ecitizen.documents.models import IssuedDocument
from tests.personas import _official, sign_in_official

from .support import pay_fee, submit_shed


@pytest.fixture
def decided_case(
    shed, resident, works_officer, works_supervisor, django_capture_on_commit_callbacks
):
    case = submit_shed(shed, resident)
    case = services.case_transition(case=case, action_id="start_review", actor=works_officer)
    case = services.case_transition(case=case, action_id="pass_first", actor=works_officer)
    # The document is issued by a task once the decision commits.
    case = services.case_transition(case=case, action_id="approve", actor=works_supervisor)
    # The fee is due once approved; the document is issued when it is paid.
    assert case.payment_status == "due"
    with django_capture_on_commit_callbacks(execute=True):
        return pay_fee(case)


def _urls(case):
    file_id = case.files.get().pk
    document = IssuedDocument.objects.get(reference=case.reference)
    return {
        "case": reverse("cases:case_detail", args=[case.reference]),
        "upload": reverse("cases:case_file", args=[case.reference, file_id]),
        "document": reverse("documents:download", args=[document.code]),
        "staff case": reverse("staff:case_detail", args=[case.reference]),
        "staff upload": reverse("staff:case_file", args=[case.reference, file_id]),
    }


def test_the_applicant_sees_their_case_file_and_document(client, decided_case, resident):
    client.force_login(resident)
    urls = _urls(decided_case)
    for name in ("case", "upload", "document"):
        response = client.get(urls[name])
        assert response.status_code == 200, name
    assert client.get(urls["upload"])["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("who", ["second_resident", "outsider"])
def test_other_residents_get_404(client, decided_case, who, request):
    client.force_login(request.getfixturevalue(who))
    for name, url in _urls(decided_case).items():
        if name.startswith("staff"):
            continue
        assert client.get(url).status_code == 404, name


def test_an_officer_of_another_department_gets_404(client, decided_case, case_officer):
    sign_in_official(client, case_officer)
    for name, url in _urls(decided_case).items():
        assert client.get(url).status_code == 404, name


def test_a_helper_sees_only_the_cases_they_submitted(client, shed, resident, helper, decided_case):
    other_helper = _official(Role.INTERMEDIARY, None, email="helper2@example.test")
    draft = services.draft_start(
        service=shed,
        applicant=resident,
        actor=helper,
        channel="assisted",
        consent_statement="Agreed at the library.",
    )
    from .support import SHED_ANSWERS, pdf_file

    services.draft_save_answers(
        draft=draft, values=SHED_ANSWERS, files={"plan_files": [pdf_file()]}, actor=helper
    )
    assisted = services.draft_submit(draft=draft, actor=helper)
    assert assisted.channel == "assisted"
    assert assisted.submitted_by == helper
    sign_in_official(client, helper)
    assert client.get(reverse("cases:case_detail", args=[assisted.reference])).status_code == 200
    for name, url in _urls(decided_case).items():
        # Helpers are not officials: staff pages are forbidden to them outright.
        assert client.get(url).status_code == (403 if name.startswith("staff") else 404), name
    client.logout()
    sign_in_official(client, other_helper)
    assert client.get(reverse("cases:case_detail", args=[assisted.reference])).status_code == 404
    # The resident sees who applied and the consent they gave.
    client.logout()
    client.force_login(resident)
    page = client.get(reverse("cases:case_detail", args=[assisted.reference])).content.decode()
    assert "Agreed at the library." in page


def test_officials_see_internal_notes_residents_do_not(client, shed, resident, works_officer):
    case = submit_shed(shed, resident)
    services.case_note_add(case=case, text="Check the boundary line.", actor=works_officer)
    client.force_login(resident)
    assert (
        "Check the boundary line."
        not in client.get(reverse("cases:case_detail", args=[case.reference])).content.decode()
    )
    client.logout()
    sign_in_official(client, works_officer)
    assert (
        "Check the boundary line."
        in client.get(reverse("staff:case_detail", args=[case.reference])).content.decode()
    )


def test_officials_post_notes_and_messages_from_the_case_page(
    client, shed, resident, works_officer
):
    from ecitizen.cases.models import CaseEvent

    case = submit_shed(shed, resident)
    sign_in_official(client, works_officer)
    note_url = reverse("staff:case_note", args=[case.reference])
    empty = client.post(note_url, {"note-text": ""})
    assert empty.status_code == 400
    assert "Enter the note" in empty.content.decode()
    # A message that is too long comes back with its error and the text as typed.
    typed = "Please send the plans again. " * 200
    too_long = client.post(
        reverse("staff:case_message", args=[case.reference]), {"message-text": typed}
    )
    assert too_long.status_code == 400
    page = too_long.content.decode()
    assert "The message must be 5000 characters or fewer" in page
    assert typed.strip() in page
    assert not case.events.filter(kind="message").exists()
    client.post(note_url, {"note-text": "Called the applicant."})
    client.post(
        reverse("staff:case_message", args=[case.reference]), {"message-text": "Visit on Tuesday."}
    )
    kinds = dict(case.events.values_list("kind", "visible_to_applicant"))
    assert kinds[CaseEvent.Kind.NOTE] is False
    assert kinds[CaseEvent.Kind.MESSAGE] is True


def test_ward_limits_apply_per_role_assignment(client, shed, resident, works, ward):
    """An official limited to a ward in one department and unlimited in another sees
    only that ward's cases in the first (the pentest found every ward's, in both)."""
    from ecitizen.accounts import services as accounts
    from ecitizen.cases.selectors import QueueFilters, case_queue
    from tests.factories import DepartmentFactory, JurisdictionFactory

    elsewhere = JurisdictionFactory(code="northgate", name="Northgate")
    accounts.profile_update(user=resident, data={"ward": elsewhere}, actor=resident)
    resident.refresh_from_db()
    case = submit_shed(shed, resident)
    assert case.ward_id == elsewhere.pk
    revenue = DepartmentFactory(slug="revenue", name="Revenue")
    official = _official(Role.CASE_OFFICER, revenue, email="two.roles@example.test")
    accounts.role_assign(
        user=official,
        role=Role.CASE_OFFICER,
        department=works,
        jurisdiction=ward,
        actor=None,
        system=True,
    )
    assert not services.staff_may_work(official, case)
    assert case not in case_queue(user=official, filters=QueueFilters())
    sign_in_official(client, official)
    assert client.get(reverse("staff:case_detail", args=[case.reference])).status_code == 404
    # In their own ward the same official works Public Works cases.
    accounts.profile_update(user=resident, data={"ward": ward}, actor=resident)
    resident.refresh_from_db()
    in_ward = submit_shed(shed, resident)
    assert services.staff_may_work(official, in_ward)
    assert in_ward in case_queue(user=official, filters=QueueFilters())
