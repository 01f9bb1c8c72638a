"""Open cases past their deadline, on /metrics by department."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from ecitizen.cases.models import Case

from .test_queue import _bulk_cases


def _past_deadline(client) -> dict[str, float]:
    response = client.get(reverse("core:metrics"))
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.text):
        if family.name == "ecitizen_cases_past_deadline":
            return {sample.labels["department"]: sample.value for sample in family.samples}
    raise AssertionError("ecitizen_cases_past_deadline is missing")


def test_open_cases_past_their_due_date_are_counted_by_department(client, shed):
    _bulk_cases(shed, 60)
    today = timezone.localdate()
    # A decided case is never late, however old its due date; a paused one has none.
    Case.objects.filter(pk=Case.objects.filter(due_date__lt=today).first().pk).update(
        outcome="approved"
    )
    Case.objects.filter(pk=Case.objects.filter(due_date__lt=today, outcome="").first().pk).update(
        due_date=None
    )
    late = Case.objects.filter(outcome="", due_date__lt=today).count()
    assert 0 < late < 59
    assert _past_deadline(client) == {shed.department.slug: late}
    Case.objects.filter(due_date__lt=today).update(due_date=today + timedelta(days=1))
    assert _past_deadline(client) == {}
