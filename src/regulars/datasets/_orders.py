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
    order = np.argsort(cust * (cal.n_days + 1) + day, kind="stable")
    cust, day = cust[order], day[order]
    first = np.searchsorted(cust, np.arange(n), side="left")
    n_prior = np.arange(len(cust)) - first[cust]
    return cust, day, n_prior


def _basket(
    rng: np.random.Generator, n_prior: IntArray, params: SimulationParams
) -> tuple[np.ndarray, IntArray, IntArray, FloatArray]:
    """What each order buys: (is_package, package, service, discount share).

    Entry services first, the mature mix once the customer knows the studio;
    packages more often as the customer has bought more separately.
    """
    services = params.services
    n_ev = len(n_prior)
    mature = rng.random(n_ev) < 1.0 - np.exp(-n_prior / max(params.upsell_orders, 1e-9))
    service = np.where(
        mature,
        _choose(rng, np.array([s.mature_weight for s in services]), n_ev),
        _choose(rng, np.array([s.entry_weight for s in services]), n_ev),
    )
    del mature
    p_pkg = np.where(
        n_prior == 0,
        params.package_rate_first,
        params.package_rate * (1.0 - np.exp(-n_prior / 3.0)),
    )
    is_pkg = (rng.random(n_ev) < p_pkg) & (len(params.packages) > 0)
    del p_pkg
    if params.packages:
        pkg = _choose(rng, np.array([p.weight for p in params.packages], dtype=float), n_ev)
        pkg_discount = np.asarray(params.package_discounts, dtype=float)[
            rng.integers(0, len(params.package_discounts), n_ev)
        ]
    else:
        pkg = np.zeros(n_ev, dtype=np.int64)
        pkg_discount = np.zeros(n_ev)
    loyal = (~is_pkg) & (n_prior >= 2) & (rng.random(n_ev) < params.discount_rate)
    share_off = np.where(is_pkg, pkg_discount, np.where(loyal, params.discount_size, 0.0))
    return is_pkg, pkg, service, share_off


def _package_services(params: SimulationParams) -> tuple[IntArray, IntArray]:
    """(size, services) of each package: services padded into a matrix."""
    if not params.packages:
        return np.ones(1, dtype=np.int64), np.zeros((1, 1), dtype=np.int64)
    size = np.array([len(p.services) for p in params.packages], dtype=np.int64)
    index = {s.name: i for i, s in enumerate(params.services)}
    matrix = np.zeros((len(params.packages), int(size.max())), dtype=np.int64)
    for i, p in enumerate(params.packages):
        matrix[i, : len(p.services)] = [index[s] for s in p.services]
    return size, matrix


@dataclass
class _Lines:
    event: IntArray
    line_no: IntArray
    service: IntArray
    quantity: IntArray
    unit: IntArray
    gross: IntArray
    revenue: IntArray
    cost: IntArray


