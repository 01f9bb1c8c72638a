"""Models of erasure requests and retention runs.

Written only by :mod:`ecitizen.privacy.erasure` and :mod:`ecitizen.privacy.retention`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.core.fields import EncryptedTextField

__all__ = ["ErasureRequest", "RetentionRun"]


class ErasureRequest(models.Model):
    """A resident's request to close their account and erase their data, decided by the
    data-protection officer.

    ``status`` moves ``submitted`` → ``withdrawn`` (by the resident, before a decision),
    ``refused`` (with a reason the resident reads) or ``done`` (approved and carried out
    in the same transaction: every app's eraser ran, ``statement`` holds what each erased
    and kept, and the account is closed). ``due_at`` is the statutory deadline for the
    decision (``ERASURE_DEADLINE_MONTHS`` after submission, GDPR art. 12(3)).

    ``reason`` and ``decision_reason`` are free text (encrypted); the resident's reason is
    erased with the rest. ``statement`` names categories and counts only, never a
    personal value, so it outlives the account; the resident reads it at a link whose
    token is kept hashed (``statement_token_hash``), since they can no longer sign in.
    At most one request per resident is open at a time (a database constraint).
    """

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Waiting for a decision")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        REFUSED = "refused", _("Refused")
        DONE = "done", _("Approved and carried out")

    reference = models.CharField(_("reference"), max_length=20, unique=True)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="erasure_requests"
    )
    reason = EncryptedTextField(_("reason"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED
    )
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    due_at = models.DateTimeField(_("decision due by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decision_reason = EncryptedTextField(_("reason for the decision"), blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # [{"name": ..., "erased": [{"label", "count"}], "kept": [{"label", "count", "reason"}]}]
    # with the English source texts of the labels, translated again when shown.
    statement: Any = models.JSONField(default=list, blank=True)
    statement_token_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = _("erasure request")
        verbose_name_plural = _("erasure requests")
        constraints = [
            models.UniqueConstraint(
                fields=["requester"],
                condition=models.Q(status="submitted"),
                name="privacy_one_open_erasure_request",
            )
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.SUBMITTED

    @property
    def is_overdue(self) -> bool:
        return self.is_open and timezone.now() > self.due_at


class RetentionRun(models.Model):
    """One run of ``ecitizen retention apply`` (the daily job or an operator): when, by
    what time the periods were counted (``as_of``), how many records each rule changed
    (``counts``: rule name to count) and how it ended."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        OK = "ok", _("Finished")
        FAILED = "failed", _("Failed")

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    as_of = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    counts: Any = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    # The failing rule's name and the exception's class (never personal data).
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")

    def __str__(self) -> str:
        return f"retention {self.started_at:%Y-%m-%d %H:%M} {self.status}"
