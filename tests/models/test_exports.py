"""The public API of regulars.models is pinned."""

from __future__ import annotations

import regulars.models

EXPECTED = [
    "AggregateInterval",
    "BetaGeoBetaBinomModel",
    "BetaGeoCovariateModel",
    "BetaGeoModel",
    "CovariateDesign",
    "Diagnostics",
    "Evaluation",
    "FitProblem",
    "FitResult",
    "GammaGammaCovariateModel",
    "GammaGammaModel",
    "HoldoutCheck",
    "ModifiedBetaGeoCNBDModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDCovariateModel",
    "ParetoNBDModel",
    "ScoreResult",
    "ShiftedBetaGeoModel",
    "aggregate_interval",
    "baseline_comparison",
    "calibration_holdout_summary",
    "clv_intervals",
    "customer_intervals",
    "customer_lifetime_value",
    "evaluate",
    "fit_workspace",
    "holdout_check",
    "latest_fit",
    "naive_forecasts",
    "order_intervals",
    "regularity_summary",
    "rfm_summary",
    "score_customers",
    "score_workspace",
    "workspace_rfm",
]


def test_all_is_sorted_and_pinned() -> None:
    assert regulars.models.__all__ == sorted(regulars.models.__all__)
    assert regulars.models.__all__ == EXPECTED
    for name in EXPECTED:
        assert getattr(regulars.models, name).__module__.startswith("regulars.models")


def test_models_store_only_hyper_parameters() -> None:
    for name in (
        "BetaGeoBetaBinomModel",
        "BetaGeoModel",
        "GammaGammaModel",
        "ModifiedBetaGeoModel",
    ):
        model = getattr(regulars.models, name)(penalizer=0.5)
        assert vars(model) == {"penalizer": 0.5, "initial_params": None, "max_iter": 2000}
    for name in ("ParetoNBDModel", "ShiftedBetaGeoModel"):
        assert not any(k.endswith("_") for k in vars(getattr(regulars.models, name)()))
