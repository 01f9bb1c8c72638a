"""Street reports: where a problem is, what the public sees of it, who supports it, and
the apps allowed to send reports through Open311.

A report is the public face of a case (ADR 0015): the case (``cases`` app) carries the
workflow, the SLA, the queue, the history and the messages; the report carries the
location, the public text and photos, the public status and the supporters. Nothing here
is personal but the reporter, who is the case's applicant and never shown unless they
chose to show their name.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.accounts.models import Jurisdiction
from ecitizen.cases.models import Case
from ecitizen.core.fields import EncryptedJSONField, EncryptedTextField
from ecitizen.documents.models import Upload


class Report(models.Model):
    """A problem in a public place, reported by a resident, a visitor or an app."""

    class Source(models.TextChoices):
        WEB = "web", _("Website")
        OPEN311 = "open311", _("App (Open311)")
        STAFF = "staff", _("Staff")

    #: The case opened for it: at once, or when an anonymous reporter confirms their
    #: address (until then the report is in no queue and on no public page).
    case = models.OneToOneField(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="report"
    )
    #: The case's reference, kept here so that public lookups need no join: the Open311
    #: ``service_request_id``. Empty until the case opens.
    reference = models.CharField(max_length=32, unique=True, null=True, blank=True)
    #: Who reported it (the case's applicant): a resident's account, or one made for an
    #: email address that cannot sign in until its owner sets a password.
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="street_reports"
    )
    #: The answers to the category's questions while the case waits for confirmation.
    pending_answers = EncryptedJSONField(null=True, blank=True)
    #: The category: the slug of the case's service (the Open311 ``service_code``).
    category = models.CharField(max_length=63)
    latitude = models.FloatField()
    longitude = models.FloatField()
    ward = models.ForeignKey(
        Jurisdiction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: Where, in words: the street chosen in the gazetteer or typed by the reporter.
    address = models.CharField(max_length=300, blank=True)
    title = models.CharField(max_length=120)
    description = models.TextField()
    #: The case's state and whether it is still open, copied on every transition so that
    #: public lists and Open311 filter on this table alone.
    state = models.CharField(max_length=63)
    is_open = models.BooleanField(default=True)
    #: An anonymous report waits for its reporter to confirm their email address; until
    #: then it is not public (and not in any queue).
    confirmed_at = models.DateTimeField(null=True, blank=True)
    show_name = models.BooleanField(default=False)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.CharField(max_length=300, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged"
    )
    supporters_count = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.WEB)
    api_client = models.ForeignKey(
        "ApiClient", null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    device_id = models.CharField(max_length=100, blank=True)
    account_id = models.CharField(max_length=100, blank=True)
    #: Returned to the app that posted the report (Open311 ``token``), so that it can ask
    #: for the report's id again (``tokens/<token>``).
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    #: A photo already online, given by an app (Open311 ``media_url``).
    media_url = models.URLField(max_length=500, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [
            # Open311's and the public list's filters: a bounding box, then the rest.
            models.Index(fields=["latitude", "longitude"], name="report_location_idx"),
            models.Index(fields=["category", "-requested_at"], name="report_category_idx"),
            models.Index(fields=["is_open", "-requested_at"], name="report_status_idx"),
            models.Index(fields=["updated_at"], name="report_updated_idx"),
            # Open311's GET requests: a time window and a box, newest first, with a
            # status or without (bench/open311.py). The window is read in order and the
            # box checked within the index, so only the matching reports are read from
            # the table. Public reports only: every public read asks for those.
            models.Index(
                fields=["is_open", "-requested_at", "latitude", "longitude"],
                name="report_public_status_idx",
                condition=models.Q(confirmed_at__isnull=False, hidden_at__isnull=True),
            ),
            models.Index(
                fields=["-requested_at", "latitude", "longitude"],
                name="report_public_time_idx",
                condition=models.Q(confirmed_at__isnull=False, hidden_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.reference or f"unconfirmed report #{self.pk}"

    @property
    def is_public(self) -> bool:
        """Shown on public pages and served by Open311: confirmed, not hidden."""
        return self.confirmed_at is not None and self.hidden_at is None


class ReportPhoto(models.Model):
    """A photo of a report, stripped of its metadata (EXIF, GPS) before it was stored.
    Both files are encrypted uploads; the display copy is served publicly unless an
    official hid it, the original only to staff."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="photos")
    position = models.PositiveSmallIntegerField(default=0)
    original = models.ForeignKey(Upload, on_delete=models.PROTECT, related_name="+")
    display = models.ForeignKey(Upload, on_delete=models.PROTECT, related_name="+")
    #: The random id the public address uses (never the upload's).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["report", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.report_id} photo {self.position}"


