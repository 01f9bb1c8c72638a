"""Platform-wide records: the audit trail and the health of background workers."""

from __future__ import annotations

import json
from typing import Any, ClassVar, NoReturn

from django.db import models
from django.utils.translation import gettext_lazy as _

from ecitizen.core.fields import EncryptedTextField

GENESIS_HASH = "0" * 64


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove an audit event."""

    code = "audit_append_only"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events cannot be updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("audit events cannot be deleted")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events cannot be updated")


class AuditEvent(models.Model):
    """One thing that happened, hash-chained to the event before it.

    Written only by :func:`ecitizen.core.services.audit_record`. ``hash`` is SHA-256 over
    the previous event's hash and this event's canonical content
    (:meth:`canonical_content`), so changing, removing or reordering any row breaks the
    chain from that row on, which ``ecitizen audit verify`` reports.
    """

    sequence = models.PositiveBigIntegerField(unique=True, editable=False)
    created_at = models.DateTimeField(editable=False)
    actor_id = models.BigIntegerField(null=True, blank=True, editable=False)
    # The actor's email address, sealed under their audit key (core.auditseal, ADR 0023).
    actor_label = models.CharField(max_length=512, blank=True, editable=False)
    # What the actor was acting as (department and role): shown to residents in the data
    # tracker instead of the official's name.
    actor_role = models.CharField(max_length=200, blank=True, editable=False)
    action = models.CharField(max_length=80, db_index=True, editable=False)
    object_type = models.CharField(max_length=80, blank=True, editable=False)
    object_id = models.CharField(max_length=80, blank=True, editable=False)
    # The person whose data the event concerns, for the resident's data tracker.
    subject_user_id = models.BigIntegerField(null=True, blank=True, db_index=True, editable=False)
    changes = models.JSONField(default=dict, blank=True, editable=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    objects: ClassVar[models.Manager[AuditEvent]] = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-sequence"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["subject_user_id", "action", "-sequence"])]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events cannot be deleted")

    def canonical_content(self) -> dict[str, Any]:
        """The fields covered by the hash, as JSON-safe values."""
        return {
            "sequence": self.sequence,
            "created_at": self.created_at.isoformat(timespec="microseconds"),
            "actor_id": self.actor_id,
            "actor_label": self.actor_label,
            "actor_role": self.actor_role,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "subject_user_id": self.subject_user_id,
            "changes": self.changes,
            "ip_address": self.ip_address,
            "prev_hash": self.prev_hash,
        }


class AuditChainHead(models.Model):
    """The last sequence number and hash of the chain: a single row, locked per append.

    Locking this row serialises appends, which is what keeps the chain linear when many
    processes write events at once.
    """

    sequence = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"audit head #{self.sequence}"


class AuditSubjectKey(models.Model):
    """One person's key for the personal values sealed in the audit trail
    (:mod:`ecitizen.core.auditseal`, ADR 0023): ``key`` is a random 256-bit AES key
    (base64), itself encrypted by the field-encryption KEK. Deleting the row erases, for
    good, every value sealed under it, without touching a hash of the chain. Unlike the
    events, this table is not append-only: erasure deletes from it."""

    subject_user_id = models.BigIntegerField(unique=True)
    key = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("audit subject key")
        verbose_name_plural = _("audit subject keys")

    def __str__(self) -> str:
        return f"audit key of user {self.subject_user_id}"


#: Names the layout of the signed message, so that a signature made for this purpose can
#: never be taken for a signature over anything else.
CHECKPOINT_FORMAT = "ecitizen-audit-checkpoint/1"


class AuditCheckpointQuerySet(models.QuerySet["AuditCheckpoint"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit checkpoints cannot be updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("audit checkpoints cannot be deleted")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit checkpoints cannot be updated")


class AuditCheckpoint(models.Model):
    """The chain head at one sequence, signed with an Ed25519 key held outside the database.

    Someone who can write the database can rewrite events and recompute every hash, but
    cannot make a signature over the new hashes without ``AUDIT_SIGNING_KEYS``: ``ecitizen
    audit verify`` checks each checkpoint's signature and that the recomputed chain has
    the signed hash at the signed sequence (ADR 0013). Written only by
    :func:`ecitizen.core.services.audit_checkpoint_sign`; append-only like the events.
    """

    sequence = models.PositiveBigIntegerField(unique=True, editable=False)
    hash = models.CharField(max_length=64, editable=False)
    key_id = models.CharField(max_length=32, editable=False)
    # Base64 of the 64-byte Ed25519 signature over signed_message().
    signature = models.CharField(max_length=100, editable=False)
    signed_at = models.DateTimeField(editable=False)

    objects: ClassVar[models.Manager[AuditCheckpoint]] = AuditCheckpointQuerySet.as_manager()

    class Meta:
        ordering = ["-sequence"]
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")

    def __str__(self) -> str:
        return f"checkpoint #{self.sequence}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit checkpoints cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit checkpoints cannot be deleted")

    def signed_content(self) -> dict[str, Any]:
        """What the signature covers, as JSON-safe values (also the exported anchor)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "sequence": self.sequence,
            "hash": self.hash,
            "key_id": self.key_id,
            "signed_at": self.signed_at.isoformat(timespec="microseconds"),
        }

    def signed_message(self) -> bytes:
        """The exact bytes signed: see :func:`checkpoint_message`."""
        return checkpoint_message(self.signed_content())


