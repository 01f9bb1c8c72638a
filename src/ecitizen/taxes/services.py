"""Writes of the taxes app: the year's configuration, the roll, the annual assessment,
reassessment after an appeal, and reminders.

Bills are issued through the payments app (:func:`~ecitizen.payments.services.bills_create_bulk`,
:func:`~ecitizen.payments.services.bill_create` and
:func:`~ecitizen.payments.services.bill_adjustment_issue`); each is keyed by ``source_key``
(``tax:<year>:<parcel>``, adjustments ``tax:<year>:<parcel>:adj:<n>``) so that nothing is
ever issued twice. Bills are the payments app's: this module reads the ones its services
and selectors return, and never queries the payments app's tables itself.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ecitizen.accounts.models import Department, User
from ecitizen.core.errors import DomainError
from ecitizen.core.services import audit_record
from ecitizen.notifications.services import notification_send
from ecitizen.payments.money import format_minor
from ecitizen.payments.selectors import BillKind, bill_ids_with_balance, bills_by_ids
from ecitizen.payments.services import (
    BillFamily,
    BillSpec,
    LineSpec,
    PreparedBills,
    bill_adjustment_issue,
    bill_create,
    bill_family_lock,
    bill_lock,
    bills_create_bulk,
    bills_prepare,
)
from ecitizen.taxes import selectors
from ecitizen.taxes.arithmetic import Assessment, YearRules, instalments_split
from ecitizen.taxes.config import TaxConfigError, YearConfig, year_config_read
from ecitizen.taxes.models import (
    AssessmentRun,
    Exemption,
    InstalmentPlan,
    Ownership,
    Property,
    Relief,
    TaxNotice,
    TaxRate,
    TaxYear,
    UseClass,
)

if TYPE_CHECKING:
    from ecitizen.payments.selectors import BillRecord as Bill

logger = logging.getLogger(__name__)

#: Revenue kinds of the bill lines (the ledger's revenue accounts): the tax, and the
#: reliefs granted against it (a contra-revenue account, debited).
REVENUE_TAX = "property_tax"
REVENUE_RELIEF = selectors.REVENUE_RELIEF
DEFAULT_BATCH_SIZE = 5000
GC_EVERY_BATCHES = 50
#: A positive adjustment with no instalment date left in the year is due this long after
#: it is issued.
ADJUSTMENT_PAYABLE_DAYS = 30

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "OwnerSpec",
    "PropertySpec",
    "TaxConfigError",
    "TaxError",
    "YearAssessed",
    "YearNotConfigured",
    "ownership_end",
    "ownership_record",
    "properties_register_bulk",
    "property_reassess",
    "property_register",
    "tax_assess",
    "tax_config_load",
    "tax_reminders_send",
    "tax_year_configure",
]


class TaxError(DomainError):
    code = "tax_error"


class YearNotConfigured(TaxError):
    code = "tax_year_not_configured"


class YearAssessed(TaxError):
    """The year's configuration cannot change once bills were issued under it."""

    code = "tax_year_assessed"


# --- keys and references ----------------------------------------------------------------


def bill_source_key(year: int, parcel: str) -> str:
    return f"tax:{year}:{parcel}"


def adjustment_source_key(year: int, parcel: str, number: int) -> str:
    return f"tax:{year}:{parcel}:adj:{number}"


def bill_reference(year: int, property_id: int) -> str:
    """``RIV-PT-2027-0001234``: stable for a property and year, so a re-run computes
    the same reference as the run before it."""
    return f"{settings.CASE_REFERENCE_PREFIX}-PT-{year}-{property_id:07d}"


# --- configuration ----------------------------------------------------------------------


