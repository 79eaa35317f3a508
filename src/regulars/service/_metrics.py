"""One metric registry: the name every surface uses -> the function in regulars.metrics."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from regulars.errors import RegularsError

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["METRICS", "call_metric", "metric_function", "run_metric"]

#: Surface name (CLI and web spelling) -> function in regulars.metrics.
METRICS: dict[str, str] = {
    "new-vs-returning": "new_vs_returning",
    "growth-accounting": "growth_accounting",
    "growth-sources": "growth_sources",
    "channel-economics": "channel_economics",
    "cohort-retention": "cohort_retention",
    "subscription-movements": "subscription_movements",
    "referrals": "referrals",
    "guarantee": "guarantee",
    "packages": "packages",
    "lifecycle": "lifecycle",
    "cold-funding": "cold_funding",
    "business-revenue": "business_revenue",
}


def metric_function(name: str) -> Callable[..., Any]:
    """The function behind metric ``name`` (surface spelling or function name)."""
    import regulars.metrics

    function = METRICS.get(name, name if name.isidentifier() else None)
    func = getattr(regulars.metrics, function, None) if function else None
    if not callable(func):  # unknown, missing, or only a submodule of the same name
        available = [n for n, f in METRICS.items() if callable(getattr(regulars.metrics, f, None))]
        raise RegularsError(
            f"The metric {name!r} is not available in this version of regulars. "
            f"Available: {', '.join(available)}.",
            hint={"field": "metric", "value": available[0] if available else ""},
        )
    return func


def call_metric(
    func: Callable[..., Any],
    source: Any,
    /,
    *,
    defaults: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """Call ``func`` with ``kwargs``, plus the ``defaults`` it accepts that are not None.

    One place decides which of a surface's settings (period, start, end, as_of...) a
    metric takes, by its signature.
    """
    accepted = inspect.signature(func).parameters
    extra = {
        k: v
        for k, v in (defaults or {}).items()
        if v is not None and k in accepted and k not in kwargs
    }
    return func(source, **kwargs, **extra)


def run_metric(
    workspace: Any,
    name: str,
    *,
    period: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    measure: str | None = None,
) -> ir.Table:
    """The lazy Ibis table of metric ``name`` on ``workspace``.

    Metrics without a date range of their own keep the periods that overlap
    ``[start, end]``.  ``measure`` applies to growth-accounting only; elsewhere it
    raises a :class:`RegularsError` whose hint names the ``measure`` option.
    """
    func = metric_function(name)
    accepted = inspect.signature(func).parameters
    if measure is not None and "measure" not in accepted:
        raise RegularsError(
            f"measure applies to growth-accounting only, not to {name}.",
            hint={"option": "measure", "field": "measure"},
        )
    ranged = "start" in accepted and "end" in accepted
    expr = call_metric(
        func,
        workspace,
        defaults={
            "period": period,
            "measure": measure,
            "start": start if ranged else None,
            "end": end if ranged else None,
        },
    )
    if not ranged and "period" in expr.columns and (start or end):
        if start is not None:
            grain = period or workspace.config.workspace.period
            step = {"month": 1, "quarter": 3, "year": 12}[grain]
            first = dt.date(start.year, (start.month - 1) // step * step + 1, 1)
            expr = expr.filter(expr.period >= first)
        if end is not None:
            expr = expr.filter(expr.period <= end)
    return expr
