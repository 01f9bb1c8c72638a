"""Tabular files checked with Frictionless: a Table Schema inferred from a file, and every
problem of a file against its schema, with its row and column, in the reader's words.

Frictionless reads CSV, XLSX and JSON (an array of objects or of arrays) itself; a Parquet
file is read through DuckDB and handed over as rows. Nothing here writes to the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _

#: Frictionless field types a publisher may choose, with their labels.
FIELD_TYPES: dict[str, Any] = {
    "string": _("Text"),
    "integer": _("Whole number"),
    "number": _("Number"),
    "boolean": _("Yes or no"),
    "date": _("Date"),
    "datetime": _("Date and time"),
    "year": _("Year"),
    "yearmonth": _("Year and month"),
}

#: The most problems kept for one file: enough to fix a file, small enough to show.
MAX_ERRORS = 200

#: How many rows a schema is inferred from.
INFER_SAMPLE_ROWS = 10_000


class SchemaInvalid(ValueError):
    """A Table Schema that is not one (a publisher's upload or edit)."""


@dataclass
class Problem:
    """One problem of a file: where (1-based row of the file, header = row 1; column), and
    what, in words for the publisher."""

    row: int | None
    column: int | None
    field: str
    type: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "type": self.type,
            "message": self.message,
        }


@dataclass
class Outcome:
    valid: bool
    rows: int
    problems: list[Problem] = field(default_factory=list)
    truncated: bool = False


@contextmanager
def _frictionless() -> Iterator[Any]:
    """Frictionless with local paths allowed: the files are the platform's own copies in a
    temporary folder, never a path a client chose."""
    import frictionless

    with frictionless.system.use_context(trusted=True):
        yield frictionless


def _resource(path: Path, format_label: str, schema: dict[str, Any] | None) -> Any:
    with _frictionless() as fl:
        options: dict[str, Any] = {}
        if schema is not None:
            options["schema"] = fl.Schema.from_descriptor(schema)
        if format_label in {"Parquet", "JSON"}:
            return fl.Resource(data=_duckdb_rows(path, format_label), **options)
        fmt = {"CSV": "csv", "XLSX": "xlsx"}[format_label]
        return fl.Resource(path=str(path), format=fmt, **options)


def _duckdb_rows(path: Path, format_label: str) -> list[list[Any]]:
    """A Parquet file, or a JSON array of objects, as a header row and value rows
    (Frictionless reads neither without extra native packages; DuckDB reads both)."""
    import duckdb

    try:
        with duckdb.connect() as connection:
            if format_label == "Parquet":
                relation = connection.read_parquet(str(path))
            else:
                relation = connection.read_json(str(path), format="array")
            header = list(relation.columns)
            return [header, *[list(row) for row in relation.fetchall()]]
    except duckdb.Error as error:
        raise SchemaInvalid(
            _(
                "The file cannot be read as a table: a JSON file must be an array of "
                "objects, one per row."
            )
            if format_label == "JSON"
            else _("The file cannot be read as a table: it is not a Parquet file.")
        ) from error


def schema_check(schema: Any) -> dict[str, Any]:
    """``schema`` if it is a Table Schema Frictionless accepts; else :class:`SchemaInvalid`."""
    if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list):
        raise SchemaInvalid(_("A table schema is an object with a list of fields."))
    with _frictionless() as fl:
        try:
            checked = fl.Schema.from_descriptor(schema)
        except fl.FrictionlessException as error:
            raise SchemaInvalid(str(error.error.note or error)) from error
        names = [f.name for f in checked.fields]
        if len(set(names)) != len(names) or not all(names):
            raise SchemaInvalid(_("Every field of a table schema needs a different name."))
        for schema_field in checked.fields:
            if schema_field.type not in FIELD_TYPES:
                raise SchemaInvalid(
                    _("“%(type)s” is not a field type the platform reads.")
                    % {"type": schema_field.type}
                )
        result: dict[str, Any] = checked.to_dict()
        return result


def schema_infer(path: Path, format_label: str) -> dict[str, Any]:
    """A Table Schema inferred from the file's first rows: its header names, and the
    narrowest type each column's sample fits. Raises :class:`SchemaInvalid` when the file
    cannot be read as a table."""
    with _frictionless() as fl:
        try:
            resource = _resource(path, format_label, None)
            resource.infer(stats=False)
        except fl.FrictionlessException as error:
            raise SchemaInvalid(
                _("The file cannot be read as a table: %(reason)s")
                % {"reason": error.error.note or error.error.title}
            ) from error
        schema: dict[str, Any] = resource.schema.to_dict()
    for schema_field in schema.get("fields", []):
        if schema_field.get("type") not in FIELD_TYPES:
            schema_field["type"] = "string"
    return schema


_MESSAGES: dict[str, Any] = {
    "type-error": _("“%(cell)s” is not a %(type)s"),
    "constraint-error": _("“%(cell)s” breaks the rule “%(constraint)s”"),
    "missing-cell": _("the cell is missing: the row has fewer values than the header"),
    "extra-cell": _("the row has more values than the header"),
    "blank-row": _("the row is empty"),
    "unique-error": _("“%(cell)s” is already in an earlier row; this column must be unique"),
    "primary-key": _("the row's key is already in an earlier row"),
    "duplicate-label": _("two columns have the same heading"),
    "blank-label": _("a column has no heading"),
    "incorrect-label": _("the heading is not the schema's “%(field)s”"),
    "missing-label": _("the column “%(field)s” of the schema is missing"),
    "extra-label": _("the column is not in the schema"),
}

