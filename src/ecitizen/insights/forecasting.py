"""Demand forecasts with their measured error: pure computing, no Django, no database.

Input is a **daily** count series (applications, street reports or counter visits of one
service per day): a ``pandas.Series`` indexed by date, a list of ``(date, count)`` pairs,
or for many series at once a frame with columns ``unique_id``, ``ds`` (date), ``y``
(count). Missing days between a series' first and last day count zero. The caller cuts the
series at the last complete day (today is not over).

Output: for each series a :class:`SeriesResult` with the forecast of the next
:data:`HORIZON` points (84 days, or 12 ISO weeks) with 80% and 95% prediction intervals,
the model chosen, and its backtest error.

**Weekly series** are the daily counts (after the holiday cleaning below) summed to ISO
weeks, each labelled by its Monday; only complete weeks count (a week missing a day at
either end of the history is left out).

**Candidates** (``statsforecast``; one call per batch of series, ``n_jobs`` processes):

- daily: ``SeasonalNaive`` (season 7: the same weekday last week: the baseline),
  ``ETS(A,N,A)`` (exponential smoothing: a level and a weekly season, no trend),
  ``Theta`` (seasonally adjusted simple exponential smoothing with drift, season 7), and
  ``MSTL(7)`` (STL weekly season, damped-trend ETS on the rest) — ``MSTL(7,365)``, with
  the yearly season too, when the training part of the first backtest window holds at
  least two years (:data:`YEARLY_MIN_DAYS`). Three kinds of trend: none, linear, damped;
- weekly: ``SeasonalNaive`` (season 52: the same week last year, when the first training
  window holds a year; otherwise season 1, last week's figure), ``AutoETS`` (non-seasonal,
  form chosen by AICc), ``Theta`` (season 52 when two years are there), and ``MSTL(52)``
  when the first training window holds two years.

AutoARIMA is not a candidate: it costs about 100 times an ETS fit on two years of daily
data (measured: about 10 s a series against 0.05 s), beyond the budget of forecasting
every series of the authority each night (and 1,000 series in under a minute on two
cores, ``bench/insights.py``); nor is the full AutoETS search on daily data (several
times the cost of one fixed form). A damped-trend seasonal ETS(A,Ad,A) was measured too:
three to four times the cost of ETS(A,N,A), for a median MASE better by 0.01 once Theta
and MSTL are candidates, so left out.

**Backtest (rolling origin).** The last ``windows * horizon`` points are cut into
``windows`` (3, or 2 for a history that only allows 2) consecutive windows of one horizon
each; at each window's origin every candidate forecasts the whole window from the points
before it. The parameters are fitted at the first origin and kept for the later ones,
whose states are updated with the data up to their origin (``statsforecast``'s
``cross_validation(refit=False)``): this halves the cost and measures the model as it is
used, fitted once a night. A model's **backtest MAE** is its mean absolute error over every
point of every window, against the counts actually recorded.

**MASE** (shown next to every forecast, ``mase``): the chosen model's backtest MAE divided
by the seasonal naive's backtest MAE **on the same windows**. Below 1 the model beats the
seasonal naive; the seasonal naive's own MASE is 1 by definition. (This is the "relative
MAE" form of Hyndman and Koehler's MASE: the scale is the seasonal naive's out-of-sample
error, not its in-sample one, so that the figure answers "how much better than the naive
forecast is what we show?".) The candidate with the lowest MASE is chosen when it is below
1; when no candidate beats the seasonal naive, the seasonal naive is shown and
``baseline_chosen`` is set (the pages say so). Ties go to the baseline.

**Holidays: an adjustment, not a regressor.** ``holiday(date) -> bool`` (the platform's
calendar: weekdays that are not business days) marks the days to adjust. For each series,
each past holiday is compared with its *ordinary value* (the mean of the same weekday a
week before and a week after, when those are not holidays; else two weeks), and the
holiday ratio is ``sum(actual on holidays) / sum(ordinary values)`` (clipped to 0..3;
1, no adjustment, when the history holds no usable holiday). Before fitting, past holidays
are replaced by their ordinary value, so that no model learns a dip as a change of level;
after forecasting, a future holiday's forecast and interval bounds are multiplied by the
ratio; a week's by ``1 - Σ (1 - ratio) * share of the holiday's weekday in an ordinary
week's demand``. Every candidate, **the seasonal naive included**, is cleaned and adjusted
the same way, in the backtest too (whose errors are against the raw counts), so the MASE
compares the models, not the calendar. An adjustment rather than an exogenous regressor
because it works with every candidate (ETS, Theta and the seasonal naive take no
regressor in ``statsforecast``), costs nothing, and needs only a few past holidays. (The
ratio is estimated on the whole history, backtest windows included: the same small
advantage for every candidate.)

**Minimum history** (:func:`needed_points`): two backtest windows of one horizon each,
plus a first training part of four seasons of the weekly pattern for daily data (28
days: 2 * 84 + 28 = **196 days**), or of 8 weeks for weekly data (2 * 12 + 8 = **32
weeks**). A shorter series gives a ``short`` result: no forecast, and
``history_points``/``needed_points`` to say how much is needed.

Forecasts and bounds are counts: clipped at zero, ordered
``lo95 ≤ lo80 ≤ mean ≤ hi80 ≤ hi95``, and each interval at least as wide as the Poisson
interval of a count with the forecast mean. (The models' intervals assume Gaussian errors
estimated on the history; for a handful of counter visits a week they are too narrow:
"0.4 to 1.6" for a mean of 1 would make every week with 2 visits unusual. On the demo's
series the one-step-ahead 95% intervals flagged 8% of weeks without the widening.)
"""

