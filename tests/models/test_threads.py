"""The models' threads: results in input order, bounded, and the same as one thread."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest

from regulars.models import GammaGammaModel, ParetoNBDModel
from regulars.models._score_intervals import interval_columns
from regulars.models._threads import in_order, worker_count


def test_in_order_keeps_the_order_of_the_inputs() -> None:
    """The first item is the slowest, yet the results come back in the inputs' order."""

    def slow_first(i: int) -> int:
        time.sleep(0.05 if i == 0 else 0.0)
        return i * i

    assert list(in_order(slow_first, range(9), workers=3)) == [i * i for i in range(9)]
    assert list(in_order(slow_first, range(9), workers=1)) == [i * i for i in range(9)]


def test_in_order_holds_at_most_workers_results() -> None:
    """A consumer that never catches up still leaves at most ``workers`` items started
    and not yet taken: memory stays bounded whatever the number of items."""
    started: list[int] = []
    lock = threading.Lock()

    def note(i: int) -> int:
        with lock:
            started.append(i)
        return i

    taken = 0
    for i in in_order(note, range(50), workers=2):
        time.sleep(0.001)
        taken += 1
        assert i == taken - 1
        with lock:
            assert len(started) - taken <= 2
    assert taken == 50


def test_worker_count_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGULARS_THREADS", "3")
    assert worker_count() == 3
    monkeypatch.setenv("REGULARS_THREADS", "none")
    assert 1 <= worker_count() <= 4


def _fit_and_intervals(cdnow_cbs: pd.DataFrame) -> tuple[ParetoNBDModel, dict, dict | None]:
    purchase = ParetoNBDModel().fit(cdnow_cbs[["frequency", "recency", "T"]])
    repeat = cdnow_cbs[cdnow_cbs["frequency"] > 0]
    spend = GammaGammaModel().fit(repeat[["frequency", "monetary_value"]])
    keys = {k: cdnow_cbs[k].to_numpy(dtype=float) for k in ("frequency", "recency", "T")}
    spend_keys = {k: repeat[k].to_numpy(dtype=float) for k in ("frequency", "monetary_value")}
    columns, spend_columns = interval_columns(
        keys, spend_keys, purchase, spend, clv_horizon=12, discount_rate=0.1, time_unit="W"
    )
    return purchase, columns, spend_columns


def test_threads_give_the_same_fit_and_intervals_bit_for_bit(
    cdnow_cbs: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Hessian's gradients and the intervals' parameter draws run on threads; the
    covariance and every interval column are those of one thread, bit for bit."""
    monkeypatch.setenv("REGULARS_THREADS", "1")
    one_model, one, one_spend = _fit_and_intervals(cdnow_cbs)
    monkeypatch.setenv("REGULARS_THREADS", "3")
    three_model, three, three_spend = _fit_and_intervals(cdnow_cbs)
    assert np.array_equal(one_model._cov_log, three_model._cov_log)
    assert np.all(np.isfinite(one_model._cov_log))
    assert one.keys() == three.keys()
    for name in one:
        assert np.array_equal(np.asarray(one[name]), np.asarray(three[name])), name
    # the intervals are real ones: P(alive)'s low end under its high end somewhere
    assert np.any(np.asarray(one["p_alive_low"]) < np.asarray(one["p_alive_high"]))
    assert one_spend is not None
    assert three_spend is not None
    assert np.array_equal(np.asarray(one_spend["_sd_spend"]), np.asarray(three_spend["_sd_spend"]))
