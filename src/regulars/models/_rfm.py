"""RFM summaries for the BTYD models, computed inside the engine.

The models need three numbers per customer, the *sufficient statistics* of their
purchase history: ``frequency`` (repeat purchase periods), ``recency`` (first to last
purchase) and ``T`` (first purchase to the end of observation), plus the mean repeat
spend for the Gamma-Gamma model.  This module computes them as one backend-neutral
Ibis expression, so the transactions never leave the engine (DuckDB or Spark).

The convention is the one of the BTYD literature and of ``lifetimes``
(``summary_data_from_transaction_data``); the Notes of :func:`rfm_summary` state it
exactly and list the few places where regulars deliberately differs.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal, get_args

import ibis
import ibis.expr.datatypes as dt_types
import ibis.expr.types as ir

from regulars.errors import SchemaError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "TIME_UNIT_DAYS",
    "TimeUnit",
    "as_ibis_table",
    "calibration_holdout_summary",
    "purchase_periods",
    "rfm_summary",
]

TimeUnit = Literal["D", "W", "M"]
TIME_UNITS: tuple[str, ...] = get_args(TimeUnit)

#: Length of each time unit in days.  A month is the mean Gregorian month,
#: 365.2425 / 12 days, the value pandas (and so lifetimes) uses for ``freq="M"``.
TIME_UNIT_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.2425 / 12.0}

DateLike = dt.date | dt.datetime | str


def as_ibis_table(data: Any, *, name: str = "transactions") -> ir.Table:
    """``data`` as an Ibis table: Ibis tables pass through, frames become memtables.

    Accepts an Ibis table, a pandas or polars DataFrame, or a pyarrow Table.
    """
    if isinstance(data, ir.Table):
        return data
    try:
        import pandas as pd
        import pyarrow as pa

        # Go through Arrow ourselves: ibis.memtable on a pandas 3 frame reads a
        # pandas option that pandas 3 deprecates (a warning on every call).
        if isinstance(data, pd.DataFrame):
            data = pa.Table.from_pandas(data, preserve_index=False)
        elif hasattr(data, "to_arrow") and not isinstance(data, pa.Table):
            data = data.to_arrow()  # polars
        return ibis.memtable(data)
    except Exception as exc:  # ibis raises several kinds for unsupported input
        raise SchemaError(
            f"Cannot read {name} from a {type(data).__name__}: {exc}. "
            "Pass an Ibis table, a pandas or polars DataFrame, or a pyarrow Table."
        ) from None


@ibis.udf.agg.builtin(name="min_by")
def _min_by(arg: dt_types.float64, key: dt_types.date) -> dt_types.float64:
    """``arg`` of the row with the smallest ``key``.

    DuckDB's own ``arg_min`` and Spark's ``min_by``; Ibis' ``argmin`` compiles to an
    ordered ``FIRST`` on DuckDB, which sorts each group and is several times slower.
    """


def _check_choice(name: str, value: object, valid: Sequence[str]) -> None:
    if value not in valid:
        raise ValueError(
            f"{name}={value!r} is not valid. Valid values: "
            + ", ".join(repr(v) for v in valid)
            + "."
        )


def _check_columns(t: ir.Table, cols: dict[str, str | None], what: str) -> None:
    existing = list(t.columns)
    for arg, col in cols.items():
        if col is not None and col not in existing:
            raise SchemaError(
                f"Column {col!r} (from {arg}) not found in {what}. Existing columns: "
                + ", ".join(repr(c) for c in existing)
                + f". Pass {arg}='<column name>'."
            )


def _to_date(value: DateLike, arg: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip()).date()
        except ValueError:
            pass
    # pandas.Timestamp and numpy.datetime64 have .date() / can be converted.
    to_date = getattr(value, "date", None)
    if callable(to_date):
        result = to_date()
        if isinstance(result, dt.date):
            return result
    raise ValueError(
        f"{arg}={value!r} is not a date (expected a datetime.date, a datetime or an "
        "ISO string such as '1997-09-30')."
    )


def _date_column(t: ir.Table, datetime_col: str) -> ir.Value:
    """The purchase date or timestamp column (ISO text is parsed as a timestamp)."""
    col = t[datetime_col]
    dtype = col.type()
    if dtype.is_date() or dtype.is_timestamp():
        return col
    if dtype.is_string():
        return col.cast("timestamp")
    raise SchemaError(
        f"Column {datetime_col!r} has type {dtype}; expected a date or a timestamp "
        "(or ISO text). Convert it, or pass datetime_col='<date column>'."
    )


def _as_day(col: ir.Value) -> ir.DateValue:
    """The calendar date of a date or timestamp value (time of day dropped)."""
    if col.type().is_date():
        return col
    return col.cast("date")


def _bound(col: ir.Value, day: dt.date) -> ir.Value:
    """A literal to compare ``col`` with: ``day`` itself, or its midnight."""
    if col.type().is_date():
        return ibis.literal(day)
    return ibis.literal(dt.datetime.combine(day, dt.time()))


def _period_start(day: ir.DateValue, merge_period: str) -> ir.DateValue:
    """The first day of the period ``day`` falls in.

    Weeks start on Monday (pandas' ``W`` = ``W-SUN`` periods, ISO weeks), months on
    the first.
    """
    if merge_period == "W":
        return day.truncate("W").cast("date")
    if merge_period == "M":
        return day.truncate("M").cast("date")
    return day


def _scalar_period_start(day: dt.date, merge_period: str) -> dt.date:
    if merge_period == "M":
        return day.replace(day=1)
    if merge_period == "W":
        return day - dt.timedelta(days=day.weekday())
    return day


def _per_period(
    t: ir.Table,
    *,
    customer_id_col: str,
    datetime_col: str,
    monetary_value_col: str | None,
    merge_period: str,
    after: dt.date | None,
    until: dt.date | None,
) -> ir.Table:
    """One row per (customer, purchase period): the period start and its total spend.

    Keeps the purchases made after day ``after`` and up to day ``until`` (inclusive).
    The bounds compare the raw column (a timestamp is compared with midnight of the
    next day), so the engine can skip row groups and no per-row cast is needed.
    """
    when = _date_column(t, datetime_col)
    cond = [t[customer_id_col].notnull(), when.notnull()]
    if after is not None:
        cond.append(when >= _bound(when, after + dt.timedelta(days=1)))
    if until is not None:
        cond.append(when < _bound(when, until + dt.timedelta(days=1)))
    cols: dict[str, ir.Value] = {
        "customer_id": t[customer_id_col],
        "_period": _period_start(_as_day(when), merge_period),
    }
    if monetary_value_col is None:
        return t.filter(*cond).select(**cols).distinct()
    money = t[monetary_value_col]
    if not money.type().is_numeric():
        raise SchemaError(
            f"Column {monetary_value_col!r} has type {money.type()}; expected a "
            "number (money). Pass monetary_value_col='<amount column>'."
        )
    cols["_value"] = money
    base = t.filter(*cond).select(**cols)
    return base.group_by(["customer_id", "_period"]).aggregate(
        _total=base["_value"].sum().cast("float64").fill_null(0.0)
    )


def purchase_periods(
    transactions: Any,
    /,
    *,
    customer_id_col: str = "customer_id",
    datetime_col: str = "order_date",
    after: DateLike | None = None,
    until: DateLike | None = None,
    merge_period: TimeUnit = "D",
) -> ir.Table:
    """One row per customer and purchase period: ``customer_id`` and ``period``.

    ``period`` is the first day of the period (see :func:`rfm_summary`).  Only the
    purchases after day ``after`` and up to day ``until`` (inclusive) count.
    """
    t = as_ibis_table(transactions)
    _check_choice("merge_period", merge_period, TIME_UNITS)
    _check_columns(
        t, {"customer_id_col": customer_id_col, "datetime_col": datetime_col}, "transactions"
    )
    periods = _per_period(
        t,
        customer_id_col=customer_id_col,
        datetime_col=datetime_col,
        monetary_value_col=None,
        merge_period=merge_period,
        after=None if after is None else _to_date(after, "after"),
        until=None if until is None else _to_date(until, "until"),
    )
    return periods.rename(period="_period")


def rfm_summary(
    transactions: Any,
    /,
    *,
    customer_id_col: str = "customer_id",
    datetime_col: str = "order_date",
    monetary_value_col: str | None = None,
    observation_end: DateLike | None = None,
    time_unit: TimeUnit = "D",
    merge_period: TimeUnit = "D",
) -> ir.Table:
    """One row per customer: ``frequency``, ``recency``, ``T`` (and ``monetary_value``).

    Parameters
    ----------
    transactions
        One row per purchase: an Ibis table (DuckDB, Spark...), or a pandas/polars
        DataFrame or pyarrow Table (wrapped in an in-memory Ibis table).
    customer_id_col, datetime_col
        The columns holding the customer and the purchase date or timestamp.
    monetary_value_col
        The column holding the purchase amount.  When given, the result has a
        ``monetary_value`` column.
    observation_end
        The last day observed (inclusive).  Purchases after it are ignored.  Default:
        the date of the last purchase in ``transactions``.
    time_unit
        The unit of ``recency`` and ``T``: ``"D"`` days, ``"W"`` weeks of 7 days,
        ``"M"`` mean months of 365.2425 / 12 days.  Values are fractional when the
        unit is longer than ``merge_period``.
    merge_period
        Purchases of one customer in the same period merge into one: ``"D"`` (the
        default) the same calendar day, ``"W"`` the same Monday-to-Sunday week,
        ``"M"`` the same calendar month.

    Returns
    -------
    ibis.expr.types.Table
        A lazy table with columns ``customer_id``, ``frequency`` (int64), ``recency``,
        ``T`` and, with ``monetary_value_col``, ``monetary_value`` (float64).  Rows
        come in no particular order.

    Notes
    -----
    The BTYD convention (Fader, Hardie & Lee 2005), as in lifetimes'
    ``summary_data_from_transaction_data``:

    * every date is replaced by the start of its ``merge_period`` (the date itself,
      its week's Monday, or the first of its month), and each customer's purchases
      with the same start merge into one *purchase period*, whose spend is the sum;
    * ``frequency`` is the number of purchase periods minus one (repeat periods);
    * ``recency`` is the time from the first to the last purchase period, ``T`` the
      time from the first purchase period to the period that holds
      ``observation_end``, both in days divided by the length of ``time_unit``;
    * ``monetary_value`` is the mean spend of the repeat purchase periods (the first
      is left out), and 0 when ``frequency`` is 0.

    ``merge_period="D"`` with ``time_unit="W"`` is lifetimes' ``freq="D",
    freq_multiplier=7`` (the CDNOW summaries of the papers); ``merge_period`` equal
    to ``time_unit`` is lifetimes' ``freq="W"`` or ``freq="M"`` (whole weeks; months
    of 30.436875 days between month starts).  One difference: lifetimes keeps
    purchases made after ``observation_end`` when they fall in the same week or month
    as ``observation_end``; regulars never counts a purchase after
    ``observation_end``.  Rows with a missing customer or date are skipped; a missing
    amount counts as 0.

    The expression is two aggregations (customer and period, then customer) with no
    window function, so the engine reads the transactions once.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your
       Customers the Easy Way: An Alternative to the Pareto/NBD Model".
       Marketing Science 24(2), 275-284.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-15",
    ...                                   "2024-01-10"]),
    ...     "revenue": [10.0, 5.0, 20.0, 7.0],
    ... })
    >>> rfm = rfm_summary(tx, monetary_value_col="revenue", observation_end="2024-01-29")
    >>> rfm.order_by("customer_id").to_pyarrow().to_pandas()
      customer_id  frequency  recency     T  monetary_value
    0           a          1     14.0  28.0            20.0
    1           b          0      0.0  19.0             0.0
    """
    t = as_ibis_table(transactions)
    _check_choice("time_unit", time_unit, TIME_UNITS)
    _check_choice("merge_period", merge_period, TIME_UNITS)
    _check_columns(
        t,
        {
            "customer_id_col": customer_id_col,
            "datetime_col": datetime_col,
            "monetary_value_col": monetary_value_col,
        },
        "transactions",
    )
    end = None if observation_end is None else _to_date(observation_end, "observation_end")
    periods = _per_period(
        t,
        customer_id_col=customer_id_col,
        datetime_col=datetime_col,
        monetary_value_col=monetary_value_col,
        merge_period=merge_period,
        after=None,
        until=end,
    )
    return _summarise(
        periods,
        end_period=_end_period(t, datetime_col, end, merge_period),
        unit_days=TIME_UNIT_DAYS[time_unit],
        monetary=monetary_value_col is not None,
    )


def _end_period(
    t: ir.Table, datetime_col: str, end: dt.date | None, merge_period: str
) -> ir.DateValue:
    """The start of the period holding ``end`` (default: the last purchase date)."""
    if end is not None:
        return ibis.literal(_scalar_period_start(end, merge_period))
    last = _as_day(_date_column(t, datetime_col).max())
    return _period_start(last, merge_period)


def _days(later: ir.DateValue, earlier: ir.DateValue, unit_days: float) -> ir.FloatingValue:
    return later.delta(earlier, unit="day").cast("float64") / unit_days


def _summarise(
    periods: ir.Table,
    *,
    end_period: ir.DateValue,
    unit_days: float,
    monetary: bool,
    suffix: str = "",
) -> ir.Table:
    """Per customer: count, first and last period, and the repeat periods' mean spend.

    Window-free: ``min_by`` picks the first period's total (periods are unique per
    customer, so there are no ties).
    """
    p = periods
    aggs: dict[str, ir.Value] = {
        "_n": p.count(),
        "_first": p["_period"].min(),
        "_last": p["_period"].max(),
    }
    if monetary:
        aggs["_sum"] = p["_total"].sum()
        aggs["_first_total"] = _min_by(p["_total"], p["_period"])
    c = p.group_by("customer_id").aggregate(**aggs)
    frequency = (c["_n"] - 1).cast("int64")
    cols: dict[str, ir.Value] = {
        "customer_id": c["customer_id"],
        f"frequency{suffix}": frequency,
        f"recency{suffix}": _days(c["_last"], c["_first"], unit_days),
        f"T{suffix}": _days(end_period, c["_first"], unit_days),
    }
    if monetary:
        repeat_total = (c["_sum"] - c["_first_total"]).cast("float64")
        cols[f"monetary_value{suffix}"] = ibis.cases(
            (frequency > 0, repeat_total / frequency.cast("float64")), else_=0.0
        )
    return c.select(**cols)


def calibration_holdout_summary(
    transactions: Any,
    /,
    *,
    calibration_end: DateLike,
    observation_end: DateLike | None = None,
    customer_id_col: str = "customer_id",
    datetime_col: str = "order_date",
    monetary_value_col: str | None = None,
    time_unit: TimeUnit = "D",
    merge_period: TimeUnit = "D",
) -> ir.Table:
    """The RFM summary up to ``calibration_end`` plus what each customer did after it.

    Customers whose first purchase is on or before ``calibration_end`` get one row.
    The calibration columns are those of :func:`rfm_summary` with the suffix ``_cal``,
    computed with ``observation_end=calibration_end``.  The holdout columns describe
    the purchases after ``calibration_end`` up to ``observation_end`` (inclusive):

    * ``frequency_holdout``: the number of purchase periods in the holdout (each is a
      repeat purchase, since the customer bought before);
    * ``monetary_value_holdout`` (with ``monetary_value_col``): the mean spend of
      those periods, 0 when there are none;
    * ``duration_holdout``: the length of the holdout in ``time_unit``, the same for
      every customer.

    Parameters
    ----------
    transactions, customer_id_col, datetime_col, monetary_value_col, time_unit, merge_period
        As in :func:`rfm_summary`.
    calibration_end
        The last day of the calibration period (inclusive).
    observation_end
        The last day of the holdout (inclusive).  Default: the date of the last
        purchase in ``transactions``.

    Returns
    -------
    ibis.expr.types.Table
        ``customer_id, frequency_cal, recency_cal, T_cal[, monetary_value_cal],
        frequency_holdout[, monetary_value_holdout], duration_holdout``.

    Notes
    -----
    This is lifetimes' ``calibration_and_holdout_data`` with two differences:
    ``monetary_value_holdout`` is the mean of the holdout purchase *periods* (the
    same merged spend the Gamma-Gamma model predicts, where lifetimes averages the
    raw rows), and ``duration_holdout`` is measured like ``T`` (days between period
    starts divided by the unit's length, where lifetimes counts whole periods).  For
    ``merge_period="D"`` the durations agree.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your
       Customers the Easy Way: An Alternative to the Pareto/NBD Model".
       Marketing Science 24(2), 275-284.
    """
    t = as_ibis_table(transactions)
    _check_choice("time_unit", time_unit, TIME_UNITS)
    _check_choice("merge_period", merge_period, TIME_UNITS)
    _check_columns(
        t,
        {
            "customer_id_col": customer_id_col,
            "datetime_col": datetime_col,
            "monetary_value_col": monetary_value_col,
        },
        "transactions",
    )
    cal_end = _to_date(calibration_end, "calibration_end")
    end = None if observation_end is None else _to_date(observation_end, "observation_end")
    if end is not None and end <= cal_end:
        raise ValueError(
            f"observation_end={end.isoformat()} must be after calibration_end="
            f"{cal_end.isoformat()}: the holdout runs from the day after calibration_end "
            "to observation_end."
        )
    monetary = monetary_value_col is not None
    kw: dict[str, Any] = {
        "customer_id_col": customer_id_col,
        "datetime_col": datetime_col,
        "monetary_value_col": monetary_value_col,
        "merge_period": merge_period,
    }
    unit_days = TIME_UNIT_DAYS[time_unit]
    cal_period = ibis.literal(_scalar_period_start(cal_end, merge_period))
    cal = _summarise(
        _per_period(t, after=None, until=cal_end, **kw),
        end_period=cal_period,
        unit_days=unit_days,
        monetary=monetary,
        suffix="_cal",
    )
    hold_periods = _per_period(t, after=cal_end, until=end, **kw)
    hold_aggs: dict[str, ir.Value] = {"_x": hold_periods.count()}
    if monetary:
        hold_aggs["_m"] = hold_periods["_total"].mean()
    hold = hold_periods.group_by("customer_id").aggregate(**hold_aggs)
    hold = hold.rename(_hold_customer_id="customer_id")
    joined = cal.left_join(hold, cal["customer_id"] == hold["_hold_customer_id"])
    end_period = _end_period(t, datetime_col, end, merge_period)
    cols: dict[str, ir.Value] = {c: joined[c] for c in cal.columns}
    cols["frequency_holdout"] = joined["_x"].fill_null(0).cast("int64")
    if monetary:
        cols["monetary_value_holdout"] = joined["_m"].cast("float64").fill_null(0.0)
    cols["duration_holdout"] = _days(end_period, cal_period, unit_days).as_scalar()
    return joined.select(**cols)