from __future__ import annotations

import math
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

Frequency = Literal["day", "week"]
Holiday = Callable[[date], bool]

#: Points forecast: 12 weeks.
HORIZON: dict[str, int] = {"day": 84, "week": 12}
#: Length of the weekly pattern (daily data) and of the yearly one (weekly data).
SEASON: dict[str, int] = {"day": 7, "week": 52}
#: Backtest windows: at most this many, and at least :data:`MIN_WINDOWS`.
MAX_WINDOWS = 3
MIN_WINDOWS = 2
#: Training points before the first backtest window, at least.
MIN_TRAIN: dict[str, int] = {"day": 28, "week": 8}
#: Training points of the first window from which MSTL(7,365) is a daily candidate.
YEARLY_MIN_DAYS = 730
#: Training points of the first window from which MSTL(52) is a weekly candidate.
YEARLY_MIN_WEEKS = 104
#: Recent actuals returned with a result for the chart (13 weeks of days, a year of weeks).
HISTORY_SHOWN: dict[str, int] = {"day": 91, "week": 52}
LEVELS = (80, 95)
BASELINE = "SeasonalNaive"
_PANDAS_FREQ = {"day": "D", "week": "W-MON"}


def needed_points(frequency: Frequency, horizon: int | None = None) -> int:
    """Points of history a series needs to be forecast and backtested: two windows of the
    horizon plus the first training part (196 days, or 32 weeks, for 12 weeks ahead)."""
    h = horizon or HORIZON[frequency]
    return MIN_WINDOWS * h + MIN_TRAIN[frequency]


@dataclass(frozen=True)
class ForecastPoint:
    """One forecast day (or week: its Monday) with its 80% and 95% intervals."""

    day: date
    mean: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "mean": round(self.mean, 3),
            "lo80": round(self.lo80, 3),
            "hi80": round(self.hi80, 3),
            "lo95": round(self.lo95, 3),
            "hi95": round(self.hi95, 3),
        }


@dataclass(frozen=True)
class CandidateScore:
    """One candidate's backtest: its MAE over every window and its MASE (MAE ÷ the
    seasonal naive's MAE on the same windows; ``None`` when it failed or the naive's MAE
    is zero)."""

    model: str
    mae: float | None
    mase: float | None


