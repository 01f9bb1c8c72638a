"""The workflow engine and submission: rules from the definition, exactly-once
submission, locking, audit and notifications."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.storage import default_storage

from ecitizen.cases import services
from ecitizen.cases.models import Case, CaseEvent, Draft, ServiceUsage
from ecitizen.core.errors import PermissionDenied
from ecitizen.core.models import AuditEvent
from ecitizen.notifications.models import Notification

from .support import SHED_ANSWERS, pay_fee, submit_shed


def test_a_service_defined_only_by_a_file_goes_end_to_end(
    garden, resident, works_officer, django_capture_on_commit_callbacks
):
    draft = services.draft_start(service=garden, applicant=resident, actor=resident)
    draft = services.draft_save_answers(
        draft=draft,
        values={"lives_in_riverton": True, "bin_count": 3, "collection_address": "1 Mill Lane"},
        actor=resident,
    )
    case = services.draft_submit(draft=draft, actor=resident)
    assert case.reference.startswith("RIV-GWC-")
    assert case.fee_amount == Decimal("135.00")  # 3 bins at 45.00
    assert case.state == "submitted"
    # The fee is due on applying: the case waits for it, then moves on by itself.
    assert case.payment_status == "due"
    assert case.due_date is None
    assert services.actions_for(works_officer, case) == []
    with pytest.raises(services.CaseError, match="not paid the fee"):
        services.case_transition(case=case, action_id="approve", actor=works_officer)
    # Once the payment commits, its BillPaid event moves the case on (a worker's task).
    with django_capture_on_commit_callbacks(execute=True):
        case = pay_fee(case)
    assert case.payment_status == "due"
    case.refresh_from_db()
    assert case.payment_status == "paid"
    assert case.due_date is not None
    case = services.case_transition(case=case, action_id="approve", actor=works_officer)
    assert case.outcome == "approved"
    assert case.decided_at is not None
    assert Notification.objects.filter(recipient=resident, event="case_approved").exists()
    kinds = set(ServiceUsage.objects.filter(service=garden).values_list("kind", flat=True))
    assert kinds == {"started", "completed", "decided"}


def test_references_count_up_per_service_and_year(shed, resident, second_resident):
    first = submit_shed(shed, resident)
    second = submit_shed(shed, second_resident)
    year = first.submitted_at.year
    assert first.reference == f"RIV-SP-{year}-000001"
    assert second.reference == f"RIV-SP-{year}-000002"


def test_submitting_twice_makes_one_case(shed, resident):
    case = submit_shed(shed, resident)
    draft = Draft.objects.get(case=case)
    again = services.draft_submit(draft=draft, actor=resident)
    assert again.pk == case.pk
    assert Case.objects.count() == 1
    assert AuditEvent.objects.filter(action="cases.submitted").count() == 1


def test_an_incomplete_or_ineligible_draft_is_refused(shed, resident):
    draft = services.draft_start(service=shed, applicant=resident, actor=resident)
    services.draft_save_answers(draft=draft, values={"owns_property": True}, actor=resident)
    with pytest.raises(services.CaseError, match="Answer all the questions"):
        services.draft_submit(draft=draft, actor=resident)
    services.draft_save_answers(
        draft=draft, values={**SHED_ANSWERS, "owns_property": False}, actor=resident
    )
    with pytest.raises(services.CaseError, match="whether you can use this service"):
        services.draft_submit(draft=draft, actor=resident)
    assert Case.objects.count() == 0


def test_hidden_answers_are_dropped_at_submission(shed, resident):
    case = submit_shed(shed, resident, answers={**SHED_ANSWERS, "material": "metal"})
    assert "treated" not in case.answers  # the wood page is not shown for metal
    assert case.fee_amount == Decimal("60.00")


def test_starting_again_resumes_the_open_draft(shed, resident):
    first = services.draft_start(service=shed, applicant=resident, actor=resident)
    second = services.draft_start(service=shed, applicant=resident, actor=resident)
    assert first.pk == second.pk


def test_the_workflow_refuses_what_the_definition_does_not_allow(
    shed, resident, works_officer, works_supervisor, case_officer
):
    case = submit_shed(shed, resident)
    # Not an action from "submitted".
    with pytest.raises(services.CaseError, match="no longer possible"):
        services.case_transition(case=case, action_id="approve", actor=works_supervisor)
    # An officer of another department.
    with pytest.raises(PermissionDenied):
        services.case_transition(case=case, action_id="start_review", actor=case_officer)
    # The applicant cannot take an official's action.
    with pytest.raises(PermissionDenied):
        services.case_transition(case=case, action_id="start_review", actor=resident)
    case = services.case_transition(case=case, action_id="start_review", actor=works_officer)
    assert case.assigned_to == works_officer  # assign_to_actor
    # A reason is required to ask for information.
    with pytest.raises(services.CaseError, match="Enter a reason"):
        services.case_transition(case=case, action_id="request_info", actor=works_officer)
    case.refresh_from_db()
    assert case.state == "first_review"


def test_the_information_loop_and_a_second_stage(shed, resident, works_officer, works_supervisor):
    case = submit_shed(shed, resident)
    case = services.case_transition(case=case, action_id="start_review", actor=works_officer)
    case = services.case_transition(
        case=case,
        action_id="request_info",
        actor=works_officer,
        given=services.ActionInput(text="Send a site plan, please."),
    )
    assert case.state == "info_needed"
    assert [a["id"] for a in services.actions_for(resident, case)] == ["reply", "withdraw"]
    from .support import pdf_file

    case = services.case_transition(
        case=case,
        action_id="reply",
        actor=resident,
        given=services.ActionInput(text="Here it is.", files=[pdf_file("site.pdf")]),
    )
    assert case.state == "first_review"
    assert case.files.filter(event__isnull=False).count() == 1
    case = services.case_transition(case=case, action_id="pass_first", actor=works_officer)
    # Only a supervisor approves in the second stage.
    assert "approve" not in [a["id"] for a in services.actions_for(works_officer, case)]
    case = services.case_transition(case=case, action_id="approve", actor=works_supervisor)
    assert case.outcome == "approved"
    assert Notification.objects.filter(
        recipient=resident, event="case_information_requested"
    ).exists()
    history = list(case.events.values_list("kind", "action"))
    assert history[0] == (CaseEvent.Kind.SUBMITTED, "")
    assert ("action", "approve") in history


def test_every_transition_is_audited(shed, resident, works_officer):
    case = submit_shed(shed, resident)
    services.case_transition(case=case, action_id="start_review", actor=works_officer)
    event = AuditEvent.objects.filter(action="cases.transition").get()
    assert event.changes["state"] == {"before": "submitted", "after": "first_review"}
    assert event.subject_user_id == resident.pk


def test_the_applicant_can_withdraw(shed, resident):
    case = submit_shed(shed, resident)
    case = services.case_transition(case=case, action_id="withdraw", actor=resident)
    assert case.outcome == "withdrawn"
    assert services.actions_for(resident, case) == []


def test_uploads_are_ciphertext_on_storage(shed, resident):
    case = submit_shed(shed, resident)
    upload = case.files.get().upload
    with default_storage.open(upload.storage_name, "rb") as stored:
        raw = stored.read()
    assert b"SECRET-PLAN-MARKER" not in raw
    assert not raw.startswith(b"%PDF")


def test_notes_are_internal_and_messages_reach_the_applicant(shed, resident, works_officer):
    case = submit_shed(shed, resident)
    services.case_note_add(case=case, text="Neighbour complained before.", actor=works_officer)
    services.case_message_send(case=case, text="We will visit on Tuesday.", actor=works_officer)
    visible = list(case.events.filter(visible_to_applicant=True).values_list("kind", flat=True))
    assert "note" not in visible
    assert "message" in visible
    assert Notification.objects.filter(recipient=resident, event="case_message").exists()


def test_assignment_rules(shed, resident, works_officer, works_supervisor, works):
    from ecitizen.accounts.models import Role
    from tests.personas import _official

    other_officer = _official(Role.CASE_OFFICER, works, email="other.works@example.test")
    case = submit_shed(shed, resident)
    case = services.case_assign(case=case, assignee=works_officer, actor=works_officer)
    with pytest.raises(services.CaseError, match="already assigned"):
        services.case_assign(case=case, assignee=other_officer, actor=other_officer)
    with pytest.raises(PermissionDenied):
        services.case_assign(case=case, assignee=works_officer, actor=other_officer)
    case = services.case_assign(case=case, assignee=other_officer, actor=works_supervisor)
    assert case.assigned_to == other_officer


def test_drafts_are_reminded_then_expire(shed, resident, settings):
    import time_machine
    from django.utils import timezone

    with time_machine.travel("2026-10-01 10:00 +00:00", tick=False):
        draft = services.draft_start(service=shed, applicant=resident, actor=resident)
        services.draft_save_answers(draft=draft, values={"owns_property": True}, actor=resident)
    with time_machine.travel("2026-10-25 10:00 +00:00", tick=False):
        assert services.drafts_expire(now=timezone.now()) == (1, 0)
        assert services.drafts_expire(now=timezone.now()) == (0, 0)
    with time_machine.travel("2026-11-01 10:00 +00:00", tick=False):
        assert services.drafts_expire(now=timezone.now()) == (0, 1)
    draft.refresh_from_db()
    assert draft.status == Draft.Status.EXPIRED
    assert draft.answers == {}
    assert ServiceUsage.objects.filter(kind="abandoned", draft_id=draft.pk).exists()
    assert Notification.objects.filter(recipient=resident, event="draft_expiring").exists()


def test_the_hourly_tick_is_idempotent(shed, resident):
    from io import StringIO

    from django.core.management import call_command

    submit_shed(shed, resident)
    first, second = StringIO(), StringIO()
    call_command("cases", "tick", stdout=first)
    call_command("cases", "tick", stdout=second)
    assert second.getvalue().strip() == (
        "drafts reminded: 0, drafts expired: 0, cases escalated: 0"
    )


def test_the_rating_page_shows_the_satisfaction_question_only_to_the_applicant(
    client, shed, resident, second_resident
):
    from django.urls import reverse

    case = submit_shed(shed, resident)
    url = reverse("cases:rate", args=[case.reference])
    client.force_login(resident)
    page = client.get(url).content.decode()
    assert "How satisfied were you with this service?" in page
    # Ratings are the feedback app's: this page takes no answer of its own.
    assert client.post(url, {"score": "4"}).status_code == 405
    client.force_login(second_resident)
    assert client.get(url).status_code == 404
