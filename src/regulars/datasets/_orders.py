"""Orders and order lines: what each customer buys, when, for how much, at what cost."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regulars.datasets._calendar import DAYS_PER_YEAR, Calendar, FloatArray, IntArray
from regulars.datasets._lifecycle import Lives, _nice_cents
from regulars.datasets._params import SimulationParams

__all__ = ["KIND_NAMES", "STATUS_NAMES", "Orders", "draw_orders", "product_names"]

KIND_NAMES = ("one-off", "subscription", "package")
STATUS_NAMES = ("paid", "refunded", "cancelled")
ONE_OFF, SUBSCRIPTION, PACKAGE = 0, 1, 2
PAID, REFUNDED, CANCELLED = 0, 1, 2


@dataclass
class Orders:
    """One row per order (sorted by time), and one row per line when drawn.

    Money is in integer cents.  ``product`` indexes :func:`product_names`.
    ``n_prior`` is the number of earlier one-off or package orders of the customer
    (-1 for subscription invoices).  Refund and cost columns use -1 / masks for nulls.
    """

    customer: IntArray
    day: IntArray
    seconds: IntArray
    kind: IntArray
    product: IntArray
    quantity: FloatArray
    unit_price: IntArray
    single_line: np.ndarray
    revenue: IntArray
    discount: IntArray
    cost: IntArray
    cost_known: np.ndarray
    status: IntArray
    refund: IntArray
    refund_day: IntArray
    n_prior: IntArray
    line_order: IntArray
    line_no: IntArray
    line_product: IntArray
    line_quantity: FloatArray
    line_unit_price: IntArray
    line_revenue: IntArray

    def __len__(self) -> int:
        return len(self.customer)


def product_names(params: SimulationParams) -> tuple[list[str], list[str]]:
    """Names and categories of every product: the services, then the plans."""
    names = [s.name for s in params.services] + [p.name for p in params.plans]
    cats = [s.category for s in params.services] + [p.category for p in params.plans]
    return names, cats


def _choose(rng: np.random.Generator, weights: FloatArray, n: int) -> IntArray:
    cum = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(cum) - 1)


def _one_off_events(
    rng: np.random.Generator, cal: Calendar, lives: Lives, params: SimulationParams
) -> tuple[IntArray, IntArray, IntArray]:
    """(customer, day, n_prior) of every one-off or package order, by customer and day."""
    n = len(lives)
    back = np.flatnonzero(lives.start2 >= 0)
    # After a refunded first order, repeats can only come after the refund.
    lo = np.concatenate(
        [
            lives.acq + 1 + np.where(lives.refund_first, lives.refund_delay, 0),
            lives.start2[back] + 1,
        ]
    )
    hi = np.concatenate([lives.end1, lives.end2[back]])
    who = np.concatenate([np.arange(n), back])
    # Customers buy more often as the relationship grows: the rate grows by
    # exp(frequency_growth) per year of tenure, for the first upsell_years.
    years = int(np.ceil(cal.n_days / DAYS_PER_YEAR)) + 1
    k = np.arange(years)
    seg_lo = np.maximum(lo[:, None], (lives.acq[who, None] + k * DAYS_PER_YEAR).astype(np.int64))
    seg_hi = np.minimum(
        hi[:, None], (lives.acq[who, None] + (k + 1) * DAYS_PER_YEAR).astype(np.int64)
    )
    growth = np.exp(params.frequency_growth * np.minimum(k, params.upsell_years))
    seg_rate = lives.rate[who, None] * growth[None, :]
    live = seg_hi > seg_lo
    seg_who = np.broadcast_to(who[:, None], live.shape)[live]
    row, d = cal.draw_days(rng, seg_lo[live], seg_hi[live], seg_rate[live])
    cust = np.concatenate([np.arange(n), back, seg_who[row]])
    day = np.concatenate([lives.acq, lives.start2[back], d])
    order = np.lexsort((day, cust))
    cust, day = cust[order], day[order]
    first = np.searchsorted(cust, np.arange(n), side="left")
    n_prior = np.arange(len(cust)) - first[cust]
    return cust, day, n_prior


def draw_orders(
    rng: np.random.Generator,
    cal: Calendar,
    lives: Lives,
    params: SimulationParams,
    price_scale: float,
) -> Orders:
    """Draw every order of ``lives``: one-off and package orders, plus plan invoices."""
    services, plans = params.services, params.plans
    n_serv = len(services)
    cust, day, n_prior = _one_off_events(rng, cal, lives, params)
    n_ev = len(cust)
    tenure = np.minimum((day - lives.acq[cust]) / DAYS_PER_YEAR, params.upsell_years)
    inflation = (1.0 + params.price_inflation) ** (day / DAYS_PER_YEAR)

    # What is bought: entry services first, the mature mix once the customer knows us.
    mature = rng.random(n_ev) < 1.0 - np.exp(-n_prior / max(params.upsell_orders, 1e-9))
    entry_pick = _choose(rng, np.array([s.entry_weight for s in services]), n_ev)
    mature_pick = _choose(rng, np.array([s.mature_weight for s in services]), n_ev)
    service = np.where(mature, mature_pick, entry_pick)
    p_pkg = np.where(
        n_prior == 0,
        params.package_rate_first,
        params.package_rate * (1.0 - np.exp(-n_prior / 3.0)),
    )
    is_pkg = (rng.random(n_ev) < p_pkg) & (len(params.packages) > 0)
    if params.packages:
        pkg = _choose(rng, np.array([p.weight for p in params.packages], dtype=float), n_ev)
        pkg_size = np.array([len(p.services) for p in params.packages])
        width = int(pkg_size.max())
        index = {s.name: i for i, s in enumerate(services)}
        pkg_services = np.zeros((len(params.packages), width), dtype=np.int64)
        for i, p in enumerate(params.packages):
            pkg_services[i, : len(p.services)] = [index[s] for s in p.services]
        pkg_discount = np.asarray(params.package_discounts, dtype=float)[
            rng.integers(0, len(params.package_discounts), n_ev)
        ]
    else:
        pkg = np.zeros(n_ev, dtype=np.int64)
        pkg_size = np.ones(1, dtype=np.int64)
        pkg_services = np.zeros((1, 1), dtype=np.int64)
        pkg_discount = np.zeros(n_ev)
    loyal_discount = (~is_pkg) & (n_prior >= 2) & (rng.random(n_ev) < params.discount_rate)
    share_off = np.where(is_pkg, pkg_discount, np.where(loyal_discount, params.discount_size, 0.0))

    # Lines: one per one-off order, one per service of a package.
    n_lines = np.where(is_pkg, pkg_size[pkg], 1)
    ev = np.repeat(np.arange(n_ev), n_lines)
    line_no = np.arange(len(ev)) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1
    width = pkg_services.shape[1]
    line_serv = np.where(
        is_pkg[ev], pkg_services[pkg[ev], np.minimum(line_no - 1, width - 1)], service[ev]
    )
    c = cust[ev]
    scope = lives.value[c] * np.exp(lives.upsell[c] * tenure[ev])
    q_mean = np.array([s.quantity_mean for s in services])[line_serv]
    hourly = q_mean > 1.0
    qty = np.where(hourly, 1 + rng.poisson(np.maximum(q_mean - 1.0, 0.0) * scope), 1)
    list_price = np.array([s.price for s in services])[line_serv] * price_scale * inflation[ev]
    unit = _nice_cents(np.where(hourly, list_price, list_price * scope))
    gross = unit * qty
    line_rev = np.round(gross * (1.0 - share_off[ev])).astype(np.int64)
    margin = np.array([s.margin for s in services])[line_serv]
    noise = params.cost_noise
    cost_factor = (
        (1.0 - margin)
        * np.exp(rng.standard_normal(len(ev)) * noise - 0.5 * noise * noise)
        * np.where(n_prior[ev] == 0, 1.0 + params.onboarding_cost, 1.0)
        * (1.0 - params.familiarity_saving * tenure[ev] / max(params.upsell_years, 1e-9))
    )
    line_cost = np.round(gross * cost_factor).astype(np.int64)

    revenue = np.bincount(ev, weights=line_rev, minlength=n_ev).astype(np.int64)
    discount = np.bincount(ev, weights=gross - line_rev, minlength=n_ev).astype(np.int64)
    cost = np.bincount(ev, weights=line_cost, minlength=n_ev).astype(np.int64)
    quantity = np.bincount(ev, weights=qty, minlength=n_ev)
    biggest = np.lexsort((-line_rev, ev))
    head = biggest[np.searchsorted(ev[biggest], np.arange(n_ev), side="left")]
    product = line_serv[head]
    unit_price = unit[head]

    # Refunds under the money-back guarantee, and a few cancelled orders.
    status = np.zeros(n_ev, dtype=np.int64)
    refund_day = np.full(n_ev, -1, dtype=np.int64)
    first_refund = (n_prior == 0) & lives.refund_first[cust]
    status[first_refund] = REFUNDED
    refund_day[first_refund] = day[first_refund] + lives.refund_delay[cust[first_refund]]
    delay = rng.integers(5, max(params.guarantee_days, 6), n_ev)
    late_refund = (
        (n_prior > 0) & (rng.random(n_ev) < params.refund_rate_repeat) & (day + delay < cal.n_days)
    )
    status[late_refund] = REFUNDED
    refund_day[late_refund] = day[late_refund] + delay[late_refund]
    cancelled = (n_prior > 0) & (status == PAID) & (rng.random(n_ev) < params.cancel_rate)
    status[cancelled] = CANCELLED
    cost[cancelled] = 0
    refund = np.where(status == REFUNDED, revenue, 0)
    seconds = rng.integers(8 * 3600, 18 * 3600, n_ev)

    # Plan invoices.
    subs = lives.subs
    s_row = subs.invoice_sub
    n_inv = len(s_row)
    s_price = subs.price_cents[s_row]
    s_margin = np.array([p.margin for p in plans])[subs.plan[s_row]]
    s_cost = np.round(
        s_price
        * (1.0 - s_margin)
        * np.exp(rng.standard_normal(n_inv) * noise - 0.5 * noise * noise)
    ).astype(np.int64)

    kind = np.concatenate([np.where(is_pkg, PACKAGE, ONE_OFF), np.full(n_inv, SUBSCRIPTION)])
    all_cust = np.concatenate([cust, subs.customer[s_row]])
    all_day = np.concatenate([day, subs.invoice_day])
    all_sec = np.concatenate([seconds, np.zeros(n_inv, dtype=np.int64)])
    all_product = np.concatenate([product, n_serv + subs.plan[s_row]])
    order = np.lexsort((all_product, kind, all_cust, all_sec, all_day))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))

    n_all = len(order)
    cost_all = np.concatenate([cost, s_cost])
    cost_known = rng.random(n_all) < params.cost_coverage
    line_order = np.concatenate([rank[ev], rank[n_ev:]])
    line_sort = np.lexsort((np.concatenate([line_no, np.ones(n_inv, dtype=np.int64)]), line_order))
    cat = np.concatenate
    return Orders(
        customer=all_cust[order],
        day=all_day[order],
        seconds=all_sec[order],
        kind=kind[order],
        product=all_product[order],
        quantity=cat([quantity, np.ones(n_inv)])[order],
        unit_price=cat([unit_price, s_price])[order],
        single_line=cat([~is_pkg, np.ones(n_inv, dtype=bool)])[order],
        revenue=cat([revenue, s_price])[order],
        discount=cat([discount, np.zeros(n_inv, dtype=np.int64)])[order],
        cost=cost_all[order],
        cost_known=cost_known,
        status=cat([status, np.zeros(n_inv, dtype=np.int64)])[order],
        refund=cat([refund, np.zeros(n_inv, dtype=np.int64)])[order],
        refund_day=cat([refund_day, np.full(n_inv, -1, dtype=np.int64)])[order],
        n_prior=cat([n_prior, np.full(n_inv, -1, dtype=np.int64)])[order],
        line_order=line_order[line_sort],
        line_no=cat([line_no, np.ones(n_inv, dtype=np.int64)])[line_sort],
        line_product=cat([line_serv, n_serv + subs.plan[s_row]])[line_sort],
        line_quantity=cat([qty.astype(np.float64), np.ones(n_inv)])[line_sort],
        line_unit_price=cat([unit, s_price])[line_sort],
        line_revenue=cat([line_rev, s_price])[line_sort],
    )
