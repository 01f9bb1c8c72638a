"""The satisfaction question on other apps' confirmation pages.

Each confirmation page names a slot (``{% panels "cases.submitted" %}``) and this app
fills it (``FeedbackConfig.ready``) with ``feedback/panels/satisfaction.html``. The
functions here read the page's own context (the case, the payment, the report, the
documents the page shows) and say which transaction it confirms; the pages' apps never
import this one. A function returns no ``feedback`` when the page confirms nothing that
can be rated (a payment not received yet, a report waiting for its email address).

Reading objects of other apps here means only reading the attributes the page already
holds, duck-typed: no other app's model is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from django.http import Http404
from django.utils import timezone

from ecitizen.cases.selectors import case_defined_with, case_get_for_user
from ecitizen.feedback.forms import RatingForm
from ecitizen.feedback.models import Step
from ecitizen.feedback.selectors import complaint_about, complaint_for_case, rating_exists
from ecitizen.feedback.services import EXTENSION, Completed, rating_token

#: The slots this app fills, and what each confirms.
SLOT_CASE = "cases.submitted"
SLOT_PAYMENT = "payments.paid"
SLOT_REPORT = "reports.sent"
SLOT_DOCUMENTS = "documents.list"
#: The staff case page: what a complaint is about, and its statutory deadlines.
SLOT_STAFF_CASE = "cases.staff_case"
#: The "Your documents" page asks about a document issued in the last this many days.
DOCUMENT_RECENT_DAYS = 30


@dataclass(frozen=True)
class SatisfactionPanel:
    """What ``feedback/panels/satisfaction.html`` shows: the form, or thanks when the
    transaction was rated already."""

    token: str
    rated: bool
    form: RatingForm | None


def _panel(completed: Completed | None) -> Mapping[str, Any]:
    if completed is None:
        return {}
    rated = rating_exists(step=completed.step, reference=completed.reference)
    return {
        "feedback": SatisfactionPanel(
            token=rating_token(completed),
            rated=rated,
            form=None if rated else RatingForm(initial={"token": rating_token(completed)}),
        )
    }


def case_completed(case: Any) -> Completed | None:
    """An application sent (a case of the catalogue)."""
    if case is None or not getattr(case, "reference", ""):
        return None
    return Completed(
        step=Step.APPLICATION,
        reference=case.reference,
        service_key=case.service.slug,
        service_id=case.service_id,
        department_id=case.department_id,
    )


def payment_completed(payment: Any, bill: Any) -> Completed | None:
    """A payment received (``payments.paid``): rated per bill kind (a fine, a fee)."""
    if payment is None or bill is None or getattr(payment, "state", "") != "success":
        return None
    return Completed(
        step=Step.PAYMENT,
        reference=str(payment.pk),
        service_key=f"payments.{bill.kind}",
        department_id=bill.department_id,
    )


def report_completed(report: Any) -> Completed | None:
    """A street report sent (its case opened: a report waiting for its email address
    to be confirmed is not sent yet)."""
    case = getattr(report, "case", None)
    if case is None or not getattr(report, "reference", ""):
        return None
    return Completed(
        step=Step.REPORT,
        reference=report.reference,
        service_key=case.service.slug,
        service_id=case.service_id,
        department_id=case.department_id,
    )


def document_completed(document: Any, user: Any = None) -> Completed:
    """A document issued: a licence, permit or certificate. Rated as its service's when
    it was issued for one of ``user``'s applications (its reference is the case's),
    else as a document of its department."""
    case = None
    if getattr(user, "is_authenticated", False):
        try:
            case = case_get_for_user(user=user, reference=document.reference)
        except Http404:
            case = None
    return Completed(
        step=Step.DOCUMENT,
        reference=document.code,
        service_key=case.service.slug if case is not None else f"documents.{document.template}",
        service_id=case.service_id if case is not None else None,
        department_id=case.department_id if case is not None else document.department_id,
    )


def case_panel(context: Any) -> Mapping[str, Any]:
    """``cases.submitted``: the page of an application just sent (``case``)."""
    return _panel(case_completed(context.get("case")))


def payment_panel(context: Any) -> Mapping[str, Any]:
    """``payments.paid``: the page a payer returns to (``payment`` and ``bill``)."""
    return _panel(payment_completed(context.get("payment"), context.get("bill")))


def report_panel(context: Any) -> Mapping[str, Any]:
    """``reports.sent``: the page of a street report just sent: the report itself
    (``report``, once its emailed link is followed), or what the "report sent" page of a
    signed-in reporter keeps (``result``: its reference, and whether it was sent), whose
    case is the reporter's own."""
    report = context.get("report")
    if report is not None:
        return _panel(report_completed(report))
    result = context.get("result") or {}
    user = getattr(context.get("request"), "user", None)
    if not result.get("confirmed") or not result.get("reference"):
        return {}
    if not getattr(user, "is_authenticated", False):
        return {}
    try:
        case = case_get_for_user(user=user, reference=result["reference"])
    except Http404:
        return {}
    return _panel(report_completed(SimpleNamespace(reference=case.reference, case=case)))


def documents_panel(context: Any) -> Mapping[str, Any]:
    """``documents.list``: "Your documents" (``documents``: pairs of a document and its
    status) asks about the newest licence, permit or certificate issued in the last
    :data:`DOCUMENT_RECENT_DAYS` days that is not revoked, until it is rated (then the
    page shows nothing more). Receipts of payments are not asked about: the payment
    was."""
    since = timezone.now() - timedelta(days=DOCUMENT_RECENT_DAYS)
    recent = [
        document
        for document, _status in context.get("documents") or []
        if getattr(document, "remit", "") == "casework"
        and document.revoked_at is None
        and document.issued_at >= since
    ]
    if not recent:
        return {}
    newest = max(recent, key=lambda document: document.issued_at)
    request = context.get("request")
    found = _panel(document_completed(newest, getattr(request, "user", None)))
    if found["feedback"].rated:
        return {}
    return {**found, "feedback_document": newest}


def staff_case_panel(context: Any) -> Mapping[str, Any]:
    """``cases.staff_case``: on a complaint's case, what it is about (chosen on this
    app's form, so not among the case's answers) and where its stages stand against
    their deadlines. Nothing on other cases: a case opened under a definition without the
    complaint block is not looked up. The page's view has already checked that the
    official may work the case."""
    case = context.get("case")
    if case is None or not case_defined_with(case, EXTENSION):
        return {}
    complaint = complaint_for_case(case_id=case.pk)
    if complaint is None:
        return {}
    return {"complaint": complaint, "complaint_about": complaint_about(complaint)}
