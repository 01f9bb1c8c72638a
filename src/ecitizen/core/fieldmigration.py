"""Helpers for data migrations that start encrypting a column that held plain text.

A migration first changes the column to an encrypted field (``AlterField``: the column
becomes ``text`` and still holds the plain values), then runs :func:`encrypt_columns`.
Backwards, :func:`decrypt_columns` runs before the column type is changed back, so the
migration is reversible on SQLite and PostgreSQL alike.

The work goes through the migration's own connection in batches ordered by primary key,
with plain SQL: the historical models would try to decrypt the plain values. Values that
already are tokens (``enc1:...``) are left alone, so a migration interrupted half-way can
run again. The context of each column must be the one the model field uses
(``app_label.model.field``, see :class:`ecitizen.core.fields.EncryptedTextField`).

Note: the plain values can stay in the database's free space (SQLite pages, PostgreSQL
dead tuples, write-ahead logs) until it is compacted: run ``VACUUM`` on SQLite and
``VACUUM FULL`` on the tables on PostgreSQL afterwards (see docs/security.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ecitizen.core import crypto

BATCH_SIZE = 500


@dataclass(frozen=True)
class Column:
    """A column to encrypt: its table, the field's encryption context, the column name
    and the primary key's column name."""

    table: str
    column: str
    context: str
    pk: str = "id"


def _batches(connection: Any, spec: Column) -> Iterator[list[tuple[Any, Any]]]:
    """``(primary key, value)`` rows of one column in primary-key order, a batch at a
    time (keyset paging: each batch starts after the last key of the one before)."""
    quote = connection.ops.quote_name
    table, column, pk = quote(spec.table), quote(spec.column), quote(spec.pk)
    last: Any = None
    while True:
        with connection.cursor() as cursor:
            where = "" if last is None else f"WHERE {pk} > %s "
            cursor.execute(
                f"SELECT {pk}, {column} FROM {table} {where}"  # noqa: S608 - quoted names
                f"ORDER BY {pk} LIMIT {BATCH_SIZE}",
                [] if last is None else [last],
            )
            rows = cursor.fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield rows


def _rewrite(
    schema_editor: Any,
    columns: Iterable[Column],
    *,
    wanted: Callable[[str], bool],
    change: Callable[[str, str], str],
) -> int:
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    changed = 0
    for spec in columns:
        table, column, pk = quote(spec.table), quote(spec.column), quote(spec.pk)
        for rows in _batches(connection, spec):
            updates = [
                (change(str(value), spec.context), key)
                for key, value in rows
                if value is not None and str(value) != "" and wanted(str(value))
            ]
            if updates:
                with connection.cursor() as cursor:
                    cursor.executemany(
                        f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608
                        updates,
                    )
                changed += len(updates)
    if connection.vendor == "postgresql":
        # The updates queued the checks of the tables' deferred foreign keys; PostgreSQL
        # refuses to ALTER a table with pending checks, and the migration alters these
        # tables next (or creates a foreign key to them). Run the checks now.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return changed


def _is_token(value: str) -> bool:
    return value.startswith(f"{crypto.TOKEN_PREFIX}:")


def encrypt_columns(schema_editor: Any, columns: Iterable[Column]) -> int:
    """Encrypt every plain value of ``columns``; returns how many values were encrypted."""
    return _rewrite(
        schema_editor,
        columns,
        wanted=lambda value: not _is_token(value),
        change=lambda value, context: crypto.encrypt(value, context=context),
    )


def decrypt_columns(schema_editor: Any, columns: Iterable[Column]) -> int:
    """Decrypt every token of ``columns`` back to plain text (to migrate backwards)."""
    return _rewrite(
        schema_editor,
        columns,
        wanted=_is_token,
        change=lambda value, context: crypto.decrypt(value, context=context),
    )


def column_values(schema_editor: Any, spec: Column) -> Iterable[tuple[Any, str]]:
    """``(primary key, plain value)`` of every non-empty value of a column, decrypting
    tokens, in primary-key order (in batches)."""
    for rows in _batches(schema_editor.connection, spec):
        for key, value in rows:
            if value is None or str(value) == "":
                continue
            text = str(value)
            yield key, crypto.decrypt(text, context=spec.context) if _is_token(text) else text