@transaction.atomic
def tax_year_configure(*, config: YearConfig, actor: Any) -> tuple[TaxYear, bool]:
    """Store a year's rates, reliefs and instalment plan. Returns ``(tax_year, changed)``.

    Idempotent: the same configuration again changes nothing and records nothing. A
    different one replaces the year's rows, unless bills were issued for the year
    already (raises :class:`YearAssessed`: an appeal is settled by reassessing one
    property, never by changing the rules under bills already sent). Raises
    :class:`TaxConfigError` for an unknown department.
    """
    department = Department.objects.filter(slug=config.department).first()
    if department is None:
        raise TaxConfigError(f"department {config.department!r} does not exist")
    checksum = config.checksum
    tax_year = TaxYear.objects.select_for_update().filter(year=config.year).first()
    if tax_year is not None and tax_year.checksum == checksum:
        return tax_year, False
    if tax_year is not None and selectors.year_has_bills(year=config.year):
        raise YearAssessed(
            _(
                "Bills for %(year)s have been issued: its configuration cannot change. "
                "Reassess the properties concerned instead."
            )
            % {"year": config.year}
        )
    before = tax_year.checksum if tax_year is not None else None
    if tax_year is None:
        tax_year = TaxYear(year=config.year)
    tax_year.department = department
    tax_year.starts_on = config.starts_on
    tax_year.ends_on = config.ends_on
    tax_year.checksum = checksum
    tax_year.loaded_at = timezone.now()
    tax_year.save()
    tax_year.rates.all().delete()
    tax_year.reliefs.all().delete()
    InstalmentPlan.objects.filter(tax_year=tax_year).delete()
    TaxRate.objects.bulk_create(
        TaxRate(tax_year=tax_year, use_class=use_class, rate=rate)
        for use_class, rate in config.rates.items()
    )
    Relief.objects.bulk_create(
        Relief(
            tax_year=tax_year,
            kind=relief.kind,
            percent=relief.percent,
            use_classes=list(relief.use_classes),
            owner_occupier_only=relief.owner_occupier_only,
            max_value_minor=relief.max_value_minor,
        )
        for relief in config.reliefs
    )
    InstalmentPlan.objects.create(
        tax_year=tax_year, due_dates=[due.isoformat() for due in config.instalments]
    )
    audit_record(
        action="taxes.year_configured",
        actor=actor,
        obj=tax_year,
        changes={"checksum": {"before": before, "after": checksum}, **config.canonical()},
    )
    return tax_year, True


def tax_config_load(*, path: Path, actor: Any) -> tuple[TaxYear, bool]:
    """Read a year's configuration file and store it (see :func:`tax_year_configure`)."""
    return tax_year_configure(config=year_config_read(path), actor=actor)


# --- the roll ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnerSpec:
    name: str
    owner_id: int | None = None
    share: Decimal = Decimal(1)
    owner_occupier: bool = False
    start: date | None = None  # default: the day of registration


@dataclass(frozen=True)
class PropertySpec:
    parcel: str
    address_line_1: str
    town: str
    postcode: str
    ward_id: int
    use_class: str
    assessed_value_minor: int
    address_line_2: str = ""
    exemption: str = ""
    owners: Sequence[OwnerSpec] = field(default_factory=tuple)


def _check_property(spec: PropertySpec) -> None:
    if spec.use_class not in UseClass.values:
        raise TaxError(_("Unknown use class %(value)s.") % {"value": spec.use_class})
    if spec.exemption not in Exemption.values:
        raise TaxError(_("Unknown exemption %(value)s.") % {"value": spec.exemption})
    if spec.assessed_value_minor < 0:
        raise TaxError(_("An assessed value cannot be negative."))
    if sum((owner.share for owner in spec.owners), Decimal(0)) > 1:
        raise TaxError(_("The owners' shares add up to more than the whole property."))


@transaction.atomic
def properties_register_bulk(
    *, properties: Iterable[PropertySpec], actor: Any, batch_size: int = 2000
) -> int:
    """Add properties (and their owners) to the roll; parcels already on it are left as
    they are. One audit event for the whole import. Returns how many were added.

    For imports from the land registry and for the demo; raises :class:`TaxError` on an
    unknown use class or exemption, a negative value, or shares over 1.
    """
    specs = list(properties)
    for spec in specs:
        _check_property(spec)
    existing = set(
        Property.objects.filter(parcel__in=[spec.parcel for spec in specs]).values_list(
            "parcel", flat=True
        )
    )
    todo = [spec for spec in specs if spec.parcel not in existing]
    if not todo:
        return 0
    now = timezone.now()
    today = timezone.localdate()
    created = Property.objects.bulk_create(
        [
            Property(
                parcel=spec.parcel,
                address_line_1=spec.address_line_1,
                address_line_2=spec.address_line_2,
                town=spec.town,
                postcode=spec.postcode,
                ward_id=spec.ward_id,
                use_class=spec.use_class,
                assessed_value_minor=spec.assessed_value_minor,
                exemption=spec.exemption,
                created_at=now,
                updated_at=now,
            )
            for spec in todo
        ],
        batch_size=batch_size,
    )
    if any(prop.pk is None for prop in created):  # backends that return no ids
        ids = dict(
            Property.objects.filter(parcel__in=[spec.parcel for spec in todo]).values_list(
                "parcel", "pk"
            )
        )
    else:
        ids = {prop.parcel: prop.pk for prop in created}
    Ownership.objects.bulk_create(
        [
            Ownership(
                property_id=ids[spec.parcel],
                owner_id=owner.owner_id,
                owner_name=owner.name,
                share=owner.share,
                owner_occupier=owner.owner_occupier,
                start=owner.start or today,
            )
            for spec in todo
            for owner in spec.owners
        ],
        batch_size=batch_size,
    )
    audit_record(
        action="taxes.properties_registered",
        actor=actor,
        object_type="taxes.property",
        object_id=f"{todo[0].parcel}..{todo[-1].parcel}",
        changes={"count": len(todo)},
    )
    return len(todo)


