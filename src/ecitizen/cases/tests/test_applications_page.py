"""“Your applications” a page at a time: a resident with many applications gets the newest
twenty and links to the others, at the same cost in queries whatever their number."""

from __future__ import annotations

import re
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ecitizen.cases.models import Case
from ecitizen.cases.views import APPLICATIONS_PAGE_SIZE


def _cases(service, applicant, count: int, *, start: int = 0) -> None:
    now = timezone.now()
    Case.objects.bulk_create(
        [
            Case(
                reference=f"RIV-SP-2026-{start + i:06d}",
                service=service,
                service_version=service.current_version,
                department=service.department,
                applicant=applicant,
                submitted_by=applicant,
                state="submitted",
                submitted_at=now - timedelta(hours=start + i),
                due_date=timezone.localdate() + timedelta(days=10),
                answers_json="{}",
            )
            for i in range(count)
        ]
    )


def _references(page: str) -> set[str]:
    return set(re.findall(r"RIV-SP-2026-\d{6}", page))


def _page(client, **query) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("cases:applications"), query)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_many_applications_are_shown_a_page_at_a_time(client, shed, resident):
    client.force_login(resident)
    _cases(shed, resident, 3)
    _, few = _page(client)
    _cases(shed, resident, APPLICATIONS_PAGE_SIZE + 2, start=3)

    first, many = _page(client)
    assert many == few + 1  # the count, read only once the list fills a page
    assert len(_references(first)) == APPLICATIONS_PAGE_SIZE
    assert "RIV-SP-2026-000000" in first  # the newest first
    assert "Page 1 of 2" in first
    assert 'href="?page=2"' in first

    second, _ = _page(client, page=2)
    assert len(_references(second)) == 5
    assert "RIV-SP-2026-000024" in second
    assert 'href="?page=1"' in second


def test_a_page_past_the_end_shows_the_last(client, shed, resident):
    client.force_login(resident)
    _cases(shed, resident, 3)
    page, _ = _page(client, page=99)
    assert len(_references(page)) == 3
    assert "Page 1 of" not in page  # one page: no page links
