"""The API's resources: the catalogue, applying (with the web journey's validation),
a resident's applications, documents, bills and messages, and staff casework within the
official's remit."""

from __future__ import annotations

import json

import pytest
from django.http import QueryDict

from ecitizen.api.tests import support as helpers
from ecitizen.api.tests.support import bearer
from ecitizen.cases.forms import QuestionPageForm
from ecitizen.cases.models import Case
from ecitizen.catalogue.spec import ServiceSpec
from ecitizen.core.models import AuditEvent
from ecitizen.documents.tests.factories import issue

# The shared fixtures (pytest finds them as this module's attributes).
api_admin = helpers.api_admin
back_office_token = helpers.back_office_token
published = helpers.published
resident_app = helpers.resident_app
token_for = helpers.token_for
works = helpers.works


ANSWERS = {"lives_in_riverton": True, "bin_count": 2, "collection_address": "1 High St"}


def _apply(client, token, answers=ANSWERS, **extra):
    body = {"service": "garden-waste-collection", "answers": answers, "declaration": True, **extra}
    return client.post(
        "/api/v1/applications",
        data=json.dumps(body),
        content_type="application/json",
        **bearer(token),
    )


@pytest.fixture
def applied(client, published, resident, token_for):
    response = _apply(client, token_for(resident))
    assert response.status_code == 201, response.content
    return Case.objects.get(reference=response.json()["reference"])


# --- the catalogue ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_catalogue_is_public_with_each_definition(client, published):
    slugs = [item["slug"] for item in client.get("/api/v1/services").json()["items"]]
    assert slugs == ["garden-waste-collection", "shed-permit"]
    service = client.get("/api/v1/services/garden-waste-collection").json()
    assert service["eligibility"][0]["id"] == "lives_in_riverton"
    question = service["pages"][0]["questions"][0]
    assert question == {**question, "id": "bin_count", "type": "number"}
    assert question["validation"] == {"min": 1, "max": 5}
    assert service["fee"]


# --- applying -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_applying_submits_an_application_like_the_web(client, published, resident, token_for):
    response = _apply(client, token_for(resident))
    assert response.status_code == 201
    body = response.json()
    case = Case.objects.get(reference=body["reference"])
    assert case.applicant == resident
    assert case.answers == {
        "lives_in_riverton": True,
        "bin_count": 2,
        "collection_address": "1 High St",
    }
    assert body["fee_amount"] == "90.00"
    assert AuditEvent.objects.filter(action="cases.submitted", object_id=str(case.pk)).exists()


@pytest.mark.django_db
def test_answers_are_checked_with_the_web_forms_messages(client, published, resident, token_for):
    response = _apply(client, token_for(resident), {**ANSWERS, "bin_count": 9})
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "invalid_answers"
    # The same message as the web page's form gives for the same answer.
    spec = ServiceSpec(published["garden-waste-collection"].current_version.definition)
    page = spec.page("bins")
    form = QuestionPageForm(
        QueryDict("bin_count=9"), page=page, questions=page["questions"], files_present=set()
    )
    assert not form.is_valid()
    assert problem["errors"] == [
        {"field": "answers.bin_count", "message": form.errors["bin_count"][0], "code": "invalid"}
    ]
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_missing_unknown_and_ineligible_answers_are_refused(client, published, resident, token_for):
    token = token_for(resident)
    missing = _apply(client, token, {"lives_in_riverton": True, "bin_count": 2}).json()
    assert [e["field"] for e in missing["errors"]] == ["answers.collection_address"]
    unknown = _apply(client, token, {**ANSWERS, "colour": "green"}).json()
    assert unknown["errors"][0] == {
        **unknown["errors"][0],
        "field": "answers.colour",
        "code": "unknown_question",
    }
    ineligible = _apply(client, token, {**ANSWERS, "lives_in_riverton": False}).json()
    assert ineligible["errors"][0]["code"] == "not_eligible"
    assert "Only households in Riverton" in ineligible["errors"][0]["message"]
    undeclared = _apply(client, token, declaration=False)
    assert undeclared.json()["code"] == "declaration_required"
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_a_service_needing_files_says_so(client, published, resident, token_for):
    body = {"service": "shed-permit", "answers": {}, "declaration": True}
    response = client.post(
        "/api/v1/applications",
        data=json.dumps(body),
        content_type="application/json",
        **bearer(token_for(resident)),
    )
    assert response.status_code == 422
    assert response.json()["errors"]


# --- a resident's own data ------------------------------------------------------------------


@pytest.mark.django_db
def test_residents_read_only_their_own_applications(client, applied, second_resident, token_for):
    own = token_for(applied.applicant)
    other = token_for(second_resident)
    listed = client.get("/api/v1/applications", **bearer(own)).json()["items"]
    assert [item["reference"] for item in listed] == [applied.reference]
    detail = client.get(f"/api/v1/applications/{applied.reference}", **bearer(own))
    assert detail.json()["answers"]["collection_address"] == "1 High St"
    assert detail["Cache-Control"] == "private, no-store"
    assert client.get("/api/v1/applications", **bearer(other)).json()["items"] == []
    response = client.get(f"/api/v1/applications/{applied.reference}", **bearer(other))
    assert response.status_code == 404


