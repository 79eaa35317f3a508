"""Fixtures for the report tests: a fake data source with small hand-made frames."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from regulars.report._data import missing_note
from regulars.report._model import MissingDataError

YEARS = [dt.date(y, 1, 1) for y in (2022, 2023, 2024, 2025)]


def _per_year(periods: list[dt.date] = YEARS, **columns: list[Any]) -> pd.DataFrame:
    """One row per period of ``periods`` with the given columns."""
    return pd.DataFrame({"period": periods, **columns})


def _nvr() -> pd.DataFrame:
    return _per_year(
        new_customers=[100, 90, 80, 85],
        returning_customers=[0, 60, 95, 120],
        new_orders=[120, 100, 95, 100],
        returning_orders=[0, 140, 180, 230],
        new_revenue=[50000.0, 45000.0, 41000.0, 43000.0],
        returning_revenue=[0.0, 52000.0, 70000.0, 91000.0],
        new_profit=[15000.0, 13500.0, 12300.0, 12900.0],
        returning_profit=[0.0, 15600.0, 21000.0, 27300.0],
        new_efficiency=[1.5, 1.4, 1.2, 1.3],
        returning_efficiency=[None, 6.0, 7.0, 8.1],
    )


def _ga() -> pd.DataFrame:
    revenue = [50000.0, 97000.0, 111000.0, 134000.0]
    return _per_year(
        revenue=revenue,
        new=[50000.0, 45000.0, 41000.0, 43000.0],
        expansion=[0.0, 12000.0, 15000.0, 20000.0],
        contraction=[0.0, 4000.0, 6000.0, 5000.0],
        churned=[0.0, 10000.0, 40000.0, 40000.0],
        resurrected=[0.0, 4000.0, 4000.0, 5000.0],
        retained=[0.0, 36000.0, 51000.0, 66000.0],
        quick_ratio=[None, 4.36, 1.3, 1.51],
    )


NAMES = {
    "upsell": "upsell",
    "referral": "new_referral",
    "cold": "new_cold",
    "organic": "new_organic",
    "win-back": "win_back",
}


def _gs() -> pd.DataFrame:
    rows = []
    for p, parts in zip(
        YEARS[1:],
        [
            {
                "upsell": 8000.0,
                "referral": 15000.0,
                "cold": 20000.0,
                "organic": 10000.0,
                "win-back": 4000.0,
            },
            {
                "upsell": -31000.0,
                "referral": 14000.0,
                "cold": 17000.0,
                "organic": 10000.0,
                "win-back": 4000.0,
            },
            {
                "upsell": -25000.0,
                "referral": 16000.0,
                "cold": 17000.0,
                "organic": 10000.0,
                "win-back": 5000.0,
            },
        ],
        strict=True,
    ):
        spend = {
            "referral": 1500.0,
            "cold": 14000.0,
            "organic": 0.0,
            "upsell": 0.0,
            "win-back": 0.0,
        }
        for src, change in parts.items():
            rows.append(
                {
                    "period": p,
                    "source": NAMES[src],
                    "change": change,
                    "customers": 10,
                    "spend": spend[src],
                }
            )
    return pd.DataFrame(rows)


def _cohorts(by_kind: bool = False) -> pd.DataFrame:
    rows = []
    for i, c in enumerate(YEARS):
        for k in range(len(YEARS) - i):
            size = 100 - 10 * i
            kinds = ["referral", "cold"] if by_kind else [None]
            for kind in kinds:
                active = size if k == 0 else int(size * (0.5 if kind != "cold" else 0.3) / k)
                row = {
                    "cohort": c,
                    "period": YEARS[i + k],
                    "periods_since": k,
                    "cohort_customers": size,
                    "active_customers": active,
                    "retention": active / size,
                    "revenue": 1000.0 * active,
                    "profit": 300.0 * active,
                    "revenue_retention": active / size * 1.1 if k else 1.0,
                }
                if by_kind:
                    row["channel_kind"] = kind
                rows.append(row)
    return pd.DataFrame(rows)


def _rr() -> pd.DataFrame:
    return _per_year(
        periods=YEARS[1:],
        base_customers=[100, 150, 175],
        base_revenue=[50000.0, 97000.0, 111000.0],
        revenue=[48000.0, 80000.0, 96000.0],
        retained_revenue=[36000.0, 51000.0, 66000.0],
        retained_customers=[60, 95, 120],
        nrr=[0.96, 0.82, 0.86],
        grr=[0.72, 0.53, 0.59],
        customer_retention=[0.6, 0.63, 0.69],
    )


def _mrr() -> pd.DataFrame:
    return _per_year(
        mrr=[14297.52, 31646.69, 58147.5, 91469.16],
        new=[18717.52, 27588.34, 47008.32, 63063.33],
        expansion=[0.0, 686.67, 923.33, 1528.33],
        contraction=[0.0, 340.0, 1240.0, 2636.67],
        churned=[4420.0, 10975.84, 20259.17, 29342.5],
        reactivation=[0.0, 390.0, 68.33, 709.17],
        mrr_churn_rate=[1.0, 0.57, 0.49, 0.41],
    )


def _renewals() -> pd.DataFrame:
    rows = [("year", k, 100 - 30 * k, 0.75 + 0.05 * k) for k in (1, 2, 3)]
    rows += [("month", k, 400 - 20 * k, 0.93 + 0.002 * k) for k in range(1, 13)]
    return pd.DataFrame(
        [
            {
                "billing_period": b,
                "renewal": k,
                "reached": n,
                "renewal_rate": r,
                "renewed": round(n * r),
                "churned": n - round(n * r),
            }
            for b, k, n, r in rows
        ]
    )


def _projection() -> pd.DataFrame:
    rows = []
    for c in YEARS[1:]:
        known = 2026 - c.year
        for k in range(13):
            projected = 0.9**k
            rows.append(
                {
                    "cohort": c,
                    "billing_period": "month",
                    "renewal": k,
                    "customers": 50,
                    "observed_survival": projected * 1.01 if k <= known * 4 else None,
                    "projected_survival": projected,
                }
            )
    return pd.DataFrame(rows)


def _actions() -> pd.DataFrame:
    """Two actions with their reason as clauses, one from an older regulars without."""
    lapsed = [
        {"code": "lapsed", "days": 300, "ratio": 4.2857, "gap_days": 70},
        {"code": "p_alive_was", "p_alive": 0.31, "before": 0.82, "before_on": "2025-03-02"},
    ]
    quiet = [
        {"code": "no_touch", "days": 94, "cadence_days": 45, "cycle_days": 90},
        {"code": "orders_worth", "orders": 6, "revenue": 12400.0},
    ]
    return pd.DataFrame(
        {
            "action_id": ["A-1", "A-2", "A-3"],
            "customer_id": ["C-1", "C-2", "C-3"],
            "name": ["Ada Studio", "Bistro <Lux>", "C-3"],
            "playbook": ["win_back", "keep_in_touch", "win_back"],
            "reason": [
                "No order for 300 days, 4.3× their usual gap of 70 days; P(alive) 0.31, was "
                "0.82 in March 2025.",
                "No touch for 94 days (due every 45 days; their purchase cycle is 90 days); "
                "6 orders worth 12,400 EUR.",
                "No order for 300 days.",
            ],
            "reason_code": ["lapsed", "no_touch", None],
            "reason_params": [json.dumps(lapsed), json.dumps(quiet), None],
            "value_at_stake": [5400.0, 2100.0, 900.0],
            "priority": [1, 2, 3],
            "due": [dt.date(2026, 1, 5)] * 3,
        }
    )


def _effect() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "playbook": ["keep_in_touch", "win_back"],
            "treated": [300, 120],
            "held_out": [33, 14],
            "treated_repurchase": [0.42, 0.2],
            "held_out_repurchase": [0.3, 0.14],
            "repurchase_lift": [0.12, 0.06],
            "repurchase_lift_low": [0.02, -0.1],
            "repurchase_lift_high": [0.21, 0.2],
            "incremental_revenue": [36000.0, 4000.0],
            "pending": [10, 5],
        }
    )


def _channels() -> pd.DataFrame:
    rows = []
    for p in YEARS:
        for ch, kind, n, spend, fy in (
            ("google-ads", "cold", 60, 60000.0, 40000.0),
            ("referral", "referral", 90, 2000.0, 90000.0),
            ("organic", "organic", 80, 8000.0, 70000.0),
        ):
            rows.append(
                {
                    "period": p,
                    "channel": ch,
                    "channel_kind": kind,
                    "customers": n,
                    "spend": spend,
                    "cac": spend / n,
                    "first_year_revenue": fy * 3,
                    "first_year_profit": fy,
                    "first_year_complete": p.year < 2025,
                    "payback_periods": 1 if kind == "cold" else 0,
                    "clv": fy / n * 1.5,
                    "clv_to_cac": fy / n * 1.5 / (spend / n),
                }
            )
    return pd.DataFrame(rows)


def _funding() -> pd.DataFrame:
    return _per_year(
        cold_spend=[60000.0] * 4,
        cold_profit=[40000.0, 50000.0, 70000.0, 90000.0],
        cold_net=[-20000.0, -10000.0, 10000.0, 30000.0],
        other_profit=[80000.0] * 4,
        other_spend=[10000.0] * 4,
        other_net=[70000.0] * 4,
        funded=[True] * 4,
    )


def _guarantee() -> pd.DataFrame:
    rows = []
    for p in YEARS:
        for ct, rate in (("new", 0.021), ("returning", 0.0005)):
            rows.append(
                {
                    "period": p,
                    "customer_type": ct,
                    "orders": 800,
                    "customers": 400,
                    "revenue": 100000.0,
                    "refunded_orders": round(800 * rate),
                    "refunds": 2000.0,
                    "refund_rate": rate,
                    "refund_share": 0.02,
                    "late_refunds": 0.0,
                    "pending_orders": 0,
                    "pending_revenue": 5000.0 if p.year == 2025 else 0.0,
                    "settled_revenue": 95000.0,
                }
            )
    return pd.DataFrame(rows)


def _packages() -> pd.DataFrame:
    return _per_year(
        package_orders=[10, 20, 30, 40],
        package_customers=[8, 15, 22, 30],
        package_revenue=[5000.0, 11000.0, 16000.0, 24000.0],
        package_discount=[1000.0, 2200.0, 3100.0, 4500.0],
        package_discount_rate=[0.17, 0.17, 0.16, 0.16],
        package_revenue_share=[0.1, 0.11, 0.14, 0.18],
    )


def _referrals() -> pd.DataFrame:
    return _per_year(
        new_customers=[352, 401, 510, 659],
        new_referred_customers=[88, 191, 254, 355],
        referred_share_of_new=[0.25, 0.48, 0.5, 0.54],
        revenue=[1e6, 2.7e6, 5.9e6, 13.8e6],
        referred_revenue=[3e5, 1.1e6, 2.9e6, 7.9e6],
        referred_share_of_revenue=[0.29, 0.43, 0.49, 0.57],
        referrers=[47, 120, 159, 225],
        rewards=[0.0, 500.0, 900.0, 1200.0],
        rewards_earned=[0.0, 400.0, 800.0, 1000.0],
    )


def _tree() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["C-1", "C-2", "C-3", "C-4"],
            "referred_by": [None, "C-1", "C-2", "C-1"],
            "root": ["C-1"] * 4,
            "depth": [0, 1, 2, 1],
            "direct_referrals": [2, 1, 0, 0],
            "referred_revenue": [3000.0, 1000.0, 0.0, 0.0],
            "descendants": [3, 1, 0, 0],
            "descendant_revenue": [4000.0, 1000.0, 0.0, 0.0],
            "tree_size": [4] * 4,
            "tree_depth": [2] * 4,
        }
    )


def _ledger() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "referrer": ["C-1", "C-1", "C-2"],
            "referee": ["C-2", "C-4", "C-3"],
            "payee": ["C-1", "C-1", "C-2"],
            "side": ["referrer"] * 3,
            "rule": ["thanks"] * 3,
            "amount": [50.0, 50.0, 50.0],
            "earned_at": [dt.date(2024, 3, 1), dt.date(2025, 2, 1), dt.date(2025, 11, 1)],
            "status": ["earned", "earned", "pending"],
        }
    )


def _hist() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "b": [0, 1, 2, 12],
            "customers": [1700, 150, 60, 20],
            "clv": [4e6, 2.2e6, 1.5e6, 3e6],
            "label": ["0–10,000", "10,000–20,000", "20,000–30,000", "≥ 120,000"],
        }
    )


def _matrix() -> pd.DataFrame:
    freq = [("0", 0), ("1", 1), ("2", 2), ("3–4", 3)]
    gaps = [("0–3", 0), ("3–6", 1), ("6–12", 2), ("24+", 4)]
    rows = [
        {
            "frequency_bin": f,
            "frequency_order": fo,
            "gap_bin": g,
            "gap_order": go,
            "customers": 10 + fo + go,
            "p_alive": max(0.05, 0.95 - 0.2 * go + 0.02 * fo),
        }
        for f, fo in freq
        for g, go in gaps
    ]
    return pd.DataFrame(rows)


def _holdout_bins() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "frequency": ["0", "1", "2", "3", "4", "5", "6", "7+"],
            "actual": [0.24, 0.7, 1.2, 1.6, 2.1, 2.4, 2.9, 3.8],
            "predicted": [0.23, 0.68, 1.15, 1.63, 2.0, 2.5, 2.8, 3.9],
        }
    )


def _covariate_effects() -> pd.DataFrame:
    """What ``regulars fit --covariates channel_kind`` stored: referred vs cold."""
    return pd.DataFrame(
        {
            "process": ["purchase", "dropout"],
            "term": ["channel_kind=referral"] * 2,
            "ratio": [1.4, 0.7],
            "lower_95": [1.2, 0.58],
            "upper_95": [1.6, 0.85],
            "column": ["channel_kind"] * 2,
            "reference": ["cold"] * 2,
            "model": ["bgnbd"] * 2,
        }
    )


def _top_customers() -> pd.DataFrame:
    """Two customers with 90% intervals and one scored before intervals were stored."""
    return pd.DataFrame(
        {
            "customer_id": ["C-1", "C-2", "C-3"],
            "name": ["Ada Studio", "Bistro Lux", "C-3"],
            "clv": [1200.0, 900.0, 400.0],
            "clv_low": [800.0, 700.0, None],
            "clv_high": [1900.0, 1100.0, None],
            "p_alive": [0.64, 0.9, 0.3],
            "p_alive_low": [0.52, 0.85, None],
            "p_alive_high": [0.75, 0.94, None],
            "expected_orders_365d": [2.4, 1.8, 0.5],
            "expected_orders_365d_low": [1.9, 1.5, None],
            "expected_orders_365d_high": [3.0, 2.2, None],
        }
    )


FRAMES = {
    "covariate_effects": _covariate_effects,
    "top_customers": _top_customers,
    "clv_histogram": _hist,
    "p_alive_matrix": _matrix,
    "score_summary": lambda: pd.DataFrame(
        [{"total_clv": 1.2e7, "top20_share": 0.83, "likely_gone_repeaters": 557}]
    ),
    "holdout_bins": _holdout_bins,
    "holdout_tracking": lambda: pd.DataFrame(
        {
            "t": [30.0 * k for k in range(1, 13)],
            "actual": [300.0 * k for k in range(1, 13)],
            "predicted": [280.0 * k for k in range(1, 13)],
        }
    ),
    "holdout_check": lambda: pd.DataFrame(
        [
            {
                "model": "bgnbd",
                "calibration_end": "2024-12-31",
                "observation_end": "2025-12-31",
                "actual_total": 1882.0,
                "predicted_total": 1950.0,
                "error": 0.036,
                "quality": "good",
            }
        ]
    ),
    "model_choice": lambda: pd.DataFrame(
        [
            {
                "kind": "candidate",
                "model": "bgnbd",
                "aggregate_error": 0.04,
                "customer_error": 0.62,
                "tracking_error": 0.03,
                "chosen": False,
                "problems": 1,
                "message": "",
            },
            {
                "kind": "candidate",
                "model": "pnbd",
                "aggregate_error": 0.036,
                "customer_error": 0.6,
                "tracking_error": 0.02,
                "chosen": True,
                "problems": 0,
                "message": "",
            },
            {
                "kind": "problem",
                "model": "BetaGeoModel",
                "aggregate_error": None,
                "customer_error": None,
                "tracking_error": None,
                "chosen": False,
                "problems": 0,
                "message": "a is at its bound. Fix: use --model pnbd.",
            },
        ]
    ),
    "channel_economics": _channels,
    "cold_funding": _funding,
    "guarantee": _guarantee,
    "packages": _packages,
    "referrals": _referrals,
    "referral_tree": _tree,
    "top_referrers": lambda: _tree().loc[lambda d: d["direct_referrals"] > 0],
    "referral_rewards": _ledger,
    "referral_problems": lambda: pd.DataFrame({"customer_id": ["C-9"], "problem": ["cycle"]}),
    "open_actions": _actions,
    "top_actions": lambda: _actions().head(10),
    "actions_by_playbook": lambda: (
        _actions()
        .groupby("playbook")
        .agg(actions=("action_id", "count"), value=("value_at_stake", "sum"))
        .reset_index()
        .sort_values(["value", "playbook"], ascending=[False, True])
    ),
    "playbook_effectiveness": _effect,
    "subscription_movements": _mrr,
    "renewal_rates": _renewals,
    "subscription_projection": _projection,
    "new_vs_returning": _nvr,
    "growth_accounting": _ga,
    "growth_sources": _gs,
    "cohort_retention": _cohorts,
    "cohort_retention_by_kind": lambda: _cohorts(by_kind=True),
    "revenue_retention": _rr,
}

ALL_KINDS = (
    "orders",
    "costs",
    "spend",
    "channels",
    "subscriptions",
    "referrals",
    "touches",
    "refunds",
    "packages",
    "scores",
    "holdout",
    "actions",
    "outcomes",
)


class FakeData:
    """A DataSource over hand-made frames; ``kinds`` says which data exist."""

    def __init__(self, kinds: Iterable[str] = ALL_KINDS, period: str = "year") -> None:
        self.kinds = set(kinds)
        self.period = period

    def has(self, kind: str) -> bool:
        return kind in self.kinds

    def require(self, kind: str) -> None:
        if kind not in self.kinds:
            raise MissingDataError(f"No {kind}.", missing=missing_note(kind, str))

    def frame(self, name: str) -> pd.DataFrame:
        return FRAMES[name]()

    def observation_end(self) -> dt.date:
        return dt.date(2025, 12, 31)

    def coverage(self) -> tuple[dt.date, dt.date]:
        return dt.date(2022, 1, 1), dt.date(2025, 12, 31)


@pytest.fixture
def fake_data() -> FakeData:
    return FakeData()


# -- real workspaces ------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulated studio as ``regulars demo`` builds it: fitted (with a holdout
    check), scored, with this week's actions and its report."""
    from click.testing import CliRunner

    from regulars.actions import compute_actions
    from regulars.cli import app
    from regulars.datasets import SimulationParams, simulate
    from regulars.report import write_report
    from regulars.store import Workspace

    root = tmp_path_factory.mktemp("demo") / "demo-workspace"
    params = SimulationParams()
    book = simulate(n_customers=2000, years=4, seed=0, params=params)
    channels = {c.name: c.kind for c in params.channels}
    ws = Workspace.init(root, name="Demo studio", currency=book.currency, channels=channels)
    book.write(ws)
    ws.close()
    for command in (["fit"], ["score"]):
        result = CliRunner().invoke(app, [*command, "-w", str(root)])
        assert result.exit_code == 0, result.output
    with Workspace.open(root) as ws:
        compute_actions(ws)
        write_report(ws, root / "report.html")
    return root


