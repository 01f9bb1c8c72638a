"""The annual assessment: every property on the roll priced, in batches, and its bill
issued through the payments app (:func:`~ecitizen.payments.services.bills_create_bulk`)."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ecitizen.accounts.models import User
from ecitizen.core.services import audit_record
from ecitizen.payments.money import format_number
from ecitizen.payments.selectors import BillKind
from ecitizen.payments.services import (
    BillSpec,
    LineSpec,
    PreparedBills,
    bills_create_bulk,
    bills_prepare,
)
from ecitizen.payments.texts import in_every_language
from ecitizen.taxes import selectors
from ecitizen.taxes.arithmetic import Assessment, YearRules
from ecitizen.taxes.models import AssessmentRun, Ownership, Property, Relief, TaxYear, UseClass
from ecitizen.taxes.services.common import REVENUE_RELIEF, REVENUE_TAX, TaxError, YearNotConfigured

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 5000
GC_EVERY_BATCHES = 50


def _tax_year(year: int) -> TaxYear:
    tax_year = TaxYear.objects.select_related("instalment_plan").filter(year=year).first()
    if tax_year is None:
        raise YearNotConfigured(
            _("%(year)s has no tax configuration: load it with `ecitizen tax config load`.")
            % {"year": year}
        )
    return tax_year


class _Text(NamedTuple):
    """A bill's text: in the authority's own language (``LANGUAGE_CODE``), and in each
    site language (``{language: text}``)."""

    text: str
    texts: dict[str, str]


#: Stands for the parcel number in a description while it is cut around it.
_PARCEL = "\x00parcel\x00"


@dataclass(frozen=True)
class _Year:
    """A year's rules and bill texts, computed once per run. Bills are written once and
    read by everyone, so each text is kept in every site language (the reader sees
    theirs) and in the authority's own, which search, the ledger and the audit trail
    use. A bill's description differs from the next one's by its parcel number only:
    it is kept cut around it (:meth:`description_parts`), so that a bill's texts cost
    string concatenation only."""

    tax_year: TaxYear
    rules: YearRules
    #: The description in the authority's own language: (head, tail).
    description: tuple[str, str]
    #: The description in each site language: (language, head, tail).
    description_frames: tuple[tuple[str, str, str], ...]
    tax_line: dict[str, _Text]
    relief_line: dict[str, _Text]

    @classmethod
    def load(cls, tax_year: TaxYear) -> _Year:
        rules = selectors.year_rules(tax_year=tax_year)
        year = tax_year.year
        # The parcel, not the address: bills are not encrypted, and an address beside
        # the payer says where a person lives.
        description = _texts(
            lambda: (
                _("Property tax %(year)s, parcel %(parcel)s") % {"year": year, "parcel": _PARCEL}
            )
        )
        frames = tuple(
            (language, *_around_parcel(text)) for language, text in description.texts.items()
        )
        tax_line = {
            rate.use_class: _texts(partial(_tax_line_text, year, rate.use_class, rate.rate_decimal))
            for rate in tax_year.rates.all()
        }
        relief_line = {
            relief.kind: _texts(partial(_relief_line_text, relief.kind, Decimal(relief.percent)))
            for relief in tax_year.reliefs.all()
        }
        return cls(tax_year, rules, _around_parcel(description.text), frames, tax_line, relief_line)

    def description_parts(self) -> tuple[str, str]:
        """The description in the authority's own language around its parcel number."""
        return self.description

    def bill_description(self, parcel: str) -> str:
        head, tail = self.description_parts()
        return f"{head}{parcel}{tail}"[:300]

    def bill_descriptions(self, parcel: str) -> dict[str, str]:
        """The description of ``parcel``'s bill in each site language."""
        return {code: f"{head}{parcel}{tail}" for code, head, tail in self.description_frames}

    def lines(self, assessment: Assessment, use_class: str) -> list[LineSpec]:
        return self.lines_of(
            use_class, assessment.gross_minor, assessment.relief_kind, assessment.relief_minor
        )

    def lines_of(self, use_class: str, gross: int, relief_kind: str, relief: int) -> list[LineSpec]:
        tax = self.tax_line[use_class]
        lines = [LineSpec(tax.text, gross, REVENUE_TAX, tax.texts)]
        if relief:
            relieved = self.relief_line[relief_kind]
            lines.append(LineSpec(relieved.text, -relief, REVENUE_RELIEF, relieved.texts))
        return lines


def _texts(text: Callable[[], str]) -> _Text:
    """``text()`` in the authority's own language and in every site language."""
    with translation.override(settings.LANGUAGE_CODE):
        default = text()
    return _Text(default, in_every_language(text))


def _tax_line_text(year: int, use_class: str, rate: Decimal) -> str:
    """The tax line's text in the active language."""
    return _("Property tax %(year)s, %(use_class)s, at %(rate)s%% of the assessed value") % {
        "year": year,
        "use_class": str(UseClass(use_class).label).lower(),
        "rate": _decimal_text(rate * 100),
    }


def _relief_line_text(kind: str, percent: Decimal) -> str:
    """The relief line's text in the active language."""
    return _("%(relief)s (%(percent)s%%)") % {
        "relief": str(Relief.Kind(kind).label),
        "percent": _decimal_text(percent),
    }


def _around_parcel(text: str) -> tuple[str, str]:
    head, _marker, tail = text.partition(_PARCEL)
    return head, tail


def _decimal_text(value: Decimal) -> str:
    """A rate or a percentage the active language's way (``0.62``, ``0,62``), without
    trailing zeros."""
    return format_number(value.normalize())


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
    # The texts around the parcel number: a bill's own texts are concatenations.
    frames = year.description_frames
    head, tail = year.description
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
        tax_text = tax_line[use_class]
        lines = [LineSpec(tax_text.text, gross, REVENUE_TAX, tax_text.texts)]
        if relief:
            relief_text = relief_line[relief_kind]
            lines.append(LineSpec(relief_text.text, -relief, REVENUE_RELIEF, relief_text.texts))
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
                descriptions={code: f"{h}{parcel}{t}" for code, h, t in frames},
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