@pytest.mark.django_db
def test_documents_bills_and_messages_are_the_residents_own(
    client, applied, second_resident, token_for
):
    resident = applied.applicant
    document = issue(resident, reference=applied.reference)
    own, other = token_for(resident), token_for(second_resident)
    docs = client.get("/api/v1/documents", **bearer(own)).json()["items"]
    assert [d["code"] for d in docs] == [document.code]
    pdf = client.get(f"/api/v1/documents/{document.code}/pdf", **bearer(own))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert client.get(f"/api/v1/documents/{document.code}", **bearer(other)).status_code == 404
    assert client.get(f"/api/v1/documents/{document.code}/pdf", **bearer(other)).status_code == 404
    bills = client.get("/api/v1/bills", **bearer(own)).json()["items"]
    assert [b["reference"] for b in bills] == [applied.bill_reference]
    assert bills[0]["balance_minor"] == 9000
    assert client.get(f"/api/v1/bills/{applied.bill_reference}", **bearer(other)).status_code == 404
    messages = client.get("/api/v1/messages", **bearer(own)).json()["items"]
    if messages:
        message_id = messages[0]["id"]
        assert client.get(f"/api/v1/messages/{message_id}", **bearer(own)).json()["body"]
        assert client.get(f"/api/v1/messages/{message_id}", **bearer(other)).status_code == 404


@pytest.mark.django_db
def test_anyone_verifies_a_document_by_its_code(client, resident):
    document = issue(resident)
    response = client.get(f"/api/v1/documents/verify/{document.code.lower()}")
    assert response.json()["status"] == "genuine"
    assert response.json()["holder_name"] == "Alex Morgan"
    assert client.get("/api/v1/documents/verify/AAAA").status_code == 404


# --- staff casework -------------------------------------------------------------------------


@pytest.fixture
def paid(applied):
    """The application with its fee paid (a fee due on applying holds the case)."""
    from ecitizen.cases.services import case_fee_paid
    from ecitizen.cases.tests.support import pay_fee

    return case_fee_paid(case=pay_fee(applied))


@pytest.mark.django_db
def test_a_fee_due_on_applying_holds_the_case_as_on_the_staff_pages(
    client, applied, works, back_office_token
):
    token = back_office_token(works)
    detail = client.get(f"/api/v1/cases/{applied.reference}", **bearer(token)).json()
    assert detail["actions"] == []
    response = client.post(
        f"/api/v1/cases/{applied.reference}/transitions",
        data=json.dumps({"action": "approve"}),
        content_type="application/json",
        **bearer(token),
    )
    assert response.json()["code"] == "payment_due"


@pytest.mark.django_db
def test_a_back_office_system_works_the_cases_of_its_department(
    client, paid, works, back_office_token
):
    token = back_office_token(works)
    queue = client.get("/api/v1/cases", **bearer(token)).json()["items"]
    assert [item["reference"] for item in queue] == [paid.reference]
    detail = client.get(f"/api/v1/cases/{paid.reference}", **bearer(token)).json()
    assert {action["id"] for action in detail["actions"]} == {"approve", "refuse"}
    viewed = AuditEvent.objects.filter(action="personal_data.viewed", object_id=str(paid.pk))
    assert viewed.exists()

    def act(body):
        return client.post(
            f"/api/v1/cases/{paid.reference}/transitions",
            data=json.dumps(body),
            content_type="application/json",
            **bearer(token),
        )

    refused = act({"action": "refuse"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "reason_required"
    approved = act({"action": "approve"})
    assert approved.status_code == 200, approved.content
    assert approved.json()["state"] == "approved"
    again = act({"action": "approve"})
    assert again.json()["code"] == "stale_action"
    paid.refresh_from_db()
    assert paid.state == "approved"
    assert AuditEvent.objects.filter(action="cases.transition", object_id=str(paid.pk)).exists()


@pytest.mark.django_db
def test_a_token_without_cases_write_cannot_act(client, paid, works, back_office_token):
    token = back_office_token(works, scopes=("cases:read",))
    response = client.post(
        f"/api/v1/cases/{paid.reference}/transitions",
        data=json.dumps({"action": "approve"}),
        content_type="application/json",
        **bearer(token),
    )
    assert response.json()["code"] == "insufficient_scope"
    paid.refresh_from_db()
    assert paid.state == "submitted"


@pytest.mark.django_db
def test_officials_of_another_department_get_404(
    client, applied, other_department, back_office_token
):
    token = back_office_token(other_department)
    assert client.get("/api/v1/cases", **bearer(token)).json()["items"] == []
    assert client.get(f"/api/v1/cases/{applied.reference}", **bearer(token)).status_code == 404
    response = client.post(
        f"/api/v1/cases/{applied.reference}/transitions",
        data=json.dumps({"action": "approve"}),
        content_type="application/json",
        **bearer(token),
    )
    assert response.status_code == 404
    applied.refresh_from_db()
    assert applied.state == "submitted"


@pytest.mark.django_db
def test_a_residents_token_reaches_no_staff_operation(client, applied, token_for):
    token = token_for(applied.applicant)
    assert client.get("/api/v1/cases", **bearer(token)).json()["code"] == "insufficient_scope"
