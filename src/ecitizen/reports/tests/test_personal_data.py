"""The reporter's data rights over their street reports: the download holds what an app
sent about them (the ids of their device and of their account there, the link to their
photo), erasure removes it and leaves another reporter's alone, and the download reads a
fixed number of queries however many reports there are."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ecitizen.core.models import AuditEvent
from ecitizen.reports import erasure, services
from ecitizen.reports.models import Report
from ecitizen.reports.personal_data import export

from .conftest import RIVERSIDE, RIVERSIDE_20M

PHOTO_URL = "https://photos.example.test/u/alex-morgan/pothole.jpg"


@pytest.fixture
def app(db):
    client, _key = services.api_client_issue(
        name="Fix My Riverton", contact_email="dev@example.test", hourly_limit=50, actor=None
    )
    return client


def _report(reporter, app, *, device_id="", account_id="", media_url="", point=RIVERSIDE):
    return services.report_submit(
        data=services.ReportInput(
            category="pothole",
            latitude=point[0],
            longitude=point[1],
            title="Deep pothole outside number 12",
            description="About 30 cm wide, cyclists swerve round it.",
            answers={"hazard": True},
            media_url=media_url,
        ),
        reporter=reporter,
        actor=reporter,
        channel=services.Channel(
            source=Report.Source.OPEN311,
            api_client=app,
            device_id=device_id,
            account_id=account_id,
        ),
    )


def _street_reports(user):
    return [item for item in export(user)["items"] if item["kind"] == "street_report"]


def test_the_download_holds_what_the_app_sent_about_the_reporter(pothole, resident, app):
    _report(resident, app, device_id="phone-123", account_id="acc-9", media_url=PHOTO_URL)
    [item] = _street_reports(resident)
    assert item["app"] == "Fix My Riverton"
    assert (item["device_id"], item["app_account_id"], item["photo_url"]) == (
        "phone-123",
        "acc-9",
        PHOTO_URL,
    )


def test_erasure_removes_the_device_and_app_account_ids_and_the_photo_link(
    pothole, resident, second_resident, app
):
    mine = _report(resident, app, device_id="phone-123", account_id="acc-9", media_url=PHOTO_URL)
    _report(resident, app)  # nothing of theirs to remove from this one
    theirs = _report(second_resident, app, device_id="phone-456", account_id="acc-7")

    planned = erasure.plan(resident)
    done = erasure.erase(resident, None)

    assert planned == done
    traced = next(part for part in done.erased if "device" in str(part.label))
    assert traced.count == 1
    mine.refresh_from_db()
    assert (mine.device_id, mine.account_id, mine.media_url) == ("", "", "")
    # The report itself stays, a public record of a problem in a public place.
    assert mine.is_public
    theirs.refresh_from_db()
    assert (theirs.device_id, theirs.account_id) == ("phone-456", "acc-7")
    event = AuditEvent.objects.get(action="reports.erased")
    assert event.changes["traced"] == 1
    assert "phone-123" not in str(event.changes)
    # Nothing left to erase.
    again = erasure.plan(resident)
    assert [part.count for part in again.erased] == [0] * len(again.erased)


def test_the_download_reads_a_fixed_number_of_queries(
    pothole, resident, second_resident, app, wards
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            export(resident)
        return len(captured)

    _report(resident, app, device_id="d1")
    services.report_support(report=_report(second_resident, app), user=resident)
    services.report_alert_subscribe(spec=services.AlertSpec(ward_code="riverside"), user=resident)
    few = queries()
    for number in range(3):
        _report(resident, app, device_id=f"d{number + 2}", point=RIVERSIDE_20M)
        services.report_support(report=_report(second_resident, app), user=resident)
    assert queries() == few
