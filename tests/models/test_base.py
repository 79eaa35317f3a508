"""The shared fitting machinery: compression and the warm start of large fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regulars.models import BetaGeoModel, ParetoNBDModel, _transactions
from regulars.models._base import Columns, compress


def test_compress_matches_a_plain_group_by() -> None:
    rng = np.random.default_rng(7)
    n = 5_000
    arrays = {
        "frequency": rng.integers(0, 4, n).astype(float),
        "recency": rng.integers(0, 5, n).astype(float),
        "T": rng.integers(5, 8, n).astype(float),
    }
    weight = rng.integers(0, 3, n).astype(float)
    out = compress(Columns(arrays, weight, "numpy"))

    frame = pd.DataFrame({**arrays, "w": weight})
    expected = (
        frame[frame["w"] > 0]
        .groupby(["frequency", "recency", "T"], sort=True)["w"]
        .sum()
        .reset_index()
    )
    for name in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(out[name], expected[name].to_numpy())
    np.testing.assert_array_equal(out.weight, expected["w"].to_numpy())


def test_compress_of_nothing_is_empty() -> None:
    out = compress(Columns({"x": np.array([1.0, 2.0])}, np.zeros(2), "numpy"))
    assert out.size == 0
    assert out.weight.size == 0


@pytest.mark.parametrize("model_class", [BetaGeoModel, ParetoNBDModel])
def test_warm_start_reaches_the_same_maximum(
    model_class: type[BetaGeoModel] | type[ParetoNBDModel],
    cdnow_rfm: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fit that starts from a sample's fit ends at the full data's maximum."""
    cold = model_class().fit(cdnow_rfm)
    monkeypatch.setattr(_transactions, "WARM_START_MIN", 100)
    monkeypatch.setattr(_transactions, "WARM_SAMPLE", 300)
    calls: list[int] = []
    original = model_class._warm_start

    def spy(self: BetaGeoModel, cols: Columns) -> object:
        result = original(self, cols)
        calls.append(0 if result is None else 1)
        return result

    monkeypatch.setattr(model_class, "_warm_start", spy)
    warm = model_class().fit(cdnow_rfm)
    assert calls == [1]
    for name, value in cold.params_.items():
        assert warm.params_[name] == pytest.approx(value, rel=1e-6)
    assert warm.log_likelihood_ == pytest.approx(cold.log_likelihood_, abs=1e-6)
