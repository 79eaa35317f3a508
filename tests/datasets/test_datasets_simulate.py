"""simulate(): determinism, the data contract, and a realistic business."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from regulars.datasets import SimulatedBook, SimulationParams, simulate
from regulars.datasets._arrow import arrow_type
from regulars.errors import ConfigError
from regulars.schema import TABLES, table
from regulars.store import Workspace

# -- determinism --------------------------------------------------------------------


def test_same_seed_gives_identical_tables(book: SimulatedBook) -> None:
    again = simulate()
    for name, t in book:
        assert t.equals(getattr(again, name)), name


def test_same_seed_gives_byte_identical_parquet(tmp_path: Path) -> None:
    a = simulate(n_customers=300, years=2, seed=5).to_parquet(tmp_path / "a")
    b = simulate(n_customers=300, years=2, seed=5).to_parquet(tmp_path / "b")
    assert sorted(a) == sorted(TABLES)
    for name in a:
        assert a[name].read_bytes() == b[name].read_bytes(), name


def test_different_seed_gives_different_book(book: SimulatedBook) -> None:
    other = simulate(seed=1)
    assert not book.orders.equals(other.orders)
    assert not book.customers.equals(other.customers)


# -- the data contract --------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_has_exactly_the_contract_columns(book: SimulatedBook, name: str) -> None:
    t = getattr(book, name)
    contract = table(name)
    assert t.column_names == list(contract.column_names)
    for col in contract.columns:
        assert t.schema.field(col.name).type == arrow_type(col.type), col.name
        if col.required:
            assert t.column(col.name).null_count == 0, col.name
        if col.choices:
            values = set(pc.unique(t.column(col.name).drop_null()).to_pylist())
            assert values <= set(col.choices), (col.name, values)
    assert t.num_rows > 0


@pytest.mark.parametrize("name", sorted(TABLES))
def test_keys_are_unique(book: SimulatedBook, name: str) -> None:
    t = getattr(book, name)
    key = list(table(name).key)
    assert t.group_by(key).aggregate([]).num_rows == t.num_rows


def test_every_date_is_inside_the_simulation(frames: dict[str, pd.DataFrame]) -> None:
    start, end = pd.Timestamp("2022-01-01"), pd.Timestamp("2026-01-01")
    columns = {
        "customers": ["acquired_at"],
        "orders": ["order_date", "refund_date"],
        "subscriptions": ["start_date", "end_date", "cancel_date"],
        "touches": ["touched_at"],
        "spend": ["period_start", "period_end"],
        "feedback": ["feedback_date"],
    }
    for name, cols in columns.items():
        for col in cols:
            values = pd.to_datetime(frames[name][col]).dropna()
            assert values.min() >= start, (name, col)
            assert values.max() < end, (name, col)


def test_book_knows_its_period_currency_and_channels(book: SimulatedBook) -> None:
    assert (book.start, book.end) == (dt.date(2022, 1, 1), dt.date(2026, 1, 1))
    assert book.currency == "EUR"
    assert book.channels["google-ads"] == "cold"
    assert set(book.channels.values()) == {"referral", "cold", "organic", "partner"}
    assert "orders=" in repr(book)


# -- customers and referrals --------------------------------------------------------


def test_referrers_are_earlier_existing_customers(frames: dict[str, pd.DataFrame]) -> None:
    c = frames["customers"]
    acquired = c.set_index("customer_id")["acquired_at"]
    referred = c.dropna(subset=["referred_by"])
    assert len(referred) > 0.3 * len(c)
    assert referred["referred_by"].isin(c["customer_id"]).all()
    assert (referred["referred_by"] != referred["customer_id"]).all()
    assert (acquired.loc[referred["referred_by"]].to_numpy() < referred["acquired_at"]).all()
    # Exactly the referral channel has a referrer.
    assert (c["referred_by"].notna() == (c["channel"] == "referral")).all()


def test_referral_chains_are_several_levels_deep(frames: dict[str, pd.DataFrame]) -> None:
    parent = frames["customers"].set_index("customer_id")["referred_by"].dropna().to_dict()

    def depth(cid: str) -> int:
        d = 0
        while cid in parent:
            cid, d = parent[cid], d + 1
        return d

    assert max(depth(cid) for cid in parent) >= 4


def test_happy_customers_refer_more(frames: dict[str, pd.DataFrame]) -> None:
    c, f = frames["customers"], frames["feedback"]
    score = f.groupby("customer_id")["score"].mean()
    referrals = c["referred_by"].value_counts()
    referrers = score.index.isin(referrals.index)
    assert score[referrers].mean() > score[~referrers].mean() + 0.3


def test_acquired_at_is_the_first_order(frames: dict[str, pd.DataFrame]) -> None:
    o, c = frames["orders"], frames["customers"]
    first = o.groupby("customer_id")["order_date"].min().dt.normalize()
    acquired = pd.to_datetime(c.set_index("customer_id")["acquired_at"])
    assert (first.reindex(acquired.index) == acquired).all()


# -- orders ---------------------------------------------------------------------------


def test_orders_belong_to_customers_and_have_unique_ids(frames: dict[str, pd.DataFrame]) -> None:
    o, c = frames["orders"], frames["customers"]
    assert o["order_id"].is_unique
    assert o["customer_id"].isin(c["customer_id"]).all()
    assert set(c["customer_id"]) == set(o["customer_id"])


def test_lines_add_up_to_their_orders(book: SimulatedBook) -> None:
    lines = book.order_lines.group_by("order_id").aggregate(
        [("revenue", "sum"), ("line_no", "min"), ("line_no", "max"), ("line_no", "count")]
    )
    joined = book.orders.select(["order_id", "revenue", "kind"]).join(lines, "order_id")
    assert joined.num_rows == book.orders.num_rows
    assert pc.all(pc.equal(joined["revenue"], joined["revenue_sum"])).as_py()
    assert pc.all(pc.equal(joined["line_no_min"], 1)).as_py()
    assert pc.all(pc.equal(joined["line_no_max"], joined["line_no_count"])).as_py()
    multi = pc.greater(joined["line_no_count"], 1)
    assert set(pc.unique(joined.filter(multi)["kind"]).to_pylist()) == {"package"}


def test_money_is_exact_decimal(book: SimulatedBook) -> None:
    total = pc.sum(book.orders["revenue"]).as_py()
    assert isinstance(total, Decimal)
    assert total == total.quantize(Decimal("0.01"))


def test_discount_and_unit_price(frames: dict[str, pd.DataFrame]) -> None:
    o = frames["orders"]
    single = o[o["kind"] != "package"]
    gross = single["quantity"] * single["unit_price"]
    assert np.allclose(gross - single["discount"], single["revenue"], atol=0.005)
    assert o.loc[o["kind"] == "package", "unit_price"].isna().all()


def test_packages_are_discounted_up_to_30_percent(frames: dict[str, pd.DataFrame]) -> None:
    p = frames["orders"].query("kind == 'package'")
    share = p["discount"] / (p["revenue"] + p["discount"])
    assert len(p) > 50
    assert share.min() >= 0.099
    assert share.max() <= 0.3001


def test_most_orders_have_a_cost_but_not_all(frames: dict[str, pd.DataFrame]) -> None:
    known = frames["orders"]["cost"].notna().mean()
    assert 0.8 < known < 0.95


def test_returning_customers_order_more_and_bring_more_profit(
    frames: dict[str, pd.DataFrame],
) -> None:
    o = frames["orders"].query("status != 'cancelled'").copy()
    o["year"] = o["order_date"].dt.year
    o["profit"] = o["revenue"] - o["refund_amount"] - o["cost"].fillna(0.7 * o["revenue"])
    first_year = o.groupby("customer_id")["year"].transform("min")
    new, returning = o[first_year == o["year"]], o[first_year < o["year"]]
    orders_ratio = len(returning) / len(new)
    profit_ratio = returning["profit"].sum() / new["profit"].sum()
    assert 1.3 < orders_ratio < 1.9
    assert 1.7 < profit_ratio < 2.8


def test_growth_comes_mostly_from_upsell_then_referrals(
    frames: dict[str, pd.DataFrame],
) -> None:
    o = frames["orders"].query("status != 'cancelled'").copy()
    o["year"] = o["order_date"].dt.year
    o["net"] = o["revenue"] - o["refund_amount"]
    rev = o.pivot_table(index="customer_id", columns="year", values="net", aggfunc="sum")
    rev = rev.fillna(0.0)
    kinds = {"referral": "referral", "google-ads": "cold", "cold-email": "cold"}
    kind = frames["customers"].set_index("customer_id")["channel"].map(kinds).fillna("other")
    y, prev = 2025, 2024
    first = (rev > 0).idxmax(axis=1)
    resurrected = (rev[prev] == 0) & (first < prev)
    existing = (first < y) & ~resurrected
    upsell = (rev.loc[existing, y] - rev.loc[existing, prev]).sum()
    new = rev.loc[first == y, y].groupby(kind).sum()
    assert upsell > new["referral"] > new["cold"]


def test_refunds_fall_inside_the_guarantee(frames: dict[str, pd.DataFrame]) -> None:
    o = frames["orders"]
    refunded = o["status"] == "refunded"
    assert refunded.sum() > 20
    assert (o["refund_date"].notna() == refunded).all()
    r = o[refunded]
    days = (pd.to_datetime(r["refund_date"]) - r["order_date"].dt.normalize()).dt.days
    assert days.between(0, 90).all()
    assert (r["refund_amount"] <= r["revenue"]).all()
    assert (r["refund_amount"] > 0).all()
    assert (o.loc[~refunded, "refund_amount"] == 0).all()


def test_refunds_come_from_new_customers(frames: dict[str, pd.DataFrame]) -> None:
    o = frames["orders"].query("kind != 'subscription'")
    first = o["order_date"] == o.groupby("customer_id")["order_date"].transform("min")
    refunded = o["status"] == "refunded"
    assert refunded[first].mean() > 10 * refunded[~first].mean()


def test_win_backs_exist(frames: dict[str, pd.DataFrame]) -> None:
    o = frames["orders"].sort_values(["customer_id", "order_date"])
    gap = o.groupby("customer_id")["order_date"].diff().dt.days
    assert (gap > 365).sum() > 20


def test_order_values_grow_with_tenure(frames: dict[str, pd.DataFrame]) -> None:
    o = frames["orders"].query("kind != 'subscription'").copy()
    acquired = o.groupby("customer_id")["order_date"].transform("min")
    o["tenure"] = ((o["order_date"] - acquired).dt.days // 365).clip(upper=2)
    mean = o.groupby("tenure")["revenue"].mean()
    assert mean[0] < mean[1] < mean[2]


# -- subscriptions ----------------------------------------------------------------------


def test_subscription_invoices_fall_inside_their_subscription(
    frames: dict[str, pd.DataFrame],
) -> None:
    s, o = frames["subscriptions"], frames["orders"]
    inv = o.query("kind == 'subscription'")
    assert len(inv) > 100
    end = pd.Timestamp("2026-01-01")
    m = inv.merge(s, left_on=["customer_id", "product"], right_on=["customer_id", "plan"])
    m["date"] = m["order_date"].dt.normalize()
    inside = (m["date"] >= pd.to_datetime(m["start_date"])) & (
        m["date"] <= pd.to_datetime(m["end_date"]).fillna(end)
    )
    covered = m[inside].groupby("order_id").size()
    assert set(covered.index) == set(inv["order_id"])
    assert (m.loc[inside, "revenue"] == m.loc[inside, "price"]).all()


def test_subscriptions_renew_and_some_cancel(frames: dict[str, pd.DataFrame]) -> None:
    s, o = frames["subscriptions"], frames["orders"]
    assert set(s["billing_period"]) == {"month", "year"}
    cancelled = s.dropna(subset=["cancel_date"])
    assert 0.2 * len(s) < len(cancelled) < 0.9 * len(s)
    assert (s["end_date"].isna() == s["cancel_date"].isna()).all()
    assert (cancelled["cancel_date"] <= cancelled["end_date"]).all()
    assert (cancelled["start_date"] <= cancelled["cancel_date"]).all()
    renewals = o.query("kind == 'subscription'").groupby(["customer_id", "product"]).size()
    assert (renewals >= 12).sum() > 20


# -- spend, touches, feedback ----------------------------------------------------------


def test_spend_only_for_paid_channels_and_cold_costs_most(
    book: SimulatedBook, frames: dict[str, pd.DataFrame]
) -> None:
    paid = {c.name for c in book.params.channels if c.cost_per_customer or c.monthly_cost}
    spend = frames["spend"]
    assert set(spend["channel"]) == paid
    assert "referral" not in paid
    assert (spend["period_start"] <= spend["period_end"]).all()
    won = frames["customers"]["channel"].value_counts()
    cac = spend.groupby("channel")["amount"].sum() / won.reindex(sorted(paid))
    kind = book.channels
    cold = [cac[c] for c in cac.index if kind[c] == "cold"]
    others = [cac[c] for c in cac.index if kind[c] != "cold"]
    assert min(cold) > 2 * max(others)


def test_valuable_active_customers_are_touched_more(frames: dict[str, pd.DataFrame]) -> None:
    o, t = frames["orders"], frames["touches"]
    revenue = o.groupby("customer_id")["revenue"].sum()
    touches = t.groupby("customer_id").size().reindex(revenue.index, fill_value=0)
    top = revenue >= revenue.quantile(0.75)
    bottom = revenue <= revenue.quantile(0.25)
    assert touches[top].mean() > 2 * touches[bottom].mean()
    assert set(t["kind"]) == {"call", "email", "meeting", "idea", "gift"}


def test_feedback_scores_follow_loyalty(frames: dict[str, pd.DataFrame]) -> None:
    f, o = frames["feedback"], frames["orders"]
    assert f["score"].between(0, 10).all()
    n_orders = o.groupby("customer_id").size()
    score = f.groupby("customer_id")["score"].mean()
    loyal = n_orders.reindex(score.index) >= 5
    assert score[loyal].mean() > score[~loyal].mean() + 0.5


# -- writing ----------------------------------------------------------------------------


def test_write_twice_changes_nothing(tmp_path: Path) -> None:
    small = simulate(n_customers=200, years=2, seed=3)
    with Workspace.init(tmp_path) as ws:
        written = small.write(ws)
        assert written == {name: t.num_rows for name, t in small}
        before = {
            name: ws.con.execute(f'SELECT * FROM "{name}"').to_arrow_table() for name in TABLES
        }
        small.write(ws)
        for name in TABLES:
            after = ws.con.execute(f'SELECT * FROM "{name}"').to_arrow_table()
            assert after.num_rows == before[name].num_rows
            key = [(k, "ascending") for k in table(name).key]
            assert after.sort_by(key).equals(before[name].sort_by(key)), name
        revenue = ws.con.execute("SELECT sum(revenue) FROM orders").fetchone()
        assert revenue is not None
        assert revenue[0] == pc.sum(small.orders["revenue"]).as_py()


def test_to_parquet_round_trips(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    small = simulate(n_customers=100, years=1, seed=2)
    paths = small.to_parquet(tmp_path / "book")
    for name, t in small:
        assert paths[name].name == f"{name}.parquet"
        assert pq.read_table(paths[name]).equals(t)


# -- parameters -------------------------------------------------------------------------


def test_any_size_start_and_currency() -> None:
    tiny = simulate(n_customers=1, years=1, start="2023-03-31", seed=9, currency="rub")
    assert tiny.customers.num_rows == 1
    assert tiny.currency == "RUB"
    assert tiny.start == dt.date(2023, 3, 31)
    eur = simulate(n_customers=300, years=1, seed=4)
    rub = simulate(n_customers=300, years=1, seed=4, currency="RUB")
    ratio = pc.mean(rub.orders["revenue"]).as_py() / pc.mean(eur.orders["revenue"]).as_py()
    assert 80 < float(ratio) < 120


def test_params_change_the_business() -> None:
    base = SimulationParams()
    no_refunds = dataclasses.replace(base, refund_rate_first=0.0, refund_rate_repeat=0.0)
    b = simulate(n_customers=300, years=2, params=no_refunds)
    assert "refunded" not in pc.unique(b.orders["status"]).to_pylist()
    no_plans = dataclasses.replace(
        base, subscription_rate=0.0, second_subscription_rate=0.0, winback_subscription_rate=0.0
    )
    b = simulate(n_customers=300, years=2, params=no_plans)
    assert b.subscriptions.num_rows == 0
    assert b.subscriptions.schema == simulate(n_customers=50, years=1).subscriptions.schema


def test_a_business_without_plans_or_packages() -> None:
    base = SimulationParams()
    b = simulate(n_customers=200, years=2, params=dataclasses.replace(base, plans=(), packages=()))
    assert b.subscriptions.num_rows == 0
    assert set(pc.unique(b.orders["kind"]).to_pylist()) == {"one-off"}
    assert b.order_lines.num_rows == b.orders.num_rows


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_customers": 0}, "n_customers = 0 must be at least 1"),
        ({"years": 0}, "years = 0 must be at least 1"),
        ({"start": "31/12/2022"}, "is not a date"),
        ({"currency": "euro"}, "ISO 4217"),
    ],
)
def test_bad_arguments_say_what_is_valid(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        simulate(**kwargs)  # type: ignore[arg-type]


def test_bad_params_say_what_to_change() -> None:
    with pytest.raises(ConfigError, match=r"referral_share = 1\.5 must be between 0 and 1"):
        SimulationParams(referral_share=1.5)
    with pytest.raises(ConfigError, match="needs at least two services"):
        dataclasses.replace(
            SimulationParams(),
            packages=(dataclasses.replace(SimulationParams().packages[0], services=("x",)),),
        )


def test_arrow_tables_are_plain_pyarrow(book: SimulatedBook) -> None:
    assert all(isinstance(t, pa.Table) for _, t in book)
