"""The shared SVG charts: bars, bands, lines, and the trend sentence, with known answers."""

from __future__ import annotations

import itertools
import re
from datetime import date

from django.utils import translation

from ecitizen.core import charts


def _count(svg: str, tag: str) -> int:
    return len(re.findall(rf"<{tag}\b", svg))


def _axis_labels(svg: str, *, base: int) -> list[str]:
    """The labels under a chart's plot (written 22 px below its ``base``)."""
    return re.findall(rf'<text x="[\d.]+" y="{base + 22}" text-anchor="\w+">([^<]*)</text>', svg)


def _number(text: str) -> float:
    return float(re.sub(r"[^\d.]", "", text))


# --- bars ------------------------------------------------------------------------------------


def test_bars_are_drawn_to_scale_with_their_values_written_and_a_suppressed_one_left_out():
    chart = charts.bar_chart(
        categories=["North <ward>", "South"],
        series=[("Decided within the target", [0.9, None])],
        texts=[[None, "fewer than 5"]],
        title="Within target by ward",
        id_prefix="sla",
        category_label="Ward",
        value_format=charts.percent_label,
        max_value=1,
    )
    assert chart is not None
    svg = str(chart.svg)
    # Plot: 16 px in, 640 - 16 - 112 = 512 px wide; 0.9 of it is 460.8 px.
    assert _count(svg, "rect") == 1
    assert 'width="460.8"' in svg
    # Two categories of one bar: 16 + 2 * (22 + 18 + 14) + 36 = 160 px high.
    assert 'height="160"' in svg
    assert "<text" in svg
    assert "90%" in svg
    assert "fewer than 5" in svg
    assert "North &lt;ward&gt;" in svg  # escaped
    # The axis runs to 100% in steps of 20%.
    assert [f"{n}%" for n in (0, 20, 40, 60, 80, 100)] == re.findall(r">(\d+%)</text>", svg)[:6]
    assert 'role="img"' in svg
    assert 'aria-labelledby="sla-title"' in svg
    assert 'dir="ltr"' in svg
    assert 'direction="ltr"' in svg
    assert "style" not in svg  # presentation attributes only: nothing CSP governs
    assert chart.rows == [("North <ward>", ["90%"]), ("South", ["fewer than 5"])]
    assert chart.columns == ["Decided within the target"]
    assert chart.time_label == "Ward"
    assert "Highest: North <ward>, 90%." in svg.replace("&lt;", "<").replace("&gt;", ">")


def test_bar_series_differ_by_fill_not_colour():
    chart = charts.bar_chart(
        categories=["0-5", "6-10", "21+"],
        series=[("Open", [12, 7, 0]), ("Overdue", [1, 3, 0])],
        title="Backlog by age",
        id_prefix="age",
        category_label="Working days",
    )
    svg = str(chart.svg)
    # Six bars (a zero is a bar of no width), solid then hatched.
    assert _count(svg, "rect") == 6
    assert svg.count('fill-opacity="0.85"') == 3
    assert svg.count('fill="url(#age-hatch)"') == 3
    assert '<pattern id="age-hatch"' in svg
    # Counts: a whole-number axis, 0 to 15 in steps of 5 over 512 px: 12 is 409.6 px long.
    assert 'width="409.6"' in svg
    assert _axis_labels(svg, base=268 - 36) == ["0", "5", "10", "15"]
    assert chart.rows == [("0-5", ["12", "1"]), ("6-10", ["7", "3"]), ("21+", ["0", "0"])]
    assert [s.kind for s in chart.series] == ["bar", "bar"]
    assert "fill-opacity" in str(chart.series[0].swatch)
    assert "<line" in str(chart.series[1].swatch)  # hatching drawn as lines: no id
    assert "id=" not in str(chart.series[1].swatch)


def test_bars_whose_every_value_is_withheld_still_say_why():
    chart = charts.bar_chart(
        categories=["North", "South"],
        series=[("Within target", [None, None])],
        texts=[["fewer than 5", "fewer than 5"]],
        title="t",
        id_prefix="w",
        category_label="Ward",
        value_format=charts.percent_label,
        max_value=1,
    )
    svg = str(chart.svg)
    assert _count(svg, "rect") == 0
    assert svg.count(">fewer than 5</text>") == 2
    assert "2 rows, none with a value to draw" in svg
    assert chart.rows == [("North", ["fewer than 5"]), ("South", ["fewer than 5"])]


