"""Applications (drafts), cases and their history.

A resident's answers are personal data: they are stored encrypted (JSON inside an
:class:`~ecitizen.core.fields.EncryptedTextField`). What officials filter and sort on
(state, department, ward, due date, assignment) is kept in plain columns.

Written only by :mod:`ecitizen.cases.services`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ecitizen.accounts.models import Department, Jurisdiction
from ecitizen.catalogue.models import Service, ServiceVersion
from ecitizen.core.fields import EncryptedTextField


class Channel(models.TextChoices):
    ONLINE = "online", _("Online")
    ASSISTED = "assisted", _("Assisted (with a helper)")
    COUNTER = "counter", _("At the counter (paper form)")


class EncryptedJSONMixin:
    """``answers`` as a dict, stored as encrypted JSON in ``answers_json``."""

    answers_json: str | None

    @property
    def answers(self) -> dict[str, Any]:
        return json.loads(self.answers_json) if self.answers_json else {}

    @answers.setter
    def answers(self, value: dict[str, Any]) -> None:
        self.answers_json = json.dumps(value, sort_keys=True, ensure_ascii=False)


class Draft(EncryptedJSONMixin, models.Model):
    """An application in progress. Becomes a :class:`Case` when submitted (exactly once:
    submission locks the draft and links the case)."""

    class Status(models.TextChoices):
        OPEN = "open", _("In progress")
        SUBMITTED = "submitted", _("Submitted")
        EXPIRED = "expired", _("Expired")
        DISCARDED = "discarded", _("Deleted")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service_version = models.ForeignKey(ServiceVersion, on_delete=models.PROTECT, related_name="+")
    # The person the application is for, and who fills it in (an intermediary or a
    # counter clerk for assisted and counter channels; the applicant online).
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drafts"
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.ONLINE)
    consent_statement = models.TextField(blank=True)
    answers_json = EncryptedTextField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField()
    reminded_at = models.DateTimeField(null=True, blank=True)
    case = models.OneToOneField(
        "Case", null=True, blank=True, on_delete=models.PROTECT, related_name="draft"
    )

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"draft {self.pk}"


class DraftFile(models.Model):
    """A file uploaded for a file question of a draft (kept encrypted by documents)."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="files")
    question = models.CharField(max_length=63)
    upload = models.ForeignKey("documents.Upload", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.question}: {self.upload_id}"


class ReferenceCounter(models.Model):
    """The last case number used per service code and year (locked while incremented)."""

    code = models.CharField(max_length=4)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code", "year"], name="reference_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code}-{self.year}: {self.last}"


