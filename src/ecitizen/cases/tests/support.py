"""Helpers that drive the case services the way the pages do."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from ecitizen.cases import services
from ecitizen.cases.models import Case

PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>"
    b"endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def pdf_file(name: str = "plans.pdf", marker: bytes = b"SECRET-PLAN-MARKER") -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name, PDF_BYTES + b"%" + marker + b"\n", content_type="application/pdf"
    )


SHED_ANSWERS: dict[str, Any] = {
    "owns_property": True,
    "shed_value": "1500.00",
    "material": "wood",
    "treated": True,
    "applicant_name": "Alex Morgan",
}


#: A complete residents' parking permit application, but for the proof of address.
PARKING_ANSWERS: dict[str, Any] = {
    "zone": "B",
    "home_address": "12 Mill Lane\nRiverton",
    "vehicle_registration": "AB12 CDE",
    "vehicle_make": "Ford Fiesta",
    "keeper": "me",
}


def draft_with(service, applicant, answers):
    """An application started online and saved with ``answers``."""
    draft = services.draft_start(service=service, applicant=applicant, actor=applicant)
    return services.draft_save_answers(draft=draft, values=answers, actor=applicant)


def submit_shed(service, applicant, *, actor=None, answers=None) -> Case:
    """A complete shed-permit application, sent."""
    actor = actor or applicant
    draft = services.draft_start(service=service, applicant=applicant, actor=actor)
    draft = services.draft_save_answers(draft=draft, values=answers or SHED_ANSWERS, actor=actor)
    draft = services.draft_save_answers(
        draft=draft, values={}, files={"plan_files": [pdf_file()]}, actor=actor
    )
    return services.draft_submit(draft=draft, actor=actor)


def pay_fee(case):
    """Pay the case's fee at the cash desk (as an online payment would settle it)."""
    from ecitizen.payments.models import Bill
    from ecitizen.payments.services import payment_record_offline

    bill = Bill.objects.get(reference=case.bill_reference)
    payment_record_offline(bill=bill, amount_minor=bill.balance_minor)
    case.refresh_from_db()
    return case
