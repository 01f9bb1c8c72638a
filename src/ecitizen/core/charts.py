"""Charts drawn on the server as SVG: lines against time (:func:`line_chart`), lines with
shaded intervals such as a forecast's 80% and 95% bands (:func:`band_chart`), horizontal
bars by category (:func:`bar_chart`), and the one sentence that says what a trend did
(:func:`trend_sentence`). No JavaScript, no library: the page is the chart.

Why our own few hundred lines rather than pygal or Vega-Lite (ADR 0018 records the choice):

- **The Content Security Policy stays strict.** Pages allow no inline ``<style>`` or
  ``<script>`` without the response's nonce, and no ``style`` attributes. pygal writes its
  look as an inline ``<style>`` sheet inside the SVG and links a tooltip script from a
  CDN; Vega-Lite is drawn by Vega in the browser (JavaScript), or on the server by
  vl-convert, which bundles a JavaScript runtime. Here every look is an SVG presentation
  attribute (``stroke``, ``stroke-dasharray``, ``fill-opacity``), which CSP does not
  govern.
- **Right to left is under our control.** Time runs left to right in every language: the
  SVG is ``dir="ltr"`` and ``direction="ltr"`` (the property SVG text obeys; without it an
  Arabic page's direction flips every ``text-anchor``), as charts in right-to-left
  publications usually keep it. The title, the key, the summary and the data table are
  HTML outside the SVG, so they follow the page's direction. Inside the SVG, a label in
  a right-to-left language is isolated in its own direction ("7 سبتمبر 2026" reads as
  written), and the time axis writes only as many labels as fit apart by their estimated
  widths (:func:`text_width`, generous, and wider for Arabic letters).
- **High contrast and forced colours work by construction.** Every stroke, fill and label
  is ``currentColor``: the chart takes the text colour of the display settings'
  high-contrast theme and of the operating system's forced colours. Nothing is told apart
  by colour: lines differ by dash pattern, bars and bands by fill (solid, hatched,
  outlined) and opacity, and the key draws the same swatches.
- **Page weight.** A chart is a few kilobytes of SVG (and compresses well), with no
  script, stylesheet or font to fetch, which keeps a dashboard of a dozen charts within
  the page-weight budget.

Accessibility: the SVG is an image for assistive technology (``role="img"``, named by its
``<title>``, described by its ``<desc>``, which gives the range of the values); the data
table that goes with every :class:`Chart` (``columns``, ``rows``) is its text alternative.
The chart keeps its size (640 pixels wide): on a narrow screen it scrolls sideways inside
its region rather than shrinking its text below reading size (a chart is two-dimensional
content, which WCAG 1.4.10 lets scroll).

Every text written into the SVG is escaped here; callers pass plain text.
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language_bidi, ngettext
from django.utils.translation import gettext as _

#: Most lines one chart draws (each needs a dash pattern of its own).
MAX_SERIES = 4
#: Dash patterns of the lines, in order (solid, dashed, dotted, dash-dot).
DASHES = ("", "8 5", "2 5", "12 4 2 4")
#: Fills of bars and bands, in order: solid, hatched, outlined (never told apart by colour).
FILLS = ("solid", "hatched", "outlined")
MAX_BAR_SERIES = len(FILLS)

WIDTH, HEIGHT = 640, 320
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 72, 24, 16, 44
#: Bar charts: the height of a category's label line and of one bar.
BAR_LABEL_HEIGHT, BAR_HEIGHT, BAR_GAP = 22, 18, 14
#: Room kept right of the longest bar for its value.
BAR_VALUE_ROOM = 112
#: Characters of a category's name written in the chart (the table has it whole).
BAR_LABEL_CHARACTERS = 70
#: The size of the charts' text, in pixels (the SVG's ``font-size``).
FONT_SIZE = 14
#: Most labels on the time axis, and the least room between two of them, in pixels.
MAX_TIME_TICKS = 5
TICK_LABEL_GAP = 12
#: Unicode's isolates: a label takes the direction of its first letter (right to left
#: for Arabic) within the left-to-right SVG.
FIRST_STRONG_ISOLATE, POP_DIRECTIONAL_ISOLATE = "\u2068", "\u2069"

Format = Callable[[float], str]


# --- numbers and points in time as people read them ---------------------------------------


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
    """A finite number from ``value`` (a number, or text or a ``Decimal`` holding one),
    else ``None`` (a boolean is not a number here)."""
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


def percent_label(value: float, places: int = 0) -> str:
    """A share (``0.823``) as a percentage in the active language (``82%``)."""
    number = round(float(value) * 100, places)
    text = str(formats.number_format(number, places, use_l10n=True, force_grouping=True))
    return _("%(number)s%%") % {"number": text}


def nice_ticks(low: float, high: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """About ``count`` round values (1, 2, 2.5 or 5 times a power of ten apart) covering
    ``low`` to ``high``.

    ``integer``: for counts, whole numbers only: no step below 1 and no step of 2.5 (nor
    0.25…): steps of 1, 2, 5, 10, 20, 25, 50… (no 2.5 cases, no half a case)."""
    if high < low:
        low, high = high, low
    if high == low:
        high = low + (abs(low) or 1)
    raw = (high - low) / count
    if integer:
        raw = max(raw, 1.0)
    power = 10 ** math.floor(math.log10(raw))
    step = next(
        m * power
        for m in (1, 2, 2.5, 5, 10)
        if m * power >= raw and not (integer and not float(m * power).is_integer())
    )
    value = math.floor(low / step) * step
    ticks = [round(value, 10)]
    while ticks[-1] < high - step * 1e-9:
        value += step
        ticks.append(round(value, 10))
    return ticks


# --- text as the chart draws it --------------------------------------------------------------

#: Widths of characters in ems, on the wide side of common sans-serif fonts (DejaVu Sans,
#: Arial, Noto Sans and their Arabic companions), so that labels judged apart are apart.
_NARROW_EM, _SPACE_EM, _LATIN_EM, _UPPER_EM, _ARABIC_EM, _WIDE_EM = 0.4, 0.36, 0.66, 0.78, 0.75, 1.0
_NARROW = frozenset(".,:;'|!()[]il")
_WIDE = frozenset("%@MWmw\u2014")


def _is_arabic(character: str) -> bool:
    code = ord(character)
    return (
        0x0600 <= code <= 0x08FF  # Arabic, Arabic Supplement, Arabic Extended-A
        or 0xFB50 <= code <= 0xFDFF  # presentation forms A
        or 0xFE70 <= code <= 0xFEFF  # presentation forms B
    )


def text_width(text: str, *, bold: bool = False, font_size: float = FONT_SIZE) -> float:
    """A generous estimate of the width of ``text`` in pixels, written at ``font_size``:
    what a browser draws is no wider with the usual fonts (Arabic letters are counted
    wider than Latin ones; marks and invisible direction controls count nothing)."""
    ems = 0.0
    for character in text:
        if unicodedata.combining(character) or unicodedata.category(character) == "Cf":
            continue
        if character == " ":
            ems += _SPACE_EM
        elif _is_arabic(character):
            ems += _ARABIC_EM
        elif character in _WIDE or unicodedata.east_asian_width(character) in ("W", "F"):
            ems += _WIDE_EM
        elif character in _NARROW:
            ems += _NARROW_EM
        elif character.isupper():
            ems += _UPPER_EM
        else:
            ems += _LATIN_EM
    return ems * font_size * (1.1 if bold else 1.0)


def _directed(text: str) -> str:
    """``text`` as the SVG writes it: in a right-to-left language, isolated to run in the
    direction of its first letter (the SVG runs left to right, which would write
    "7 سبتمبر 2026" in the wrong order; a name in Latin letters stays left to right),
    else as it is."""
    if text and get_language_bidi():
        return f"{FIRST_STRONG_ISOLATE}{text}{POP_DIRECTIONAL_ISOLATE}"
    return text


def _time_date(value: Any, kind: str) -> date | None:
    """The day (or the month's first day) of a point in time, else ``None``."""
    if kind == "yearmonth":
        number = time_value(value, kind)
        if number is None:
            return None
        year, month = divmod(int(number), 12)
        return date(year, month + 1, 1)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def tick_label(value: Any, kind: str, *, with_year: bool = True) -> str:
    """A point in time as the time axis writes it: a day as its day and month, with the
    year when ``with_year`` (the first label, and where the year changes); a month with
    its year; a year."""
    if kind in ("year", "yearmonth") or with_year:
        return time_label(value, kind)
    day = _time_date(value, kind)
    return str(value) if day is None else str(formats.date_format(day, "j M"))


def _label_extent(x: float, width: float, anchor: str) -> tuple[float, float]:
    if anchor == "start":
        return x, x + width
    if anchor == "end":
        return x - width, x
    return x - width / 2, x + width / 2


def labels_apart(placed: Sequence[tuple[float, str, str]], gap: float = TICK_LABEL_GAP) -> bool:
    """Whether labels (x, anchor, text), left to right, leave ``gap`` pixels between each
    other by their estimated widths (:func:`text_width`)."""
    extents = [_label_extent(x, text_width(text), anchor) for x, anchor, text in placed]
    return all(before[1] + gap <= after[0] for before, after in itertools.pairwise(extents))


# --- what a chart is ---------------------------------------------------------------------


def _swatch_line(dash: str) -> str:
    dash_attribute = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="2" y1="7" x2="38" y2="7" stroke="currentColor" stroke-width="2.5" '
        f'stroke-linecap="round"{dash_attribute}/>'
    )


