"""Line charts of time series, drawn on the server as SVG (no JavaScript, no library).

A tabular resource is a time series when its Table Schema has a date-like field (``date``,
``datetime``, ``year``, ``yearmonth``) and at least one number (``integer``, ``number``):
:func:`time_series_fields`. :func:`line_chart` draws up to four series against time. A
table with several rows per point in time (one per monitoring site, say) is one series
per value of a text column when there are few (:func:`series_by_category`).

The SVG is an image for assistive technology (``role="img"``, named by its ``<title>``,
described by its ``<desc>``); the data table next to it is its text alternative. Every
stroke and label is ``currentColor`` (series differ by dash pattern, never by colour
alone), so the chart follows the text colour of the display settings' high-contrast theme
and of the operating system's forced colours.

Time runs left to right in every language: the SVG is ``dir="ltr"`` and
``direction="ltr"`` (the attribute SVG text obeys; without it an Arabic page's direction
flips every ``text-anchor``), as charts in right-to-left publications usually keep it.
The title and the key are HTML outside the SVG, so they follow the page's direction.

The chart keeps its size (640 by 320): on a narrow screen it scrolls sideways inside its
region rather than shrinking its text below reading size (a chart is two-dimensional
content, which WCAG 1.4.10 lets scroll).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

#: Table Schema types that place a row in time, and those that can be plotted.
TIME_TYPES = ("date", "datetime", "yearmonth", "year")
NUMBER_TYPES = ("integer", "number")
MAX_SERIES = 4
#: Dash patterns of the series, in order (solid, dashed, dotted, dash-dot).
DASHES = ("", "8 5", "2 5", "12 4 2 4")

WIDTH, HEIGHT = 640, 320
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 72, 24, 16, 44


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


def time_value(value: Any, kind: str) -> float | None:  # noqa: PLR0911 (one per kind)
    """A point in time as a number (days, or months for ``yearmonth``, or years for
    ``year``) so that gaps in the series show as gaps; ``None`` when it is not one."""
    if value is None or value == "":
        return None
    try:
        if kind == "year":
            return float(int(str(value)[:4]))
        if kind == "yearmonth":
            if isinstance(value, date):
                return float(value.year * 12 + value.month - 1)
            text = str(value)
            return float(int(text[:4]) * 12 + int(text[5:7]) - 1)
        if isinstance(value, datetime):
            return value.timestamp() / 86400
        if isinstance(value, date):
            return float(value.toordinal())
        text = str(value)
        if len(text) > 10:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() / 86400
        return float(date.fromisoformat(text).toordinal())
    except (TypeError, ValueError):
        return None


def time_label(value: Any, kind: str) -> str:  # noqa: PLR0911 (one per kind of time)
    """A point in time as people read it, in the active language."""
    if kind == "year":
        return str(value)[:4]
    if kind == "yearmonth":
        number = time_value(value, kind)
        if number is None:
            return str(value)
        year, month = divmod(int(number), 12)
        return str(formats.date_format(date(year, month + 1, 1), "M Y"))
    if isinstance(value, datetime):
        return str(formats.date_format(value.date(), "j M Y"))
    if isinstance(value, date):
        return str(formats.date_format(value, "j M Y"))
    try:
        return str(formats.date_format(date.fromisoformat(str(value)[:10]), "j M Y"))
    except ValueError:
        return str(value)


def number_value(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def number_label(value: float) -> str:
    """A number as people read it in the active language (grouped digits, as many
    decimals as it has, up to six)."""
    value = round(float(value), 6)
    text = repr(value)
    places = 0 if value.is_integer() or "e" in text else len(text.split(".")[1])
    return str(formats.number_format(value, places, use_l10n=True, force_grouping=True))


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values (1, 2, 2.5 or 5 times a power of ten apart) covering
    ``low`` to ``high``."""
    if high < low:
        low, high = high, low
    if high == low:
        high = low + (abs(low) or 1)
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    value = math.floor(low / step) * step
    ticks = [round(value, 10)]
    while ticks[-1] < high - step * 1e-9:
        value += step
        ticks.append(round(value, 10))
    return ticks


@dataclass
class Series:
    label: str
    values: list[float | None]
    dash: str = ""


@dataclass
class Chart:
    """A chart ready to show: the SVG, and what the template shows around it."""

    svg: SafeString
    title: str
    series: list[Series] = field(default_factory=list)
    #: The rows of its data table: (time label, [value labels]).
    rows: list[tuple[str, list[str]]] = field(default_factory=list)
    time_label: str = ""


def _value_text(value: float | None) -> str:
    return "" if value is None else number_label(value)


