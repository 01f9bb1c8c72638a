"""Which open-data tables are time series, and how to chart them: the Table Schema side of
the dataset and resource pages' charts. The drawing (accessible SVG, ``currentColor``,
``dir="ltr"``, a data table as its alternative) is :mod:`ecitizen.core.charts`, shared
with the performance dashboards; its names used here are re-exported for this app's
callers.

A tabular resource is a time series when its Table Schema has a date-like field (``date``,
``datetime``, ``year``, ``yearmonth``) and at least one number (``integer``, ``number``):
:func:`time_series_fields`. :func:`~ecitizen.core.charts.line_chart` draws up to four
series against time. A table with several rows per point in time (one per monitoring
site, say) is one series per value of a text column when there are few
(:func:`series_by_category`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ecitizen.core.charts import (
    MAX_SERIES,
    Chart,
    Series,
    line_chart,
    nice_ticks,
)

__all__ = [
    "MAX_SERIES",
    "NUMBER_TYPES",
    "TIME_TYPES",
    "Chart",
    "Series",
    "line_chart",
    "nice_ticks",
    "series_by_category",
    "text_fields",
    "time_series_fields",
]

#: Table Schema types that place a row in time, and those that can be plotted.
TIME_TYPES = ("date", "datetime", "yearmonth", "year")
NUMBER_TYPES = ("integer", "number")


def time_series_fields(schema: Mapping[str, Any] | None) -> tuple[str, str, list[str]] | None:
    """``(time field, its type, [numeric fields])`` of a Table Schema that describes a time
    series (at most :data:`MAX_SERIES` numbers), else ``None``."""
    if not schema:
        return None
    fields = [f for f in schema.get("fields", []) if isinstance(f, Mapping) and f.get("name")]
    time = next((f for f in fields if f.get("type") in TIME_TYPES), None)
    numbers = [str(f["name"]) for f in fields if f.get("type") in NUMBER_TYPES]
    if time is None or not numbers:
        return None
    return str(time["name"]), str(time["type"]), numbers[:MAX_SERIES]


def text_fields(schema: Mapping[str, Any] | None) -> list[str]:
    """The names of the schema's text fields (candidates to split a table into series)."""
    return [
        str(f["name"])
        for f in (schema or {}).get("fields", [])
        if isinstance(f, Mapping) and f.get("name") and f.get("type", "string") == "string"
    ]


def series_by_category(
    records: Sequence[Mapping[str, Any]],
    *,
    time_field: str,
    category_field: str,
    value_field: str,
) -> tuple[list[dict[str, Any]], list[str]] | None:
    """Rows with several values per point in time as one row per point in time and one
    column per value of ``category_field`` (``value_field``'s numbers): ``(rows, the
    categories)``. ``None`` when that does not make series: more than :data:`MAX_SERIES`
    categories, or one category twice at the same time. ``records`` are in time order."""
    categories: list[str] = []
    pivoted: dict[Any, dict[str, Any]] = {}
    for record in records:
        category = str(record.get(category_field) or "")
        if not category:
            return None
        if category not in categories:
            categories.append(category)
            if len(categories) > MAX_SERIES:
                return None
        row = pivoted.setdefault(record.get(time_field), {time_field: record.get(time_field)})
        if category in row:
            return None
        row[category] = record.get(value_field)
    if len(categories) < 2:
        return None
    return list(pivoted.values()), categories
