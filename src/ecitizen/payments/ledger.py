"""The double-entry ledger: the chart of accounts and balanced postings.

Every posting is a :class:`LedgerTransaction` whose entries sum to zero (debits positive,
credits negative) and whose ``key`` is unique, so the same event never posts twice.
Entries are never changed; a correction is a reversing transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum

from ecitizen.payments.models import Bill, LedgerAccount, LedgerEntry, LedgerTransaction

RECEIVABLES = "receivables"
REFUNDS_PAYABLE = "refunds"


class UnbalancedPosting(Exception):
    """A posting whose entries do not sum to zero: a programming error, never data."""


@dataclass(frozen=True)
class Posting:
    account: LedgerAccount
    amount_minor: int  # debit positive, credit negative
    bill_id: int | None = None


def account_ensure(*, code: str, name: str, kind: str, department: Any = None) -> LedgerAccount:
    """The account with ``code``, created the first time it is needed."""
    account, _created = LedgerAccount.objects.get_or_create(
        code=code, defaults={"name": name, "kind": kind, "department": department}
    )
    return account


def receivables() -> LedgerAccount:
    return account_ensure(
        code=RECEIVABLES, name="Receivables (money owed on bills)", kind=LedgerAccount.Kind.ASSET
    )


def clearing(provider: str) -> LedgerAccount:
    return account_ensure(
        code=f"clearing:{provider}",
        name=f"Payments held by {provider}",
        kind=LedgerAccount.Kind.ASSET,
    )


def revenue_code(kind: str, department: Any) -> str:
    return f"revenue:{kind}:{department.slug}"


def revenue(kind: str, department: Any) -> LedgerAccount:
    return account_ensure(
        code=revenue_code(kind, department),
        name=f"Revenue: {kind.replace('_', ' ')} — {department.name}",
        kind=LedgerAccount.Kind.REVENUE,
        department=department,
    )


@transaction.atomic
def post(
    *, key: str, kind: str, memo: str, postings: Iterable[Posting]
) -> LedgerTransaction | None:
    """Write one balanced transaction, once. Returns ``None`` when a transaction with
    this key exists already (the event was posted before). Raises
    :class:`UnbalancedPosting` when the amounts do not sum to zero."""
    postings = list(postings)
    if sum(p.amount_minor for p in postings) != 0:
        raise UnbalancedPosting(key)
    if LedgerTransaction.objects.filter(key=key).exists():
        return None
    try:
        with transaction.atomic():
            entry = LedgerTransaction.objects.create(key=key, kind=kind, memo=memo[:300])
    except IntegrityError:
        return None  # posted by a concurrent process between the check and the insert
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                transaction=entry, account=p.account, bill_id=p.bill_id, amount_minor=p.amount_minor
            )
            for p in postings
            if p.amount_minor
        ]
    )
    return entry


@dataclass(frozen=True)
class LedgerReport:
    transactions: int
    unbalanced: list[str]
    bill_mismatches: list[str]

    @property
    def ok(self) -> bool:
        return not self.unbalanced and not self.bill_mismatches


def ledger_verify() -> LedgerReport:
    """Every transaction balances, and each bill's paid, refunded and credited amounts
    equal its postings: charges debit receivables, payments credit them, refunds debit
    them, and a credit applied moves a balance from one bill's receivable to another's."""
    unbalanced = [
        row["transaction__key"]
        for row in LedgerEntry.objects.values("transaction__key")
        .annotate(total=Sum("amount_minor"))
        .exclude(total=0)
    ]
    receivable = LedgerAccount.objects.filter(code=RECEIVABLES).first()
    mismatches: list[str] = []
    if receivable is not None:
        balances = dict(
            LedgerEntry.objects.filter(account=receivable, bill__isnull=False)
            .values_list("bill_id")
            .annotate(total=Sum("amount_minor"))
        )
        for bill in Bill.objects.only(
            "pk", "reference", "total_minor", "paid_minor", "refunded_minor", "credited_minor"
        ).iterator(chunk_size=5000):
            expected = bill.balance_minor
            if balances.get(bill.pk, 0) != expected:
                mismatches.append(
                    f"{bill.reference}: ledger {balances.get(bill.pk, 0)}, bill {expected}"
                )
    return LedgerReport(
        transactions=LedgerTransaction.objects.count(),
        unbalanced=unbalanced,
        bill_mismatches=mismatches,
    )
