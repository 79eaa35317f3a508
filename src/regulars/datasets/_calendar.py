"""The simulation calendar: days, seasonality and random days drawn by intensity."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from regulars.datasets._params import SimulationParams
from regulars.errors import ConfigError

__all__ = ["Calendar", "make_calendar", "parse_start", "tilt"]

DAYS_PER_YEAR = 365.25

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def parse_start(start: str | dt.date) -> dt.date:
    """``start`` as a date; a clear error for text that is not YYYY-MM-DD."""
    if isinstance(start, dt.datetime):
        return start.date()
    if isinstance(start, dt.date):
        return start
    try:
        return dt.date.fromisoformat(str(start))
    except ValueError:
        raise ConfigError(
            f"start = {start!r} is not a date (expected YYYY-MM-DD, for example '2022-01-01')."
        ) from None


@dataclass(frozen=True)
class Calendar:
    """Days ``0 .. n_days - 1`` after ``start`` with their order intensity.

    ``cum[d]`` is the integrated intensity of days ``0 .. d - 1`` in years, so an
    event process with yearly rate ``r`` has ``r * (cum[b] - cum[a])`` expected events
    on days ``a .. b - 1``.  The intensity is seasonality x weekday weight, scaled to
    average 1 over the horizon.
    """

    start: dt.date
    n_days: int
    epoch_day: int
    weight: FloatArray
    cum: FloatArray
    day_of_month: IntArray
    month: IntArray  # months since the start month

    @property
    def end(self) -> dt.date:
        """The first day after the simulation (exclusive end)."""
        return self.start + dt.timedelta(days=self.n_days)

    def draw_days(
        self,
        rng: np.random.Generator,
        lo: IntArray,
        hi: IntArray,
        rate: FloatArray,
    ) -> tuple[IntArray, IntArray]:
        """Poisson events with yearly ``rate`` on days ``lo .. hi - 1`` of each row.

        Returns ``(row, day)``: the row each event belongs to and its day.
        """
        lo = np.clip(lo, 0, self.n_days)
        hi = np.clip(hi, lo, self.n_days)
        c_lo = self.cum[lo]
        span = self.cum[hi] - c_lo
        counts = rng.poisson(np.maximum(rate, 0.0) * span)
        row = np.repeat(np.arange(len(lo), dtype=np.int64), counts)
        target = c_lo[row] + rng.random(len(row)) * span[row]
        day = np.searchsorted(self.cum, target, side="right").astype(np.int64) - 1
        day = np.clip(day, lo[row], hi[row] - 1)
        return row, day

    def month_start(self, month: IntArray) -> IntArray:
        """Day number of the first day of ``month`` (months since the start month)."""
        first = np.datetime64(self.start, "M") + month.astype("timedelta64[M]")
        return (first.astype("datetime64[D]") - np.datetime64(self.start, "D")).astype(np.int64)


def make_calendar(start: dt.date, years: int, params: SimulationParams) -> Calendar:
    """The calendar of ``years`` years from ``start`` (same day and month, exclusive)."""
    if years < 1:
        raise ConfigError(f"years = {years!r} must be at least 1.")
    try:
        end = start.replace(year=start.year + years)
    except ValueError:  # 29 February
        end = start.replace(year=start.year + years, day=28)
    n_days = (end - start).days
    d0 = np.datetime64(start, "D")
    days = d0 + np.arange(n_days + 62).astype("timedelta64[D]")
    months = days.astype("datetime64[M]")
    month_of_year = months.astype(np.int64) % 12
    dom = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    weight = (
        np.asarray(params.seasonality)[month_of_year[:n_days]]
        * np.asarray(params.weekdays)[weekday[:n_days]]
    )
    weight = weight / weight.mean()
    cum = np.concatenate([[0.0], np.cumsum(weight) / DAYS_PER_YEAR])
    month = (months - np.datetime64(start, "M")).astype(np.int64)
    return Calendar(
        start=start,
        n_days=n_days,
        epoch_day=int(d0.astype(np.int64)),
        weight=weight,
        cum=cum,
        day_of_month=dom,
        month=month,
    )


def tilt(p: float, z: FloatArray, k: float, cap: float = 0.95) -> FloatArray:
    """Probability ``p`` tilted by loyalty ``z``: ``p * exp(k z - k^2 / 2)``, capped.

    The correction keeps the mean near ``p`` for standard-normal ``z``.
    """
    return np.minimum(p * np.exp(k * z - 0.5 * k * k), cap)
