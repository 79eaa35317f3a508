"""``--model auto``, the default holdout, regularised fallbacks and per-customer degrading."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from models._simulate import auc, bursty_book, churning_shop
from models._simulate import rfm as sim_rfm
from regulars.errors import ConfigError, ConvergenceError, RegularsError
from regulars.models._select import (
    Candidate,
    default_calibration_end,
    rank_candidates,
)
from regulars.models._workspace import FIT_TABLE, fit_workspace, latest_fit, score_workspace
from regulars.store import Workspace


def book_workspace(path: Path, orders: pd.DataFrame) -> Workspace:
    """A workspace holding ``orders`` (customer_id, order_date, revenue[, status, refund])."""
    ws = Workspace.init(path)
    frame = orders.copy()
    frame["order_id"] = [f"o{i}" for i in range(len(frame))]
    for col in ("status", "refund_amount"):
        if col not in frame:
            frame[col] = None
    ws.con.register("src", pa.Table.from_pandas(frame, preserve_index=False))
    ws.con.execute(
        "INSERT INTO orders (order_id, customer_id, order_date, revenue, status, refund_amount) "
        "SELECT order_id, customer_id, order_date, CAST(revenue AS DECIMAL(18,2)), status, "
        "CAST(refund_amount AS DECIMAL(18,2)) FROM src"
    )
    ws.con.unregister("src")
    return ws


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, pd.Series]]:
    orders, churned = churning_shop(n=1200, seed=1)
    ws = book_workspace(tmp_path_factory.mktemp("auto") / "shop", orders)
    yield ws, churned
    ws.close()


def test_auto_separates_churned_customers(shop: tuple[Workspace, pd.Series]) -> None:
    ws, churned = shop
    fit = fit_workspace(ws)
    sel = fit.selection
    assert sel is not None
    assert sel.method == "holdout"
    assert [c.model for c in sel.candidates] == ["bgnbd", "mbgnbd", "pnbd", "mbgcnbd"]
    chosen = [c for c in sel.candidates if c.chosen]
    assert [c.model for c in chosen] == [fit.model]
    assert chosen[0].passes, chosen[0].problems
    assert fit.purchase.diagnostics_.trustworthy
    # The chosen model's holdout check is the one stored, on the default holdout.
    assert fit.holdout is not None
    assert fit.holdout.calibration_end == sel.calibration_end
    score_workspace(ws)
    scores = ws.table("scores").to_pyarrow().to_pandas().set_index("customer_id")
    truth = churned.loc[scores.index].to_numpy()
    area = auc(scores["p_alive"].to_numpy(), ~truth)
    assert 0.30 < truth.mean() < 0.40  # about a third truly churned
    assert area >= 0.8, (fit.model, area)
    # The comparison and the diagnostics are stored with the fit and read back.
    again = latest_fit(ws)
    assert again is not None
    assert again.selection is not None
    assert again.selection.to_dict() == json.loads(json.dumps(_clean(sel.to_dict())))
    assert again.purchase.diagnostics_.to_dict() == fit.purchase.diagnostics_.to_dict()


def _clean(value: object) -> object:
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def test_degenerate_bgnbd_is_flagged_and_auto_picks_another(tmp_path: Path) -> None:
    orders, _ = bursty_book(n=1000, seed=2)
    ws = book_workspace(tmp_path / "bursty", orders)
    try:
        steps: list[str] = []
        alone = fit_workspace(ws, model="bgnbd", holdout="none", progress=steps.append)
        # Plain maximum likelihood fails (the dropout probability runs off), so the fit
        # is the regularised fallback, and says so for good: in the diagnostics, the
        # stored penalizer and the score notes.
        assert alone.regularised
        assert any("regularised fit" in n for n in alone.purchase.diagnostics_.notes)
        stored = ws.con.execute(
            f"SELECT penalizer FROM {FIT_TABLE} WHERE fit_id = ? AND kind = 'purchase'",
            [alone.fit_id],
        ).fetchone()
        assert stored == (0.01,)
        notes = score_workspace(ws).notes
        assert any("regularised fit" in n for n in notes)
        fit = fit_workspace(ws)
        assert fit.model != "bgnbd"
        assert fit.selection is not None
        bg = next(c for c in fit.selection.candidates if c.model == "bgnbd")
        assert not bg.passes
        assert fit.purchase.diagnostics_.trustworthy
        assert not fit.regularised
    finally:
        ws.close()


def test_rank_prefers_passing_candidates_then_the_smallest_errors() -> None:
    good = Candidate("mbgnbd", aggregate_error=0.2, customer_error=1.0, tracking_error=0.1)
    best_but_flagged = Candidate(
        "bgnbd", aggregate_error=0.01, customer_error=0.9, tracking_error=0.01, problems=["x"]
    )
    better = Candidate("pnbd", aggregate_error=0.1, customer_error=1.0, tracking_error=0.05)
    failed = Candidate("bgbb", failed="no")
    ranked = rank_candidates([good, best_but_flagged, better, failed], "holdout")
    assert [c.model for c in ranked] == ["pnbd", "mbgnbd", "bgnbd", "bgbb"]
    # score: each error over the smallest of its kind, summed
    assert better.score == pytest.approx(0.1 / 0.01 + 1.0 / 0.9 + 0.05 / 0.01)
    assert best_but_flagged.score == pytest.approx(3.0)


def test_log_likelihoods_equal_but_for_the_last_digits_are_a_tie() -> None:
    """MBG/CNBD-k with k = 1 is MBG/NBD: their log-likelihoods on CDNOW differed by
    4e-12, and which came out ahead changed between machines.  A tie keeps the order of
    the candidates (the simpler model first); a real difference still counts."""
    mbgnbd = Candidate("mbgnbd", log_likelihood=-17127.37325550992)
    pnbd = Candidate("pnbd", log_likelihood=-17135.83588612392)
    mbgcnbd = Candidate("mbgcnbd", log_likelihood=-17127.373255509916)
    ranked = rank_candidates([mbgnbd, pnbd, mbgcnbd], "log_likelihood")
    assert [c.model for c in ranked] == ["mbgnbd", "mbgcnbd", "pnbd"]
    ahead = Candidate("mbgcnbd", log_likelihood=-17127.37)  # 3e-7 relative: better
    ranked = rank_candidates(
        [Candidate("mbgnbd", log_likelihood=-17127.373), ahead], "log_likelihood"
    )
    assert [c.model for c in ranked] == ["mbgcnbd", "mbgnbd"]


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (dt.date(2010, 12, 1), dt.date(2011, 12, 9)),
        (dt.date(1997, 1, 1), dt.date(1998, 6, 30)),
        (dt.date(2024, 1, 7), dt.date(2024, 6, 2)),
        (dt.date(2015, 1, 1), dt.date(2024, 12, 31)),
    ],
)
def test_default_holdout_is_inside_the_history(first: dt.date, last: dt.date) -> None:
    cal_end = default_calibration_end(first, last)
    assert cal_end is not None
    start = cal_end + dt.timedelta(days=1)
    span, hold = (last - first).days, (last - cal_end).days
    assert first < cal_end < last
    assert hold >= 28
    assert hold <= 365 + 31
    if hold < 365:
        assert 0.20 <= hold / span <= 0.40
    assert start.day == 1 or start.weekday() == 0  # a month or week start


def test_default_holdout_needs_enough_history() -> None:
    assert default_calibration_end(dt.date(2024, 1, 1), dt.date(2024, 2, 15)) is None


def test_a_bad_holdout_date_suggests_one_inside_the_history(
    shop: tuple[Workspace, pd.Series],
) -> None:
    ws, _ = shop
    with pytest.raises(RegularsError, match="outside the order history") as info:
        fit_workspace(ws, model="bgnbd", holdout=dt.date(2010, 1, 1), store=False)
    suggested = str(info.value).split("--holdout ")[1].split(",")[0]
    assert dt.date(2023, 1, 1) < dt.date.fromisoformat(suggested) < dt.date(2024, 12, 31)


def test_no_information_fails_like_the_python_api(tmp_path: Path) -> None:
    one_day = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "a"],
            "order_date": pd.to_datetime(["2024-05-01"] * 4),
            "revenue": [10.0, 20.0, 30.0, 5.0],
        }
    )
    single = pd.DataFrame(
        {
            "customer_id": ["a"] * 4,
            "order_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-05", "2024-05-01"]),
            "revenue": [10.0, 20.0, 30.0, 5.0],
        }
    )
    for i, orders in enumerate((one_day, single)):
        ws = book_workspace(tmp_path / f"w{i}", orders)
        try:
            for model in ("auto", "bgnbd", "pnbd"):
                with pytest.raises(RegularsError, match="do not identify all the parameters"):
                    fit_workspace(ws, model=model, holdout="none", store=False)
            with pytest.raises(ConvergenceError, match="do not identify all the parameters"):
                fit_workspace(ws, model="bgnbd", holdout="none", penalizer=0.1, store=False)
            assert not ws.has_table(FIT_TABLE)
        finally:
            ws.close()


def test_customers_without_a_positive_spend_are_left_out_of_spend_only() -> None:
    from regulars.models import GammaGammaModel, ModifiedBetaGeoModel, score_customers

    orders, _ = churning_shop(n=300, seed=5)
    rfm = sim_rfm(orders)
    rng = np.random.default_rng(5)
    rfm["monetary_value"] = np.where(rfm["frequency"] > 0, rng.gamma(3.0, 20.0, len(rfm)), 0.0)
    purchase = ModifiedBetaGeoModel().fit(rfm)
    spend = GammaGammaModel().fit(rfm[rfm["frequency"] > 0])
    # Two repeat buyers: refunds above their purchases, and an unknown amount.
    repeat = rfm.index[rfm["frequency"] >= 2][:2]
    rfm.loc[repeat[0], "monetary_value"] = -12.5
    rfm.loc[repeat[1], "monetary_value"] = np.nan
    scored = score_customers(rfm.reset_index(), purchase, spend).to_pyarrow().to_pandas()
    scored = scored.set_index("customer_id").loc[rfm.index]
    assert len(scored) == len(rfm)
    assert scored.loc[repeat, "expected_spend"].isna().all()
    assert scored.loc[repeat, "clv"].isna().all()
    assert scored.loc[repeat, "p_alive"].notna().all()
    others = scored.drop(index=repeat)
    assert others["clv"].notna().all()
    np.testing.assert_allclose(
        others["expected_spend"], spend.expected_spend(rfm.drop(index=repeat)), rtol=1e-12
    )


def test_penalizer_is_used_stored_and_validated(shop: tuple[Workspace, pd.Series]) -> None:
    ws, _ = shop
    fit = fit_workspace(ws, model="bgnbd", holdout="auto", penalizer=0.05)
    assert fit.purchase.penalizer == 0.05
    assert fit.spend is not None
    assert fit.spend.penalizer == 0.05
    assert any("penalizer=0.05" in n for n in fit.purchase.diagnostics_.notes)
    again = latest_fit(ws)
    assert again is not None
    assert again.penalizer == 0.05
    with pytest.raises(RegularsError, match="--penalizer -1 is out of range"):
        fit_workspace(ws, penalizer=-1, store=False)
    from regulars.config import parse_config

    with pytest.raises(ConfigError, match=r"\[models\] penalizer"):
        parse_config("[models]\npenalizer = -0.5\n")
    with pytest.raises(ConfigError, match=r"\[models\] candidates"):
        parse_config('[models]\ncandidates = ["bgnbd", "xyz"]\n')
    assert parse_config("").models.purchase_model == "auto"


def test_sampled_holdout_reads_the_hash_sample_of_the_orders(
    shop: tuple[Workspace, pd.Series],
) -> None:
    """A sample of about 300 of the 1,200 customers: the cached orders are those of the
    customers whose id hashes to 0 modulo 4 (oracle: the same filter in the engine), and
    a given customer count gives the same sample as a counted one."""
    from regulars.models._select import HoldoutData
    from regulars.models._workspace import model_transactions

    ws, _ = shop
    tx = model_transactions(ws)
    n = int(tx["customer_id"].nunique().to_pyarrow().as_py())
    expected = tx.filter(tx["customer_id"].hash() % -(-n // 300) == 0)
    want = sorted(expected.select("customer_id").distinct().to_pyarrow().column(0).to_pylist())
    row = tx.aggregate(a=tx["order_date"].min(), b=tx["order_date"].max()).to_pyarrow()
    first, last = (row.column(c)[0].as_py().date() for c in ("a", "b"))
    kwargs = {
        "cal_end": default_calibration_end(first, last),
        "end": last,
        "time_unit": "W",
        "merge": "D",
        "sample": 300,
    }
    got = []
    for customers in (None, n):
        data = HoldoutData(tx, customers=customers, **kwargs)
        try:
            ids = data.ch.select("customer_id").to_pyarrow().column(0).to_pylist()
            got.append(sorted(ids))
            assert data.tx.count().to_pyarrow().as_py() == expected.count().to_pyarrow().as_py()
        finally:
            data.release()
    assert got[0] == got[1]
    assert set(got[0]) <= set(want)
    assert 0 < len(got[0]) < n