def test_no_bars_without_a_known_value():
    assert (
        charts.bar_chart(
            categories=["North"],
            series=[("Decided", [None])],
            title="t",
            id_prefix="x",
            category_label="Ward",
        )
        is None
    )
    assert (
        charts.bar_chart(categories=[], series=[], title="t", id_prefix="x", category_label="")
        is None
    )


def test_counts_are_read_against_whole_numbers():
    # Integer mode: no step below 1, no step of 2.5 (25 is a whole number).
    assert charts.nice_ticks(0, 12, integer=True) == [0, 5, 10, 15]
    assert charts.nice_ticks(0, 3, integer=True) == [0, 1, 2, 3]
    assert charts.nice_ticks(0, 1, integer=True) == [0, 1]
    assert charts.nice_ticks(0, 0.4, integer=True) == [0, 1]
    assert charts.nice_ticks(0, 102, integer=True) == [0, 25, 50, 75, 100, 125]
    # Without it, shares and amounts keep their finer steps.
    assert charts.nice_ticks(0, 12) == [0, 2.5, 5, 7.5, 10, 12.5]
    assert charts.nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1]
    # A bar chart of counts chooses whole numbers by itself; of three cases, 0 to 3.
    chart = charts.bar_chart(
        categories=["Submitted", "More information"],
        series=[("Open cases", [3, 1])],
        title="t",
        id_prefix="s",
        category_label="State",
    )
    # Two categories of one bar: 16 + 2 * 54 = 124, the labels at 146.
    assert _axis_labels(str(chart.svg), base=124) == ["0", "1", "2", "3"]
    # A line chart of counts says so.
    chart = charts.line_chart(
        records=[{"m": "2025-01", "n": 1}, {"m": "2025-02", "n": 3}],
        time_field="m",
        time_kind="yearmonth",
        value_fields=["n"],
        title="t",
        id_prefix="n",
        integer=True,
    )
    values = re.findall(
        r'text-anchor="end" dominant-baseline="middle">([^<]*)</text>', str(chart.svg)
    )
    assert values == ["0", "1", "2", "3"]


def _rows(svg: str, tag: str) -> list[dict[str, float]]:
    found = []
    for attributes in re.findall(rf"<{tag} ([^>]*)/>", svg):
        values = dict(re.findall(r'([a-z0-9-]+)="([^"]*)"', attributes))
        found.append(values)
    return found


def test_grid_lines_are_drawn_first_and_never_cross_a_bar_or_its_text():
    chart = charts.bar_chart(
        categories=["North", "South", "East"],
        series=[("Within target", [0.9, 0.35, None])],
        texts=[["90% (45 of 50 decided)", "35% (7 of 20 decided)", "fewer than 5 decided"]],
        title="t",
        id_prefix="g",
        category_label="Ward",
        value_format=charts.percent_label,
        max_value=1,
    )
    svg = str(chart.svg)
    # Every grid line comes before the first bar.
    assert svg.rindex("<line") < svg.index("<rect")
    bars = [
        (float(r["x"]), float(r["x"]) + float(r["width"]), float(r["y"]))
        for r in _rows(svg, "rect")
        if "height" in r and r["height"] == "18"
    ]
    assert len(bars) == 2
    texts = re.findall(
        r'<text x="([\d.]+)" y="([\d.]+)" text-anchor="start" dominant-baseline="middle">'
        r"([^<]*)</text>",
        svg,
    )
    assert [t[2] for t in texts] == [
        "90% (45 of 50 decided)",
        "35% (7 of 20 decided)",
        "fewer than 5 decided",
    ]
    taken = [  # each row's bar and text: from x 16 to the text's estimated end, 18 px high
        (float(x) + charts.text_width(text), float(y) - 9, float(y) + 9) for x, y, text in texts
    ]
    grid = [
        r
        for r in _rows(svg, "line")
        if r.get("stroke-opacity") == "0.2" and r.get("x1") == r.get("x2")
    ]
    assert grid
    for line in grid:
        x, y1, y2 = float(line["x1"]), float(line["y1"]), float(line["y2"])
        for right, top, bottom in taken:
            crosses = x <= right and y1 < bottom and y2 > top
            assert not crosses, (line, right, top, bottom)
    # North's text runs past 100%: the 100% and 80% lines are drawn by South and East only.
    assert sum(1 for line in grid if line["x1"] == "528.0") == 2
    assert sum(1 for line in grid if line["x1"] == "425.6") == 2
    # The 20% line meets a bar or a text in every row: left is its stretch under the last
    # row (its bar would be at 146 to 164), down to the plot's foot at 178.
    assert [(line["y1"], line["y2"]) for line in grid if line["x1"] == "118.4"] == [("165", "178")]