def property_register(*, spec: PropertySpec, actor: Any) -> Property:
    """Add one property (and its owners) to the roll; raises :class:`TaxError` if its
    parcel number is on the roll already."""
    with transaction.atomic():
        if Property.objects.filter(parcel=spec.parcel).exists():
            raise TaxError(_("Parcel %(parcel)s is on the roll already.") % {"parcel": spec.parcel})
        properties_register_bulk(properties=[spec], actor=actor)
        return Property.objects.get(parcel=spec.parcel)


@transaction.atomic
def ownership_record(
    *,
    property: Property,
    owner_name: str,
    start: date,
    actor: Any,
    owner: User | None = None,
    share: Decimal = Decimal(1),
    owner_occupier: bool = False,
) -> Ownership:
    """Record that someone owns (a share of) ``property`` from ``start``. Raises
    :class:`TaxError` when the current shares would add up to more than 1."""
    Property.objects.select_for_update().filter(pk=property.pk).first()
    current = sum(
        (o.share for o in Ownership.objects.filter(property=property, end__isnull=True)),
        Decimal(0),
    )
    if current + share > 1:
        raise TaxError(_("The owners' shares add up to more than the whole property."))
    ownership = Ownership.objects.create(
        property=property,
        owner=owner,
        owner_name=owner_name,
        share=share,
        owner_occupier=owner_occupier,
        start=start,
    )
    audit_record(
        action="taxes.ownership_recorded",
        actor=actor,
        obj=ownership,
        subject_user_id=owner.pk if owner is not None else None,
        changes={"parcel": property.parcel, "share": share, "owner_occupier": owner_occupier},
    )
    return ownership


@transaction.atomic
def ownership_end(*, ownership: Ownership, end: date, actor: Any) -> Ownership:
    """Record that an ownership ended on ``end`` (a sale, a death)."""
    if end < ownership.start:
        raise TaxError(_("An ownership cannot end before it started."))
    ownership.end = end
    ownership.save(update_fields=["end"])
    audit_record(
        action="taxes.ownership_ended",
        actor=actor,
        obj=ownership,
        subject_user_id=ownership.owner_id,
        changes={"end": end},
    )
    return ownership


# --- assessment -------------------------------------------------------------------------


def _tax_year(year: int) -> TaxYear:
    tax_year = TaxYear.objects.select_related("instalment_plan").filter(year=year).first()
    if tax_year is None:
        raise YearNotConfigured(
            _("%(year)s has no tax configuration: load it with `ecitizen tax config load`.")
            % {"year": year}
        )
    return tax_year


