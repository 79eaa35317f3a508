"""MBG/CNBD-k: BTYDplus's published CDNOW results, k = 1 is the MBG/NBD, k recovery.

The published values come from the repository of the paper that introduced the model
(github.com/mplatzer/paper-bgcnbdk, commit 06924089), produced with BTYDplus's
``mbgcnbd.EstimateParameters`` on the 2,357-customer CDNOW sample (the BTYD
``cdnowElog``, 39 calibration and 39 holdout weeks):

* ``results/emp-param-stats.csv`` line 2 (cdnow): MBG/CNBD-k ``k = 1 r = 0.52
  alpha = 6.18 a = 0.89 b = 1.61``;
* ``results/emp-stats.csv`` lines 5, 11, 17 and 22 (cdnow, MBG/CNBD-k): MAE
  0.764777677725775, RMSE 1.60718361150658, BIAS -0.162214694205408, LL
  -9582.13571558839.

BTYDplus's ``demo/cdnow.R`` states the same choice of k ("k=1 -> no regularity
detected for CDNow").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from regulars.errors import SchemaError
from regulars.models import (
    ModifiedBetaGeoCNBDModel,
    ModifiedBetaGeoModel,
    regularity_summary,
    rfm_summary,
)
from regulars.models._base import compress


@pytest.fixture(scope="module")
def cdnow_cnbd(shared_data: Path) -> pd.DataFrame:
    """RFM and litt of the CDNOW sample's calibration period (weeks), from its event log."""
    elog = pd.read_csv(
        shared_data / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "sales"],
    )
    elog["order_date"] = pd.to_datetime(elog["date"].astype(str))
    end = "1997-09-30"
    rfm = rfm_summary(elog, time_unit="W", observation_end=end).to_pandas()
    litt = regularity_summary(elog, time_unit="W", observation_end=end).to_pandas()
    return rfm.merge(litt, on="customer_id").sort_values("customer_id").reset_index(drop=True)


