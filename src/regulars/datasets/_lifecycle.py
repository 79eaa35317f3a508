"""Customers' lives: acquisition, latent loyalty, churn, win-backs and subscriptions.

Everything here is per customer or per subscription, vectorised over NumPy arrays.
The orders themselves are drawn in :mod:`regulars.datasets._orders`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from regulars.datasets._calendar import DAYS_PER_YEAR, Calendar, FloatArray, IntArray, tilt
from regulars.datasets._params import SimulationParams

__all__ = ["Lives", "Subscriptions", "draw_lives", "draw_referrers"]

BoolArray = np.ndarray


@dataclass
class Subscriptions:
    """One row per subscription; days count from the calendar start.

    ``end_day`` is the last day of the last paid period and ``cancel_day`` the day
    the customer cancelled, both -1 while the subscription is active at the end of
    the simulation.
    """

    customer: IntArray
    plan: IntArray
    start_day: IntArray
    periods: IntArray  # paid periods (invoices) inside the simulation
    end_day: IntArray
    cancel_day: IntArray
    price_cents: IntArray
    invoice_sub: IntArray  # one row per invoice: its subscription ...
    invoice_day: IntArray  # ... and its day


@dataclass
class Lives:
    """One row per customer, sorted by acquisition day.

    A customer buys during spell 1 (``acq`` .. ``end1`` - 1) and, after a win-back,
    during spell 2 (``start2`` .. ``end2`` - 1; ``start2`` = -1 without one).
    """

    acq: IntArray
    channel: IntArray
    segment: IntArray
    loyalty: FloatArray
    rate: FloatArray
    value: FloatArray
    upsell: FloatArray
    refund_first: BoolArray
    refund_delay: IntArray
    end1: IntArray
    start2: IntArray
    end2: IntArray
    subs: Subscriptions

    def __len__(self) -> int:
        return len(self.acq)

    def last_day(self) -> IntArray:
        """Exclusive end of each customer's last spell."""
        return np.where(self.start2 >= 0, self.end2, self.end1)


def _acquisition_days(
    rng: np.random.Generator, cal: Calendar, n: int, params: SimulationParams
) -> IntArray:
    t = np.arange(cal.n_days) / DAYS_PER_YEAR
    w = cal.weight * np.exp(params.acquisition_growth * t)
    cum = np.cumsum(w)
    u = np.sort(rng.random(n)) * cum[-1]
    return np.minimum(np.searchsorted(cum, u, side="right"), cal.n_days - 1).astype(np.int64)


def _channels(
    rng: np.random.Generator, cal: Calendar, acq: IntArray, params: SimulationParams
) -> IntArray:
    kinds = [c.kind for c in params.channels]
    ref = kinds.index("referral")
    shares = np.array(
        [0.0 if k == "referral" else c.share for k, c in zip(kinds, params.channels, strict=True)]
    )
    cum = np.cumsum(shares / shares.sum())
    other = np.minimum(np.searchsorted(cum, rng.random(len(acq)), side="right"), len(cum) - 1)
    t = acq / DAYS_PER_YEAR
    ramp = 1.0 - np.exp(-(t + 0.05) / max(params.referral_ramp_years, 1e-9))
    is_ref = rng.random(len(acq)) < params.referral_share * ramp
    # Nobody can be referred before the first customer exists.
    is_ref &= acq > acq[0]
    return np.where(is_ref, ref, other).astype(np.int64)


def _plan_choice(rng: np.random.Generator, n: int, params: SimulationParams) -> IntArray:
    if not params.plans:
        return np.zeros(n, dtype=np.int64)
    w = np.array([p.weight for p in params.plans], dtype=np.float64)
    cum = np.cumsum(w / w.sum())
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(w) - 1)


