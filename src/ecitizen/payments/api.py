"""The resident's bills in the public API (``/api/v1/bills``, scope ``bills:read``).

Amounts are integers in the currency's minor unit (cents), with the ISO 4217 currency,
so no client has to parse a decimal."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema

from ecitizen.api.auth import OAuth2, principal_of
from ecitizen.api.pagination import PageQuery, page_of, paginate
from ecitizen.payments import selectors
from ecitizen.payments.models import Bill

router = Router()


class BillOut(Schema):
    reference: str
    kind: str
    description: str
    department: str
    currency: str
    total_minor: int
    paid_minor: int
    balance_minor: int
    issued_on: datetime.date
    due_date: datetime.date


def _bill(bill: Bill) -> dict[str, Any]:
    return {
        "reference": bill.reference,
        "kind": bill.kind,
        "description": bill.localised_description,
        "department": str(bill.department),
        "currency": bill.currency,
        "total_minor": bill.total_minor,
        "paid_minor": bill.paid_minor - bill.refunded_minor,
        "balance_minor": bill.balance_minor,
        "issued_on": bill.issued_on,
        "due_date": bill.due_date,
    }


@router.get("", response=page_of(BillOut), auth=OAuth2(["bills:read"]), url_name="bills_list")
def bills_list(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    """The resident's bills, newest first."""
    user = principal_of(request).user
    return paginate(request, selectors.bills_for_payer(user=user), page, transform=_bill)


@router.get("/{reference}", response=BillOut, auth=OAuth2(["bills:read"]), url_name="bill_detail")
def bill_detail(request: HttpRequest, reference: str) -> dict[str, Any]:
    """One of the resident's bills; 404 for anyone else's."""
    user = principal_of(request).user
    bill = selectors.bills_for_payer(user=user).filter(reference=reference).first()
    if bill is None:
        raise Http404
    return _bill(bill)