@pytest.fixture(scope="session")
def demo_report(demo_workspace: Path) -> Path:
    """The report ``regulars demo`` wrote (workspace defaults: monthly, English)."""
    return demo_workspace / "report.html"


@pytest.fixture(scope="session")
def orders_only_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Only orders: no costs, spend, subscriptions, touches, customers' channels."""
    import pyarrow as pa

    from regulars.schema import table
    from regulars.store import Workspace

    root = tmp_path_factory.mktemp("orders-only")
    ws = Workspace.init(root, name="Invoices only", currency="EUR")
    customers = [f"C-{i:03d}" for i in range(60)]
    rows = []
    n = 0
    for i, c in enumerate(customers):
        for k in range(1 + i % 5):
            n += 1
            day = dt.date(2022, 1, 1) + dt.timedelta(days=(i * 37 + k * 173) % 1400)
            rows.append(
                (f"INV-{n:04d}", c, dt.datetime.combine(day, dt.time()), 100 + 10 * (i % 7))
            )
    orders = pa.table(
        {
            "order_id": [r[0] for r in rows],
            "customer_id": [r[1] for r in rows],
            "order_date": pa.array([r[2] for r in rows], pa.timestamp("us")),
            "revenue": pa.array([decimal.Decimal(r[3]) for r in rows], pa.decimal128(18, 2)),
        }
    )
    contract = table("orders")
    with ws.transaction() as con:
        con.register("_src", orders)
        cols = ", ".join(
            f'"{c}"' if c in orders.column_names else f'NULL AS "{c}"'
            for c in contract.column_names
        )
        con.execute(f"CREATE TEMP VIEW _orders AS SELECT {cols} FROM _src")
        ws.upsert(con, contract, "_orders")
        con.execute("DROP VIEW _orders")
        con.unregister("_src")
    ws.close()
    return root


@pytest.fixture(scope="session")
def orders_only_report(
    orders_only_workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    from regulars.report import write_report

    out = tmp_path_factory.mktemp("out-orders") / "report.html"
    return write_report(orders_only_workspace, out, period="quarter", fit=False)


@pytest.fixture(scope="session")
def shop_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shop like a real online-shop export: orders only, 1 Dec 2010 to 9 Dec 2011,
    one large early cohort of customers who were buying before the data start; fitted,
    scored and planned by its first report."""
    from regulars.report import write_report

    from ._shop import write_shop

    root = write_shop(tmp_path_factory.mktemp("shop") / "gift-shop")
    write_report(root, root / "report.html")
    return root
