"""Writes of the payments app: bills, payments and their settlement, refunds.

Settlement happens exactly once whatever arrives and in whatever order — the payer's
return, webhooks (duplicated, late, out of order), the reconciliation job — because every
path goes through :func:`payment_apply_provider_state`, which locks the payment row and
posts the settlement under a unique ledger key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ecitizen.accounts.models import Department, User
from ecitizen.core.crypto import blind_index
from ecitizen.core.errors import DomainError
from ecitizen.core.events import BillPaid, PaymentSettled, event_publish
from ecitizen.core.services import audit_record
from ecitizen.core.tasks import enqueue_with_change
from ecitizen.payments import bulk, ledger
from ecitizen.payments.models import (
    FINISHED_STATES,
    Bill,
    LedgerTransaction,
    PayByReferenceThrottle,
    Payment,
    PaymentEvent,
    PaymentMismatch,
    PaymentState,
    Refund,
)
from ecitizen.payments.providers import get_provider
from ecitizen.payments.texts import Texts, site_languages

logger = logging.getLogger(__name__)

#: Unfinished payments expire this long after creation (as with GOV.UK Pay).
PAYMENT_LIFETIME = timedelta(minutes=90)
POSTCODE_CONTEXT = "payments.bill.postcode"


class PaymentError(DomainError):
    code = "payment_error"


class IdempotencyConflict(PaymentError):
    """The idempotency key was used before for a different request (HTTP 409)."""

    code = "idempotency_conflict"


def normalise_postcode(postcode: str) -> str:
    return re.sub(r"\s+", "", postcode).upper()


def postcode_index(postcode: str) -> str:
    return blind_index(normalise_postcode(postcode), context=POSTCODE_CONTEXT)


# --- bills ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineSpec:
    """A line of a bill. ``description`` is in the authority's own language
    (``LANGUAGE_CODE``); ``descriptions``, when given, the description in each site
    language (:func:`ecitizen.payments.texts.in_every_language`), which readers see in
    theirs. A batch may share one ``descriptions`` mapping between many lines: it is
    stored once per bill, encoded once per batch."""

    description: str
    amount_minor: int
    revenue_kind: str  # fee type: "fee", "property_tax", "fine"...
    descriptions: Texts | None = None


#: The kind of a bill for a service's fee (``Bill.Kind.FEE``), for the apps that charge.
BILL_KIND_FEE = Bill.Kind.FEE.value


@dataclass(frozen=True)
class BillSpec:
    """What a bill is made of. ``source_key`` makes creation idempotent.

    ``description`` is in the authority's own language (``LANGUAGE_CODE``): search,
    the ledger and the audit trail use it. ``descriptions``, optional, holds the
    description in each site language (``{"en": ..., "fr": ..., "ar": ...}``, see
    :func:`ecitizen.payments.texts.in_every_language`); without it every reader sees
    ``description``."""

    reference: str
    kind: str
    description: str
    department_id: int
    due_date: date
    lines: Sequence[LineSpec]
    payer_id: int | None = None
    instalments: Sequence[tuple[date, int]] = ()
    source_reference: str = ""
    source_key: str | None = None
    verification_postcode: str = ""
    adjusts_id: int | None = None
    issued_on: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    descriptions: Texts | None = None


def _check_spec(spec: BillSpec) -> int:
    total = sum(line.amount_minor for line in spec.lines)
    if spec.instalments and sum(amount for _due, amount in spec.instalments) != total:
        raise PaymentError("instalments must add up to the bill's total")
    return total


def _check_texts(texts: Texts | None, languages: frozenset[str]) -> None:
    """Refuse texts in a language the site does not have: nobody would ever read them
    (a typo such as ``fr-FR`` for ``fr``) while the reader of ``fr`` got the fallback."""
    if texts and not texts.keys() <= languages:
        raise PaymentError(
            f"texts in languages the site does not have: {sorted(set(texts) - languages)}"
        )


def _lines_json(spec: BillSpec, department: Department) -> list[dict[str, Any]]:
    lines = []
    for line in spec.lines:
        item: dict[str, Any] = {
            "description": line.description,
            "amount_minor": line.amount_minor,
            "account": ledger.revenue_code(line.revenue_kind, department),
        }
        if line.descriptions:
            item["descriptions"] = dict(line.descriptions)
        lines.append(item)
    return lines


def _instalments_json(spec: BillSpec) -> list[dict[str, Any]]:
    return [
        {"due_date": due.isoformat(), "amount_minor": amount} for due, amount in spec.instalments
    ]


def _charge_postings(bill: Bill, spec: BillSpec, department: Department) -> list[ledger.Posting]:
    postings = [ledger.Posting(ledger.receivables(), bill.total_minor, bill.pk)]
    for line in spec.lines:
        postings.append(
            ledger.Posting(
                ledger.revenue(line.revenue_kind, department), -line.amount_minor, bill.pk
            )
        )
    return postings


@transaction.atomic
def bill_create(*, spec: BillSpec, actor: Any) -> Bill:
    """Issue a bill and post its charge (receivables debited, revenue credited).
    Idempotent on ``spec.source_key``: the existing bill is returned."""
    if spec.source_key:
        existing = Bill.objects.filter(source_key=spec.source_key).first()
        if existing is not None:
            return existing
    total = _check_spec(spec)
    languages = frozenset(site_languages())
    for texts in (spec.descriptions, *(line.descriptions for line in spec.lines)):
        _check_texts(texts, languages)
    department = Department.objects.get(pk=spec.department_id)
    bill = Bill.objects.create(
        reference=spec.reference,
        kind=spec.kind,
        payer_id=spec.payer_id,
        description=spec.description,
        descriptions=dict(spec.descriptions or {}),
        department=department,
        currency=settings.CURRENCY,
        total_minor=total,
        due_date=spec.due_date,
        issued_on=spec.issued_on or timezone.localdate(),
        verification_index=postcode_index(spec.verification_postcode)
        if spec.verification_postcode
        else "",
        source_reference=spec.source_reference,
        source_key=spec.source_key,
        adjusts_id=spec.adjusts_id,
        lines=_lines_json(spec, department),
        instalments=_instalments_json(spec),
    )
    ledger.post(
        key=f"charge:{bill.pk}",
        kind=LedgerTransaction.Kind.CHARGE
        if spec.kind != Bill.Kind.ADJUSTMENT
        else LedgerTransaction.Kind.ADJUSTMENT,
        memo=f"{bill.reference} {bill.description}",
        postings=_charge_postings(bill, spec, department),
    )
    audit_record(
        action="payments.bill_issued",
        actor=actor,
        obj=bill,
        subject_user_id=spec.payer_id,
        changes={"total_minor": total, "kind": spec.kind},
    )
    return bill


@dataclass(frozen=True)
class PreparedBills:
    """Bills ready to be issued in bulk, from :func:`bills_prepare`: one tuple per bill
    in :data:`ecitizen.payments.bulk.BILL_COLUMNS` order (no model instances: for a
    batch of thousands they would cost more than writing the rows), and the department
    of each revenue account their lines name."""

    rows: list[tuple[Any, ...]]
    departments: dict[str, tuple[str, Department]]

    @property
    def references(self) -> tuple[str, str]:
        """The first and the last bill's reference. Precondition: ``rows`` not empty."""
        return self.rows[0][bulk.REFERENCE], self.rows[-1][bulk.REFERENCE]


