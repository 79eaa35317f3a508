"""subscription_movements, renewal_rates, subscription_survival, subscription_projection."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings
from oracles_retention import (
    SimData,
    assert_same,
    kaplan_meier,
    renewal_outcomes,
    simulated,
    spans,
)
from oracles_retention import renewal_rates as renewal_oracle
from oracles_retention import subscription_movements as movements_oracle

from conftest import Book
from regulars.config import Config, SubscriptionsConfig
from regulars.errors import ConfigError
from regulars.metrics import (
    renewal_rates,
    subscription_movements,
    subscription_projection,
    subscription_survival,
)
from regulars.metrics.subscriptions import subscription_spans
from regulars.models import ShiftedBetaGeoModel

MOVE_MONEY = ("mrr", "new", "expansion", "contraction", "churned", "reactivation", "net_change")
MOVE_FLOATS = ("mrr_churn_rate", "customer_churn_rate")
PARTS_IN = ("new", "expansion", "reactivation")
PARTS_OUT = ("contraction", "churned")


@pytest.fixture(scope="session")
def sim() -> SimData:
    return simulated()


@pytest.fixture
def duck_book(tmp_path):
    """A DuckDB-only Book, for property tests that run many examples."""
    return Book("duckdb", tmp_path)


def _cfg(**conv: str) -> Config:
    return Config(subscriptions=SubscriptionsConfig(**conv))  # type: ignore[arg-type]


def _subs(*rows: tuple) -> dict[str, list]:
    """(id, customer, start, end, cancel, price, billing) rows as columns."""
    names = (
        "subscription_id",
        "customer_id",
        "start_date",
        "end_date",
        "cancel_date",
        "price",
        "billing_period",
    )
    return {k: [r[i] for r in rows] for i, k in enumerate(names)}


def _orders(*rows: tuple) -> dict[str, list]:
    """(order_id, customer, date, revenue, discount) subscription orders as columns."""
    return {
        "order_id": [r[0] for r in rows],
        "customer_id": [r[1] for r in rows],
        "order_date": [r[2] for r in rows],
        "revenue": [r[3] for r in rows],
        "discount": [r[4] for r in rows],
        "kind": ["subscription"] * len(rows),
    }


def _inputs(book):
    return (
        book.inputs["subscriptions"].to_pandas(),
        book.inputs["orders"].to_pandas(),
        book.inputs["customers"].to_pandas(),
    )


# A book with every awkward case: two subscriptions of one customer, a weekly and a
# yearly plan, a subscription new and cancelled inside one month, a win-back, a
# cancellation mid-period, a discount, a zero price and a subscription without start.
EDGE_SUBS = _subs(
    ("s1", "a", "2024-01-15", "2024-04-14", None, "100.00", "month"),
    ("s2", "a", "2024-03-01", None, None, "120.00", "month"),
    ("s3", "b", "2024-02-01", "2024-02-29", "2024-02-10", "30.00", "month"),
    ("s4", "c", "2024-02-03", "2024-02-20", "2024-02-03", "999.00", "week"),
    ("s5", "d", "2024-01-01", None, None, "1200.00", "year"),
    ("s6", "b", "2024-05-01", None, None, "45.00", "quarter"),
    ("s7", "e", "2024-01-20", "2024-03-19", "2024-02-25", "0.00", "month"),
    ("s8", "f", None, None, None, "10.00", "month"),
    ("s9", "g", "2024-06-10", "2024-06-09", None, "10.00", "month"),
)
EDGE_ORDERS = _orders(
    ("o1", "d", "2024-01-01", "1080.00", "120.00"),
    ("o2", "a", "2024-06-30", "100.00", None),
)


@pytest.mark.parametrize("churn_at", ["period_end", "cancellation"])
@pytest.mark.parametrize("discounts", ["net", "list"])
@pytest.mark.parametrize("same_period", ["both", "neither"])
@pytest.mark.on_spark
def test_movements_match_oracle_on_edge_cases(book, to_frame, churn_at, discounts, same_period):
    cfg = _cfg(churn_at=churn_at, discounts=discounts, same_period=same_period)
    ctx = book(subscriptions=EDGE_SUBS, orders=EDGE_ORDERS, config=cfg)
    got = to_frame(subscription_movements(ctx, period="month"))
    subs, orders, _ = _inputs(book)
    want = movements_oracle(subs, orders, cfg, "month")
    assert_same(got, want, keys=["period"], money_cols=MOVE_MONEY, float_cols=MOVE_FLOATS)


@pytest.mark.parametrize("period", ["month", "quarter"])
def test_movements_match_oracle_on_simulated_book(book, to_frame, sim, period):
    ctx = book(subscriptions=sim.subscriptions, orders=sim.orders, config=sim.config)
    got = to_frame(subscription_movements(ctx, period=period))
    subs, orders, _ = _inputs(book)
    want = movements_oracle(subs, orders, sim.config, period)
    assert_same(got, want, keys=["period"], money_cols=MOVE_MONEY, float_cols=MOVE_FLOATS)


@pytest.mark.on_spark
def test_movements_hand_checked(book, to_frame):
    ctx = book(subscriptions=EDGE_SUBS, orders=EDGE_ORDERS, config=_cfg())
    df = to_frame(subscription_movements(ctx, period="month"), sort=["period"])
    money = {c: [str(v) for v in df[c]] for c in MOVE_MONEY}
    # Jan: a 100 (s1) + d 1200/12 × (1 − 120/1200) = 90.
    assert money["mrr"] == ["190.00", "220.00", "310.00", "210.00", "225.00", "225.00"]
    # Feb: b 30 new; c's weekly plan (999 × 52 / 12 = 4329) starts and ends in Feb.
    assert money["new"] == ["190.00", "4359.00", "0.00", "0.00", "0.00", "0.00"]
    assert money["churned"] == ["0.00", "4329.00", "30.00", "0.00", "0.00", "0.00"]
    assert money["expansion"] == ["0.00", "0.00", "120.00", "0.00", "0.00", "0.00"]
    assert money["contraction"] == ["0.00", "0.00", "0.00", "100.00", "0.00", "0.00"]
    # May: b comes back with a quarterly plan, 45 / 3 = 15 a month.
    assert money["reactivation"] == ["0.00", "0.00", "0.00", "0.00", "15.00", "0.00"]
    assert df.new_customers.tolist() == [2, 2, 0, 0, 0, 0]
    assert df.churned_customers.tolist() == [0, 1, 1, 0, 0, 0]
    assert df.mrr_churn_rate.tolist()[1] == pytest.approx(4329 / (190 + 4329))


def test_same_period_neither_leaves_the_customer_out(book, to_frame):
    ctx = book(subscriptions=EDGE_SUBS, orders=EDGE_ORDERS, config=_cfg(same_period="neither"))
    df = to_frame(subscription_movements(ctx, period="month"), sort=["period"])
    feb = df.iloc[1]
    assert (str(feb.new), str(feb.churned), feb.new_customers) == ("30.00", "0.00", 1)


def test_churn_at_cancellation_moves_churn_earlier(book, to_frame):
    ctx = book(subscriptions=EDGE_SUBS, orders=EDGE_ORDERS, config=_cfg(churn_at="cancellation"))
    df = to_frame(subscription_movements(ctx, period="month"), sort=["period"])
    # b cancelled on Feb 10 (paid to Feb 29): now new and churned in February.  c cancelled
    # on the day the plan started, so that subscription never counted at all.
    assert [str(v) for v in df.churned] == ["0.00", "30.00", "0.00", "0.00", "0.00", "0.00"]
    assert [str(v) for v in df.new][:2] == ["190.00", "30.00"]


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.dates(dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
            st.one_of(st.none(), st.integers(1, 400)),
            st.integers(0, 90000),
            st.sampled_from(["week", "month", "quarter", "year"]),
        ),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["both", "neither"]),
)
def test_property_movements_add_up_to_the_change(duck_book, to_frame, rows, same_period):
    subs = _subs(
        *[
            (
                f"s{i}",
                c,
                d.isoformat(),
                None if n is None else (d + dt.timedelta(days=n)).isoformat(),
                None,
                Decimal(p) / 100,
                b,
            )
            for i, (c, d, n, p, b) in enumerate(rows)
        ]
    )
    cfg = _cfg(same_period=same_period, discounts="list")
    ctx = duck_book(subscriptions=subs, config=cfg)
    got = to_frame(subscription_movements(ctx, period="month", as_of="2025-03-31"))
    if got.empty:
        return
    change = got.new + got.expansion + got.reactivation - got.contraction - got.churned
    assert (change == got.net_change).all()
    assert (got.mrr.diff().iloc[1:] == got.net_change.iloc[1:]).all()
    assert got.net_change.iloc[0] == got.mrr.iloc[0]
    s, o, _ = _inputs(duck_book)
    want = movements_oracle(s, o, cfg, "month", as_of=dt.date(2025, 3, 31))
    assert_same(got, want, keys=["period"], money_cols=MOVE_MONEY, float_cols=MOVE_FLOATS)


@pytest.mark.on_spark
def test_spans_mrr_normalisation_and_discounts(book, to_frame):
    ctx = book(subscriptions=EDGE_SUBS, orders=EDGE_ORDERS, config=_cfg())
    df = to_frame(subscription_spans(ctx), sort=["subscription_id"]).set_index("subscription_id")
    assert sorted(df.index) == ["s1", "s2", "s3", "s4", "s5", "s6", "s7"]  # s8, s9 invalid
    assert df.loc["s4", "list_mrr_cents"] == 432900  # 999 × 52 / 12
    assert df.loc["s5", "list_mrr_cents"] == 10000
    assert df.loc["s5", "mrr_cents"] == 9000  # 10% off on its orders
    assert df.loc["s6", "mrr_cents"] == 1500
    assert df.loc["s3", "stop"] == dt.date(2024, 3, 1)


@pytest.mark.parametrize("churn_at", ["period_end", "cancellation"])
@pytest.mark.parametrize("by_cohort", [False, True])
def test_renewal_rates_match_oracle(book, to_frame, sim, churn_at, by_cohort):
    cfg = dataclasses.replace(sim.config, subscriptions=SubscriptionsConfig(churn_at=churn_at))
    ctx = book(subscriptions=sim.subscriptions, orders=sim.orders, config=cfg)
    got = to_frame(renewal_rates(ctx, period="quarter", by_cohort=by_cohort))
    subs, orders, _ = _inputs(book)
    want = renewal_oracle(subs, orders, cfg, "quarter", by_cohort=by_cohort)
    keys = [*(["cohort"] if by_cohort else []), "billing_period", "renewal"]
    assert_same(got, want, keys=keys, float_cols=("renewal_rate",))


@pytest.mark.on_spark
def test_renewal_rates_hand_checked(book, to_frame):
    ctx = book(subscriptions=EDGE_SUBS, orders=EDGE_ORDERS, config=_cfg())
    df = to_frame(renewal_rates(ctx))
    month = df[df.billing_period == "month"]
    # s1 (Jan 15 - Apr 14) renewed twice, stopped at renewal 3; s2 still runs (4 periods by
    # Jul 1); s3 stopped at renewal 1; s7 (zero price) stopped at renewal 2.
    assert month.renewal.tolist() == [1, 2, 3]
    assert month.reached.tolist() == [4, 3, 2]
    assert month.renewed.tolist() == [3, 2, 1]
    week = df[df.billing_period == "week"]
    assert week.reached.tolist() == [1, 1, 1]
    assert week.renewed.tolist() == [1, 1, 0]
    subs, orders, _ = _inputs(book)
    assert_same(
        df,
        renewal_oracle(subs, orders, _cfg(), "month"),
        keys=["billing_period", "renewal"],
        float_cols=("renewal_rate",),
    )


def test_renewals_follow_the_calendar_from_the_start_day(book, to_frame):
    # Started Jan 31: renewals on Feb 29 (2024) and Mar 31.  Paid through Mar 30.
    ctx = book(
        subscriptions=_subs(("s", "a", "2024-01-31", "2024-03-30", None, "10.00", "month")),
        orders=_orders(("o", "a", "2024-06-30", "10.00", None)),
        config=_cfg(),
    )
    df = to_frame(renewal_rates(ctx))
    assert df.renewal.tolist() == [1, 2]
    assert df.renewed.tolist() == [1, 0]


@pytest.mark.parametrize("by", [None, "channel_kind", "billing_period"])
def test_kaplan_meier_matches_oracle(book, to_frame, sim, by):
    ctx = book(
        subscriptions=sim.subscriptions,
        orders=sim.orders,
        customers=sim.customers,
        config=sim.config,
    )
    got = to_frame(subscription_survival(ctx, by=by))
    subs, orders, customers = _inputs(book)
    want = kaplan_meier(subs, orders, customers, sim.config, by=by)
    keys = [*([by] if by else []), "days"]
    assert_same(got, want, keys=keys, float_cols=("survival",))


@pytest.mark.on_spark
def test_kaplan_meier_hand_checked(book, to_frame):
    ctx = book(subscriptions=EDGE_SUBS, orders=EDGE_ORDERS, config=_cfg())
    df = to_frame(subscription_survival(ctx))
    # Durations: s4 18 (churned), s3 29 (churned), s7 ... ; the first step is 1 - 1/7.
    assert df.at_risk.iloc[0] == 7
    assert df.survival.iloc[0] == pytest.approx(6 / 7)
    assert (df.survival.diff().dropna() <= 1e-12).all()


def test_kaplan_meier_reaches_zero_when_everyone_churns(book, to_frame):
    ctx = book(
        subscriptions=_subs(
            ("s1", "a", "2024-01-01", "2024-01-31", None, "10.00", "month"),
            ("s2", "b", "2024-01-01", "2024-02-29", None, "10.00", "month"),
        ),
        orders=_orders(("o", "a", "2024-06-30", "10.00", None)),
    )
    df = to_frame(subscription_survival(ctx))
    assert df.survival.tolist() == [0.5, 0.0]


def test_results_do_not_depend_on_row_order(book, to_frame):
    def rev(d):
        return {k: list(reversed(v)) for k, v in d.items()}

    a = book(subscriptions=EDGE_SUBS, orders=EDGE_ORDERS, config=_cfg())
    b = book(subscriptions=rev(EDGE_SUBS), orders=rev(EDGE_ORDERS), config=_cfg())
    for f in (subscription_movements, renewal_rates, subscription_survival):
        assert to_frame(f(a)).equals(to_frame(f(b)))


def _paper_cohort() -> dict[str, list]:
    """Fader & Hardie (2007) 'regular' cohort of 1000 as yearly subscriptions."""
    alive = [1000, 631, 468, 382, 326, 289, 262, 241]
    rows = []
    i = 0
    for year, (a, b) in enumerate(zip(alive, [*alive[1:], 0], strict=True), start=1):
        # a - b customers paid `year` years and stopped; the last 241 still run.
        stop = f"{2000 + year}-12-31" if year < len(alive) else None
        for _ in range(a - b if stop else a):
            rows.append((f"s{i}", f"c{i}", "2001-01-01", stop, None, "120.00", "year"))
            i += 1
    return _subs(*rows)


@pytest.mark.on_spark
def test_sbg_projection_reproduces_fader_hardie(book, to_frame):
    ctx = book(subscriptions=_paper_cohort(), config=_cfg(), orders=_orders())
    df = to_frame(
        subscription_projection(ctx, period="year", billing_period="year", as_of="2008-06-30"),
        sort=["renewal"],
    )
    assert df.customers.iloc[0] == 1000
    assert df.observed_survivors.tolist()[:8] == [1000, 631, 468, 382, 326, 289, 262, 241]
    assert df.alpha.iloc[0] == pytest.approx(0.704, abs=5e-4)
    assert df.beta.iloc[0] == pytest.approx(1.182, abs=5e-4)
    model = ShiftedBetaGeoModel().fit_survivors([1000, 631, 468, 382, 326, 289, 262, 241])
    assert df.projected_survival.tolist() == pytest.approx(
        [float(v) for v in model.survival(list(range(len(df))))]
    )
    # The paper's holdout (years 8-12): 223 207 194 183 173, projected within ~5%.
    assert df.projected_survivors.iloc[8:13].tolist() == pytest.approx(
        [223, 207, 194, 183, 173], rel=0.06
    )


def test_projection_on_simulated_book(book, to_frame, sim):
    ctx = book(subscriptions=sim.subscriptions, orders=sim.orders, config=sim.config)
    df = to_frame(subscription_projection(ctx, period="year", horizon=24))
    subs, orders, _ = _inputs(book)
    cohorts: dict = {}
    for s in spans(subs, orders, sim.config):
        if s["billing"] == "month":
            outcomes = renewal_outcomes(s)
            renewed = sum(1 for _, ok in outcomes if ok)
            cohorts.setdefault(s["start"].year, []).append((renewed, s["churned"]))
    for year, items in cohorts.items():
        got = df[df.cohort == dt.date(year, 1, 1)]
        running = [r for r, churned in items if not churned]
        known = min(running) if running else max(r for r, _ in items) + 1
        want = [sum(1 for r, _ in items if r >= k) for k in range(known + 1)]
        assert got.observed_survivors.tolist()[: known + 1] == want
        assert got.observed_survivors.iloc[known + 1 :].isna().all()
        assert got.customers.iloc[0] == len(items)
        fitted = got.alpha.notna().iloc[0]
        if fitted:
            model = ShiftedBetaGeoModel().fit(
                {
                    "periods": [r + 1 for r, _ in items],
                    "churned": [int(c) for _, c in items],
                }
            )
            assert got.alpha.iloc[0] == pytest.approx(model.params_["alpha"], rel=1e-6)
            assert got.projected_survival.tolist() == pytest.approx(
                list(model.survival(list(range(len(got))))), rel=1e-6
            )
    assert df.alpha.notna().any()


def test_bad_arguments_say_what_is_valid(book):
    ctx = book(subscriptions=EDGE_SUBS, orders=EDGE_ORDERS)
    with pytest.raises(ConfigError, match=r"billing_period = 'day' is not valid"):
        subscription_projection(ctx, billing_period="day")
    with pytest.raises(ConfigError, match=r"horizon = -1 is not valid"):
        subscription_projection(ctx, horizon=-1)
    with pytest.raises(ConfigError, match=r"by = 'x' is not valid\. Valid values: 'channel_kind'"):
        subscription_survival(ctx, by="x")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"as_of = 'soon' is not a date"):
        subscription_movements(ctx, as_of="soon")


def test_explicit_as_of_keeps_one_row_per_subscription(book, to_frame):
    # Regression: an as_of literal once multiplied the spans by the number of rows.
    ctx = book(
        subscriptions=_subs(
            ("s0", "a", "2024-01-01", None, None, "0.00", "week"),
            ("s1", "a", "2024-01-01", None, None, "0.01", "week"),
        ),
        config=_cfg(discounts="list"),
    )
    assert len(to_frame(subscription_spans(ctx, as_of="2025-03-31"))) == 2
    df = to_frame(subscription_movements(ctx, period="month", as_of="2025-03-31"))
    assert {str(v) for v in df.mrr} == {"0.04"}


def test_conventions_are_read_from_regulars_toml():
    from regulars.config import default_config_text, parse_config

    cfg = parse_config(default_config_text())
    assert cfg.subscriptions == SubscriptionsConfig()
    assert (cfg.subscriptions.churn_at, cfg.subscriptions.discounts) == ("period_end", "net")
    assert cfg.subscriptions.same_period == "both"
    cfg = parse_config('[subscriptions]\nchurn_at = "cancellation"\nsame_period = "neither"\n')
    assert (cfg.subscriptions.churn_at, cfg.subscriptions.same_period) == (
        "cancellation",
        "neither",
    )
    with pytest.raises(ConfigError, match=r"churn_at = 'later' is not valid\. Valid values"):
        parse_config('[subscriptions]\nchurn_at = "later"\n')
    with pytest.raises(ConfigError, match=r"Unknown key 'subscriptions\.discount'"):
        parse_config('[subscriptions]\ndiscount = "net"\n')
