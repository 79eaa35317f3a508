"""Renewals and survival of subscriptions: renewal rates, Kaplan-Meier, sBG projections.

Built on the spans of :func:`regulars.metrics.subscriptions.subscription_spans`, so
the ``[subscriptions] churn_at`` convention decides when a subscription stopped.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from regulars.config import Config, Period
from regulars.errors import ConfigError, RegularsError
from regulars.metrics._common import (
    TablesLike,
    attach_channels,
    index_to_start,
    metric_context,
    period_index,
    resolve_period,
    safe_ratio,
)
from regulars.metrics._spans import subscription_spans

__all__ = ["renewal_rates", "subscription_projection", "subscription_survival"]

#: Length of a billing period in months (weeks are counted in days).
_BILLING_MONTHS = {"month": 1, "quarter": 3, "year": 12}
_BILLING = ("week", "month", "quarter", "year")

SurvivalBy = Literal["channel_kind", "channel", "plan", "billing_period"]
_SURVIVAL_BY: tuple[str, ...] = ("channel_kind", "channel", "plan", "billing_period")


def _paid_periods(sp: ir.Table) -> ir.IntegerValue:
    """Billing periods started before the stop (or before the day after ``as_of``)."""
    stop = ibis.cases((sp.churned, sp.stop), else_=sp.as_of + ibis.interval(days=1))
    start = sp.start
    months = (stop.year() - start.year()) * 12 + (stop.month() - start.month())
    elapsed = months + ibis.cases((start.day() < stop.day(), 1), else_=0)
    days = (stop.epoch_days() - start.epoch_days()).cast("int64")
    pairs = [
        (sp.billing_period == name, (elapsed.cast("int64") + (m - 1)) // m)
        for name, m in _BILLING_MONTHS.items()
    ]
    return ibis.cases((sp.billing_period == "week", (days + 6) // 7), *pairs).cast("int64")


def renewal_rates(
    data: TablesLike,
    /,
    *,
    period: Period | None = None,
    by_cohort: bool = False,
    as_of: _dt.date | str | None = None,
    config: Config | None = None,
) -> ir.Table:
    """Renewal rate per renewal number: of those that reached renewal k, the share that renewed.

    Renewal k is the start of billing period k + 1.  A subscription with n billing
    periods begun before it stopped (or before ``as_of`` + 1 day while it still runs)
    renewed at 1 … n − 1; if it churned, it reached renewal n and did not renew; if it
    still runs, renewal n lies in the future and is not counted.

    Parameters
    ----------
    data : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``subscriptions``.
    period : {"month", "quarter", "year"}, optional
        The cohort period (the period of ``start_date``) when ``by_cohort``.
    by_cohort : bool, default False
        One curve per start cohort instead of one per billing period.
    as_of : date or ISO string, optional
        The end of observation.
    config : Config, optional
        Overrides the workspace configuration (``churn_at``).

    Returns
    -------
    ibis.Table
        ``cohort`` (when ``by_cohort``), ``billing_period``, ``renewal`` (k ≥ 1),
        ``reached``, ``renewed``, ``churned``, ``renewal_rate``.  Renewals nobody
        reached are left out.  Weekly billing counts 7-day periods; months, quarters
        and years follow the calendar from the start day.
    """
    ctx = metric_context(data, config)
    per = resolve_period(period, ctx.config)
    sp = subscription_spans(ctx, as_of=as_of)
    sp = sp.mutate(n=_paid_periods(sp), cohort_index=period_index(sp.start, per))
    keys = ["billing_period", *(["cohort_index"] if by_cohort else [])]
    by_n = sp.group_by([*keys, "n"]).aggregate(cnt=sp.count(), ended=sp.churned.cast("int64").sum())
    tops = sp.group_by(keys).aggregate(max_n=sp.n.max(), total=sp.count())
    grid = tops.mutate(k=ibis.range(0, tops.max_n + 1)).unnest("k")
    grid = grid.mutate(k=grid.k.cast("int64"))
    b = by_n.rename({f"_b_{k}": k for k in [*keys, "n"]})
    t = grid.left_join(b, [grid[k] == b[f"_b_{k}"] for k in keys] + [grid.k == b._b_n])
    t = t.select(*keys, "k", "total", cnt=t.cnt.fill_null(0), ended=t.ended.fill_null(0))
    upto = ibis.window(group_by=keys, order_by=[t.k], rows=(None, 0))
    t = t.mutate(renewed=(t.total - t.cnt.sum().over(upto)).cast("int64"))
    t = t.mutate(reached=(t.renewed + t.ended).cast("int64"))
    t = t.filter(t.k >= 1, t.reached > 0)
    cohort = [index_to_start(t.cohort_index, per).name("cohort")] if by_cohort else []
    out = t.select(
        *cohort,
        billing_period=t.billing_period,
        renewal=t.k,
        reached=t.reached,
        renewed=t.renewed,
        churned=t.ended.cast("int64"),
        renewal_rate=safe_ratio(t.renewed, t.reached),
    )
    return out.order_by([*(["cohort"] if by_cohort else []), "billing_period", "renewal"])


def subscription_survival(
    data: TablesLike,
    /,
    *,
    by: SurvivalBy | None = None,
    as_of: _dt.date | str | None = None,
    config: Config | None = None,
) -> ir.Table:
    """Kaplan-Meier survival of subscriptions, in days from start to churn.

    A subscription that churned (its stop under ``churn_at`` is on or before
    ``as_of``) has duration ``stop − start`` days and is an event; one still running
    is censored at ``as_of + 1 − start`` days.  At each distinct duration t,
    ``S(t) = Π_{u ≤ t} (1 − churned_u / at_risk_u)``, where ``at_risk_u`` counts the
    subscriptions whose duration is at least u (censoring at u happens after the
    events at u).

    Parameters
    ----------
    data : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``subscriptions``; ``customers`` for ``by="channel_kind"``/``"channel"``.
    by : {"channel_kind", "channel", "plan", "billing_period"}, optional
        One curve per group, for example referred vs cold-acquired subscribers.
    as_of : date or ISO string, optional
        The end of observation.
    config : Config, optional
        Overrides the workspace configuration (``churn_at``).

    Returns
    -------
    ibis.Table
        ``by`` column when given, ``days``, ``at_risk``, ``churned``, ``censored``,
        ``survival``: one row per distinct duration.

    References
    ----------
    Kaplan, E. L. and Meier, P. (1958). Nonparametric estimation from incomplete
    observations. Journal of the American Statistical Association 53(282), 457-481.
    """
    ctx = metric_context(data, config)
    if by is not None and by not in _SURVIVAL_BY:
        raise ConfigError(
            f"by = {by!r} is not valid. Valid values: {', '.join(map(repr, _SURVIVAL_BY))} "
            "or None (one curve)."
        )
    sp = subscription_spans(ctx, as_of=as_of)
    if by in ("channel_kind", "channel"):
        sp = attach_channels(ctx, sp)
    keys = [by] if by is not None else []
    end = ibis.cases((sp.churned, sp.stop), else_=sp.as_of + ibis.interval(days=1))
    sp = sp.mutate(days=(end.epoch_days() - sp.start.epoch_days()).cast("int64"))
    g = sp.group_by([*keys, "days"]).aggregate(
        churned=sp.churned.cast("int64").sum(),
        censored=(~sp.churned).cast("int64").sum(),
    )
    upto = ibis.window(group_by=keys, order_by=[g.days], rows=(None, 0))
    removed = g.churned + g.censored
    g = g.mutate(
        at_risk=(removed.sum().over(group_by=keys) - removed.sum().over(upto) + removed).cast(
            "int64"
        )
    )
    factor = 1.0 - g.churned.cast("float64") / g.at_risk.cast("float64")
    g = g.mutate(
        _log=ibis.cases((factor > 0, factor), else_=1.0).ln(),
        _zero=ibis.cases((factor <= 0, 1), else_=0),
    )
    g = g.mutate(_cum_log=g._log.sum().over(upto), _any_zero=g._zero.max().over(upto))
    out = g.select(
        *keys,
        days=g.days,
        at_risk=g.at_risk,
        churned=g.churned.cast("int64"),
        censored=g.censored.cast("int64"),
        survival=ibis.cases((g._any_zero > 0, 0.0), else_=g._cum_log.exp()),
    )
    return out.order_by([*keys, "days"])


def _survivor_counts(sp: ir.Table, per: Period, billing_period: str) -> ir.Table:
    """Subscriptions per start cohort, paid periods n and churn flag (small)."""
    sp = sp.filter(sp.billing_period == billing_period)
    sp = sp.mutate(n=_paid_periods(sp), cohort_index=period_index(sp.start, per))
    return sp.group_by("cohort_index", "n", "churned").aggregate(cnt=sp.count())


def _fit_sbg(rows: list[tuple[int, bool, int]]) -> tuple[float, float, Any] | None:
    """Fit the sBG model on (paid periods, churned, count) rows; None when unidentified."""
    from regulars.models import ShiftedBetaGeoModel

    data = {
        "periods": [float(n) for n, _, _ in rows],
        "churned": [1.0 if churned else 0.0 for _, churned, _ in rows],
        "weight": [float(c) for _, _, c in rows],
    }
    try:
        model = ShiftedBetaGeoModel().fit(data)
    except (RegularsError, ValueError, ArithmeticError):
        return None
    alpha = float(model.params_["alpha"])
    beta = float(model.params_["beta"])
    if not (math.isfinite(alpha) and math.isfinite(beta)):
        return None
    return alpha, beta, model


def subscription_projection(
    data: TablesLike,
    /,
    *,
    period: Period | None = None,
    billing_period: str = "month",
    horizon: int = 12,
    as_of: _dt.date | str | None = None,
    config: Config | None = None,
) -> ir.Table:
    """Survival per start cohort, observed and projected with the shifted-beta-geometric model.

    For each cohort (subscriptions with ``billing_period`` that started in the same
    period), ``survivors(k)`` is the number that renewed at least k times
    (``survivors(0)`` is the cohort).  It is known for every k up to the smallest
    number of renewals any still-running subscription has had.  The model
    (:class:`~regulars.models.ShiftedBetaGeoModel`) is fitted on every subscription of
    the cohort: its paid periods and whether it churned, grouped into distinct rows, so
    a running subscription counts as censored at whatever renewal it has reached (with
    one censoring point this is the same fit as ``fit_survivors`` on the counts).  The
    fitted survival ``S(k) = B(alpha, beta + k) / B(alpha, beta)`` is projected to
    ``horizon`` renewals.

    Parameters
    ----------
    data : Workspace, MetricContext or mapping of table name to Ibis table
        Needs ``subscriptions``.
    period : {"month", "quarter", "year"}, optional
        The cohort period; default ``[workspace] period``.
    billing_period : {"week", "month", "quarter", "year"}, default "month"
        Which subscriptions: renewal k means a different time for each billing period.
    horizon : int, default 12
        The last renewal number projected.
    as_of : date or ISO string, optional
        The end of observation.
    config : Config, optional
        Overrides the workspace configuration (``churn_at``).

    Returns
    -------
    ibis.Table
        An in-memory table (the fit runs in Python on a few counts per cohort):
        ``cohort``, ``billing_period``, ``renewal`` (0 … horizon, or further while
        observed), ``customers`` (the cohort's subscriptions), ``observed_survivors``
        and ``observed_survival`` (null where not yet known), ``projected_survival``
        and ``projected_survivors`` (null when nobody in the cohort churned, nobody
        reached a second renewal, or the fit failed), ``alpha``, ``beta``.

    References
    ----------
    Fader, P. S. and Hardie, B. G. S. (2007). How to project customer retention.
    Journal of Interactive Marketing 21(1), 76-90.
    """
    ctx = metric_context(data, config)
    per = resolve_period(period, ctx.config)
    if billing_period not in _BILLING:
        raise ConfigError(
            f"billing_period = {billing_period!r} is not valid. Valid values: "
            f"{', '.join(map(repr, _BILLING))}."
        )
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 0:
        raise ConfigError(
            f"horizon = {horizon!r} is not valid (expected a whole number of renewals, "
            "for example horizon=12)."
        )
    sp = subscription_spans(ctx, as_of=as_of)
    counts = _survivor_counts(sp, per, billing_period).to_pyarrow().to_pylist()
    cohorts: dict[int, list[tuple[int, bool, int]]] = {}
    for row in counts:
        cohorts.setdefault(int(row["cohort_index"]), []).append(
            (int(row["n"]), bool(row["churned"]), int(row["cnt"]))
        )
    out: dict[str, list[Any]] = {
        "cohort_index": [],
        "renewal": [],
        "customers": [],
        "observed_survivors": [],
        "projected_survival": [],
        "alpha": [],
        "beta": [],
    }
    for cohort_index in sorted(cohorts):
        rows = cohorts[cohort_index]
        size = sum(c for _, _, c in rows)
        running = [n for n, churned, _ in rows if not churned]
        known = (min(running) - 1) if running else max(n for n, _, _ in rows)
        survivors = [sum(c for n, _, c in rows if n >= k + 1) for k in range(known + 1)]
        identified = any(churned for _, churned, _ in rows) and max(n for n, _, _ in rows) >= 3
        fit = _fit_sbg(rows) if identified else None
        last = max(horizon, known)
        projected: list[float | None] = [None] * (last + 1)
        if fit is not None:
            projected = [float(v) for v in fit[2].survival(list(range(last + 1)))]
        for k in range(last + 1):
            out["cohort_index"].append(cohort_index)
            out["renewal"].append(k)
            out["customers"].append(size)
            out["observed_survivors"].append(survivors[k] if k <= known else None)
            out["projected_survival"].append(projected[k])
            out["alpha"].append(fit[0] if fit else None)
            out["beta"].append(fit[1] if fit else None)
    table = pa.table(
        out,
        schema=pa.schema(
            [
                ("cohort_index", pa.int64()),
                ("renewal", pa.int64()),
                ("customers", pa.int64()),
                ("observed_survivors", pa.int64()),
                ("projected_survival", pa.float64()),
                ("alpha", pa.float64()),
                ("beta", pa.float64()),
            ]
        ),
    )
    t = ibis.memtable(table)
    result = t.select(
        cohort=index_to_start(t.cohort_index, per),
        billing_period=ibis.literal(billing_period),
        renewal=t.renewal,
        customers=t.customers,
        observed_survivors=t.observed_survivors,
        observed_survival=safe_ratio(t.observed_survivors, t.customers),
        projected_survival=t.projected_survival,
        projected_survivors=t.projected_survival * t.customers.cast("float64"),
        alpha=t.alpha,
        beta=t.beta,
    )
    return result.order_by(["cohort", "renewal"])