@dataclass(frozen=True)
class _Year:
    """A year's rules and bill texts, computed once per run. The texts are in the
    platform's language: bills are written once and read by everyone (the resident's
    page labels their lines in the reader's language itself)."""

    tax_year: TaxYear
    rules: YearRules
    description: str
    tax_line: dict[str, str]
    relief_line: dict[str, str]

    @classmethod
    def load(cls, tax_year: TaxYear) -> _Year:
        rules = selectors.year_rules(tax_year=tax_year)
        with translation.override(settings.LANGUAGE_CODE):
            # The parcel, not the address: bills are not encrypted, and an address
            # beside the payer says where a person lives.
            description = _("Property tax %(year)s, parcel %(parcel)s")
            tax_line = {
                rate.use_class: _(
                    "Property tax %(year)s, %(use_class)s, at %(rate)s%% of the assessed value"
                )
                % {
                    "year": tax_year.year,
                    "use_class": str(UseClass(rate.use_class).label).lower(),
                    "rate": _decimal_text(rate.rate_decimal * 100),
                }
                for rate in tax_year.rates.all()
            }
            relief_line = {
                relief.kind: _("%(relief)s (%(percent)s%%)")
                % {
                    "relief": str(Relief.Kind(relief.kind).label),
                    "percent": _decimal_text(Decimal(relief.percent)),
                }
                for relief in tax_year.reliefs.all()
            }
        return cls(tax_year, rules, description, tax_line, relief_line)

    def bill_description(self, parcel: str) -> str:
        head, tail = self.description_parts()
        return f"{head}{parcel}{tail}"[:300]

    def description_parts(self) -> tuple[str, str]:
        """The bill description around its parcel number: built once, not per bill."""
        marker = "\x00parcel\x00"
        text = self.description % {"year": self.tax_year.year, "parcel": marker}
        head, _marker, tail = text.partition(marker)
        return head, tail

    def lines(self, assessment: Assessment, use_class: str) -> list[LineSpec]:
        return self.lines_of(
            use_class, assessment.gross_minor, assessment.relief_kind, assessment.relief_minor
        )

    def lines_of(self, use_class: str, gross: int, relief_kind: str, relief: int) -> list[LineSpec]:
        lines = [LineSpec(self.tax_line[use_class], gross, REVENUE_TAX)]
        if relief:
            lines.append(LineSpec(self.relief_line[relief_kind], -relief, REVENUE_RELIEF))
        return lines


def _decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _liability_date(tax_year: TaxYear) -> date:
    """Whose bill it is: the owners on the year's first day, or today once it started."""
    return max(tax_year.starts_on, timezone.localdate())


def _owners_of(property_ids: Q, on: date) -> dict[int, tuple[bool, int | None]]:
    """For properties matching ``property_ids``: (owner-occupied, payer id). The payer is
    the owner with an account holding the largest share (then the earliest recorded):
    the database sorts, so no share is turned into a Decimal here."""
    out: dict[int, tuple[bool, int | None]] = {}
    rows = (
        Ownership.objects.filter(property_ids, start__lte=on)
        .filter(Q(end__isnull=True) | Q(end__gte=on))
        .order_by("property_id", "-share", "pk")
        .values_list("property_id", "owner_id", "owner_occupier")
    )
    for property_id, owner_id, occupier in rows:
        occupied, payer = out.get(property_id, (False, None))
        out[property_id] = (occupied or occupier, payer if payer is not None else owner_id)
    return out


PROPERTY_COLUMNS = (
    "pk",
    "parcel",
    "use_class",
    "assessed_value_minor",
    "exemption",
    "postcode",
)
PropertyRow = tuple[int, str, str, int, str, str]


def _batch_specs(
    year: _Year, rows: Sequence[PropertyRow], liability_on: date, issued_on: date | None
) -> tuple[list[BillSpec], int]:
    """The bills of a batch of properties (in pk order), and how many owe nothing."""
    owners = _owners_of(Q(property_id__gte=rows[0][0], property_id__lte=rows[-1][0]), liability_on)
    rules = year.rules
    due_dates = list(rules.due_dates)
    final_due = due_dates[-1]
    number = year.tax_year.year
    department_id = year.tax_year.department_id
    prefix = f"{settings.CASE_REFERENCE_PREFIX}-PT-{number}-"
    key_prefix = f"tax:{number}:"
    specs: list[BillSpec] = []
    zero = 0
    tax = rules.tax
    kind = str(BillKind.PROPERTY_TAX)
    tax_line, relief_line = year.tax_line, year.relief_line
    head, tail = year.description_parts()
    count = len(due_dates)
    early = due_dates[:-1]
    first_due = due_dates[0]
    for pk, parcel, use_class, value, exemption, postcode in rows:
        occupied, payer_id = owners.get(pk, (False, None))
        gross, relief_kind, relief = tax(use_class, value, bool(exemption), occupied)
        net = gross - relief
        if net <= 0:
            zero += 1
            continue
        lines = [LineSpec(tax_line[use_class], gross, REVENUE_TAX)]
        if relief:
            lines.append(LineSpec(relief_line[relief_kind], -relief, REVENUE_RELIEF))
        # instalments_split, inlined: equal shares, the last absorbing the rounding.
        share = net // count
        if share:
            instalments = [(due, share) for due in early]
            instalments.append((final_due, net - share * (count - 1)))
        else:
            instalments = [(first_due, net)]
        specs.append(
            BillSpec(
                reference=f"{prefix}{pk:07d}",
                kind=kind,
                description=f"{head}{parcel}{tail}"[:300],
                department_id=department_id,
                due_date=final_due,
                lines=lines,
                payer_id=payer_id,
                instalments=instalments,
                source_reference=parcel,
                source_key=f"{key_prefix}{parcel}",
                verification_postcode=postcode,
                issued_on=issued_on,
            )
        )
    return specs, zero