def bills_prepare(specs: Sequence[BillSpec]) -> PreparedBills:
    """Check ``specs`` and turn them into rows for :func:`bills_create_bulk`. Writes
    nothing (it reads the departments), so it may run ahead of the issuing transaction,
    on another connection. Raises :class:`PaymentError` for instalments that do not add
    up to a bill's total, or texts in a language the site does not have. A line's
    ``descriptions`` mapping shared by many lines is checked once."""
    departments = {
        d.pk: d for d in Department.objects.filter(pk__in={s.department_id for s in specs})
    }
    today = timezone.localdate()
    now = timezone.now()
    currency = settings.CURRENCY
    index_cache: dict[str, str] = {}
    revenue_departments: dict[str, tuple[str, Department]] = {}
    languages = frozenset(site_languages())
    # Line texts checked already, by identity (kept here, so no id is reused meanwhile).
    checked: dict[int, Texts] = {}

    def verification(postcode: str) -> str:
        if not postcode:
            return ""
        normal = normalise_postcode(postcode)
        if normal not in index_cache:
            index_cache[normal] = postcode_index(normal)
        return index_cache[normal]

    def line_row(line: LineSpec, department: Department) -> bulk.LineRow:
        code = ledger.revenue_code(line.revenue_kind, department)
        if code not in revenue_departments:
            revenue_departments[code] = (line.revenue_kind, department)
        texts = line.descriptions
        if texts and id(texts) not in checked:
            _check_texts(texts, languages)
            checked[id(texts)] = texts
        return (line.description, line.amount_minor, code, texts)

    def bill_texts(spec: BillSpec) -> Texts | None:
        _check_texts(spec.descriptions, languages)
        return spec.descriptions

    rows = [
        (
            spec.reference,
            spec.kind,
            spec.payer_id,
            spec.description,
            spec.department_id,
            currency,
            _check_spec(spec),
            0,
            0,
            spec.issued_on or today,
            spec.due_date,
            verification(spec.verification_postcode),
            spec.source_reference,
            spec.source_key,
            spec.adjusts_id,
            [line_row(line, departments[spec.department_id]) for line in spec.lines],
            spec.instalments,
            now,
            bill_texts(spec),
        )
        for spec in specs
    ]
    return PreparedBills(rows, revenue_departments)


