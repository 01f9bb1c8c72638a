"""Issued documents: signed PDFs (PAdES) that validate, QR codes that point at the
verification page, idempotent issuing, revocation and status."""

from __future__ import annotations

import datetime
import re

import pypdfium2 as pdfium
import pytest
import time_machine
import zxingcpp
from django.core.files.storage import default_storage
from django.utils import timezone
from pyhanko.sign.validation.status import SignatureCoverageLevel

from ecitizen.core.models import AuditEvent
from ecitizen.documents import render, selectors, services
from ecitizen.documents.models import IssuedDocument
from ecitizen.documents.tests.factories import PRINTED, issue
from ecitizen.documents.tests.signing_fixtures import signature_status
from ecitizen.notifications.models import Notification

pytestmark = pytest.mark.usefixtures("signing_certificate", "media_storage")

ISSUE_DAY = datetime.datetime(2026, 11, 3, 10, 0, tzinfo=datetime.UTC)


def pdf_text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        text = "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()
    return " ".join(text.split())  # lines wrap where the design wraps them


def qr_codes(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        image = document[0].render(scale=200 / 72).to_pil()
    finally:
        document.close()
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def test_issued_pdf_is_signed_and_the_signature_validates(resident, signing_certificate):
    document = issue(resident)
    pdf = selectors.document_pdf(document=document)
    assert pdf.startswith(b"%PDF")
    status = signature_status(pdf, signing_certificate)
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.bottom_line


def test_one_changed_byte_in_the_body_breaks_the_signature(resident, signing_certificate):
    pdf = bytearray(selectors.document_pdf(document=issue(resident)))
    # The document information dictionary, inside the signed byte range.
    position = pdf.index(b"Riverton")
    pdf[position] = ord("Q")
    # pyhanko reports a broken digest as a status, not an exception: any exception here is
    # a failure of the test, never a pass.
    status = signature_status(bytes(pdf), signing_certificate)
    assert not status.intact
    assert not status.bottom_line


def test_a_signature_is_not_trusted_by_someone_else_s_certificate(resident, tmp_path):
    from ecitizen.documents.tests.signing_fixtures import make_signing_pair

    other = tmp_path / "other"
    other.mkdir()
    _key, other_cert = make_signing_pair(other, common_name="Someone else")
    status = signature_status(selectors.document_pdf(document=issue(resident)), other_cert)
    assert status.intact  # the file is unchanged...
    assert not status.trusted  # ...but it was not signed by that authority
    assert not status.bottom_line


def test_qr_code_decodes_to_the_verification_address(resident, settings):
    settings.PUBLIC_BASE_URL = "https://services.riverton.example"
    document = issue(resident)
    expected = f"https://services.riverton.example/verify/{document.code}/"
    assert render.verification_url(document.code) == expected
    assert expected in qr_codes(selectors.document_pdf(document=document))


@pytest.mark.parametrize("template", render.DOCUMENT_TEMPLATES)
def test_every_design_prints_what_it_must(resident, template):
    document = issue(resident, template=template, reference=f"RIV-X-{template}")
    pdf = selectors.document_pdf(document=document)
    text = pdf_text(pdf)
    for expected in (
        "City of Riverton",
        "Building permit",
        "Alex Morgan",
        f"RIV-X-{template}",
        "12 Mill Lane, Riverton RV1 2AB",
        document.code_display,
        timezone.localdate(document.issued_at).strftime("%-d %B %Y"),
    ):
        assert expected in text, f"{expected!r} missing from {template}"
    assert document.valid_until.strftime("%-d %B %Y") in text
    assert render.verification_url(document.code) in qr_codes(pdf)
    rendered = pdfium.PdfDocument(pdf)
    assert len(rendered) == 1  # one page, footer included
    rendered.close()


def _render(template: str, *, code: str, language: str, **values) -> bytes:
    return render.render_pdf(
        template=template,
        code=code,
        title=values.get("title", "Building permit"),
        reference=values.get("reference", "RIV-1"),
        holder_name=values.get("holder", "Alex Morgan"),
        printed=values.get("printed", [("Site", "12 Mill Lane, Riverton RV1 2AB")]),
        issued_at=values.get("issued_at", ISSUE_DAY),
        valid_until=values.get("valid_until"),
        language=language,
    )


@pytest.mark.parametrize("template", render.DOCUMENT_TEMPLATES)
def test_a_designs_stylesheet_is_one_for_all_its_documents(template, monkeypatch):
    """The design's CSS is parsed once per process and text (render._design_stylesheet):
    it must hold nothing of a document, or each document would parse, and keep, its own.
    The two documents have no value in common."""
    parsed = render._design_stylesheet
    seen: list[str] = []

    def recording(css: str):
        seen.append(css)
        return parsed(css)

    monkeypatch.setattr(render, "_design_stylesheet", recording)
    _render(template, code="A" * 16, language="en")
    misses = parsed.cache_info().misses
    _render(
        template,
        code="B" * 16,
        language="ar",
        title="Street trading licence",
        reference="PCN-2027-000042",
        holder="Ada Lovelace",
        printed=[("Pitch", "Market Square 4"), ("Hours", "8:00 to 18:00")],
        issued_at=ISSUE_DAY + datetime.timedelta(days=400, hours=5),
        valid_until=datetime.date(2028, 2, 29),
    )
    assert len(seen) == 2, "the design's <style id=document-style> was not found"
    assert seen[0] == seen[1]
    assert parsed.cache_info().misses == misses  # the second document parsed nothing


@pytest.mark.parametrize(
    "css",
    [
        "@font-face { font-family: Brand; src: url(data:font/woff2;base64,AA==); }",
        "@page { size: A5; }",
        "@counter-style stars { system: cyclic; symbols: '*'; }",
        "@import url(data:text/css,p{color:red});",
        "p { color: red ! important; }",
    ],
)
def test_a_design_that_needs_its_page_stays_in_it(css):
    """CSS that WeasyPrint binds to the document it renders (fonts, counter styles,
    imports), or that would change the cascade outside the page (@page, !important), is
    not taken out: a deployer's own design keeps working as written."""
    page = f'<html><head><style id="document-style">{css}</style></head><body></body></html>'
    assert render.design_split(page) == (page, [])
    plain = '<html><head><style id="document-style">p { color: red; }</style></head></html>'
    html, stylesheets = render.design_split(plain)
    assert html == "<html><head></head></html>"
    assert len(stylesheets) == 1


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_page_number_is_apart_from_its_word(language):
    """The footer's "Page 1 / 1": in a right-to-left document an ordinary space before
    the number fell at the line's visual end and was dropped (word and number joined)."""
    from django.utils import translation

    with translation.override(language):
        word = translation.gettext("Page")
    text = pdf_text(_render("receipt", code="D" * 16, language=language))
    # pypdfium2 gives the right-to-left footer in its visual order.
    assert f"{word} 1 / 1" in text or f"1 / 1 {word}" in text


def test_the_design_stylesheet_is_applied(settings):
    """The brand band of a receipt is painted in the brand colour: the design's CSS, given
    to WeasyPrint apart from the page, still styles it."""
    settings.AUTHORITY_BRAND_COLOUR = "#7a1f5c"
    pdf = _render("receipt", code="C" * 16, language="en")
    document = pdfium.PdfDocument(pdf)
    try:
        image = document[0].render(scale=1).to_pil().convert("RGB")
    finally:
        document.close()
    # A4 at 72 dpi (2.835 points a millimetre); the band starts 16 mm in and 14 mm down.
    assert image.getpixel((round(20 * 2.835), round(16 * 2.835))) == (0x7A, 0x1F, 0x5C)


def test_issuing_records_everything_and_is_audited(resident):
    with time_machine.travel(ISSUE_DAY, tick=False):
        document = issue(resident, valid_for_days=30)
    assert re.fullmatch(f"[{services.CODE_ALPHABET}]{{16}}", document.code)
    assert document.owner == resident
    assert document.printed == [list(pair) for pair in PRINTED]
    assert document.printed_pairs() == PRINTED
    assert document.issued_at == ISSUE_DAY
    assert document.valid_until == datetime.date(2026, 12, 3)
    assert document.language == "en"
    assert document.pdf.owner == resident
    assert document.pdf.content_type == "application/pdf"
    assert document.pdf.filename == "building-permit-RIV-BP-2026-000123.pdf"
    assert document.pdf_sha256 == document.pdf.sha256
    with default_storage.open(document.pdf.storage_name, "rb") as handle:
        assert b"%PDF" not in handle.read()  # the PDF is encrypted at rest too
    event = AuditEvent.objects.get(action="documents.document_issued")
    assert event.subject_user_id == resident.pk
    assert event.changes["reference"] == "RIV-BP-2026-000123"
    assert document.code not in str(event.changes)


def test_issuing_twice_returns_the_current_document(resident):
    first = issue(resident)
    second = issue(resident, title="Something else")
    assert second.pk == first.pk
    assert IssuedDocument.objects.count() == 1
    assert AuditEvent.objects.filter(action="documents.document_issued").count() == 1
    other_template = issue(resident, template="certificate")
    assert other_template.pk != first.pk


def test_after_revocation_a_new_document_can_be_issued(resident, supervisor, department):
    first = issue(resident, department=department)
    services.document_revoke(document=first, reason="Issued with a wrong address", actor=supervisor)
    second = issue(resident, department=department)
    assert second.pk != first.pk
    assert second.code != first.code
    assert issue(resident, department=department).pk == second.pk


def test_no_expiry(resident):
    document = issue(resident, valid_for_days=None)
    assert document.valid_until is None
    with time_machine.travel(timezone.now() + datetime.timedelta(days=36500)):
        assert selectors.document_status(document) == selectors.GENUINE


def test_unknown_template_is_refused(resident):
    with pytest.raises(services.DocumentError) as caught:
        issue(resident, template="../../base")
    assert caught.value.code == "unknown_template"
    with pytest.raises(services.DocumentError):
        issue(resident, template="no_such_design")
    assert not IssuedDocument.objects.exists()


def test_document_is_rendered_in_its_language(resident):
    with time_machine.travel(ISSUE_DAY, tick=False):
        document = issue(resident, language="fr", valid_for_days=None)
    assert document.language == "fr"
    text = pdf_text(selectors.document_pdf(document=document))
    assert "3 novembre 2026" in text  # Django's own French month names
    assert "November" not in text


def test_unknown_language_falls_back_to_the_default(resident):
    assert issue(resident, language="xx").language == "en"


def test_status_genuine_then_expired(resident):
    with time_machine.travel(ISSUE_DAY, tick=False):
        document = issue(resident, valid_for_days=30)
        assert selectors.document_status(document) == selectors.GENUINE
    with time_machine.travel(datetime.datetime(2026, 12, 3, 23, 0, tzinfo=datetime.UTC)):
        assert selectors.document_status(document) == selectors.GENUINE  # its last day
    with time_machine.travel(datetime.datetime(2026, 12, 4, 12, 0, tzinfo=datetime.UTC)):
        assert selectors.document_status(document) == selectors.EXPIRED
    later = datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC)
    assert selectors.document_status(document, now=later) == selectors.EXPIRED


