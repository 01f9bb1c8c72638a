"""Encrypted uploads and the official documents the authority issues.

Written only by :mod:`ecitizen.documents.services`; read through
:mod:`ecitizen.documents.selectors`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.core.fields import EncryptedJSONField, EncryptedTextField


class Upload(models.Model):
    """A file kept encrypted in Django's default storage (local disk or object storage).

    The stored object is AES-256-GCM ciphertext (:func:`ecitizen.core.crypto.encrypt_bytes`)
    bound to this upload's id; ``sha256`` is the digest of the plaintext, checked again
    on every read. The random UUID primary key is the only handle other apps and URLs use,
    so ids cannot be guessed. ``owner`` is the resident the file belongs to (``None`` for
    files that belong to the authority alone).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="uploads",
    )
    # File names often carry a person's name ("passport-alex-morgan.pdf"): encrypted too.
    filename = EncryptedTextField(_("file name"))
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=255, unique=True)
    # The key-encryption key the file's data key is wrapped with (for key rotation).
    key_id = models.CharField(max_length=32, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("upload")
        verbose_name_plural = _("uploads")

    def __str__(self) -> str:
        return str(self.pk)

    @property
    def encryption_context(self) -> str:
        """The associated data that binds the stored ciphertext to this upload."""
        return f"documents.upload:{self.pk}"


class Remit(models.TextChoices):
    """Which officials work with an issued document (always within its department and
    ward): caseworkers for licences, permits and certificates; finance for receipts."""

    CASEWORK = "casework", _("Casework")
    FINANCE = "finance", _("Finance")


class IssuedDocument(models.Model):
    """A licence, permit or certificate: a signed PDF that anyone can check at
    ``/verify/<code>/``.

    ``printed`` is exactly what is printed on the document (a list of ``[label, value]``
    pairs); the verification page shows that and nothing more. The holder's name, the
    printed pairs (licence numbers, dates and places of birth, parents' names...) and the
    reason for a revocation are encrypted at rest. ``reference`` is the case
    reference as text: documents do not depend on cases. At most one document per
    ``(reference, template)`` is current (not revoked).
    """

    code = models.CharField(_("verification code"), max_length=32, unique=True)
    # None for a receipt of a payment made without an account (pay by reference).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="issued_documents",
    )
    title = models.CharField(_("title"), max_length=200)
    template = models.CharField(_("template"), max_length=40)
    reference = models.CharField(_("reference"), max_length=40, db_index=True)
    holder_name = EncryptedTextField(_("holder name"), max_length=200)
    printed = EncryptedJSONField(default=list, blank=True)
    language = models.CharField(_("language"), max_length=10)
    issued_at = models.DateTimeField(_("issued at"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_reason = EncryptedTextField(_("reason for revoking"), blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The remit the document falls under for officials: the department and ward of the
    # case it came from (or the bill's department for a receipt), and which group of
    # officials works with it. Officials outside it get 404 (docs/security.md).
    department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ward = models.ForeignKey(
        "accounts.Jurisdiction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    remit = models.CharField(max_length=20, choices=Remit.choices, default=Remit.CASEWORK)
    pdf = models.OneToOneField(Upload, on_delete=models.PROTECT, related_name="issued_document")
    pdf_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["-issued_at", "-pk"]
        verbose_name = _("issued document")
        verbose_name_plural = _("issued documents")
        constraints = [
            models.UniqueConstraint(
                fields=["reference", "template"],
                condition=models.Q(revoked_at__isnull=True),
                name="documents_one_current_per_reference_template",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.reference})"

    @property
    def code_display(self) -> str:
        """The code in groups of four, as printed under the QR code."""
        return "-".join(self.code[i : i + 4] for i in range(0, len(self.code), 4))

    def printed_pairs(self) -> list[tuple[str, str]]:
        """``printed`` as (label, value) tuples."""
        pairs: list[Any] = self.printed or []
        return [(str(label), str(value)) for label, value in pairs]