def simulate_mbg_cnbd(
    n: int, k: int, params: tuple[float, float, float, float], seed: int
) -> pd.DataFrame:
    """MBG/CNBD-k customers (RFM and litt) observed for 12 to 96 weeks."""
    r, alpha, a, b = params
    rng = np.random.default_rng(seed)
    big_t = rng.uniform(12.0, 96.0, n)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    alive = rng.random(n) >= p  # MBG: may drop out at the first purchase
    now = np.zeros(n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    litt = np.zeros(n)
    while alive.any():
        idx = np.flatnonzero(alive)
        gap = rng.gamma(k, 1.0 / lam[idx])
        nxt = now[idx] + gap
        bought = nxt <= big_t[idx]
        idx, gap, nxt = idx[bought], gap[bought], nxt[bought]
        alive[:] = False
        x[idx] += 1
        t_x[idx] = nxt
        litt[idx] += np.log(gap)
        now[idx] = nxt
        alive[idx] = rng.random(idx.size) >= p[idx]
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": big_t, "litt": litt})


@pytest.fixture(scope="module")
def fitted(cdnow_cnbd: pd.DataFrame) -> ModifiedBetaGeoCNBDModel:
    return ModifiedBetaGeoCNBDModel().fit(cdnow_cnbd)


def test_cdnow_choice_of_k_and_estimates_match_btydplus(
    fitted: ModifiedBetaGeoCNBDModel,
) -> None:
    assert fitted.k_ == 1
    assert fitted.diagnostics_.model == "ModifiedBetaGeoCNBDModel"
    assert {k: round(v, 2) for k, v in fitted.params_.items()} == {
        "r": 0.52,
        "alpha": 6.18,
        "a": 0.89,
        "b": 1.61,
    }
    assert fitted.log_likelihood_ == pytest.approx(-9582.13571558839, abs=1e-6)
    # the likelihood falls with k (no regularity in CDNOW); the search stops after k = 5
    lls = fitted.log_likelihoods_
    assert list(lls) == [1, 2, 3, 4, 5]
    assert all(lls[k] > lls[k + 1] for k in range(1, 5))


def test_cdnow_holdout_errors_match_btydplus(
    fitted: ModifiedBetaGeoCNBDModel, cdnow_cnbd: pd.DataFrame, cdnow_cbs: pd.DataFrame
) -> None:
    assert np.array_equal(cdnow_cnbd["frequency"], cdnow_cbs["frequency"])
    predicted = fitted.expected_purchases(cdnow_cnbd, t=39.0)
    actual = cdnow_cbs["frequency_holdout"].to_numpy(dtype=float)
    assert round(float(np.mean(np.abs(actual - predicted))), 3) == 0.765
    assert round(float(np.sqrt(np.mean((actual - predicted) ** 2))), 3) == 1.607
    assert round(float(predicted.sum() / actual.sum() - 1.0), 3) == -0.162


def test_k1_equals_mbg_nbd(cdnow_rfm: pd.DataFrame) -> None:
    cnbd = ModifiedBetaGeoCNBDModel(k=1).fit(cdnow_rfm)
    mbg = ModifiedBetaGeoModel().fit(cdnow_rfm)
    for name, value in mbg.params_.items():
        assert cnbd.params_[name] == pytest.approx(value, rel=1e-6)
    assert cnbd.log_likelihood_ == pytest.approx(mbg.log_likelihood_, abs=1e-6)
    np.testing.assert_allclose(
        cnbd.probability_alive(cdnow_rfm), mbg.probability_alive(cdnow_rfm), atol=1e-6
    )
    np.testing.assert_allclose(
        cnbd.expected_purchases(cdnow_rfm, t=39.0),
        mbg.expected_purchases(cdnow_rfm, t=39.0),
        atol=1e-6,
    )
    t = np.array([1.0, 10.0, 39.0, 78.0])
    np.testing.assert_allclose(
        cnbd.expected_purchases_new_customer(t), mbg.expected_purchases_new_customer(t), atol=1e-6
    )
    np.testing.assert_allclose(
        cnbd.probability_of_purchases(np.arange(8), 39.0),
        mbg.probability_of_purchases(np.arange(8), 39.0),
        atol=1e-6,
    )


def test_gradient_matches_finite_differences() -> None:
    data = simulate_mbg_cnbd(500, 3, (0.85, 1.45, 0.79, 2.42), seed=3)
    model = ModifiedBetaGeoCNBDModel(k=3)
    model._k = 3
    stats = model._make_stats(compress(model._read(data, "t", weighted=True)))
    z = np.log([0.7, 1.2, 0.9, 2.0])
    _, grad = model._log_likelihood(z, stats)
    h = 1e-6
    numeric = [
        (model._log_likelihood(z + h * e, stats)[0] - model._log_likelihood(z - h * e, stats)[0])
        / (2 * h)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5)


def test_regularity_is_recovered_on_simulated_erlang3_buyers() -> None:
    true = (0.85, 1.45, 0.79, 2.42)  # BTYDplus's test parameters, k = 3
    data = simulate_mbg_cnbd(4000, 3, true, seed=11)
    model = ModifiedBetaGeoCNBDModel().fit(data)
    assert model.k_ == 3
    summary = model.summary()
    for name, value in zip(("r", "alpha", "a", "b"), true, strict=True):
        assert summary.loc[name, "lower_95"] <= value <= summary.loc[name, "upper_95"], name


def test_predictions_are_distributions(cdnow_cnbd: pd.DataFrame) -> None:
    model = ModifiedBetaGeoCNBDModel(k=2).fit(cdnow_cnbd)
    pmf = model.probability_of_purchases(np.arange(400), 39.0)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    assert float(np.arange(400) @ pmf) == pytest.approx(
        model.expected_purchases_new_customer(39.0), rel=1e-8
    )
    alive = model.probability_alive(cdnow_cnbd)
    assert np.all((alive >= 0) & (alive <= 1))
    # a regular buyer who has been silent for far longer than their rhythm is lost
    silent = {"frequency": [5.0, 5.0], "recency": [10.0, 38.0], "T": [38.0, 38.0], "litt": 0.0}
    p = model.probability_alive(silent)
    assert p[0] < p[1]


def test_choosing_k_needs_litt(cdnow_rfm: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"litt.*regularity_summary"):
        ModifiedBetaGeoCNBDModel().fit(cdnow_rfm)
    with pytest.raises(ValueError, match="'k' parameter"):
        ModifiedBetaGeoCNBDModel(k=0).fit(cdnow_rfm)


def test_regularity_summary_oracle() -> None:
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "c", "c"],
            "order_date": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-01",
                    "2024-01-08",
                    "2024-01-22",
                    "2024-01-03",
                    "2024-01-05",
                    "2024-02-05",
                ]
            ),
        }
    )
    got = regularity_summary(tx, time_unit="W", observation_end="2024-01-31").to_pandas()
    got = dict(zip(got["customer_id"], got["litt"], strict=True))
    # plain Python: distinct days, gaps in weeks, purchases after the end ignored
    assert got["a"] == pytest.approx(np.log(1.0) + np.log(2.0))
    assert got["b"] == 0.0
    assert got["c"] == 0.0


def test_blocked_series_equals_one_incomplete_beta_per_term() -> None:
    """The expectation's series takes its incomplete beta functions from a recurrence in
    blocks; oracle: the plain series with one ``betainc`` per term."""
    from scipy.special import betainc

    from regulars.models.mbg_cnbd import _geometric_nb_sum

    def plain(a: float, b_post: Any, shape: Any, prob: Any, k: int, j: int) -> Any:
        total = np.zeros(shape.shape[0])
        for row in range(shape.shape[0]):
            log_surv, n = 0.0, 1
            while prob[row] > 0:
                term = np.exp(log_surv) * betainc(float(n * k - j), shape[row], prob[row])
                total[row] += term
                bb = b_post[row] + n - 1.0
                log_surv += np.log(bb / (a + bb))
                n += 1
                if not term > 1e-12 * max(total[row], 1e-300):
                    break
        return total

    rng = np.random.default_rng(20261206)
    for k in (1, 2, 3):
        j = int(rng.integers(0, k))
        n = 200
        a = float(rng.uniform(0.2, 3.0))
        b_post = rng.uniform(0.5, 50.0, n)
        shape = 10 ** rng.uniform(-2.0, 2.5, n)
        prob = rng.uniform(0.0, 0.999, n)
        prob[:3] = 0.0
        np.testing.assert_allclose(
            _geometric_nb_sum(a, b_post, shape, prob, k, j),
            plain(a, b_post, shape, prob, k, j),
            rtol=1e-11,
            atol=0.0,
        )
