"""Simulated customer books with known parameters, for recovery and coverage tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def simulate_bgnbd(
    n: int,
    params: tuple[float, float, float, float],
    *,
    seed: int,
    alpha_scale: np.ndarray | None = None,
    b_scale: np.ndarray | None = None,
    t_min: float = 20.0,
    t_max: float = 60.0,
    holdout: float = 0.0,
) -> pd.DataFrame:
    """BG/NBD customers: RFM over a calibration period, and purchases in a holdout.

    ``alpha_scale`` and ``b_scale`` multiply each customer's ``alpha`` and ``b``
    (covariate effects).  Customers are observed for ``T ~ U(t_min, t_max)`` and then
    ``holdout`` more time units (``frequency_holdout``).
    """
    r, alpha, a, b = params
    rng = np.random.default_rng(seed)
    alpha_i = alpha * (np.ones(n) if alpha_scale is None else alpha_scale)
    b_i = b * (np.ones(n) if b_scale is None else b_scale)
    lam = rng.gamma(r, 1.0 / alpha_i)
    p = rng.beta(a, b_i)
    big_t = rng.uniform(t_min, t_max, n)
    end = big_t + holdout
    now = np.zeros(n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    x_hold = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        nxt = now[idx] + rng.exponential(1.0, idx.size) / lam[idx]
        ok = nxt <= end[idx]
        idx, nxt = idx[ok], nxt[ok]
        active[:] = False
        cal = nxt <= big_t[idx]
        x[idx[cal]] += 1
        t_x[idx[cal]] = nxt[cal]
        x_hold[idx[~cal]] += 1
        now[idx] = nxt
        active[idx] = rng.random(idx.size) >= p[idx]  # dies after the purchase
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": big_t, "frequency_holdout": x_hold})