def _lines(
    rng: np.random.Generator,
    lives: Lives,
    cust: IntArray,
    day: IntArray,
    n_prior: IntArray,
    basket: tuple[np.ndarray, IntArray, IntArray, FloatArray],
    params: SimulationParams,
    price_scale: float,
) -> _Lines:
    """One line per one-off order and per service of a package, priced and costed."""
    is_pkg, pkg, service, share_off = basket
    services = params.services
    pkg_size, pkg_services = _package_services(params)
    n_lines = np.where(is_pkg, pkg_size[pkg], 1)
    ev = np.repeat(np.arange(len(cust)), n_lines)
    line_no = np.arange(len(ev)) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1
    del n_lines
    width = pkg_services.shape[1]
    line_serv = np.where(
        is_pkg[ev], pkg_services[pkg[ev], np.minimum(line_no - 1, width - 1)], service[ev]
    )
    c = cust[ev]
    d = day[ev]
    tenure = np.minimum((d - lives.acq[c]) / DAYS_PER_YEAR, params.upsell_years)
    # Order values grow with the relationship (upsell) and prices with inflation.
    scope = lives.value[c] * np.exp(lives.upsell[c] * tenure)
    del c
    q_mean = np.array([s.quantity_mean for s in services])[line_serv]
    hourly = q_mean > 1.0
    qty = np.where(hourly, 1 + rng.poisson(np.maximum(q_mean - 1.0, 0.0) * scope), 1)
    del q_mean
    list_price = (
        np.array([s.price for s in services])[line_serv]
        * price_scale
        * (1.0 + params.price_inflation) ** (d / DAYS_PER_YEAR)
    )
    del d
    unit = _nice_cents(np.where(hourly, list_price, list_price * scope))
    del list_price, scope, hourly
    gross = unit * qty
    revenue = np.round(gross * (1.0 - share_off[ev])).astype(np.int64)
    noise = params.cost_noise
    cost_factor = (
        (1.0 - np.array([s.margin for s in services])[line_serv])
        * np.exp(rng.standard_normal(len(ev)) * noise - 0.5 * noise * noise)
        * np.where(n_prior[ev] == 0, 1.0 + params.onboarding_cost, 1.0)
        * (1.0 - params.familiarity_saving * tenure / max(params.upsell_years, 1e-9))
    )
    cost = np.round(gross * cost_factor).astype(np.int64)
    return _Lines(ev, line_no, line_serv, qty, unit, gross, revenue, cost)


def _statuses(
    rng: np.random.Generator,
    cal: Calendar,
    lives: Lives,
    cust: IntArray,
    day: IntArray,
    n_prior: IntArray,
    params: SimulationParams,
) -> tuple[IntArray, IntArray]:
    """(status, refund_day): refunds under the guarantee and a few cancellations."""
    n_ev = len(cust)
    status = np.zeros(n_ev, dtype=np.int64)
    refund_day = np.full(n_ev, -1, dtype=np.int64)
    # A new customer's first order, as decided with the customer's life ...
    first_refund = (n_prior == 0) & lives.refund_first[cust]
    status[first_refund] = REFUNDED
    refund_day[first_refund] = day[first_refund] + lives.refund_delay[cust[first_refund]]
    # ... and, very rarely, a regular customer's order.
    delay = rng.integers(5, max(params.guarantee_days, 6), n_ev)
    late = (
        (n_prior > 0) & (rng.random(n_ev) < params.refund_rate_repeat) & (day + delay < cal.n_days)
    )
    status[late] = REFUNDED
    refund_day[late] = day[late] + delay[late]
    cancelled = (n_prior > 0) & (status == PAID) & (rng.random(n_ev) < params.cancel_rate)
    status[cancelled] = CANCELLED
    return status, refund_day