@transaction.atomic
def bills_create_bulk(*, bills: PreparedBills, actor: Any, memo: str) -> int:
    """Issue many bills at once (a tax assessment batch), prepared by
    :func:`bills_prepare`. Bills whose ``source_key`` exists are skipped, so a re-run
    creates nothing twice. The batch's charges post as one balanced ledger transaction:
    one receivable entry per bill, one revenue entry per account. One audit event for
    the batch. Returns how many bills were created.

    On PostgreSQL the rows are written with ``COPY`` (see :mod:`ecitizen.payments.bulk`).
    """
    existing = bulk.existing_source_keys(
        [row[bulk.SOURCE_KEY] for row in bills.rows if row[bulk.SOURCE_KEY]]
    )
    rows = [row for row in bills.rows if row[bulk.SOURCE_KEY] not in existing]
    if not rows:
        return 0
    ids = bulk.insert_bills(rows)
    revenue: dict[str, int] = {}
    for row in rows:
        for _description, amount, code, _texts in row[bulk.LINES]:
            revenue[code] = revenue.get(code, 0) - amount
    totals = [row[bulk.TOTAL] for row in rows]
    total = sum(totals)
    if total + sum(revenue.values()) != 0:
        raise ledger.UnbalancedPosting(memo)
    first, last = rows[0][bulk.REFERENCE], rows[-1][bulk.REFERENCE]
    posted = LedgerTransaction.objects.create(
        key=f"charges:{first}:{last}:{len(rows)}",
        kind=LedgerTransaction.Kind.CHARGE,
        memo=memo[:300],
    )
    receivable = ledger.receivables().pk
    entries: list[tuple[int, int | None, int]] = [
        (receivable, bill_id, amount) for bill_id, amount in zip(ids, totals, strict=True)
    ]
    for code, amount in revenue.items():
        kind, department = bills.departments[code]
        entries.append((ledger.revenue(kind, department).pk, None, amount))
    bulk.insert_entries(posted.pk, entries)
    audit_record(
        action="payments.bills_issued",
        actor=actor,
        object_type="payments.bill",
        object_id=f"{first}..{last}",
        changes={"count": len(rows), "total_minor": total, "memo": memo},
    )
    return len(rows)


@transaction.atomic
def bill_credits_apply(*, bill: Bill, actor: Any) -> int:
    """Use the unused credit of ``bill``'s family — the bill it adjusts (or ``bill``
    itself) and all that bill's adjustments — to pay what the family's other bills still
    owe, the oldest bill first (on each bill, its earliest instalments first). Returns
    the amount moved; nothing to move, nothing happens, so calling it again is harmless.

    A credit is a bill of negative total (a reassessment in the payer's favour) that is
    not used up. An overpayment is not a credit: it is refunded to the card it came from.
    The family's rows are locked in id order. Side effects: one ledger transaction moving
    the amounts between the bills' receivables, ``credited_minor`` on each bill touched,
    one audit event, and the ``BillPaid`` event for each bill it pays off.
    """
    root_id = bill.adjusts_id or bill.pk
    family = list(
        Bill.objects.select_for_update()
        .filter(Q(pk=root_id) | Q(adjusts_id=root_id))
        .order_by("pk")
    )
    # Unique and repeatable: what the family had moved before this application.
    moved_before = sum(b.credited_minor for b in family if b.credited_minor > 0)
    credits = [b for b in family if b.total_minor < 0 and b.balance_minor < 0]
    owing = [b for b in family if b.balance_minor > 0]
    moves: list[tuple[Bill, Bill, int]] = []
    for credit in credits:
        available = -credit.balance_minor
        for target in owing:
            amount = min(available, target.balance_minor)
            if amount <= 0:
                continue
            moves.append((credit, target, amount))
            credit.credited_minor -= amount
            target.credited_minor += amount
            available -= amount
    if not moves:
        return 0
    root = next(b for b in family if b.pk == root_id)
    receivable = ledger.receivables()
    posted = ledger.post(
        key=f"credit:{root.pk}:{moved_before}",
        kind=LedgerTransaction.Kind.ADJUSTMENT,
        memo=f"Credit applied within {root.reference}",
        postings=[
            posting
            for credit, target, amount in moves
            for posting in (
                ledger.Posting(receivable, amount, credit.pk),
                ledger.Posting(receivable, -amount, target.pk),
            )
        ],
    )
    if posted is None:  # posted before: the rows already say so
        return 0
    changed = {b.pk: b for credit, target, _amount in moves for b in (credit, target)}
    for each in changed.values():
        each.save(update_fields=["credited_minor"])
    audit_record(
        action="payments.credit_applied",
        actor=actor,
        obj=root,
        subject_user_id=root.payer_id,
        changes={
            "moves": [
                {"from": credit.reference, "to": target.reference, "amount_minor": amount}
                for credit, target, amount in moves
            ]
        },
    )
    for paid_off in {target.pk: target for _c, target, _a in moves}.values():
        if paid_off.balance_minor <= 0:
            _publish_bill_paid(paid_off)
    return sum(amount for _credit, _target, amount in moves)


# --- bill families, for the apps that issue bills ----------------------------------------


@dataclass(frozen=True)
class BillFamily:
    """A bill and the bills that adjust it (in id order), as :func:`bill_family_lock`
    locked them."""

    original: Bill
    adjustments: list[Bill]


def bill_family_lock(*, source_key: str) -> BillFamily | None:
    """Lock the bill whose ``source_key`` is ``source_key``, then the bills that adjust
    it, in id order (the order :func:`bill_credits_apply` locks them in), until the
    caller's transaction ends; return them, or ``None`` when no bill has that key.

    For an app that reissues part of a bill (a reassessment): concurrent callers for
    the same bill queue here. Precondition: called inside the caller's
    ``transaction.atomic`` (the locks are the caller's, so this opens no transaction of
    its own; Django refuses a locking query outside one). Writes nothing.
    """
    original = Bill.objects.select_for_update().filter(source_key=source_key).first()
    if original is None:
        return None
    adjustments = list(Bill.objects.select_for_update().filter(adjusts=original).order_by("pk"))
    return BillFamily(original=original, adjustments=adjustments)


