"""The pages: public verification, the resident's documents, the staff page."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from ecitizen.core.models import AuditEvent
from ecitizen.documents import services
from ecitizen.documents.tests.factories import issue
from tests.personas import sign_in_official

pytestmark = pytest.mark.usefixtures("signing_certificate", "media_storage")


@pytest.fixture
def document(resident, department):
    return issue(resident, department=department)


def verify_url(document):
    return reverse("documents:verify_document", kwargs={"code": document.code})


# --- Public verification ----------------------------------------------------------------


def test_verify_form_page(client):
    response = client.get(reverse("documents:verify"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Check a document is genuine" in html
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert 'name="code"' in html
    assert "govuk-error-summary" not in html


def test_typed_code_leads_to_the_document(client, document):
    typed = document.code_display.lower()  # as a person might type it
    response = client.get(reverse("documents:verify"), {"code": typed})
    assert response.status_code == 302
    assert response["Location"] == verify_url(document)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter the verification code"),
        ("ABC", "The verification code must be 16 letters and numbers"),
        ("ABCD-EFGH-JKMN-PQRS", "No document has this code"),
    ],
)
def test_wrong_codes_get_a_govuk_error(client, document, typed, message):
    response = client.get(reverse("documents:verify"), {"code": typed})
    assert response.status_code == 200
    html = response.content.decode()
    assert "govuk-error-summary" in html
    assert message in html
    assert 'href="#id_code"' in html
    assert "<title>Error:" in html
    assert 'aria-describedby="id_code-hint id_code-error"' in html


def test_genuine_document_page_shows_only_what_is_printed(client, document, resident):
    response = client.get(verify_url(document))
    assert response.status_code == 200
    html = response.content.decode()
    assert "This document is genuine and valid" in html
    for printed in (
        "Building permit",
        "Alex Morgan",
        "RIV-BP-2026-000123",
        "Property address",
        "12 Mill Lane, Riverton RV1 2AB",
        "City of Riverton",
        document.code_display,
    ):
        assert printed in html
    assert resident.email not in html  # nothing that is not printed on it
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"]


def test_code_typed_differently_redirects_to_the_one_address(client, document):
    response = client.get(
        reverse("documents:verify_document", kwargs={"code": document.code.lower()})
    )
    assert response.status_code == 302
    assert response["Location"] == verify_url(document)


def test_unknown_code_is_404(client, db):
    response = client.get(reverse("documents:verify_document", kwargs={"code": "ABCDEFGHJKMNPQRS"}))
    assert response.status_code == 404


def test_revoked_document_says_so_without_the_reason(client, document, supervisor):
    with time_machine.travel(datetime.datetime(2027, 2, 14, 9, 0, tzinfo=datetime.UTC)):
        services.document_revoke(
            document=document, reason="Holder's medical condition", actor=supervisor
        )
    response = client.get(verify_url(document))
    html = response.content.decode()
    assert "This document has been revoked" in html
    assert "Revoked on 14 February 2027" in html
    assert "medical condition" not in html
    assert "genuine and valid" not in html


def test_expired_document_says_so(client, resident):
    with time_machine.travel(datetime.datetime(2026, 1, 10, 12, 0, tzinfo=datetime.UTC)):
        document = issue(resident, valid_for_days=30)
    with time_machine.travel(datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)):
        response = client.get(verify_url(document))
    html = response.content.decode()
    assert "This document has expired" in html
    assert "valid only until 9 February 2026" in html
    assert "genuine and valid" not in html


def test_verification_page_in_french(client, document):
    client.cookies["django_language"] = "fr"
    response = client.get(verify_url(document), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert '<html lang="fr"' in response.content.decode()


# --- The resident's documents -----------------------------------------------------------


def test_your_documents_lists_status_and_download_links(client, resident, department, supervisor):
    current = issue(resident, department=department)
    revoked = issue(
        resident, reference="RIV-BP-2026-000999", title="Old permit", department=department
    )
    services.document_revoke(document=revoked, reason="Replaced", actor=supervisor)
    client.force_login(resident)
    response = client.get(reverse("documents:list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your documents" in html
    assert "Building permit" in html
    assert "Old permit" in html
    assert "govuk-tag--green" in html
    assert "govuk-tag--red" in html
    assert reverse("documents:download", kwargs={"code": current.code}) in html
    assert reverse("documents:download", kwargs={"code": revoked.code}) in html


def test_your_documents_when_there_are_none(client, resident):
    client.force_login(resident)
    response = client.get(reverse("documents:list"))
    assert "You have no documents yet" in response.content.decode()


def test_owner_downloads_the_pdf(client, resident, document):
    client.force_login(resident)
    response = client.get(reverse("documents:download", kwargs={"code": document.code}))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"].startswith("attachment;")
    assert "building-permit-RIV-BP-2026-000123.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"


def test_another_user_gets_404_for_someone_s_document(client, document, second_resident):
    client.force_login(second_resident)
    response = client.get(reverse("documents:download", kwargs={"code": document.code}))
    assert response.status_code == 404


def test_download_needs_sign_in(client, document):
    response = client.get(reverse("documents:download", kwargs={"code": document.code}))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- Staff ------------------------------------------------------------------------------


def staff_url(document):
    return reverse("staff:document_detail", kwargs={"code": document.code})


@pytest.mark.parametrize(
    "persona", ["case_officer", "supervisor", "department_admin", "platform_admin"]
)
def test_staff_see_the_document_and_the_view_is_recorded(client, document, request, persona):
    official = request.getfixturevalue(persona)
    sign_in_official(client, official)
    response = client.get(staff_url(document))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Building permit" in html
    # Only a supervisor of the issuing department may revoke; the others are told so.
    assert ("Revoke this document" in html) == (persona == "supervisor")
    viewed = AuditEvent.objects.filter(action="personal_data.viewed", actor_id=official.pk)
    assert viewed.get().subject_user_id == document.owner_id


def test_auditors_and_residents_cannot_use_the_staff_page(client, document, auditor, resident):
    sign_in_official(client, auditor)
    assert client.get(staff_url(document)).status_code == 403
    client.force_login(resident)
    assert client.get(staff_url(document)).status_code == 403


def test_staff_revoke_with_a_reason(
    client, document, supervisor, django_capture_on_commit_callbacks
):
    sign_in_official(client, supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(staff_url(document), {"reason": "Issued to the wrong person"})
    assert response.status_code == 302
    assert response["Location"] == staff_url(document)
    document.refresh_from_db()
    assert document.revoked_at is not None
    assert document.revoked_by == supervisor
    page = client.get(response["Location"]).content.decode()
    assert "The document has been revoked" in page
    assert "Issued to the wrong person" in page
    assert "Revoke this document" not in page
    public = client.get(verify_url(document)).content.decode()
    assert f"Revoked on {timezone.localdate().strftime('%-d %B %Y')}" in public


def test_staff_revoke_without_a_reason_is_explained(client, document, supervisor):
    sign_in_official(client, supervisor)
    response = client.post(staff_url(document), {"reason": "   "})
    assert response.status_code == 200
    html = response.content.decode()
    assert "govuk-error-summary" in html
    assert "Enter why the document is being revoked" in html
    document.refresh_from_db()
    assert document.revoked_at is None


def test_staff_revoke_twice_is_explained(client, document, supervisor):
    services.document_revoke(document=document, reason="First", actor=supervisor)
    sign_in_official(client, supervisor)
    response = client.post(staff_url(document), {"reason": "Second"})
    assert response.status_code == 200
    assert "This document has already been revoked." in response.content.decode()


def test_staff_open_the_pdf_inline(client, document, case_officer):
    sign_in_official(client, case_officer)
    response = client.get(reverse("staff:document_pdf", kwargs={"code": document.code}))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline;")
    assert response.content.startswith(b"%PDF")


def test_staff_page_unknown_code_is_404(client, case_officer):
    sign_in_official(client, case_officer)
    response = client.get(reverse("staff:document_detail", kwargs={"code": "ABCDEFGHJKMNPQRS"}))
    assert response.status_code == 404