def draw_orders(
    rng: np.random.Generator,
    cal: Calendar,
    lives: Lives,
    params: SimulationParams,
    price_scale: float,
    *,
    with_lines: bool = True,
) -> Orders:
    """Draw every order of ``lives``: one-off and package orders, plus plan invoices.

    Without ``with_lines`` the ``line_*`` arrays are empty (for streaming).
    """
    n_serv = len(params.services)
    cust, day, n_prior = _one_off_events(rng, cal, lives, params)
    n_ev = len(cust)
    basket = _basket(rng, n_prior, params)
    is_pkg = basket[0]
    ln = _lines(rng, lives, cust, day, n_prior, basket, params, price_scale)
    del basket
    revenue = np.bincount(ln.event, weights=ln.revenue, minlength=n_ev).astype(np.int64)
    discount = np.bincount(ln.event, weights=ln.gross - ln.revenue, minlength=n_ev).astype(np.int64)
    cost = np.bincount(ln.event, weights=ln.cost, minlength=n_ev).astype(np.int64)
    quantity = np.bincount(ln.event, weights=ln.quantity, minlength=n_ev)
    # The order's product is that of its largest line.
    biggest = np.lexsort((-ln.revenue, ln.event))
    head = biggest[np.searchsorted(ln.event[biggest], np.arange(n_ev), side="left")]
    del biggest
    product = ln.service[head]
    unit_price = ln.unit[head]
    del head
    if not with_lines:
        del ln
    status, refund_day = _statuses(rng, cal, lives, cust, day, n_prior, params)
    cost[status == CANCELLED] = 0
    refund = np.where(status == REFUNDED, revenue, 0)
    seconds = rng.integers(8 * 3600, 18 * 3600, n_ev)

    # Plan invoices.
    subs = lives.subs
    s_row = subs.invoice_sub
    n_inv = len(s_row)
    s_plan = subs.plan[s_row]
    s_price = subs.price_cents[s_row]
    noise = params.cost_noise
    s_cost = np.round(
        s_price
        * (1.0 - np.array([p.margin for p in params.plans])[s_plan])
        * np.exp(rng.standard_normal(n_inv) * noise - 0.5 * noise * noise)
    ).astype(np.int64)

    kind = np.concatenate([np.where(is_pkg, PACKAGE, ONE_OFF), np.full(n_inv, SUBSCRIPTION)])
    all_cust = np.concatenate([cust, subs.customer[s_row]])
    all_day = np.concatenate([day, subs.invoice_day])
    all_sec = np.concatenate([seconds, np.zeros(n_inv, dtype=np.int64)])
    all_product = np.concatenate([product, n_serv + s_plan])
    # Sort by time, then customer, kind and product, with one int64 key.
    n_prod = n_serv + len(params.plans)
    key = (all_day * 86_400 + all_sec) * (len(lives) + 1) + all_cust
    key = (key * 3 + kind) * n_prod + all_product
    order = np.argsort(key, kind="stable")
    del key
    n_all = len(order)
    cost_known = rng.random(n_all) < params.cost_coverage

    def sort(one_off: np.ndarray, invoices: np.ndarray) -> np.ndarray:
        return np.concatenate([one_off, invoices])[order]

    zeros = np.zeros(n_inv, dtype=np.int64)
    del cust, day, seconds, product
    out = Orders(
        customer=all_cust[order],
        day=all_day[order],
        seconds=all_sec[order],
        kind=kind[order],
        product=all_product[order],
        quantity=sort(quantity, np.ones(n_inv)),
        unit_price=sort(unit_price, s_price),
        single_line=sort(~is_pkg, np.ones(n_inv, dtype=bool)),
        revenue=sort(revenue, s_price),
        discount=sort(discount, zeros),
        cost=sort(cost, s_cost),
        cost_known=cost_known,
        status=sort(status, zeros),
        refund=sort(refund, zeros),
        refund_day=sort(refund_day, np.full(n_inv, -1, dtype=np.int64)),
        n_prior=sort(n_prior, np.full(n_inv, -1, dtype=np.int64)),
        line_order=np.zeros(0, dtype=np.int64),
        line_no=np.zeros(0, dtype=np.int64),
        line_product=np.zeros(0, dtype=np.int64),
        line_quantity=np.zeros(0, dtype=np.float64),
        line_unit_price=np.zeros(0, dtype=np.int64),
        line_revenue=np.zeros(0, dtype=np.int64),
    )
    if with_lines:
        rank = np.empty_like(order)
        rank[order] = np.arange(n_all)
        ones = np.ones(n_inv, dtype=np.int64)
        line_order = np.concatenate([rank[ln.event], rank[n_ev:]])
        line_sort = np.lexsort((np.concatenate([ln.line_no, ones]), line_order))
        out.line_order = line_order[line_sort]
        out.line_no = np.concatenate([ln.line_no, ones])[line_sort]
        out.line_product = np.concatenate([ln.service, n_serv + s_plan])[line_sort]
        out.line_quantity = np.concatenate([ln.quantity, ones]).astype(np.float64)[line_sort]
        out.line_unit_price = np.concatenate([ln.unit, s_price])[line_sort]
        out.line_revenue = np.concatenate([ln.revenue, s_price])[line_sort]
    return out
