"""A year's configuration: its rates, reliefs and instalment plan, from its file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ecitizen.accounts.models import Department
from ecitizen.core.services import audit_record
from ecitizen.taxes import selectors
from ecitizen.taxes.config import TaxConfigError, YearConfig, year_config_read
from ecitizen.taxes.models import InstalmentPlan, Relief, TaxRate, TaxYear
from ecitizen.taxes.services.common import YearAssessed


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
