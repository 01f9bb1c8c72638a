"""Erasure and retention of applications (ADR 0023, ``docs/data-protection.md``).

On erasure of a resident: their applications in progress are deleted with their files;
their submitted applications (cases) keep their record (reference, service, department,
state, outcome, dates, fee) and lose what they said and sent: the answers, the text of
every message and note of the case history, the files, and the comment of their rating;
requests for someone to apply for them, or that they made as a helper, are deleted.

Officials' notes, messages and files go too, deliberately: free text written about a
person names them ("Ms Morgan's shed is…"), and no filter can tell which words identify
them, so keeping it would break the promise that the resident's name is nowhere after
erasure. What the authority must be able to show stays — the record of each step (who
acted, in which role, from which state to which, when), the decision, the issued
documents, the bills and the audit trail — and a data-protection officer who must keep a
case file whole (litigation, an open appeal) refuses the request instead.

Retention rules: applications never submitted are deleted ``expired_drafts`` days after
they expired or were deleted (their answers and files went already then); decided cases
lose their answers, messages and files ``closed_cases`` days after the decision.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ecitizen.cases.models import AssistConsent, Case, CaseEvent, CaseFile, Draft, ServiceRating
from ecitizen.cases.services.drafts import _draft_files_delete
from ecitizen.core.registry import ErasedPart, Erasure
from ecitizen.core.services import audit_record
from ecitizen.documents.services import upload_delete

NAME = "cases"


def _case_strip(case: Case, actor: Any) -> None:
    """Remove what the applicant said and sent from ``case`` (its record stays)."""
    Case.objects.filter(pk=case.pk).update(answers_json=None)
    CaseEvent.objects.filter(case=case, text__isnull=False).update(text=None)
    ServiceRating.objects.filter(case=case, comment__isnull=False).update(comment=None)
    files = list(CaseFile.objects.filter(case=case).select_related("upload"))
    CaseFile.objects.filter(pk__in=[item.pk for item in files]).delete()
    for item in files:
        upload_delete(upload=item.upload, actor=actor)


def _with_content() -> Q:
    """Cases that still hold something of what the applicant said or sent."""
    return Q(
        Q(answers_json__isnull=False)
        | Exists(CaseEvent.objects.filter(case=OuterRef("pk"), text__isnull=False))
        | Exists(CaseFile.objects.filter(case=OuterRef("pk")))
        | Exists(ServiceRating.objects.filter(case=OuterRef("pk"), comment__isnull=False))
    )


def _run(user: Any, actor: Any, *, apply: bool) -> Erasure:
    drafts = Draft.objects.filter(applicant=user).exclude(status=Draft.Status.SUBMITTED)
    cases = Case.objects.filter(applicant=user)
    consents = AssistConsent.objects.filter(Q(resident=user) | Q(helper=user))
    counts = {
        "drafts": drafts.count(),
        "cases": cases.filter(_with_content()).count(),
        "files": CaseFile.objects.filter(case__applicant=user).count(),
        "consents": consents.count(),
        "kept": cases.count(),
    }
    if apply:
        consents.delete()
        for draft in list(drafts):
            _draft_files_delete(draft, actor=actor)
            draft.delete()
        # A submitted draft is the case's own first copy: its answers go too.
        Draft.objects.filter(applicant=user, status=Draft.Status.SUBMITTED).update(
            answers_json=None
        )
        for case in cases:
            _case_strip(case, actor)
        audit_record(
            action="cases.erased",
            actor=actor,
            object_type="accounts.user",
            object_id=str(user.pk),
            subject_user_id=user.pk,
            changes={name: count for name, count in counts.items() if count},
        )
    return Erasure(
        name=NAME,
        erased=(
            ErasedPart(_("Applications you had not sent"), counts["drafts"]),
            ErasedPart(
                _("Your answers and messages in the applications you sent"), counts["cases"]
            ),
            ErasedPart(_("Files you sent with your applications"), counts["files"]),
            ErasedPart(_("Consents for someone to apply for you"), counts["consents"]),
        ),
        kept=(
            ErasedPart(
                _("The record of each application you sent: reference, service, dates, decision"),
                counts["kept"],
                _(
                    "We must be able to show what we decided and when (public task), and "
                    "bills and issued documents refer to it. It holds no answer, message or "
                    "file of yours."
                ),
            ),
        ),
    )


def erase(user: Any, actor: Any) -> Erasure:
    """Erase ``user``'s applications (see the module's docstring)."""
    with transaction.atomic():
        return _run(user, actor, apply=True)


def plan(user: Any) -> Erasure:
    return _run(user, None, apply=False)


# --- Retention -------------------------------------------------------------------------------


def _period(key: str) -> timedelta:
    return timedelta(days=settings.RETENTION_PERIODS[key])


def _old_drafts(now: datetime) -> QuerySet[Draft]:
    return Draft.objects.filter(
        status__in=[Draft.Status.EXPIRED, Draft.Status.DISCARDED],
        updated_at__lt=now - _period("expired_drafts"),
    )


def drafts_plan(now: datetime) -> int:
    """How many expired or deleted applications are past ``expired_drafts``."""
    return _old_drafts(now).count()


@transaction.atomic
def drafts_apply(now: datetime) -> int:
    """Delete them (and any file left); returns how many."""
    done = 0
    for draft in _old_drafts(now).select_for_update():
        _draft_files_delete(draft, actor=None)
        draft.delete()
        done += 1
    return done


def _old_cases(now: datetime) -> QuerySet[Case]:
    return Case.objects.filter(decided_at__lt=now - _period("closed_cases")).filter(_with_content())


def closed_cases_plan(now: datetime) -> int:
    """How many cases decided more than ``closed_cases`` days ago still hold answers,
    messages or files."""
    return _old_cases(now).count()


@transaction.atomic
def closed_cases_apply(now: datetime) -> int:
    """Remove their answers, messages and files (the records stay); returns how many."""
    done = 0
    for case in _old_cases(now).select_for_update():
        _case_strip(case, None)
        Draft.objects.filter(case=case).update(answers_json=None)
        audit_record(action="cases.retention_applied", obj=case, subject_user_id=case.applicant_id)
        done += 1
    return done