def _hatch_lines(x: float, y: float, width: float, height: float) -> str:
    """Diagonal hatching clipped to a rectangle, drawn as plain lines (a key swatch needs
    no ``<pattern>`` and so no id that could clash on the page)."""
    lines = []
    step = 5.0
    offset = 0.0
    while offset < width + height:
        x1, y1 = x + max(0.0, offset - height), y + min(height, offset)
        x2, y2 = x + min(width, offset), y + max(0.0, offset - width)
        lines.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="currentColor" stroke-width="1.2"/>'
        )
        offset += step
    return "".join(lines)


def _swatch_fill(kind: str, fill: int) -> str:
    style = FILLS[fill % len(FILLS)]
    if kind == "band":
        # The outer band: light and edged with dots; the inner one: hatched over it.
        if fill == 0:
            return (
                '<rect x="1" y="1" width="38" height="12" fill="currentColor" '
                'fill-opacity="0.15" stroke="currentColor" stroke-dasharray="2 3"/>'
            )
        return (
            '<rect x="1" y="1" width="38" height="12" fill="currentColor" fill-opacity="0.15"/>'
            + _hatch_lines(1, 1, 38, 12)
        )
    if style == "solid":
        return (
            '<rect x="1" y="1" width="38" height="12" fill="currentColor" '
            'fill-opacity="0.85" stroke="currentColor"/>'
        )
    if style == "hatched":
        return _hatch_lines(1, 1, 38, 12) + (
            '<rect x="1" y="1" width="38" height="12" fill="none" stroke="currentColor"/>'
        )
    return (
        '<rect x="1.5" y="1.5" width="37" height="11" fill="none" stroke="currentColor" '
        'stroke-width="2"/>'
    )


