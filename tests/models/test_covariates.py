"""Covariate models: zero effects are the plain models, exact gradients, recovery, words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regulars.errors import SchemaError
from regulars.models import (
    BetaGeoCovariateModel,
    BetaGeoModel,
    GammaGammaCovariateModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDCovariateModel,
    ParetoNBDModel,
)
from regulars.models._base import Columns

from .simulated_books import simulate_bgnbd

#: True effects of the simulated books: (referral, organic) vs cold, and per unit of
#: a standard normal "score".
PURCHASE = {"channel=organic": -0.2, "channel=referral": 0.4, "score": 0.2}
DROPOUT = {"channel=organic": 0.3, "channel=referral": -0.5, "score": -0.1}


def covariate_book(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    channel = rng.choice(["cold", "referral", "organic"], n, p=[0.5, 0.3, 0.2])
    score = rng.normal(0.0, 1.0, n)

    def linear(effects: dict[str, float]) -> np.ndarray:
        out = effects["score"] * score
        for level in ("organic", "referral"):
            out = out + effects[f"channel={level}"] * (channel == level)
        return out

    book = simulate_bgnbd(
        n,
        (0.6, 4.0, 0.8, 2.5),
        seed=seed + 1,
        alpha_scale=np.exp(-linear(PURCHASE)),
        b_scale=np.exp(-linear(DROPOUT)),
    )
    book["channel"] = channel
    book["score"] = score
    return book


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    return covariate_book(3000, seed=5)


def _zero_effect_ll(model: object, data: pd.DataFrame) -> tuple[float, object]:
    """The covariate model's log-likelihood at the plain fit with every effect at 0."""
    model.fit(data)  # type: ignore[attr-defined]
    z0 = model._start  # type: ignore[attr-defined]
    cols = model._read_stats(data, "t")  # type: ignore[attr-defined]
    design = model.design_.matrix(data)  # type: ignore[attr-defined]
    stats = model._make_stats(cols, design)  # type: ignore[attr-defined]
    return model._log_likelihood(z0, stats)[0], model  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("cov_model", "plain_model"),
    [
        (BetaGeoCovariateModel(covariates=["channel", "score"]), BetaGeoModel()),
        (BetaGeoCovariateModel(covariates=["channel"]), BetaGeoModel()),  # by pattern
        (
            BetaGeoCovariateModel(covariates=["channel", "score"], modified=True),
            ModifiedBetaGeoModel(),
        ),
        (ParetoNBDCovariateModel(covariates=["channel"]), ParetoNBDModel()),
    ],
)
def test_zero_effects_give_the_plain_log_likelihood(
    book: pd.DataFrame, cov_model: object, plain_model: object
) -> None:
    if isinstance(plain_model, ParetoNBDModel):
        book = book.iloc[:800]  # the Pareto/NBD likelihood is the slow one
    plain = plain_model.fit(book)  # type: ignore[attr-defined]
    ll, fitted = _zero_effect_ll(cov_model, book)
    assert ll == pytest.approx(plain.log_likelihood_, abs=1e-6)
    # the fitted covariate model can only do better
    assert fitted.log_likelihood_ >= plain.log_likelihood_ - 1e-6  # type: ignore[attr-defined]


def test_zero_effects_give_the_plain_gamma_gamma(book: pd.DataFrame) -> None:
    rng = np.random.default_rng(8)
    spend = book.assign(
        monetary_value=np.where(book["frequency"] > 0, rng.gamma(3.0, 10.0, len(book)), 0.0)
    )
    plain = GammaGammaModel().fit(spend)
    ll, fitted = _zero_effect_ll(GammaGammaCovariateModel(covariates=["channel"]), spend)
    assert ll == pytest.approx(plain.log_likelihood_, abs=1e-6)
    assert fitted.log_likelihood_ >= plain.log_likelihood_ - 1e-6  # type: ignore[attr-defined]
    assert set(fitted.effects()["process"]) == {"spend"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("modified", "covariates"),
    [(False, ["channel", "score"]), (True, ["channel", "score"]), (False, ["channel"])],
)
def test_bg_gradient_matches_finite_differences(
    book: pd.DataFrame, modified: bool, covariates: list[str]
) -> None:
    model = BetaGeoCovariateModel(covariates=covariates, modified=modified).fit(book)
    cols = Columns(model._read_stats(book, "t").arrays, np.ones(len(book)), "pandas")
    design = model.design_.matrix(book)
    stats = model._make_stats(cols, design)
    z = model._theta() + 0.05
    _, grad = model._log_likelihood(z, stats)
    h = 1e-6
    numeric = [
        (model._log_likelihood(z + h * e, stats)[0] - model._log_likelihood(z - h * e, stats)[0])
        / (2 * h)
        for e in np.eye(z.size)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-4)


