"""``GET requests`` reads its page through a query compiled once per shape of the
request (``reports.open311.queries.requests_matching``): for each filter Open311 offers
but ids and a circle, it finds the rows, in their order, that the ORM's query finds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ecitizen.reports import geo, services
from ecitizen.reports.models import ReportUpdate
from ecitizen.reports.open311.params import Circle, RequestsQuery
from ecitizen.reports.open311.queries import (
    _compiled_requests,
    _requests_orm,
    requests_matching,
)

from .conftest import RIVERSIDE, jpeg_with_gps, thirty_reports

# The compiled SQL is compared on both databases.
pytestmark = pytest.mark.db_specific


@pytest.fixture
def reports(pothole, resident):
    """Thirty public reports of two categories, open and closed, near Riverside and in
    London, requested a minute apart and updated an hour apart; officials' notes on some
    (the status notes); one with a photo, posted as a resident posts it; a hidden one and
    an unconfirmed one."""
    services.report_submit(
        data=services.ReportInput(
            category="pothole",
            latitude=RIVERSIDE[0],
            longitude=RIVERSIDE[1],
            title="With a photo",
            description="A hole.",
            answers={"hazard": True},
            photos=[jpeg_with_gps("one.jpg")],
        ),
        reporter=resident,
        actor=resident,
    )
    now = timezone.now()
    made = thirty_reports(now, hourly=True)
    ReportUpdate.objects.bulk_create(
        ReportUpdate(
            report=report,
            state="received",
            is_open=True,
            text=f"Looked at {n}",
            case_event_id=n + 1,
        )
        for n, report in enumerate(made[:12:3])
    )
    return now


def test_a_compiled_page_is_the_orm_s_page(reports):
    now = reports
    riverside = geo.bbox_around(*RIVERSIDE, 500)
    queries = [
        RequestsQuery(),
        RequestsQuery(requested_from=now - timedelta(minutes=10)),
        RequestsQuery(requested_from=now - timedelta(minutes=20), requested_to=now),
        RequestsQuery(updated_after=now - timedelta(hours=5), updated_before=now),
        RequestsQuery(categories=("pothole",), is_open=True),
        RequestsQuery(categories=("streetlight", "pothole"), is_open=False),
        RequestsQuery(categories=("no-such%_",)),  # LIKE's characters, taken as they are
        RequestsQuery(bbox=riverside),
        RequestsQuery(bbox=(riverside[2], riverside[1], riverside[0], riverside[3])),  # inverted
        RequestsQuery(bbox=riverside, categories=("pothole",), is_open=True),
    ]
    found = []
    for query in queries:
        assert _compiled_requests(query) is not None, query
        rows = requests_matching(query)
        assert rows == _requests_orm(query), query
        found.append(len(rows))
    # Every report but the hidden and the unconfirmed ones; the filters narrow it.
    assert found[0] == 29
    assert 0 < found[1] < found[0]
    assert found[6] == found[8] == 0  # no such category; the inverted box
    # The status notes and the photo came through the compiled page too.
    everything = requests_matching(queries[0])
    assert {row.status_notes for row in everything} >= {"Looked at 0", "Looked at 1"}
    assert sum(row.photo_id is not None for row in everything) == 1


def test_ids_a_circle_many_categories_and_other_pages_are_left_to_the_orm(reports):
    circle = Circle(latitude=RIVERSIDE[0], longitude=RIVERSIDE[1], radius_m=300)
    for query in (
        RequestsQuery(ids=("RIV-REP-2026-000001",)),
        RequestsQuery(circle=circle),
        RequestsQuery(categories=tuple(f"category-{n}" for n in range(9))),
        RequestsQuery(page=2, page_size=4),
        RequestsQuery(page_size=5),
    ):
        assert _compiled_requests(query) is None, query
    by_id = requests_matching(RequestsQuery(ids=("RIV-REP-2026-000001",)))
    assert [row.reference for row in by_id] == ["RIV-REP-2026-000001"]
    # The first page of the default size, compiled, is the ORM's pages of five in a row.
    everything = requests_matching(RequestsQuery())
    pages = [requests_matching(RequestsQuery(page=n, page_size=5)) for n in range(1, 7)]
    assert [row for page in pages for row in page] == everything
    assert len(pages[-1]) == 4  # 29 reports
    assert requests_matching(RequestsQuery(page=7, page_size=5)) == []