@dataclass
class Series:
    """One thing a chart shows, as its key names it: a line (``dash``), a band or a set
    of bars (``fill``, an index into :data:`FILLS`)."""

    label: str
    values: list[float | None]
    dash: str = ""
    #: ``line``, ``band`` or ``bar``.
    kind: str = "line"
    fill: int = 0

    @property
    def swatch(self) -> SafeString:
        """The key's picture of the series: a small SVG, hidden from assistive technology
        (the label next to it says what it is)."""
        body = (
            _swatch_line(self.dash) if self.kind == "line" else _swatch_fill(self.kind, self.fill)
        )
        return mark_safe(  # noqa: S308 (fixed markup; the dash is one of DASHES)
            '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="14" viewBox="0 0 40 14" '
            f'aria-hidden="true" focusable="false">{body}</svg>'
        )


@dataclass
class Chart:
    """A chart ready to show: the SVG, and what the template shows around it."""

    svg: SafeString
    title: str
    series: list[Series] = field(default_factory=list)
    #: The rows of its data table: (time or category label, [value labels]).
    rows: list[tuple[str, list[str]]] = field(default_factory=list)
    #: The heading of the table's first column (the time, or what the categories are).
    time_label: str = ""
    #: The headings of the table's other columns (the series' labels, unless a band takes
    #: two columns).
    columns: list[str] = field(default_factory=list)


def _value_text(value: float | None, value_format: Format = number_label) -> str:
    return "" if value is None else value_format(value)


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


def _hatch_pattern(pattern_id: str, *, stroke_width: float, opacity: float) -> str:
    """Diagonal hatching in ``currentColor`` (a pattern's content takes its colour from
    the SVG it is defined in, so it follows the page's text colour)."""
    return (
        f'<defs><pattern id="{pattern_id}" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" '
        f'stroke="currentColor" stroke-width="{stroke_width}" stroke-opacity="{opacity}"/>'
        f"</pattern></defs>"
    )


def _svg_open(*, id_prefix: str, title: str, description: str, height: int = HEIGHT) -> list[str]:
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    return [
        f'<svg class="app-chart__svg" xmlns="http://www.w3.org/2000/svg" dir="ltr" direction="ltr" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'role="img" aria-labelledby="{title_id}" aria-describedby="{desc_id}" '
        f'font-size="{FONT_SIZE}" fill="currentColor">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(description)}</desc>',
    ]