@dataclass(frozen=True)
class SeriesResult:
    """The forecast of one series, or why there is none (``status == "short"``).

    ``model`` is the model shown; ``mase`` its backtest MAE relative to the seasonal
    naive's (1.0 when the seasonal naive is shown); ``baseline_chosen`` when no candidate
    beat it. ``season_length`` is the seasonal naive's season (7, 52, or 1: last week).
    ``holiday_ratio`` is the holiday adjustment (1.0: none). ``history`` holds the recent
    raw actuals, ``points`` the horizon."""

    status: Literal["ok", "short"]
    frequency: Frequency
    history_points: int
    needed_points: int
    horizon: int
    model: str = ""
    mase: float | None = None
    baseline_chosen: bool = False
    windows: int = 0
    season_length: int = 0
    holiday_ratio: float = 1.0
    candidates: tuple[CandidateScore, ...] = ()
    points: tuple[ForecastPoint, ...] = ()
    history: tuple[tuple[date, float], ...] = ()
    last_day: date | None = None

    def backtest_json(self) -> dict[str, Any]:
        """What ``Forecast.backtest`` stores: the method and every candidate's figures."""
        return {
            "method": "rolling origin",
            "windows": self.windows,
            "horizon": self.horizon,
            "baseline": BASELINE,
            "season_length": self.season_length,
            "baseline_chosen": self.baseline_chosen,
            "holiday_ratio": round(self.holiday_ratio, 4),
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "candidates": [
                {
                    "model": c.model,
                    "mae": None if c.mae is None else round(c.mae, 4),
                    "mase": None if c.mase is None else round(c.mase, 4),
                }
                for c in self.candidates
            ],
        }

    def points_json(self) -> list[dict[str, Any]]:
        return [point.as_dict() for point in self.points]

    def history_json(self) -> list[dict[str, Any]]:
        return [{"date": day.isoformat(), "value": value} for day, value in self.history]


# --- Input ------------------------------------------------------------------------------


def daily_series(
    counts: pd.Series | Iterable[tuple[date, float]] | Mapping[date, float],
    *,
    end: date | None = None,
    start: date | None = None,
) -> pd.Series:
    """A complete daily series (float counts, ``DatetimeIndex`` with a day per row) from
    ``(date, count)`` pairs, a mapping or a series: from ``start`` (else the first day
    given) to ``end`` (else the last day given), missing days zero, days outside dropped."""
    if isinstance(counts, pd.Series):
        series = counts.astype("float64")
        series.index = pd.DatetimeIndex(pd.to_datetime(series.index)).normalize()
    else:
        pairs = list(counts.items()) if isinstance(counts, Mapping) else list(counts)
        series = pd.Series(
            [float(value) for _day, value in pairs],
            index=pd.DatetimeIndex(pd.to_datetime([day for day, _value in pairs])),
            dtype="float64",
        )
    series = series.groupby(level=0).sum()
    first = pd.Timestamp(start) if start else (series.index.min() if len(series) else None)
    last = pd.Timestamp(end) if end else (series.index.max() if len(series) else None)
    if first is None or last is None or last < first:
        return pd.Series([], index=pd.DatetimeIndex([]), dtype="float64")
    index = pd.date_range(first, last, freq="D")
    return series.reindex(index, fill_value=0.0).astype("float64")


def weekly_from_daily(series: pd.Series) -> pd.Series:
    """Daily counts summed to ISO weeks labelled by their Monday; only complete weeks."""
    if series.empty:
        return series
    index = pd.DatetimeIndex(series.index)
    weeks = index - pd.to_timedelta(index.dayofweek, unit="D")
    grouped = series.groupby(weeks)
    sums, sizes = grouped.sum(), grouped.size()
    return sums[sizes == 7].astype("float64")


# --- Holidays ---------------------------------------------------------------------------


