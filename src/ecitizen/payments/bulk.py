"""Fast bulk inserts for tax assessment batches.

PostgreSQL: ``COPY ... FROM STDIN`` (psycopg 3), then the new ids are read back by
``source_key``. SQLite: ``bulk_create``, which returns ids there. Rows are written inside
the caller's transaction either way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection

from ecitizen.payments.models import Bill, LedgerEntry

BILL_COLUMNS = [
    "reference",
    "kind",
    "payer_id",
    "description",
    "department_id",
    "currency",
    "total_minor",
    "paid_minor",
    "refunded_minor",
    "issued_on",
    "due_date",
    "verification_index",
    "source_reference",
    "source_key",
    "adjusts_id",
    "lines",
    "instalments",
    "created_at",
]


def insert_bills(rows: Sequence[Bill]) -> list[int]:
    """Insert new bills (each with a ``source_key``); returns their ids in order."""
    if connection.vendor != "postgresql":
        created = Bill.objects.bulk_create(rows, batch_size=2000)
        return [bill.pk for bill in created]
    table = Bill._meta.db_table
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor
        with raw.copy(f"COPY {table} ({', '.join(BILL_COLUMNS)}) FROM STDIN") as copy:
            for bill in rows:
                copy.write_row(
                    (
                        bill.reference,
                        bill.kind,
                        bill.payer_id,
                        bill.description,
                        bill.department_id,
                        bill.currency,
                        bill.total_minor,
                        bill.paid_minor,
                        bill.refunded_minor,
                        bill.issued_on,
                        bill.due_date,
                        bill.verification_index,
                        bill.source_reference,
                        bill.source_key,
                        bill.adjusts_id,
                        json.dumps(bill.lines),
                        json.dumps(bill.instalments),
                        bill.created_at,
                    )
                )
        keys = [bill.source_key for bill in rows]
        cursor.execute(
            f"SELECT source_key, id FROM {table} WHERE source_key = ANY(%s)",  # noqa: S608
            [keys],
        )
        ids = dict(cursor.fetchall())
    return [ids[key] for key in keys]


def insert_entries(transaction_id: int, entries: Sequence[tuple[int, int | None, int]]) -> None:
    """Insert ledger entries ``(account_id, bill_id, amount_minor)`` of one transaction."""
    if connection.vendor != "postgresql":
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    transaction_id=transaction_id, account_id=a, bill_id=b, amount_minor=amount
                )
                for a, b, amount in entries
            ],
            batch_size=2000,
        )
        return
    table = LedgerEntry._meta.db_table
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {table} (transaction_id, account_id, bill_id, amount_minor) FROM STDIN"
        ) as copy,
    ):
        for account_id, bill_id, amount in entries:
            copy.write_row((transaction_id, account_id, bill_id, amount))
