"""A quicker end to a transactional test on PostgreSQL (a pytest plugin of the root
``conftest.py``).

Django ends every transactional test (``django_db(transaction=True)``, a live server) with
``flush``: one ``TRUNCATE`` of every table, some 250 here. PostgreSQL gives each truncated
table, index and TOAST table a new file, so that statement takes 3 to 8 seconds on a
two-core machine however few rows the test wrote, and the suite has a couple of hundred
such tests. This plugin empties only the tables that hold a row, with ``DELETE`` under
``session_replication_role = replica`` (no trigger fires: neither the append-only refusals
nor the foreign-key checks, so the order does not matter), then sends ``post_migrate`` as
``flush`` does. The database ends as ``flush`` leaves it: every table empty, the sequences
as they were, the content types and permissions made again.

It applies only where ``flush`` would do exactly that: PostgreSQL, a superuser (needed for
the replication role), no ``available_apps`` and no serialized rollback. Anything else
gets Django's own teardown.
"""

from __future__ import annotations

from typing import Any

from django.core.management.sql import emit_post_migrate_signal
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import TransactionTestCase

_django_fixture_teardown = TransactionTestCase._fixture_teardown


def _is_superuser(connection: BaseDatabaseWrapper) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('is_superuser') = 'on'")
        return bool(cursor.fetchone()[0])


def empty_tables(connection: BaseDatabaseWrapper) -> None:
    """Delete every row of every Django table of ``connection`` (PostgreSQL, a superuser):
    one query finds the tables that hold rows, one ``DELETE`` empties each."""
    quote = connection.ops.quote_name
    tables = sorted(connection.introspection.django_table_names(only_existing=True))
    probe = " UNION ALL ".join(
        f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote(table)})"  # noqa: S608 - our tables
        for table in tables
    )
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(probe, tables)
        filled = [row[0] for row in cursor.fetchall()]
        # For this transaction only: no trigger fires, foreign keys are not checked.
        cursor.execute("SET LOCAL session_replication_role = replica")
        for table in filled:
            cursor.execute(f"DELETE FROM {quote(table)}")  # noqa: S608 - our tables


def _fixture_teardown(self: TransactionTestCase) -> None:
    names = list(self._databases_names(include_mirrors=False))
    quick = (
        self.available_apps is None
        and not self.serialized_rollback
        and all(
            connections[name].vendor == "postgresql" and _is_superuser(connections[name])
            for name in names
        )
    )
    if not quick:
        _django_fixture_teardown(self)
        return
    for name in names:
        empty_tables(connections[name])
        emit_post_migrate_signal(verbosity=0, interactive=False, db=name)


def pytest_configure(config: Any) -> None:
    TransactionTestCase._fixture_teardown = _fixture_teardown  # type: ignore[method-assign]
