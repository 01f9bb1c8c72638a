"""The analytical store: a DuckDB file that holds a copy of the events the performance
figures and forecasts are computed from (ADR 0018).

The events stay in the apps that own them; this module reads them **through those apps'
selectors** (``cases.selectors.usage_events_after`` and its siblings, ``feedback.selectors.
ratings_after``), batch by batch after a cursor kept in the store itself, and appends them
to DuckDB tables. A nightly sync therefore reads only what is new: usage rows, history
lines and ratings are only ever added (cursor: the last id), and a case that changed since
the last sync is read again and replaced (cursor: its ``(updated_at, id)``). The small
dimension tables (services, departments, wards) are read whole at every sync. Rows that
commit late (a slow transaction; see :data:`ID_OVERLAP` and :data:`CASE_OVERLAP`) are
caught by reading a margin before each cursor again: rows are replaced by id, so reading
one twice changes nothing.

Times are stored as **local** wall-clock timestamps (``TIME_ZONE``), so that "the month of
an event" is the authority's calendar month with no time-zone arithmetic in SQL.

Tables (every column is named in docs/insights.md):

- ``usage(id, service_id, kind, channel, draft_id, outcome, business_days, occurred_at)``
- ``cases(id, service_id, department_id, ward_id, channel, state, outcome, submitted_at,
  decided_at, due_date, sla_days_used, sla_target_days, more_info_rounds, fee_amount,
  fee_currency, payment_status, paid_at, assigned_to_id, updated_at)``
- ``actions(id, case_id, service_id, action, actor_id, occurred_at)``
- ``ratings(id, service_id, service_key, department_id, level, occurred_at)``
- ``services(id, slug, department_id, is_report, sla_target_days)``,
  ``departments(id, slug)``, ``wards(id, code)``
- ``cursors(feed, position)``

One process at a time writes the file (DuckDB allows one writer process): :func:`store_open`
takes an exclusive lock on a lock file beside it, so that the scheduler's job and an
official's "compute again" cannot collide; the second waits. Web pages never open the
store: they read the computed figures from the database (:mod:`ecitizen.insights.models`).

The store is a cache. Deleting the file loses nothing: the next sync reads everything
again. A database restored from an older backup is detected (a cursor beyond the source's
last id) and the store is rebuilt from scratch.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from django.conf import settings
from django.utils import timezone

#: Rows read from a selector per query.
BATCH = 20_000
#: Ids read again at every sync. On PostgreSQL an id is taken when a row is inserted, not
#: when its transaction commits: a slow transaction commits id 2 after a sync has read id 3,
#: and a cursor of 3 would never read it. Reading the last 10,000 ids again (a range of the
#: primary key, replaced in place) catches any such row committed before 10,000 later
#: ones; ``ecitizen insights refresh --rebuild`` reads everything.
ID_OVERLAP = 10_000
#: How long before the cases cursor changed cases are read again: a case's ``updated_at``
#: is stamped when its transaction writes it (a slow transaction commits later), and by
#: the clock of the web server that wrote it (a few seconds apart between machines).
CASE_OVERLAP = timedelta(minutes=15)

SCHEMA = """
CREATE TABLE IF NOT EXISTS usage (
    id BIGINT PRIMARY KEY, service_id INTEGER, kind VARCHAR, channel VARCHAR,
    draft_id VARCHAR, outcome VARCHAR, business_days INTEGER, occurred_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS cases (
    id BIGINT PRIMARY KEY, service_id INTEGER, department_id INTEGER, ward_id INTEGER,
    channel VARCHAR, state VARCHAR, outcome VARCHAR, submitted_at TIMESTAMP,
    decided_at TIMESTAMP, due_date DATE, sla_days_used INTEGER, sla_target_days INTEGER,
    more_info_rounds INTEGER, fee_amount DECIMAL(16, 4), fee_currency VARCHAR,
    payment_status VARCHAR, paid_at TIMESTAMP, assigned_to_id BIGINT, updated_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS actions (
    id BIGINT PRIMARY KEY, case_id BIGINT, service_id INTEGER, action VARCHAR,
    actor_id BIGINT, occurred_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS ratings (
    id BIGINT PRIMARY KEY, service_id INTEGER, service_key VARCHAR, department_id INTEGER,
    level INTEGER, occurred_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS services (
    id INTEGER PRIMARY KEY, slug VARCHAR, department_id INTEGER, is_report BOOLEAN,
    sla_target_days INTEGER);
CREATE TABLE IF NOT EXISTS departments (id INTEGER PRIMARY KEY, slug VARCHAR);
CREATE TABLE IF NOT EXISTS wards (id INTEGER PRIMARY KEY, code VARCHAR);
CREATE TABLE IF NOT EXISTS cursors (feed VARCHAR PRIMARY KEY, position VARCHAR);
"""

EVENT_TABLES = ("usage", "cases", "actions", "ratings")


def store_path() -> Path:
    """The DuckDB file: ``INSIGHTS_DIR/insights.duckdb``."""
    return Path(settings.INSIGHTS_DIR) / "insights.duckdb"


@contextmanager
def store_open(path: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the store, its tables created, held under an exclusive
    lock (waits for another process's sync to finish). Closed on exit."""
    path = path or store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            connection = duckdb.connect(str(path))
            try:
                connection.execute(SCHEMA)
                yield connection
            finally:
                connection.close()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _local(value: datetime | None) -> datetime | None:
    """``value`` as a naive local wall-clock time (``None`` stays ``None``)."""
    if value is None:
        return None
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.replace(tzinfo=None)


def _cursor_get(connection: duckdb.DuckDBPyConnection, feed: str) -> Any:
    row = connection.execute("SELECT position FROM cursors WHERE feed = ?", [feed]).fetchone()
    return json.loads(row[0]) if row else None


def _cursor_set(connection: duckdb.DuckDBPyConnection, feed: str, position: Any) -> None:
    connection.execute("INSERT OR REPLACE INTO cursors VALUES (?, ?)", [feed, json.dumps(position)])


def _append(connection: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Insert ``frame``'s rows into ``table``, replacing rows with the same id (a case read
    again after it changed; a batch read twice after a crash between insert and cursor)."""
    if frame.empty:
        return
    connection.register("batch_frame", frame)
    try:
        columns = ", ".join(frame.columns)
        connection.execute(
            f"INSERT OR REPLACE INTO {table} ({columns}) SELECT {columns} FROM batch_frame"  # noqa: S608 (table and columns are this module's constants)
        )
    finally:
        connection.unregister("batch_frame")


@dataclass
class SyncResult:
    """What one sync read: rows per feed, and whether the store was rebuilt."""

    rows: dict[str, int] = field(default_factory=dict)
    rebuilt: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Progress = Callable[[str, int], None]


def _rows_frame(rows: list[Any], columns: list[str], times: tuple[str, ...]) -> pd.DataFrame:
    """A frame of selector rows (dataclasses), times made local. Reads the attributes
    column by column (``dataclasses.asdict`` deep-copies every value: three times slower)."""
    data: dict[str, list[Any]] = {name: [getattr(row, name) for row in rows] for name in columns}
    for name in times:
        data[name] = [_local(value) for value in data[name]]
    frame = pd.DataFrame(data, columns=columns)
    for name in times:
        frame[name] = pd.to_datetime(frame[name])
    return frame


def _sync_by_id(
    connection: duckdb.DuckDBPyConnection,
    *,
    feed: str,
    read: Callable[..., list[Any]],
    columns: list[str],
    times: tuple[str, ...],
    rename: dict[str, str],
    progress: Progress | None,
) -> int:
    """Append a feed whose rows are only ever added, after the last id read, reading the
    last :data:`ID_OVERLAP` ids again (see there). Returns the rows that were new."""
    cursor = int(_cursor_get(connection, feed) or 0)
    after = max(0, cursor - ID_OVERLAP)
    new = 0
    while True:
        rows = read(after_id=after, limit=BATCH)
        if not rows:
            return new
        frame = _rows_frame(rows, columns, times).rename(columns=rename)
        connection.execute("BEGIN")
        _append(connection, feed, frame)
        after = int(rows[-1].id)
        _cursor_set(connection, feed, max(after, cursor))
        connection.execute("COMMIT")
        fresh = sum(1 for row in rows if int(row.id) > cursor)
        new += fresh
        if progress and fresh:
            progress(feed, fresh)


def _sync_cases(connection: duckdb.DuckDBPyConnection, progress: Progress | None) -> int:
    """Replace the cases changed since the last ``(updated_at, id)`` read, reading those
    changed in the :data:`CASE_OVERLAP` before it again (see there). Returns the changes
    that were new."""
    from ecitizen.cases.selectors import CaseFactsRow, case_facts_changed_after

    position = _cursor_get(connection, "cases")
    cursor = (datetime.fromisoformat(position[0]), int(position[1])) if position else None
    after = (cursor[0] - CASE_OVERLAP, 0) if cursor else None
    columns = list(CaseFactsRow.__dataclass_fields__)
    times = ("submitted_at", "decided_at", "paid_at", "updated_at")
    new = 0
    while True:
        rows = case_facts_changed_after(after=after, limit=BATCH)
        if not rows:
            return new
        frame = _rows_frame(rows, columns, times)
        frame["fee_amount"] = frame["fee_amount"].astype("float64")
        connection.execute("BEGIN")
        _append(connection, "cases", frame)
        last = rows[-1]
        after = (last.updated_at, last.id)
        if cursor is None or after > cursor:
            _cursor_set(connection, "cases", [last.updated_at.isoformat(), last.id])
        connection.execute("COMMIT")
        fresh = sum(1 for row in rows if cursor is None or (row.updated_at, row.id) > cursor)
        new += fresh
        if progress and fresh:
            progress("cases", fresh)


def _sync_dimensions(connection: duckdb.DuckDBPyConnection) -> None:
    """Services, departments and wards, read whole (a few hundred rows)."""
    from ecitizen.accounts.selectors import departments_all, jurisdictions_by_code
    from ecitizen.catalogue.selectors import services_published, services_with_extension
    from ecitizen.catalogue.spec import ServiceSpec

    reports = {service.pk for service in services_with_extension("report")}
    services = [
        (
            service.pk,
            service.slug,
            service.department_id,
            service.pk in reports,
            ServiceSpec(service.current_version.definition).sla_business_days,  # type: ignore[union-attr]
        )
        for service in services_published(listed=None)
    ]
    departments = [(d.pk, d.slug) for d in departments_all()]
    wards = [(ward.pk, code) for code, ward in jurisdictions_by_code().items()]
    connection.execute("BEGIN")
    for table, rows, width in (
        ("services", services, 5),
        ("departments", departments, 2),
        ("wards", wards, 2),
    ):
        connection.execute(f"DELETE FROM {table}")  # noqa: S608 (constant names)
        if rows:
            marks = ", ".join("?" * width)
            connection.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)  # noqa: S608
    connection.execute("COMMIT")


def _source_was_reset(connection: duckdb.DuckDBPyConnection) -> bool:
    """Whether a cursor points beyond the source's last row: the database was restored
    from an older backup or recreated, and the copy no longer matches it."""
    from ecitizen.cases.selectors import case_events_last_id, usage_events_last_id
    from ecitizen.feedback.selectors import ratings_last_id

    for feed, last in (
        ("usage", usage_events_last_id),
        ("actions", case_events_last_id),
        ("ratings", ratings_last_id),
    ):
        position = _cursor_get(connection, feed)
        if position is not None and int(position) > last():
            return True
    return False


def store_clear(connection: duckdb.DuckDBPyConnection) -> None:
    """Empty every table and cursor: the next sync reads everything again."""
    connection.execute("BEGIN")
    for table in (*EVENT_TABLES, "cursors"):
        connection.execute(f"DELETE FROM {table}")  # noqa: S608 (constant names)
    connection.execute("COMMIT")


def store_sync(
    connection: duckdb.DuckDBPyConnection,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> SyncResult:
    """Bring the store up to date with the apps' events: what is new since the last sync
    (everything when ``rebuild``, or when the source was reset). ``progress(feed, rows)``
    is called after each batch. Each batch and its cursor are committed together, so a
    sync cut off half-way resumes where it stopped."""
    from ecitizen.cases.selectors import (
        CaseActionRow,
        UsageEventRow,
        case_actions_after,
        usage_events_after,
    )
    from ecitizen.feedback.selectors import RatingRow, ratings_after

    result = SyncResult()
    if rebuild or _source_was_reset(connection):
        store_clear(connection)
        result.rebuilt = True
    _sync_dimensions(connection)
    result.rows["usage"] = _sync_by_id(
        connection,
        feed="usage",
        read=usage_events_after,
        columns=list(UsageEventRow.__dataclass_fields__),
        times=("at",),
        rename={"at": "occurred_at"},
        progress=progress,
    )
    result.rows["actions"] = _sync_by_id(
        connection,
        feed="actions",
        read=case_actions_after,
        columns=list(CaseActionRow.__dataclass_fields__),
        times=("at",),
        rename={"at": "occurred_at"},
        progress=progress,
    )
    result.rows["ratings"] = _sync_by_id(
        connection,
        feed="ratings",
        read=ratings_after,
        columns=list(RatingRow.__dataclass_fields__),
        times=("created_at",),
        rename={"created_at": "occurred_at"},
        progress=progress,
    )
    result.rows["cases"] = _sync_cases(connection, progress)
    return result
