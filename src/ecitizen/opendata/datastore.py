"""The DataStore: every tabular resource as a table anyone can query (ADR 0016).

Each load of a resource writes its own DuckDB file under ``DATASTORE_DIR``
(``<resource id>/<version>.duckdb``), built under a temporary name and renamed into place
when complete, then never written again: ``Resource.datastore_table`` names the current
file. Web processes attach files read-only, so any number of them query a table while a
worker builds the next version of it (a DuckDB file open for writing locks out every other
process). A change through the API (``datastore_upsert``) copies the current file, changes
the copy and renames it into place the same way.

A table file holds ``data`` (CKAN's ``_id``, then the resource's columns), ``words``
(the inverted word index for ``q``: one ``(word, _id)`` row per word of a row, sorted by
word so that DuckDB's zone maps find a word's rows without scanning the table; the words
of few-valued columns are left out), ``lookup`` (the distinct values of those columns with
their words: ``q`` finds their rows through the columns themselves) and
``_meta`` (the fields with their CKAN types, the primary key, the row count, the layout).
``_id`` is the row's position in the loaded file (1, 2, ...), stored: rows are physically
ordered by the table's low-cardinality text columns (so that equality filters on them
skip most row groups), and results without a ``sort`` come in ``_id`` order. Rows are
only ever appended (with the next ``_id``) or changed in place, so ``_id`` is stable.

Tables written before the word index (layout 1: ``_id`` was ``rowid + 1`` and ``q`` a
substring match over a ``_full_text`` column) are still read; the next load or write of
the resource replaces them.

Every value a client sends is bound as a parameter; every field name is checked against
the table's fields and quoted as an identifier. Nothing a client sends is interpolated.
"""

# SQL here is built from identifiers checked against the table's fields and quoted by
# _quote(), literals quoted by _literal(), and integers; client values are bound (``?``).
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from django.conf import settings
from django.utils.translation import gettext as _

#: CKAN's default and largest ``limit`` of ``datastore_search``.
DEFAULT_LIMIT = 100
MAX_LIMIT = 32_000

#: Old table files are deleted on the next load once older than this: a reader that read
#: ``datastore_table`` just before the switch still finds its file.
GRACE_SECONDS = 15 * 60

#: Frictionless type -> (DuckDB type, CKAN type).
TYPES: dict[str, tuple[str, str]] = {
    "string": ("VARCHAR", "text"),
    "integer": ("BIGINT", "int"),
    "number": ("DOUBLE", "numeric"),
    "boolean": ("BOOLEAN", "bool"),
    "date": ("DATE", "date"),
    "datetime": ("TIMESTAMP", "timestamp"),
    "year": ("INTEGER", "int"),
    "yearmonth": ("VARCHAR", "text"),
}

#: CKAN (PostgreSQL) type names a client may give ``datastore_create`` -> Frictionless.
CKAN_TYPES: dict[str, str] = {
    "text": "string",
    "varchar": "string",
    "string": "string",
    "int": "integer",
    "int4": "integer",
    "int8": "integer",
    "integer": "integer",
    "bigint": "integer",
    "numeric": "number",
    "float": "number",
    "float8": "number",
    "double precision": "number",
    "number": "number",
    "bool": "boolean",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "datetime",
    "datetime": "datetime",
}

_DUCK_TO_CKAN = {
    "VARCHAR": "text",
    "BIGINT": "int",
    "INTEGER": "int",
    "SMALLINT": "int",
    "TINYINT": "int",
    "HUGEINT": "int",
    "UBIGINT": "int",
    "UINTEGER": "int",
    "DOUBLE": "numeric",
    "FLOAT": "numeric",
    "BOOLEAN": "bool",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
}

_TABLE_NAME_RE = re.compile(r"^[0-9a-f-]{36}/[0-9TZ]+-[0-9a-f]{8}\.duckdb$")
_UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_SORT_RE = re.compile(
    r'^\s*("(?:[^"]|"")+"|[^\s"]+)(?:\s+(asc|desc))?(?:\s+nulls\s+(first|last))?\s*$',
    re.IGNORECASE,
)


class DatastoreError(Exception):
    """A table could not be loaded or queried."""


class QueryInvalid(DatastoreError):
    """A query parameter that cannot be answered; ``field`` names it ("filters", "sort",
    "q", "fields", "limit", "offset", "records", "query", ...)."""

    def __init__(self, message: object, *, field: str) -> None:
        super().__init__(str(message))
        self.field = field


class TableMissing(DatastoreError):
    """The resource has no DataStore table (not tabular, or not loaded yet)."""


@dataclass
class TableResult:
    """``fields`` ([{"id", "type"}]), ``rows`` (lists of JSON-ready values in the order of
    ``fields``), ``total`` (None unless asked for)."""

    fields: list[dict[str, str]]
    rows: list[list[Any]]
    total: int | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    truncated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def records(self) -> list[dict[str, Any]]:
        names = [f["id"] for f in self.fields]
        return [dict(zip(names, row, strict=True)) for row in self.rows]


# --- files ------------------------------------------------------------------------------


def _root() -> Path:
    return Path(settings.DATASTORE_DIR)


def table_path(name: str) -> Path:
    """The file of a table name (as stored in ``Resource.datastore_table``)."""
    if not _TABLE_NAME_RE.match(name or ""):
        raise TableMissing(_("This file has no table to query."))
    return _root() / name