@transaction.atomic
def bill_adjustment_issue(*, spec: BillSpec, actor: Any) -> Bill:
    """Issue an adjusting bill (``spec.kind`` ``adjustment``, ``spec.adjusts_id`` the
    bill it adjusts; positive: more to pay, negative: a credit), then settle credit
    within the family (:func:`bill_credits_apply`): a credit pays what the family still
    owes, a new charge uses any credit left. Returns the adjusting bill as it stands
    after that (its ``credited_minor``). Idempotent on ``spec.source_key``, like
    :func:`bill_create`.

    Raises :class:`PaymentError` when ``spec`` is not an adjustment of a bill. Side
    effects: those of :func:`bill_create` and :func:`bill_credits_apply`.
    """
    if spec.kind != Bill.Kind.ADJUSTMENT or spec.adjusts_id is None:
        raise PaymentError("an adjusting bill needs the adjustment kind and the bill it adjusts")
    bill = bill_create(spec=spec, actor=actor)
    if bill_credits_apply(bill=bill, actor=actor):
        bill.refresh_from_db(fields=["credited_minor"])
    return bill


def bill_lock(*, bill_id: int) -> Bill:
    """Lock the bill's row (not its payer's) until the caller's transaction ends, and
    return it with its payer, as it stands once locked: a job that acts on what is
    still owed (a reminder) re-reads it here so that a payment settling meanwhile is
    seen. Precondition: inside the caller's ``transaction.atomic``. Raises
    ``Bill.DoesNotExist`` for an unknown id (bills are never deleted). Writes nothing.
    """
    return Bill.objects.select_for_update(of=("self",)).select_related("payer").get(pk=bill_id)


# --- settlement events ----------------------------------------------------------------------


def _publish_bill_paid(bill: Bill) -> None:
    """``BillPaid`` for a bill now paid in full: its subscribers (the cases app moves a
    case out of "payment due") run once the settling transaction commits."""
    event_publish(
        BillPaid(
            bill_id=bill.pk,
            reference=bill.reference,
            source_key=bill.source_key or "",
            source_reference=bill.source_reference,
            kind=bill.kind,
            department_id=bill.department_id,
            payer_id=bill.payer_id,
        )
    )


# --- payments ----------------------------------------------------------------------------------

#: Order of unfinished states: a late event never moves a payment backwards.
_PROGRESS: dict[str, int] = {
    PaymentState.CREATED: 0,
    PaymentState.STARTED: 1,
    PaymentState.SUBMITTED: 2,
}


def _request_hash(**fields: Any) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def payable_amount(bill: Bill, instalment_number: int | None) -> int:
    """What may be paid now: the outstanding part of the instalment, or the balance.
    Raises :class:`PaymentError` when nothing is owed."""
    if instalment_number is not None:
        status = {item["number"]: item for item in bill.instalment_status()}
        if instalment_number not in status:
            raise PaymentError(_("This bill has no such instalment."), code="no_instalment")
        amount = int(str(status[instalment_number]["outstanding_minor"]))
    else:
        amount = bill.balance_minor
    if amount <= 0:
        raise PaymentError(_("There is nothing left to pay on this bill."), code="nothing_due")
    return amount


@transaction.atomic
def payment_create(
    *,
    bill: Bill,
    idempotency_key: str,
    return_url: str,
    instalment_number: int | None = None,
    payer: User | None = None,
    provider_name: str | None = None,
) -> Payment:
    """A payment of what is owed on the bill (or one instalment): the amount is always
    worked out here, never taken from the payer's browser. ``return_url`` may contain
    ``{payment_id}``, filled in with the new payment's id. The payment's description,
    which the provider shows the payer, is the bill's in the active language.

    The same ``idempotency_key`` with the same request returns the same payment (a double
    click, a refresh); with a different request it raises :class:`IdempotencyConflict`.
    """
    bill = Bill.objects.select_for_update().get(pk=bill.pk)
    provider = get_provider(provider_name)
    existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        fingerprint = _request_hash(
            bill=bill.reference,
            amount=existing.amount_minor,
            instalment=instalment_number,
            return_url=return_url,
            provider=provider.name,
        )
        if fingerprint != existing.request_hash:
            raise IdempotencyConflict(
                _("This payment request was already made with different details."),
            )
        return existing
    amount = payable_amount(bill, instalment_number)
    fingerprint = _request_hash(
        bill=bill.reference,
        amount=amount,
        instalment=instalment_number,
        return_url=return_url,
        provider=provider.name,
    )
    now = timezone.now()
    payment_id = uuid.uuid4()
    payment = Payment.objects.create(
        id=payment_id,
        bill=bill,
        instalment_number=instalment_number,
        amount_minor=amount,
        currency=bill.currency,
        # What the provider shows the payer on its page: in the payer's language.
        description=bill.localised_description[:300],
        reference=bill.reference,
        provider=provider.name,
        idempotency_key=idempotency_key,
        request_hash=fingerprint,
        return_url=return_url.replace("{payment_id}", str(payment_id)),
        payer=payer,
        created_at=now,
        expires_at=now + PAYMENT_LIFETIME,
    )
    PaymentEvent.objects.create(
        payment=payment, source=PaymentEvent.Source.CREATED, state=payment.state
    )
    audit_record(
        action="payments.payment_created",
        actor=payer,
        obj=payment,
        subject_user_id=bill.payer_id,
        changes={"amount_minor": amount, "bill": bill.reference},
    )
    return payment