class Case(EncryptedJSONMixin, models.Model):
    """A submitted application, processed by the workflow of ``service_version``."""

    reference = models.CharField(max_length=32, unique=True)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="cases")
    service_version = models.ForeignKey(ServiceVersion, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="cases")
    ward = models.ForeignKey(
        Jurisdiction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cases"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cases_submitted"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.ONLINE)
    consent_statement = models.TextField(blank=True)
    answers_json = EncryptedTextField(null=True, blank=True)
    state = models.CharField(max_length=63)
    outcome = models.CharField(max_length=20, blank=True)
    #: In major units, to the currency's own precision (0 for JPY, 2 for GBP, 3 for KWD;
    #: four places hold every ISO 4217 currency, CLF included).
    fee_amount = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    fee_currency = models.CharField(max_length=3, blank=True)
    # The fee's bill: "due" while unpaid (a fee due before submission holds the case:
    # officials cannot act and the SLA clock waits), then "paid".
    payment_status = models.CharField(max_length=10, blank=True)
    bill_reference = models.CharField(max_length=40, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
    )
    submitted_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    # SLA clock: business days used while the clock ran, since when it runs (None while
    # paused or stopped), and the resulting due date (None while paused).
    sla_days_used = models.PositiveIntegerField(default=0)
    sla_running_since = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    # 0: not escalated; 1: supervisors told it is nearly due; 2: told it is overdue.
    escalation_level = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [
            models.Index(fields=["department", "state"]),
            models.Index(fields=["due_date"]),
            models.Index(fields=["applicant", "-submitted_at"]),
            # Open cases by due date: the overdue figures (queues, /metrics) read only
            # these, not the decided cases that are most of the table.
            models.Index(
                fields=["due_date"], condition=models.Q(outcome=""), name="case_open_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class CaseEvent(models.Model):
    """One line of a case's history. ``text`` may hold personal data (messages,
    reasons), so it is encrypted; internal notes are never shown to the resident."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        ACTION = "action", _("Action")
        NOTE = "note", _("Internal note")
        MESSAGE = "message", _("Message to the applicant")
        ASSIGNED = "assigned", _("Assigned")
        ESCALATED = "escalated", _("Escalated")
        DOCUMENT = "document", _("Document issued")
        PAID = "paid", _("Fee paid")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    action = models.CharField(max_length=63, blank=True)
    from_state = models.CharField(max_length=63, blank=True)
    to_state = models.CharField(max_length=63, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "Planning & Building — Case officer" or "Applicant": residents see the office,
    # never an official's name.
    actor_label = models.CharField(max_length=200, blank=True)
    text = EncryptedTextField(null=True, blank=True)
    visible_to_applicant = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.action}"


class CaseFile(models.Model):
    """A file of a case: from the application, a reply, or attached by an official."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="files")
    event = models.ForeignKey(
        CaseEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="files"
    )
    question = models.CharField(max_length=63, blank=True)
    upload = models.ForeignKey("documents.Upload", on_delete=models.PROTECT, related_name="+")
    visible_to_applicant = models.BooleanField(default=True)
    published = models.BooleanField(default=False)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.upload_id}"


class ServiceUsage(models.Model):
    """One start, abandonment or completion of an application, for completion rate,
    digital take-up and time to decision per service (no personal data)."""

    class Kind(models.TextChoices):
        STARTED = "started", _("Started")
        ABANDONED = "abandoned", _("Abandoned")
        COMPLETED = "completed", _("Completed")
        DECIDED = "decided", _("Decided")

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="usage")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    draft_id = models.UUIDField(null=True, blank=True)
    outcome = models.CharField(max_length=20, blank=True)
    # For "decided": business days from submission to decision.
    business_days = models.PositiveIntegerField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["service", "kind", "at"])]

    def __str__(self) -> str:
        return f"{self.service_id} {self.kind}"


class ServiceRating(models.Model):
    """How satisfied the applicant was with applying (one per case), for the service's
    satisfaction figure. The comment may hold personal data, so it is encrypted."""

    class Score(models.IntegerChoices):
        VERY_DISSATISFIED = 1, _("Very dissatisfied")
        DISSATISFIED = 2, _("Dissatisfied")
        NEUTRAL = 3, _("Neither satisfied nor dissatisfied")
        SATISFIED = 4, _("Satisfied")
        VERY_SATISFIED = 5, _("Very satisfied")

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="rating")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="ratings")
    score = models.PositiveSmallIntegerField(choices=Score.choices)
    comment = EncryptedTextField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.case_id}: {self.score}"


class AssistConsent(models.Model):
    """A resident's consent for a helper or an official to apply for them.

    The helper types the resident's email address; if an account has it, the resident
    receives a one-time code and reads it out. Only then does the application start, with
    their details prefilled. Whether an account exists is never shown: without one, a
    request is kept all the same (``resident`` empty) and no code ever matches it. An
    official at the counter may instead record an identity check made in person.
    Written only by ``cases.services.assist_consent_*``.
    """

    class Method(models.TextChoices):
        CODE = "code", _("One-time code read out by the resident")
        IN_PERSON = "in_person", _("Identity checked in person")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    helper = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # HMAC of the code under the secret key, bound to this request's id.
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    method = models.CharField(max_length=10, choices=Method.choices, blank=True)
    identity_document = models.CharField(max_length=40, blank=True)
    granted_at = models.DateTimeField(null=True, blank=True)
    draft = models.ForeignKey(
        Draft, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return str(self.pk)