class _TimeFrame:
    """The scales and axes of a chart of values against time."""

    def __init__(
        self, xs: Sequence[float], values: Sequence[float], *, integer: bool = False
    ) -> None:
        low, high = min(values), max(values)
        if low >= 0:
            low = 0.0  # amounts and counts are read against zero
        elif high <= 0:
            high = 0.0
        self.y_ticks = nice_ticks(low, high, integer=integer)
        self.y_min, self.y_max = self.y_ticks[0], self.y_ticks[-1]
        self.xs = list(xs)
        self.x_min, self.x_max = min(xs), max(xs)
        self.plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
        self.plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
        self.base = MARGIN_TOP + self.plot_h

    def sx(self, x: float) -> float:
        return MARGIN_LEFT + (x - self.x_min) / ((self.x_max - self.x_min) or 1) * self.plot_w

    def sy(self, y: float) -> float:
        return (
            MARGIN_TOP
            + self.plot_h
            - (y - self.y_min) / ((self.y_max - self.y_min) or 1) * (self.plot_h)
        )

    def value_axis(self, value_format: Format) -> list[str]:
        """Grid lines and labels of the values (the zero line stronger)."""
        parts = []
        for tick in self.y_ticks:
            y = self.sy(tick)
            parts.append(
                f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                f'stroke="currentColor" stroke-opacity="{0.6 if tick == 0 else 0.2}" '
                f'stroke-width="1"/>'
            )
            parts.append(
                f'<text x="{MARGIN_LEFT - 8}" y="{y:.1f}" text-anchor="end" '
                f'dominant-baseline="middle">{escape(value_format(tick))}</text>'
            )
        return parts

    def time_ticks(self, times: Sequence[Any], kind: str) -> list[tuple[float, str, str]]:
        """The labels of the time axis, (x, anchor, text) left to right: the first and the
        last point in time and evenly spaced ones between, as many (up to
        :data:`MAX_TIME_TICKS`) as leave :data:`TICK_LABEL_GAP` pixels between labels by
        their estimated widths. Days are written without their year, but for the first
        label and where the year changes ("3 Sep 2026", "17 Oct", … "11 Jan 2027")."""
        xs = self.xs
        placed: list[tuple[float, str, str]] = []
        for count in range(min(len(xs), MAX_TIME_TICKS), 1, -1):
            chosen = sorted({round(i * (len(xs) - 1) / (count - 1)) for i in range(count)})
            placed = []
            year = None
            for position, index in enumerate(chosen):
                day = _time_date(times[index], kind)
                this_year = day.year if day is not None else None
                text = tick_label(times[index], kind, with_year=this_year != year)
                year = this_year
                anchor = (
                    "start" if position == 0 else "end" if position == len(chosen) - 1 else "middle"
                )
                placed.append((self.sx(xs[index]), anchor, text))
            if labels_apart(placed):
                break
        return placed

    def time_axis(self, times: Sequence[Any], kind: str) -> list[str]:
        """The time axis under the plot (``times``: the point in time of every value, of
        ``kind`` as :func:`time_value` reads them), labelled by :meth:`time_ticks`."""
        base = self.base
        parts = [
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{base}" y2="{base}" '
            f'stroke="currentColor" stroke-width="1"/>'
        ]
        for x, anchor, text in self.time_ticks(times, kind):
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 5}" '
                f'stroke="currentColor" stroke-width="1"/>'
            )
            parts.append(
                f'<text x="{x:.1f}" y="{base + 22}" text-anchor="{anchor}">'
                f"{escape(_directed(text))}</text>"
            )
        return parts

    def band(
        self, runs: Sequence[Sequence[tuple[float, float, float]]], *, outer: bool, hatch_id: str
    ) -> list[str]:
        """A band's polygons over ``runs`` of (x, low, high): shaded lightly; the outer
        band's edges dotted (its extent shows without its shade), an inner band hatched
        (it shows darker where it lies over the outer one, and differs by more than
        shade)."""
        parts = []
        for run in runs:
            upper = " ".join(f"{self.sx(x):.1f},{self.sy(h):.1f}" for x, _lo, h in run)
            lower = " ".join(f"{self.sx(x):.1f},{self.sy(lo):.1f}" for x, lo, _h in run[::-1])
            outline = f"{upper} {lower}"
            parts.append(
                f'<polygon points="{outline}" fill="currentColor" fill-opacity="0.15" '
                f'stroke="none"/>'
            )
            if outer:
                parts += [
                    f'<polyline points="{edge}" fill="none" stroke="currentColor" '
                    f'stroke-width="1" stroke-dasharray="2 3"/>'
                    for edge in (upper, lower)
                ]
            else:
                parts.append(f'<polygon points="{outline}" fill="url(#{hatch_id})" stroke="none"/>')
        return parts

    def marker(self, x_value: float, label: str) -> list[str]:
        """A vertical line at a point in time, labelled at its top."""
        x = self.sx(x_value)
        parts = [
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{MARGIN_TOP}" y2="{self.base}" '
            f'stroke="currentColor" stroke-width="1.5" stroke-dasharray="6 3"/>'
        ]
        if label:
            parts.append(
                f'<text x="{x + 4:.1f}" y="{MARGIN_TOP + 12}" text-anchor="start">'
                f"{escape(_directed(label))}</text>"
            )
        return parts

    def lines(self, series: Sequence[Series]) -> list[str]:
        parts = []
        for item in series:
            dash = f' stroke-dasharray="{item.dash}"' if item.dash else ""
            for run in _points(self.xs, item.values, self.sx, self.sy):
                parts.append(
                    f'<polyline points="{run}" fill="none" stroke="currentColor" '
                    f'stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round"{dash}/>'
                )
        return parts


def _timed_rows(
    records: Sequence[Mapping[str, Any]], time_field: str, time_kind: str
) -> list[tuple[float, Mapping[str, Any]]] | None:
    """The records placed in time (those without a time left out), or ``None`` when fewer
    than two remain or a point in time repeats (several rows per date are not one
    series)."""
    timed = [(time_value(r.get(time_field), time_kind), r) for r in records]
    rows = [(x, r) for x, r in timed if x is not None]
    xs = [x for x, _r in rows]
    if len(xs) < 2 or len(set(xs)) != len(xs):
        return None
    return rows


# --- lines against time ------------------------------------------------------------------