class _Calendar:
    """The holiday predicate, asked once per day across a batch: the answers are kept as
    one boolean array over the span of days asked so far."""

    def __init__(self, holiday: Holiday | None) -> None:
        self.holiday = holiday
        self._start: np.datetime64 | None = None
        self._flags = np.zeros(0, dtype=bool)

    def _cover(self, first: np.datetime64, last: np.datetime64) -> None:
        assert self.holiday is not None
        start = first if self._start is None else min(first, self._start)
        end = last if self._start is None else max(last, self._start + len(self._flags) - 1)
        if (
            self._start is not None
            and start == self._start
            and len(self._flags) == (end - start).astype(int) + 1
        ):
            return
        days = np.arange(start, end + 1, dtype="datetime64[D]")
        flags = np.zeros(len(days), dtype=bool)
        offset = 0 if self._start is None else int((self._start - start).astype(int))
        flags[offset : offset + len(self._flags)] = self._flags
        known = np.zeros(len(days), dtype=bool)
        known[offset : offset + len(self._flags)] = True
        for k in np.flatnonzero(~known):
            flags[k] = bool(self.holiday(days[k].item()))
        self._start, self._flags = start, flags

    def mask(self, index: pd.DatetimeIndex) -> np.ndarray:
        """Whether each day of ``index`` is a holiday."""
        days = np.asarray(index.to_numpy(), dtype="datetime64[D]")
        if self.holiday is None or len(days) == 0:
            return np.zeros(len(days), dtype=bool)
        self._cover(days.min(), days.max())
        assert self._start is not None
        return self._flags[(days - self._start).astype(int)]


@dataclass
class _Prepared:
    """One series ready to fit: raw and cleaned values, and its holiday adjustment."""

    uid: Any
    raw_daily: pd.Series
    raw: pd.Series  # at the forecast frequency
    clean: pd.Series  # at the forecast frequency, holidays replaced
    ratio: float = 1.0
    weekday_share: np.ndarray = field(default_factory=lambda: np.full(7, 1 / 7))


def _clean_holidays(series: pd.Series, calendar: _Calendar) -> tuple[pd.Series, float]:
    """Past holidays replaced by their ordinary value, and the holiday ratio."""
    values = series.to_numpy(dtype="float64")
    mask = calendar.mask(pd.DatetimeIndex(series.index))
    if not mask.any():
        return series, 1.0
    cleaned = values.copy()
    actual_sum = ordinary_sum = 0.0
    n = len(values)
    for i in np.flatnonzero(mask):
        ordinary = None
        for lag in (7, 14):
            around = [values[j] for j in (i - lag, i + lag) if 0 <= j < n and not mask[j]]
            if around:
                ordinary = float(np.mean(around))
                break
        if ordinary is None:
            continue
        cleaned[i] = ordinary
        actual_sum += values[i]
        ordinary_sum += ordinary
    ratio = 1.0 if ordinary_sum <= 0 else min(max(actual_sum / ordinary_sum, 0.0), 3.0)
    return pd.Series(cleaned, index=series.index), ratio


def _weekday_share(clean_daily: pd.Series) -> np.ndarray:
    """Each weekday's share of an ordinary week's demand (the last year of cleaned data)."""
    recent = clean_daily.iloc[-364:]
    sums = np.bincount(
        _weekdays(pd.DatetimeIndex(recent.index)),
        weights=recent.to_numpy(dtype="float64"),
        minlength=7,
    )
    total = sums.sum()
    return sums / total if total > 0 else np.full(7, 1 / 7)


def _factors(
    prepared: _Prepared, stamps: pd.DatetimeIndex, frequency: Frequency, calendar: _Calendar
) -> np.ndarray:
    """The holiday factor of each forecast day or week of one series."""
    if prepared.ratio == 1.0 or calendar.holiday is None:
        return np.ones(len(stamps))
    if frequency == "day":
        return np.where(calendar.mask(stamps), prepared.ratio, 1.0)
    out = np.ones(len(stamps))
    for k, monday in enumerate(stamps):
        days = pd.date_range(monday, periods=7, freq="D")
        holidays = calendar.mask(days)
        if holidays.any():
            lost = (1.0 - prepared.ratio) * prepared.weekday_share[holidays].sum()
            out[k] = max(1.0 - lost, 0.0)
    return out


# --- Models -----------------------------------------------------------------------------


