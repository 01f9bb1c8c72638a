"""Erasure of a resident's street reports (ADR 0023).

The reports stay, as public records of a problem in a public place (what, where, its
status and our updates): others said "me too" and follow them. What is the resident's
goes: answers waiting for confirmation, what tied a report sent through an app to them
(the app's id of their device and of their account there, the link to a photo of theirs
held elsewhere), their "me too"s and their email alerts. The report's case loses its
answers and files through the cases eraser, and the photos their content through the
documents eraser; the account they point at is closed and no longer names them.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import ErasedPart, Erasure
from ecitizen.core.services import audit_record
from ecitizen.reports.models import Report, ReportAlert, ReportSupporter

NAME = "reports"


def _run(user: Any, actor: Any, *, apply: bool) -> Erasure:
    reports = Report.objects.filter(reporter=user)
    pending = reports.filter(pending_answers__isnull=False)
    traced = reports.filter(~Q(device_id="") | ~Q(account_id="") | ~Q(media_url=""))
    supports = ReportSupporter.objects.filter(user=user)
    alerts = ReportAlert.objects.filter(user=user)
    counts = {
        "pending": pending.count(),
        "traced": traced.count(),
        "supports": supports.count(),
        "alerts": alerts.count(),
        "reports": reports.count(),
    }
    if apply:
        pending.update(pending_answers=None)
        traced.update(device_id="", account_id="", media_url="")
        supports.delete()
        alerts.delete()
        if any(counts.values()):
            audit_record(
                action="reports.erased",
                actor=actor,
                object_type="accounts.user",
                object_id=str(user.pk),
                subject_user_id=user.pk,
                changes={name: count for name, count in counts.items() if count},
            )
    return Erasure(
        name=NAME,
        erased=(
            ErasedPart(_("Street reports you had not confirmed"), counts["pending"]),
            ErasedPart(
                _(
                    "The ids of your device and app account, and links to your photos held "
                    "elsewhere, sent with reports you made through an app"
                ),
                counts["traced"],
            ),
            ErasedPart(_('Reports you said "me too" to'), counts["supports"]),
            ErasedPart(_("Your email alerts of new reports"), counts["alerts"]),
        ),
        kept=(
            ErasedPart(
                _("The street reports you made: the problem, the place and our updates"),
                counts["reports"],
                _(
                    "They are public records of a problem in a public place that others "
                    "follow. They no longer name you."
                ),
            ),
        ),
    )


def erase(user: Any, actor: Any) -> Erasure:
    """Erase ``user``'s part of their street reports (see the module's docstring);
    audited as ``reports.erased`` with the counts."""
    with transaction.atomic():
        return _run(user, actor, apply=True)


def plan(user: Any) -> Erasure:
    """What :func:`erase` would erase and keep now; changes nothing."""
    return _run(user, None, apply=False)