def payment_create_checked(*, amount_minor: int, **kwargs: Any) -> Payment:
    """:func:`payment_create` for a request that also states an amount (an API client,
    a tampered form): refused unless it is exactly what is owed."""
    bill = kwargs["bill"]
    expected = payable_amount(bill, kwargs.get("instalment_number"))
    if amount_minor != expected:
        raise PaymentError(_("The amount does not match what is owed."), code="amount_mismatch")
    return payment_create(**kwargs)


def payment_start(*, payment: Payment) -> Payment:
    """Create the payment at the provider (outside any transaction: the provider may be
    slow) and keep where to send the payer. Safe to repeat: the provider sees the same
    idempotency key."""
    if payment.provider_id and payment.next_url:
        return payment
    provider = get_provider(payment.provider)
    created = provider.create_payment(
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        reference=payment.reference,
        description=payment.description,
        return_url=payment.return_url,
        idempotency_key=str(payment.pk),
    )
    Payment.objects.filter(pk=payment.pk).update(
        provider_id=created.provider_id, next_url=created.next_url
    )
    payment.provider_id, payment.next_url = created.provider_id, created.next_url
    return payment


def _settle(payment: Payment) -> None:
    """Post the payment to the ledger and the bill, once (the ledger key is unique).
    Side effects: the receipt's task (queued in this transaction with the database task
    backend, on commit with another), the ``PaymentSettled`` event, and ``BillPaid``
    when the bill is now paid in full."""
    bill = Bill.objects.select_for_update().get(pk=payment.bill_id)
    posted = ledger.post(
        key=f"settle:{payment.pk}",
        kind=LedgerTransaction.Kind.PAYMENT,
        memo=f"{bill.reference} paid through {payment.provider}",
        postings=[
            ledger.Posting(ledger.clearing(payment.provider), payment.amount_minor),
            ledger.Posting(ledger.receivables(), -payment.amount_minor, bill.pk),
        ],
    )
    if posted is None:
        return
    Bill.objects.filter(pk=bill.pk).update(paid_minor=F("paid_minor") + payment.amount_minor)
    bill.refresh_from_db()
    payment.settled_at = timezone.now()
    payment.save(update_fields=["settled_at"])
    audit_record(
        action="payments.payment_settled",
        actor=None,
        obj=payment,
        subject_user_id=bill.payer_id,
        changes={"amount_minor": payment.amount_minor, "bill": bill.reference},
    )
    _receipt_issue_with_change(payment.pk)
    event_publish(
        PaymentSettled(
            payment_id=str(payment.pk),
            bill_id=bill.pk,
            bill_reference=bill.reference,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            provider=payment.provider,
        )
    )
    if bill.balance_minor <= 0:
        _publish_bill_paid(bill)


def _receipt_issue_with_change(payment_id: Any) -> None:
    """Queue the receipt with the settlement (``enqueue_with_change``: a process that dies
    just after the commit loses no receipt)."""
    from ecitizen.payments.tasks import payment_receipt_issue

    enqueue_with_change(payment_receipt_issue, str(payment_id))


#: ``failure_message`` of a payment the provider reported for another amount or currency.
AMOUNT_MISMATCH = "amount_mismatch"


def _reported_matches(payment: Payment, amount_minor: int | None, currency: str) -> bool:
    return amount_minor == payment.amount_minor and currency.upper() == payment.currency.upper()


def _record_mismatch(
    payment: Payment,
    *,
    amount_minor: int | None,
    currency: str,
    source: str,
    provider_event_id: str | None,
) -> None:
    """Finish ``payment`` (locked) in ``error`` without settling it, and keep what the
    provider reported for finance: a :class:`PaymentMismatch` row, an audit event and an
    error in the log."""
    payment.state = PaymentState.ERROR
    payment.finished = True
    payment.failure_message = AMOUNT_MISMATCH
    payment.save(update_fields=["state", "finished", "failure_message"])
    PaymentMismatch.objects.create(
        payment=payment,
        expected_amount_minor=payment.amount_minor,
        expected_currency=payment.currency,
        reported_amount_minor=amount_minor,
        reported_currency=currency[:10],
        source=source,
        provider_event_id=provider_event_id or "",
    )
    audit_record(
        action="payments.amount_mismatch",
        actor=None,
        obj=payment,
        subject_user_id=payment.bill.payer_id,
        changes={
            "expected": {"amount_minor": payment.amount_minor, "currency": payment.currency},
            "reported": {"amount_minor": amount_minor, "currency": currency[:10]},
            "bill": payment.reference,
        },
    )
    logger.error(
        "payment %s (%s) not settled: %s reported success for %s %s, but it was for %s %s",
        payment.pk,
        payment.reference,
        payment.provider,
        amount_minor,
        currency or "(no currency)",
        payment.amount_minor,
        payment.currency,
    )


