"""What residents tell the authority: how satisfied they were with a transaction
(:class:`Rating`), compliments, suggestions and complaints (:class:`Submission`), and
what officials changed in answer ("You said, we did": :class:`ServiceChange`).

Ratings hold no personal data: no account, no name, only what was done (a step and its
reference, to rate each transaction once) and a comment whose personal details were
removed before it was stored (``feedback.redaction``). That is why comments are kept in
clear and can be searched by officials.

Written only by :mod:`ecitizen.feedback.services`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.core.fields import EncryptedJSONField


class Level(models.IntegerChoices):
    """GOV.UK's five-point satisfaction scale."""

    VERY_DISSATISFIED = 1, _("Very dissatisfied")
    DISSATISFIED = 2, _("Dissatisfied")
    NEUTRAL = 3, _("Neither satisfied nor dissatisfied")
    SATISFIED = 4, _("Satisfied")
    VERY_SATISFIED = 5, _("Very satisfied")


class Step(models.TextChoices):
    """The transaction a rating is about: what the resident had just done."""

    APPLICATION = "application", _("Application sent")
    PAYMENT = "payment", _("Payment made")
    REPORT = "report", _("Problem reported")
    DOCUMENT = "document", _("Document issued")


class Rating(models.Model):
    """How satisfied someone was with one transaction, at most once per transaction."""

    class Source(models.TextChoices):
        WEB = "web", _("Satisfaction form")
        #: Copied from the cases app's ratings (migration 0002).
        CASES = "cases", _("Earlier application feedback")
        DEMO = "demo", _("Demo")

    step = models.CharField(max_length=20, choices=Step.choices)
    #: The transaction's own reference: a case or report reference, a payment's id, an
    #: issued document's code. With ``step``, it makes a second rating impossible.
    reference = models.CharField(max_length=64)
    #: The catalogue service rated, when the transaction belongs to one.
    service = models.ForeignKey(
        "catalogue.Service", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    #: What figures are grouped by: the service's slug, or for a transaction outside the
    #: catalogue a key of this app (``payments.fine``; see ``services.service_label``).
    service_key = models.CharField(max_length=80)
    department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    level = models.PositiveSmallIntegerField(choices=Level.choices)
    #: Redacted before it was stored (``feedback.redaction``); empty when none was given.
    comment = models.TextField(blank=True)
    #: How many personal details were taken out of the comment.
    redactions = models.PositiveSmallIntegerField(default=0)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.WEB)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["step", "reference"], name="feedback_rating_once")
        ]
        indexes = [
            models.Index(fields=["department", "created_at"]),
            models.Index(fields=["service_key", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.step} {self.reference}: {self.level}"


class Kind(models.TextChoices):
    COMPLIMENT = "compliment", _("Compliment")
    SUGGESTION = "suggestion", _("Suggestion")
    COMPLAINT = "complaint", _("Complaint")


class Submission(models.Model):
    """A compliment, a suggestion or a complaint about a service or a department.

    Sent signed in, or with an email address confirmed by a link (``PENDING`` until
    then). A complaint is a case of the complaint service (``case``), worked by
    officials in the case queue; this row keeps what the statutory figures need: the
    deadlines and when each stage was reached.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the email address to be confirmed")
        RECEIVED = "received", _("Received")

    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    about_service = models.ForeignKey(
        "catalogue.Service", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    about_department = models.ForeignKey(
        "accounts.Department", on_delete=models.PROTECT, related_name="+"
    )
    #: A compliment's or a suggestion's text, redacted like a rating's comment. A
    #: complaint's details are the case's answers (encrypted by the cases app).
    text = models.TextField(blank=True)
    redactions = models.PositiveSmallIntegerField(default=0)
    #: A complaint's answers while its email address is not confirmed yet.
    pending_answers = EncryptedJSONField(null=True, blank=True)
    #: SHA-256 of the emailed confirmation link's token, while it can still be used.
    confirm_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    confirm_expires_at = models.DateTimeField(null=True, blank=True)
    #: A random key of the form that sent it: the same form sent twice (a double click,
    #: a refresh) finds the first submission instead of making a second.
    form_key = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(null=True, blank=True)

    # --- a complaint ---------------------------------------------------------------------
    case = models.OneToOneField(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    #: The case's current state (copied as it moves), for the figures.
    state = models.CharField(max_length=63, blank=True)
    acknowledge_by = models.DateField(null=True, blank=True)
    respond_by = models.DateField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    stage2_requested_at = models.DateTimeField(null=True, blank=True)
    stage2_respond_by = models.DateField(null=True, blank=True)
    stage2_responded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "form_key"], name="feedback_submission_once_per_form"
            )
        ]
        indexes = [
            models.Index(fields=["kind", "status", "created_at"]),
            models.Index(fields=["about_department", "created_at"]),
            models.Index(fields=["status", "confirm_expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk}"


class ServiceChange(models.Model):
    """ "You said, we did": a change made to a service in answer to feedback, published
    by an official of its department. Withdrawing it hides it from the public page and
    keeps the record."""

    service = models.ForeignKey("catalogue.Service", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.PROTECT, related_name="+"
    )
    you_said = models.TextField()
    we_did = models.TextField()
    #: The language it was written in (the page marks it up so).
    language = models.CharField(max_length=10)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-published_at", "-pk"]
        indexes = [models.Index(fields=["service", "withdrawn_at", "published_at"])]

    def __str__(self) -> str:
        return f"{self.service_id}: {self.we_did[:40]}"
