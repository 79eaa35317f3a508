"""Growth metrics: where growth comes from, as lazy Ibis tables.

Every metric takes the workspace's tables (a :class:`~regulars.store.Workspace`, a
:class:`MetricContext` or a mapping of table name to Ibis table) and a ``period``
(month, quarter or year), and returns a lazy Ibis table whose ``period`` column is
the ISO date of the period's first day.  ``docs/metrics.md`` defines every number.
"""

from __future__ import annotations

from regulars.metrics._common import MetricContext, metric_context

__all__ = ["MetricContext", "metric_context"]
