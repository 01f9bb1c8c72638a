"""What the taxes services share: their errors, the revenue kinds of the bill lines, and
the keys and references of the bills they issue."""

from __future__ import annotations

from django.conf import settings

from ecitizen.core.errors import DomainError
from ecitizen.taxes import selectors

#: Revenue kinds of the bill lines (the ledger's revenue accounts): the tax, and the
#: reliefs granted against it (a contra-revenue account, debited).
REVENUE_TAX = "property_tax"
REVENUE_RELIEF = selectors.REVENUE_RELIEF


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
