"""Fit diagnostics: trustworthy fits pass, degenerate ones say what is wrong and what to do."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from regulars.errors import ConvergenceError
from regulars.models import (
    BetaGeoModel,
    Diagnostics,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
)
from regulars.models._diagnostics import weighted_spearman


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel])
def test_cdnow_diagnostics(cls: type[BetaGeoModel], cdnow_rfm: pd.DataFrame) -> None:
    model = cls().fit(cdnow_rfm)
    diag = model.diagnostics_
    x, t_x, big_t = (cdnow_rfm[c].to_numpy() for c in ("frequency", "recency", "T"))
    # The lapsed rule, by hand: repeat buyers silent for more than 3x their mean gap.
    gap = np.where(x >= 1, t_x / np.maximum(x, 1), np.inf)
    lapsed = (x >= 1) & (t_x > 0) & (big_t - t_x > 3 * gap)
    assert diag.facts["lapsed_repeat_buyers"] == lapsed.sum()
    p = model.probability_alive(cdnow_rfm)
    assert diag.facts["share_p_alive_99"] == pytest.approx(np.mean(p >= 0.99))
    assert diag.facts["lapsed_share_alive"] == pytest.approx(np.mean(p[lapsed] >= 0.99))
    # One-time buyers, against the repeat buyers' median gap.
    median_gap = np.median(gap[(x >= 1) & (t_x > 0)])
    once = (x == 0) & (big_t > 3 * median_gap)
    assert diag.facts["lapsed_one_time_buyers"] == once.sum()
    codes = [problem.code for problem in diag.problems]
    if cls is BetaGeoModel:
        # The parameters are fine, but the BG/NBD gives P(alive) = 1 to every one of
        # CDNOW's 1,411 one-time buyers (60% of the customers): it cannot rank them.
        assert codes == ["p_alive_one_time"]
        assert "1,411 customers who bought once" in str(diag)
        assert "--model mbgnbd" in diag.problems[0].fix
        assert "NOT TRUSTWORTHY (1 problem," in repr(model)
    else:
        assert diag.trustworthy, str(diag)
        assert "no problem" in str(diag)
        assert "NOT TRUSTWORTHY" not in repr(model)


def test_pareto_on_cdnow_is_trustworthy(cdnow_rfm: pd.DataFrame) -> None:
    assert ParetoNBDModel().fit(cdnow_rfm).diagnostics_.trustworthy


def test_gamma_gamma_on_cdnow_is_trustworthy(cdnow_cbs: pd.DataFrame) -> None:
    repeat = cdnow_cbs[cdnow_cbs["frequency"] > 0]
    model = GammaGammaModel().fit(repeat)
    assert model.diagnostics_.trustworthy, str(model.diagnostics_)
    rho = spearmanr(repeat["frequency"], repeat["monetary_value"]).statistic
    assert model.diagnostics_.facts["spend_frequency_rho"] == pytest.approx(rho, abs=1e-12)


def test_weighted_spearman_equals_spearman_of_the_expanded_rows() -> None:
    rng = np.random.default_rng(7)
    a = rng.integers(0, 5, 60).astype(float)
    b = np.round(rng.normal(size=60) + 0.5 * a, 1)
    w = rng.integers(1, 4, 60).astype(float)
    expected = spearmanr(np.repeat(a, w.astype(int)), np.repeat(b, w.astype(int))).statistic
    assert weighted_spearman(a, b, w) == pytest.approx(expected, abs=1e-12)


def test_spend_that_follows_frequency_is_flagged() -> None:
    rng = np.random.default_rng(11)
    x = rng.integers(1, 15, 800).astype(float)
    m = rng.gamma(4.0, 5.0, 800) * (1 + x / 3)
    model = GammaGammaModel().fit({"frequency": x, "monetary_value": m})
    codes = [p.code for p in model.diagnostics_.problems]
    assert "spend_frequency" in codes
    assert "Spearman rho" in str(model.diagnostics_)
    assert "NOT TRUSTWORTHY" in repr(model)


def test_spend_without_variation_is_flagged() -> None:
    rng = np.random.default_rng(12)
    x = rng.integers(1, 15, 500).astype(float)
    m = 50.0 * (1 + rng.normal(scale=1e-4, size=500))
    model = GammaGammaModel(penalizer=0.01).fit({"frequency": x, "monetary_value": m})
    problems = {p.code: p for p in model.diagnostics_.problems}
    assert "spend_constant" in problems
    assert "--spend none" in problems["spend_constant"].fix
    assert any("penalizer=0.01" in n for n in model.diagnostics_.notes)


@pytest.mark.parametrize(
    "rows",
    [
        # every order on one day: nobody is observed for any time
        {"frequency": [0.0, 0.0, 0.0], "recency": [0.0, 0.0, 0.0], "T": [0.0, 0.0, 0.0]},
        # a single customer
        {"frequency": [3.0], "recency": [10.0], "T": [20.0]},
    ],
)
@pytest.mark.parametrize("penalizer", [0.0, 0.01])
def test_no_information_is_an_error_whatever_the_penalizer(
    rows: dict[str, list[float]], penalizer: float
) -> None:
    for cls in (BetaGeoModel, ParetoNBDModel):
        with pytest.raises(ConvergenceError, match="do not identify all the parameters"):
            cls(penalizer=penalizer).fit(rows)


def test_diagnostics_round_trip() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(1, 15, 500).astype(float)
    m = rng.gamma(4.0, 5.0, 500) * (1 + x / 3)
    diag = GammaGammaModel().fit({"frequency": x, "monetary_value": m}).diagnostics_
    again = Diagnostics.from_dict(diag.to_dict())
    assert again == diag
    assert diag.to_dict()["trustworthy"] is False
