"""Reads of the payments app."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeAlias

from django.db.models import Case, F, QuerySet, Value, When

from ecitizen.accounts.selectors import remit_filter
from ecitizen.core.authority import localised_name
from ecitizen.core.compiled import CompiledQuery
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


#: What a bill still owes, in SQL: ``Bill.balance_minor``.
BALANCE = F("total_minor") - F("paid_minor") + F("refunded_minor") - F("credited_minor")

#: Bills on a page of "Your bills".
BILLS_PAGE_SIZE = 20


def bills_for_payer(*, user: Any) -> QuerySet[Bill]:
    """The person's bills, newest first, with their departments (the API's order).
    ``user`` is the user or their primary key."""
    return (
        Bill.objects.filter(payer=user).select_related("department").order_by("-issued_on", "-pk")
    )


def bills_listed_for_payer(*, user: Any) -> QuerySet[Bill]:
    """The person's bills as "Your bills" lists them: first those with something still
    to pay (see ``Bill.balance_minor``), the earliest due first and, due the same day,
    the oldest first (the order they came in); then the others, newest first. A page of
    the list then always starts with what there is to pay. ``user`` is the user or their
    primary key."""
    return (
        Bill.objects.filter(payer=user)
        .alias(balance=BALANCE)
        .alias(
            settled=Case(When(balance__gt=0, then=Value(False)), default=Value(True)),
            due_first=Case(When(balance__gt=0, then=F("due_date"))),
            oldest_first=Case(When(balance__gt=0, then=F("pk"))),
        )
        .select_related("department")
        .order_by("settled", "due_first", "oldest_first", "-issued_on", "-pk")
    )


_BILLS_FIRST_PAGE = CompiledQuery(
    Bill,
    lambda payer: bills_listed_for_payer(user=payer)[:BILLS_PAGE_SIZE],
    payer=(-7_031_962_481, Bill._meta.get_field("payer")),
)


def bills_listed_first_page(*, user: Any) -> list[Bill]:
    """``bills_listed_for_payer(user=user)[:BILLS_PAGE_SIZE]``, through a query compiled
    once: the rows "Your bills" shows first, on every visit."""
    return _BILLS_FIRST_PAGE.objects(payer=user.pk)


def bills_due_for_payer(*, user: Any) -> QuerySet[Bill]:
    """The person's bills with something still to pay (see ``Bill.balance_minor``), the
    earliest due first."""
    return (
        Bill.objects.filter(payer=user)
        .alias(balance=BALANCE)
        .filter(balance__gt=0)
        .select_related("department")
        .order_by("due_date", "pk")
    )


def payment_get(*, payment_id: Any) -> Payment | None:
    try:
        return Payment.objects.select_related("bill").filter(pk=payment_id).first()
    except (ValueError, TypeError):
        return None


# --- finance officers ---------------------------------------------------------------------------

#: Working with payments, refunds and the finance reports, each official within the
#: departments of their assignments (the bill's department); roles: ``PaymentsConfig``.
FINANCE = "payments.finance"


def _finance_remit(user: Any, prefix: str = "bill__") -> Any:
    """The filter for the bills (``prefix=""``) or payments (``"bill__"``) within the
    finance officer's remit: their assignments' departments."""
    return remit_filter(user, FINANCE, department_field=f"{prefix}department", ward_field=None)


def payer_ids_in_department(department_id: int) -> QuerySet[Any]:
    """The user ids of residents with a bill of the department (a resident link)."""
    return Bill.objects.filter(department_id=department_id, payer__isnull=False).values("payer_id")


#: Arrears age bands in days past the due date.
AGE_BANDS = ((1, 30), (31, 60), (61, 90), (91, None))


def payments_search(
    *,
    user: Any,
    query: str = "",
    state: str = "",
    provider: str = "",
    date_from: Any = None,
    date_to: Any = None,
) -> QuerySet[Payment]:
    """Payments within the finance officer's remit, by reference, bill, payer email or
    payment id; state; provider; date."""
    from django.db.models import Q

    payments = (
        Payment.objects.select_related("bill", "payer")
        .filter(_finance_remit(user))
        .order_by("-created_at")
    )
    query = query.strip()
    if query:
        condition = (
            Q(reference__iexact=query)
            | Q(bill__reference__iexact=query)
            | Q(payer__email__iexact=query)
            | Q(bill__payer__email__iexact=query)
            | Q(provider_id=query)
        )
        try:
            import uuid

            condition |= Q(pk=uuid.UUID(query))
        except ValueError:
            pass
        payments = payments.filter(condition)
    if state:
        payments = payments.filter(state=state)
    if provider:
        payments = payments.filter(provider=provider)
    if date_from:
        payments = payments.filter(created_at__date__gte=date_from)
    if date_to:
        payments = payments.filter(created_at__date__lte=date_to)
    return payments


def payment_for_staff(*, payment_id: Any, user: Any) -> Payment:
    """A payment within the finance officer's remit (its bill's department), or
    ``Http404``, the same answer as for an unknown one."""
    from django.http import Http404

    payment = (
        Payment.objects.select_related("bill__department", "payer", "mismatch")
        .prefetch_related("events", "refunds__requested_by")
        .filter(_finance_remit(user), pk=payment_id)
        .first()
    )
    if payment is None:
        raise Http404
    return payment


def settlement_report(*, day: Any, user: Any) -> list[dict[str, Any]]:
    """Payments settled on ``day`` (local date) and refunds made that day, per provider
    and department, within the finance officer's remit: count and amounts in minor
    units."""
    from django.db.models import Count, Sum

    from ecitizen.payments.models import Refund

    settled = (
        Payment.objects.filter(_finance_remit(user), settled_at__date=day)
        .values("provider", "bill__department__name", "bill__department__names")
        .annotate(count=Count("pk"), amount=Sum("amount_minor"))
    )
    refunds = (
        Refund.objects.filter(
            _finance_remit(user, "payment__bill__"),
            created_at__date=day,
            state=Refund.State.SUCCESS,
        )
        .values(
            "payment__provider",
            "payment__bill__department__name",
            "payment__bill__department__names",
        )
        .annotate(count=Count("pk"), amount=Sum("amount_minor"))
    )
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for row in settled:
        # The department's name in the reader's language.
        key = (
            row["provider"],
            localised_name(row["bill__department__name"], row["bill__department__names"]),
        )
        rows[key] = {
            "provider": key[0],
            "department": key[1],
            "payments": row["count"],
            "paid_minor": row["amount"],
            "refunds": 0,
            "refunded_minor": 0,
        }
    for row in refunds:
        key = (
            row["payment__provider"],
            localised_name(
                row["payment__bill__department__name"], row["payment__bill__department__names"]
            ),
        )
        entry = rows.setdefault(
            key,
            {
                "provider": key[0],
                "department": key[1],
                "payments": 0,
                "paid_minor": 0,
                "refunds": 0,
                "refunded_minor": 0,
            },
        )
        entry["refunds"], entry["refunded_minor"] = row["count"], row["amount"]
    for entry in rows.values():
        entry["net_minor"] = entry["paid_minor"] - entry["refunded_minor"]
    return sorted(rows.values(), key=lambda r: (r["provider"], r["department"]))


def ledger_mismatches(*, day: Any) -> list[str]:
    """Settled payments of the day whose ledger posting is missing or differs, and
    postings without a settled payment: what a finance officer must look at."""
    from ecitizen.payments.models import LedgerTransaction

    problems = []
    settled = Payment.objects.filter(settled_at__date=day)
    keys = {f"settle:{p.pk}": p for p in settled}
    posted = {
        t.key: t
        for t in LedgerTransaction.objects.filter(key__in=list(keys)).prefetch_related("entries")
    }
    for key, payment in keys.items():
        transaction = posted.get(key)
        if transaction is None:
            problems.append(f"{payment.pk}: settled but not in the ledger")
            continue
        debit = sum(e.amount_minor for e in transaction.entries.all() if e.amount_minor > 0)
        if debit != payment.amount_minor:
            problems.append(f"{payment.pk}: ledger {debit}, payment {payment.amount_minor}")
    orphan = LedgerTransaction.objects.filter(kind="payment", created_at__date=day).exclude(
        key__in=list(keys)
    )
    problems += [f"{t.key}: in the ledger but no payment settled that day" for t in orphan]
    return problems


def amount_mismatches(*, day: Any, user: Any) -> QuerySet[Any]:
    """Payments within the finance officer's remit not settled on ``day`` (local date)
    because the provider reported another amount or currency than they asked for: each
    one needs a finance officer."""
    from ecitizen.payments.models import PaymentMismatch

    return (
        PaymentMismatch.objects.filter(_finance_remit(user, "payment__bill__"))
        .filter(detected_at__date=day)
        .select_related("payment__bill__department")
        .order_by("detected_at", "pk")
    )


def arrears(*, today: Any, user: Any) -> list[dict[str, Any]]:
    """Overdue bills within the finance officer's remit, by age band: count and amount
    still owed."""
    from datetime import timedelta

    from django.db.models import Count, Sum

    rows = []
    owed = Bill.objects.filter(_finance_remit(user, "")).annotate(owed=BALANCE).filter(owed__gt=0)
    for low, high in AGE_BANDS:
        band = owed.filter(due_date__lte=today - timedelta(days=low))
        if high is not None:
            band = band.filter(due_date__gte=today - timedelta(days=high))
        totals = band.aggregate(count=Count("pk"), amount=Sum("owed"))
        rows.append(
            {
                "low": low,
                "high": high,
                "count": totals["count"],
                "amount_minor": totals["amount"] or 0,
            }
        )
    return rows


# --- bills for the apps that issue them -----------------------------------------------------
# An app that issues bills (property tax) finds them again here, by the ``source_key``
# prefix and ``source_reference`` it gave them. It reads the bills these return (their
# amounts, lines, instalments), but never queries the payments app's tables itself.

#: The type of the bills handed to other apps, for their annotations; and their kinds.
BillRecord: TypeAlias = Bill
BillKind = Bill.Kind


def bills_exist(*, source_key_prefix: str) -> bool:
    """Whether any bill's ``source_key`` starts with ``source_key_prefix`` (such as
    ``"tax:2026:"``)."""
    return Bill.objects.filter(source_key__startswith=source_key_prefix).exists()


def bills_for_sources(
    *, source_references: Sequence[str], source_key_prefix: str, kinds: Sequence[str]
) -> list[Bill]:
    """The bills of ``kinds`` issued for any of ``source_references`` whose
    ``source_key`` starts with ``source_key_prefix``, in the order they were issued (id
    order). One query."""
    return list(
        Bill.objects.filter(
            source_reference__in=list(source_references),
            source_key__startswith=source_key_prefix,
            kind__in=list(kinds),
        ).order_by("pk")
    )


def bill_ids_with_balance(
    *, kinds: Sequence[str], source_key_prefix: str, payer_required: bool = False
) -> list[int]:
    """The ids, in id order, of the bills of ``kinds`` whose ``source_key`` starts with
    ``source_key_prefix`` and that still have something to pay (``Bill.balance_minor``
    above zero); with ``payer_required``, only those with an account holder (bills paid
    by reference have none). For jobs that go through them in chunks
    (:func:`bills_by_ids`)."""
    bills = Bill.objects.filter(
        kind__in=list(kinds),
        source_key__startswith=source_key_prefix,
        total_minor__gt=F("paid_minor") - F("refunded_minor") + F("credited_minor"),
    )
    if payer_required:
        bills = bills.filter(payer__isnull=False)
    return list(bills.order_by("pk").values_list("pk", flat=True))


def bills_by_ids(*, ids: Sequence[int]) -> list[Bill]:
    """The bills with these ids, in id order (an unknown id is left out). One query."""
    return list(Bill.objects.filter(pk__in=list(ids)).order_by("pk"))


def bill_totals(*, kind: str, source_key_prefix: str) -> Iterator[tuple[str, int]]:
    """Each bill of ``kind`` whose ``source_key`` starts with ``source_key_prefix``, as
    ``(source_reference, total_minor)`` (its total as issued: payments, refunds and
    credits apart), in no particular order, for the caller to add up by what the
    references stand for (a parcel's use class and ward). One query, read in chunks:
    a caller that adds them up as they come holds few rows at a time."""
    return (
        Bill.objects.filter(kind=kind, source_key__startswith=source_key_prefix)
        .order_by()
        .values_list("source_reference", "total_minor")
        .iterator(chunk_size=10_000)
    )


def bills_of_kind_exist(*, kind: str, source_key_prefix: str) -> bool:
    """Whether any bill of ``kind`` has a ``source_key`` that starts with
    ``source_key_prefix``."""
    return Bill.objects.filter(kind=kind, source_key__startswith=source_key_prefix).exists()


def bills_issued(*, kind: str, source_key_prefix: str) -> list[Bill]:
    """Every bill of ``kind`` whose ``source_key`` starts with ``source_key_prefix``, in
    the order they were issued (id order). One query, every row at once: for a few
    thousand bills, not a whole year's roll of a large authority."""
    return list(
        Bill.objects.filter(kind=kind, source_key__startswith=source_key_prefix).order_by("pk")
    )


def payments_exist(*, source_key_prefix: str) -> bool:
    """Whether any payment (in any state) was made for a bill whose ``source_key``
    starts with ``source_key_prefix``."""
    return Payment.objects.filter(bill__source_key__startswith=source_key_prefix).exists()


# --- open data: aggregate figures (no personal data) ---------------------------------------

# This section's own imports, kept with it (the module's top belongs to the sections above).
from dataclasses import dataclass  # noqa: E402
from datetime import date, datetime  # noqa: E402

from ecitizen.payments.models import PaymentState, Refund  # noqa: E402


@dataclass(frozen=True)
class RevenueMonth:
    """Money received (or refunded) for one department's bills of one kind, in one
    currency, in the local calendar month starting ``month``: how many payments (or
    refunds) and their sum in minor units."""

    department_slug: str
    kind: str
    currency: str
    month: date
    count: int
    amount_minor: int


def _revenue_rows(rows: Any, prefix: str) -> list[RevenueMonth]:
    return [
        RevenueMonth(
            department_slug=r[f"{prefix}department__slug"],
            kind=r[f"{prefix}kind"],
            currency=r["currency_code"],
            month=r["month"].date() if isinstance(r["month"], datetime) else r["month"],
            count=r["count"],
            amount_minor=int(r["amount"] or 0),
        )
        for r in rows
    ]


def revenue_monthly() -> list[RevenueMonth]:
    """Successful payments per bill department, bill kind, currency and month settled.
    One GROUP BY over the payments (their payers are not read)."""
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncMonth

    rows = (
        Payment.objects.filter(state=PaymentState.SUCCESS, settled_at__isnull=False)
        .annotate(month=TruncMonth("settled_at"), currency_code=F("currency"))
        .values("bill__department__slug", "bill__kind", "currency_code", "month")
        .annotate(count=Count("pk"), amount=Sum("amount_minor"))
        .order_by("bill__department__slug", "bill__kind", "currency_code", "month")
    )
    return _revenue_rows(rows, "bill__")


def refunds_monthly() -> list[RevenueMonth]:
    """Successful refunds per bill department, bill kind, currency and month refunded.
    One GROUP BY over the refunds."""
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncMonth

    rows = (
        Refund.objects.filter(state=Refund.State.SUCCESS)
        .annotate(month=TruncMonth("created_at"), currency_code=F("payment__currency"))
        .values("payment__bill__department__slug", "payment__bill__kind", "currency_code", "month")
        .annotate(count=Count("pk"), amount=Sum("amount_minor"))
        .order_by("payment__bill__department__slug", "payment__bill__kind", "month")
    )
    return _revenue_rows(rows, "payment__bill__")


def bill_amounts(*, kinds: Sequence[str], source_key_prefix: str) -> Iterator[tuple[str, int, int]]:
    """Each bill of ``kinds`` whose ``source_key`` starts with ``source_key_prefix``, as
    ``(source_reference, total_minor, collected_minor)``: its total as issued (negative
    for a credit) and the money received for it net of refunds (credits moved between a
    family's bills are not money received). In no particular order, read in chunks, for
    the caller to add up by what the references stand for. One query."""
    return (
        Bill.objects.filter(kind__in=list(kinds), source_key__startswith=source_key_prefix)
        .order_by()
        .annotate(collected=F("paid_minor") - F("refunded_minor"))
        .values_list("source_reference", "total_minor", "collected")
        .iterator(chunk_size=10_000)
    )
