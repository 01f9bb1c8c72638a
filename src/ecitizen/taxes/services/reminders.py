"""Reminders before each unpaid instalment falls due, and notices once it is overdue."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from ecitizen.notifications.services import notification_send
from ecitizen.payments.money import format_minor
from ecitizen.payments.selectors import BillKind, bill_ids_with_balance, bills_by_ids
from ecitizen.payments.services import bill_lock
from ecitizen.taxes import selectors
from ecitizen.taxes.models import Property, TaxNotice

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
