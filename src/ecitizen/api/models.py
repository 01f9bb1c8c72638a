"""Integrators: their OAuth2 clients, residents' consents to them, and webhooks.

An OAuth2 client is django-oauth-toolkit's ``Application`` (its client id, hashed secret,
redirect URIs and grant type); :class:`IntegrationClient` adds what the platform needs to
know about it: whether it acts for residents or is a back-office system, the scopes it may
be granted and, for a back-office system, the department (and ward) and role it works in,
held by its own service account.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oauth2_provider.settings import oauth2_settings

from ecitizen.accounts.models import Department, Jurisdiction
from ecitizen.core.fields import EncryptedTextField


class IntegrationClient(models.Model):
    """What the platform knows about one OAuth2 client (``application``)."""

    class Kind(models.TextChoices):
        RESIDENT_APP = "resident_app", _("An app acting for residents (authorization code)")
        BACK_OFFICE = "back_office", _("A back-office system (client credentials)")

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="integration"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    #: The scopes it may be granted, separated by spaces (a subset of its kind's scopes).
    scopes = models.CharField(max_length=300)
    #: A back-office system's remit: one department, optionally one ward, one role. Its
    #: ``service_account`` holds that role there, so every access rule applies to it.
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ward = models.ForeignKey(
        Jurisdiction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(max_length=40, blank=True)
    service_account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="integration_client",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    #: A disabled client gets no token and its tokens were revoked when it was disabled.
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return str(self.application.name)

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


class Consent(models.Model):
    """A resident let an app act for them with ``scopes`` (the consent page's "Allow").

    One row per resident and app: consenting again replaces the scopes and the date;
    revoking (from "Apps connected to your account") sets ``revoked_at`` and revokes the
    app's tokens for that resident."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    scopes = models.CharField(max_length=300)
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-granted_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "application"], name="api_consent_once")
        ]

    def __str__(self) -> str:
        return f"consent #{self.pk}"

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class WebhookSubscription(models.Model):
    """A client asks to be told of ``events`` at ``url``, for the user its token acts as
    (the resident, or the back-office system's service account): only events about what
    that user may see are delivered. Deliveries are signed with ``secret``."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(
        IntegrationClient, on_delete=models.CASCADE, related_name="subscriptions"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=500)
    #: The webhook event names (``case.submitted``...), as registered.
    events = models.JSONField(default=list)
    secret = EncryptedTextField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.url} ({', '.join(self.events)})"


class WebhookSubscriptionEvent(models.Model):
    """One event name a subscription names, as a row: what the fan-out looks subscriptions
    up by, in the database (``events``, the list as the client gave it, is what the API
    shows). Written with the subscription (``webhooks.subscription_create``), never
    changed."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="event_names"
    )
    name = models.CharField(max_length=63)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "name"], name="api_subscription_event")
        ]
        indexes = [models.Index(fields=["name", "subscription"], name="api_subscription_event_idx")]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one subscription: its body is fixed when it is
    made (references, codes and states only), so every attempt sends the same bytes. A
    replay is a new delivery with the same ``event_id``."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=63)
    event_id = models.UUIDField(default=uuid.uuid4)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="api_delivery_due_idx")]

    def __str__(self) -> str:
        return f"{self.event} delivery {self.uid}"


class WebhookAttempt(models.Model):
    """One try at sending a delivery: the answer's status code (none when the endpoint
    could not be reached), how long it took and what went wrong, as a category only
    (``error``): the client reads this log, so it never holds an address the name
    resolved to or a system's error text (those go to the log, ``webhooks``)."""

    class Error(models.TextChoices):
        #: The endpoint answered, with a status other than 2xx (see ``status_code``).
        HTTP_STATUS = "http_status"
        #: No answer within ``WEBHOOK_TIMEOUT_SECONDS``.
        TIMEOUT = "timeout"
        #: The connection was refused, reset or could not be made.
        CONNECTION_FAILED = "connection_failed"
        #: The TLS handshake failed (a certificate that does not verify, say).
        TLS_FAILED = "tls_failed"
        #: The answer was not HTTP.
        PROTOCOL_ERROR = "protocol_error"
        #: The host name does not resolve, or not to a public address (one category,
        #: so that a client cannot learn which internal names exist).
        ADDRESS_REFUSED = "address_refused"
        #: The address cannot be sent to (a port out of range, say).
        INVALID_ADDRESS = "invalid_address"
        #: Something failed on the platform's side.
        INTERNAL_ERROR = "internal_error"

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    #: Empty when the endpoint answered 2xx.
    error = models.CharField(max_length=20, choices=Error.choices, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="api_attempt_once")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number}"
