"""Referral tree, problems, reward ledger and per-period referral numbers."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from _metrics_oracle import CHANNELS, random_book, shuffled
from oracles_retention import SimData, assert_same, observation_end, simulated
from oracles_retention import referral_problems as problems_oracle
from oracles_retention import referral_rewards as rewards_oracle
from oracles_retention import referral_tree as tree_oracle
from oracles_retention import referrals_per_period as per_period_oracle

from regulars.config import Config, parse_config
from regulars.errors import ConfigError
from regulars.metrics.referrals import (
    referral_problems,
    referral_rewards,
    referral_tree,
    referrals,
    top_referrers,
)

RULES = parse_config(
    """
[guarantee]
days = 30
[referrals]
cap_per_referrer = 60
max_depth = 5
[[referrals.rules]]
kind = "fixed"
amount = 25
[[referrals.rules]]
kind = "percentage"
percent = 12.5
months = 3
side = "both"
[[referrals.rules]]
kind = "double-sided"
amount = 5
referee_amount = 2.5
name = "welcome"
"""
)
CFG = dataclasses.replace(RULES, channels=CHANNELS)
TREE_MONEY = ("referred_revenue", "descendant_revenue")
LEDGER_MONEY = ("basis", "amount_before_cap", "amount")
PERIOD_MONEY = ("revenue", "referred_revenue", "rewards", "rewards_earned")
PERIOD_FLOATS = ("referred_share_of_new", "referred_share_of_revenue")


@pytest.fixture(scope="session")
def sim() -> SimData:
    return simulated()


# r referred a and b; a referred c; c referred d (a tree of depth 3).  x and y refer each
# other (a cycle); z is referred by x (leads into the cycle); s referred themselves; u
# names a referrer who is not a customer.  k1 -> ... -> k7 is deeper than max_depth 5.
GRAPH = {
    "customer_id": ["r", "a", "b", "c", "d", "x", "y", "z", "s", "u"]
    + [f"k{i}" for i in range(1, 8)],
    "referred_by": [None, "r", "r", "a", "c", "y", "x", "x", "s", "ghost"]
    + [None]
    + [f"k{i}" for i in range(1, 7)],
    "channel": ["google-ads"] + [None] * 16,
}
ORDERS = {
    "order_id": [f"o{i}" for i in range(11)],
    "customer_id": ["r", "a", "b", "c", "d", "a", "s", "u", "x", "b", "c"],
    "order_date": [
        "2024-01-01",
        "2024-01-10",
        "2024-02-01",
        "2024-03-01",
        "2024-03-05",
        "2024-04-01",
        "2024-01-01",
        "2024-01-01",
        "2024-02-02",
        "2024-02-01",
        "2024-05-20",
    ],
    "revenue": ["100", "200", "50", "80", "60", "100", "10", "10", "40", "30", "15"],
    "status": [None, None, None, None, None, None, None, None, None, "refunded", None],
}


def _inputs(book):
    return book.inputs["customers"].to_pandas(), book.inputs["orders"].to_pandas()


def _as_of(book) -> dt.date:
    return observation_end(book.inputs["orders"].to_pandas(), None)


@pytest.mark.on_spark
def test_problems_hand_checked(book, to_frame):
    ctx = book(customers=GRAPH, orders=ORDERS, config=RULES)
    df = to_frame(referral_problems(ctx), sort=["customer_id", "problem"])
    got = {(r.customer_id, r.problem) for r in df.itertuples()}
    assert got == {
        ("x", "cycle"),
        ("y", "cycle"),
        ("z", "leads into a cycle"),
        ("s", "self-referral"),
        ("u", "unknown referrer"),
        ("k7", "too deep"),
    }
    assert df.set_index("customer_id").loc["x", "cycle_length"] == 2
    customers, _ = _inputs(book)
    assert_same(df, problems_oracle(customers, RULES), keys=["customer_id", "problem"])


@pytest.mark.on_spark
def test_tree_hand_checked(book, to_frame):
    ctx = book(customers=GRAPH, orders=ORDERS, config=RULES)
    df = to_frame(referral_tree(ctx)).set_index("customer_id")
    r = df.loc["r"]
    assert (r.root, r.depth, r.direct_referrals, r.descendants) == ("r", 0, 2, 4)
    assert (r.tree_size, r.tree_depth) == (5, 3)
    # a (300) + b (50 paid, 30 refunded in full) referred directly; c and d below.
    assert r.referred_revenue == Decimal("350.00")
    assert r.descendant_revenue == Decimal("505.00")
    assert (df.loc["d", "root"], df.loc["d", "depth"]) == ("r", 3)
    # Cycles and self-referrals have no root and count for nobody.
    assert df.loc["x"].isna()["root"]
    assert df.loc["x", "direct_referrals"] == 1  # z, who is outside the cycle
    assert df.loc["s", "direct_referrals"] == 0
    assert (df.loc["k1", "tree_size"], df.loc["k1", "tree_depth"]) == (6, 5)
    customers, orders = _inputs(book)
    assert_same(
        to_frame(referral_tree(ctx)),
        tree_oracle(customers, orders, RULES),
        keys=["customer_id"],
        money_cols=TREE_MONEY,
    )


def test_top_referrers_order(book, to_frame):
    ctx = book(customers=GRAPH, orders=ORDERS, config=RULES)
    df = to_frame(top_referrers(ctx, n=3), sort=[])
    assert df.customer_id.tolist() == ["r", "a", "c"]


@pytest.mark.parametrize("seed", [4, 9])
def test_tree_and_problems_match_oracle_on_random_books(book, to_frame, seed):
    ctx = book(config=CFG, **random_book(seed))
    customers, orders = _inputs(book)
    assert_same(
        to_frame(referral_tree(ctx)),
        tree_oracle(customers, orders, CFG),
        keys=["customer_id"],
        money_cols=TREE_MONEY,
    )
    assert_same(
        to_frame(referral_problems(ctx)),
        problems_oracle(customers, CFG),
        keys=["customer_id", "problem"],
    )


@pytest.mark.on_spark
def test_ledger_hand_checked(book, to_frame):
    ctx = book(customers=GRAPH, orders=ORDERS, config=RULES)
    df = to_frame(referral_rewards(ctx, period="month"))
    mine = df[(df.referrer == "r") & (df.side == "referrer")].sort_values(["earned_at", "rule"])
    # Fixed 25 + welcome 5 for a and for b reach the cap of 60; the percentages are capped.
    assert [str(v) for v in mine.amount] == ["25.00", "5.00", "25.00", "5.00", "0.00", "0.00"]
    assert mine.status.tolist()[-2:] == ["capped", "capped"]
    pct = df[(df.referee == "a") & (df.side == "referee") & (df.rule == "percentage #2")].iloc[0]
    # a's first three months (Jan 10 - Apr 9): 200 + 100; 12.5% = 37.50, earned 30 days
    # after the window, on May 10, before as_of (the last order, May 20).
    assert (pct.basis, pct.amount) == (Decimal("300.00"), Decimal("37.50"))
    assert (pct.earned_at, pct.status) == (dt.date(2024, 5, 10), "earned")
    late = df[(df.referee == "d") & (df.rule == "percentage #2")]
    assert set(late.status) == {"pending"}
    welcome = df[(df.referee == "a") & (df.rule == "welcome") & (df.side == "referee")].iloc[0]
    assert (welcome.amount, welcome.status) == (Decimal("2.50"), "earned")
    assert set(df[df.referee.isin(["s", "u", "x", "y"])].status) == {"blocked"}
    assert (df[df.status == "blocked"].amount == 0).all()


def test_ledger_status_follows_as_of(book, to_frame):
    ctx = book(customers=GRAPH, orders=ORDERS, config=RULES)
    early = to_frame(referral_rewards(ctx, as_of="2024-01-15"))
    late = to_frame(referral_rewards(ctx, as_of="2030-01-01"))
    assert "earned" not in set(early.status)
    assert "pending" not in set(late.status)


@pytest.mark.parametrize("seed", [4, 9])
@pytest.mark.parametrize("period", ["month", "quarter"])
def test_ledger_matches_oracle_on_random_books(book, to_frame, seed, period):
    ctx = book(config=CFG, **random_book(seed))
    customers, orders = _inputs(book)
    want = rewards_oracle(customers, orders, CFG, period, _as_of(book))
    got = to_frame(referral_rewards(ctx, period=period))
    assert_same(got, want, keys=["referrer", "referee", "side", "rule"], money_cols=LEDGER_MONEY)


def test_no_rules_gives_an_empty_ledger(book, to_frame):
    ctx = book(customers=GRAPH, orders=ORDERS)
    df = to_frame(referral_rewards(ctx))
    assert df.empty
    assert "status" in df.columns


@pytest.mark.parametrize("period", ["month", "quarter"])
@pytest.mark.on_spark
def test_per_period_matches_oracle(book, to_frame, period):
    ctx = book(config=CFG, **random_book(4))
    customers, orders = _inputs(book)
    want = per_period_oracle(customers, orders, CFG, period, _as_of(book))
    got = to_frame(referrals(ctx, period=period))
    assert_same(got, want, keys=["period"], money_cols=PERIOD_MONEY, float_cols=PERIOD_FLOATS)


def test_per_period_on_simulated_book(book, to_frame, sim):
    cfg = dataclasses.replace(sim.config, referrals=RULES.referrals, guarantee=RULES.guarantee)
    ctx = book(customers=sim.customers, orders=sim.orders, config=cfg)
    customers, orders = _inputs(book)
    want = per_period_oracle(customers, orders, cfg, "quarter", _as_of(book))
    got = to_frame(referrals(ctx, period="quarter"))
    assert_same(got, want, keys=["period"], money_cols=PERIOD_MONEY, float_cols=PERIOD_FLOATS)
    # Half of the simulated book arrives by referral.
    assert got.new_referred_customers.sum() > 0.3 * got.new_customers.sum()


def test_results_do_not_depend_on_row_order(book, to_frame):
    data = random_book(9)
    a = book(config=CFG, **data)
    b = book(config=CFG, **shuffled(data, 3))
    for f in (referral_tree, referral_problems, referral_rewards, referrals):
        assert to_frame(f(a)).equals(to_frame(f(b)))


def test_bad_arguments(book):
    ctx = book(customers=GRAPH, orders=ORDERS)
    with pytest.raises(ConfigError, match=r"n = 0 is not valid"):
        top_referrers(ctx, n=0)
    with pytest.raises(ConfigError, match=r"amount = 0\.0 must be positive"):
        parse_config('[[referrals.rules]]\nkind = "fixed"\n')
    with pytest.raises(ConfigError, match=r"percent = 150\.0 is out of range"):
        parse_config('[[referrals.rules]]\nkind = "percentage"\npercent = 150\n')
    with pytest.raises(ConfigError, match=r"max_depth = 0 is out of range"):
        parse_config("[referrals]\nmax_depth = 0\n")
    assert Config().referrals.rules == []