def test_revocation(resident, supervisor, department, django_capture_on_commit_callbacks):
    document = issue(resident, department=department)
    with django_capture_on_commit_callbacks(execute=True):
        revoked = services.document_revoke(
            document=document, reason="  Issued in error  ", actor=supervisor
        )
    assert revoked.revoked_at is not None
    assert revoked.revoked_reason == "Issued in error"
    assert revoked.revoked_by == supervisor
    assert selectors.document_status(revoked) == selectors.REVOKED
    event = AuditEvent.objects.get(action="documents.document_revoked")
    assert event.subject_user_id == resident.pk
    assert event.actor_id == supervisor.pk
    # The reason may be about the holder: the trail records that one was given.
    assert event.changes["reason"] == {"before": "", "after": "[redacted]"}
    # The holder is told, on the channels the event uses.
    sent = Notification.objects.filter(recipient=resident, event="document_revoked")
    assert sent.exists()
    inbox = sent.get(channel="inbox")
    assert "Issued in error" in inbox.body
    assert "Building permit" in inbox.body


def test_revoking_twice_is_refused_clearly(resident, supervisor, department):
    document = issue(resident, department=department)
    services.document_revoke(document=document, reason="Wrong address", actor=supervisor)
    with pytest.raises(services.DocumentError) as caught:
        services.document_revoke(document=document, reason="Again", actor=supervisor)
    assert caught.value.code == "already_revoked"
    assert str(caught.value.message) == "This document has already been revoked."
    document.refresh_from_db()
    assert document.revoked_reason == "Wrong address"


