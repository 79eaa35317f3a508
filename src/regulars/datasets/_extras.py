"""The rest of the book: touches, feedback, marketing spend and customer details."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from regulars.datasets._calendar import Calendar, FloatArray, IntArray
from regulars.datasets._lifecycle import Lives
from regulars.datasets._orders import CANCELLED, REFUNDED, Orders
from regulars.datasets._params import SimulationParams

__all__ = [
    "Details",
    "Feedback",
    "Spend",
    "Touches",
    "draw_details",
    "draw_feedback",
    "draw_spend",
    "draw_touches",
]

TOUCH_KINDS = ("email", "call", "idea", "meeting", "gift")
_TOUCH_WEIGHTS = np.array([0.40, 0.25, 0.18, 0.11, 0.06])
_NOTES = {
    "email": (
        "Monthly note with news that matter to them",
        "Sent the project summary",
        "Shared a case study from a similar business",
        "Checked in after the launch",
    ),
    "call": (
        "Quarterly check-in call",
        "Called about next quarter's plans",
        "Asked how the new site performs",
    ),
    "idea": (
        "Sent an idea to improve their checkout",
        "Suggested a seasonal campaign",
        "Pointed out a new tax rule that affects them",
        "Proposed a faster landing page",
    ),
    "meeting": ("Review meeting at their office", "Planning workshop", "Coffee with the owner"),
    "gift": ("Sent a holiday gift", "Sent a book we like", "Anniversary card"),
}
_OUTCOMES = (None, "no reply", "thanked", "asked for a quote", "booked a meeting", "not now")
_OUTCOME_WEIGHTS = np.array([0.30, 0.22, 0.25, 0.10, 0.08, 0.05])
_BEFORE_ORDER = ("Scoping call for the next project", "Meeting to agree on the next step")
_WINBACK = ("Win-back: asked how things are going", "Win-back: offered a refresh of the site")
_COMMENTS = {
    "low": ("Too slow for us.", "Expected more for the price.", "Communication could be better."),
    "mid": ("Fine work.", "Good, a few delays.", None),
    "high": (
        "Always on time.",
        "They think about our business, not just the task.",
        "Great team, we recommend them.",
        None,
    ),
}
_NAME_A = (
    "Adria",
    "Borovo",
    "Cedra",
    "Delta",
    "Elko",
    "Fjord",
    "Gora",
    "Hana",
    "Iskra",
    "Jadran",
    "Kora",
    "Luna",
    "Mura",
    "Nova",
    "Orel",
    "Pina",
    "Riva",
    "Sava",
    "Tisa",
    "Una",
    "Vrba",
    "Zora",
    "Alon",
    "Carmel",
    "Dalia",
    "Galil",
    "Ilan",
    "Keren",
    "Neve",
    "Ofir",
    "Rimon",
    "Tamar",
    "Volga",
    "Lada",
    "Sever",
    "Kedr",
    "Dubrava",
)
_NAME_B = (
    "Bakery",
    "Dental",
    "Law Office",
    "Logistics",
    "Studio",
    "Fitness",
    "Optika",
    "Books",
    "Coffee",
    "Architects",
    "Clinic",
    "Tours",
    "Furniture",
    "Garden",
    "Print",
    "Accounting",
    "Motors",
    "Kitchen",
    "Wines",
    "Yoga",
    "Hotel",
    "Pharmacy",
)
_NAME_C = ("", "", "", " Ltd", " d.o.o.", " & Partners", " Group")
_CITIES = (
    ("Ljubljana", "+386"),
    ("Maribor", "+386"),
    ("Koper", "+386"),
    ("Zagreb", "+385"),
    ("Vienna", "+43"),
    ("Tel Aviv", "+972"),
    ("Haifa", "+972"),
    ("Riga", "+371"),
    ("Tallinn", "+372"),
    ("Berlin", "+49"),
    ("Warsaw", "+48"),
)


@dataclass
class Touches:
    customer: IntArray
    day: IntArray
    seconds: IntArray
    kind: list[str]
    note: list[str]
    outcome: list[str | None]


@dataclass
class Feedback:
    customer: IntArray
    day: IntArray
    score: FloatArray
    comment: list[str | None]


@dataclass
class Spend:
    channel: list[str]
    start_day: IntArray
    end_day: IntArray
    amount: IntArray


@dataclass
class Details:
    name: list[str]
    email: list[str]
    phone: list[str | None]
    attributes: list[str]


def _pick(rng: np.random.Generator, weights: FloatArray, n: int) -> IntArray:
    cum = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(cum) - 1)


def draw_touches(
    rng: np.random.Generator,
    cal: Calendar,
    lives: Lives,
    orders: Orders,
    params: SimulationParams,
) -> Touches:
    """Touches: steady contact with active customers, more for valuable ones.

    Besides the steady rhythm, a call or meeting precedes some repeat orders and a
    win-back message precedes most comebacks.
    """
    worth = np.sqrt(lives.rate / params.purchase_rate * lives.value)
    rate = params.touch_rate * np.clip(worth, 0.3, 4.0)
    tail = params.touch_tail_days
    back = lives.start2 >= 0
    lo = np.concatenate([lives.acq, np.where(back, lives.start2, cal.n_days)])
    hi = np.concatenate([lives.end1 + tail, np.where(back, lives.end2 + tail, cal.n_days)])
    row, day = cal.draw_days(rng, lo, np.minimum(hi, cal.n_days), np.concatenate([rate, rate]))
    cust = row % len(lives)
    kind_idx = _pick(rng, _TOUCH_WEIGHTS, len(cust))
    kinds = [TOUCH_KINDS[k] for k in kind_idx]
    notes = [
        _NOTES[k][i % len(_NOTES[k])]
        for k, i in zip(kinds, rng.integers(0, 12, len(cust)), strict=True)
    ]
    outcomes = [_OUTCOMES[i] for i in _pick(rng, _OUTCOME_WEIGHTS, len(cust))]

    # Before a repeat one-off order: a scoping call or meeting.
    pre = np.flatnonzero(
        (orders.n_prior > 0) & (rng.random(len(orders)) < params.touch_before_order)
    )
    pre_day = orders.day[pre] - rng.integers(1, 15, len(pre))
    keep = pre_day >= lives.acq[orders.customer[pre]]
    pre, pre_day = pre[keep], pre_day[keep]
    pre_meet = rng.random(len(pre)) < 0.4
    # Before a comeback: a win-back message.
    wb = np.flatnonzero(back & (rng.random(len(lives)) < 0.6))
    wb_day = lives.start2[wb] - rng.integers(3, 31, len(wb))

    customer = np.concatenate([cust, orders.customer[pre], wb])
    days = np.concatenate([day, pre_day, wb_day])
    kinds += ["meeting" if m else "call" for m in pre_meet] + ["email"] * len(wb)
    notes += [_BEFORE_ORDER[int(m)] for m in pre_meet]
    notes += [_WINBACK[i] for i in rng.integers(0, 2, len(wb))]
    outcomes += ["asked for a quote"] * len(pre) + ["booked a meeting"] * len(wb)
    seconds = rng.integers(9 * 3600, 17 * 3600, len(customer))
    order = np.lexsort((customer, seconds, days))
    return Touches(
        customer=customer[order],
        day=days[order],
        seconds=seconds[order],
        kind=[kinds[i] for i in order],
        note=[notes[i] for i in order],
        outcome=[outcomes[i] for i in order],
    )


def draw_feedback(
    rng: np.random.Generator, cal: Calendar, lives: Lives, orders: Orders, params: SimulationParams
) -> Feedback:
    """Survey scores (0-10) after some one-off orders; loyal customers score higher."""
    asked = np.flatnonzero(
        (orders.n_prior >= 0)
        & (orders.status != CANCELLED)
        & (rng.random(len(orders)) < params.feedback_rate)
    )
    day = orders.day[asked] + rng.integers(7, 31, len(asked))
    cust = orders.customer[asked]
    keep = day < cal.n_days
    asked, day, cust = asked[keep], day[keep], cust[keep]
    mean = (
        7.0
        + 1.5 * lives.loyalty[cust]
        + 0.25 * np.minimum(orders.n_prior[asked], 4)
        - 4.0 * (orders.status[asked] == REFUNDED)
    )
    score = np.clip(np.round(mean + 1.2 * rng.standard_normal(len(asked))), 0, 10)
    # One answer per customer and day (the table's key).
    order = np.lexsort((day, cust))
    cust, day, score = cust[order], day[order], score[order]
    first = np.ones(len(cust), dtype=bool)
    first[1:] = (cust[1:] != cust[:-1]) | (day[1:] != day[:-1])
    cust, day, score = cust[first], day[first], score[first]
    band = np.where(score <= 6, "low", np.where(score <= 8, "mid", "high"))
    comments = [
        _COMMENTS[b][i % len(_COMMENTS[b])]
        for b, i in zip(band, rng.integers(0, 12, len(cust)), strict=True)
    ]
    by_day = np.lexsort((cust, day))
    return Feedback(
        customer=cust[by_day],
        day=day[by_day],
        score=score[by_day].astype(np.float64),
        comment=[comments[i] for i in by_day],
    )


def draw_spend(
    rng: np.random.Generator,
    cal: Calendar,
    lives: Lives,
    params: SimulationParams,
    price_scale: float,
) -> Spend:
    """Monthly spend per paid channel: a cost per customer won plus a fixed part."""
    n_months = int(cal.month[cal.n_days - 1]) + 1
    months = np.arange(n_months)
    start = np.maximum(cal.month_start(months), 0)
    end = np.minimum(cal.month_start(months + 1), cal.n_days) - 1
    won = np.zeros((len(params.channels), n_months), dtype=np.int64)
    np.add.at(won, (lives.channel, cal.month[lives.acq]), 1)
    channels: list[str] = []
    starts, ends, amounts = [], [], []
    for i, ch in enumerate(params.channels):
        if ch.cost_per_customer <= 0 and ch.monthly_cost <= 0:
            continue
        part = (end - start + 1) / 30.4375  # first and last months may be partial
        amount = (
            ch.cost_per_customer * won[i] * rng.lognormal(-0.02, 0.2, n_months)
            + ch.monthly_cost * part * rng.lognormal(-0.005, 0.1, n_months)
        ) * price_scale
        cents = np.round(amount * 100).astype(np.int64)
        keep = cents > 0
        channels += [ch.name] * int(keep.sum())
        starts.append(start[keep])
        ends.append(end[keep])
        amounts.append(cents[keep])
    return Spend(
        channel=channels,
        start_day=np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64),
        end_day=np.concatenate(ends) if ends else np.zeros(0, dtype=np.int64),
        amount=np.concatenate(amounts) if amounts else np.zeros(0, dtype=np.int64),
    )


def draw_details(rng: np.random.Generator, lives: Lives) -> Details:
    """Names, contacts and a city for every customer (made up)."""
    n = len(lives)
    a = rng.integers(0, len(_NAME_A), n)
    b = rng.integers(0, len(_NAME_B), n)
    c = rng.integers(0, len(_NAME_C), n)
    city = rng.integers(0, len(_CITIES), n)
    employees = np.maximum(1, np.round(rng.lognormal(1.5, 1.0, n) * lives.value)).astype(int)
    digits = rng.integers(10_000_000, 100_000_000, n)
    has_phone = rng.random(n) < 0.7
    names, emails, phones, attrs = [], [], [], []
    for i in range(n):
        name = f"{_NAME_A[a[i]]} {_NAME_B[b[i]]}{_NAME_C[c[i]]}"
        slug = f"{_NAME_A[a[i]]}-{_NAME_B[b[i]]}".lower().replace(" ", "-")
        names.append(name)
        emails.append(f"hello@{slug}-{i + 1}.example.com")
        code = _CITIES[city[i]][1]
        phones.append(f"{code} {digits[i]}" if has_phone[i] else None)
        attrs.append(
            json.dumps(
                {"city": _CITIES[city[i]][0], "employees": int(employees[i])}, sort_keys=True
            )
        )
    return Details(names, emails, phones, attrs)
