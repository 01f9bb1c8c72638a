"""What the cases app holds about a resident, for their data rights (the ``privacy``
app): their applications (answers decrypted, history they can see, files), applications in
progress, ratings of applying and consents to be helped. Registered as ``cases`` in
``CasesConfig.ready()``."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import PersonalData

NAME = "cases"


def _file_entry(upload: Any, folder: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The item's reference to a file and the file entry for the download."""
    from ecitizen.documents.services import upload_read

    path = f"files/cases/{folder}/{upload.pk}-{upload.filename}"
    described = {
        "path": path,
        "file_name": upload.filename,
        "content_type": upload.content_type,
        "size": upload.size,
        "uploaded_at": upload.created_at,
    }
    entry = {
        "path": path,
        "content_type": upload.content_type,
        "read": partial(upload_read, upload=upload),
    }
    return described, entry


def export(user: Any) -> dict[str, Any]:
    """The applications of which ``user`` is the applicant (not those they made for
    someone else as a helper), with what they may see of them: answers, the history shown
    to the applicant (never internal notes), the files visible to them; their drafts; the
    ratings of their applications; the consents they gave to be helped."""
    from ecitizen.cases.models import AssistConsent, Case, Draft, ServiceRating
    from ecitizen.catalogue.spec import ServiceSpec

    items: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    cases = (
        Case.objects.filter(applicant=user)
        .select_related("service_version", "department")
        .prefetch_related("events", "files__upload")
        .order_by("submitted_at", "pk")
    )
    for case in cases:
        spec = ServiceSpec(case.service_version.definition)
        case_files = []
        for case_file in case.files.all():
            if not case_file.visible_to_applicant:
                continue
            described, entry = _file_entry(case_file.upload, case.reference)
            described["question"] = case_file.question
            case_files.append(described)
            files.append(entry)
        items.append(
            {
                "kind": "application",
                "reference": case.reference,
                "service": spec.title(),
                "department": case.department.name,
                "channel": case.channel,
                "submitted_at": case.submitted_at,
                "state": spec.state_label(case.state),
                "outcome": case.outcome,
                "decided_at": case.decided_at,
                "answers": case.answers,
                "consent_statement": case.consent_statement,
                "fee": (
                    {"amount": case.fee_amount, "currency": case.fee_currency}
                    if case.fee_amount is not None
                    else None
                ),
                "payment_status": case.payment_status,
                "bill_reference": case.bill_reference,
                "history": [
                    {
                        "at": event.created_at,
                        "kind": event.kind,
                        "action": event.action,
                        "to_state": spec.state_label(event.to_state) if event.to_state else "",
                        "message": event.text or "",
                    }
                    for event in case.events.all()
                    if event.visible_to_applicant and event.kind != "note"
                ],
                "files": case_files,
            }
        )
    drafts = (
        Draft.objects.filter(applicant=user, status=Draft.Status.OPEN)
        .select_related("service_version")
        .prefetch_related("files__upload")
        .order_by("created_at")
    )
    for draft in drafts:
        spec = ServiceSpec(draft.service_version.definition)
        draft_files = []
        for draft_file in draft.files.all():
            described, entry = _file_entry(draft_file.upload, f"draft-{draft.pk}")
            described["question"] = draft_file.question
            draft_files.append(described)
            files.append(entry)
        items.append(
            {
                "kind": "application_in_progress",
                "id": draft.pk,
                "service": spec.title(),
                "started_at": draft.created_at,
                "updated_at": draft.updated_at,
                "expires_at": draft.expires_at,
                "answers": draft.answers,
                "files": draft_files,
            }
        )
    for rating in ServiceRating.objects.filter(case__applicant=user).select_related("case"):
        items.append(
            {
                "kind": "rating",
                "reference": rating.case.reference,
                "score": rating.score,
                "comment": rating.comment or "",
                "at": rating.created_at,
            }
        )
    consents = AssistConsent.objects.filter(resident=user, granted_at__isnull=False)
    for consent in consents.select_related("service").order_by("granted_at"):
        items.append(
            {
                "kind": "consent_to_be_helped",
                "service": consent.service.slug,
                "channel": consent.channel,
                "method": consent.method,
                "given_at": consent.granted_at,
            }
        )
    return {"items": items, "files": files}


PERSONAL_DATA = PersonalData(
    name=NAME,
    label=_("Your applications"),
    purpose=_("To provide the services you apply for and decide on your applications."),
    lawful_basis="public_task",
    categories=(
        _("Answers to the questions of each service"),
        _("Files you upload"),
        _("Messages between you and the officials working on your application"),
        _("Decisions and their reasons"),
    ),
    recipients=_(
        "Officials of the department that provides the service, within their ward; helpers "
        "you allowed to apply for you."
    ),
    retention=_(
        "Applications in progress: until they expire. Decided applications: as long as the "
        "law on each service requires, then erased or anonymised."
    ),
    export=export,
    order=20,
)