@transaction.atomic
def payment_apply_provider_state(
    *,
    payment: Payment,
    state: str,
    source: str,
    provider_event_id: str | None = None,
    detail: dict[str, Any] | None = None,
    failure_message: str = "",
    amount_minor: int | None = None,
    currency: str = "",
) -> Payment:
    """What the provider said about the payment, from any source, applied once.

    The payment row is locked. A webhook already seen (same provider event id) changes
    nothing. A finished payment never changes state again, and unfinished states never
    move backwards, so duplicates, late and reordered events are harmless. Reaching
    ``success`` settles the payment exactly once, and only when the provider reports
    exactly the payment's ``amount_minor`` and ``currency``: otherwise (another amount,
    another currency, or none reported) the payment finishes in ``error`` unsettled and
    the mismatch is recorded for finance (see :func:`_record_mismatch`).
    """
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if (
        provider_event_id is not None
        and PaymentEvent.objects.filter(
            payment=payment, provider_event_id=provider_event_id
        ).exists()
    ):
        return payment
    detail = dict(detail or {})
    if amount_minor is not None or currency:
        detail["reported"] = {"amount_minor": amount_minor, "currency": currency}
    try:
        with transaction.atomic():
            PaymentEvent.objects.create(
                payment=payment,
                source=source,
                provider_event_id=provider_event_id,
                state=state,
                detail=detail,
            )
    except IntegrityError:
        return payment  # the same webhook, delivered twice at once
    if payment.finished or state not in PaymentState.values:
        return payment
    if state == PaymentState.SUCCESS and not _reported_matches(payment, amount_minor, currency):
        _record_mismatch(
            payment,
            amount_minor=amount_minor,
            currency=currency,
            source=source,
            provider_event_id=provider_event_id,
        )
        return payment
    if state in FINISHED_STATES:
        payment.state = state
        payment.finished = True
        payment.failure_message = failure_message[:300]
        payment.save(update_fields=["state", "finished", "failure_message"])
        if state == PaymentState.SUCCESS:
            _settle(payment)
    elif _PROGRESS.get(state, 0) > _PROGRESS.get(payment.state, 0):
        payment.state = state
        payment.save(update_fields=["state"])
    return payment


def payment_refresh(*, payment: Payment, source: str = PaymentEvent.Source.RETURN) -> Payment:
    """Ask the provider for the payment's status (the authoritative read) and apply it.
    A provider that cannot answer leaves the payment as it is (the reconciliation job
    asks again)."""
    from ecitizen.payments.providers.base import ProviderError

    if payment.finished or not payment.provider_id:
        return payment
    try:
        view = get_provider(payment.provider).get_payment(payment.provider_id)
    except ProviderError as error:
        logger.warning(
            "provider %s did not answer about %s: %s", payment.provider, payment.pk, error
        )
        return payment
    return payment_apply_provider_state(
        payment=payment,
        state=view.state,
        source=source,
        failure_message=view.failure_message,
        amount_minor=view.amount_minor,
        currency=view.currency,
    )


def webhook_receive(*, provider_name: str, body: bytes, headers: dict[str, str]) -> Payment | None:
    """A provider's webhook: checked (raises ``WebhookRejected``), then applied.
    Returns the payment, or ``None`` for an event about no payment of ours."""
    event = get_provider(provider_name).parse_webhook(body=body, headers=headers)
    if not event.state:
        return None
    payment = Payment.objects.filter(provider=provider_name, provider_id=event.provider_id).first()
    if payment is None:
        return None
    return payment_apply_provider_state(
        payment=payment,
        state=event.state,
        source=PaymentEvent.Source.WEBHOOK,
        provider_event_id=event.event_id,
        detail=event.detail,
        amount_minor=event.amount_minor,
        currency=event.currency,
    )


def payments_reconcile(*, now: Any = None) -> tuple[int, int]:
    """Ask the provider about every unfinished payment older than a few minutes; settle
    or fail it, and fail those past their 90 minutes. Idempotent. Returns (checked,
    expired)."""
    now = now or timezone.now()
    older = now - timedelta(minutes=settings.PAYMENTS_RECONCILE_AFTER_MINUTES)
    checked = expired = 0
    for unfinished in Payment.objects.filter(finished=False, created_at__lte=older).order_by(
        "created_at"
    ):
        payment = payment_refresh(payment=unfinished, source=PaymentEvent.Source.RECONCILE)
        checked += 1
        if not payment.finished and payment.expires_at <= now:
            payment_apply_provider_state(
                payment=payment,
                state=PaymentState.FAILED,
                source=PaymentEvent.Source.EXPIRY,
                failure_message="expired",
            )
            expired += 1
    return checked, expired


@transaction.atomic
def payment_record_offline(
    *, bill: Bill, amount_minor: int, paid_at: Any = None, actor: Any = None
) -> Payment:
    """A payment taken at the cash desk: recorded and settled like an online one (the
    ledger's clearing account is ``clearing:counter``)."""
    if amount_minor <= 0 or amount_minor > bill.balance_minor:
        raise PaymentError(_("The amount must be more than zero and no more than what is owed."))
    now = paid_at or timezone.now()
    payment = Payment.objects.create(
        bill=bill,
        amount_minor=amount_minor,
        currency=bill.currency,
        description=bill.description[:300],
        reference=bill.reference,
        provider="counter",
        idempotency_key=f"counter:{uuid.uuid4()}",
        request_hash="",
        return_url="",
        created_at=now,
        expires_at=now,
    )
    return payment_apply_provider_state(
        payment=payment,
        state=PaymentState.SUCCESS,
        source=PaymentEvent.Source.RECONCILE,
        amount_minor=amount_minor,
        currency=bill.currency,
    )