def line_chart(
    *,
    records: Sequence[Mapping[str, Any]],
    time_field: str,
    time_kind: str,
    value_fields: Sequence[str],
    title: str,
    id_prefix: str,
    labels: Mapping[str, str] | None = None,
    value_format: Format | None = None,
    integer: bool = False,
) -> Chart | None:
    """A line chart of ``value_fields`` (up to :data:`MAX_SERIES`) against ``time_field``
    over ``records`` (sorted by time), or ``None`` when there is nothing to draw (fewer
    than two points in time, a point in time repeated, or no series with two numbers).

    ``time_kind``: ``date``, ``datetime``, ``yearmonth`` or ``year``. ``labels`` name the
    fields for people. ``value_format`` writes a value (the axis, the description and the
    table): :func:`number_label` by default, :func:`percent_label` for shares.
    ``integer``: the values are counts, read against whole numbers (:func:`nice_ticks`)."""
    labels = labels or {}
    value_format = value_format or number_label
    rows = _timed_rows(records, time_field, time_kind)
    if rows is None:
        return None
    xs = [x for x, _r in rows]
    series = [
        Series(
            label=labels.get(name, name),
            values=[number_value(r.get(name)) for _x, r in rows],
        )
        for name in value_fields[:MAX_SERIES]
    ]
    series = [s for s in series if sum(v is not None for v in s.values) >= 2]
    for index, item in enumerate(series):
        item.dash = DASHES[index]
    if not series:
        return None
    values = [v for s in series for v in s.values if v is not None]
    frame = _TimeFrame(xs, values, integer=integer)
    first, last = rows[0][1].get(time_field), rows[-1][1].get(time_field)
    description = _(
        "%(series)s from %(start)s to %(end)s, %(count)d points in time. "
        "Lowest value %(low)s, highest %(high)s. The table below gives every value."
    ) % {
        "series": ", ".join(s.label for s in series),
        "start": time_label(first, time_kind),
        "end": time_label(last, time_kind),
        "count": len(xs),
        "low": value_format(min(values)),
        "high": value_format(max(values)),
    }
    parts = _svg_open(id_prefix=id_prefix, title=title, description=description)
    parts += frame.value_axis(value_format)
    parts += frame.time_axis([r.get(time_field) for _x, r in rows], time_kind)
    parts += frame.lines(series)
    parts.append("</svg>")
    table_rows = [
        (
            time_label(r.get(time_field), time_kind),
            [_value_text(s.values[i], value_format) for s in series],
        )
        for i, (_x, r) in enumerate(rows)
    ]
    return Chart(
        svg=mark_safe("".join(parts)),  # noqa: S308 (every text in it is escaped above)
        title=title,
        series=series,
        rows=table_rows,
        time_label=labels.get(time_field, time_field),
        columns=[s.label for s in series],
    )


# --- lines with shaded intervals -----------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """An interval drawn as a shaded band between two fields of the records (the low and
    the high end of a forecast's 95% interval, say), named ``label`` in the key."""

    label: str
    low: str
    high: str


def _band_runs(
    xs: Sequence[float], lows: Sequence[float | None], highs: Sequence[float | None]
) -> list[list[tuple[float, float, float]]]:
    """Runs of points where both ends of the interval are known: (x, low, high)."""
    runs: list[list[tuple[float, float, float]]] = []
    current: list[tuple[float, float, float]] = []
    for x, low, high in zip(xs, lows, highs, strict=True):
        if low is None or high is None:
            if current:
                runs.append(current)
            current = []
            continue
        current.append((x, min(low, high), max(low, high)))
    if current:
        runs.append(current)
    return runs


def band_chart(
    *,
    records: Sequence[Mapping[str, Any]],
    time_field: str,
    time_kind: str,
    lines: Sequence[str],
    bands: Sequence[Band],
    title: str,
    id_prefix: str,
    labels: Mapping[str, str] | None = None,
    value_format: Format | None = None,
    marker: Any = None,
    marker_label: str = "",
    integer: bool = False,
) -> Chart | None:
    """Lines (``lines``: fields of the records, up to :data:`MAX_SERIES`; the first solid,
    the next dashed) over shaded bands (``bands``, outermost first: the outer one light and
    edged with dots, the next hatched over it), against ``time_field``; ``None`` when
    there is nothing to draw (as :func:`line_chart`).

    A forecast: the actuals and the forecast's mean as lines, the 95% and the 80%
    intervals as bands (``Band(_("95% interval"), "lo95", "hi95")`` first). ``marker``:
    a point in time marked by a vertical line labelled ``marker_label`` (where the
    forecast starts). The data table has a column per line and two per band (its low and
    high end). ``integer``: as :func:`line_chart`'s."""
    labels = labels or {}
    value_format = value_format or number_label
    rows = _timed_rows(records, time_field, time_kind)
    if rows is None:
        return None
    xs = [x for x, _r in rows]
    line_series = [
        Series(label=labels.get(name, name), values=[number_value(r.get(name)) for _x, r in rows])
        for name in lines[:MAX_SERIES]
    ]
    line_series = [s for s in line_series if any(v is not None for v in s.values)]
    for index, item in enumerate(line_series):
        item.dash = DASHES[index]
    band_values = [
        (
            band,
            [number_value(r.get(band.low)) for _x, r in rows],
            [number_value(r.get(band.high)) for _x, r in rows],
        )
        for band in bands[:2]
    ]
    band_values = [b for b in band_values if _band_runs(xs, b[1], b[2])]
    values = [v for s in line_series for v in s.values if v is not None]
    values += [v for _b, lows, highs in band_values for v in (*lows, *highs) if v is not None]
    if not values or (not line_series and not band_values):
        return None
    frame = _TimeFrame(xs, values, integer=integer)
    first, last = rows[0][1].get(time_field), rows[-1][1].get(time_field)
    described = [s.label for s in line_series] + [b.label for b, _l, _h in band_values]
    description = ngettext(
        "%(series)s from %(start)s to %(end)s, %(count)d point in time. "
        "Lowest value %(low)s, highest %(high)s. The table below gives every value.",
        "%(series)s from %(start)s to %(end)s, %(count)d points in time. "
        "Lowest value %(low)s, highest %(high)s. The table below gives every value.",
        len(xs),
    ) % {
        "series": ", ".join(described),
        "start": time_label(first, time_kind),
        "end": time_label(last, time_kind),
        "count": len(xs),
        "low": value_format(min(values)),
        "high": value_format(max(values)),
    }
    parts = _svg_open(id_prefix=id_prefix, title=title, description=description)
    hatch_id = f"{id_prefix}-hatch"
    parts.append(_hatch_pattern(hatch_id, stroke_width=1.5, opacity=0.7))
    parts += frame.value_axis(value_format)
    band_series: list[Series] = []
    for index, (band, lows, highs) in enumerate(band_values):
        parts += frame.band(_band_runs(xs, lows, highs), outer=index == 0, hatch_id=hatch_id)
        band_series.append(Series(label=band.label, values=[], kind="band", fill=index))
    if marker is not None and (marker_x := time_value(marker, time_kind)) is not None:
        parts += frame.marker(marker_x, marker_label)
    parts += frame.time_axis([r.get(time_field) for _x, r in rows], time_kind)
    parts += frame.lines(line_series)
    parts.append("</svg>")
    columns = [s.label for s in line_series]
    for band, _lows, _highs in band_values:
        columns += [
            _("%(band)s: low") % {"band": band.label},
            _("%(band)s: high") % {"band": band.label},
        ]
    table_rows = []
    for i, (_x, record) in enumerate(rows):
        cells = [_value_text(s.values[i], value_format) for s in line_series]
        for _band, lows, highs in band_values:
            cells += [_value_text(lows[i], value_format), _value_text(highs[i], value_format)]
        table_rows.append((time_label(record.get(time_field), time_kind), cells))
    return Chart(
        svg=mark_safe("".join(parts)),  # noqa: S308 (every text in it is escaped above)
        title=title,
        series=[*line_series, *band_series],
        rows=table_rows,
        time_label=labels.get(time_field, time_field),
        columns=columns,
    )