def _new_version(resource_id: str) -> tuple[str, Path, Path]:
    """(name, final path, temporary path) of a new version of a resource's table."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"{resource_id}/{stamp}-{secrets.token_hex(4)}.duckdb"
    final = _root() / name
    final.parent.mkdir(parents=True, exist_ok=True)
    return name, final, final.with_name(".tmp-" + final.name)


def _prune(resource_id: str, keep: str) -> None:
    """Delete a resource's old table files (and their exports) once past the grace
    period; never the current one."""
    folder = _root() / resource_id
    current = Path(keep).name.removesuffix(".duckdb")
    now = time.time()
    for path in folder.glob("*"):
        if path.name.startswith(current):
            continue
        try:
            if now - path.stat().st_mtime > GRACE_SECONDS:
                path.unlink()
        except FileNotFoundError:
            pass


def _quote(name: str) -> str:
    """``name`` as a DuckDB identifier (only ever a name checked against the table's
    fields, or one of the schema's)."""
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    """A SQL string literal (standard SQL: no backslash escapes in DuckDB)."""
    return "'" + str(text).replace("'", "''") + "'"


def _config(**extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "memory_limit": str(getattr(settings, "DATASTORE_MEMORY_LIMIT", "1GB")),
        "threads": int(getattr(settings, "DATASTORE_THREADS", 0) or os.cpu_count() or 2),
    }
    config.update(extra)
    return config


# --- readers: one in-memory DuckDB per process, table files attached read-only ---------


class _Readers:
    """Attached table files, most recently used last. A DuckDB connection is not shared
    between threads: each query runs on its own cursor of the process's connection."""

    MAX_ATTACHED = 64

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = 0
        self.connection: duckdb.DuckDBPyConnection | None = None
        self.attached: OrderedDict[str, str] = OrderedDict()
        self.meta: dict[str, dict[str, Any]] = {}

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self.connection is None or self.pid != os.getpid():  # first use, or forked
            self.connection = duckdb.connect(":memory:", config=_config())
            self.pid = os.getpid()
            self.attached.clear()
        return self.connection

    def cursor(self, name: str) -> tuple[duckdb.DuckDBPyConnection, str, dict[str, Any]]:
        """A cursor with the table ``name`` attached as the returned alias, and its meta."""
        path = table_path(name)
        with self.lock:
            connection = self._connection()
            alias = self.attached.get(name)
            if alias is None:
                if not path.exists():
                    raise TableMissing(_("This file has no table to query."))
                alias = "t_" + hashlib.sha1(name.encode()).hexdigest()[:16]  # noqa: S324
                connection.execute(f"ATTACH {_literal(str(path))} AS {alias} (READ_ONLY)")
                self.attached[name] = alias
                while len(self.attached) > self.MAX_ATTACHED:
                    old_name, old_alias = self.attached.popitem(last=False)
                    self.meta.pop(old_name, None)
                    with suppress(duckdb.Error):
                        connection.execute(f"DETACH {old_alias}")
            else:
                self.attached.move_to_end(name)
            cursor = connection.cursor()
            meta = self.meta.get(name)
            if meta is None:
                raw = cursor.execute(f"SELECT value FROM {alias}._meta WHERE key = 'meta'")
                row = raw.fetchone()
                meta = json.loads(row[0]) if row else {"fields": [], "primary_key": []}
                self.meta[name] = meta
        return cursor, alias, meta


_readers = _Readers()


def _table_of(resource: Any) -> str:
    from ecitizen.opendata.models import Resource

    if resource.datastore_state != Resource.DatastoreState.LOADED or not resource.datastore_table:
        raise TableMissing(_("This file is not in the DataStore yet."))
    return str(resource.datastore_table)


# --- loading ----------------------------------------------------------------------------


def _schema_fields(schema: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    fields = list((schema or {}).get("fields") or [])
    if not fields:
        raise DatastoreError(_("The table has no columns."))
    return fields


def _cast(column: str, spec: Mapping[str, Any], missing: Sequence[str]) -> str:  # noqa: PLR0912
    """The SQL that turns a text column into its schema type (NULL for a missing value)."""
    col = _quote(column)
    kind = spec.get("type", "string")
    fmt = spec.get("format") or "default"
    if kind == "integer":
        expr = f"CAST(trim({col}) AS BIGINT)"
    elif kind == "year":
        expr = f"CAST(trim({col}) AS INTEGER)"
    elif kind == "number":
        inner = f"trim({col})"
        if spec.get("groupChar"):
            inner = f"replace({inner}, {_literal(spec['groupChar'])}, '')"
        if spec.get("decimalChar") and spec["decimalChar"] != ".":
            inner = f"replace({inner}, {_literal(spec['decimalChar'])}, '.')"
        expr = f"CAST({inner} AS DOUBLE)"
    elif kind == "boolean":
        trues = spec.get("trueValues") or ["true", "True", "TRUE", "1"]
        falses = spec.get("falseValues") or ["false", "False", "FALSE", "0"]
        expr = (
            f"CASE WHEN trim({col}) IN ({', '.join(map(_literal, trues))}) THEN TRUE "
            f"WHEN trim({col}) IN ({', '.join(map(_literal, falses))}) THEN FALSE END"
        )
    elif kind == "date":
        if fmt not in {"default", "any"}:
            expr = f"CAST(strptime(trim({col}), {_literal(fmt)}) AS DATE)"
        else:
            expr = f"CAST(left(trim({col}), 10) AS DATE)"
    elif kind == "datetime":
        if fmt not in {"default", "any"}:
            expr = f"CAST(strptime(trim({col}), {_literal(fmt)}) AS TIMESTAMP)"
        else:
            expr = f"CAST(CAST(trim({col}) AS TIMESTAMPTZ) AS TIMESTAMP)"
    else:
        expr = col
    nulls = ", ".join(_literal(v) for v in missing) or "''"
    return f"CASE WHEN {col} IS NULL OR {col} IN ({nulls}) THEN NULL ELSE {expr} END"


def _xlsx_to_csv(path: Path, names: list[str], out: Path) -> None:
    """An XLSX file's first sheet as a CSV of text (DuckDB's excel extension is not
    available offline); dates and numbers written as Frictionless reads them."""
    import csv

    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            rows = sheet.iter_rows(values_only=True)
            next(rows, None)  # the header (already checked against the schema)
            writer.writerow(names)
            for row in rows:
                if row is None or all(v is None for v in row):
                    continue
                writer.writerow([_xlsx_text(v) for v in list(row)[: len(names)]])
    finally:
        book.close()


def _xlsx_text(value: Any) -> str:  # noqa: PLR0911
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _source(connection: duckdb.DuckDBPyConnection, path: Path, fmt: str, names: list[str]) -> str:
    """A SQL table expression reading the file with every column as text, named as the
    schema's fields (the file was checked against it)."""
    columns = "{" + ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in names) + "}"
    location = _literal(str(path))
    if fmt in {"CSV", "XLSX"}:
        return (
            f"read_csv({location}, header = true, all_varchar = true, columns = {columns}, "
            "auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
            "null_padding = true, strict_mode = false)"
        )
    if fmt == "JSON":
        return f"read_json({location}, format = 'array', columns = {columns})"
    if fmt == "Parquet":
        described = connection.execute(
            f"DESCRIBE SELECT * FROM read_parquet({location})"
        ).fetchall()
        present = {row[0] for row in described}
        select = ", ".join(
            f"CAST({_quote(n)} AS VARCHAR) AS {_quote(n)}"
            if n in present
            else f"NULL::VARCHAR AS {_quote(n)}"
            for n in names
        )
        return f"(SELECT {select} FROM read_parquet({location}))"
    raise DatastoreError(_("This format cannot be loaded into the DataStore."))


def _meta_sql(
    fields: list[dict[str, str]],
    primary_key: list[str],
    rows: int,
    cluster: Sequence[str] = (),
    lookup: Sequence[str] = (),
) -> str:
    meta = json.dumps(
        {
            "fields": fields,
            "primary_key": primary_key,
            "rows": rows,
            "layout": LAYOUT,
            "cluster": list(cluster),
            "lookup": list(lookup),
        }
    )
    return f"INSERT INTO _meta VALUES ('meta', {_literal(meta)})"


#: The table layout this module writes (``_meta.layout``); see the module docstring.
LAYOUT = 2
#: Rows of a DuckDB row group: a table smaller than two is not worth ordering.
ROW_GROUP = 122_880
#: A text column with at most this many distinct values orders the table (up to three
#: such columns, fewest values first), so that zone maps skip row groups for filters on it.
CLUSTER_MAX_DISTINCT = 10_000
#: A column with at most this many distinct values (and no more than a tenth as many as
#: the table has rows) is left out of the word index: its distinct values and their words
#: are kept in ``lookup`` (field, value, word), and ``q`` finds its rows through the
#: column itself (an equality filter, which the row-group zone maps prune).
LOOKUP_MAX_DISTINCT = 10_000
LOOKUP_SHARE = 10
#: Up to this many values of a ``lookup`` column holding a word of ``q`` are filtered on as
#: constants (zone maps prune); more, through a semi-join with ``lookup``.
LOOKUP_CONSTANTS = 64
#: Words are runs of letters, digits and combining marks, lower-cased (RE2 syntax; the
#: query's words are split by DuckDB with the same expression, never by Python).
WORD_SPLIT = r"[^\pL\pN\pM]+"


def _words_of(column: str, ckan_type: str) -> str:
    """SQL: the list of words of a column's value (its text form for other types)."""
    text = _quote(column) if ckan_type == "text" else f"CAST({_quote(column)} AS VARCHAR)"
    return f"string_split_regex(lower({text}), {_literal(WORD_SPLIT)})"


def _words_select(fields: Sequence[Mapping[str, str]], where: str = "") -> str:
    """SQL: ``(word, _id)`` of every word of every row of ``data`` (``where`` limits the
    rows)."""
    parts = [
        f"SELECT unnest({_words_of(f['id'], f['type'])}) AS word, _id FROM data{where}"
        for f in fields
    ]
    if not parts:
        return "SELECT NULL::VARCHAR AS word, NULL::BIGINT AS _id WHERE false"
    return f"SELECT word, _id FROM ({' UNION ALL '.join(parts)}) WHERE word <> ''"


def _cluster_keys(
    connection: duckdb.DuckDBPyConnection, fields: Sequence[Mapping[str, str]], rows: int
) -> tuple[list[str], list[str]]:
    """The text columns to order the table by (fewest distinct values first), and the
    columns matched by ``q`` through ``lookup`` instead of the word index."""
    if not fields or not rows:
        return [], []
    counts = connection.execute(
        "SELECT "
        + ", ".join(f"approx_count_distinct({_quote(f['id'])})" for f in fields)
        + " FROM stage.staging"
    ).fetchone()
    assert counts is not None
    distinct = {f["id"]: int(c) for f, c in zip(fields, counts, strict=True)}
    lookup = [
        f["id"]
        for f in fields
        if distinct[f["id"]] <= min(LOOKUP_MAX_DISTINCT, rows // LOOKUP_SHARE)
    ]
    if rows < 2 * ROW_GROUP:
        return [], lookup
    ranked = sorted(
        (distinct[f["id"]], index, f["id"])
        for index, f in enumerate(fields)
        if f["type"] == "text" and 1 < distinct[f["id"]] <= CLUSTER_MAX_DISTINCT
    )
    return [name for _count, _index, name in ranked[:3]], lookup


def _lookup_select(
    fields: Sequence[Mapping[str, str]], lookup: Sequence[str], where: str = ""
) -> str:
    """SQL: ``(field, value, word)`` of every distinct value of the ``lookup`` columns of
    ``data`` (``where`` limits the rows), the value as text."""
    parts = []
    for f in fields:
        if f["id"] not in lookup:
            continue
        text = _quote(f["id"]) if f["type"] == "text" else f"CAST({_quote(f['id'])} AS VARCHAR)"
        parts.append(
            f"SELECT {_literal(f['id'])} AS field, value, "
            f"unnest(string_split_regex(lower(value), {_literal(WORD_SPLIT)})) AS word "
            f"FROM (SELECT DISTINCT {text} AS value FROM data"
            f"{where + ' AND' if where else ' WHERE'} {_quote(f['id'])} IS NOT NULL)"
        )
    if not parts:
        return (
            "SELECT NULL::VARCHAR AS field, NULL::VARCHAR AS value, NULL::VARCHAR AS word "
            "WHERE false"
        )
    return f"SELECT field, value, word FROM ({' UNION ALL '.join(parts)}) WHERE word <> ''"


def _check_names(names: Sequence[str]) -> None:
    if "_id" in names:
        raise DatastoreError(_("A column cannot be called “_id”: CKAN gives every row its _id."))


def table_load(*, resource: Any, path: Path) -> tuple[str, int]:  # noqa: PLR0915
    """Load a checked tabular file into a new table file for ``resource``; returns (table
    name, rows). Updates ``resource.datastore_progress`` (rows so far, estimated from
    DuckDB's progress and the row count of the check) about once a second.

    Three statements: the file read with every column cast to its schema type into a
    temporary table (file order gives ``_id``); ``data`` written from it ordered by the
    low-cardinality text columns; ``words`` written from ``data`` ordered by word."""
    from ecitizen.opendata.models import Resource

    schema = resource.schema or {}
    specs = _schema_fields(schema)
    names = [str(s["name"]) for s in specs]
    _check_names(names)
    missing = list(schema.get("missingValues") or [""])
    fields = [{"id": n, "type": TYPES.get(s.get("type", "string"), TYPES["string"])[1]}
              for n, s in zip(names, specs, strict=True)]  # fmt: skip
    name, final, temporary = _new_version(str(resource.id))
    expected = int((resource.validation or {}).get("rows") or 0)
    scratch = tempfile.TemporaryDirectory(prefix="ecitizen-datastore-")
    try:
        source_path, fmt = path, resource.format
        if fmt == "XLSX":
            source_path = Path(scratch.name) / "sheet.csv"
            _xlsx_to_csv(path, names, source_path)
        connection = duckdb.connect(
            str(temporary), config=_config(temp_directory=str(Path(scratch.name) / "spill"))
        )
        try:
            source = _source(connection, source_path, fmt, names)
            casts = ", ".join(
                f"{_cast(n, s, missing)} AS {_quote(n)}" for n, s in zip(names, specs, strict=True)
            )
            connection.execute("CREATE TABLE _meta (key VARCHAR, value VARCHAR)")
            # the typed rows in file order, in a scratch file (not kept in memory)
            stage = Path(scratch.name) / "stage.duckdb"
            connection.execute(f"ATTACH {_literal(str(stage))} AS stage")
            _run_with_progress(
                connection,
                f"CREATE TABLE stage.staging AS SELECT {casts} FROM {source}",
                resource,
                expected,
                share=(0.0, 0.6),
            )
            rows = int(connection.execute("SELECT count(*) FROM stage.staging").fetchone()[0])  # type: ignore[index]
            keys, lookup = _cluster_keys(connection, fields, rows)
            indexed = [f for f in fields if f["id"] not in lookup]
            order = "".join(f"{_quote(k)}, " for k in keys) + "_id"
            columns = ", ".join(map(_quote, names))
            _run_with_progress(
                connection,
                f"CREATE TABLE data AS SELECT rowid + 1 AS _id, {columns} FROM stage.staging"
                + (f" ORDER BY {order}" if keys else ""),
                resource,
                rows,
                share=(0.6, 0.75),
            )
            # the order of the words among equal words does not matter (every reader sorts);
            # the words are written unsorted to the scratch file first (sorting them as they
            # are made runs out of memory), then sorted into the table
            connection.execute("SET preserve_insertion_order = false")
            connection.execute(
                f"CREATE TABLE lookup AS {_lookup_select(fields, lookup)} ORDER BY word"
            )
            _run_with_progress(
                connection,
                f"CREATE TABLE stage.words AS {_words_select(indexed)}",
                resource,
                rows,
                share=(0.75, 0.85),
            )
            _run_with_progress(
                connection,
                "CREATE TABLE words AS SELECT word, _id FROM stage.words ORDER BY word",
                resource,
                rows,
                share=(0.85, 1.0),
            )
            connection.execute("DETACH stage")
            primary_key = list(_as_list(schema.get("primaryKey")))
            connection.execute(_meta_sql(fields, primary_key, rows, keys, lookup))
            connection.execute("CHECKPOINT")
        finally:
            connection.close()
        os.replace(temporary, final)
    except duckdb.Error as error:
        temporary.unlink(missing_ok=True)
        raise DatastoreError(
            _("The file could not be loaded into the DataStore: %(reason)s")
            % {"reason": str(error).splitlines()[0][:300]}
        ) from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        scratch.cleanup()
    Resource.objects.filter(pk=resource.pk).update(datastore_progress=rows)
    _prune(str(resource.id), keep=name)
    return name, rows


def _run_with_progress(
    connection: duckdb.DuckDBPyConnection,
    statement: str,
    resource: Any,
    expected: int,
    *,
    share: tuple[float, float] = (0.0, 1.0),
) -> None:
    """Run ``statement`` on a thread of its own while this one records its progress (the
    database writes stay on the caller's thread and connection)."""
    from ecitizen.opendata.models import Resource

    failure: list[BaseException] = []

    def run() -> None:
        try:
            connection.execute(statement)
        except BaseException as error:  # handed to the caller's thread
            failure.append(error)

    worker = threading.Thread(target=run, name="datastore-load", daemon=True)
    worker.start()
    last = -1
    while worker.is_alive():
        worker.join(timeout=1.0)
        if not worker.is_alive():
            break
        try:
            percent = connection.query_progress()
        except duckdb.Error:
            continue
        if percent is not None and percent >= 0 and expected:
            start, end = share
            done = int(expected * (start + (end - start) * min(percent, 100.0) / 100.0))
            if done != last:
                Resource.objects.filter(pk=resource.pk).update(datastore_progress=done)
                last = done
    if failure:
        raise failure[0]


# --- writes through the API (datastore_create, datastore_upsert) ------------------------


def _as_list(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    raise QueryInvalid(_("Give a list of field names."), field="primary_key")


_FIELD_NAME_RE = re.compile(r"^[^\"\s_][^\"]{0,62}$|^[^\"\s_]$")


def ckan_fields(fields: Any) -> list[dict[str, str]]:
    """CKAN ``fields`` ([{"id", "type"}]) checked; types as the DataStore names them."""
    if not isinstance(fields, list) or not fields:
        raise QueryInvalid(_("Give the table's fields, each with an id."), field="fields")
    checked: list[dict[str, str]] = []
    for item in fields:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise QueryInvalid(_("Each field is an object with an id."), field="fields")
        name = item["id"].strip()
        if not _FIELD_NAME_RE.match(name):
            raise QueryInvalid(
                _("“%(name)s” is not a valid field name.") % {"name": name}, field="fields"
            )
        kind = str(item.get("type") or "text").lower()
        if kind not in CKAN_TYPES:
            raise QueryInvalid(
                _("“%(type)s” is not a valid field type.") % {"type": kind}, field="fields"
            )
        checked.append({"id": name, "type": TYPES[CKAN_TYPES[kind]][1]})
    if len({f["id"] for f in checked}) != len(checked):
        raise QueryInvalid(_("Every field needs a different name."), field="fields")
    return checked


def schema_of(fields: list[dict[str, str]], primary_key: list[str]) -> dict[str, Any]:
    """A Frictionless Table Schema for CKAN fields (the resource's ``schema``)."""
    back = {"text": "string", "int": "integer", "numeric": "number", "bool": "boolean",
            "date": "date", "timestamp": "datetime"}  # fmt: skip
    schema: dict[str, Any] = {
        "fields": [{"name": f["id"], "type": back[f["type"]]} for f in fields]
    }
    if primary_key:
        schema["primaryKey"] = primary_key
    return schema


_DUCK_OF_CKAN = {"text": "VARCHAR", "int": "BIGINT", "numeric": "DOUBLE", "bool": "BOOLEAN",
                 "date": "DATE", "timestamp": "TIMESTAMP"}  # fmt: skip


def _coerce(value: Any, kind: str, *, field_name: str, where: str) -> Any:  # noqa: PLR0911, PLR0912
    """A client's value as the column's Python type, or :class:`QueryInvalid`."""
    if value is None:
        return None
    try:
        if kind == "text":
            if isinstance(value, (dict, list)):
                return json.dumps(value)
            return str(value)
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
                number = int(value)
            else:
                number = int(str(value).strip())
            if not -(2**63) <= number < 2**63:  # DuckDB's BIGINT
                raise ValueError
            return number
        if kind == "numeric":
            if isinstance(value, bool):
                raise ValueError
            real = float(str(value).strip()) if not isinstance(value, (int, float)) else value
            if isinstance(real, float) and not math.isfinite(real):
                raise ValueError
            return float(real)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"true", "1", "yes", "t"}:
                return True
            if text in {"false", "0", "no", "f"}:
                return False
            raise ValueError
        if kind == "date":
            text = str(value).strip()
            if len(text) > 10:  # a date and time: its date, but nothing else after it
                return dt.datetime.fromisoformat(text).date()
            return dt.date.fromisoformat(text)
        if kind == "timestamp":
            stamp = dt.datetime.fromisoformat(str(value).strip())
            if stamp.tzinfo is not None:
                stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
            return stamp
    except (TypeError, ValueError, OverflowError) as error:
        raise QueryInvalid(
            _("“%(value)s” is not a valid %(type)s for the field “%(field)s”.")
            % {"value": str(value)[:100], "type": kind, "field": field_name},
            field=where,
        ) from error
    return value


def table_write(  # noqa: PLR0912, PLR0915 (one branch per type or rule)
    *,
    resource: Any,
    fields: list[dict[str, str]] | None,
    records: list[Any],
    primary_key: list[str] | None,
    method: str,
) -> tuple[str, int, list[dict[str, str]], list[str]]:
    """A new version of ``resource``'s table with ``records`` written (``method``
    "insert", "update" or "upsert"), and ``fields`` added when given (a new table when the
    resource has none). Returns (table name, rows, fields, primary key).

    The current file is copied, changed and renamed into place: readers never see a half
    written table. Raises :class:`QueryInvalid` for records that do not fit."""
    current = None
    from ecitizen.opendata.models import Resource

    if resource.datastore_state == Resource.DatastoreState.LOADED and resource.datastore_table:
        current = table_path(resource.datastore_table)
        _cursor, _alias, meta = _readers.cursor(resource.datastore_table)
        old_fields, old_key = list(meta["fields"]), list(meta.get("primary_key") or [])
    else:
        old_fields, old_key, meta = [], [], {}
        if fields is None:
            raise QueryInvalid(
                _("This resource has no table yet: give its fields."), field="fields"
            )
    new_fields = list(old_fields)
    known = {f["id"]: f["type"] for f in old_fields}
    for item in fields or []:
        if item["id"] in known:
            if known[item["id"]] != item["type"]:
                raise QueryInvalid(
                    _("The field “%(name)s” already has the type %(type)s.")
                    % {"name": item["id"], "type": known[item["id"]]},
                    field="fields",
                )
        else:
            new_fields.append(item)
            known[item["id"]] = item["type"]
    key = list(primary_key) if primary_key else old_key
    for name in key:
        if name not in known:
            raise QueryInvalid(
                _("“%(name)s” is not a field of this table.") % {"name": name}, field="primary_key"
            )
    if method not in {"insert", "update", "upsert"}:
        raise QueryInvalid(_("The method is insert, update or upsert."), field="method")
    if method != "insert" and not key:
        raise QueryInvalid(
            _("This table has no primary key: records can only be inserted."), field="method"
        )
    rows = _records(records, known, key, method)
    name, final, temporary = _new_version(str(resource.id))
    try:
        if current is not None:
            shutil.copyfile(current, temporary)
        connection = duckdb.connect(str(temporary), config=_config())
        try:
            if current is None:
                connection.execute("CREATE TABLE _meta (key VARCHAR, value VARCHAR)")
                columns = ", ".join(
                    f"{_quote(f['id'])} {_DUCK_OF_CKAN[f['type']]}" for f in new_fields
                )
                connection.execute(f"CREATE TABLE data (_id BIGINT, {columns})")
                connection.execute("CREATE TABLE words (word VARCHAR, _id BIGINT)")
            else:
                if int(meta.get("layout") or 1) < LAYOUT:
                    _upgrade(connection, old_fields)
                for item in new_fields[len(old_fields) :]:
                    connection.execute(
                        f"ALTER TABLE data ADD COLUMN {_quote(item['id'])} "
                        f"{_DUCK_OF_CKAN[item['type']]}"
                    )
            lookup = list(meta.get("lookup") or []) if current is not None else []
            _apply(connection, new_fields, key, rows, method, lookup=lookup)
            total = int(connection.execute("SELECT count(*) FROM data").fetchone()[0])  # type: ignore[index]
            connection.execute("DELETE FROM _meta")
            cluster = list(meta.get("cluster") or []) if current is not None else []
            connection.execute(_meta_sql(new_fields, key, total, cluster, lookup))
            connection.execute("CHECKPOINT")
        finally:
            connection.close()
        os.replace(temporary, final)
    except duckdb.Error as error:
        temporary.unlink(missing_ok=True)
        raise QueryInvalid(str(error).splitlines()[0][:300], field="records") from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _prune(str(resource.id), keep=name)
    return name, total, new_fields, key


def _records(
    records: Any, known: Mapping[str, str], key: list[str], method: str
) -> list[dict[str, Any]]:
    if records is None:
        return []
    if not isinstance(records, list):
        raise QueryInvalid(_("Records are a list of objects."), field="records")
    rows: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise QueryInvalid(
                _("Row %(row)d is not an object.") % {"row": number}, field="records"
            )
        extra = sorted(set(record) - set(known))
        if extra:
            raise QueryInvalid(
                _("Row %(row)d has fields the table does not: %(fields)s.")
                % {"row": number, "fields": ", ".join(extra)},
                field="records",
            )
        row = {
            name: _coerce(value, known[name], field_name=name, where="records")
            for name, value in record.items()
        }
        if key:
            if any(row.get(name) is None for name in key) and method != "insert":
                raise QueryInvalid(
                    _("Row %(row)d has no value for the key %(key)s.")
                    % {"row": number, "key": ", ".join(key)},
                    field="records",
                )
            ident = tuple(row.get(name) for name in key)
            if ident in seen:
                raise QueryInvalid(
                    _("Row %(row)d repeats the key of an earlier row.") % {"row": number},
                    field="records",
                )
            seen.add(ident)
        rows.append(row)
    return rows


def _upgrade(connection: duckdb.DuckDBPyConnection, fields: list[dict[str, str]]) -> None:
    """A layout-1 table (``_id`` = rowid + 1, ``_full_text``) in the current layout."""
    names = ", ".join(_quote(f["id"]) for f in fields)
    connection.execute(f"CREATE TABLE data2 AS SELECT rowid + 1 AS _id, {names} FROM data")
    connection.execute("DROP TABLE data")
    connection.execute("ALTER TABLE data2 RENAME TO data")
    connection.execute(f"CREATE TABLE words AS {_words_select(fields)} ORDER BY word")


def _apply(
    connection: duckdb.DuckDBPyConnection,
    fields: list[dict[str, str]],
    key: list[str],
    rows: list[dict[str, Any]],
    method: str,
    *,
    lookup: Sequence[str] = (),
) -> None:
    names = [f["id"] for f in fields]
    types = {f["id"]: _DUCK_OF_CKAN[f["type"]] for f in fields}
    existing: dict[tuple[Any, ...], int] = {}
    if key and rows:
        key_cols = ", ".join(f"{_quote(k)} {types[k]}" for k in key)
        connection.execute(f"CREATE TEMP TABLE keys ({key_cols})")
        connection.executemany(
            f"INSERT INTO keys VALUES ({', '.join('?' for _ in key)})",
            [[row.get(k) for k in key] for row in rows],
        )
        match = " AND ".join(f"d.{_quote(k)} = k.{_quote(k)}" for k in key)
        existing = {
            tuple(r[:-1]): int(r[-1])
            for r in connection.execute(
                f"SELECT {', '.join('k.' + _quote(k) for k in key)}, d._id FROM keys k "
                f"JOIN data d ON {match}"
            ).fetchall()
        }
        connection.execute("DROP TABLE keys")
    inserts: list[dict[str, Any]] = []
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    touched: list[int] = []
    for number, row in enumerate(rows, start=1):
        ident = tuple(row.get(k) for k in key)
        if key and ident in existing:
            if method == "insert":
                raise QueryInvalid(
                    _("Row %(row)d: a record with this key already exists.") % {"row": number},
                    field="records",
                )
            columns = tuple(sorted(c for c in row if c not in key))
            updates.setdefault(columns, []).append(row)
            if columns:
                touched.append(existing[ident])
        else:
            if method == "update":
                raise QueryInvalid(
                    _("Row %(row)d: no record has this key.") % {"row": number}, field="records"
                )
            inserts.append(row)
    if inserts:
        last = connection.execute("SELECT coalesce(max(_id), 0) FROM data").fetchone()
        first = int(last[0]) + 1 if last else 1
        connection.executemany(
            f"INSERT INTO data (_id, {', '.join(map(_quote, names))}) "
            f"VALUES (?, {', '.join('?' for _ in names)})",
            [[first + n, *(row.get(c) for c in names)] for n, row in enumerate(inserts)],
        )
        touched.extend(range(first, first + len(inserts)))
    for columns, group in updates.items():
        if not columns:
            continue
        changed = ", ".join(_quote(c) + " = ?" for c in columns)
        where = " AND ".join(_quote(k) + " = ?" for k in key)
        connection.executemany(
            f"UPDATE data SET {changed} WHERE {where}",
            [[row[c] for c in columns] + [row[k] for k in key] for row in group],
        )
    if touched:
        # the words of the rows written: appended after the sorted ones (still found, by
        # a scan of the row groups they are in)
        connection.execute("CREATE TEMP TABLE touched (_id BIGINT)")
        connection.executemany("INSERT INTO touched VALUES (?)", [[i] for i in touched])
        connection.execute("DELETE FROM words WHERE _id IN (SELECT _id FROM touched)")
        where = " WHERE _id IN (SELECT _id FROM touched)"
        connection.execute(
            "INSERT INTO words "
            + _words_select([f for f in fields if f["id"] not in lookup], where)
            + " ORDER BY word"
        )
        if lookup:  # the values not seen before (values no longer used find no rows)
            connection.execute(
                f"INSERT INTO lookup SELECT * FROM ({_lookup_select(fields, lookup, where)}) "
                "EXCEPT SELECT field, value, word FROM lookup"
            )
        connection.execute("DROP TABLE touched")


# --- reading ----------------------------------------------------------------------------


def _json_value(value: Any) -> Any:  # noqa: PLR0911
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return value


def table_fields(*, resource: Any) -> list[dict[str, str]]:
    """The table's fields, in file order: [{"id": name, "type": CKAN type}] (without
    CKAN's ``_id``)."""
    _cursor, _alias, meta = _readers.cursor(_table_of(resource))
    return [dict(f) for f in meta["fields"]]


#: The largest offset a search takes (larger ones would overflow the engine's integers).
MAX_OFFSET = 2**62


def _int_param(value: Any, name: str, *, default: int, maximum: int | None = None) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError as error:
        raise QueryInvalid(_("Give a whole number of 0 or more."), field=name) from error
    if isinstance(value, bool) or number < 0:
        raise QueryInvalid(_("Give a whole number of 0 or more."), field=name)
    if maximum is None and number > MAX_OFFSET:
        raise QueryInvalid(_("Give a whole number up to %(n)d.") % {"n": MAX_OFFSET}, field=name)
    return min(number, maximum) if maximum is not None else number


def _field_list(value: Any, name: str) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value]
    raise QueryInvalid(_("Give a list of field names."), field=name)


def _unknown(name: str, where: str) -> QueryInvalid:
    return QueryInvalid(
        _("“%(field)s” is not a field of this table.") % {"field": name}, field=where
    )


def _sort_clause(sort: Any, types: Mapping[str, str], id_expr: str = "_id") -> list[str]:
    clauses = sort if isinstance(sort, (list, tuple)) else str(sort).split(",")
    parsed: list[str] = []
    for clause in clauses:
        if not isinstance(clause, str):
            raise QueryInvalid(_("Sort by field names, each optionally “desc”."), field="sort")
        if not clause.strip():
            continue
        match = _SORT_RE.match(clause)
        if not match:
            raise QueryInvalid(
                _("“%(sort)s” is not a field name optionally followed by asc or desc.")
                % {"sort": clause.strip()[:100]},
                field="sort",
            )
        column, direction, nulls = match.groups()
        if column.startswith('"'):
            column = column[1:-1].replace('""', '"')
        if column == "_id":
            expression = id_expr
        elif column in types:
            expression = _quote(column)
        else:
            raise _unknown(column, "sort")
        text = f"{expression} {(direction or 'asc').upper()}"
        if nulls:
            text += f" NULLS {nulls.upper()}"
        parsed.append(text)
    return parsed


def _query_words(cursor: duckdb.DuckDBPyConnection, text: str) -> list[str]:
    """The words of a query, split by DuckDB exactly as the table's words were."""
    row = cursor.execute(
        f"SELECT string_split_regex(lower(?), {_literal(WORD_SPLIT)})", [text]
    ).fetchone()
    return list(dict.fromkeys(w for w in (row[0] if row else None) or [] if w))


@dataclass
class _Query:
    """The parts of a search: WHERE clauses with their parameters, and the ``_id`` set of
    a full-text ``q`` (SQL yielding ``_id``, with its parameters) when there is one."""

    clauses: list[str]
    params: list[Any]
    matches: str | None = None
    match_params: list[Any] = field(default_factory=list)


def _where(  # noqa: PLR0912, PLR0915
    *,
    cursor: duckdb.DuckDBPyConnection,
    types: Mapping[str, str],
    filters: Any,
    q: Any,
    layout: int,
    alias: str = "",
    lookup: Sequence[str] = (),
) -> _Query:
    clauses: list[str] = []
    params: list[Any] = []
    query = _Query(clauses, params)
    id_expr = "_id" if layout >= LAYOUT else "(rowid + 1)"
    if filters not in (None, "", {}):
        if isinstance(filters, str):
            try:
                filters = json.loads(filters)
            except ValueError as error:
                raise QueryInvalid(_("Filters are a JSON object."), field="filters") from error
        if not isinstance(filters, dict):
            raise QueryInvalid(_("Filters are a JSON object."), field="filters")
        for name, value in filters.items():
            if name == "_id":
                column, kind = id_expr, "int"
            elif name in types:
                column, kind = _quote(name), types[name]
            else:
                raise _unknown(str(name), "filters")
            values = value if isinstance(value, list) else [value]
            if isinstance(value, dict):
                raise QueryInvalid(
                    _("Filter “%(field)s” by a value or a list of values.") % {"field": name},
                    field="filters",
                )
            coerced = [_coerce(v, kind, field_name=name, where="filters") for v in values]
            present = list(dict.fromkeys(v for v in coerced if v is not None))
            parts = []
            if len(present) == 1:  # an equality the scan can check against zone maps
                parts.append(f"{column} = ?")
                params.extend(present)
            elif present:
                parts.append(f"{column} IN ({', '.join('?' for _ in present)})")
                params.extend(present)
            if len(present) != len(coerced):
                parts.append(f"{column} IS NULL")
            clauses.append("(" + " OR ".join(parts) + ")" if parts else "FALSE")
    if q in (None, "", {}):
        return query
    if isinstance(q, str) and q.strip().startswith("{"):
        with suppress(ValueError):  # else plain text that starts with a brace
            q = json.loads(q)
    if isinstance(q, str):
        words = _query_words(cursor, q)
        if not words:  # like PostgreSQL's empty tsquery: nothing matches
            clauses.append("FALSE")
        elif layout < LAYOUT:
            for word in words:
                clauses.append("contains(_full_text, ?)")
                params.append(word)
        else:
            _word_matches(query, cursor, alias=alias, types=types, words=words, lookup=lookup)
    elif isinstance(q, dict):
        for name, text in q.items():
            if name not in types:
                raise _unknown(str(name), "q")
            if not isinstance(text, str):
                raise QueryInvalid(_("Search for text."), field="q")
            words = _query_words(cursor, text)
            if not words:
                clauses.append("FALSE")
            for word in words:
                clauses.append(f"list_contains({_words_of(name, types[name])}, ?)")
                params.append(word)
    else:
        raise QueryInvalid(_("Search for text, or an object of field and text."), field="q")
    return query


def _word_matches(
    query: _Query,
    cursor: duckdb.DuckDBPyConnection,
    *,
    alias: str,
    types: Mapping[str, str],
    words: Sequence[str],
    lookup: Sequence[str],
) -> None:
    """The rows that have every word of ``q``. Words of indexed columns are found in
    ``words``; words of ``lookup`` columns by the values that hold them (looked up first,
    then filtered on as constants, which zone maps prune, or through a semi-join with
    ``lookup`` for a word of many values).

    When every word is found only in the index, ``query.matches`` is the intersection of
    their ``_id`` sets (each set without repeats: a row can hold a word twice); otherwise
    each word is a condition on the rows of ``data``."""
    prefix = f"{alias}." if alias else ""
    indexed = any(name not in lookup for name in types)
    values: dict[str, dict[str, list[str]]] = {}
    in_index = set(words) if indexed else set()
    marks = ", ".join("?" for _ in words)
    if lookup:
        for word, name, value in cursor.execute(
            f"SELECT word, field, value FROM {prefix}lookup WHERE word IN ({marks}) "
            "ORDER BY field, value",
            list(words),
        ).fetchall():
            if name in types:
                values.setdefault(word, {}).setdefault(name, []).append(value)
        if indexed and values:
            in_index = {
                row[0]
                for row in cursor.execute(
                    f"SELECT DISTINCT word FROM {prefix}words WHERE word IN ({marks})",
                    list(words),
                ).fetchall()
            }
    if not values:
        if not indexed:
            query.clauses.append("FALSE")
            return
        query.matches = " INTERSECT ".join(
            f"SELECT DISTINCT _id FROM {prefix}words WHERE word = ?" for _ in words
        )
        query.match_params = list(words)
        return
    for word in words:
        conditions = []
        if word in in_index:
            conditions.append(f"_id IN (SELECT _id FROM {prefix}words WHERE word = ?)")
            query.params.append(word)
        for name, texts in values.get(word, {}).items():
            duck = _DUCK_OF_CKAN.get(types[name], "VARCHAR")
            if len(texts) <= LOOKUP_CONSTANTS:
                binds = ", ".join("?" if duck == "VARCHAR" else f"CAST(? AS {duck})" for _ in texts)
                conditions.append(f"{_quote(name)} IN ({binds})")
                query.params.extend(texts)
            else:  # a common word: a semi-join with the values that hold it
                conditions.append(
                    f"{_quote(name)} IN (SELECT CAST(value AS {duck}) FROM {prefix}lookup "
                    "WHERE field = ? AND word = ?)"
                )
                query.params.extend([name, word])
        if not conditions:  # a word no row has
            query.clauses.append("FALSE")
            return
        query.clauses.append("(" + " OR ".join(conditions) + ")")


def table_search(
    *,
    resource: Any,
    filters: Any = None,
    q: Any = None,
    fields: Any = None,
    sort: Any = None,
    limit: Any = DEFAULT_LIMIT,
    offset: Any = 0,
    include_total: bool = True,
    distinct: bool = False,
) -> TableResult:
    """CKAN's ``datastore_search`` over the resource's table. ``fields`` of the result
    start with ``_id`` unless ``fields`` chooses them. Without ``sort``, rows come in
    ``_id`` order; with one, ``_id`` breaks ties (stable pages)."""
    cursor, alias, meta = _readers.cursor(_table_of(resource))
    try:
        return _search(
            cursor, alias, meta, filters=filters, q=q, fields=fields, sort=sort, limit=limit,
            offset=offset, include_total=include_total, distinct=distinct,
        )  # fmt: skip
    finally:
        cursor.close()


def _search(  # noqa: PLR0912, PLR0915
    cursor: duckdb.DuckDBPyConnection,
    alias: str,
    meta: Mapping[str, Any],
    *,
    filters: Any,
    q: Any,
    fields: Any,
    sort: Any,
    limit: Any,
    offset: Any,
    include_total: bool,
    distinct: bool,
) -> TableResult:
    types = {f["id"]: f["type"] for f in meta["fields"]}
    layout = int(meta.get("layout") or 1)
    id_expr = "_id" if layout >= LAYOUT else "(rowid + 1)"
    limit = _int_param(limit, "limit", default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    offset = _int_param(offset, "offset", default=0)
    if fields not in (None, "", []):
        chosen = _field_list(fields, "fields")
        for name in chosen:
            if name != "_id" and name not in types:
                raise _unknown(name, "fields")
        chosen = list(dict.fromkeys(chosen))
    else:
        chosen = ["_id", *types]
    result_fields = [{"id": n, "type": "int" if n == "_id" else types[n]} for n in chosen]
    select = ", ".join(f"{id_expr} AS _id" if n == "_id" else _quote(n) for n in chosen)
    query = _where(
        cursor=cursor, types=types, filters=filters, q=q, layout=layout, alias=alias,
        lookup=list(meta.get("lookup") or []),
    )  # fmt: skip
    order = _sort_clause(sort, types, id_expr) if sort not in (None, "", []) else []
    table = f"{alias}.data"
    rows_in_table = int(meta.get("rows", 0))
    clauses, params = list(query.clauses), list(query.params)
    matches = query.matches
    if matches:
        clauses.append(f"_id IN ({matches})")
        params.extend(query.match_params)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    head = "SELECT DISTINCT" if distinct else "SELECT"
    plain_order = not order or order == [f"{id_expr} ASC"]
    if layout >= LAYOUT and not clauses and not distinct and plain_order:
        # _id is 1..rows without gaps (rows are never deleted): a page is a range of _id
        sql = (
            f"SELECT {select} FROM {table} WHERE _id > {offset} AND _id <= {offset + limit} "
            "ORDER BY _id"
        )
        run_params: list[Any] = []
    elif matches and not query.clauses and not distinct and plain_order:
        # only q: the page's _ids from the word index, then those rows
        sql = (
            f"SELECT {select} FROM {table} WHERE _id IN (SELECT _id FROM ({matches}) "
            f"ORDER BY _id LIMIT {limit} OFFSET {offset}) ORDER BY _id"
        )
        run_params = list(query.match_params)
    else:
        sql = f"{head} {select} FROM {table}{where}"
        if order:
            # ties keep _id order (stable pages); DISTINCT can only sort by what it selects
            order_sql = ", ".join(order)
            if not distinct and plain_order is False:
                order_sql += f", {id_expr}"
            sql += f" ORDER BY {order_sql}"
        elif not distinct:
            sql += f" ORDER BY {id_expr}"
        sql += f" LIMIT {limit} OFFSET {offset}"
        run_params = params
    try:
        rows = cursor.execute(sql, run_params).fetchall()
        total = None
        if include_total:
            if not clauses and not distinct:
                total = rows_in_table or _count(cursor, f"SELECT count(*) FROM {table}")
            elif matches and not query.clauses and not distinct:
                total = _count(cursor, f"SELECT count(*) FROM ({matches})", query.match_params)
            elif distinct:
                total = _count(
                    cursor, f"SELECT count(*) FROM ({head} {select} FROM {table}{where})", params
                )
            else:
                total = _count(cursor, f"SELECT count(*) FROM {table}{where}", params)
    except duckdb.BinderException as error:
        # e.g. DISTINCT with a sort on a field it does not select
        raise QueryInvalid(str(error).splitlines()[0][:300], field="sort") from error
    except duckdb.Error as error:
        raise DatastoreError(_("The table could not be searched.")) from error
    return TableResult(
        fields=result_fields,
        rows=[[_json_value(v) for v in row] for row in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


def _count(cursor: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> int:
    row = cursor.execute(sql, list(params)).fetchone()
    return int(row[0]) if row else 0


def table_preview(*, resource: Any, limit: int = 20) -> TableResult:
    """The first ``limit`` rows in file order, without ``_id``."""
    cursor, alias, meta = _readers.cursor(_table_of(resource))
    names = [f["id"] for f in meta["fields"]]
    where = (
        f" WHERE _id <= {int(limit)} ORDER BY _id" if int(meta.get("layout") or 1) >= LAYOUT else ""
    )
    try:
        rows = cursor.execute(
            f"SELECT {', '.join(map(_quote, names))} FROM {alias}.data{where} LIMIT {int(limit)}"
        ).fetchall()
    finally:
        cursor.close()
    return TableResult(
        fields=[dict(f) for f in meta["fields"]],
        rows=[[_json_value(v) for v in row] for row in rows],
        total=int(meta.get("rows", 0)),
        limit=int(limit),
    )


# --- exports ----------------------------------------------------------------------------

EXPORTS: dict[str, tuple[str, str]] = {
    "csv": ("text/csv; charset=utf-8", "(FORMAT csv, HEADER true)"),
    "json": ("application/json", "(FORMAT json, ARRAY true)"),
    "parquet": ("application/vnd.apache.parquet", "(FORMAT parquet, COMPRESSION zstd)"),
}

_export_lock = threading.Lock()


def export_path(*, resource: Any, fmt: str) -> Path:
    """The table as a file in ``fmt`` (csv, json, parquet), written once per table
    version next to it (DuckDB's own writers) and reused: the table never changes."""
    if fmt not in EXPORTS:
        raise QueryInvalid(_("Choose csv, json or parquet."), field="format")
    name = _table_of(resource)
    source = table_path(name)
    target = source.with_name(source.name.removesuffix(".duckdb") + f".export.{fmt}")
    if target.exists():
        return target
    cursor, alias, meta = _readers.cursor(name)
    names = [f["id"] for f in meta["fields"]]
    order = " ORDER BY _id" if int(meta.get("layout") or 1) >= LAYOUT else ""  # file order
    temporary = target.with_name(f".tmp-{secrets.token_hex(4)}-{target.name}")
    try:
        with _export_lock:
            if target.exists():
                return target
            cursor.execute(
                f"COPY (SELECT {', '.join(map(_quote, names))} FROM {alias}.data{order}) "
                f"TO {_literal(str(temporary))} {EXPORTS[fmt][1]}"
            )
            os.replace(temporary, target)
    except duckdb.Error as error:
        temporary.unlink(missing_ok=True)
        raise DatastoreError(_("The table could not be exported.")) from error
    finally:
        cursor.close()
    return target


def _chunks(path: Path, size: int = 256 * 1024) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def table_export(*, resource: Any, fmt: str) -> tuple[Iterator[bytes], str]:
    """The whole table in ``fmt`` as a stream of bytes, and its content type."""
    path = export_path(resource=resource, fmt=fmt)
    return _chunks(path), EXPORTS[fmt][0]


# --- SQL (datastore_search_sql) ---------------------------------------------------------


def referenced_ids(sql: str) -> list[str]:
    """The resource ids a query names (CKAN: ``SELECT * FROM "<resource id>"``)."""
    return list(dict.fromkeys(match.lower() for match in _UUID_RE.findall(sql or "")))


#: Table functions a query may use (they read nothing but their arguments).
SQL_TABLE_FUNCTIONS = frozenset({"unnest", "range", "generate_series"})
#: Scalar functions a query may not use (they read the server's settings or environment).
SQL_DENIED_FUNCTIONS = frozenset({"current_setting", "getenv", "current_database"})


def _check_references(
    connection: duckdb.DuckDBPyConnection, sql: str, *, allowed: set[str]
) -> None:
    """Refuse a query that names anything but the DataStore views it was given (and its
    own common table expressions): no catalog functions (``duckdb_databases()`` would show
    where the files are), no other schema or database, no settings."""
    row = connection.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    tree = json.loads(row[0]) if row else {"error": True}
    if tree.get("error"):
        raise QueryInvalid(
            str(tree.get("error_message") or _("The query could not be read."))[:300], field="query"
        )
    names = set(allowed)
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            cte_map = node.get("cte_map")
            if isinstance(cte_map, dict):
                names.update(str(e.get("key", "")).lower() for e in cte_map.get("map") or [])
            if (
                node.get("type") in {"BASE_TABLE", "TABLE_FUNCTION"}
                or node.get("class") == "FUNCTION"
            ):
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree.get("statements"))
    for node in found:
        if node.get("type") == "BASE_TABLE":
            if (
                node.get("schema_name")
                or node.get("catalog_name")
                or str(node.get("table_name", "")).lower() not in names
            ):
                raise QueryInvalid(
                    _("Only the DataStore tables named by their resource id can be queried."),
                    field="query",
                )
        elif node.get("type") == "TABLE_FUNCTION":
            function = node.get("function") or {}
            if str(function.get("function_name", "")).lower() not in SQL_TABLE_FUNCTIONS:
                raise QueryInvalid(
                    _("Only the DataStore tables named by their resource id can be queried."),
                    field="query",
                )
        elif (
            str(node.get("function_name", "")).lower() in SQL_DENIED_FUNCTIONS
            or node.get("schema")
            or node.get("catalog")
        ):
            raise QueryInvalid(
                _("The function “%(name)s” cannot be used here.")
                % {"name": str(node.get("function_name"))[:100]},
                field="query",
            )


def sql_search(
    *, sql: str, tables: Mapping[str, str], timeout_ms: int, max_rows: int = MAX_LIMIT
) -> TableResult:
    """Run one read-only SELECT over the DataStore tables ``tables`` (resource id -> table
    name), each visible as a view named by its resource id, in a DuckDB of its own with
    every file and network function switched off, stopped after ``timeout_ms``."""
    if not isinstance(sql, str) or not sql.strip():
        raise QueryInvalid(_("Give a SQL query."), field="sql")
    connection = duckdb.connect(":memory:", config=_config(memory_limit="512MB"))
    try:
        for number, (resource_id, name) in enumerate(tables.items()):
            path = table_path(name)
            if not path.exists():
                raise TableMissing(_("This file has no table to query."))
            connection.execute(f"ATTACH {_literal(str(path))} AS s{number} (READ_ONLY)")
            meta_row = connection.execute(
                f"SELECT value FROM s{number}._meta WHERE key = 'meta'"
            ).fetchone()
            meta = json.loads(meta_row[0]) if meta_row else {"fields": []}
            names = [f["id"] for f in meta["fields"]]
            id_expr = "_id" if int(meta.get("layout") or 1) >= LAYOUT else "rowid + 1 AS _id"
            columns = ", ".join([id_expr, *map(_quote, names)])
            connection.execute(
                f"CREATE VIEW {_quote(resource_id)} AS SELECT {columns} FROM s{number}.data"
            )
        connection.execute("SET enable_external_access = false")
        connection.execute("SET allow_community_extensions = false")
        connection.execute("SET autoinstall_known_extensions = false")
        connection.execute("SET autoload_known_extensions = false")
        connection.execute("SET lock_configuration = true")
        try:
            statements = connection.extract_statements(sql)
        except duckdb.Error as error:
            raise QueryInvalid(str(error).splitlines()[0][:300], field="query") from error
        if len(statements) != 1:
            raise QueryInvalid(_("Send one statement only."), field="query")
        if statements[0].type != duckdb.StatementType.SELECT:
            raise QueryInvalid(_("Only SELECT queries are allowed."), field="query")
        _check_references(connection, sql, allowed={k.lower() for k in tables})
        timer = threading.Timer(timeout_ms / 1000.0, connection.interrupt)
        timer.start()
        try:
            cursor = connection.execute(sql)
            description = cursor.description or []
            rows, too_large = _rows_within(cursor, max_rows + 1, MAX_SQL_ANSWER_BYTES)
        except duckdb.InterruptException as error:
            raise QueryInvalid(
                _("The query took longer than %(ms)d ms.") % {"ms": timeout_ms}, field="query"
            ) from error
        except duckdb.Error as error:
            if not timer.is_alive():
                raise QueryInvalid(
                    _("The query took longer than %(ms)d ms.") % {"ms": timeout_ms},
                    field="query",
                ) from error
            raise QueryInvalid(str(error).splitlines()[0][:300], field="query") from error
        finally:
            timer.cancel()
    finally:
        connection.close()
    fields = [
        {"id": str(column[0]), "type": _DUCK_TO_CKAN.get(str(column[1]).upper(), "text")}
        for column in description
    ]
    return TableResult(
        fields=fields,
        rows=[[_json_value(v) for v in row] for row in rows[:max_rows]],
        truncated=too_large or len(rows) > max_rows,
        limit=max_rows,
    )


#: The most an answer of datastore_search_sql may hold (the values' text, roughly): a
#: query can make huge values out of nothing (``repeat('a', 10^8)``).
MAX_SQL_ANSWER_BYTES = 10 * 1024 * 1024


def _rows_within(cursor: Any, max_rows: int, max_bytes: int) -> tuple[list[Any], bool]:
    """Up to ``max_rows`` rows of ``cursor``, stopping before their values pass
    ``max_bytes``: (rows, whether the size stopped it)."""
    rows: list[Any] = []
    size = 0
    while len(rows) < max_rows:
        chunk = cursor.fetchmany(min(1000, max_rows - len(rows)))
        if not chunk:
            return rows, False
        for row in chunk:
            size += sum(len(v) if isinstance(v, str | bytes) else 16 for v in row)
            if size > max_bytes:
                return rows, True
            rows.append(row)
    return rows, False
