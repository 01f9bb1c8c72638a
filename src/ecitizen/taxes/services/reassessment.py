"""Reassessment after an appeal: the property's new value, and an adjusting bill for the
difference in the year's tax (through
:func:`~ecitizen.payments.services.bill_adjustment_issue`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ecitizen.core.services import audit_record
from ecitizen.payments.money import format_minor
from ecitizen.payments.selectors import BillKind
from ecitizen.payments.services import (
    BillFamily,
    BillSpec,
    LineSpec,
    bill_adjustment_issue,
    bill_create,
    bill_family_lock,
)
from ecitizen.taxes.arithmetic import Assessment, YearRules, instalments_split
from ecitizen.taxes.models import AssessmentRun, Property
from ecitizen.taxes.services.assessment import (
    _liability_date,
    _owners_of,
    _tax_year,
    _texts,
    _Year,
)
from ecitizen.taxes.services.common import (
    REVENUE_RELIEF,
    REVENUE_TAX,
    TaxError,
    adjustment_source_key,
    bill_reference,
    bill_source_key,
)

if TYPE_CHECKING:
    from ecitizen.payments.selectors import BillRecord as Bill

#: A positive adjustment with no instalment date left in the year is due this long after
#: it is issued.
ADJUSTMENT_PAYABLE_DAYS = 30


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
                descriptions=context.bill_descriptions(prop.parcel),
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
    # Each text in the authority's own language (the bill's record) and in every site
    # language (what each reader sees), the amounts written each language's way.
    lines = []
    if tax_difference:
        after = prop.assessed_value_minor
        text = _texts(
            lambda: (
                _("Property tax %(year)s reassessed: assessed value %(before)s, now %(after)s")
                % {"year": year, "before": format_minor(before), "after": format_minor(after)}
            )
        )
        lines.append(LineSpec(text.text, tax_difference, REVENUE_TAX, text.texts))
    if relief_difference:
        text = _texts(lambda: _("Change in relief after reassessment"))
        lines.append(LineSpec(text.text, relief_difference, REVENUE_RELIEF, text.texts))
    description = _texts(
        lambda: (
            _("Property tax %(year)s adjustment, parcel %(parcel)s")
            % {"year": year, "parcel": prop.parcel}
        )
    )
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
            description=description.text[:300],
            descriptions=description.texts,
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
