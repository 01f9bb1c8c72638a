"""Reads of the taxes app: a year's rules, a resident's properties and their bills,
assessment totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ecitizen.accounts.models import Jurisdiction
from ecitizen.payments.selectors import (
    BillKind,
    bill_totals,
    bills_exist,
    bills_for_sources,
)
from ecitizen.taxes.arithmetic import YearRules
from ecitizen.taxes.models import AssessmentRun, Ownership, Property, TaxYear, UseClass

if TYPE_CHECKING:
    # Bills are the payments app's: read here, queried only through its selectors.
    from ecitizen.payments.selectors import BillRecord as Bill

#: Seeing property tax assessment runs (roles: ``TaxesConfig.ready``).
TAX_ASSESSMENTS = "taxes.assessments"

REVENUE_RELIEF = "property_tax_relief"

#: What the resident's page calls each kind of bill line (by the revenue account it is
#: credited to): stored line texts are in the platform's language, labels are not.
LINE_LABELS = {
    "property_tax": _("Property tax"),
    REVENUE_RELIEF: _("Relief"),
}


def year_rules(*, tax_year: TaxYear) -> YearRules:
    """The year's configuration, precomputed for assessing properties."""
    return YearRules.build(
        year=tax_year.year,
        rates={rate.use_class: rate.rate_decimal for rate in tax_year.rates.all()},
        reliefs=[
            (
                relief.kind,
                Decimal(relief.percent),
                relief.use_classes,
                relief.owner_occupier_only,
                relief.max_value_minor,
            )
            for relief in tax_year.reliefs.all()
        ],
        due_dates=[date.fromisoformat(d) for d in tax_year.instalment_plan.due_dates],
    )


def year_has_bills(*, year: int) -> bool:
    return bills_exist(source_key_prefix=f"tax:{year}:")


def bill_year(bill: Bill) -> int | None:
    """The tax year of a property-tax bill (from its ``tax:<year>:...`` key)."""
    parts = (bill.source_key or "").split(":")
    if len(parts) >= 3 and parts[0] == "tax" and parts[1].isdigit():
        return int(parts[1])
    return None


# --- a bill's instalments -----------------------------------------------------------------


@dataclass(frozen=True)
class InstalmentView:
    number: int
    due_date: date
    amount_minor: int
    paid_minor: int
    outstanding_minor: int
    status: str  # "paid", "due" or "overdue"

    @property
    def status_label(self) -> Any:
        return INSTALMENT_STATUS_LABELS[self.status]


# "Paid" and "Due" also name amounts and dates elsewhere: contexts tell translators.
INSTALMENT_STATUS_LABELS = {
    "paid": pgettext_lazy("status", "Paid"),
    "due": pgettext_lazy("status", "Due"),
    "overdue": _("Overdue"),
}


def bill_instalments(*, bill: Bill, today: date | None = None) -> list[InstalmentView]:
    """The bill's instalments with what is paid of each (payments go to the earliest
    first) and their status on ``today``. A bill without instalments is one instalment:
    its whole amount on its due date."""
    today = today or timezone.localdate()
    if bill.instalments:
        raw = bill.instalment_status()
    else:
        net_paid = bill.paid_minor - bill.refunded_minor + bill.credited_minor
        paid = max(0, min(bill.total_minor, net_paid))
        raw = [
            {
                "number": 1,
                "due_date": bill.due_date.isoformat(),
                "amount_minor": bill.total_minor,
                "paid_minor": paid,
                "outstanding_minor": bill.total_minor - paid,
            }
        ]
    out = []
    for item in raw:
        due = date.fromisoformat(str(item["due_date"]))
        outstanding = int(str(item["outstanding_minor"]))
        if outstanding <= 0:
            status = "paid"
        elif due < today:
            status = "overdue"
        else:
            status = "due"
        out.append(
            InstalmentView(
                number=int(str(item["number"])),
                due_date=due,
                amount_minor=int(str(item["amount_minor"])),
                paid_minor=int(str(item["paid_minor"])),
                outstanding_minor=outstanding,
                status=status,
            )
        )
    return out


# --- the resident's page ------------------------------------------------------------------


@dataclass(frozen=True)
class LineView:
    label: Any
    amount_minor: int