@dataclass(frozen=True)
class _PricedBatch:
    """A batch of properties read in pk order, and their bills (not yet issued)."""

    last_pk: int
    properties: int
    bills: PreparedBills
    zero_tax: int


def _priced_batches(
    year: _Year,
    *,
    batch_size: int,
    liability_on: date,
    issued_on: date | None,
    read_ahead: bool,
) -> Generator[_PricedBatch, None, None]:
    """The roll in batches of ``batch_size`` properties, in pk order, each priced.

    With ``read_ahead`` the next batch is read and priced by a worker thread on its own
    database connection while the caller issues the current one: the database checks a
    batch's foreign keys at commit while Python prices the next, instead of each waiting
    for the other. Only for a caller outside any transaction (the worker could not see
    its uncommitted rows). Reading outside the write transaction is safe: issuing checks
    for existing bills under the year's lock. Close the iterator (``contextlib.closing``)
    to stop the worker and close its connection.
    """

    def read(after_pk: int) -> _PricedBatch | None:
        rows: list[PropertyRow] = list(
            Property.objects.filter(pk__gt=after_pk)
            .order_by("pk")
            .values_list(*PROPERTY_COLUMNS)[:batch_size]
        )
        if not rows:
            return None
        specs, zero = _batch_specs(year, rows, liability_on, issued_on)
        return _PricedBatch(rows[-1][0], len(rows), bills_prepare(specs), zero)

    if not read_ahead:
        after_pk = 0
        while (batch := read(after_pk)) is not None:
            after_pk = batch.last_pk
            yield batch
        return
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tax-assess-reader")
    pending = worker.submit(read, 0)
    try:
        while (batch := pending.result()) is not None:
            pending = worker.submit(read, batch.last_pk)
            yield batch
    finally:
        pending.cancel()
        # Django's connections are per thread: the worker closes its own.
        worker.submit(connections.close_all).result()
        worker.shutdown()


@transaction.atomic
def _assess_batch(*, run: AssessmentRun, year: _Year, batch: _PricedBatch, actor: Any) -> None:
    """Issue one priced batch's bills and count them on the run, in one transaction."""
    # Serialises concurrent runs of the year, batch by batch. NO KEY: rows referring to
    # the year (a run starting, its foreign-key check) must not wait for this lock.
    TaxYear.objects.select_for_update(no_key=True).filter(pk=year.tax_year.pk).first()
    created = 0
    if batch.bills.rows:
        first, last = batch.bills.references
        # Bills that exist (an earlier run, a concurrent one) are skipped there.
        created = bills_create_bulk(
            bills=batch.bills,
            actor=actor,
            memo=f"Property tax {year.tax_year.year}: {first}..{last}",
        )
    run.batches += 1
    run.properties_seen += batch.properties
    run.bills_created += created
    run.zero_tax += batch.zero_tax
    run.save(
        update_fields=[
            "batches",
            "properties_seen",
            "bills_created",
            "zero_tax",
        ]
    )