class ReportSupporter(models.Model):
    """Someone who said "me too": counted on the report and told of its updates."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="supporters")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "user"], name="report_supporter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.report_id}: {self.user_id}"


class ReportUpdate(models.Model):
    """A public update of a report: a change of state and the text the public reads
    (internal notes stay on the case). Open311's ``servicerequestupdates`` serves these."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="updates")
    state = models.CharField(max_length=63)
    is_open = models.BooleanField()
    text = models.TextField(blank=True)
    #: "Public Works" or "Reporter": the public never sees an official's name.
    by_label = models.CharField(max_length=200, blank=True)
    #: The case's history line this update copies (``None`` for the first one): a
    #: second delivery of the same event adds nothing.
    case_event_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.report_id} → {self.state}"


class ReportConfirmation(models.Model):
    """The link an anonymous reporter follows to confirm their address: kept as a hash."""

    report = models.OneToOneField(Report, on_delete=models.CASCADE, related_name="confirmation")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"confirmation of {self.report_id}"


class ApiClient(models.Model):
    """An app allowed to post reports through Open311, with its key (kept hashed).

    The key is shown once, when it is issued; ``key_prefix`` lets an administrator tell
    keys apart. A revoked key is refused from then on; its reports stay."""

    name = models.CharField(_("name"), max_length=120)
    contact_email = EncryptedTextField(_("contact email"))
    key_prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    #: Reports this app may post per hour.
    hourly_limit = models.PositiveIntegerField(default=100)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"


class ReportAlert(models.Model):
    """An email alert of new public reports in a ward, or within a distance of a place,
    optionally of one category: one email per run of the ``reports alerts`` job listing
    what became public since the last one.

    Whose it is: ``user``, a resident's account, or, for a subscriber who is not signed
    in, the account (without a password) of the address they gave, made when the
    confirmation link is sent (notifications go to an account). The address itself is
    never copied here. An alert counts only once ``confirmed_at`` is set: at once for a
    resident with a verified address, else when the emailed link is followed.
    """

    class Kind(models.TextChoices):
        WARD = "ward", _("A ward")
        AREA = "area", _("Near a place")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_alerts"
    )
    kind = models.CharField(max_length=4, choices=Kind.choices)
    ward = models.ForeignKey(
        Jurisdiction, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    #: An area alert's centre and the words that name it (``{"lat", "lon", "label"}``),
    #: encrypted: the place someone watches is often where they live. Matched in Python.
    place = EncryptedJSONField(null=True, blank=True)
    radius_m = models.PositiveIntegerField(null=True, blank=True)
    #: One category's code, or "" for every category.
    category = models.CharField(max_length=63, blank=True)
    #: The random id that unsubscribe links sign and "Your alerts" addresses.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    #: The confirmation link's token, as a SHA-256 hash (the link is in the email only).
    confirm_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    confirm_sent_at = models.DateTimeField(null=True, blank=True)
    confirm_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    #: Reports that became public up to this time have been sent (or predate the alert):
    #: a rerun, or the run after a missed one, sends each new report once.
    sent_up_to = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["confirmed_at", "sent_up_to"], name="report_alert_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="ward", ward__isnull=False)
                    | models.Q(kind="area", place__isnull=False, radius_m__isnull=False)
                ),
                name="report_alert_where",
            )
        ]

    def __str__(self) -> str:
        return f"alert {self.public_id}"

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None