def checkpoint_message(content: dict[str, Any]) -> bytes:
    """The bytes a checkpoint's signature covers: the canonical JSON (sorted keys, compact)
    of its signed content, as :meth:`AuditCheckpoint.signed_content` gives it or as an
    exported checkpoint holds it."""
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode("utf-8")


class WorkerHeartbeat(models.Model):
    """A task worker process announcing that it is alive; read by ``/healthz``."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"


class ScheduledJob(models.Model):
    """What ``ecitizen scheduler`` remembers of one registered periodic job (by its
    name): when it is due next and how its last run went. Kept across restarts, so that a
    job missed while no scheduler ran is run once, not once per missed period."""

    class Result(models.TextChoices):
        RUNNING = "running", "running"
        OK = "ok", "ok"
        FAILED = "failed", "failed"

    name = models.CharField(max_length=100, unique=True)
    # None: never run, so due now.
    next_due_at = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_result = models.CharField(max_length=10, choices=Result.choices, blank=True)
    # The error of the last failed run (its last line and the command's error output).
    last_error = models.TextField(blank=True)
    runs = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.name


class SchedulerLease(models.Model):
    """The scheduler that runs the periodic jobs, one across all machines.

    On SQLite (and any database without advisory locks) this row is the lock: a
    scheduler holds it while ``expires_at`` is ahead and renews it; a standby takes it
    once it has expired. On PostgreSQL the lock is a session advisory lock and this row
    only says who holds it (for ``ecitizen scheduler --list``)."""

    name = models.CharField(max_length=40, unique=True)
    holder = models.CharField(max_length=200, blank=True)
    acquired_at = models.DateTimeField()
    renewed_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}: {self.holder or 'nobody'}"


class IdempotencyRecord(models.Model):
    """One ``Idempotency-Key`` an API client sent with a POST, and the response it got.

    ``scope`` names who sent it (the OAuth2 client and the user its token acts for, or the
    address of an anonymous caller), so two clients never share keys. ``fingerprint`` is a
    SHA-256 of the method, path and body: the same key with another body is refused.
    The unique constraint on (scope, key) is what stops two concurrent requests with the
    same key from both writing: the second waits for the first's transaction and then
    finds its record. The stored response may name the resident's data, so it is
    encrypted. Records are pruned ``IDEMPOTENCY_KEY_HOURS`` after creation
    (``core.idempotency``)."""

    scope = models.CharField(max_length=200)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)
    status_code = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=100)
    body = EncryptedTextField(blank=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["scope", "key"], name="core_idempotency_scope_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope}: {self.key}"
