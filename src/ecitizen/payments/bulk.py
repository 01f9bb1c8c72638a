"""Fast bulk inserts for tax assessment batches.

PostgreSQL: ``COPY ... FROM STDIN`` (psycopg 3), then the new ids are read back by
``source_key``. SQLite: ``bulk_create``, which returns ids there. Rows are written inside
the caller's transaction either way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

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
#: Positions in a bill row of the columns the issuing code reads back.
REFERENCE = BILL_COLUMNS.index("reference")
TOTAL = BILL_COLUMNS.index("total_minor")
SOURCE_KEY = BILL_COLUMNS.index("source_key")
LINES = BILL_COLUMNS.index("lines")
INSTALMENTS = BILL_COLUMNS.index("instalments")


def existing_source_keys(keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` are bills' source keys already. On PostgreSQL one array
    parameter: thousands of placeholders cost more to parse than the query itself."""
    if not keys:
        return set()
    if connection.vendor != "postgresql":
        found = Bill.objects.filter(source_key__in=keys).values_list("source_key", flat=True)
        return {key for key in found if key}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT source_key FROM {Bill._meta.db_table} WHERE source_key = ANY(%s)",  # noqa: S608
            [list(keys)],
        )
        return {row[0] for row in cursor.fetchall()}


def _lines_text(lines: Sequence[tuple[str, int, str]], quoted: dict[str, str]) -> str:
    """The bill's lines as JSON text; each distinct description is encoded once."""
    parts = []
    for description, amount, account in lines:
        text = quoted.get(description)
        if text is None:
            text = quoted[description] = json.dumps(description)
        parts.append(
            f'{{"description": {text}, "amount_minor": {int(amount)}, '
            f'"account": {json.dumps(account)}}}'
        )
    return "[" + ", ".join(parts) + "]"


def _instalments_text(instalments: Sequence[tuple[date, int]], days: dict[date, str]) -> str:
    parts = []
    for due, amount in instalments:
        day = days.get(due)
        if day is None:
            day = days[due] = due.isoformat()
        parts.append(f'{{"due_date": "{day}", "amount_minor": {int(amount)}}}')
    return "[" + ", ".join(parts) + "]"


def insert_bills(rows: Sequence[tuple[Any, ...]]) -> list[int]:
    """Insert new bills, each a tuple in :data:`BILL_COLUMNS` order whose ``lines`` are
    ``(description, amount_minor, account)`` and ``instalments`` ``(due_date,
    amount_minor)``; returns their ids in order. On PostgreSQL the ids are drawn from
    the table's sequence first and the rows written by ``COPY`` with them, so nothing
    has to be read back."""
    if connection.vendor != "postgresql":
        bills = []
        for row in rows:
            values = dict(zip(BILL_COLUMNS, row, strict=True))
            values["lines"] = [
                {"description": text, "amount_minor": amount, "account": account}
                for text, amount, account in values["lines"]
            ]
            values["instalments"] = [
                {"due_date": due.isoformat(), "amount_minor": amount}
                for due, amount in values["instalments"]
            ]
            bills.append(Bill(**values))
        return [bill.pk for bill in Bill.objects.bulk_create(bills, batch_size=2000)]
    table = Bill._meta.db_table
    quoted: dict[str, str] = {}
    days: dict[date, str] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        sql = f"COPY {table} (id, {', '.join(BILL_COLUMNS)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            write = copy.write_row
            for bill_id, row in zip(ids, rows, strict=True):
                lines = _lines_text(row[LINES], quoted)
                instalments = _instalments_text(row[INSTALMENTS], days)
                write((bill_id, *row[:LINES], lines, instalments, *row[INSTALMENTS + 1 :]))
    return ids


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
