"""Reports on the case engine: submitted, confirmed, followed, supported, merged, hidden;
and nothing stored when the input is wrong."""

from __future__ import annotations

import pytest

from ecitizen.cases import services as cases
from ecitizen.cases.models import Case
from ecitizen.core.models import AuditEvent
from ecitizen.documents.models import Upload
from ecitizen.notifications.models import Notification
from ecitizen.reports import selectors, services
from ecitizen.reports.models import Report, ReportUpdate

from .conftest import LONDON, RIVERSIDE, RIVERSIDE_20M, RIVERSIDE_200M, jpeg_with_gps


def _input(point=RIVERSIDE, **overrides):
    values = {
        "category": "pothole",
        "latitude": point[0],
        "longitude": point[1],
        "title": "Deep pothole outside number 12",
        "description": "About 30 cm wide, cyclists swerve round it.",
        "address": "Mill Lane",
        "answers": {"hazard": True},
    }
    values.update(overrides)
    return services.ReportInput(**values)


def test_a_signed_in_report_opens_a_case_in_the_ward_of_the_point(
    pothole, wards, resident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = services.report_submit(data=_input(), reporter=resident, actor=resident)
    case = Case.objects.get(pk=report.case_id)
    assert report.reference == case.reference
    assert case.reference.startswith("RIV-PHT-")
    assert case.applicant == resident
    assert case.ward == wards["riverside"] == report.ward
    assert case.department.slug == "public-works"
    assert case.state == report.state == "received"
    assert case.answers == {"hazard": True}
    assert report.is_public
    assert report.is_open
    assert selectors.report_get_public(reference=report.reference) == report
    assert AuditEvent.objects.filter(action="reports.submitted").count() == 1


def test_a_point_outside_the_area_is_refused_and_nothing_is_stored(pothole, resident):
    with pytest.raises(services.ReportError, match="outside Riverton"):
        services.report_submit(
            data=_input(LONDON, photos=[jpeg_with_gps()]), reporter=resident, actor=resident
        )
    assert not Report.objects.exists()
    assert not Case.objects.exists()
    assert not Upload.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"category": "unicorn"}, "Select the kind of problem"),
        ({"title": "  "}, "Enter a summary of the problem"),
        ({"description": ""}, "Enter details of the problem"),
        ({"title": "x" * 121}, "120 characters or fewer"),
        ({"photos": [jpeg_with_gps(f"{n}.jpg") for n in range(4)]}, "up to 3 photos"),
        ({"answers": {}}, "Select yes if it is a hazard to traffic"),
        ({"answers": {"hazard": "perhaps"}}, "Select yes if it is a hazard to traffic"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(pothole, resident, overrides, message):
    with pytest.raises(services.ReportError, match=message):
        services.report_submit(data=_input(**overrides), reporter=resident, actor=resident)
    assert not Report.objects.exists()


def test_a_photo_that_is_not_an_image_stores_nothing(pothole, resident):
    from django.core.files.uploadedfile import SimpleUploadedFile

    fake = SimpleUploadedFile("photo.jpg", b"not an image at all", content_type="image/jpeg")
    with pytest.raises(services.ReportError):
        services.report_submit(data=_input(photos=[fake]), reporter=resident, actor=resident)
    assert not Report.objects.exists()
    assert not Upload.objects.exists()


def test_photos_are_kept_without_their_location(pothole, resident):
    from PIL import Image

    from ecitizen.documents.services import upload_read

    report = services.report_submit(
        data=_input(photos=[jpeg_with_gps()]), reporter=resident, actor=resident
    )
    (photo,) = selectors.report_photos_public(report)
    for upload in (photo.original, photo.display):
        import io

        image = Image.open(io.BytesIO(upload_read(upload=upload)))
        assert not image.getexif(), "EXIF (with GPS) must be gone"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_photos_are_kept_in_their_format(pothole, resident, fmt):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 90, 90)).save(buffer, format=fmt)
    upload = SimpleUploadedFile(f"photo.{fmt.lower()}", buffer.getvalue())
    report = services.report_submit(data=_input(photos=[upload]), reporter=resident, actor=resident)
    (photo,) = selectors.report_photos_public(report)
    assert photo.display.content_type == f"image/{fmt.lower()}"


def test_an_anonymous_report_waits_for_its_email_link(pothole, django_capture_on_commit_callbacks):
    reporter = services.reporter_for_email(email="walker@example.test", name="Sam Walker")
    assert not reporter.has_usable_password()
    with django_capture_on_commit_callbacks(execute=True):
        report = services.report_submit(
            data=_input(), reporter=reporter, actor=reporter, confirmed=False
        )
    assert report.case_id is None
    assert not report.is_public
    assert not Case.objects.exists()
    message = Notification.objects.get(event="report_confirm", recipient=reporter)
    token = message.body.split("/reports/confirm/")[1].split("/")[0]
    # The link's secret is only in the encrypted text, not in the clear url column.
    assert token not in message.url

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = services.report_confirm(token=token)
    assert confirmed.pk == report.pk
    assert confirmed.is_public
    case = Case.objects.get()
    assert case.applicant == reporter
    assert case.answers == {"hazard": True}
    # A second click changes nothing.
    assert services.report_confirm(token=token).case_id == case.pk
    assert Case.objects.count() == 1
    with pytest.raises(services.ReportError, match="not valid"):
        services.report_confirm(token="forged")