@pytest.mark.parametrize("reason", ["", "   "])
def test_revoking_needs_a_reason(resident, supervisor, department, reason):
    document = issue(resident, department=department)
    with pytest.raises(services.DocumentError) as caught:
        services.document_revoke(document=document, reason=reason, actor=supervisor)
    assert caught.value.code == "reason_required"
    document.refresh_from_db()
    assert document.revoked_at is None


def test_verification_codes_are_random_and_typeable():
    codes = {services.new_code() for _ in range(500)}
    assert len(codes) == 500
    assert all(services.CODE_PATTERN.fullmatch(code) for code in codes)
    assert not set("".join(codes)) & set("01ILO")
    assert services.normalise_code(" abcd-efgh jkmn\u2013pqrs ") == "ABCDEFGHJKMNPQRS"


def test_selectors_for_owner_and_verification(resident, second_resident):
    document = issue(resident)
    assert list(selectors.documents_for_owner(user=resident)) == [document]
    assert list(selectors.documents_for_owner(user=second_resident)) == []
    assert selectors.document_get_for_owner(user=resident, code=document.code) == document
    from django.http import Http404

    with pytest.raises(Http404):
        selectors.document_get_for_owner(user=second_resident, code=document.code)
    assert selectors.document_for_verification(code=document.code_display.lower()) == document
    assert selectors.document_for_verification(code="ABCDEFGHJKMNPQRS") is None
    assert selectors.document_for_verification(code="short") is None