def _models(frequency: Frequency, train_points: int) -> tuple[list[Any], int]:
    """The candidates for a group of series whose first training window holds
    ``train_points``; the baseline first. Returns them and the baseline's season."""
    from statsforecast.models import MSTL, AutoETS, SeasonalNaive, Theta

    if frequency == "day":
        season = 7
        yearly = train_points >= YEARLY_MIN_DAYS
        models: list[Any] = [
            SeasonalNaive(season_length=7, alias=BASELINE),
            AutoETS(season_length=7, model="ANA", alias="ETS(A,N,A)"),
            Theta(season_length=7, alias="Theta"),
            MSTL(
                season_length=[7, 365] if yearly else [7],
                trend_forecaster=AutoETS(model="AAN", damped=True),
                alias="MSTL(7,365)" if yearly else "MSTL(7)",
            ),
        ]
        return models, season
    season = 52 if train_points >= 52 else 1
    models = [
        SeasonalNaive(season_length=season, alias=BASELINE),
        AutoETS(season_length=1, alias="AutoETS"),
        Theta(season_length=52 if train_points >= YEARLY_MIN_WEEKS else 1, alias="Theta"),
    ]
    if train_points >= YEARLY_MIN_WEEKS:
        models.append(
            MSTL(
                season_length=52,
                trend_forecaster=AutoETS(model="AAN", damped=True),
                alias="MSTL(52)",
            )
        )
    return models, season


def _alias(model: Any) -> str:
    return str(model.alias)


def _default_jobs(series_count: int) -> int:
    """One process for a few series (starting a pool costs more than it saves)."""
    if series_count < 20:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


# --- Forecasting ------------------------------------------------------------------------


def _weekdays(index: pd.DatetimeIndex) -> np.ndarray:
    """Monday 0 .. Sunday 6 (1 January 1970 was a Thursday)."""
    return (np.asarray(index.to_numpy(), dtype="datetime64[D]").astype(np.int64) + 3) % 7


def _daily_parts(frame: pd.DataFrame) -> Iterable[tuple[Any, pd.Series]]:
    """Each series of ``frame`` as a complete daily series (missing days zero, a day
    given twice summed), in the order the ids first appear: one sort for the batch."""
    if frame.empty:
        return
    days = np.asarray(pd.to_datetime(frame["ds"]).to_numpy(), dtype="datetime64[D]")
    values = frame["y"].to_numpy(dtype="float64")
    codes, uniques = pd.factorize(frame["unique_id"], sort=False)
    order = np.lexsort((days, codes))
    codes, days, values = codes[order], days[order], values[order]
    bounds = np.flatnonzero(np.diff(codes)) + 1
    for start, end in zip(np.r_[0, bounds], np.r_[bounds, len(codes)], strict=True):
        first = days[start]
        offsets = (days[start:end] - first).astype(np.int64)
        filled = np.zeros(int(offsets[-1]) + 1)
        np.add.at(filled, offsets, values[start:end])
        index = pd.DatetimeIndex(np.arange(first, first + len(filled)).astype("datetime64[ns]"))
        yield uniques[codes[start]], pd.Series(filled, index=index)


def _prepare(
    frame: pd.DataFrame, frequency: Frequency, calendar: _Calendar
) -> dict[Any, _Prepared]:
    prepared: dict[Any, _Prepared] = {}
    for uid, raw_daily in _daily_parts(frame):
        clean_daily, ratio = _clean_holidays(raw_daily, calendar)
        if frequency == "day":
            raw, clean = raw_daily, clean_daily
        else:
            raw, clean = weekly_from_daily(raw_daily), weekly_from_daily(clean_daily)
        prepared[uid] = _Prepared(
            uid=uid,
            raw_daily=raw_daily,
            raw=raw,
            clean=clean,
            ratio=ratio,
            weekday_share=_weekday_share(clean_daily),
        )
    return prepared