# --- paying by reference without an account -----------------------------------------------

_REFERENCE_KEY_CONTEXT = "payments.paybyreferencethrottle.reference"


class PayByReferenceThrottled(PaymentError):
    """The reference or the client address must wait before another attempt."""

    code = "pay_by_reference_throttled"

    def __init__(self, wait_seconds: int) -> None:
        super().__init__(f"wait {wait_seconds} seconds", code=self.code)
        self.wait_seconds = wait_seconds


def _pay_throttle_keys(*, reference: str, ip_address: str | None) -> list[tuple[str, str, int]]:
    # The reference as a blind index: the table holds no typed references (which may be
    # anybody's, or nobody's).
    keys: list[tuple[str, str, int]] = [
        (
            PayByReferenceThrottle.Scope.REFERENCE,
            blind_index(reference, context=_REFERENCE_KEY_CONTEXT),
            int(settings.PAY_THROTTLE_FREE_ATTEMPTS_REFERENCE),
        )
    ]
    if ip_address:
        keys.append(
            (
                PayByReferenceThrottle.Scope.IP,
                ip_address,
                int(settings.PAY_THROTTLE_FREE_ATTEMPTS_IP),
            )
        )
    return keys


def _pay_delay_after(failures: int, free_attempts: int) -> int:
    """No wait within the free attempts, then doubling from the base delay, capped (so a
    reference is never locked for good: its payer can always pay)."""
    if failures < free_attempts:
        return 0
    exponent = min(failures - free_attempts, 20)
    base, cap = int(settings.PAY_THROTTLE_BASE_DELAY), int(settings.PAY_THROTTLE_MAX_DELAY)
    return min(base * (1 << exponent), cap)


@transaction.atomic
def bill_unlock_by_reference(
    *, reference: str, postcode: str, ip_address: str | None
) -> Bill | None:
    """A visitor without an account proves a bill is theirs with its reference (as the
    form cleans it: no spaces, capitals) and the postcode it was sent to. Returns the
    bill, or ``None`` when the two do not match a bill.

    Throttled like sign-in (ADR 0006): the throttle rows of the reference typed and of
    the client address are locked first, so parallel attempts queue; during a wait the
    attempt is refused with :class:`PayByReferenceThrottled` before anything is looked
    up. A wrong answer counts one failure on both rows and writes a
    ``payments.pay_by_reference_failed`` audit event (with the address, and the bill's
    reference when the reference exists); a right one forgets the reference's count.

    An unknown reference and a known one with the wrong postcode take the same steps
    (the same query, the same writes) and give the same answer, so that the answer
    never tells whether a reference exists.
    """
    now = timezone.now()
    rows: list[tuple[PayByReferenceThrottle, int]] = []
    wait = 0.0
    for scope, key, free in _pay_throttle_keys(reference=reference, ip_address=ip_address):
        row, _created = PayByReferenceThrottle.objects.select_for_update().get_or_create(
            scope=scope, key=key, defaults={"last_failure_at": now}
        )
        if row.blocked_until and row.blocked_until > now:
            wait = max(wait, (row.blocked_until - now).total_seconds())
        rows.append((row, free))
    if wait:
        logger.warning("pay by reference refused for %ss from %s", math.ceil(wait), ip_address)
        raise PayByReferenceThrottled(math.ceil(wait))
    from ecitizen.payments.selectors import bill_for_reference_and_postcode

    bill = bill_for_reference_and_postcode(reference=reference, postcode=postcode)
    if bill is not None:
        for row, _free in rows:
            if row.scope == PayByReferenceThrottle.Scope.REFERENCE or not row.failures:
                row.delete()
        return bill
    wait_now = 0
    for row, free in rows:
        if now - row.last_failure_at > timedelta(days=1):
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        delay = _pay_delay_after(row.failures, free)
        row.blocked_until = now + timedelta(seconds=delay) if delay else None
        row.save()
        wait_now = max(wait_now, delay)
    # Whether the reference exists is for the audit trail only, looked up in both cases.
    known = Bill.objects.filter(reference=reference).values_list("reference", flat=True).first()
    audit_record(
        action="payments.pay_by_reference_failed",
        actor=None,
        object_type="payments.bill" if known else "",
        object_id=known or "",
        changes={"wait_seconds": {"before": None, "after": wait_now}},
        ip_address=ip_address,
    )
    return None


def pay_throttle_prune() -> int:
    """Forget failure counts at ``/pay/`` that no longer matter (older than a day, not
    imposing a wait). Returns how many were deleted."""
    now = timezone.now()
    deleted, _by_model = (
        PayByReferenceThrottle.objects.filter(last_failure_at__lt=now - timedelta(days=1))
        .exclude(blocked_until__gt=now)
        .delete()
    )
    return deleted


# --- refunds -----------------------------------------------------------------------------------


def refundable_minor(payment: Payment) -> int:
    refunded = sum(
        payment.refunds.exclude(state=Refund.State.FAILED).values_list("amount_minor", flat=True)
    )
    return payment.amount_minor - refunded if payment.state == PaymentState.SUCCESS else 0