def test_only_a_supervisor_of_the_issuing_department_revokes(
    resident, department, other_department, case_officer
):
    """The pentest found any official could revoke any document (and so email the
    holder whatever they typed): now only a supervisor of its department may."""
    from ecitizen.accounts.models import Role
    from tests.personas import _official

    document = issue(resident, department=department)
    elsewhere = _official(Role.SUPERVISOR, other_department, email="sup.other@example.test")
    for official in (case_officer, elsewhere):
        with pytest.raises(services.DocumentError) as refused:
            services.document_revoke(document=document, reason="Because", actor=official)
        assert refused.value.code == "not_allowed"
    document.refresh_from_db()
    assert document.revoked_at is None


def test_a_cases_documents_compiled_are_the_orms(resident, second_resident, department):
    """documents_for_owner_about (compiled) gives what the ORM's filter gives: the
    owner's documents of that reference, newest first; nobody else's, no other case's."""
    first = issue(resident, reference="RIV-BP-2026-000123", department=department)
    second = issue(resident, reference="RIV-BP-2026-000123", department=department)
    issue(resident, reference="RIV-BP-2026-000124", department=department)
    issue(second_resident, reference="RIV-BP-2026-000123", department=department)

    compiled = selectors.documents_for_owner_about(user=resident, reference="RIV-BP-2026-000123")
    built = list(
        selectors.documents_for_owner(user=resident).filter(reference="RIV-BP-2026-000123")
    )
    assert [d.pk for d in compiled] == [d.pk for d in built]
    assert {d.pk for d in compiled} == {first.pk, second.pk}
    assert [(d.code, d.title, d.issued_at) for d in compiled] == [
        (d.code, d.title, d.issued_at) for d in built
    ]
    assert selectors.documents_for_owner_about(user=resident, reference="RIV-BP-2026-000999") == []