def _ordered(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Clip at zero and force ``lo95 ≤ lo80 ≤ mean ≤ hi80 ≤ hi95``."""
    mean = np.clip(np.nan_to_num(values["mean"], nan=0.0), 0.0, None)
    lo80 = np.minimum(np.clip(np.nan_to_num(values["lo80"], nan=0.0), 0.0, None), mean)
    lo95 = np.minimum(np.clip(np.nan_to_num(values["lo95"], nan=0.0), 0.0, None), lo80)
    hi80 = np.maximum(np.nan_to_num(values["hi80"], nan=0.0), mean)
    hi95 = np.maximum(np.nan_to_num(values["hi95"], nan=0.0), hi80)
    return {"mean": mean, "lo80": lo80, "hi80": hi80, "lo95": lo95, "hi95": hi95}


def _count_bounds(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each interval widened, where needed, to the Poisson interval of a count with the
    forecast mean (the models' Gaussian intervals are too narrow for small counts)."""
    from scipy.stats import poisson

    mean = values["mean"]
    out = dict(values)
    for level in LEVELS:
        tail = (1 - level / 100) / 2
        out[f"lo{level}"] = np.minimum(values[f"lo{level}"], poisson.ppf(tail, mean))
        out[f"hi{level}"] = np.maximum(values[f"hi{level}"], poisson.ppf(1 - tail, mean))
    return _ordered(out)


def _fit_frame(items: list[_Prepared]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unique_id": np.repeat(
                [str(item.uid) for item in items], [len(item.clean) for item in items]
            ),
            "ds": np.concatenate([item.clean.index.to_numpy() for item in items]),
            "y": np.concatenate([item.clean.to_numpy(dtype="float64") for item in items]),
        }
    )


def _statsforecast(**kwargs: Any) -> Any:
    """A ``StatsForecast`` whose worker processes are started fresh ("spawn"), not forked.

    statsforecast's pools fork by default; a fork copies only the calling thread, so a
    lock another thread held at that instant (logging's, a database driver's, the test
    runner's channel) stays locked forever in the child, and the pool then waits for it
    without end. Web servers, workers and the test runner all run threads, so every
    pool here starts its processes clean; they import only numpy, pandas and
    statsforecast (this module imports no Django), about a second each.
    """
    from statsforecast import StatsForecast

    class _SpawningStatsForecast(StatsForecast):
        def _get_pool(self) -> tuple[Any, dict[str, Any]]:
            return multiprocessing.get_context("spawn").Pool, {}

    return _SpawningStatsForecast(**kwargs)


def _backtest(
    items: list[_Prepared],
    *,
    frequency: Frequency,
    horizon: int,
    windows: int,
    models: list[Any],
    calendar: _Calendar,
    n_jobs: int,
) -> dict[str, list[CandidateScore]]:
    """Every candidate's MAE and MASE per series (keyed by ``str(uid)``)."""
    forecaster = _statsforecast(
        models=models,
        freq=_PANDAS_FREQ[frequency],
        n_jobs=n_jobs,
        fallback_model=models[0],
    )
    cv = forecaster.cross_validation(
        h=horizon,
        df=_fit_frame(items),
        n_windows=windows,
        step_size=horizon,
        refit=False,
    )
    by_id = {str(item.uid): item for item in items}
    names = [_alias(model) for model in models]
    scores: dict[str, list[CandidateScore]] = {}
    for uid, part in cv.groupby("unique_id", sort=False):
        item = by_id[str(uid)]
        stamps = pd.DatetimeIndex(part["ds"])
        actual = item.raw.reindex(stamps).to_numpy(dtype="float64")
        factor = _factors(item, stamps, frequency, calendar)
        mae: dict[str, float | None] = {}
        for name in names:
            predicted = np.clip(part[name].to_numpy(dtype="float64"), 0.0, None) * factor
            error = np.abs(predicted - actual)
            mae[name] = float(error.mean()) if np.isfinite(error).all() else None
        base = mae[BASELINE]
        scores[str(uid)] = [
            CandidateScore(
                model=name,
                mae=mae[name],
                mase=(
                    1.0
                    if name == BASELINE
                    else (
                        mae[name] / base  # type: ignore[operator]
                        if mae[name] is not None and base is not None and base > 0
                        else None
                    )
                ),
            )
            for name in names
        ]
    return scores


