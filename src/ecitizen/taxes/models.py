"""The tax roll (properties and their owners), each year's tax configuration (rates per
use class, reliefs, instalment plan), assessment runs and the reminders sent.

Amounts are integers in minor units of ``settings.CURRENCY``. Rates and relief
percentages are kept as Decimal *text* so that no database turns them into floats; the
assessment computes them exactly (see :mod:`ecitizen.taxes.arithmetic`).

The bills themselves are the payments app's :class:`~ecitizen.payments.models.Bill`
rows: ``source_key`` ``tax:<year>:<parcel>`` for the year's bill and
``tax:<year>:<parcel>:adj:<n>`` for adjustments, ``source_reference`` the parcel number.

Written only by :mod:`ecitizen.taxes.services`.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecitizen.accounts.models import Department, Jurisdiction
from ecitizen.core.fields import EncryptedTextField


class UseClass(models.TextChoices):
    RESIDENTIAL = "residential", _("Residential")
    COMMERCIAL = "commercial", _("Commercial")
    INDUSTRIAL = "industrial", _("Industrial")
    AGRICULTURAL = "agricultural", _("Agricultural")
    CHARITY = "charity", _("Charity")


class Exemption(models.TextChoices):
    """Why a property pays no tax at all, whatever its use class and value."""

    NONE = "", _("None")
    PLACE_OF_WORSHIP = "place_of_worship", _("Place of worship")
    PUBLIC_AUTHORITY = "public_authority", _("Used by a public authority")
    UNINHABITABLE = "uninhabitable", _("Uninhabitable or derelict")


class Property(models.Model):
    """A parcel on the tax roll: where it is, what it is used for and what it is worth.

    The address is encrypted at rest: with the ownerships it says where a person lives.
    The roll is found and sorted by parcel number and ward, never by address."""

    parcel = models.CharField(_("parcel number"), max_length=30, unique=True)
    address_line_1 = EncryptedTextField(_("address line 1"), max_length=200)
    address_line_2 = EncryptedTextField(_("address line 2"), max_length=200, blank=True)
    town = EncryptedTextField(_("town or city"), max_length=100)
    postcode = EncryptedTextField(_("postcode"), max_length=12)
    ward = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="properties")
    use_class = models.CharField(max_length=20, choices=UseClass.choices)
    # The assessed (taxable) value in minor units; changed by a reassessment.
    assessed_value_minor = models.BigIntegerField()
    exemption = models.CharField(max_length=20, choices=Exemption.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["parcel"]
        verbose_name_plural = "properties"

    def __str__(self) -> str:
        return f"{self.parcel} {self.address}"

    @property
    def address(self) -> str:
        """The address on one line, as printed on a bill."""
        parts = [self.address_line_1, self.address_line_2, self.town, self.postcode]
        return ", ".join(part for part in parts if part)


class Ownership(models.Model):
    """Who owns (a share of) a property, from ``start`` to ``end`` (``None``: still).
    Owners need not have an account: ``owner`` is then empty and ``owner_name`` (encrypted
    at rest) says who."""

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="ownerships")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="property_ownerships",
    )
    owner_name = EncryptedTextField(max_length=200)
    # The owner's share as a fraction, e.g. "0.5" for joint owners.
    share = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal(1))
    owner_occupier = models.BooleanField(default=False)
    start = models.DateField()
    end = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["property", "-share", "start", "pk"]
        indexes = [models.Index(fields=["owner", "end"])]

    def __str__(self) -> str:
        return f"{self.owner_name} ({self.property.parcel})"


class TaxYear(models.Model):
    """One tax year's configuration, loaded from ``taxes/config/<year>.yaml`` by
    ``ecitizen tax config load``. ``checksum`` is the SHA-256 of its canonical JSON, so
    loading the same file again changes nothing."""

    year = models.PositiveSmallIntegerField(unique=True)
    # The department the bills are issued by and whose revenue they are.
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    starts_on = models.DateField()
    ends_on = models.DateField()
    checksum = models.CharField(max_length=64)
    loaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)


class TaxRate(models.Model):
    """Tax per unit of assessed value for one use class, e.g. ``0.0065`` (0.65 %)."""

    tax_year = models.ForeignKey(TaxYear, on_delete=models.CASCADE, related_name="rates")
    use_class = models.CharField(max_length=20, choices=UseClass.choices)
    # Decimal as text (see the module docstring).
    rate = models.CharField(max_length=20)

    class Meta:
        ordering = ["tax_year", "use_class"]
        constraints = [
            models.UniqueConstraint(fields=["tax_year", "use_class"], name="tax_rate_once")
        ]

    def __str__(self) -> str:
        return f"{self.tax_year.year} {self.use_class} {self.rate}"

    @property
    def rate_decimal(self) -> Decimal:
        return Decimal(self.rate)


class Relief(models.Model):
    """A percentage off the tax for the properties it applies to. Reliefs do not stack:
    a property gets the most generous one it qualifies for (ADR 0012)."""

    class Kind(models.TextChoices):
        OWNER_OCCUPIER = "owner_occupier", _("Owner-occupier relief")
        CHARITY = "charity", _("Charity relief")
        AGRICULTURAL = "agricultural", _("Agricultural relief")
        SMALL_PROPERTY = "small_property", _("Small property relief")

    tax_year = models.ForeignKey(TaxYear, on_delete=models.CASCADE, related_name="reliefs")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Percent of the tax taken off, as Decimal text: "10", "100" (a full exemption).
    percent = models.CharField(max_length=10)
    # The use classes it applies to (empty: all).
    use_classes = models.JSONField(default=list, blank=True)
    # Only when an owner lives in the property.
    owner_occupier_only = models.BooleanField(default=False)
    # Only up to this assessed value (minor units), e.g. for small properties.
    max_value_minor = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["tax_year", "kind"]
        constraints = [models.UniqueConstraint(fields=["tax_year", "kind"], name="relief_once")]

    def __str__(self) -> str:
        return f"{self.tax_year.year} {self.kind} {self.percent}%"


class InstalmentPlan(models.Model):
    """When a year's tax is payable: equal instalments on these dates, the last one
    absorbing the rounding."""

    tax_year = models.OneToOneField(
        TaxYear, on_delete=models.CASCADE, related_name="instalment_plan"
    )
    # ISO dates, in order.
    due_dates = models.JSONField()

    def __str__(self) -> str:
        return f"{self.tax_year.year}: {len(self.due_dates)} instalments"


class AssessmentRun(models.Model):
    """One run of ``ecitizen tax assess``: what it did, and the year's totals when it
    finished (``{"use_class": {...}, "ward": {...}, "total": {...}}`` with
    ``{"count", "amount_minor"}`` for each key)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        STOPPED = "stopped", _("Stopped before the end")
        FAILED = "failed", _("Failed")

    tax_year = models.ForeignKey(TaxYear, on_delete=models.PROTECT, related_name="runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    batch_size = models.PositiveIntegerField()
    batches = models.PositiveIntegerField(default=0)
    properties_seen = models.PositiveIntegerField(default=0)
    bills_created = models.PositiveIntegerField(default=0)
    # Properties whose tax is nothing (exempt, or fully relieved): no bill is issued.
    zero_tax = models.PositiveIntegerField(default=0)
    totals = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.tax_year.year} {self.started_at:%Y-%m-%d %H:%M} {self.status}"


class TaxNotice(models.Model):
    """A reminder or overdue notice sent for one instalment of a bill: at most one of each
    kind per instalment, so ``ecitizen tax remind`` can run as often as wanted."""

    class Kind(models.TextChoices):
        DUE = "due", _("Reminder before the due date")
        OVERDUE = "overdue", _("Overdue notice")

    bill = models.ForeignKey("payments.Bill", on_delete=models.PROTECT, related_name="tax_notices")
    instalment = models.PositiveSmallIntegerField()  # 1-based
    kind = models.CharField(max_length=10, choices=Kind.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    amount_minor = models.BigIntegerField()
    due_date = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["bill", "instalment", "kind"], name="tax_notice_once")
        ]

    def __str__(self) -> str:
        return f"{self.bill_id} #{self.instalment} {self.kind}"