# --- the time axis ---------------------------------------------------------------------------


def _time_ticks(svg: str) -> list[tuple[float, str, str]]:
    """The labels of a time axis (plot base 276): (x, anchor, text), isolates removed."""
    return [
        (float(x), anchor, text.strip("\u2068\u2069"))
        for x, anchor, text in re.findall(
            r'<text x="([\d.]+)" y="298" text-anchor="(\w+)">([^<]*)</text>', svg
        )
    ]


def _days(count: int) -> list[dict]:
    start = date(2026, 9, 3)
    return [
        {"day": date.fromordinal(start.toordinal() + i).isoformat(), "n": i % 7}
        for i in range(count)
    ]


def _months(count: int) -> list[dict]:
    return [
        {"month": date(2024 + (11 + i) // 12, (11 + i) % 12 + 1, 1), "n": i} for i in range(count)
    ]


def _axis(records: list[dict], field: str, kind: str) -> list[tuple[float, str, str]]:
    chart = charts.line_chart(
        records=records,
        time_field=field,
        time_kind=kind,
        value_fields=["n"],
        title="t",
        id_prefix="x",
    )
    return _time_ticks(str(chart.svg))


def test_time_labels_never_overlap_in_english_or_arabic():
    """84 days and 24 months, in English and in Arabic (whose letters are counted wider):
    as many labels as leave 12 px between them by their estimated widths."""
    with translation.override("en"):
        daily = _axis(_days(84), "day", "date")
        monthly = _axis(_months(24), "month", "yearmonth")
    with translation.override("ar"):
        daily_ar = _axis(_days(84), "day", "date")
        monthly_ar = _axis(_months(24), "month", "yearmonth")
        svg_ar = str(
            charts.line_chart(
                records=_days(84),
                time_field="day",
                time_kind="date",
                value_fields=["n"],
                title="t",
                id_prefix="x",
            ).svg
        )
    # The year is written on the first label and where it changes.
    assert [text for _x, _a, text in daily] == [
        "3 Sep 2026",
        "24 Sep",
        "15 Oct",
        "4 Nov",
        "25 Nov",
    ]
    assert [text for _x, _a, text in monthly] == [
        "Dec 2024",
        "Jun 2025",
        "Dec 2025",
        "May 2026",
        "Nov 2026",
    ]
    # Arabic month names are long: fewer labels, still the first and the last.
    assert [text for _x, _a, text in daily_ar] == [
        "3 سبتمبر 2026",
        "1 أكتوبر",
        "28 أكتوبر",
        "25 نوفمبر",
    ]
    assert len(monthly_ar) == 4
    assert monthly_ar[0][2] == "ديسمبر 2024"
    assert monthly_ar[-1][2] == "نوفمبر 2026"
    for ticks in (daily, monthly, daily_ar, monthly_ar):
        assert ticks[0][:2] == (72.0, "start")
        assert ticks[-1][:2] == (616.0, "end")
        assert charts.labels_apart(ticks)
        extents = []
        for x, anchor, text in ticks:
            width = charts.text_width(text)
            left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
            extents.append((left, left + width))
        for (_l1, right), (left, _r2) in itertools.pairwise(extents):
            assert left - right >= charts.TICK_LABEL_GAP
    # Five Arabic labels would not fit: the second would run into the first.
    assert not charts.labels_apart(
        [(72.0, "start", "3 سبتمبر 2026"), (208.0, "middle", "24 سبتمبر")]
    )
    # Arabic labels are isolated, so that a date reads in its own direction in the
    # left-to-right chart; English ones are written as they are.
    assert ">\u20683 سبتمبر 2026\u2069</text>" in svg_ar
    assert "\u2068" not in str(
        charts.line_chart(
            records=_days(3),
            time_field="day",
            time_kind="date",
            value_fields=["n"],
            title="t",
            id_prefix="x",
        ).svg
    )


def test_text_widths_are_estimated_generously_and_wider_for_arabic():
    # 14 px text: a digit or a lower-case letter 0.66 em, a capital 0.78, a space 0.36,
    # an Arabic letter 0.75; direction controls nothing.
    assert round(charts.text_width("10"), 2) == round(2 * 0.66 * 14, 2)
    assert round(charts.text_width("Sep 2026"), 2) == round((0.78 + 6 * 0.66 + 0.36) * 14, 2)
    assert round(charts.text_width("سبتمبر"), 2) == round(6 * 0.75 * 14, 2)
    assert charts.text_width("\u2068سبتمبر\u2069") == charts.text_width("سبتمبر")
    assert charts.text_width("سبتمبر") > charts.text_width("abcdef")
    # Chromium with DejaVu Sans draws "3 سبتمبر 2026" 93.7 px wide and "24 Feb 2027" 87.1.
    assert charts.text_width("3 سبتمبر 2026") > 93.7
    assert charts.text_width("24 Feb 2027") > 87.1


# --- bands -------------------------------------------------------------------------------------


FORECAST = [
    {"week": "2025-01-06", "actual": 40, "mean": None},
    {"week": "2025-01-13", "actual": 44, "mean": None},
    {
        "week": "2025-01-20",
        "actual": None,
        "mean": 42,
        "lo80": 38,
        "hi80": 46,
        "lo95": 35,
        "hi95": 50,
    },
    {
        "week": "2025-01-27",
        "actual": None,
        "mean": 43,
        "lo80": 38,
        "hi80": 48,
        "lo95": 34,
        "hi95": 52,
    },
]


def test_a_forecast_band_chart_has_its_lines_its_two_bands_and_a_table_of_every_value():
    chart = charts.band_chart(
        records=FORECAST,
        time_field="week",
        time_kind="date",
        lines=["actual", "mean"],
        bands=[
            charts.Band("95% interval", "lo95", "hi95"),
            charts.Band("80% interval", "lo80", "hi80"),
        ],
        title="Applications a week",
        id_prefix="fc",
        labels={"week": "Week", "actual": "Applications", "mean": "Forecast"},
        marker="2025-01-20",
        marker_label="Forecast",
    )
    assert chart is not None
    svg = str(chart.svg)
    # Each band is shaded once; the inner one is hatched over its shade; the outer has
    # two dotted edges.
    assert svg.count('fill-opacity="0.15"') == 2
    assert svg.count('fill="url(#fc-hatch)"') == 1
    assert svg.count('stroke-dasharray="2 3"') == 2
    # The actuals solid, the forecast dashed; the marker line dashed "6 3".
    assert svg.count('stroke-dasharray="8 5"') == 1
    assert 'stroke-dasharray="6 3"' in svg
    assert _count(svg, "polyline") == 2 + 2  # two edges, two lines
    assert "style" not in svg
    assert chart.columns == [
        "Applications",
        "Forecast",
        "95% interval: low",
        "95% interval: high",
        "80% interval: low",
        "80% interval: high",
    ]
    assert chart.rows[0] == ("6 Jan 2025", ["40", "", "", "", "", ""])
    assert chart.rows[3] == ("27 Jan 2025", ["", "43", "34", "52", "38", "48"])
    assert [(s.label, s.kind, s.fill) for s in chart.series] == [
        ("Applications", "line", 0),
        ("Forecast", "line", 0),
        ("95% interval", "band", 0),
        ("80% interval", "band", 1),
    ]
    assert chart.series[1].dash == "8 5"
    assert "4 points in time" in svg
    assert "Lowest value 34, highest 52" in svg


def test_the_band_chart_scales_to_the_widest_band():
    chart = charts.band_chart(
        records=[
            {"d": "2025-01-01", "m": 10, "lo": 0, "hi": 20},
            {"d": "2025-01-02", "m": 10, "lo": 5, "hi": 44},
        ],
        time_field="d",
        time_kind="date",
        lines=["m"],
        bands=[charts.Band("95%", "lo", "hi")],
        title="t",
        id_prefix="b",
    )
    # 0..44 → ticks 0..50; the plot is 320 - 16 - 44 = 260 px high; 44 is at 16 + 260 -
    # 44/50 * 260 = 47.2.
    assert ",47.2" in str(chart.svg)
    assert ">50</text>" in str(chart.svg)


# --- lines -------------------------------------------------------------------------------------


def test_a_line_of_shares_is_written_as_percentages():
    chart = charts.line_chart(
        records=[
            {"month": date(2025, 1, 1), "rate": 0.5},
            {"month": date(2025, 2, 1), "rate": 0.825},
        ],
        time_field="month",
        time_kind="yearmonth",
        value_fields=["rate"],
        title="Completion rate",
        id_prefix="r",
        labels={"rate": "Completion rate", "month": "Month"},
        value_format=charts.percent_label,
    )
    assert chart.rows == [("Jan 2025", ["50%"]), ("Feb 2025", ["82%"])]
    assert ">100%</text>" in str(chart.svg)
    assert chart.columns == ["Completion rate"]
    assert chart.time_label == "Month"


def test_percent_label():
    assert charts.percent_label(0.823) == "82%"
    assert charts.percent_label(0.8236, 1) == "82.4%"
    assert charts.percent_label(1) == "100%"
    with translation.override("fr"):
        assert charts.percent_label(0.8236, 1) == "82,4%"


# --- the trend sentence ------------------------------------------------------------------------


def test_a_count_rose_or_fell_by_a_percentage_of_last_month():
    assert (
        charts.trend_sentence(what="Applications", current=168, previous=150)
        == "Applications rose 12% on last month, from 150 to 168."
    )
    assert (
        charts.trend_sentence(what="Applications", current=132, previous=150)
        == "Applications fell 12% on last month, from 150 to 132."
    )
    # Under 10%, one decimal.
    assert (
        charts.trend_sentence(what="Applications", current=1035, previous=1000)
        == "Applications rose 3.5% on last month, from 1,000 to 1,035."
    )
    assert (
        charts.trend_sentence(what="Applications", current=1001, previous=1000)
        == "Applications was about the same as last month: 1,001."
    )


def test_against_the_same_month_last_year():
    assert (
        charts.trend_sentence(what="Applications", current=90, previous=120, against="year")
        == "Applications fell 25% on the same month last year, from 120 to 90."
    )


def test_a_rate_moves_in_percentage_points_with_the_plural_chosen_by_the_number():
    assert (
        charts.trend_sentence(what="Completion rate", current=0.83, previous=0.80, kind="rate")
        == "Completion rate rose 3 percentage points on last month, from 80% to 83%."
    )
    assert (
        charts.trend_sentence(what="Completion rate", current=0.79, previous=0.80, kind="rate")
        == "Completion rate fell 1 percentage point on last month, from 80% to 79%."
    )
    assert (
        charts.trend_sentence(what="Satisfaction", current=0.802, previous=0.80, kind="rate")
        == "Satisfaction was about the same as last month: 80%."
    )


def test_zero_and_missing_figures_read_as_words():
    assert (
        charts.trend_sentence(what="Appeals", current=5, previous=0)
        == "Appeals rose from none last month to 5."
    )
    assert (
        charts.trend_sentence(what="Appeals", current=0, previous=0)
        == "Appeals: none this month, and none last month."
    )
    assert (
        charts.trend_sentence(what="Appeals", current=None, previous=4)
        == "Appeals: there is no figure for this month yet."
    )
    assert (
        charts.trend_sentence(what="Appeals", current=3, previous=None)
        == "Appeals: 3; there is no figure for last month to compare with."
    )
    assert (
        charts.trend_sentence(what="Appeals", current=0, previous=4)
        == "Appeals fell 100% on last month, from 4 to 0."
    )


def test_amounts_are_written_by_the_caller_s_format():
    def pounds(value: float) -> str:
        return f"£{value:,.2f}"

    assert (
        charts.trend_sentence(
            what="Cost per transaction",
            current="11.00",
            previous="12.50",
            kind="amount",
            value_format=pounds,
        )
        == "Cost per transaction fell 12% on last month, from £12.50 to £11.00."
    )
