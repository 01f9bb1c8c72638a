"""Writes of the taxes app: the year's configuration, the roll, the annual assessment,
reassessment after an appeal, and reminders.

Bills are issued through the payments app (:func:`~ecitizen.payments.services.bills_create_bulk`,
:func:`~ecitizen.payments.services.bill_create` and
:func:`~ecitizen.payments.services.bill_adjustment_issue`); each is keyed by ``source_key``
(``tax:<year>:<parcel>``, adjustments ``tax:<year>:<parcel>:adj:<n>``) so that nothing is
ever issued twice. Bills are the payments app's: this package reads the ones its services
and selectors return, and never queries the payments app's tables itself.

One module per part, each importing only what it needs:

- :mod:`.common`: the errors, the revenue kinds of the bill lines, the bills' keys and
  references;
- :mod:`.configuration`: a year's rates, reliefs and instalment plan;
- :mod:`.roll`: properties and their owners;
- :mod:`.assessment`: the annual assessment, in batches;
- :mod:`.reassessment`: a new value after an appeal, and its adjusting bill;
- :mod:`.reminders`: reminders and overdue notices.

Callers import from the package (``from ecitizen.taxes.services import tax_assess``), which
re-exports what the single module it replaces offered.
"""

from __future__ import annotations

import sys
import types

from ecitizen.taxes.config import TaxConfigError

# Also names of the single module's namespace that tests reach through it (to read them,
# or to replace them): kept, so that the package answers as the module did.
from ecitizen.taxes.models import AssessmentRun as AssessmentRun
from ecitizen.taxes.services import (
    assessment,
    common,
    configuration,
    reassessment,
    reminders,
    roll,
)
from ecitizen.taxes.services.assessment import (
    DEFAULT_BATCH_SIZE,
    GC_EVERY_BATCHES,
    PROPERTY_COLUMNS,
    tax_assess,
)
from ecitizen.taxes.services.assessment import _batch_specs as _batch_specs
from ecitizen.taxes.services.assessment import bills_create_bulk as bills_create_bulk
from ecitizen.taxes.services.common import (
    REVENUE_RELIEF,
    REVENUE_TAX,
    TaxError,
    YearAssessed,
    YearNotConfigured,
    adjustment_source_key,
    bill_reference,
    bill_source_key,
)
from ecitizen.taxes.services.configuration import tax_config_load, tax_year_configure
from ecitizen.taxes.services.reassessment import ADJUSTMENT_PAYABLE_DAYS, property_reassess
from ecitizen.taxes.services.reminders import NOTICE_EVENTS, tax_reminders_send
from ecitizen.taxes.services.roll import (
    OwnerSpec,
    PropertySpec,
    ownership_end,
    ownership_record,
    properties_register_bulk,
    property_register,
)

__all__ = [
    "ADJUSTMENT_PAYABLE_DAYS",
    "DEFAULT_BATCH_SIZE",
    "GC_EVERY_BATCHES",
    "NOTICE_EVENTS",
    "PROPERTY_COLUMNS",
    "REVENUE_RELIEF",
    "REVENUE_TAX",
    "OwnerSpec",
    "PropertySpec",
    "TaxConfigError",
    "TaxError",
    "YearAssessed",
    "YearNotConfigured",
    "adjustment_source_key",
    "bill_reference",
    "bill_source_key",
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

_MODULES = (common, configuration, roll, assessment, reassessment, reminders)
_UNSET = object()


class _Package(types.ModuleType):
    """The package, answering as the single module it replaces when one of its names is
    rebound (a test's ``monkeypatch.setattr(services, "bills_create_bulk", ...)``): the
    name is rebound too in each module of the package that holds the same object, so
    that the code calling it there calls the replacement, as it did in the one module.
    Undoing the change goes the same way."""

    def __setattr__(self, name: str, value: object) -> None:
        current = self.__dict__.get(name, _UNSET)
        if current is not _UNSET and not isinstance(current, types.ModuleType):
            for module in _MODULES:
                if module.__dict__.get(name, _UNSET) is current:
                    setattr(module, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
