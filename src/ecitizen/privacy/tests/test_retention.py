"""Retention by rule: each rule counts in its plan what its apply changes, applying twice
changes nothing more, periods are respected to the day, and each run is recorded."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from ecitizen.cases.models import Case, CaseEvent, Draft
from ecitizen.cases.services import draft_start
from ecitizen.cases.tests.conftest import published, shed, works  # noqa: F401 - fixtures
from ecitizen.cases.tests.support import submit_shed
from ecitizen.core.registry import registry
from ecitizen.notifications.models import Notification
from ecitizen.notifications.services import notification_send
from ecitizen.privacy import erasure
from ecitizen.privacy.models import ErasureRequest, RetentionRun
from ecitizen.privacy.retention import retention_apply, retention_plan

NOW = datetime.datetime(2027, 6, 1, 2, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


def _days(key: str, settings) -> datetime.timedelta:
    return datetime.timedelta(days=settings.RETENTION_PERIODS[key])


@pytest.fixture
def aged(resident, second_resident, shed, settings):  # noqa: F811
    """Records of each kind, one just past its period and one just within it."""
    with time_machine.travel(NOW - 40 * DAY, tick=False):
        old_case = submit_shed(shed, resident)
        recent_case = submit_shed(shed, second_resident)
        drafts = []
        for _i in range(2):  # one at a time: starting again resumes an open one
            drafts.append(draft_start(service=shed, applicant=resident, actor=resident))
            Draft.objects.filter(pk=drafts[-1].pk).update(status=Draft.Status.EXPIRED)
        for _i in range(2):
            notification_send(
                recipient=resident,
                event=erasure.EVENT_REFUSED,
                context={"reference": "ER-TEST", "url": "/privacy/close-account/"},
                channels=["inbox"],
            )
    closed = _days("closed_cases", settings)
    Case.objects.filter(pk=old_case.pk).update(decided_at=NOW - closed - DAY, state="approved")
    Case.objects.filter(pk=recent_case.pk).update(decided_at=NOW - closed + DAY, state="approved")
    expired = _days("expired_drafts", settings)
    Draft.objects.filter(pk=drafts[0].pk).update(
        status=Draft.Status.EXPIRED, updated_at=NOW - expired - DAY
    )
    Draft.objects.filter(pk=drafts[1].pk).update(
        status=Draft.Status.EXPIRED, updated_at=NOW - expired + DAY
    )
    kept, gone = Notification.objects.filter(
        recipient=resident, event=erasure.EVENT_REFUSED
    ).order_by("pk")
    period = _days("notifications", settings)
    Notification.objects.filter(pk=gone.pk).update(created_at=NOW - period - DAY)
    Notification.objects.filter(pk=kept.pk).update(created_at=NOW - period + DAY)
    request = erasure.erasure_request_submit(user=second_resident, actor=second_resident)
    erasure.erasure_request_withdraw(request=request, actor=second_resident)
    ErasureRequest.objects.filter(pk=request.pk).update(
        withdrawn_at=NOW - _days("erasure_requests", settings) - DAY
    )
    return {
        "old_case": old_case,
        "recent_case": recent_case,
        "drafts": drafts,
        "notifications": (kept, gone),
        "request": request,
    }


def _counts(plan) -> dict[str, int]:
    return {line.name: line.count for line in plan}


@pytest.mark.django_db
def test_plan_counts_what_apply_changes_and_apply_is_idempotent(aged):
    with time_machine.travel(NOW, tick=False):
        planned = _counts(retention_plan())
        assert planned["cases.closed_cases"] == 1
        assert planned["cases.expired_drafts"] == 1
        assert planned["notifications.old"] == 1
        assert planned["privacy.erasure_requests"] == 1
        run = retention_apply()
        assert run.status == RetentionRun.Status.OK
        assert run.counts == planned
        assert run.total == sum(planned.values())
        # Applying again at the same moment changes nothing.
        again = retention_apply()
        assert set(again.counts.values()) == {0}
        assert set(_counts(retention_plan()).values()) == {0}
    assert RetentionRun.objects.count() == 2


@pytest.mark.django_db
def test_periods_are_respected(aged):
    with time_machine.travel(NOW, tick=False):
        retention_apply()
    old_case = Case.objects.get(pk=aged["old_case"].pk)
    recent_case = Case.objects.get(pk=aged["recent_case"].pk)
    assert old_case.answers_json is None
    assert not CaseEvent.objects.filter(case=old_case, text__isnull=False).exists()
    assert recent_case.answers_json is not None
    assert not Draft.objects.filter(pk=aged["drafts"][0].pk).exists()
    assert Draft.objects.filter(pk=aged["drafts"][1].pk).exists()
    kept, gone = aged["notifications"]
    assert Notification.objects.filter(pk=kept.pk).exists()
    assert not Notification.objects.filter(pk=gone.pk).exists()
    assert not ErasureRequest.objects.filter(pk=aged["request"].pk).exists()
    # Two days later, what was within its period by one day is past it.
    with time_machine.travel(NOW + 2 * DAY, tick=False):
        planned = _counts(retention_plan())
    assert planned["cases.closed_cases"] == 1
    assert planned["cases.expired_drafts"] == 1
    assert planned["notifications.old"] == 1


@pytest.mark.django_db
def test_a_shorter_period_in_the_settings_reaches_further(aged, settings):
    settings.RETENTION_PERIODS = {**settings.RETENTION_PERIODS, "notifications": 30}
    older = Notification.objects.filter(created_at__lt=NOW - 30 * DAY).exclude(status="queued")
    assert older.count() > 2  # the two of the fixture, and those the applications sent
    with time_machine.travel(NOW, tick=False):
        assert _counts(retention_plan())["notifications.old"] == older.count()


@pytest.mark.django_db
def test_a_failing_rule_is_recorded_and_raised(aged, monkeypatch):
    from ecitizen.core.registry import RetentionRule

    def broken(now):
        raise RuntimeError("boom")

    rule = RetentionRule("zz.broken", "A broken rule", lambda now: 0, broken)
    monkeypatch.setitem(registry.retention_rules, rule.name, rule)
    with time_machine.travel(NOW, tick=False), pytest.raises(RuntimeError):
        retention_apply()
    run = RetentionRun.objects.get()
    assert run.status == RetentionRun.Status.FAILED
    assert run.error == "zz.broken: RuntimeError"
    # The rules before it did their work.
    assert run.counts["cases.closed_cases"] == 1


@pytest.mark.django_db
def test_the_command_plans_without_changing_and_applies(aged):
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("retention", "plan", stdout=out)
        assert "cases.closed_cases" in out.getvalue()
        assert "Would change 4 records." in out.getvalue()
        assert not RetentionRun.objects.exists()
        assert Draft.objects.filter(pk=aged["drafts"][0].pk).exists()
        out = StringIO()
        call_command("retention", "apply", stdout=out)
        assert "Changed 4 records" in out.getvalue()
        with pytest.raises(CommandError, match="ISO 8601"):
            call_command("retention", "plan", "--at", "next tuesday")
        with pytest.raises(CommandError, match="future"):
            call_command("retention", "apply", "--at", (timezone.now() + DAY).isoformat())


def test_the_job_runs_daily_and_every_rule_names_a_configured_period(settings):
    job = registry.jobs["privacy.retention"]
    assert job.command == ("retention", "apply")
    assert job.every == DAY
    for rule in registry.retention_rules.values():
        assert rule.period in settings.RETENTION_PERIODS, rule.name