def test_effects_are_worded_with_intervals(book: pd.DataFrame) -> None:
    model = BetaGeoCovariateModel(covariates=["channel", "score"], reference={"channel": "cold"})
    effects = model.fit(book).effects().set_index(["process", "term"])
    # the parameter checks look at the base parameters; effects near 0 are findings
    assert model.diagnostics_.trustworthy, model.diagnostics_
    referral = effects.loc[("purchase", "channel=referral")]
    assert referral["lower_95"] < referral["ratio"] < referral["upper_95"]
    assert referral["text"].startswith("channel=referral: buy ")
    assert referral["text"].endswith(" as often " + referral["text"].split(" as often ")[1])
    assert "as channel=cold" in referral["text"]
    dropout = effects.loc[("dropout", "channel=referral")]
    assert dropout["upper_95"] < 1.0
    assert "less" in dropout["text"]
    assert "than channel=cold" in dropout["text"]
    assert effects.loc[("purchase", "score"), "text"].startswith("each 1 more score: buy")


def test_predictions_follow_the_covariates(book: pd.DataFrame) -> None:
    model = BetaGeoCovariateModel(covariates=["channel", "score"]).fit(book)
    same = pd.DataFrame(
        {
            "frequency": [3.0, 3.0],
            "recency": [20.0, 20.0],
            "T": [40.0, 40.0],
            "channel": ["cold", "referral"],
            "score": [0.0, 0.0],
        }
    )
    expected = model.expected_purchases(same, t=10.0)
    assert expected[1] > expected[0]
    plain = BetaGeoModel().fit(book)
    whole = model.expected_purchases(book, t=10.0)
    assert whole.sum() == pytest.approx(plain.expected_purchases(book, t=10.0).sum(), rel=0.05)
    assert np.all((model.probability_alive(book) >= 0) & (model.probability_alive(book) <= 1))


def test_covariate_errors_name_the_columns(book: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"Covariate column 'segment' not found.*'channel'"):
        BetaGeoCovariateModel(covariates=["segment"]).fit(book)
    broken = book.assign(channel=book["channel"].where(book.index > 3))
    with pytest.raises(SchemaError, match="missing values"):
        BetaGeoCovariateModel(covariates=["channel"]).fit(broken)
    with pytest.raises(SchemaError, match="Reference level 'tv'"):
        BetaGeoCovariateModel(covariates=["channel"], reference={"channel": "tv"}).fit(book)
    with pytest.raises(ValueError, match="'covariates' parameter"):
        BetaGeoCovariateModel(covariates="channel").fit(book)


@pytest.mark.slow
def test_true_effects_lie_in_the_95_intervals() -> None:
    """Two channels against cold and one numeric covariate, 100 seeded books of 2,000."""
    hits: dict[str, int] = {}
    for seed in range(100):
        data = covariate_book(2000, seed=1000 + 7 * seed)
        model = BetaGeoCovariateModel(
            covariates=["channel", "score"], reference={"channel": "cold"}
        )
        summary = model.fit(data).summary()
        for process, truth in (("purchase", PURCHASE), ("dropout", DROPOUT)):
            for term, value in truth.items():
                row = summary.loc[f"{process}: {term}"]
                key = f"{process}: {term}"
                hits[key] = hits.get(key, 0) + int(row["lower_95"] <= value <= row["upper_95"])
    assert len(hits) == 6
    assert all(count >= 90 for count in hits.values()), hits