# --- bars by category ----------------------------------------------------------------------


def _bar(x: float, y: float, width: float, fill: int, hatch_id: str) -> str:
    style = FILLS[fill % len(FILLS)]
    if style == "solid":
        look = 'fill="currentColor" fill-opacity="0.85" stroke="currentColor"'
    elif style == "hatched":
        look = f'fill="url(#{hatch_id})" stroke="currentColor"'
    else:
        look = 'fill="none" stroke="currentColor" stroke-width="2"'
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width, 0.0):.1f}" height="{BAR_HEIGHT}" '
        f"{look}/>"
    )


def _open_segments(
    top: float, bottom: float, blocked: Sequence[tuple[float, float]], shortest: float = 6
) -> list[tuple[float, float]]:
    """The stretches of ``top``..``bottom`` outside the ``blocked`` ones, those shorter
    than ``shortest`` left out (a stub of a grid line reads as a mark)."""
    segments = []
    start = top
    for low, high in sorted(blocked):
        if low > start:
            segments.append((start, min(low, bottom)))
        start = max(start, high)
    if start < bottom:
        segments.append((start, bottom))
    return [(a, b) for a, b in segments if b - a >= shortest]


def _grid_line(
    x: float, top: float, bottom: float, *, taken: Sequence[float], axis: bool
) -> list[str]:
    """A bar chart's vertical grid line at ``x`` beside a category's bars (from ``top``,
    2 pixels above the first bar, to ``bottom``), broken where a bar and its text reach
    it (``taken``: how far right each bar's row is drawn). ``axis``: the zero line,
    stronger and whole."""
    blocked = []
    if not axis:
        for index, right in enumerate(taken):
            bar_y = top + 2 + index * BAR_HEIGHT
            if x <= right:
                blocked.append((bar_y - 1, bar_y + BAR_HEIGHT + 1))
    return [
        f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y1:g}" y2="{y2:g}" '
        f'stroke="currentColor" stroke-opacity="{0.6 if axis else 0.2}" stroke-width="1"/>'
        for y1, y2 in _open_segments(top, bottom, blocked)
    ]


