"""Growth metrics: where growth comes from, as lazy Ibis tables.

Every metric takes the workspace's tables (a :class:`~regulars.store.Workspace`, a
:class:`MetricContext` or a mapping of table name to Ibis table) and a ``period``
(month, quarter or year), and returns a lazy Ibis table whose ``period`` column is
the ISO date of the period's first day.  Money stays decimal, in the workspace
currency, so the identities hold to the cent.  ``docs/metrics.md`` defines every
number and compares the conventions with ChartMogul, Baremetrics and Stripe.
"""

from __future__ import annotations

from regulars.metrics._common import MetricContext, metric_context
from regulars.metrics.channels import channel_economics, cold_funding
from regulars.metrics.cohorts import cohort_retention, revenue_retention
from regulars.metrics.growth import growth_accounting
from regulars.metrics.guarantee import guarantee
from regulars.metrics.lifecycle import lifecycle
from regulars.metrics.new_vs_returning import new_vs_returning
from regulars.metrics.packages import packages
from regulars.metrics.referrals import (
    referral_problems,
    referral_rewards,
    referral_tree,
    referrals,
    top_referrers,
)
from regulars.metrics.revenue import business_revenue
from regulars.metrics.sources import growth_sources
from regulars.metrics.subscriptions import (
    renewal_rates,
    subscription_movements,
    subscription_projection,
    subscription_survival,
)

__all__ = [
    "MetricContext",
    "business_revenue",
    "channel_economics",
    "cohort_retention",
    "cold_funding",
    "growth_accounting",
    "growth_sources",
    "guarantee",
    "lifecycle",
    "metric_context",
    "new_vs_returning",
    "packages",
    "referral_problems",
    "referral_rewards",
    "referral_tree",
    "referrals",
    "renewal_rates",
    "revenue_retention",
    "subscription_movements",
    "subscription_projection",
    "subscription_survival",
    "top_referrers",
]