def _points(xs: Sequence[float], ys: Sequence[float | None], sx: Any, sy: Any) -> list[str]:
    """Polyline runs of a series: a missing value breaks the line."""
    runs: list[str] = []
    current: list[str] = []
    for x, y in zip(xs, ys, strict=True):
        if y is None:
            if current:
                runs.append(" ".join(current))
            current = []
            continue
        current.append(f"{sx(x):.1f},{sy(y):.1f}")
    if current:
        runs.append(" ".join(current))
    return runs


def line_chart(
    *,
    records: Sequence[Mapping[str, Any]],
    time_field: str,
    time_kind: str,
    value_fields: Sequence[str],
    title: str,
    id_prefix: str,
    labels: Mapping[str, str] | None = None,
) -> Chart | None:
    """A line chart of ``value_fields`` against ``time_field`` over ``records`` (sorted by
    time), or ``None`` when there is nothing to draw (fewer than two points in time, a
    point in time repeated — several rows per date are not one series — or no numbers)."""
    labels = labels or {}
    timed = [(time_value(r.get(time_field), time_kind), r) for r in records]
    rows = [(x, r) for x, r in timed if x is not None]
    xs = [x for x, _r in rows]
    if len(xs) < 2 or len(set(xs)) != len(xs):
        return None
    series = [
        Series(
            label=labels.get(name, name),
            values=[number_value(r.get(name)) for _x, r in rows],
            dash=DASHES[index],
        )
        for index, name in enumerate(value_fields[:MAX_SERIES])
    ]
    series = [s for s in series if sum(v is not None for v in s.values) >= 2]
    for index, item in enumerate(series):
        item.dash = DASHES[index]
    if not series:
        return None
    values = [v for s in series for v in s.values if v is not None]
    low, high = min(values), max(values)
    if low >= 0:
        low = 0.0  # amounts and counts are read against zero
    elif high <= 0:
        high = 0.0
    y_ticks = nice_ticks(low, high)
    y_min, y_max = y_ticks[0], y_ticks[-1]
    x_min, x_max = min(xs), max(xs)
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def sx(x: float) -> float:
        return MARGIN_LEFT + (x - x_min) / (x_max - x_min) * plot_w

    def sy(y: float) -> float:
        return MARGIN_TOP + plot_h - (y - y_min) / ((y_max - y_min) or 1) * plot_h

    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    first, last = rows[0][1].get(time_field), rows[-1][1].get(time_field)
    description = _(
        "%(series)s from %(start)s to %(end)s, %(count)d points in time. "
        "Lowest value %(low)s, highest %(high)s. The table below gives every value."
    ) % {
        "series": ", ".join(s.label for s in series),
        "start": time_label(first, time_kind),
        "end": time_label(last, time_kind),
        "count": len(xs),
        "low": number_label(min(values)),
        "high": number_label(max(values)),
    }
    parts = [
        f'<svg class="app-chart__svg" xmlns="http://www.w3.org/2000/svg" dir="ltr" direction="ltr" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-labelledby="{title_id}" aria-describedby="{desc_id}" '
        f'font-size="14" fill="currentColor">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(description)}</desc>',
    ]
    # The value axis: grid lines and labels.
    for tick in y_ticks:
        y = sy(tick)
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="currentColor" stroke-opacity="{0.6 if tick == 0 else 0.2}" '
            f'stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{MARGIN_LEFT - 8}" y="{y:.1f}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(number_label(tick))}</text>'
        )
    # The time axis: the first and last points in time and a few between, evenly spaced.
    tick_count = min(len(xs), 5)
    chosen = sorted({round(i * (len(xs) - 1) / max(tick_count - 1, 1)) for i in range(tick_count)})
    base = MARGIN_TOP + plot_h
    parts.append(
        f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{base}" y2="{base}" '
        f'stroke="currentColor" stroke-width="1"/>'
    )
    for position, index in enumerate(chosen):
        x = sx(xs[index])
        anchor = "start" if position == 0 else "end" if position == len(chosen) - 1 else "middle"
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 5}" '
            f'stroke="currentColor" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{base + 22}" text-anchor="{anchor}">'
            f"{escape(time_label(rows[index][1].get(time_field), time_kind))}</text>"
        )
    for item in series:
        dash = f' stroke-dasharray="{item.dash}"' if item.dash else ""
        for run in _points(xs, item.values, sx, sy):
            parts.append(
                f'<polyline points="{run}" fill="none" stroke="currentColor" stroke-width="2.5" '
                f'stroke-linejoin="round" stroke-linecap="round"{dash}/>'
            )
    parts.append("</svg>")
    table_rows = [
        (
            time_label(r.get(time_field), time_kind),
            [_value_text(s.values[i]) for s in series],
        )
        for i, (_x, r) in enumerate(rows)
    ]
    return Chart(
        svg=mark_safe("".join(parts)),  # noqa: S308 (every text in it is escaped above)
        title=title,
        series=series,
        rows=table_rows,
        time_label=labels.get(time_field, time_field),
    )