def tax_assess(
    *,
    year: int,
    actor: Any,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_batches: int | None = None,
    progress: Callable[[int], None] | None = None,
    issued_on: date | None = None,
) -> AssessmentRun:
    """Issue every property's bill for ``year``; returns the run, with the year's totals.

    Properties are read in batches of ``batch_size`` in id order; each batch is one
    transaction (its bills, their ledger charges, the run's counters), so a run stopped
    at any point keeps the batches it finished and a new run finishes the rest. On
    PostgreSQL, called outside a transaction, the next batch is read and priced on a
    second connection while this one is written (see :func:`_priced_batches`).
    Idempotent: a bill whose ``source_key`` exists is not issued again, so a second run
    creates nothing. Properties whose tax is nothing (exempt, fully relieved) get no
    bill. ``max_batches`` stops the run after that many batches (status ``stopped``);
    ``progress`` is called with the number of properties of each batch done;
    ``issued_on`` back-dates the bills (a load from a previous system, the demo).

    Not atomic as a whole, by design. Concurrent runs of the same year wait for each
    other batch by batch (the year's row is locked), so they never issue a bill twice.
    Raises :class:`YearNotConfigured` when the year has no configuration. Side effects:
    an :class:`AssessmentRun` row, audit events (start, one per batch from the payments
    app, end), ledger charges.
    """
    if batch_size < 1:
        raise TaxError(_("The batch size must be at least 1."))
    tax_year = _tax_year(year)
    context = _Year.load(tax_year)
    liability_on = _liability_date(tax_year)
    with transaction.atomic():
        run = AssessmentRun.objects.create(
            tax_year=tax_year,
            started_by=actor if isinstance(actor, User) else None,
            batch_size=batch_size,
        )
        audit_record(
            action="taxes.assessment_started",
            actor=actor,
            obj=run,
            changes={"year": year, "batch_size": batch_size},
        )
    status = AssessmentRun.Status.FINISHED
    batches = _priced_batches(
        context,
        batch_size=batch_size,
        liability_on=liability_on,
        issued_on=issued_on,
        read_ahead=connection.vendor == "postgresql" and not connection.in_atomic_block,
    )
    # The batches allocate millions of small objects, all freed by reference counting;
    # the cyclic collector scanning them would cost a third of the run. Paused, and run
    # now and then for any cycle the ORM leaves.
    collector_was_on = gc.isenabled()
    gc.disable()
    try:
        with closing(batches):
            for batch in batches:
                if max_batches is not None and run.batches >= max_batches:
                    status = AssessmentRun.Status.STOPPED
                    break
                _assess_batch(run=run, year=context, batch=batch, actor=actor)
                if progress is not None:
                    progress(batch.properties)
                if run.batches % GC_EVERY_BATCHES == 0:
                    gc.collect()
    except BaseException as error:
        _assessment_end(run, status=AssessmentRun.Status.FAILED, actor=actor, error=error)
        raise
    finally:
        if collector_was_on:
            gc.enable()
    _assessment_end(run, status=status, actor=actor)
    return run


def _assessment_end(
    run: AssessmentRun, *, status: str, actor: Any, error: BaseException | None = None
) -> None:
    with transaction.atomic():
        run.status = status
        run.finished_at = timezone.now()
        run.error = (repr(error) if error is not None else "")[:500]
        run.totals = selectors.assessment_totals(tax_year=run.tax_year) if error is None else {}
        run.save(update_fields=["status", "finished_at", "error", "totals"])
        logger.info(
            "tax assessment %s of %s %s: %s batches, %s bills created, %s owe nothing",
            run.pk,
            run.tax_year.year,
            status,
            run.batches,
            run.bills_created,
            run.zero_tax,
        )
        audit_record(
            action="taxes.assessment_ended",
            actor=actor,
            obj=run,
            changes={
                "status": status,
                "batches": run.batches,
                "bills_created": run.bills_created,
                "error": run.error,
            },
        )


# --- reassessment -----------------------------------------------------------------------


def _account_kind(account: str) -> str:
    """``revenue:property_tax_relief:revenue`` -> ``property_tax_relief``."""
    parts = account.split(":")
    return parts[1] if len(parts) > 2 else account


def _charged(bills: Iterable[Bill]) -> tuple[int, int]:
    """What ``bills`` charged: (tax, relief as a negative amount)."""
    tax = relief = 0
    for bill in bills:
        for line in bill.lines:
            if _account_kind(str(line["account"])) == REVENUE_RELIEF:
                relief += int(line["amount_minor"])
            else:
                tax += int(line["amount_minor"])
    return tax, relief


def _payable_dates(rules: YearRules, today: date) -> list[date]:
    """The year's instalment dates still to come, or one date a month away."""
    return [due for due in rules.due_dates if due > today] or [
        today + timedelta(days=ADJUSTMENT_PAYABLE_DAYS)
    ]