@dataclass(frozen=True)
class BillView:
    bill: Bill
    year: int | None
    is_adjustment: bool
    lines: list[LineView]
    instalments: list[InstalmentView]
    next_instalment: InstalmentView | None  # the earliest with something outstanding
    status: str  # "paid", "due", "overdue", "credit" or "credit_used"

    @property
    def status_label(self) -> Any:
        return BILL_STATUS_LABELS[self.status]

    @property
    def balance_minor(self) -> int:
        return self.bill.balance_minor

    @property
    def credit_minor(self) -> int:
        return -self.bill.balance_minor

    @property
    def credit_used_minor(self) -> int:
        """Of a credit: how much of it has paid the year's other bills."""
        return -self.bill.credited_minor


BILL_STATUS_LABELS = {
    "paid": pgettext_lazy("status", "Paid"),
    "due": pgettext_lazy("status", "Due"),
    "overdue": _("Overdue"),
    "credit": _("Credit"),
    "credit_used": _("Credit used"),
}


@dataclass(frozen=True)
class PropertyView:
    prop: Property
    ownership: Ownership
    bills: list[BillView]

    @property
    def balance_minor(self) -> int:
        return sum(max(0, view.balance_minor) for view in self.bills)

    @property
    def overdue(self) -> bool:
        return any(view.status == "overdue" for view in self.bills)


def _line_views(bill: Bill) -> list[LineView]:
    out = []
    for line in bill.lines:
        account = str(line.get("account", ""))
        parts = account.split(":")
        kind = parts[1] if len(parts) > 2 else account
        out.append(LineView(LINE_LABELS.get(kind, _("Property tax")), int(line["amount_minor"])))
    return out


def _bill_view(bill: Bill, today: date) -> BillView:
    instalments = bill_instalments(bill=bill, today=today)
    next_one = next((item for item in instalments if item.outstanding_minor > 0), None)
    if bill.balance_minor < 0:
        status = "credit"
    elif bill.total_minor < 0:
        status = "credit_used"
    elif bill.balance_minor == 0:
        status = "paid"
    elif any(item.status == "overdue" for item in instalments):
        status = "overdue"
    else:
        status = "due"
    return BillView(
        bill=bill,
        year=bill_year(bill),
        is_adjustment=bill.kind == BillKind.ADJUSTMENT,
        lines=_line_views(bill),
        instalments=instalments,
        next_instalment=next_one if bill.balance_minor > 0 else None,
        status=status,
    )


def _current(on: date) -> Q:
    return Q(start__lte=on) & (Q(end__isnull=True) | Q(end__gte=on))


def ownerships_for_owner(*, user: Any, on: date | None = None) -> QuerySet[Ownership]:
    """The user's current ownerships, with their properties."""
    on = on or timezone.localdate()
    return (
        Ownership.objects.filter(_current(on), owner=user)
        .select_related("property", "property__ward")
        .order_by("property__parcel")
    )


def property_statements(
    *, ownerships: list[Ownership], today: date | None = None
) -> list[PropertyView]:
    """Each owned property with its property-tax bills, newest year first, each year's
    bill followed by its adjustments. Two queries whatever the number of bills."""
    today = today or timezone.localdate()
    parcels = [o.property.parcel for o in ownerships]
    bills_by_parcel: dict[str, list[Bill]] = {parcel: [] for parcel in parcels}
    for bill in bills_for_sources(
        source_references=parcels,
        source_key_prefix="tax:",
        kinds=[BillKind.PROPERTY_TAX, BillKind.ADJUSTMENT],
    ):
        bills_by_parcel[bill.source_reference].append(bill)
    out = []
    for ownership in ownerships:
        bills = bills_by_parcel[ownership.property.parcel]
        bills.sort(key=lambda b: (-(bill_year(b) or 0), b.adjusts_id or b.pk, b.pk))
        out.append(
            PropertyView(
                prop=ownership.property,
                ownership=ownership,
                bills=[_bill_view(bill, today) for bill in bills],
            )
        )
    return out


def property_get_for_owner(*, user: Any, parcel: str) -> Ownership:
    """The user's current ownership of the property ``parcel``. Anyone else — other
    residents, officials, former owners — gets 404."""
    ownership = ownerships_for_owner(user=user).filter(property__parcel=parcel).first()
    if ownership is None:
        raise Http404
    return ownership


# --- assessment totals --------------------------------------------------------------------