@transaction.atomic
def refund_create(*, payment: Payment, amount_minor: int, reason: str, actor: User) -> Refund:
    """Refund part or all of a successful payment. The payment row is locked while the
    refundable amount is checked and the refund recorded, so concurrent refunds can
    never together exceed the payment. Posted to the ledger, audited, the payer told."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if not reason.strip():
        raise PaymentError(_("Enter the reason for the refund"), code="reason_required")
    available = refundable_minor(payment)
    if amount_minor <= 0:
        raise PaymentError(_("Enter an amount more than zero"), code="amount")
    if amount_minor > available:
        from ecitizen.payments.money import format_minor

        raise PaymentError(
            _("You can refund at most %(amount)s of this payment.")
            % {"amount": format_minor(available)},
            code="too_much",
        )
    refund = Refund.objects.create(
        payment=payment, amount_minor=amount_minor, reason=reason.strip()[:500], requested_by=actor
    )
    if payment.provider == "counter":
        outcome_state, provider_refund_id = Refund.State.SUCCESS, ""
    else:
        outcome = get_provider(payment.provider).refund(
            provider_id=payment.provider_id or "",
            amount_minor=amount_minor,
            idempotency_key=str(refund.pk),
        )
        outcome_state, provider_refund_id = outcome.state, outcome.provider_refund_id  # type: ignore[assignment]
    refund.state = outcome_state
    refund.provider_refund_id = provider_refund_id
    refund.save(update_fields=["state", "provider_refund_id"])
    if refund.state == Refund.State.FAILED:
        raise PaymentError(
            _("The payment provider refused the refund. Nothing was refunded."),
            code="provider_refused",
        )
    ledger.post(
        key=f"refund:{refund.pk}",
        kind=LedgerTransaction.Kind.REFUND,
        memo=f"{payment.reference} refund: {refund.reason}",
        postings=[
            ledger.Posting(ledger.receivables(), amount_minor, payment.bill_id),
            ledger.Posting(ledger.clearing(payment.provider), -amount_minor),
        ],
    )
    Bill.objects.filter(pk=payment.bill_id).update(
        refunded_minor=F("refunded_minor") + amount_minor
    )
    PaymentEvent.objects.create(
        payment=payment,
        source=PaymentEvent.Source.REFUND,
        state=payment.state,
        detail={"refund": str(refund.pk), "amount_minor": amount_minor},
    )
    payer = payment.bill.payer or payment.payer
    if payer is not None:
        from ecitizen.notifications.services import notification_send
        from ecitizen.payments.money import format_minor

        notification_send(
            recipient=payer,
            event="payment_refunded",
            context={
                "reference": payment.reference,
                "amount": format_minor(amount_minor),
                "reason": refund.reason,
                "url": reverse("payments:bills"),
            },
            channels=["email", "inbox"],
        )
    audit_record(
        action="payments.refunded",
        actor=actor,
        obj=payment,
        subject_user_id=payment.bill.payer_id,
        changes={"amount_minor": amount_minor, "reason": refund.reason},
    )
    return refund


# --- receipts ------------------------------------------------------------------------------------


@transaction.atomic
def payment_receipt_issue(*, payment: Payment) -> Any:
    """The PDF receipt of a settled payment (signed, with a QR verification code), once;
    the payer with an account is told. Returns the issued document, or ``None`` while
    the payment is not settled."""
    from django.utils.formats import date_format

    from ecitizen.documents.services import document_issue
    from ecitizen.notifications.services import notification_send
    from ecitizen.payments.money import format_minor

    payment = (
        Payment.objects.select_for_update(of=("self",))
        .select_related("bill__payer__profile")
        .get(pk=payment.pk)
    )
    if payment.state != PaymentState.SUCCESS or payment.receipt_code:
        return None
    bill = payment.bill
    owner = bill.payer or payment.payer
    language = getattr(owner, "language", "") or settings.LANGUAGE_CODE
    profile = getattr(owner, "profile", None) if owner else None
    from django.utils import translation

    with translation.override(language):
        document = document_issue(
            owner=owner,
            template="receipt",
            department=bill.department,
            remit="finance",
            title=_("Payment receipt"),
            reference=f"{bill.reference}/{payment.pk.hex[:8].upper()}",
            holder_name=(
                getattr(profile, "legal_name", "")
                or getattr(owner, "full_name", "")
                or _("Paid by reference")
            ),
            printed=[
                (_("Bill"), bill.reference),
                (_("For"), bill.localised_description),
                (_("Amount paid"), format_minor(payment.amount_minor)),
                (
                    _("Paid on"),
                    date_format(
                        timezone.localtime(payment.settled_at or timezone.now()), "j F Y, H:i"
                    ),
                ),
                (
                    _("Payment method"),
                    _("Card") if payment.provider != "counter" else _("At the cash desk"),
                ),
                (_("Payment number"), str(payment.pk)),
            ],
            valid_for_days=None,
            language=language,
            actor=None,
        )
    Payment.objects.filter(pk=payment.pk).update(receipt_code=document.code)
    if owner is not None:
        notification_send(
            recipient=owner,
            event="payment_received",
            context={
                "reference": bill.reference,
                "amount": format_minor(payment.amount_minor),
                "url": reverse("documents:list"),
            },
            channels=["email", "inbox"],
        )
    return document