def _choose(scores: list[CandidateScore]) -> tuple[str, float]:
    """The candidate with the lowest MASE below 1, else the baseline (MASE 1)."""
    best, best_mase = BASELINE, 1.0
    for score in scores:
        if score.model != BASELINE and score.mase is not None and score.mase < best_mase:
            best, best_mase = score.model, score.mase
    return best, best_mase


def _final(
    items: list[_Prepared],
    *,
    frequency: Frequency,
    horizon: int,
    model: Any,
    baseline: Any,
    calendar: _Calendar,
    n_jobs: int,
) -> dict[str, list[ForecastPoint]]:
    """The horizon's forecast of each series by ``model``, fitted on the whole history
    (``baseline`` stands in for a series the model cannot fit)."""
    name = _alias(model)
    forecaster = _statsforecast(
        models=[model],
        freq=_PANDAS_FREQ[frequency],
        n_jobs=n_jobs,
        fallback_model=baseline if name != BASELINE else None,
    )
    out = forecaster.forecast(h=horizon, df=_fit_frame(items), level=list(LEVELS))
    by_id = {str(item.uid): item for item in items}
    points: dict[str, list[ForecastPoint]] = {}
    for uid, part in out.groupby("unique_id", sort=False):
        item = by_id[str(uid)]
        stamps = pd.DatetimeIndex(part["ds"])
        factor = _factors(item, stamps, frequency, calendar)
        columns = {
            "mean": part[name].to_numpy(dtype="float64"),
            "lo80": part[f"{name}-lo-80"].to_numpy(dtype="float64"),
            "hi80": part[f"{name}-hi-80"].to_numpy(dtype="float64"),
            "lo95": part[f"{name}-lo-95"].to_numpy(dtype="float64"),
            "hi95": part[f"{name}-hi-95"].to_numpy(dtype="float64"),
        }
        clipped = _ordered(columns)
        values = _count_bounds({key: array * factor for key, array in clipped.items()})
        points[str(uid)] = [
            ForecastPoint(
                day=stamp.date(),
                mean=float(values["mean"][k]),
                lo80=float(values["lo80"][k]),
                hi80=float(values["hi80"][k]),
                lo95=float(values["lo95"][k]),
                hi95=float(values["hi95"][k]),
            )
            for k, stamp in enumerate(stamps)
        ]
    return points


def _history(item: _Prepared, frequency: Frequency) -> tuple[tuple[date, float], ...]:
    tail = item.raw.iloc[-HISTORY_SHOWN[frequency] :]
    return tuple((stamp.date(), float(value)) for stamp, value in tail.items())


