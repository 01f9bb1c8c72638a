"""Bills, payments, refunds and the double-entry ledger.

Amounts are integers in minor units (pence, cents) of ``settings.CURRENCY``; the server
computes every amount. Ledger entries are append-only (a correction is a reversing
transaction); database triggers refuse updates and deletes, as for the audit trail.

Written only by :mod:`ecitizen.payments.services` (and the sandbox provider's own rows by
:mod:`ecitizen.payments.providers.sandbox`).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.accounts.models import Department
from ecitizen.payments.texts import text_in


class LedgerAccount(models.Model):
    """An account of the chart: receivables, provider clearing, revenue per fee type and
    department, refunds. ``code`` is stable, e.g. ``revenue:fee:transport-licensing``."""

    class Kind(models.TextChoices):
        ASSET = "asset", _("Asset")
        LIABILITY = "liability", _("Liability")
        REVENUE = "revenue", _("Revenue")
        EXPENSE = "expense", _("Expense")

    code = models.CharField(max_length=120, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Bill(models.Model):
    """Money someone owes the authority, with what it is for (lines), when (due date and
    optional instalments) and what has been paid. ``paid_minor``, ``refunded_minor`` and
    ``credited_minor`` follow the ledger (``ecitizen ledger check`` proves it)."""

    class Kind(models.TextChoices):
        FEE = "fee", _("Service fee")
        PROPERTY_TAX = "property_tax", _("Property tax")
        FINE = "fine", _("Fine")
        INVOICE = "invoice", _("Invoice")
        ADJUSTMENT = "adjustment", _("Adjustment")

    reference = models.CharField(max_length=40, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bills",
    )
    # In the authority's own language (LANGUAGE_CODE): search, the ledger's memos and
    # the audit trail use it, and a reader whose language ``descriptions`` lacks reads it.
    description = models.CharField(max_length=300)
    # The description in each language of the site, {language: text} (see
    # payments.texts); empty for bills issued before it was kept. The database default
    # lets bulk COPY leave the column out.
    descriptions = models.JSONField(default=dict, db_default={}, blank=True)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="bills")
    currency = models.CharField(max_length=3)
    total_minor = models.BigIntegerField()
    paid_minor = models.BigIntegerField(default=0)
    refunded_minor = models.BigIntegerField(default=0)
    # Credit moved between the bills of one family (a bill and its adjustments) by
    # payments.services.bill_credits_apply: positive on a bill that a credit paid,
    # negative on the credit (a negative adjustment) that paid it. The database default
    # lets bulk COPY leave the column out.
    credited_minor = models.BigIntegerField(default=0, db_default=0)
    issued_on = models.DateField(default=timezone.localdate)
    due_date = models.DateField()
    # A blind index of the postcode the bill was sent to: a visitor paying by reference
    # proves it is their bill without the bill revealing the address.
    verification_index = models.CharField(max_length=64, blank=True)
    # What the bill is for elsewhere (a case reference, a parcel and year) and a key
    # that makes creating it idempotent.
    source_reference = models.CharField(max_length=60, blank=True, db_index=True)
    source_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    adjusts = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="adjustments"
    )
    # What the bill is for: [{"description", "amount_minor", "account"}], the account
    # being the code of the revenue account the line is credited to, and, when the issuer
    # gave them, "descriptions": the description per language, like the bill's. Kept on
    # the bill (not in rows of their own) so that a tax assessment writes one row per
    # property.
    lines = models.JSONField(default=list)
    # Instalments, when the bill may be paid in parts: [{"due_date", "amount_minor"}].
    # Payments are applied to the earliest instalments first.
    instalments = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-issued_on", "-pk"]
        indexes = [
            models.Index(fields=["payer", "-issued_on"]),
            models.Index(fields=["due_date"]),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def localised_description(self) -> str:
        """The description in the active language, else :attr:`description`."""
        return text_in(self.descriptions, self.description).text

    @property
    def description_lang(self) -> str:
        """The language of :attr:`localised_description` when it is not the active
        language's (a fallback), else ``""``: for a ``lang`` attribute on the page."""
        return text_in(self.descriptions, self.description).lang

    def localised_lines(self) -> list[dict[str, Any]]:
        """The lines, each with its ``description`` in the active language (else the
        stored one) and ``lang``, as for :attr:`description_lang`."""
        out = []
        for line in self.lines:
            text, lang = text_in(line.get("descriptions"), str(line.get("description", "")))
            out.append({**line, "description": text, "lang": lang})
        return out

    @property
    def balance_minor(self) -> int:
        """What is still owed (negative when overpaid, or for a credit not used yet)."""
        return self.total_minor - self.paid_minor + self.refunded_minor - self.credited_minor

    def instalment_status(self) -> list[dict[str, object]]:
        """Each instalment with what has been paid of it: net payments and credits
        applied go to the earliest instalments first."""
        available = self.paid_minor - self.refunded_minor + self.credited_minor
        status = []
        for number, item in enumerate(self.instalments, start=1):
            paid = max(0, min(int(item["amount_minor"]), available))
            available -= paid
            status.append(
                {
                    "number": number,
                    "due_date": item["due_date"],
                    "amount_minor": int(item["amount_minor"]),
                    "paid_minor": paid,
                    "outstanding_minor": int(item["amount_minor"]) - paid,
                }
            )
        return status


class PaymentState(models.TextChoices):
    """GOV.UK Pay's payment states. ``success``, ``failed``, ``cancelled`` and ``error``
    are finished."""

    CREATED = "created", _("Created")
    STARTED = "started", _("Started")
    SUBMITTED = "submitted", _("Submitted")
    SUCCESS = "success", _("Paid")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    ERROR = "error", _("Error")