@transaction.atomic
def property_reassess(
    *,
    property: Property,
    new_value: int,
    year: int,
    reason: str,
    actor: Any,
) -> Bill | None:
    """Change a property's assessed value (``new_value``, in minor units) after an
    appeal, and settle ``year``'s tax with an **adjusting bill** for the difference
    (positive: more to pay, in the year's instalments still to come, or within 30 days
    if none is left; negative: a credit). The year's bill is never edited, paid or not.

    Returns the adjusting bill, or ``None`` when the tax does not change (or the year
    was not assessed yet: the value then simply applies to the coming assessment). If
    the property had no bill for an assessed year (its tax was nothing) and now owes
    tax, the year's bill itself is issued. Idempotent: the same value again issues
    nothing. Side effects: the property's value changes; audit events; ledger postings
    through the payments app.
    """
    if new_value < 0:
        raise TaxError(_("An assessed value cannot be negative."))
    if not reason.strip():
        raise TaxError(_("Give the reason for the reassessment."))
    prop = Property.objects.select_for_update().get(pk=property.pk)
    tax_year = _tax_year(year)
    before = prop.assessed_value_minor
    if before != new_value:
        prop.assessed_value_minor = new_value
        prop.updated_at = timezone.now()
        prop.save(update_fields=["assessed_value_minor", "updated_at"])
        audit_record(
            action="taxes.property_reassessed",
            actor=actor,
            obj=prop,
            changes={
                "assessed_value_minor": {"before": before, "after": new_value},
                "year": year,
                "reason": reason,
            },
        )
    property.assessed_value_minor = new_value

    context = _Year.load(tax_year)
    occupied, payer_id = _owners_of(Q(property_id=prop.pk), _liability_date(tax_year)).get(
        prop.pk, (False, None)
    )
    assessment = context.rules.assess(
        use_class=prop.use_class,
        value_minor=new_value,
        exempt=bool(prop.exemption),
        owner_occupied=occupied,
    )
    # The year's bill and its adjustments, locked until this transaction ends.
    family = bill_family_lock(source_key=bill_source_key(year, prop.parcel))
    dates = _payable_dates(context.rules, timezone.localdate())
    if family is None:
        assessed = AssessmentRun.objects.filter(tax_year=tax_year).exists()
        if assessment.net_minor <= 0 or not assessed:
            return None
        return bill_create(
            spec=BillSpec(
                reference=bill_reference(year, prop.pk),
                kind=BillKind.PROPERTY_TAX,
                description=context.bill_description(prop.parcel),
                department_id=tax_year.department_id,
                due_date=dates[-1],
                lines=context.lines(assessment, prop.use_class),
                payer_id=payer_id,
                instalments=instalments_split(assessment.net_minor, dates),
                source_reference=prop.parcel,
                source_key=bill_source_key(year, prop.parcel),
                verification_postcode=prop.postcode,
            ),
            actor=actor,
        )
    return _adjustment_issue(
        family=family,
        prop=prop,
        assessment=assessment,
        dates=dates,
        before=before,
        reason=reason,
        year=year,
        actor=actor,
    )


def _adjustment_issue(
    *,
    family: BillFamily,
    prop: Property,
    assessment: Assessment,
    dates: list[date],
    before: int,
    reason: str,
    year: int,
    actor: Any,
) -> Bill | None:
    original, adjustments = family.original, family.adjustments
    charged_tax, charged_relief = _charged([original, *adjustments])
    tax_difference = assessment.gross_minor - charged_tax
    relief_difference = -assessment.relief_minor - charged_relief
    difference = tax_difference + relief_difference
    if difference == 0:
        return None
    with translation.override(settings.LANGUAGE_CODE):
        lines = []
        if tax_difference:
            text = _(
                "Property tax %(year)s reassessed: assessed value %(before)s, now %(after)s"
            ) % {
                "year": year,
                "before": format_minor(before),
                "after": format_minor(prop.assessed_value_minor),
            }
            lines.append(LineSpec(text, tax_difference, REVENUE_TAX))
        if relief_difference:
            text = _("Change in relief after reassessment")
            lines.append(LineSpec(text, relief_difference, REVENUE_RELIEF))
        description = _("Property tax %(year)s adjustment, parcel %(parcel)s") % {
            "year": year,
            "parcel": prop.parcel,
        }
    number = len(adjustments) + 1
    instalments: list[tuple[date, int]] = []
    due_date = timezone.localdate()
    if difference > 0:
        instalments = instalments_split(difference, dates)
        due_date = instalments[-1][0]
    # A credit pays what the year's bills still owe; a new charge uses any credit left.
    bill = bill_adjustment_issue(
        spec=BillSpec(
            reference=f"{original.reference}-A{number}",
            kind=BillKind.ADJUSTMENT,
            description=description[:300],
            department_id=original.department_id,
            due_date=due_date,
            lines=lines,
            payer_id=original.payer_id,
            instalments=instalments if len(instalments) > 1 else (),
            source_reference=prop.parcel,
            source_key=adjustment_source_key(year, prop.parcel, number),
            verification_postcode=prop.postcode,
            adjusts_id=original.pk,
        ),
        actor=actor,
    )
    audit_record(
        action="taxes.adjustment_issued",
        actor=actor,
        obj=bill,
        subject_user_id=original.payer_id,
        changes={
            "adjusts": original.reference,
            "amount_minor": difference,
            "reason": reason,
            "assessed_value_minor": {"before": before, "after": prop.assessed_value_minor},
        },
    )
    return bill


