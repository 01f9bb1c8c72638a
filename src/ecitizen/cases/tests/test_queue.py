"""The officials' queue: filters, order, and a number of queries that does not grow with
the number of cases."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ecitizen.cases.models import Case
from ecitizen.catalogue.models import Service
from ecitizen.catalogue.services import service_definitions_publish
from tests.factories import UserFactory
from tests.personas import sign_in_official

from .conftest import FIXTURES
from .support import submit_shed


def _bulk_cases(service, count: int, *, start: int = 0) -> None:
    """Cases written directly (the engine is tested elsewhere): only the queue's reads
    matter here."""
    applicants = [UserFactory(email=f"queue{start + i}@example.test") for i in range(min(count, 5))]
    today = timezone.localdate()
    Case.objects.bulk_create(
        [
            Case(
                reference=f"RIV-SP-2026-{start + i:06d}",
                service=service,
                service_version=service.current_version,
                department=service.department,
                applicant=applicants[i % len(applicants)],
                submitted_by=applicants[i % len(applicants)],
                state=["submitted", "first_review", "info_needed"][i % 3],
                submitted_at=timezone.now() - timedelta(days=i % 40),
                due_date=today + timedelta(days=(i % 30) - 10),
                answers_json="{}",
            )
            for i in range(count)
        ]
    )


def _queue_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("staff:case_queue"), {"sort": "due_date"})
    assert response.status_code == 200
    return len(queries)


def test_the_queue_costs_the_same_for_10_and_500_cases(client, shed, works_officer):
    sign_in_official(client, works_officer)
    _bulk_cases(shed, 10)
    _queue_queries(client)  # the session and the kept definitions warmed
    small = _queue_queries(client)
    _bulk_cases(shed, 490, start=10)
    assert Case.objects.count() == 500
    large = _queue_queries(client)
    assert large == small  # the count rides on the first page's rows (a window count)


def test_filters_and_paging(client, shed, resident, second_resident, works_officer):
    sign_in_official(client, works_officer)
    mine = submit_shed(shed, resident)
    other = submit_shed(shed, second_resident)
    from ecitizen.cases import services

    services.case_assign(case=mine, assignee=works_officer, actor=works_officer)
    page = client.get(reverse("staff:case_queue"), {"assigned": "me"}).content.decode()
    assert mine.reference in page
    assert other.reference not in page
    page = client.get(reverse("staff:case_queue"), {"assigned": "none"}).content.decode()
    assert other.reference in page
    assert mine.reference not in page
    _bulk_cases(shed, 90, start=100)
    first = client.get(reverse("staff:case_queue"), {"state": "submitted"})
    assert "page=2" in first.content.decode()
    assert "state=submitted&amp;page=2" in first.content.decode()  # filters kept when paging
    # The status filter offers each service's statuses in its words; one chosen among
    # all services' also chooses its service.
    everything = client.get(reverse("staff:case_queue")).content.decode()
    assert '<option value="shed-permit:first_review">First check</option>' in everything
    # Latest due first: the bulk cases fall due within 17 days, the real ones later.
    chosen = client.get(
        reverse("staff:case_queue"), {"state": "shed-permit:submitted", "sort": "-due_date"}
    )
    page = chosen.content.decode()
    assert '<option value="shed-permit" selected>' in page
    assert '<option value="submitted" selected>New, not checked yet</option>' in page
    assert '<option value="first_review">First check</option>' in page
    assert mine.reference in page


def test_the_queue_shows_only_the_officials_department(
    client, shed, resident, second_resident, case_officer, department, tmp_path
):
    # The same definition published again for Revenue (the case officer's department).
    definition = (FIXTURES / "shed-permit.yaml").read_text(encoding="utf-8")
    definition = definition.replace("slug: shed-permit", "slug: revenue-shed-permit")
    definition = definition.replace("department: public-works", f"department: {department.slug}")
    definition = definition.replace("reference_code: SP", "reference_code: RS")
    (tmp_path / "revenue-shed-permit.yaml").write_text(definition, encoding="utf-8")
    service_definitions_publish(directory=tmp_path, actor=None)
    revenue_service = Service.objects.get(slug="revenue-shed-permit")
    assert revenue_service.department == department
    works_case = submit_shed(shed, resident)
    revenue_case = submit_shed(revenue_service, second_resident)
    sign_in_official(client, case_officer)  # Revenue, not Public Works

    response = client.get(reverse("staff:case_queue"))

    assert response.status_code == 200  # the queue itself, not a redirect to sign in
    page = response.content.decode()
    assert revenue_case.reference in page
    assert works_case.reference not in page


def test_waiting_for_my_role(
    client, shed, resident, second_resident, works_officer, works_supervisor
):
    from ecitizen.cases import services

    first = submit_shed(shed, resident)  # submitted: a case officer starts the review
    second = submit_shed(shed, second_resident)
    second = services.case_transition(case=second, action_id="start_review", actor=works_officer)
    second = services.case_transition(case=second, action_id="pass_first", actor=works_officer)
    # second_review: only a supervisor approves, but officers may still ask or refuse.
    sign_in_official(client, works_supervisor)
    page = client.get(reverse("staff:case_queue"), {"actionable": "1"}).content.decode()
    assert second.reference in page
    assert first.reference not in page  # "start review" is for case officers only


def test_the_status_filter_follows_a_new_version_and_keeps_an_unknown_status(
    client, shed, resident, works_officer, tmp_path
):
    """The filters' options are kept per set of published versions: a new version's
    words show at once, and a status from the address that no service has is still
    offered (the filter shown is the filter applied)."""
    sign_in_official(client, works_officer)
    old_case = submit_shed(shed, resident)
    url = reverse("staff:case_queue")
    before = client.get(url).content.decode()
    assert '<option value="shed-permit:first_review">First check</option>' in before

    definition = (FIXTURES / "shed-permit.yaml").read_text(encoding="utf-8")
    definition = definition.replace(
        "staff_label: {en: First check,", "staff_label: {en: Desk check,"
    )
    (tmp_path / "shed-permit.yaml").write_text(definition, encoding="utf-8")
    service_definitions_publish(directory=tmp_path, actor=None)
    shed.refresh_from_db()
    assert shed.current_version_id != old_case.service_version_id

    after = client.get(url).content.decode()
    assert '<option value="shed-permit:first_review">Desk check</option>' in after
    assert "First check" not in after
    # The case still on the first version is listed under that version's words.
    assert old_case.reference in after

    unknown = client.get(url, {"state": "no-such-state"}).content.decode()
    assert '<optgroup label="Other"><option value="no-such-state" selected>' in unknown
    unknown_service = client.get(url, {"service": "no-such-service"}).content.decode()
    assert "shed-permit:first_review" not in unknown_service