_TYPE_WORDS: dict[str, Any] = {
    "integer": _("whole number"),
    "number": _("number"),
    "boolean": _("yes or no value"),
    "date": _("date (YYYY-MM-DD)"),
    "datetime": _("date and time"),
    "year": _("year"),
    "yearmonth": _("year and month (YYYY-MM)"),
    "string": _("text"),
}


def _problem(error: Any, field_types: dict[str, str]) -> Problem:
    code = error.type
    field_name = getattr(error, "field_name", "") or getattr(error, "label", "") or ""
    cell = getattr(error, "cell", "")
    note = getattr(error, "note", "") or ""
    constraint = note.split('"')[1] if code == "constraint-error" and '"' in note else note
    template = _MESSAGES.get(code)
    if code == "constraint-error" and constraint == "required":
        template = _("this column needs a value in every row")
    if template is None:
        message = str(error.message)
    else:
        message = str(template) % {
            "cell": cell,
            "type": _TYPE_WORDS.get(field_types.get(field_name, ""), field_types.get(field_name)),
            "constraint": constraint,
            "field": field_name,
        }
    return Problem(
        row=getattr(error, "row_number", None),
        column=getattr(error, "field_number", None),
        field=field_name,
        type=code,
        message=message,
    )


def _one_per_cell(problems: list[Problem]) -> list[Problem]:
    """One problem per cell: a missing cell is also "required" to Frictionless; the
    structural problem says more, so the rule it breaks is dropped."""
    structural = {(p.row, p.column) for p in problems if p.type in {"missing-cell", "extra-cell"}}
    return [
        p
        for p in problems
        if p.type in {"missing-cell", "extra-cell"} or (p.row, p.column) not in structural
    ]


#: The longest column name a table may have (the DataStore's, as PostgreSQL's in CKAN).
MAX_NAME_LENGTH = 63


def _first_line_not_utf8(path: Path) -> int | None:
    """The line (1-based) where the file stops being UTF-8, or ``None`` when it is."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as source:
        for chunk in iter(lambda: source.read(1024 * 1024), b""):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                return line + chunk[: error.start].count(b"\n")
            line += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return line
    return None


def _file_problems(path: Path, format_label: str, names: list[str]) -> list[Problem]:
    """What would stop the DataStore loading a file that Frictionless accepts: a CSV file
    not in UTF-8 (Excel's "CSV" is often Windows-1252), a column called ``_id`` (CKAN's
    row number) or with a name that is too long."""
    problems: list[Problem] = []
    if format_label == "CSV" and (line := _first_line_not_utf8(path)) is not None:
        problems.append(
            Problem(
                line,
                None,
                "",
                "encoding-error",
                str(
                    _(
                        "the file is not in UTF-8 from this row on: save it as “CSV UTF-8” "
                        "(in Excel: Save As, then CSV UTF-8)"
                    )
                ),
            )
        )
    for column, name in enumerate(names, start=1):
        if name == "_id":
            problems.append(
                Problem(
                    1,
                    column,
                    name,
                    "reserved-label",
                    str(_("“_id” is reserved: CKAN numbers the rows with it; rename the column")),
                )
            )
        elif len(name) > MAX_NAME_LENGTH:
            problems.append(
                Problem(
                    1,
                    column,
                    name[:MAX_NAME_LENGTH],
                    "long-label",
                    str(
                        _("a column name has at most %(count)d characters")
                        % {"count": MAX_NAME_LENGTH}
                    ),
                )
            )
    return problems


#: How often (in rows) a long check reports how far it got.
PROGRESS_EVERY = 50_000


def _row_counter(progress: Callable[[int], None]) -> Any:
    """A Frictionless check that finds nothing and calls ``progress(rows checked)`` every
    :data:`PROGRESS_EVERY` rows: a check of millions of rows takes minutes."""
    import frictionless

    class RowCounter(frictionless.Check):
        type = "ecitizen-row-counter"

        def __init__(self) -> None:
            super().__init__()
            self.rows = 0

        def validate_row(self, row: Any) -> Iterator[Any]:
            self.rows += 1
            if self.rows % PROGRESS_EVERY == 0:
                progress(self.rows)
            yield from ()

    return RowCounter()


def file_validate(
    path: Path,
    format_label: str,
    schema: dict[str, Any],
    *,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Every problem of the file against ``schema`` (at most :data:`MAX_ERRORS`), and how
    many data rows it has. A file that cannot be read at all is one problem without a row.
    ``progress``, when given, is called with the rows checked so far as the check goes.
    """
    field_types = {f["name"]: f.get("type", "string") for f in schema.get("fields", [])}
    early = _file_problems(path, format_label, list(field_types))
    if early:
        return Outcome(valid=False, rows=0, problems=early)
    with _frictionless() as fl:
        try:
            resource = _resource(path, format_label, schema)
            checks = [_row_counter(progress)] if progress is not None else []
            report = resource.validate(
                checklist=fl.Checklist(checks=checks), limit_errors=MAX_ERRORS
            )
        except fl.FrictionlessException as error:
            return Outcome(
                valid=False,
                rows=0,
                problems=[Problem(None, None, "", "source-error", str(error.error.note or error))],
            )
        except SchemaInvalid as error:
            return Outcome(
                valid=False, rows=0, problems=[Problem(None, None, "", "source-error", str(error))]
            )
    task = report.tasks[0] if report.tasks else None
    errors = list(report.errors) + (list(task.errors) if task else [])
    problems = _one_per_cell([_problem(error, field_types) for error in errors])
    rows = int(task.stats.get("rows") or 0) if task else 0
    return Outcome(
        valid=report.valid,
        rows=rows,
        problems=problems[:MAX_ERRORS],
        truncated=len(problems) >= MAX_ERRORS,
    )
