"""``simulate_shop_export``: a line-item export of an online shop, as real shops write them.

The simulated studio of :func:`~regulars.datasets.simulate` is ours, so it agrees with
us.  This generator draws the other kind of book: the raw invoice-line export of an
online shop (one row per invoice line, like the public "online retail" data sets),
with the properties that break tools tuned on clean data:

- the lines of one invoice carry timestamps a minute apart (16:57 and 16:58);
- cancellations are invoices of their own, numbered ``C`` + a new number, made only
  of negative lines, for the same customer and usually the same day as the order
  they cancel (whole orders and single lines); a few cancel orders from before the
  data start;
- guest checkouts: invoices without a customer id;
- postage, carriage and manual lines beside the products;
- one-week bursts of orders from a few customers;
- customers who were already buying before the data start (left-censored);
- data from the 1st of a month to the 9th of the month a year later, so the first
  period is a whole month inside a running business and the last one is partial;
- one large early cohort, no spend, no channels, no costs.

Purchases follow a Pareto/NBD process (gamma-distributed purchase rates, exponential
lifetimes with gamma-distributed dropout rates), so :attr:`ShopExport.truth` knows
which customers are still alive at the end of the data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from regulars.errors import ConfigError

__all__ = ["ShopExport", "simulate_shop_export"]

# Column names of the two common layouts of such exports.
LAYOUTS = {
    "uci": (
        "InvoiceNo",
        "StockCode",
        "Description",
        "Quantity",
        "InvoiceDate",
        "UnitPrice",
        "CustomerID",
        "Country",
    ),
    "ii": (
        "Invoice",
        "StockCode",
        "Description",
        "Quantity",
        "InvoiceDate",
        "Price",
        "Customer ID",
        "Country",
    ),
}

# Non-product lines: (stock code, description, price range).
_POSTAGE = ("POST", "POSTAGE", (18.0, 40.0))
_CARRIAGE = ("C2", "CARRIAGE", (50.0, 50.0))
_DOTCOM = ("DOT", "DOTCOM POSTAGE", (5.0, 60.0))
_MANUAL = ("M", "Manual", (0.5, 300.0))

_WORDS_A = (
    "RED",
    "BLUE",
    "PINK",
    "WHITE",
    "VINTAGE",
    "RETRO",
    "HEART",
    "STAR",
    "GREEN",
    "IVORY",
    "SPOTTY",
    "FLORAL",
)
_WORDS_B = (
    "LUNCH BAG",
    "TEA TOWEL",
    "CAKE TIN",
    "CANDLE",
    "MUG",
    "LANTERN",
    "DOORMAT",
    "PHOTO FRAME",
    "JUMBO BAG",
    "BUNTING",
    "ALARM CLOCK",
    "EGG FRYING PAN",
    "STORAGE JAR",
    "PARASOL",
    "WATER BOTTLE",
    "NOTEBOOK",
)
_COUNTRIES = ("United Kingdom", "Germany", "France", "EIRE", "Netherlands", "Spain")


@dataclass(frozen=True)
class ShopExport:
    """A simulated shop export and the truth behind it.

    Attributes
    ----------
    lines : pandas.DataFrame
        The export, one row per invoice line, in the column names of the chosen
        layout.  ``InvoiceDate`` is text (``YYYY-MM-DD HH:MM:SS``), the customer id is
        empty for guest checkouts, quantities are negative on cancellation lines.
    truth : pandas.DataFrame
        One row per customer who appears in :attr:`lines`: ``customer_id``,
        ``born`` (first purchase ever, possibly before the data start),
        ``left_censored`` (born before the data start), ``dies`` (end of the
        customer's lifetime), ``alive`` (still alive at the end of the data),
        ``burst`` (had a one-week burst of orders).
    start, end : datetime.date
        First day of the data and last day of the data (inclusive).
    """

    lines: pd.DataFrame
    truth: pd.DataFrame
    start: dt.date
    end: dt.date

    def to_csv(self, path: str | Path) -> Path:
        """Write :attr:`lines` as a CSV file (UTF-8, comma, header) and return its path."""
        out = Path(path)
        self.lines.to_csv(out, index=False)
        return out


def _day_count(start: dt.date, end: dt.date) -> int:
    return (end - start).days + 1


def simulate_shop_export(
    customers: int = 4300,
    *,
    seed: int = 0,
    start: dt.date | str = "2009-12-01",
    end: dt.date | str = "2010-12-09",
    layout: str = "uci",
    lines_per_invoice: float = 17.0,
    guest_share: float = 0.2,
) -> ShopExport:
    """Draw a shop's invoice-line export (see the module docstring for its properties).

    Parameters
    ----------
    customers : int
        Customers who buy at least once inside the data (about 4.3 invoices each, so
        the default gives about 18 K invoices and 400 K lines).
    seed : int
        Seed of the random generator; the same arguments give the same export.
    start, end : date or ISO string
        First and last day of the data (inclusive).
    layout : {"uci", "ii"}
        Column names: ``InvoiceNo``/``UnitPrice``/``CustomerID`` or
        ``Invoice``/``Price``/``Customer ID``.
    lines_per_invoice : float
        Mean number of product lines per invoice.
    guest_share : float
        Share of invoices placed by guests (no customer id).

    Examples
    --------
    >>> shop = simulate_shop_export(200, seed=1)
    >>> shop.lines.columns[:3].tolist()
    ['InvoiceNo', 'StockCode', 'Description']
    >>> bool(shop.truth.customer_id.is_unique)
    True
    """
    if layout not in LAYOUTS:
        raise ConfigError(f"layout must be one of {', '.join(LAYOUTS)}; got {layout!r}.")
    if customers < 1:
        raise ConfigError(f"customers must be at least 1; got {customers}.")
    d0 = dt.date.fromisoformat(start) if isinstance(start, str) else start
    d1 = dt.date.fromisoformat(end) if isinstance(end, str) else end
    if d1 <= d0:
        raise ConfigError(f"end ({d1}) must be after start ({d0}).")
    rng = np.random.default_rng(seed)
    days = _day_count(d0, d1)
    cust = _draw_customers(rng, customers, days)
    inv = _draw_invoices(rng, cust, days)
    inv, buyers = _keep_buyers(rng, inv, customers)
    inv = _add_guests(rng, inv, guest_share, days)
    lines = _draw_lines(rng, inv, lines_per_invoice)
    lines = _add_cancellations(rng, lines, inv)
    frame = _render(lines, inv, d0, layout)
    truth_df = _truth_frame(cust, buyers, d0, days)
    return ShopExport(frame, truth_df, d0, d1)


def _draw_customers(rng: np.random.Generator, n: int, days: int) -> dict[str, np.ndarray]:
    """Customers with a birth day (negative: before the data), a rate and a lifetime."""
    # Draw more candidates than needed: some left-censored ones never buy in the window.
    m = int(n * 1.6) + 50
    # 40% were customers before the data start (born up to two years earlier), and a
    # large share of the rest arrive in the first weeks (one large early cohort).
    before = rng.random(m) < 0.4
    early = rng.random(m) < 0.25
    born = np.where(
        before,
        -rng.integers(1, 730, m),
        np.where(early, rng.integers(0, 45, m), rng.integers(0, days, m)),
    )
    # Purchase rate per day: gamma heterogeneity, mean one order per ~62 days.
    rate = rng.gamma(0.9, 1 / (0.9 * 62.0), m)
    # Lifetime: exponential with a gamma-distributed dropout rate (mean ~1/330 days).
    mu = rng.gamma(1.5, 1 / (1.5 * 330.0), m)
    life = rng.exponential(1.0, m) / mu
    dies = born + life
    # Left-censored customers must still be alive at the data start to appear.
    keep = dies > 0
    burst = rng.random(m) < 0.06
    cust = {"born": born, "rate": rate, "dies": dies, "burst": burst}
    return {k: v[keep] for k, v in cust.items()}


def _keep_buyers(
    rng: np.random.Generator, inv: dict[str, np.ndarray], n: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Keep ``n`` customers who bought inside the window (all of them if fewer)."""
    buyers = np.unique(inv["customer"])
    if buyers.size > n:
        buyers = np.sort(rng.choice(buyers, n, replace=False))
    keep = np.isin(inv["customer"], buyers)
    return {k: v[keep] for k, v in inv.items()}, buyers


def _draw_invoices(
    rng: np.random.Generator, cust: dict[str, np.ndarray], days: int
) -> dict[str, np.ndarray]:
    """Invoices of identified customers: day and customer index, sorted by day."""
    born, rate, dies, burst = cust["born"], cust["rate"], cust["dies"], cust["burst"]
    lo = np.maximum(born, 0).astype(float)
    hi = np.minimum(dies, days).astype(float)
    span = np.clip(hi - lo, 0, None)
    count = rng.poisson(rate * span)
    # A customer born inside the window buys on the day of birth.
    first = (born >= 0) & (born < days)
    owners = [np.repeat(np.arange(len(born)), count)]
    when = [lo[owners[0]] + rng.random(owners[0].size) * span[owners[0]]]
    owners.append(np.flatnonzero(first))
    when.append(born[first].astype(float))
    # One-week bursts: 3 to 6 extra orders within 7 days, while alive in the window.
    b = np.flatnonzero(burst & (span > 10))
    k = rng.integers(3, 7, b.size)
    bstart = lo[b] + rng.random(b.size) * (span[b] - 7)
    ob = np.repeat(b, k)
    owners.append(ob)
    when.append(np.repeat(bstart, k) + rng.random(ob.size) * 7)
    owner = np.concatenate(owners)
    day = np.floor(np.concatenate(when)).astype(np.int64)
    ok = (day >= 0) & (day < days)
    owner, day = owner[ok], day[ok]
    order = np.lexsort((owner, day))
    return {"customer": owner[order], "day": day[order]}


def _add_guests(
    rng: np.random.Generator, inv: dict[str, np.ndarray], share: float, days: int
) -> dict[str, np.ndarray]:
    n_guest = round(inv["day"].size * share / max(1e-9, 1 - share))
    day = np.concatenate([inv["day"], rng.integers(0, days, n_guest)])
    customer = np.concatenate([inv["customer"], np.full(n_guest, -1)])
    order = np.lexsort((customer, day))
    day, customer = day[order], customer[order]
    # Business hours, in minutes after midnight; a line may come a minute later, so
    # invoices start before 23:58 and never cross midnight.
    minute = rng.integers(7 * 60 + 30, 20 * 60, day.size)
    order2 = np.lexsort((minute, day))
    return {
        "day": day[order2],
        "customer": customer[order2],
        "minute": minute[order2],
        "country": rng.choice(len(_COUNTRIES), day.size, p=[0.88, 0.03, 0.03, 0.03, 0.02, 0.01]),
        "number": 489434 + np.arange(day.size),
    }


def _catalogue(rng: np.random.Generator, size: int = 2500) -> tuple[list[str], np.ndarray]:
    a = rng.integers(0, len(_WORDS_A), size)
    b = rng.integers(0, len(_WORDS_B), size)
    names = [f"{_WORDS_A[i]} {_WORDS_B[j]} {k}" for k, (i, j) in enumerate(zip(a, b, strict=True))]
    price = np.round(np.exp(rng.normal(0.9, 0.8, size)), 2).clip(0.1, 60)
    return names, price


def _draw_lines(
    rng: np.random.Generator, inv: dict[str, np.ndarray], mean_lines: float
) -> dict[str, np.ndarray]:
    """Product lines per invoice, plus postage/carriage/manual lines."""
    n = inv["day"].size
    count = 1 + rng.negative_binomial(1.2, 1.2 / (1.2 + mean_lines - 1), n)
    inv_idx = np.repeat(np.arange(n), count)
    names, price = _catalogue(rng)
    popularity = 1 / np.arange(1, len(names) + 1) ** 0.9
    product = rng.choice(len(names), inv_idx.size, p=popularity / popularity.sum())
    qty = rng.choice(
        np.array([1, 2, 3, 4, 6, 8, 10, 12, 24, 48]),
        inv_idx.size,
        p=[0.22, 0.14, 0.08, 0.1, 0.12, 0.04, 0.06, 0.16, 0.06, 0.02],
    )
    code = product.astype(np.int64)
    unit = price[product]
    # A few wholesale lines of tens of thousands of units at about a pound each (the
    # 77 K-pound order kind); they are all cancelled, as in the public data set.
    owned = np.flatnonzero(inv["customer"][inv_idx] >= 0)
    big = rng.choice(owned, min(owned.size, max(1, inv_idx.size // 150_000)), replace=False)
    qty[big] = rng.integers(20_000, 80_000, big.size)
    unit = unit.copy()
    unit[big] = 1.04
    # Extra lines: postage on most foreign orders and some UK ones, carriage now and
    # then, DOTCOM postage on guest orders, a manual line rarely.
    foreign = inv["country"] > 0
    guest = inv["customer"] < 0
    extras = []
    for (_stock, _desc, (p_lo, p_hi)), mask, tag in (
        (_POSTAGE, foreign | (rng.random(n) < 0.05), -1),
        (_CARRIAGE, rng.random(n) < 0.02, -2),
        (_DOTCOM, guest & (rng.random(n) < 0.6), -3),
        (_MANUAL, rng.random(n) < 0.01, -4),
    ):
        idx = np.flatnonzero(mask)
        extras.append((idx, np.full(idx.size, tag), np.round(rng.uniform(p_lo, p_hi, idx.size), 2)))
    inv_all = np.concatenate([inv_idx, *[e[0] for e in extras]])
    code_all = np.concatenate([code, *[e[1] for e in extras]])
    unit_all = np.concatenate([unit, *[e[2] for e in extras]])
    qty_all = np.concatenate([qty, *[np.ones(e[0].size, dtype=np.int64) for e in extras]])
    order = np.argsort(inv_all, kind="stable")
    inv_all, code_all, unit_all, qty_all = (
        inv_all[order],
        code_all[order],
        unit_all[order],
        qty_all[order],
    )
    # Minute-apart line times: in about one invoice in ten, the later lines were
    # written a minute after the first ones.
    late_invoice = rng.random(n) < 0.1
    pos = np.arange(inv_all.size) - np.searchsorted(inv_all, inv_all)
    late = late_invoice[inv_all] & (pos >= 2) & (rng.random(inv_all.size) < 0.5)
    return {
        "invoice": inv_all,
        "code": code_all,
        "unit": unit_all,
        "qty": qty_all,
        "late": late.astype(np.int64),
        "names": np.array(names, dtype=object),
        "cancel": np.zeros(inv_all.size, dtype=bool),
    }


def _add_cancellations(
    rng: np.random.Generator, lines: dict[str, np.ndarray], inv: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Cancellation invoices: ``C`` + a new number, negative copies of earlier lines.

    About 2% of customer invoices are cancelled whole on the same day (or up to 3 days
    later), 4% have one line cancelled; the cancellation belongs to the same customer.
    """
    n = inv["day"].size
    has_customer = inv["customer"] >= 0
    whole = has_customer & (rng.random(n) < 0.02)
    single = has_customer & ~whole & (rng.random(n) < 0.04)
    # Every wholesale order (a line of 1,000 units or more) is cancelled whole, like
    # the 77 K-pound order of the public data set.
    big_inv = np.unique(lines["invoice"][lines["qty"] >= 20_000])
    whole[big_inv[has_customer[big_inv]]] = True
    single &= ~whole
    src = lines["invoice"]
    take_whole = whole[src]
    first_line = np.r_[True, src[1:] != src[:-1]]
    take_single = single[src] & first_line & (lines["code"] >= 0)
    take = np.flatnonzero(take_whole | take_single)
    cancelled_inv = np.unique(src[take])
    # Each cancellation is a new invoice right after its order (same customer).
    lag = np.where(rng.random(cancelled_inv.size) < 0.8, 0, rng.integers(1, 4, cancelled_inv.size))
    new_day = np.minimum(inv["day"][cancelled_inv] + lag, inv["day"].max())
    new_min = np.where(
        lag == 0,
        np.minimum(inv["minute"][cancelled_inv] + rng.integers(1, 90, cancelled_inv.size), 23 * 60),
        rng.integers(8 * 60, 20 * 60, cancelled_inv.size),
    )
    base = n
    new_index = base + np.arange(cancelled_inv.size)
    mapping = np.full(n, -1)
    mapping[cancelled_inv] = new_index
    for key, extra in (
        ("day", new_day),
        ("customer", inv["customer"][cancelled_inv]),
        ("minute", new_min),
        ("country", inv["country"][cancelled_inv]),
        ("number", inv["number"].max() + 1 + np.arange(cancelled_inv.size)),
    ):
        inv[key] = np.concatenate([inv[key], extra])
    out = {
        "invoice": np.concatenate([lines["invoice"], mapping[src[take]]]),
        "code": np.concatenate([lines["code"], lines["code"][take]]),
        "unit": np.concatenate([lines["unit"], lines["unit"][take]]),
        "qty": np.concatenate([lines["qty"], -lines["qty"][take]]),
        "late": np.concatenate([lines["late"], np.zeros(take.size, dtype=np.int64)]),
        "cancel": np.concatenate([lines["cancel"], np.ones(take.size, dtype=bool)]),
        "names": lines["names"],
    }
    # A few cancellations of orders from before the data start (nothing to match).
    k = max(1, n // 2000)
    who = rng.choice(np.flatnonzero(has_customer), k)
    inv["day"] = np.concatenate([inv["day"], rng.integers(0, 20, k)])
    inv["customer"] = np.concatenate([inv["customer"], inv["customer"][who]])
    inv["minute"] = np.concatenate([inv["minute"], rng.integers(8 * 60, 20 * 60, k)])
    inv["country"] = np.concatenate([inv["country"], inv["country"][who]])
    inv["number"] = np.concatenate([inv["number"], inv["number"].max() + 1 + np.arange(k)])
    orphan_inv = inv["day"].size - k + np.arange(k)
    out["invoice"] = np.concatenate([out["invoice"], orphan_inv])
    out["code"] = np.concatenate([out["code"], rng.integers(0, 200, k)])
    out["unit"] = np.concatenate([out["unit"], np.round(rng.uniform(1, 20, k), 2)])
    out["qty"] = np.concatenate([out["qty"], -rng.integers(1, 13, k)])
    out["late"] = np.concatenate([out["late"], np.zeros(k, dtype=np.int64)])
    out["cancel"] = np.concatenate([out["cancel"], np.ones(k, dtype=bool)])
    return out


def _render(
    lines: dict[str, np.ndarray], inv: dict[str, np.ndarray], d0: dt.date, layout: str
) -> pd.DataFrame:
    cols = LAYOUTS[layout]
    i = lines["invoice"]
    code = lines["code"]
    specials = {-1: _POSTAGE, -2: _CARRIAGE, -3: _DOTCOM, -4: _MANUAL}
    stock = np.where(code >= 0, (10000 + np.maximum(code, 0)).astype(str), "")
    desc = np.where(code >= 0, lines["names"][np.maximum(code, 0)], "")
    for tag, (s, d, _p) in specials.items():
        stock = np.where(code == tag, s, stock)
        desc = np.where(code == tag, d, desc)
    number = inv["number"][i].astype(str)
    prefix = np.where(lines["cancel"], "C", "")
    epoch = np.datetime64(d0.isoformat(), "m")
    stamp = (
        epoch
        + inv["day"][i].astype("timedelta64[D]")
        + (inv["minute"][i] + lines["late"]).astype("timedelta64[m]")
    )
    customer = inv["customer"][i]
    cust_id = pd.array(np.where(customer >= 0, 12346 + customer, 0), dtype="Int64")
    cust_id[customer < 0] = pd.NA
    frame = pd.DataFrame(
        {
            cols[0]: np.char.add(prefix.astype(str), number),
            cols[1]: stock,
            cols[2]: desc,
            cols[3]: lines["qty"].astype(np.int64),
            cols[4]: pd.to_datetime(stamp).strftime("%Y-%m-%d %H:%M:%S"),
            cols[5]: np.round(lines["unit"], 2),
            cols[6]: cust_id,
            cols[7]: np.array(_COUNTRIES)[inv["country"][i]],
        }
    )
    # Rows in file order: by time, then invoice, then line.
    order = np.lexsort((np.arange(len(frame)), i, stamp))
    return frame.iloc[order].reset_index(drop=True)


def _truth_frame(
    cust: dict[str, np.ndarray], buyers: np.ndarray, d0: dt.date, days: int
) -> pd.DataFrame:
    epoch = np.datetime64(d0.isoformat(), "D")
    born = cust["born"][buyers]
    dies = cust["dies"][buyers]
    return pd.DataFrame(
        {
            "customer_id": (12346 + buyers).astype(str),
            "born": epoch + born.astype("timedelta64[D]"),
            "left_censored": born < 0,
            "dies": epoch + np.minimum(np.floor(dies), 10 * 365).astype("timedelta64[D]"),
            "alive": dies >= days,
            "burst": cust["burst"][buyers],
        }
    )
