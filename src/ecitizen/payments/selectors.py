"""Reads of the payments app."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from ecitizen.payments.models import Bill, Payment


def bill_by_reference(*, reference: str) -> Bill | None:
    return Bill.objects.select_related("department").filter(reference=reference).first()


def bill_for_reference_and_postcode(*, reference: str, postcode: str) -> Bill | None:
    """The bill with this reference sent to this postcode (compared through the blind
    index, so the postcode itself is not stored); ``None`` when either is wrong."""
    from ecitizen.payments.services import postcode_index

    if not postcode.strip():
        return None
    return (
        Bill.objects.filter(reference=reference, verification_index=postcode_index(postcode))
        .exclude(verification_index="")
        .first()
    )


def bills_for_payer(*, user: Any) -> QuerySet[Bill]:
    return (
        Bill.objects.filter(payer=user).select_related("department").order_by("-issued_on", "-pk")
    )


def payment_get(*, payment_id: Any) -> Payment | None:
    try:
        return Payment.objects.select_related("bill").filter(pk=payment_id).first()
    except (ValueError, TypeError):
        return None
