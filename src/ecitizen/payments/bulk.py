"""Fast bulk inserts for tax assessment batches.

PostgreSQL: ``COPY ... FROM STDIN`` (psycopg 3), then the new ids are read back by
``source_key``. SQLite: ``bulk_create``, which returns ids there. Rows are written inside
the caller's transaction either way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from json.encoder import encode_basestring
from typing import Any, TypeAlias

from django.db import connection

from ecitizen.payments.models import Bill, LedgerEntry

#: A bill's line in a row: (description, amount_minor, account code, descriptions per
#: language or ``None``).
LineRow: TypeAlias = tuple[str, int, str, Mapping[str, str] | None]

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
    # The description per language (a JSON object). A writer may leave the column out
    # (BILL_COLUMNS[:DESCRIPTIONS]): it then takes its database default, no texts.
    "descriptions",
]
#: Positions in a bill row of the columns the issuing code reads back.
REFERENCE = BILL_COLUMNS.index("reference")
TOTAL = BILL_COLUMNS.index("total_minor")
SOURCE_KEY = BILL_COLUMNS.index("source_key")
LINES = BILL_COLUMNS.index("lines")
INSTALMENTS = BILL_COLUMNS.index("instalments")
DESCRIPTIONS = BILL_COLUMNS.index("descriptions")


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


#: ``"fr": `` for each language code met: the keys of every bill's texts are the same few.
_QUOTED_KEYS: dict[str, str] = {}


def _texts_text(texts: Mapping[str, str] | None) -> str:
    """``{language: text}`` as JSON text, without ``json.dumps``'s machinery (this runs
    once per bill). Non-ASCII characters are written as they are, not as ``\\u``
    escapes: fewer bytes for the database to parse."""
    if not texts:
        return "{}"
    parts = []
    for code, text in texts.items():
        key = _QUOTED_KEYS.get(code)
        if key is None:
            key = _QUOTED_KEYS[code] = f"{encode_basestring(code)}: "
        parts.append(key + encode_basestring(text))
    return "{" + ", ".join(parts) + "}"


class _LineTexts:
    """The JSON of lines' texts (description, and descriptions per language), each
    encoded once per batch: a batch's lines share a few texts. Texts per language are
    known by identity (a batch shares one mapping between its lines); the cache holds
    them, so no identity is reused while it lives."""

    def __init__(self) -> None:
        self.plain: dict[str, str] = {}
        self.localised: dict[int, tuple[Mapping[str, str], dict[str, str]]] = {}

    def __call__(self, description: str, texts: Mapping[str, str] | None) -> str:
        if not texts:
            text = self.plain.get(description)
            if text is None:
                text = self.plain[description] = f'"description": {json.dumps(description)}'
            return text
        held = self.localised.get(id(texts))
        if held is None:
            held = self.localised[id(texts)] = (texts, {})
        by_description = held[1]
        text = by_description.get(description)
        if text is None:
            text = by_description[description] = (
                f'"description": {json.dumps(description)}, "descriptions": {_texts_text(texts)}'
            )
        return text


def _lines_text(lines: Sequence[LineRow], encoded: _LineTexts) -> str:
    """The bill's lines as JSON text; each distinct text is encoded once."""
    parts = []
    for description, amount, account, texts in lines:
        parts.append(
            f'{{{encoded(description, texts)}, "amount_minor": {int(amount)}, '
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
    :data:`LineRow` tuples, ``instalments`` ``(due_date, amount_minor)`` and
    ``descriptions`` a ``{language: text}`` mapping or ``None``; returns their ids in
    order. On PostgreSQL the ids are drawn from the table's sequence first and the rows
    written by ``COPY`` with them, so nothing has to be read back."""
    if connection.vendor != "postgresql":
        bills = []
        for row in rows:
            values = dict(zip(BILL_COLUMNS, row, strict=True))
            values["lines"] = [
                {"description": text, "amount_minor": amount, "account": account}
                | ({"descriptions": dict(texts)} if texts else {})
                for text, amount, account, texts in values["lines"]
            ]
            values["instalments"] = [
                {"due_date": due.isoformat(), "amount_minor": amount}
                for due, amount in values["instalments"]
            ]
            values["descriptions"] = dict(values["descriptions"] or {})
            bills.append(Bill(**values))
        return [bill.pk for bill in Bill.objects.bulk_create(bills, batch_size=2000)]
    table = Bill._meta.db_table
    encoded = _LineTexts()
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
                lines = _lines_text(row[LINES], encoded)
                instalments = _instalments_text(row[INSTALMENTS], days)
                texts = _texts_text(row[DESCRIPTIONS])
                write(
                    (
                        bill_id,
                        *row[:LINES],
                        lines,
                        instalments,
                        *row[INSTALMENTS + 1 : DESCRIPTIONS],
                        texts,
                        *row[DESCRIPTIONS + 1 :],
                    )
                )
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