def _shortened(text: str, limit: int = BAR_LABEL_CHARACTERS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _bars_description(
    *,
    categories: Sequence[str],
    labels: Sequence[str],
    cleaned: Sequence[Sequence[float | None]],
    category_label: str,
    value_format: Format,
) -> str:
    """The ``<desc>`` of a bar chart: what it shows, how many rows, the highest value."""
    values_known = [
        (categories[p], v) for values in cleaned for p, v in enumerate(values) if v is not None
    ]
    description_values = {
        "series": ", ".join(labels),
        "category": category_label,
        "count": len(categories),
    }
    if values_known:
        top_item = max(values_known, key=lambda item: item[1])
        description = ngettext(
            "%(series)s by %(category)s, %(count)d row. Highest: %(top)s, %(value)s. "
            "The table below gives every value.",
            "%(series)s by %(category)s, %(count)d rows. Highest: %(top)s, %(value)s. "
            "The table below gives every value.",
            len(categories),
        ) % {**description_values, "top": top_item[0], "value": value_format(top_item[1])}
    else:
        description = (
            ngettext(
                "%(series)s by %(category)s, %(count)d row, none with a value to draw. "
                "The table below says why.",
                "%(series)s by %(category)s, %(count)d rows, none with a value to draw. "
                "The table below says why.",
                len(categories),
            )
            % description_values
        )
    return description


def bar_chart(
    *,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    title: str,
    id_prefix: str,
    category_label: str,
    value_format: Format | None = None,
    texts: Sequence[Sequence[str | None]] | None = None,
    max_value: float | None = None,
    integer: bool | None = None,
) -> Chart | None:
    """Horizontal bars: for each of ``categories`` (a ward, an age band), one bar per
    series (``(label, values)``, up to :data:`MAX_BAR_SERIES`, told apart by fill), its
    value written at its end. ``None`` when no value is known and no ``texts`` say why.

    A value of ``None`` draws no bar; its text is ``texts[series][category]`` when given
    (``"fewer than 5"`` for a count too small to show), else a dash. ``texts`` also
    replaces the written value of known ones (``"83% (41 of 49)"``). The bars start at
    zero; the axis runs to ``max_value`` when given (``1`` for shares), else to a round
    number above the largest value. Negative values count as zero. ``integer``: the
    axis is of whole numbers (counts: :func:`nice_ticks`); ``None``: when every value is
    a whole number and no ``max_value`` is given.

    Each category's name is written above its bars (so a long name is not squeezed
    beside them); the table has the same rows. The grid lines are drawn first and stop
    short of the bars and of the text written after them."""
    value_format = value_format or number_label
    series = list(series)[:MAX_BAR_SERIES]
    if not categories or not series:
        return None
    cleaned = [[number_value(v) for v in values] for _label, values in series]
    known = [v for values in cleaned for v in values if v is not None]
    if not known and texts is None:
        return None

    def text_of(index: int, position: int) -> str:
        given = texts[index][position] if texts is not None else None
        if given is not None:
            return given
        value = cleaned[index][position]
        return "\N{EN DASH}" if value is None else value_format(value)

    if integer is None:
        integer = max_value is None and all(v.is_integer() for v in known)
    top = max_value if max_value is not None else max([*known, 0.0])
    ticks = nice_ticks(0.0, top or 1.0, integer=integer)
    if max_value is not None:
        ticks = [t for t in ticks if t <= max_value + 1e-9]
        if ticks[-1] < max_value:
            ticks.append(max_value)
    scale_max = ticks[-1]
    left = 16
    plot_w = WIDTH - left - BAR_VALUE_ROOM
    group = BAR_LABEL_HEIGHT + len(series) * BAR_HEIGHT + BAR_GAP
    height = MARGIN_TOP + len(categories) * group + 36
    base = MARGIN_TOP + len(categories) * group

    def sx(value: float) -> float:
        return left + max(value, 0.0) / (scale_max or 1) * plot_w

    def bar_end(index: int, position: int) -> float:
        value = cleaned[index][position]
        return float(left) if value is None else sx(value)

    description = _bars_description(
        categories=categories,
        labels=[label for label, _values in series],
        cleaned=cleaned,
        category_label=category_label,
        value_format=value_format,
    )
    hatch_id = f"{id_prefix}-hatch"
    parts = _svg_open(id_prefix=id_prefix, title=title, description=description, height=height)
    parts.append(_hatch_pattern(hatch_id, stroke_width=2, opacity=1))
    # Vertical grid lines at round values beside each category's bars (not through its
    # name above them), labelled under the last; drawn before the bars, and stopping
    # short of each bar and of the text after it (a hatched or outlined bar would show a
    # line through it, and a line through "fewer than 5" would cross it out).
    bars_height = len(series) * BAR_HEIGHT
    for tick in ticks:
        x = sx(tick)
        for position in range(len(categories)):
            top = MARGIN_TOP + position * group + BAR_LABEL_HEIGHT - 2
            bottom = base if position == len(categories) - 1 else top + bars_height + 4
            taken = [
                bar_end(index, position) + 6 + text_width(text_of(index, position)) + 4
                for index in range(len(series))
            ]
            parts += _grid_line(x, top, bottom, taken=taken, axis=tick == 0)
        anchor = "start" if tick == ticks[0] else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{base + 22}" text-anchor="{anchor}">'
            f"{escape(value_format(tick))}</text>"
        )
    for position, category in enumerate(categories):
        y = MARGIN_TOP + position * group
        parts.append(
            f'<text x="{left}" y="{y + 15}" text-anchor="start" font-weight="bold">'
            f"{escape(_directed(_shortened(category)))}</text>"
        )
        for index in range(len(series)):
            bar_y = y + BAR_LABEL_HEIGHT + index * BAR_HEIGHT
            value = cleaned[index][position]
            if value is not None:
                parts.append(_bar(left, bar_y, sx(value) - left, index, hatch_id))
            parts.append(
                f'<text x="{bar_end(index, position) + 6:.1f}" y="{bar_y + BAR_HEIGHT / 2:.1f}" '
                f'text-anchor="start" dominant-baseline="middle">'
                f"{escape(_directed(text_of(index, position)))}</text>"
            )
    parts.append("</svg>")
    return Chart(
        svg=mark_safe("".join(parts)),  # noqa: S308 (every text in it is escaped above)
        title=title,
        series=[
            Series(label=label, values=cleaned[index], kind="bar", fill=index)
            for index, (label, _values) in enumerate(series)
        ],
        rows=[
            (category, [text_of(index, position) for index in range(len(series))])
            for position, category in enumerate(categories)
        ],
        time_label=category_label,
        columns=[label for label, _values in series],
    )


# --- what a trend did, in one sentence ---------------------------------------------------

#: Changes smaller than these read as "about the same": half a percent (of a count or an
#: amount), half a percentage point (of a share).
STEADY_PERCENT = 0.5
STEADY_POINTS = 0.5


