"""Background work of the cases app."""

from __future__ import annotations

from django_tasks import task

from ecitizen.cases.models import Case


@task()
def issue_case_document(case_id: int) -> None:
    """Issue the document a case has earned (enqueued when the decision commits; a
    failure is retried by running the task again, which is idempotent)."""
    from ecitizen.cases.services import case_document_issue

    case = Case.objects.filter(pk=case_id).first()
    if case is not None:
        case_document_issue(case=case)