def assessment_totals(*, tax_year: TaxYear) -> dict[str, Any]:
    """The year's bills as issued (adjustments apart), counted and summed per use class
    and per ward: ``{"use_class": {code: {"count", "amount_minor"}}, "ward": {code:
    {"name", "count", "amount_minor"}}, "total": {"count", "amount_minor"}}``.

    Two reads joined here by parcel: each parcel's use class and ward (the roll), and
    each bill's parcel and total (the payments app's, whose tables this app does not
    query), added up as they come. A bill whose parcel is not on the roll is left out.
    """
    places = {
        parcel: (use_class, ward_id)
        for parcel, use_class, ward_id in Property.objects.order_by()
        .values_list("parcel", "use_class", "ward_id")
        .iterator(chunk_size=10_000)
    }
    grouped: dict[tuple[str, int], list[int]] = {}
    for parcel, amount in bill_totals(
        kind=BillKind.PROPERTY_TAX, source_key_prefix=f"tax:{tax_year.year}:"
    ):
        place = places.get(parcel)
        if place is None:
            continue
        sums = grouped.get(place)
        if sums is None:
            sums = grouped[place] = [0, 0]
        sums[0] += 1
        sums[1] += amount
    rows = [
        (use_class, ward_id, count, amount)
        for (use_class, ward_id), (count, amount) in grouped.items()
    ]
    wards = dict(Jurisdiction.objects.values_list("pk", "code"))
    names = dict(Jurisdiction.objects.values_list("code", "name"))
    by_class: dict[str, dict[str, int]] = {
        use_class: {"count": 0, "amount_minor": 0} for use_class in UseClass.values
    }
    by_ward: dict[str, dict[str, Any]] = {}
    total = {"count": 0, "amount_minor": 0}
    for use_class, ward_id, count, summed in rows:
        amount = int(summed or 0)
        by_class.setdefault(use_class, {"count": 0, "amount_minor": 0})
        by_class[use_class]["count"] += count
        by_class[use_class]["amount_minor"] += amount
        code = wards.get(ward_id, str(ward_id))
        entry = by_ward.setdefault(
            code, {"name": names.get(code, code), "count": 0, "amount_minor": 0}
        )
        entry["count"] += count
        entry["amount_minor"] += amount
        total["count"] += count
        total["amount_minor"] += amount
    return {
        "use_class": by_class,
        "ward": dict(sorted(by_ward.items(), key=lambda item: str(item[1]["name"]))),
        "total": total,
    }


def assessment_runs() -> QuerySet[AssessmentRun]:
    return AssessmentRun.objects.select_related("tax_year", "started_by")


def assessment_run_get(*, pk: int) -> AssessmentRun:
    run = assessment_runs().filter(pk=pk).first()
    if run is None:
        raise Http404
    return run


# --- open data: billed and collected per ward and year -----------------------------------------


@dataclass(frozen=True)
class WardYearTax:
    """Property tax of one tax year in one ward: how many properties were billed, the
    amount billed (adjustments included) and the money collected for those bills, net of
    refunds, in minor units of the platform's currency."""

    year: int
    ward_code: str
    properties: int
    billed_minor: int
    collected_minor: int


def property_tax_by_ward_year() -> list[WardYearTax]:
    """Every tax year's bills (and their adjustments) added up per ward of the parcel they
    were issued for, by year then ward code. One read of the roll (parcel to ward) and,
    per year, one of the payments app's bill amounts (whose tables this app does not
    query), added up as they come; a bill whose parcel is not on the roll is left out."""
    from ecitizen.payments.selectors import bill_amounts

    wards = dict(Jurisdiction.objects.values_list("pk", "code"))
    places = {
        parcel: wards.get(ward_id, str(ward_id))
        for parcel, ward_id in Property.objects.order_by()
        .values_list("parcel", "ward_id")
        .iterator(chunk_size=10_000)
    }
    out: list[WardYearTax] = []
    for tax_year in TaxYear.objects.order_by("year"):
        grouped: dict[str, list[Any]] = {}
        for parcel, total, collected in bill_amounts(
            kinds=[BillKind.PROPERTY_TAX, BillKind.ADJUSTMENT],
            source_key_prefix=f"tax:{tax_year.year}:",
        ):
            ward = places.get(parcel)
            if ward is None:
                continue
            sums = grouped.setdefault(ward, [set(), 0, 0])
            sums[0].add(parcel)
            sums[1] += int(total or 0)
            sums[2] += int(collected or 0)
        out.extend(
            WardYearTax(tax_year.year, ward, len(s[0]), s[1], s[2])
            for ward, s in sorted(grouped.items())
        )
    return out