def _sentences(against: str) -> dict[str, str]:
    """The sentences of :func:`trend_sentence`, whole (a translator sees each one)."""
    if against == "year":
        return {
            "rose": _(
                "%(what)s rose %(change)s on the same month last year, from %(before)s to %(now)s."
            ),
            "fell": _(
                "%(what)s fell %(change)s on the same month last year, from %(before)s to %(now)s."
            ),
            "same": _("%(what)s was about the same as in the same month last year: %(now)s."),
            "moved": _("%(what)s went from %(before)s in the same month last year to %(now)s."),
            "no_before": _(
                "%(what)s: %(now)s; there is no figure for the same month last year "
                "to compare with."
            ),
            "none": _("%(what)s: none this month, and none in the same month last year."),
        }
    return {
        "rose": _("%(what)s rose %(change)s on last month, from %(before)s to %(now)s."),
        "fell": _("%(what)s fell %(change)s on last month, from %(before)s to %(now)s."),
        "same": _("%(what)s was about the same as last month: %(now)s."),
        "moved": _("%(what)s went from %(before)s last month to %(now)s."),
        "no_before": _("%(what)s: %(now)s; there is no figure for last month to compare with."),
        "none": _("%(what)s: none this month, and none last month."),
    }


def _points_change(what: str, change: float, against: str, before: str, now: str) -> str:
    points = round(abs(change) * 100)
    values = {"what": what, "points": points, "before": before, "now": now}
    if against == "year":
        if change > 0:
            return (
                ngettext(
                    "%(what)s rose %(points)d percentage point on the same month last year, "
                    "from %(before)s to %(now)s.",
                    "%(what)s rose %(points)d percentage points on the same month last year, "
                    "from %(before)s to %(now)s.",
                    points,
                )
                % values
            )
        return (
            ngettext(
                "%(what)s fell %(points)d percentage point on the same month last year, "
                "from %(before)s to %(now)s.",
                "%(what)s fell %(points)d percentage points on the same month last year, "
                "from %(before)s to %(now)s.",
                points,
            )
            % values
        )
    if change > 0:
        return (
            ngettext(
                "%(what)s rose %(points)d percentage point on last month, "
                "from %(before)s to %(now)s.",
                "%(what)s rose %(points)d percentage points on last month, "
                "from %(before)s to %(now)s.",
                points,
            )
            % values
        )
    return (
        ngettext(
            "%(what)s fell %(points)d percentage point on last month, from %(before)s to %(now)s.",
            "%(what)s fell %(points)d percentage points on last month, from %(before)s to %(now)s.",
            points,
        )
        % values
    )


def _from_zero(what: str, count: int, against: str, now: str) -> str:
    """A rise from nothing has no percentage: the sentence says so, in words. ``count``
    chooses the plural form (the number written is ``now``)."""
    values = {"what": what, "now": now}
    if against == "year":
        return (
            ngettext(
                "%(what)s rose from none in the same month last year to %(now)s.",
                "%(what)s rose from none in the same month last year to %(now)s.",
                count,
            )
            % values
        )
    return (
        ngettext(
            "%(what)s rose from none last month to %(now)s.",
            "%(what)s rose from none last month to %(now)s.",
            count,
        )
        % values
    )


def trend_sentence(  # noqa: PLR0911 (one sentence per case)
    *,
    what: str,
    current: Any,
    previous: Any,
    kind: str = "count",
    against: str = "month",
    value_format: Format | None = None,
) -> str:
    """One sentence saying how a figure moved: "Applications rose 12% on last month,
    from 150 to 168." (``against="year"``: on the same month last year), in the active
    language. ``what`` names the figure, with a capital (it starts the sentence).

    ``kind``: ``count`` or ``amount`` (the change as a percentage of the earlier value),
    or ``rate`` (a share 0..1: the change in percentage points; written as percentages).
    ``value_format`` writes the values (default: :func:`percent_label` for a rate,
    :func:`number_label` otherwise). Handles what is missing: no figure this month, none
    to compare with, a rise from zero (no percentage of nothing), both zero."""
    value_format = value_format or (percent_label if kind == "rate" else number_label)
    now_value, before_value = number_value(current), number_value(previous)
    if now_value is None:
        return _("%(what)s: there is no figure for this month yet.") % {"what": what}
    now = value_format(now_value)
    sentences = _sentences(against)
    if before_value is None:
        return sentences["no_before"] % {"what": what, "now": now}
    before = value_format(before_value)
    if kind == "rate":
        points = now_value - before_value
        if abs(points) * 100 < STEADY_POINTS:
            return sentences["same"] % {"what": what, "now": now}
        return _points_change(what, points, against, before, now)
    if before_value == 0:
        if now_value == 0:
            return sentences["none"] % {"what": what}
        if now_value < 0:
            return sentences["moved"] % {"what": what, "before": before, "now": now}
        count = int(now_value) if kind == "count" and now_value.is_integer() else 2
        return _from_zero(what, count, against, now)
    percent = (now_value - before_value) / abs(before_value) * 100
    if abs(percent) < STEADY_PERCENT:
        return sentences["same"] % {"what": what, "now": now}
    places = 0 if abs(percent) >= 10 else 1  # 12%, but 3.5%
    change = _("%(number)s%%") % {
        "number": formats.number_format(
            round(abs(percent), places), places, use_l10n=True, force_grouping=True
        )
    }
    key = "rose" if percent > 0 else "fell"
    return sentences[key] % {"what": what, "change": change, "before": before, "now": now}