def _subscribe(
    rng: np.random.Generator,
    cal: Calendar,
    customer: IntArray,
    trigger: IntArray,
    plan: IntArray,
    price_factor: FloatArray,
    params: SimulationParams,
) -> tuple[Subscriptions, IntArray]:
    """Subscriptions starting on ``trigger`` days; returns them and their exclusive end."""
    n_days = cal.n_days
    # Bill on a day of the month that every month has.
    start = trigger.copy()
    while True:  # move days 29-31 to the 1st of the next month
        late = cal.day_of_month[start] > 28
        if not late.any():
            break
        start = np.where(late, start + 1, start)
    keep = start < n_days
    customer, start, plan, price_factor = (
        customer[keep],
        start[keep],
        plan[keep],
        price_factor[keep],
    )
    months = np.array([1 if p.billing_period == "month" else 12 for p in params.plans])[plan]
    a = np.array([p.churn_a for p in params.plans])[plan]
    b = np.array([p.churn_b for p in params.plans])[plan]
    theta = np.clip(rng.beta(a, b), 1e-4, 1.0)
    max_periods = (cal.month[n_days - 1] // months) + 2
    paid = np.minimum(rng.geometric(theta), max_periods + 1).astype(np.int64)
    start_month = cal.month[start]
    day_in_month = cal.day_of_month[start] - 1
    # Invoice k is due on the same day of the month, k periods after the start.
    sub_row = np.repeat(np.arange(len(start)), paid)
    k = np.arange(len(sub_row)) - np.repeat(np.cumsum(paid) - paid, paid)
    inv_day = cal.month_start(start_month[sub_row] + k * months[sub_row]) + day_in_month[sub_row]
    inside = inv_day < n_days
    sub_row, inv_day = sub_row[inside], inv_day[inside]
    periods = np.bincount(sub_row, minlength=len(start)).astype(np.int64)
    end_excl = cal.month_start(start_month + paid * months) + day_in_month
    ended = end_excl <= n_days
    last_invoice = cal.month_start(start_month + (paid - 1) * months) + day_in_month
    cancel = last_invoice + (rng.random(len(start)) * (end_excl - last_invoice)).astype(np.int64)
    base = np.array([p.price for p in params.plans])[plan]
    price = _nice_cents(base * price_factor)
    subs = Subscriptions(
        customer=customer,
        plan=plan,
        start_day=start,
        periods=periods,
        end_day=np.where(ended, end_excl - 1, -1),
        cancel_day=np.where(ended, np.minimum(cancel, end_excl - 1), -1),
        price_cents=price,
        invoice_sub=sub_row.astype(np.int64),
        invoice_day=inv_day.astype(np.int64),
    )
    alive_until = np.where(ended, end_excl, n_days)
    return subs, alive_until


def _nice_cents(amount: FloatArray) -> IntArray:
    """Round prices to two significant digits (4,830 -> 4,800; 612 -> 610), in cents."""
    amount = np.maximum(amount, 1.0)
    step = 10.0 ** np.maximum(np.floor(np.log10(amount)) - 1.0, 0.0)
    return (np.round(amount / step) * step * 100).astype(np.int64)


def _concat_subs(parts: list[Subscriptions]) -> Subscriptions:
    offsets = np.cumsum([0] + [len(p.customer) for p in parts[:-1]])
    return Subscriptions(
        customer=np.concatenate([p.customer for p in parts]),
        plan=np.concatenate([p.plan for p in parts]),
        start_day=np.concatenate([p.start_day for p in parts]),
        periods=np.concatenate([p.periods for p in parts]),
        end_day=np.concatenate([p.end_day for p in parts]),
        cancel_day=np.concatenate([p.cancel_day for p in parts]),
        price_cents=np.concatenate([p.price_cents for p in parts]),
        invoice_sub=np.concatenate(
            [p.invoice_sub + o for p, o in zip(parts, offsets, strict=True)]
        ),
        invoice_day=np.concatenate([p.invoice_day for p in parts]),
    )


def draw_lives(
    rng: np.random.Generator,
    cal: Calendar,
    n: int,
    params: SimulationParams,
    price_scale: float,
) -> Lives:
    """Draw ``n`` customers: when they arrive, how loyal they are, when they leave."""
    acq = _acquisition_days(rng, cal, n, params)
    channel = _channels(rng, cal, acq, params)
    ch = params.channels
    seg_share = np.array([s[1] for s in params.segments])
    segment = np.minimum(
        np.searchsorted(np.cumsum(seg_share / seg_share.sum()), rng.random(n), side="right"),
        len(seg_share) - 1,
    )
    loyalty = rng.standard_normal(n) + np.array([c.loyalty_shift for c in ch])[channel]
    r, s = params.purchase_shape, params.dropout_shape
    rate = (
        rng.gamma(r, params.purchase_rate / r, n)
        * np.exp(params.loyalty_rate_effect * loyalty)
        * np.array([c.rate_factor for c in ch])[channel]
    )
    mu = rng.gamma(s, params.dropout_rate / s, n) * np.exp(-params.loyalty_dropout_effect * loyalty)
    sigma = params.value_sigma
    value = (
        rng.lognormal(-0.5 * sigma * sigma, sigma, n)
        * np.array([s_[2] for s_ in params.segments])[segment]
        * np.exp(0.1 * loyalty)
    )
    upsell = params.upsell_rate * np.exp(0.5 * loyalty - 0.125)
    life = (rng.exponential(1.0, n) / mu * DAYS_PER_YEAR).astype(np.int64) + 1

    # Money-back guarantee on the first order.
    p_refund = np.minimum(
        params.refund_rate_first
        * np.array([c.refund_factor for c in ch])[channel]
        * np.exp(-0.7 * loyalty - 0.245),
        0.9,
    )
    delay = rng.integers(5, max(params.guarantee_days, 6), n)
    refund_first = (rng.random(n) < p_refund) & (acq + delay < cal.n_days)
    gone = refund_first & (rng.random(n) < params.refund_churn)
    life = np.where(gone, delay, life)
    death = np.minimum(acq + life, cal.n_days)

    # Plans taken while the customer is alive keep them alive while they pay.
    inflation = (1.0 + params.price_inflation) ** (np.arange(cal.n_days) / DAYS_PER_YEAR)
    price_factor = price_scale * np.sqrt(value)
    idx = np.arange(n)
    delay_days = lambda m: (rng.exponential(m * DAYS_PER_YEAR, n)).astype(np.int64)  # noqa: E731
    trig_a = acq + delay_days(params.subscription_delay_years)
    has_plans = len(params.plans) > 0
    take_a = (
        has_plans
        & (rng.random(n) < tilt(params.subscription_rate, loyalty, 0.5))
        & (trig_a < death)
    )
    plan_a = _plan_choice(rng, n, params)
    trig_b = trig_a + delay_days(2 * params.subscription_delay_years)
    take_b = take_a & (rng.random(n) < params.second_subscription_rate) & (trig_b < death)
    n_plans = len(params.plans)
    plan_b = (plan_a + 1 + rng.integers(0, max(n_plans - 1, 1), n)) % max(n_plans, 1)
    cust_ab = np.concatenate([idx[take_a], idx[take_b]])
    trig_ab = np.concatenate([trig_a[take_a], trig_b[take_b]])
    subs_ab, until_ab = _subscribe(
        rng,
        cal,
        cust_ab,
        trig_ab,
        np.concatenate([plan_a[take_a], plan_b[take_b]]),
        price_factor[cust_ab] * inflation[np.minimum(trig_ab, cal.n_days - 1)],
        params,
    )
    end1 = death.copy()
    np.maximum.at(end1, subs_ab.customer, until_ab)

    # Win-back: a lapsed customer comes back once the need returns.
    lapsed = end1 < cal.n_days
    p_back = tilt(params.winback_rate, loyalty, 0.4) * np.where(refund_first, 0.3, 1.0)
    mean_extra = max(params.winback_mean_gap_years - params.winback_min_gap_years, 1e-6)
    gap = (params.winback_min_gap_years + rng.gamma(2.0, mean_extra / 2.0, n)) * DAYS_PER_YEAR
    start2 = end1 + gap.astype(np.int64)
    back = lapsed & (rng.random(n) < p_back) & (start2 < cal.n_days)
    life2 = (rng.exponential(1.0, n) / mu * DAYS_PER_YEAR).astype(np.int64) + 1
    start2 = np.where(back, start2, -1)
    end2 = np.where(back, np.minimum(start2 + life2, cal.n_days), -1)
    trig_c = start2 + delay_days(params.subscription_delay_years)
    take_c = has_plans & back & (rng.random(n) < params.winback_subscription_rate) & (trig_c < end2)
    plan_c = _plan_choice(rng, n, params)
    subs_c, until_c = _subscribe(
        rng,
        cal,
        idx[take_c],
        trig_c[take_c],
        plan_c[take_c],
        price_factor[take_c] * inflation[np.minimum(trig_c[take_c], cal.n_days - 1)],
        params,
    )
    np.maximum.at(end2, subs_c.customer, until_c)

    return Lives(
        acq=acq,
        channel=channel,
        segment=segment.astype(np.int64),
        loyalty=loyalty,
        rate=rate,
        value=value,
        upsell=upsell,
        refund_first=refund_first,
        refund_delay=delay.astype(np.int64),
        end1=end1,
        start2=start2,
        end2=end2,
        subs=_concat_subs([subs_ab, subs_c]),
    )


def draw_referrers(
    rng: np.random.Generator, lives: Lives, params: SimulationParams, *, tries: int = 8
) -> IntArray:
    """The referrer of each referred customer (-1 for the others).

    A referrer is an earlier customer, drawn with weight exp(k * loyalty) so that
    happy, loyal customers refer more; draws that fall on a customer who was not
    buying at the time are redrawn up to ``tries`` times.
    """
    ref_channel = [c.kind for c in params.channels].index("referral")
    who = np.flatnonzero(lives.channel == ref_channel)
    referrer = np.full(len(lives), -1, dtype=np.int64)
    if len(who) == 0:
        return referrer
    weight = np.cumsum(np.exp(params.referral_loyalty_effect * lives.loyalty))
    earlier = np.searchsorted(lives.acq, lives.acq[who], side="left")  # customers before
    pending = np.ones(len(who), dtype=bool)
    pick = np.zeros(len(who), dtype=np.int64)
    day = lives.acq[who]
    for _ in range(tries):
        todo = np.flatnonzero(pending)
        if len(todo) == 0:
            break
        u = rng.random(len(todo)) * weight[earlier[todo] - 1]
        j = np.minimum(np.searchsorted(weight, u, side="right"), earlier[todo] - 1)
        pick[todo] = j
        alive = ((lives.acq[j] < day[todo]) & (day[todo] < lives.end1[j])) | (
            (lives.start2[j] >= 0) & (lives.start2[j] <= day[todo]) & (day[todo] < lives.end2[j])
        )
        pending[todo[alive]] = False
    referrer[who] = pick
    return referrer