# --- reminders --------------------------------------------------------------------------

#: The notification event of each kind of notice.
NOTICE_EVENTS = {
    TaxNotice.Kind.DUE: "tax_instalment_due",
    TaxNotice.Kind.OVERDUE: "tax_instalment_overdue",
}


def _notice_due(kind: str, due: date, today: date, horizon: date) -> bool:
    if kind == TaxNotice.Kind.DUE:
        return today <= due <= horizon
    return due < today


def tax_reminders_send(*, today: date | None = None) -> tuple[int, int]:
    """Send each payer of a property-tax bill a reminder ``TAX_REMINDER_DAYS`` before an
    unpaid instalment falls due, and a notice once it is overdue. Returns
    ``(reminders, overdue notices)`` sent.

    Idempotent: a :class:`TaxNotice` row per bill, instalment and kind records what was
    sent, and its uniqueness makes a concurrent run skip it. Nothing is sent for an
    instalment that is paid by then (the bill row is locked and re-read before
    sending), so reminders stop as soon as a payment settles. A reminder whose window
    was missed (the job did not run) is not sent late: the overdue notice follows.
    Bills without an account holder (paid by reference) get no message here.
    """
    today = today or timezone.localdate()
    horizon = today + timedelta(days=settings.TAX_REMINDER_DAYS)
    sent = {TaxNotice.Kind.DUE: 0, TaxNotice.Kind.OVERDUE: 0}
    ids = bill_ids_with_balance(
        kinds=[BillKind.PROPERTY_TAX, BillKind.ADJUSTMENT],
        source_key_prefix="tax:",
        payer_required=True,
    )
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        done = set(
            TaxNotice.objects.filter(bill_id__in=chunk).values_list("bill_id", "instalment", "kind")
        )
        for bill in bills_by_ids(ids=chunk):
            for item in selectors.bill_instalments(bill=bill):
                if item.outstanding_minor <= 0:
                    continue
                for kind in (TaxNotice.Kind.DUE, TaxNotice.Kind.OVERDUE):
                    if (bill.pk, item.number, kind) in done or not _notice_due(
                        kind, item.due_date, today, horizon
                    ):
                        continue
                    if _notice_send(bill_id=bill.pk, number=item.number, kind=kind, today=today):
                        sent[kind] += 1
    return sent[TaxNotice.Kind.DUE], sent[TaxNotice.Kind.OVERDUE]


def _notice_send(*, bill_id: int, number: int, kind: str, today: date) -> bool:
    """Send one notice, in its own transaction, if the instalment is still unpaid."""
    try:
        with transaction.atomic():
            bill = bill_lock(bill_id=bill_id)
            item = next(
                (i for i in selectors.bill_instalments(bill=bill) if i.number == number), None
            )
            if item is None or item.outstanding_minor <= 0 or bill.payer is None:
                return False
            TaxNotice.objects.create(
                bill=bill,
                instalment=number,
                kind=kind,
                recipient=bill.payer,
                amount_minor=item.outstanding_minor,
                due_date=item.due_date,
            )
            prop = Property.objects.filter(parcel=bill.source_reference).first()
            notification_send(
                recipient=bill.payer,
                event=NOTICE_EVENTS[TaxNotice.Kind(kind)],
                context={
                    "reference": bill.reference,
                    "address": prop.address if prop is not None else bill.source_reference,
                    "amount": format_minor(item.outstanding_minor),
                    "due_date": item.due_date,
                    "url": reverse("taxes:property", args=[bill.source_reference])
                    if prop is not None
                    else reverse("taxes:overview"),
                },
            )
    except IntegrityError:
        return False  # a concurrent run sent it
    return True
