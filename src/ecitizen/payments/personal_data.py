"""What the payments app holds about a resident, for their data rights (the ``privacy``
app): their bills, their payments and refunds. (Receipts are issued documents: the
documents app exports them with their PDFs.) Registered as ``payments`` in
``PaymentsConfig.ready()``."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ecitizen.core.registry import PersonalData

NAME = "payments"


def export(user: Any) -> dict[str, Any]:
    """The bills addressed to ``user`` and the payments they made (on their bills, or on
    a bill they paid by its reference), with refunds. Amounts are in minor units (cents)."""
    from ecitizen.payments.models import Bill, Payment

    items: list[dict[str, Any]] = []
    for bill in (
        Bill.objects.filter(payer=user).select_related("department").order_by("issued_on", "pk")
    ):
        items.append(
            {
                "kind": "bill",
                "reference": bill.reference,
                "type": bill.kind,
                "description": bill.localised_description,
                "department": bill.department.name,
                "currency": bill.currency,
                "total_minor": bill.total_minor,
                "paid_minor": bill.paid_minor,
                "refunded_minor": bill.refunded_minor,
                "credited_minor": bill.credited_minor,
                "balance_minor": bill.balance_minor,
                "issued_on": bill.issued_on,
                "due_date": bill.due_date,
                "lines": [
                    {
                        "description": line.get("description", ""),
                        "amount_minor": line.get("amount_minor"),
                    }
                    for line in bill.localised_lines()
                ],
                "instalments": bill.instalment_status(),
            }
        )
    payments = (
        Payment.objects.filter(Q(bill__payer=user) | Q(payer=user))
        .select_related("bill")
        .prefetch_related("refunds")
        .order_by("created_at", "pk")
    )
    for payment in payments:
        items.append(
            {
                "kind": "payment",
                "id": payment.pk,
                "bill_reference": payment.bill.reference,
                "instalment_number": payment.instalment_number,
                "amount_minor": payment.amount_minor,
                "currency": payment.currency,
                "description": payment.description,
                "reference": payment.reference,
                "provider": payment.provider,
                "state": payment.state,
                "started_at": payment.created_at,
                "settled_at": payment.settled_at,
                "receipt_code": payment.receipt_code,
                "refunds": [
                    {
                        "amount_minor": refund.amount_minor,
                        "reason": refund.reason,
                        "state": refund.state,
                        "at": refund.created_at,
                    }
                    for refund in payment.refunds.all()
                ],
            }
        )
    return {"items": items}


PERSONAL_DATA = PersonalData(
    name=NAME,
    label=_("Your bills and payments"),
    purpose=_("To bill fees, taxes and fines, take payments, refund and keep the accounts."),
    lawful_basis="legal_obligation",
    categories=(
        _("Bills addressed to you and what they are for"),
        _("Payments and refunds (amounts, dates, the payment provider's reference)"),
    ),
    recipients=_(
        "Finance officers of the authority; the payment provider that takes the payment; "
        "auditors of the accounts."
    ),
    retention=_(
        "As long as accounting and tax law requires (usually 10 years), also after an "
        "account is closed."
    ),
    export=export,
    order=40,
)
