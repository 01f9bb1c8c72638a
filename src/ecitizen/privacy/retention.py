"""Retention by rule: each app registers :class:`~ecitizen.core.registry.RetentionRule`s
(expired drafts, old notifications, closed cases...) whose periods are the
``RETENTION_PERIODS`` setting; ``ecitizen retention plan`` counts what they would change
and ``ecitizen retention apply`` (the daily job) changes it and records a
:class:`~ecitizen.privacy.models.RetentionRun`.

Every rule is given the same ``now`` in a run, and counts records past their period at
that moment: applying twice at the same moment changes nothing the second time, and a
plan made at ``now`` counts exactly what an apply at ``now`` changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import RetentionRule, registry
from ecitizen.core.services import audit_record
from ecitizen.privacy.models import ErasureRequest, RetentionRun


@dataclass(frozen=True)
class PlannedRule:
    """One rule's line in a plan: its name, label, period (days, or ``None``) and how
    many records it would change."""

    name: str
    label: Any
    period_days: int | None
    count: int


def rules_in_order() -> list[RetentionRule]:
    return sorted(registry.retention_rules.values(), key=lambda rule: rule.name)


def _period_days(rule: RetentionRule) -> int | None:
    return settings.RETENTION_PERIODS.get(rule.period) if rule.period else None


def retention_plan(*, now: datetime | None = None) -> list[PlannedRule]:
    """What each rule would change at ``now`` (the current time by default); changes
    nothing."""
    moment = now or timezone.now()
    return [
        PlannedRule(rule.name, rule.label, _period_days(rule), rule.plan(moment))
        for rule in rules_in_order()
    ]


def retention_apply(*, now: datetime | None = None) -> RetentionRun:
    """Apply every rule at ``now`` and record the run.

    Each rule runs in its own transaction (a rule that fails leaves the others' work
    done); the run is ``failed`` with the rule's name and error class if one raised, and
    the exception is raised again after the run is recorded, so the scheduler sees the
    failure. Side effects: what the rules do, the :class:`RetentionRun` row and an
    audit event ``privacy.retention_applied`` with the counts.
    """
    moment = now or timezone.now()
    run = RetentionRun.objects.create(as_of=moment)
    counts: dict[str, int] = {}
    failure: BaseException | None = None
    for rule in rules_in_order():
        try:
            with transaction.atomic():
                counts[rule.name] = int(rule.apply(moment))
        except Exception as exc:
            run.error = f"{rule.name}: {type(exc).__name__}"[:300]
            failure = exc
            break
    run.counts = counts
    run.total = sum(counts.values())
    run.finished_at = timezone.now()
    run.status = RetentionRun.Status.FAILED if failure else RetentionRun.Status.OK
    with transaction.atomic():
        run.save()
        audit_record(
            action="privacy.retention_applied",
            obj=run,
            changes={"counts": counts, "status": run.status},
        )
    if failure is not None:
        raise failure
    return run


def retention_runs(*, limit: int = 20) -> QuerySet[RetentionRun]:
    """The latest runs, newest first."""
    return RetentionRun.objects.order_by("-started_at", "-pk")[:limit]


# --- The privacy app's own rule: closed erasure requests --------------------------------------


def _closed_requests(now: datetime) -> QuerySet[ErasureRequest]:
    cutoff = now - timedelta(days=settings.RETENTION_PERIODS["erasure_requests"])
    return ErasureRequest.objects.filter(
        status__in=[
            ErasureRequest.Status.WITHDRAWN,
            ErasureRequest.Status.REFUSED,
            ErasureRequest.Status.DONE,
        ]
    ).filter(Q(decided_at__lt=cutoff) | Q(withdrawn_at__lt=cutoff))


def erasure_requests_plan(now: datetime) -> int:
    """How many closed erasure requests are past ``erasure_requests`` days."""
    return _closed_requests(now).count()


@transaction.atomic
def erasure_requests_apply(now: datetime) -> int:
    """Delete them (the audit trail keeps that they were made and decided)."""
    found = _closed_requests(now)
    count = found.count()
    found.delete()
    return count


ERASURE_REQUESTS_RULE = RetentionRule(
    "privacy.erasure_requests",
    _("Delete closed erasure requests"),
    erasure_requests_plan,
    erasure_requests_apply,
    period="erasure_requests",
)
