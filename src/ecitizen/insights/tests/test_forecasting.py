"""The forecasting module on synthetic series with known structure: a model that sees
the weekly pattern and the trend beats the seasonal naive; white noise stays sane; a
pure weekly pattern leaves the seasonal naive shown and flagged; a short series says
how much is needed; intervals are ordered; the holiday adjustment lowers a holiday."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy.stats import poisson

from ecitizen.insights import forecasting
from ecitizen.insights.forecasting import (
    BASELINE,
    daily_series,
    forecast_many,
    forecast_series,
    needed_points,
    weekly_from_daily,
)

WEEKDAY_SHAPE = np.array([1.3, 1.2, 1.0, 1.0, 0.9, 0.35, 0.25])


def _seasonal_trend(days: int, *, start: date = date(2024, 1, 1), seed: int = 1) -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=days, freq="D")
    level = 30 * (1 + 0.8 * np.arange(days) / days)
    return pd.Series(rng.poisson(level * WEEKDAY_SHAPE[index.dayofweek]).astype(float), index=index)


def _assert_ordered(result):
    assert result.points
    for point in result.points:
        assert 0 <= point.lo95 <= point.lo80 <= point.mean <= point.hi80 <= point.hi95


def test_needed_points_are_two_windows_and_a_first_training_part():
    assert needed_points("day") == 2 * 84 + 28 == 196
    assert needed_points("week") == 2 * 12 + 8 == 32


def test_weekly_sums_complete_iso_weeks_labelled_by_monday():
    # Wednesday 3 January 2024 to Tuesday 23 January: only the weeks of 8 and 15 January
    # are complete.
    series = daily_series({date(2024, 1, 3) + timedelta(days=k): 1.0 for k in range(21)})
    weekly = weekly_from_daily(series)
    assert [stamp.date() for stamp in weekly.index] == [date(2024, 1, 8), date(2024, 1, 15)]
    assert weekly.tolist() == [7.0, 7.0]
    # Missing days count zero between the first and the last.
    filled = daily_series([(date(2024, 1, 1), 2), (date(2024, 1, 4), 3)])
    assert filled.tolist() == [2.0, 0.0, 0.0, 3.0]


def test_weekly_pattern_and_trend_beat_the_seasonal_naive():
    series = _seasonal_trend(420)
    daily = forecast_series(series, freq="day")
    assert daily.status == "ok"
    assert daily.model != BASELINE
    assert not daily.baseline_chosen
    assert daily.mase is not None
    assert daily.mase < 1
    assert daily.windows == 3
    assert daily.season_length == 7
    assert len(daily.points) == 84
    assert daily.points[0].day == date(2024, 1, 1) + timedelta(days=420)
    _assert_ordered(daily)
    # The chosen model's MASE is its MAE over the naive's, from the same backtest.
    scores = {score.model: score for score in daily.candidates}
    assert scores[BASELINE].mase == 1.0
    assert scores[daily.model].mase == pytest.approx(scores[daily.model].mae / scores[BASELINE].mae)
    assert daily.mase == pytest.approx(min(s.mase for s in daily.candidates if s.mase))
    # Mondays are forecast higher than Sundays, as in the history.
    mondays = [p.mean for p in daily.points if p.day.weekday() == 0]
    sundays = [p.mean for p in daily.points if p.day.weekday() == 6]
    assert min(mondays) > max(sundays)

    weekly = forecast_series(series, freq="week")
    assert weekly.status == "ok"
    assert len(weekly.points) == 12
    assert all(point.day.weekday() == 0 for point in weekly.points)
    assert weekly.mase is not None
    assert weekly.mase < 1
    _assert_ordered(weekly)
    # A week is about seven days of the daily forecast's level.
    assert weekly.points[0].mean == pytest.approx(sum(p.mean for p in daily.points[:7]), rel=0.25)


def test_white_noise_around_a_flat_mean_stays_sane():
    rng = np.random.default_rng(5)
    index = pd.date_range("2024-02-01", periods=300, freq="D")
    series = pd.Series(rng.normal(50, 5, len(index)).round(), index=index)
    result = forecast_series(series, freq="day")
    assert result.status == "ok"
    assert result.mase is not None
    assert 0 < result.mase <= 1
    _assert_ordered(result)
    means = [point.mean for point in result.points]
    assert min(means) > 40
    assert max(means) < 60
    # The 95% interval holds about the noise's spread: not collapsed, not exploded.
    widths = [point.hi95 - point.lo95 for point in result.points]
    assert 10 < np.median(widths) < 60


def test_a_pure_weekly_pattern_leaves_the_seasonal_naive_shown_and_flagged():
    index = pd.date_range("2024-01-01", periods=280, freq="D")
    series = pd.Series(10 * WEEKDAY_SHAPE[index.dayofweek], index=index)
    result = forecast_series(series, freq="day")
    assert result.status == "ok"
    assert result.model == BASELINE
    assert result.baseline_chosen
    assert result.mase == 1.0
    assert result.points[0].mean == pytest.approx(series.iloc[-7])


def test_a_short_series_says_how_much_is_needed():
    series = _seasonal_trend(100)
    daily = forecast_series(series, freq="day")
    assert daily.status == "short"
    assert (daily.history_points, daily.needed_points) == (100, 196)
    assert daily.points == ()
    assert daily.model == ""
    assert daily.mase is None
    weekly = forecast_series(series, freq="week")
    assert weekly.status == "short"
    # 1 January 2024 is a Monday: 100 days hold 14 complete weeks.
    assert (weekly.history_points, weekly.needed_points) == (14, 32)


def test_many_series_at_once_short_and_long_mixed():
    long = _seasonal_trend(250, seed=2)
    short = _seasonal_trend(60, seed=3)
    frame = pd.concat(
        [
            pd.DataFrame({"unique_id": "long", "ds": long.index, "y": long.to_numpy()}),
            pd.DataFrame({"unique_id": "short", "ds": short.index, "y": short.to_numpy()}),
        ]
    )
    results = forecast_many(frame, freq="day")
    assert set(results) == {"long", "short"}
    assert results["long"].status == "ok"
    assert results["long"].windows == 2  # (250 - 28) // 84
    assert results["short"].status == "short"
    stored = results["long"].backtest_json()
    assert stored["windows"] == 2
    assert stored["horizon"] == 84
    assert {c["model"] for c in stored["candidates"]} >= {BASELINE, results["long"].model}
    assert results["long"].points_json()[0].keys() == {
        "date",
        "mean",
        "lo80",
        "hi80",
        "lo95",
        "hi95",
    }
    with pytest.raises(ValueError, match="freq must be"):
        forecast_many(frame, freq="month")  # type: ignore[arg-type]


def test_holiday_adjustment_lowers_the_forecast_on_a_holiday():
    # The first Wednesday of every month is a holiday on which demand falls to a tenth.
    def holiday(day: date) -> bool:
        return day.weekday() == 2 and day.day <= 7

    series = _seasonal_trend(400, seed=4)
    for stamp in series.index:
        if holiday(stamp.date()):
            series[stamp] = round(series[stamp] * 0.1)
    adjusted = forecast_series(series, freq="day", holidays=holiday)
    plain = forecast_series(series, freq="day")
    assert adjusted.holiday_ratio < 0.3
    assert plain.holiday_ratio == 1.0
    by_day = {point.day: point for point in adjusted.points}
    holidays_ahead = [day for day in by_day if holiday(day)]
    assert holidays_ahead
    for day in holidays_ahead:
        # Lower than the Wednesday before and after, and than without the adjustment.
        after = by_day.get(day + timedelta(days=7))
        neighbour = after if after is not None else by_day[day - timedelta(days=7)]
        assert by_day[day].mean < 0.5 * neighbour.mean
        plain_point = next(p for p in plain.points if p.day == day)
        assert by_day[day].mean < plain_point.mean
        assert by_day[day].hi95 <= plain_point.hi95
    _assert_ordered(adjusted)
    # A week holding a holiday is forecast lower than its neighbours by about the share of
    # a Wednesday's demand lost.
    weekly = forecast_series(series, freq="week", holidays=holiday)
    weeks = {point.day: point.mean for point in weekly.points}
    holiday_weeks = [m for m in weeks if any(holiday(m + timedelta(days=k)) for k in range(7))]
    assert len(holiday_weeks) >= 2
    for monday, mean in weeks.items():
        if monday in holiday_weeks:
            following = weeks.get(monday + timedelta(days=7))
            other = following if following is not None else weeks[monday - timedelta(days=7)]
            assert mean < other * 0.95
    # The adjustment is what the backtest measured too: the same ratio kept for the page.
    assert adjusted.backtest_json()["holiday_ratio"] == pytest.approx(
        adjusted.holiday_ratio, abs=1e-4
    )


def test_interval_contains_includes_its_bounds():
    point = {"lo95": 10.0, "hi95": 20.0}
    assert forecasting.interval_contains(point, 10.0)
    assert forecasting.interval_contains(point, 20.0)
    assert not forecasting.interval_contains(point, 20.5)
    assert not forecasting.interval_contains(point, 9.0)


def test_intervals_of_small_counts_are_at_least_the_poisson_noise():
    # Two visits a week on average, on weekdays: a model's Gaussian interval would call
    # any day with two visits unusual; the Poisson interval of the mean does not.
    rng = np.random.default_rng(8)
    index = pd.date_range("2024-01-01", periods=300, freq="D")
    rates = np.where(index.dayofweek < 5, 0.4, 0.0)
    series = pd.Series(rng.poisson(rates).astype(float), index=index)
    result = forecast_series(series, freq="day")
    assert result.status == "ok"
    _assert_ordered(result)
    weekdays = [point for point in result.points if point.day.weekday() < 5]
    for point in weekdays:
        assert point.hi95 >= poisson.ppf(0.975, point.mean)
        assert point.hi80 >= poisson.ppf(0.9, point.mean)
    # About 0.4 a day: a weekday with 2 visits is within the 95% interval.
    assert all(forecasting.interval_contains(p.as_dict(), 2.0) for p in weekdays)