def test_the_report_follows_its_case_and_tells_supporters(
    pothole, resident, second_resident, works_officer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = services.report_submit(data=_input(), reporter=resident, actor=resident)
    services.report_support(report=report, user=second_resident)
    services.report_support(report=report, user=second_resident)  # counted once
    services.report_support(report=report, user=resident)  # one's own: nothing
    report.refresh_from_db()
    assert report.supporters_count == 1

    case = Case.objects.get(pk=report.case_id)
    with django_capture_on_commit_callbacks(execute=True):
        cases.case_transition(
            case=case,
            action_id="decline",
            actor=works_officer,
            given=cases.ActionInput(text="This road belongs to the county council."),
        )
    report.refresh_from_db()
    assert report.state == "will_not_fix"
    assert not report.is_open
    update = report.updates.order_by("-pk").first()
    assert update.text == "This road belongs to the county council."
    assert "works.officer" not in update.by_label
    assert Notification.objects.filter(recipient=second_resident, event="report_updated").exists()


def test_a_second_delivery_of_the_event_adds_no_update(
    pothole, resident, works_officer, django_capture_on_commit_callbacks
):
    from ecitizen.core.events import CaseStateChanged

    with django_capture_on_commit_callbacks(execute=True):
        report = services.report_submit(data=_input(), reporter=resident, actor=resident)
        case = Case.objects.get(pk=report.case_id)
        cases.case_transition(case=case, action_id="investigate", actor=works_officer)
    count = ReportUpdate.objects.count()
    event = CaseStateChanged(
        case_id=case.pk,
        reference=case.reference,
        service_slug="pothole",
        department_id=case.department_id,
        action="investigate",
        from_state="received",
        to_state="investigating",
    )
    services.report_follow_case(event)
    assert ReportUpdate.objects.count() == count


def test_nearby_open_reports_are_offered_before_a_duplicate(pothole, resident):
    near = services.report_submit(data=_input(RIVERSIDE_20M), reporter=resident, actor=resident)
    services.report_submit(data=_input(RIVERSIDE_200M), reporter=resident, actor=resident)
    found = selectors.reports_nearby_open(
        category="pothole", latitude=RIVERSIDE[0], longitude=RIVERSIDE[1], radius_m=50
    )
    assert [report for report, _metres in found] == [near]
    assert 15 < found[0][1] < 25


def test_merging_moves_the_reporter_and_supporters(
    pothole, resident, second_resident, works_supervisor
):
    kept = services.report_submit(data=_input(), reporter=resident, actor=resident)
    duplicate = services.report_submit(
        data=_input(RIVERSIDE_20M), reporter=second_resident, actor=second_resident
    )
    kept = services.report_merge(duplicate=duplicate, into=kept, actor=works_supervisor)
    assert kept.supporters_count == 1
    assert kept.supporters.get().user == second_resident
    duplicate.refresh_from_db()
    assert duplicate.merged_into == kept
    with pytest.raises(services.ReportError):
        services.report_merge(duplicate=kept, into=kept, actor=works_supervisor)
    # Once merged, a report is not merged again (into another, or back).
    third = services.report_submit(data=_input(RIVERSIDE_200M), reporter=resident, actor=resident)
    with pytest.raises(services.ReportError, match="already merged"):
        services.report_merge(duplicate=duplicate, into=third, actor=works_supervisor)


def test_a_hidden_report_leaves_the_public_pages(pothole, resident, works_supervisor):
    from django.http import Http404

    report = services.report_submit(data=_input(), reporter=resident, actor=resident)
    with pytest.raises(services.ReportError, match="Enter why"):
        services.report_hide(report=report, reason=" ", actor=works_supervisor)
    services.report_hide(report=report, reason="Offensive words", actor=works_supervisor)
    with pytest.raises(Http404):
        selectors.report_get_public(reference=report.reference)
    assert AuditEvent.objects.filter(action="reports.hidden").exists()


def test_app_keys_are_hashed_revocable_and_limited(platform_admin):
    client, key = services.api_client_issue(
        name="Fix My Riverton", contact_email="dev@example.test", hourly_limit=2, actor=None
    )
    assert key not in client.key_hash
    assert client.key_prefix == key[:8]
    assert services.api_client_for_key(key) == client
    assert services.api_client_for_key("wrong") is None
    assert services.api_client_within_limit(client)
    services.api_client_revoke(client=client, actor=platform_admin)
    assert services.api_client_for_key(key) is None
