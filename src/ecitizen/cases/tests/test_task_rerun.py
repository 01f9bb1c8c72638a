"""A case's document task run again (its worker died after the work was done, before the
task was recorded, so a live worker requeued it): still one document, one notice."""

from __future__ import annotations

from ecitizen.cases import services
from ecitizen.cases.models import CaseEvent
from ecitizen.cases.tasks import issue_case_document
from ecitizen.documents.models import IssuedDocument
from ecitizen.notifications.models import Notification

from .support import pay_fee, submit_shed


def test_issuing_a_case_document_again_issues_nothing_more(
    shed, resident, works_officer, works_supervisor, django_capture_on_commit_callbacks
):
    case = submit_shed(shed, resident)
    case = services.case_transition(case=case, action_id="start_review", actor=works_officer)
    case = services.case_transition(case=case, action_id="pass_first", actor=works_officer)
    case = services.case_transition(case=case, action_id="approve", actor=works_supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        case = pay_fee(case)
    assert IssuedDocument.objects.filter(reference=case.reference).count() == 1

    issue_case_document.call(case.pk)
    issue_case_document.call(case.pk)

    assert IssuedDocument.objects.filter(reference=case.reference).count() == 1
    assert case.events.filter(kind=CaseEvent.Kind.DOCUMENT).count() == 1
    notices = Notification.objects.filter(recipient=resident, event="document_issued")
    assert sorted(notices.values_list("channel", flat=True)) == ["email", "inbox"]
