"""Models of a resident's data exports ("Your data": download everything the platform
holds about you).

Written only by :mod:`ecitizen.privacy.exports`; read through
:mod:`ecitizen.privacy.selectors`.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["DataExport"]


class DataExport(models.Model):
    """One download of everything the platform holds about its ``owner``.

    Requested by the resident, prepared by a background task (``status`` goes from
    ``pending`` to ``running`` to ``ready``, or ``failed``), then downloadable by the
    owner alone until ``expires_at``, when the stored file is deleted and the row marked
    ``expired``. The ZIP is kept in Django's default storage as AES-256-GCM ciphertext
    (:func:`ecitizen.core.crypto.encrypt_bytes`) bound to this export's id
    (:attr:`encryption_context`); ``sha256`` is the plaintext's digest, checked on every
    read. The random UUID is the only handle URLs use.

    At most one export per owner is in progress (pending or running) at a time: a
    database constraint, so two requests at once cannot both start one.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to start")
        RUNNING = "running", _("Being prepared")
        READY = "ready", _("Ready to download")
        FAILED = "failed", _("Could not be prepared")
        EXPIRED = "expired", _("Expired")

    IN_PROGRESS = (Status.PENDING, Status.RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="data_exports",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # How far the task got: parts gathered out of parts to gather (the registered kinds
    # of personal data, then the files, the summary and the archive).
    steps_done = models.PositiveSmallIntegerField(default=0)
    steps_total = models.PositiveSmallIntegerField(default=0)
    # The ``PersonalData.name`` (or "files", "summary", "archive") being gathered now.
    step = models.CharField(max_length=100, blank=True)
    # The language of the summary and of the notification (the owner's at request time).
    language = models.CharField(_("language"), max_length=10)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A stable code of why preparing failed (never personal data; details are logged).
    failure = models.CharField(max_length=100, blank=True)
    storage_name = models.CharField(max_length=255, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    # The key-encryption key the file's data key is wrapped with (for key rotation).
    key_id = models.CharField(max_length=32, blank=True)
    downloads = models.PositiveIntegerField(default=0)
    last_downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")
        constraints = [
            models.UniqueConstraint(
                fields=["owner"],
                condition=models.Q(status__in=["pending", "running"]),
                name="privacy_one_export_in_progress_per_owner",
            ),
            models.CheckConstraint(
                condition=models.Q(steps_done__lte=models.F("steps_total")),
                name="privacy_export_steps_done_within_total",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="privacy_export_due_idx")]

    def __str__(self) -> str:
        return str(self.pk)

    @property
    def encryption_context(self) -> str:
        """The associated data that binds the stored ciphertext to this export."""
        return f"privacy.export:{self.pk}"

    @property
    def in_progress(self) -> bool:
        return self.status in self.IN_PROGRESS

    @property
    def percent(self) -> int:
        """How far preparing got, 0 to 100."""
        if not self.steps_total:
            return 0
        return min(100, self.steps_done * 100 // self.steps_total)
