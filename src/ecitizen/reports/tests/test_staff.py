"""The officials' side of street reports: the panel on the staff case page, the original
photos, hiding, merging, the list with its bulk update, and the Open311 apps' keys; and
the remit — an official of another department or ward gets 404 on every page."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse

from ecitizen.accounts import services as accounts
from ecitizen.accounts.models import Role
from ecitizen.cases import services as cases
from ecitizen.cases.models import Case
from ecitizen.core.models import AuditEvent
from ecitizen.core.registry import Panel, registry
from ecitizen.documents.services import upload_read
from ecitizen.reports import geo, selectors, services, staff_views
from ecitizen.reports.models import ApiClient, Report, ReportUpdate
from tests.factories import DepartmentFactory, UserFactory
from tests.personas import TOTP_SECRET, sign_in_official

from .conftest import RIVERSIDE, RIVERSIDE_20M, jpeg_with_gps

PANEL = "reports/staff/_case_panel.html"


@pytest.fixture(autouse=True)
def case_panel(monkeypatch):
    """The report panel on the staff case page, as ``ReportsConfig.ready`` registers it."""
    monkeypatch.setattr(
        registry,
        "panels",
        {
            "cases.staff_case": [
                Panel("cases.staff_case", PANEL, 10, staff_views.case_panel_context)
            ]
        },
    )


def _official(role, department, ward=None, *, email):
    user = UserFactory(email=email)
    accounts.role_assign(
        user=user, role=role, department=department, jurisdiction=ward, actor=None, system=True
    )
    accounts.mfa_totp_activate(user=user, secret=TOTP_SECRET, actor=None)
    return user


def _point_in(ward_code):
    ward = next(w for w in geo.area().wards if w.code == ward_code)
    point = ward.geometry.representative_point()
    return (point.y, point.x)


def _report(reporter, point=RIVERSIDE, *, photos=(), title="Deep pothole outside number 12"):
    return services.report_submit(
        data=services.ReportInput(
            category="pothole",
            latitude=point[0],
            longitude=point[1],
            title=title,
            description="About 30 cm wide, cyclists swerve round it.",
            address="Mill Lane",
            answers={"hazard": True},
            photos=list(photos),
        ),
        reporter=reporter,
        actor=reporter,
    )


@pytest.fixture
def report(pothole, resident, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return _report(resident, photos=[jpeg_with_gps()])


@pytest.fixture
def other_ward(wards):
    return next(ward for code, ward in wards.items() if code != "riverside")


@pytest.fixture
def outsiders(works, wards, other_ward):
    """Officials who must not see a Riverside report of Public Works: every role of
    another department, and every role of Public Works limited to another ward."""
    revenue = DepartmentFactory(slug="revenue", name="Revenue")
    people = []
    for n, role in enumerate([Role.CASE_OFFICER, Role.SUPERVISOR, Role.DEPARTMENT_ADMIN]):
        people.append(_official(role, revenue, email=f"elsewhere{n}@example.test"))
        people.append(_official(role, works, other_ward, email=f"otherward{n}@example.test"))
    return people


def _get(client, user, url, **data):
    client.logout()
    sign_in_official(client, user)
    return client.get(url, data)


def _post(client, user, url, data=None):
    client.logout()
    sign_in_official(client, user)
    return client.post(url, data or {})


# --- the remit --------------------------------------------------------------------------------


def test_officials_outside_the_report_s_department_or_ward_get_404_everywhere(
    client, report, resident, outsiders, works_officer, works_supervisor
):
    photo = report.photos.get()
    other = _report(resident, RIVERSIDE_20M, title="Another pothole")
    named = [
        ("staff:report_photo", [report.reference, photo.pk]),
        ("staff:report_hide", [report.reference]),
        ("staff:report_photo_hide", [report.reference, photo.pk]),
        ("staff:report_merge", [report.reference]),
        ("staff:case_detail", [report.reference]),
    ]
    for outsider in outsiders:
        for name, args in named:
            url = reverse(name, args=args)
            got = _get(client, outsider, url).status_code
            # 403: the role does not hold the page's capability at all (a case officer
            # and the moderation pages); it is refused before any report is looked up.
            assert got in {403, 404}, f"{outsider.email} got {got} on {name}"
            if got == 403:
                assert not outsider.role_assignments.filter(
                    role__in=[Role.SUPERVISOR, Role.DEPARTMENT_ADMIN]
                ).exists()
        posted = _post(
            client,
            outsider,
            reverse("staff:report_merge", args=[other.reference]),
            {"merge-into": report.reference},
        )
        assert posted.status_code in {403, 404}
        listed = _get(client, outsider, reverse("staff:reports"))
        assert report.reference not in listed.content.decode()
    other.refresh_from_db()
    assert other.merged_into is None
    # Insiders reach the same pages.
    original = reverse("staff:report_photo", args=[report.reference, photo.pk])
    assert _get(client, works_officer, original).status_code == 200
    hide = reverse("staff:report_hide", args=[report.reference])
    assert _get(client, works_supervisor, hide).status_code == 200


def test_a_report_not_confirmed_yet_is_on_no_staff_page(client, pothole, works_officer):
    reporter = services.reporter_for_email(email="walker@example.test", name="Sam Walker")
    waiting = services.report_submit(
        data=services.ReportInput(
            category="pothole",
            latitude=RIVERSIDE[0],
            longitude=RIVERSIDE[1],
            title="Pothole",
            description="Deep",
            answers={"hazard": True},
        ),
        reporter=reporter,
        actor=reporter,
        confirmed=False,
    )
    assert waiting.reference is None
    listed = _get(client, works_officer, reverse("staff:reports"))
    assert "0 reports" in listed.content.decode()


def test_residents_and_officials_without_the_capability_are_refused(
    client, report, resident, works_officer
):
    client.force_login(resident)
    assert client.get(reverse("staff:reports")).status_code == 403
    # Hiding is a supervisor's decision.
    response = _post(
        client,
        works_officer,
        reverse("staff:report_hide", args=[report.reference]),
        {"hide-reason": "Rude"},
    )
    assert response.status_code == 403
    report.refresh_from_db()
    assert report.hidden_at is None
    assert _get(client, works_officer, reverse("staff:reports_api_clients")).status_code == 403


# --- the panel on the case page -----------------------------------------------------------------


def test_the_case_page_shows_the_report_panel(
    client, report, second_resident, works_officer, works_supervisor
):
    services.report_support(report=report, user=second_resident)
    photo = report.photos.get()
    page = _get(client, works_officer, reverse("staff:case_detail", args=[report.reference]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Street report" in html
    assert "Mill Lane" in html
    assert "Riverside ward" in html
    assert "openstreetmap.org/?mlat=52.189760&amp;mlon=-2.247020" in html
    assert "1 person said “me too”" in html
    # The map (drawn by reports-map.js; hidden without JavaScript, the words above say where).
    assert 'data-report-map="show"' in html
    assert 'data-pin="52.18976,-2.24702"' in html
    assert reverse("staff:report_photo", args=[report.reference, photo.pk]) in html
    assert reverse("staff:report_merge", args=[report.reference]) in html
    # Officers cannot hide; supervisors can.
    assert reverse("staff:report_hide", args=[report.reference]) not in html
    page = _get(client, works_supervisor, reverse("staff:case_detail", args=[report.reference]))
    html = page.content.decode()
    assert reverse("staff:report_hide", args=[report.reference]) in html
    assert reverse("staff:report_photo_hide", args=[report.reference, photo.pk]) in html


@pytest.mark.db_specific  # compiled SQL run with each database's parameters
def test_the_panels_report_is_the_orms(
    report, resident, works_supervisor, django_capture_on_commit_callbacks
):
    """The panel's read of a case's report (compiled once per process): the ORM's report
    with its ward, the report it was merged into and its app; none for another case."""
    with django_capture_on_commit_callbacks(execute=True):
        other = _report(resident, title="Broken paving")
    services.report_merge(duplicate=other, into=report, actor=works_supervisor)
    for wanted in (report, other):
        orm = (
            Report.objects.select_related("ward", "merged_into", "api_client")
            .filter(case_id=wanted.case_id)
            .first()
        )
        read = selectors.report_of_case(case_id=wanted.case_id)
        assert read == orm
        assert (read.ward, read.merged_into, read.api_client) == (
            orm.ward,
            orm.merged_into,
            orm.api_client,
        )
        assert (read.title, read.address, read.latitude, read.longitude) == (
            orm.title,
            orm.address,
            orm.latitude,
            orm.longitude,
        )
        assert read.reporter_id == resident.pk
    assert selectors.report_of_case(case_id=other.case_id).merged_into == report
    assert selectors.report_of_case(case_id=-1) is None


def test_a_case_that_is_not_a_report_has_no_panel(client, works, resident, works_officer):
    from pathlib import Path

    import ecitizen.cases.tests as cases_tests
    from ecitizen.cases.tests.support import submit_shed
    from ecitizen.catalogue.models import Service
    from ecitizen.catalogue.services import service_definitions_publish

    service_definitions_publish(
        directory=Path(cases_tests.__file__).parent / "fixtures", actor=None
    )
    case = submit_shed(Service.objects.get(slug="shed-permit"), resident)
    page = _get(client, works_officer, reverse("staff:case_detail", args=[case.reference]))
    assert page.status_code == 200
    assert "street-report-heading" not in page.content.decode()


def test_the_original_photo_is_streamed_to_officials_only(client, report, works_officer, resident):
    photo = report.photos.get()
    url = reverse("staff:report_photo", args=[report.reference, photo.pk])
    response = _get(client, works_officer, url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert response.content == upload_read(upload=photo.original)
    client.logout()
    client.force_login(resident)
    assert client.get(url).status_code == 403
    missing = reverse("staff:report_photo", args=[report.reference, photo.pk + 100])
    assert _get(client, works_officer, missing).status_code == 404


# --- hiding --------------------------------------------------------------------------------------


def test_a_supervisor_hides_a_report_with_a_reason(client, report, works_supervisor):
    url = reverse("staff:report_hide", args=[report.reference])
    response = _post(client, works_supervisor, url, {"hide-reason": "  "})
    assert response.status_code == 400
    html = response.content.decode()
    assert "govuk-error-summary" in html
    assert "Enter why the report is hidden" in html
    assert 'href="#id_hide-reason"' in html
    response = _post(client, works_supervisor, url, {"hide-reason": "x" * 301})
    assert "The reason must be 300 characters or fewer" in response.content.decode()
    report.refresh_from_db()
    assert report.hidden_at is None

    response = _post(client, works_supervisor, url, {"hide-reason": "Names a neighbour"})
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:case_detail", args=[report.reference])
    report.refresh_from_db()
    assert report.hidden_at is not None
    assert report.hidden_reason == "Names a neighbour"
    assert (
        AuditEvent.objects.filter(action="reports.hidden", actor_id=works_supervisor.pk).count()
        == 1
    )
    assert not selectors.reports_public().filter(pk=report.pk).exists()
    # Hiding it again changes nothing (the page says it is hidden already).
    response = _post(client, works_supervisor, url, {"hide-reason": "Again"})
    assert response.status_code == 409
    assert "hidden from the public since" in response.content.decode()
    assert AuditEvent.objects.filter(action="reports.hidden").count() == 1
    # The case page says so; the report stays in the list.
    page = _get(client, works_supervisor, reverse("staff:case_detail", args=[report.reference]))
    assert "Names a neighbour" in page.content.decode()


def test_a_supervisor_hides_one_photo(client, report, works_supervisor):
    photo = report.photos.get()
    url = reverse("staff:report_photo_hide", args=[report.reference, photo.pk])
    field = f"photo-{photo.pk}-reason"
    response = _post(client, works_supervisor, url, {field: ""})
    assert response.status_code == 400
    assert "Enter why the photo is hidden" in response.content.decode()
    response = _post(client, works_supervisor, url, {field: "A face"})
    assert response.status_code == 302
    photo.refresh_from_db()
    assert photo.hidden_reason == "A face"
    assert selectors.report_photos_public(report) == []
    # Officials still see the original.
    original = reverse("staff:report_photo", args=[report.reference, photo.pk])
    assert _get(client, works_supervisor, original).status_code == 200


# --- merging -------------------------------------------------------------------------------------


def test_an_officer_merges_a_duplicate_into_another_report(
    client, report, second_resident, works_officer
):
    duplicate = _report(second_resident, RIVERSIDE_20M, title="Pothole by the bus stop")
    url = reverse("staff:report_merge", args=[duplicate.reference])
    assert _get(client, works_officer, url).status_code == 200

    cases_and_messages = [
        ("", "Enter the reference of the report to keep"),
        ("not a ref!", "Enter a reference like RIV-PH-2026-000123"),
        ("RIV-PHT-2099-999999", "There is no report with that reference that you can work on"),
        (duplicate.reference, "A report cannot be merged into itself"),
    ]
    for given, message in cases_and_messages:
        response = _post(client, works_officer, url, {"merge-into": given})
        assert response.status_code in {400, 409}, given
        assert message in response.content.decode(), given
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None

    response = _post(client, works_officer, url, {"merge-into": report.reference.lower()})
    assert response.status_code == 302
    duplicate.refresh_from_db()
    report.refresh_from_db()
    assert duplicate.merged_into == report
    assert report.supporters_count == 1
    assert report.supporters.get().user == second_resident
    # Once merged, it cannot be merged again.
    response = _post(client, works_officer, url, {"merge-into": report.reference})
    assert response.status_code == 409
    assert "already merged into" in response.content.decode()
    # Each case page says what was merged where.
    kept = _get(client, works_officer, reverse("staff:case_detail", args=[report.reference]))
    assert duplicate.reference in kept.content.decode()


def test_a_report_outside_the_remit_cannot_be_the_one_kept(
    client, report, second_resident, works, other_ward
):
    """An officer limited to Riverside cannot merge into a report of another ward (and is
    not told whether it exists)."""
    riverside_officer = _official(
        Role.CASE_OFFICER, works, report.ward, email="riverside.officer@example.test"
    )
    elsewhere = _report(second_resident, _point_in(other_ward.code), title="Elsewhere")
    assert elsewhere.ward == other_ward
    url = reverse("staff:report_merge", args=[report.reference])
    response = _post(client, riverside_officer, url, {"merge-into": elsewhere.reference})
    assert response.status_code == 400
    assert "There is no report with that reference that you can work on" in (
        response.content.decode()
    )
    report.refresh_from_db()
    assert report.merged_into is None


# --- the list and the bulk update -----------------------------------------------------------


def test_the_list_shows_the_reports_in_remit_with_filters(
    client, report, second_resident, works, other_ward, works_officer, settings
):
    elsewhere = _report(second_resident, _point_in(other_ward.code), title="Elsewhere")
    url = reverse("staff:reports")
    html = _get(client, works_officer, url).content.decode()
    assert report.reference in html
    assert elsewhere.reference in html
    assert "2 reports" in html
    assert 'data-report-map="list"' in html
    pins = html.split('<script id="report-pins" type="application/json">')[1].split("</script>")[0]
    assert reverse("staff:case_detail", args=[report.reference]) in pins
    html = _get(client, works_officer, url, ward="riverside").content.decode()
    assert report.reference in html
    assert elsewhere.reference not in html
    html = _get(client, works_officer, url, category="streetlight").content.decode()
    assert "No reports match these filters." in html
    html = _get(client, works_officer, url, state="investigating").content.decode()
    assert "0 reports" in html
    # A ward-limited officer sees their ward's only.
    riverside_officer = _official(
        Role.CASE_OFFICER, works, report.ward, email="riverside.officer@example.test"
    )
    html = _get(client, riverside_officer, url).content.decode()
    assert report.reference in html
    assert elsewhere.reference not in html
    # Without map tiles, no map: the table says where each report is.
    settings.MAP_TILE_URL = ""
    html = _get(client, riverside_officer, url).content.decode()
    assert "data-report-map" not in html
    assert "Mill Lane" in html


def test_the_list_s_queries_do_not_grow_with_the_reports(
    client, report, resident, works_officer, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sign_in_official(client, works_officer)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("staff:reports")).status_code == 200
    for n in range(4):
        _report(resident, RIVERSIDE_20M, title=f"Pothole {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse("staff:reports")).status_code == 200


def test_one_action_on_several_reports_for_the_same_fix(
    client, report, second_resident, works_officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        second = _report(second_resident, RIVERSIDE_20M, title="Second pothole")
        fixed = _report(second_resident, RIVERSIDE_20M, title="Already fixed")
        cases.case_transition(
            case=Case.objects.get(pk=fixed.case_id), action_id="fix", actor=works_officer
        )
    fixed_updates = ReportUpdate.objects.filter(report=fixed).count()
    text = "The whole of Mill Lane was resurfaced on Monday."
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            client,
            works_officer,
            reverse("staff:reports_bulk"),
            {
                "reports": [report.reference, second.reference, fixed.reference],
                "action": "fix",
                "text": text,
            },
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:reports_bulk_done")
    for moved in (report, second):
        moved.refresh_from_db()
        assert moved.state == "fixed"
        assert not moved.is_open
        assert moved.updates.order_by("-pk").first().text == text
    # The one already fixed is left as it was.
    fixed.refresh_from_db()
    assert fixed.state == "fixed"
    assert ReportUpdate.objects.filter(report=fixed).count() == fixed_updates

    page = client.get(reverse("staff:reports_bulk_done"))
    html = page.content.decode()
    assert "2 reports were updated" in html
    assert "1 report was not updated" in html
    assert "This action is not possible now: the report is “Fixed”." in html
    assert text in html
    # Shown once.
    assert client.get(reverse("staff:reports_bulk_done"))["Location"] == reverse("staff:reports")


def test_a_bulk_update_with_something_missing_shows_the_list_again(client, report, works_officer):
    url = reverse("staff:reports_bulk")
    response = _post(client, works_officer, url, {"action": "fix", "filters": "ward=riverside"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select the reports to update" in html
    assert 'href="#id_reports_0"' in html
    assert report.reference in html

    response = _post(client, works_officer, url, {"reports": [report.reference]})
    html = response.content.decode()
    assert "Select what to do with the selected reports" in html
    assert f'value="{report.reference}" checked' in html  # the choice is kept

    response = _post(
        client, works_officer, url, {"reports": [report.reference], "action": "decline"}
    )
    assert "Enter the public update: this action tells the reporters why" in (
        response.content.decode()
    )
    report.refresh_from_db()
    assert report.state == "received"


def test_a_bulk_update_reports_references_outside_the_remit_as_not_found(
    client, report, second_resident, works, other_ward
):
    riverside_officer = _official(
        Role.CASE_OFFICER, works, report.ward, email="riverside.officer@example.test"
    )
    elsewhere = _report(second_resident, _point_in(other_ward.code), title="Elsewhere")
    response = _post(
        client,
        riverside_officer,
        reverse("staff:reports_bulk"),
        {"reports": [elsewhere.reference, "RIV-PHT-2099-000001"], "action": "investigate"},
    )
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert html.count("Not found among the reports you can work on.") == 2
    elsewhere.refresh_from_db()
    assert elsewhere.state == "received"


# --- Open311 apps ------------------------------------------------------------------------------


def test_an_app_s_key_is_shown_once_and_kept_hashed(client, platform_admin):
    url = reverse("staff:reports_api_client_new")
    response = _post(
        client, platform_admin, url, {"name": "", "contact_email": "x", "hourly_limit": "0"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter the name of the app" in html
    assert "Enter an email address in the correct format" in html
    assert "The app must be allowed at least 1 report per hour" in html
    assert not ApiClient.objects.exists()

    response = client.post(
        url, {"name": "Fix My Riverton", "contact_email": "dev@example.test", "hourly_limit": "60"}
    )
    assert response.status_code == 302
    app = ApiClient.objects.get()
    assert response["Location"] == reverse("staff:reports_api_client_key", args=[app.pk])
    page = client.get(response["Location"])
    html = page.content.decode()
    key = html.split('id="api-key">')[1].split("<")[0]
    assert len(key) >= 40
    assert "It will not be shown again" in html
    # Stored as a hash only; the key works for Open311.
    assert app.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert app.key_prefix == key[:8]
    assert key not in {app.name, app.contact_email, app.key_prefix, app.key_hash}
    assert services.api_client_for_key(key) == app
    assert not any(key in str(value) for value in client.session.values())
    # The page does not show it twice.
    again = client.get(reverse("staff:reports_api_client_key", args=[app.pk]), follow=True)
    assert key not in again.content.decode()
    assert "cannot be shown again" in again.content.decode()

    listing = client.get(reverse("staff:reports_api_clients")).content.decode()
    assert "Fix My Riverton" in listing
    assert f"{key[:8]}…" in listing
    assert "0 of 60" in listing


def test_an_app_s_key_is_revoked_after_confirmation(client, platform_admin, works_supervisor):
    app, key = services.api_client_issue(
        name="Street Fixer", contact_email="dev@example.test", hourly_limit=10, actor=None
    )
    url = reverse("staff:reports_api_client_revoke", args=[app.pk])
    assert _get(client, works_supervisor, url).status_code == 403
    page = _get(client, platform_admin, url)
    assert "Revoke the key of Street Fixer" in page.content.decode()
    app.refresh_from_db()
    assert app.revoked_at is None  # asking changes nothing
    response = client.post(url)
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.revoked_at is not None
    assert services.api_client_for_key(key) is None
    assert "Revoked" in client.get(reverse("staff:reports_api_clients")).content.decode()
    missing = reverse("staff:reports_api_client_revoke", args=[app.pk + 1])
    assert client.get(missing).status_code == 404


def test_reports_sent_in_the_last_hour_are_counted_against_the_limit(
    client, pothole, resident, platform_admin
):
    app, _key = services.api_client_issue(
        name="Street Fixer", contact_email="dev@example.test", hourly_limit=5, actor=None
    )
    report = _report(resident)
    Report.objects.filter(pk=report.pk).update(api_client=app, source=Report.Source.OPEN311)
    listing = _get(client, platform_admin, reverse("staff:reports_api_clients")).content.decode()
    assert "1 of 5" in listing