FINISHED_STATES = frozenset(
    {PaymentState.SUCCESS, PaymentState.FAILED, PaymentState.CANCELLED, PaymentState.ERROR}
)


class Payment(models.Model):
    """One attempt to pay a bill (or an instalment of it) through a provider."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="payments")
    # The instalment this payment was for (1-based), or None for the whole balance.
    instalment_number = models.PositiveSmallIntegerField(null=True, blank=True)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=300)
    reference = models.CharField(max_length=60)
    provider = models.CharField(max_length=20)
    provider_id = models.CharField(max_length=100, null=True, blank=True)
    # Same key and same request: the same payment. Same key, different request: refused.
    idempotency_key = models.CharField(max_length=120, unique=True)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(
        max_length=10, choices=PaymentState.choices, default=PaymentState.CREATED
    )
    finished = models.BooleanField(default=False)
    return_url = models.CharField(max_length=500)
    next_url = models.CharField(max_length=500, blank=True)
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    failure_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)
    receipt_code = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_id"], name="payment_provider_id_unique"
            )
        ]
        indexes = [models.Index(fields=["finished", "created_at"])]

    def __str__(self) -> str:
        return str(self.pk)


class PaymentEvent(models.Model):
    """Everything that was learnt about a payment, from where: creation, the payer's
    return, webhooks (deduplicated by the provider's event id), reconciliation."""

    class Source(models.TextChoices):
        CREATED = "created", _("Created")
        RETURN = "return", _("Payer returned")
        WEBHOOK = "webhook", _("Webhook")
        RECONCILE = "reconcile", _("Reconciliation")
        EXPIRY = "expiry", _("Expired")
        REFUND = "refund", _("Refund")

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="events")
    source = models.CharField(max_length=10, choices=Source.choices)
    provider_event_id = models.CharField(max_length=100, null=True, blank=True)
    state = models.CharField(max_length=10, choices=PaymentState.choices)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "provider_event_id"], name="payment_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} {self.source} {self.state}"


class PaymentMismatch(models.Model):
    """A provider reported a successful payment of another amount or currency than the
    payment asked for (or did not say which). The payment was not settled: it finished
    in state ``error`` and the bill owes what it owed. A finance officer resolves it with
    the provider (a refund there, or a correction) and the payer."""

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="mismatch")
    expected_amount_minor = models.BigIntegerField()
    expected_currency = models.CharField(max_length=3)
    # What the provider reported: None and "" when it did not say.
    reported_amount_minor = models.BigIntegerField(null=True, blank=True)
    reported_currency = models.CharField(max_length=10, blank=True)
    source = models.CharField(max_length=10, choices=PaymentEvent.Source.choices)
    provider_event_id = models.CharField(max_length=100, blank=True)
    detected_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-detected_at"]

    def __str__(self) -> str:
        return f"{self.payment_id}: {self.reported_amount_minor} {self.reported_currency}"


class Refund(models.Model):
    class State(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        SUCCESS = "success", _("Refunded")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.BigIntegerField()
    reason = models.CharField(max_length=500)
    state = models.CharField(max_length=10, choices=State.choices, default=State.SUBMITTED)
    provider_refund_id = models.CharField(max_length=100, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.pk)


class LedgerTransaction(models.Model):
    """A balanced set of entries (their amounts sum to zero). ``key`` makes each posting
    happen once: ``settle:<payment>``, ``charge:<bill>``, ``refund:<refund>``."""

    class Kind(models.TextChoices):
        CHARGE = "charge", _("Charge")
        PAYMENT = "payment", _("Payment")
        REFUND = "refund", _("Refund")
        ADJUSTMENT = "adjustment", _("Adjustment")
        REVERSAL = "reversal", _("Reversal")

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    memo = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.key


class LedgerEntry(models.Model):
    """One side of a posting: positive amounts are debits, negative are credits."""

    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    # No index of its own: the (bill, account) index below serves lookups by bill, and
    # one index fewer is one write fewer for each of a tax assessment's million charges.
    bill = models.ForeignKey(
        Bill,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
        db_index=False,
    )
    amount_minor = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["bill", "account"])]

    def __str__(self) -> str:
        return f"{self.transaction_id} {self.account_id} {self.amount_minor}"


class SandboxCharge(models.Model):
    """The sandbox provider's own record of a payment (what a real provider keeps on its
    side): its state, the card outcome and the webhooks it owes the platform."""

    id = models.CharField(primary_key=True, max_length=40)
    idempotency_key = models.CharField(max_length=120, unique=True)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=60)
    description = models.CharField(max_length=300)
    return_url = models.CharField(max_length=500)
    state = models.CharField(
        max_length=10, choices=PaymentState.choices, default=PaymentState.CREATED
    )
    card_last4 = models.CharField(max_length=4, blank=True)
    failure_code = models.CharField(max_length=40, blank=True)
    refunded_minor = models.BigIntegerField(default=0)
    page_used = models.BooleanField(default=False)
    event_sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.id


class PayByReferenceThrottle(models.Model):
    """Wrong answers at ``/pay/`` (a reference and a postcode that match no bill), per
    reference typed and per client address: growing waits, as for sign-in (ADR 0006).
    The reference is kept as a blind index, like the email addresses of the sign-in
    throttle, so the table holds no typed references; an unknown reference is counted
    exactly like a known one, so the counts reveal nothing either."""

    class Scope(models.TextChoices):
        REFERENCE = "reference"
        IP = "ip"

    scope = models.CharField(max_length=10, choices=Scope.choices)
    key = models.CharField(max_length=254)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField()
    blocked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "key"], name="pay_by_reference_throttle_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"