def forecast_many(
    frame: pd.DataFrame,
    *,
    freq: Frequency,
    horizon: int | None = None,
    holidays: Holiday | None = None,
    n_jobs: int | None = None,
) -> dict[Any, SeriesResult]:
    """Forecast every series of ``frame`` (columns ``unique_id``, ``ds``, ``y``: **daily**
    counts, whatever ``freq``) at the frequency ``freq`` (``"day"``, or ``"week"``: summed
    to ISO weeks), ``horizon`` points ahead (84 days or 12 weeks by default), with the
    holiday adjustment of ``holidays`` (a predicate; ``None``: none).

    The series are grouped by the candidates their length allows and each group is one
    ``statsforecast`` backtest and one forecast per chosen model, run in ``n_jobs``
    processes (by default one for fewer than 20 series, else the machine's processors),
    started fresh rather than forked (:func:`_statsforecast`), so a caller's entry
    script must guard its work with ``if __name__ == "__main__"``.
    Returns a :class:`SeriesResult` per ``unique_id`` (``short`` when the history is too
    short: see :func:`needed_points`)."""
    if freq not in HORIZON:
        raise ValueError(f"freq must be 'day' or 'week', not {freq!r}")
    h = horizon or HORIZON[freq]
    needed = needed_points(freq, h)
    calendar = _Calendar(holidays)
    prepared = _prepare(frame, freq, calendar)
    jobs = n_jobs or _default_jobs(len(prepared))

    results: dict[Any, SeriesResult] = {}
    groups: dict[tuple[int, tuple[str, ...]], list[_Prepared]] = {}
    group_models: dict[tuple[int, tuple[str, ...]], tuple[list[Any], int]] = {}
    for uid, item in prepared.items():
        n = len(item.clean)
        last = item.raw.index[-1].date() if n else None
        if n < needed:
            results[uid] = SeriesResult(
                status="short",
                frequency=freq,
                history_points=n,
                needed_points=needed,
                horizon=h,
                holiday_ratio=item.ratio,
                history=_history(item, freq),
                last_day=last,
            )
            continue
        windows = min(MAX_WINDOWS, (n - MIN_TRAIN[freq]) // h)
        models, season = _models(freq, n - windows * h)
        key = (windows, (*(_alias(model) for model in models), f"season={season}"))
        groups.setdefault(key, []).append(item)
        group_models[key] = (models, season)

    with warnings.catch_warnings():
        # statsforecast warns about every fallback and about models it cannot fit to
        # series too short for a season: both are handled (the fallback is the baseline).
        warnings.simplefilter("ignore")
        for key, items in groups.items():
            windows = key[0]
            models, season = group_models[key]
            scores = _backtest(
                items,
                frequency=freq,
                horizon=h,
                windows=windows,
                models=models,
                calendar=calendar,
                n_jobs=jobs,
            )
            chosen: dict[str, tuple[str, float]] = {
                uid: _choose(candidate_scores) for uid, candidate_scores in scores.items()
            }
            by_model: dict[str, list[_Prepared]] = {}
            for item in items:
                by_model.setdefault(chosen[str(item.uid)][0], []).append(item)
            points: dict[str, list[ForecastPoint]] = {}
            for model in models:
                members = by_model.get(_alias(model))
                if members:
                    points.update(
                        _final(
                            members,
                            frequency=freq,
                            horizon=h,
                            model=model,
                            baseline=models[0],
                            calendar=calendar,
                            n_jobs=_default_jobs(len(members)) if n_jobs is None else jobs,
                        )
                    )
            for item in items:
                uid_key = str(item.uid)
                name, mase = chosen[uid_key]
                results[item.uid] = SeriesResult(
                    status="ok",
                    frequency=freq,
                    history_points=len(item.clean),
                    needed_points=needed,
                    horizon=h,
                    model=name,
                    mase=mase,
                    baseline_chosen=name == BASELINE,
                    windows=windows,
                    season_length=season,
                    holiday_ratio=item.ratio,
                    candidates=tuple(scores[uid_key]),
                    points=tuple(points[uid_key]),
                    history=_history(item, freq),
                    last_day=item.raw.index[-1].date(),
                )
    return results


def forecast_series(
    counts: pd.Series | Iterable[tuple[date, float]] | Mapping[date, float],
    *,
    freq: Frequency,
    horizon: int | None = None,
    holidays: Holiday | None = None,
) -> SeriesResult:
    """:func:`forecast_many` for one daily series (see :func:`daily_series`)."""
    series = daily_series(counts)
    frame = pd.DataFrame({"unique_id": "series", "ds": series.index, "y": series.to_numpy()})
    if frame.empty:
        needed = needed_points(freq, horizon)
        return SeriesResult(
            status="short",
            frequency=freq,
            history_points=0,
            needed_points=needed,
            horizon=horizon or HORIZON[freq],
        )
    return forecast_many(frame, freq=freq, horizon=horizon, holidays=holidays, n_jobs=1)["series"]


def week_monday(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def interval_contains(point: Mapping[str, Any], value: float, level: int = 95) -> bool:
    """Whether ``value`` lies in a stored point's ``level``% interval (bounds included)."""
    low, high = float(point[f"lo{level}"]), float(point[f"hi{level}"])
    return low - 1e-9 <= value <= high + 1e-9 and not math.isnan(value)
