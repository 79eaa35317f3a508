"""Benchmark the issue-15 models at scale: covariates, MBG/CNBD-k and intervals.

What it does, in one run (fixed seeds; data generated in memory):

1. A BG/NBD book of ``--customers`` customers (weekly time unit, day resolution) with
   two categorical covariates, ``channel`` (4 levels) and ``segment`` (3 levels): 5
   dummy columns, each with a known effect on purchase and dropout.  Times the plain
   BG/NBD fit and the covariate BG/NBD fit (and reports the effects found).
2. An MBG/CNBD-2 book of the same size with ``litt``; times the MBG/CNBD-k fit with k
   chosen by likelihood (k = 1, 2, ... until the likelihood stops rising past k = 4).
3. Times ``score_customers`` (P(alive), expected orders at 90 and 365 days, spend and
   12-month CLV) on the BG/NBD book, and the parameter-uncertainty intervals of
   P(alive) and expected orders (``customer_intervals``, 90 days) and of CLV
   (``clv_intervals``), and prints the ratio to scoring.

Each step prints its wall-clock and CPU time (the CPU time is the fairer measure on a
busy machine).  Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_beyond.py --customers 1000000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from regulars.models import (
    BetaGeoCovariateModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoCNBDModel,
    clv_intervals,
    customer_intervals,
    score_customers,
)

SEED = 20261205
CHANNELS = {
    "cold": (0.0, 0.0),
    "referral": (0.3, -0.4),
    "organic": (0.1, -0.2),
    "partner": (-0.2, 0.2),
}
SEGMENTS = {"small": (0.0, 0.0), "medium": (0.2, -0.1), "large": (0.4, -0.3)}


def bgnbd_book(n: int, rng: np.random.Generator) -> pd.DataFrame:
    channel = rng.choice(list(CHANNELS), n, p=[0.4, 0.3, 0.2, 0.1])
    segment = rng.choice(list(SEGMENTS), n, p=[0.6, 0.3, 0.1])
    purchase = (
        np.array([CHANNELS[c][0] for c in CHANNELS])[
            pd.Categorical(channel, categories=list(CHANNELS)).codes
        ]
        + np.array([SEGMENTS[s][0] for s in SEGMENTS])[
            pd.Categorical(segment, categories=list(SEGMENTS)).codes
        ]
    )
    dropout = (
        np.array([CHANNELS[c][1] for c in CHANNELS])[
            pd.Categorical(channel, categories=list(CHANNELS)).codes
        ]
        + np.array([SEGMENTS[s][1] for s in SEGMENTS])[
            pd.Categorical(segment, categories=list(SEGMENTS)).codes
        ]
    )
    r, alpha, a, b = 0.5, 5.0, 0.8, 2.4
    lam = rng.gamma(r, 1.0 / (alpha * np.exp(-purchase)))
    p = rng.beta(a, b * np.exp(-dropout))
    big_t = np.round(rng.uniform(1.0, 104.0, n) * 7.0) / 7.0
    x, t_x = _simulate(rng, lam, p, big_t, k=1, drop_at_zero=False)[:2]
    spend = np.where(x > 0, rng.gamma(6.0, 15.0 / 5.0, n), 0.0)
    return pd.DataFrame(
        {
            "frequency": x,
            "recency": t_x,
            "T": big_t,
            "monetary_value": spend,
            "channel": channel,
            "segment": segment,
        }
    )


def _simulate(
    rng: np.random.Generator,
    lam: np.ndarray,
    p: np.ndarray,
    big_t: np.ndarray,
    *,
    k: int,
    drop_at_zero: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = lam.shape[0]
    x, t_x, litt, now = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    alive = rng.random(n) >= p if drop_at_zero else np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        gap = rng.gamma(k, 1.0 / lam[idx])
        nxt = now[idx] + gap
        # purchases land on days: round to 1/7 week, at least a day after the last
        nxt = np.maximum(np.round(nxt * 7.0) / 7.0, now[idx] + 1.0 / 7.0)
        ok = nxt <= big_t[idx]
        idx, nxt = idx[ok], nxt[ok]
        alive[:] = False
        litt[idx] += np.log(nxt - now[idx])
        x[idx] += 1
        t_x[idx] = nxt
        now[idx] = nxt
        alive[idx] = rng.random(idx.size) >= p[idx]
    return x, t_x, litt


def cnbd_book(n: int, rng: np.random.Generator) -> pd.DataFrame:
    lam = rng.gamma(1.3, 1.0 / 2.8, n)  # grocery-like MBG/CNBD-2 values (weeks)
    p = rng.beta(0.4, 0.8, n)
    big_t = np.round(rng.uniform(1.0, 104.0, n) * 7.0) / 7.0
    x, t_x, litt = _simulate(rng, lam, p, big_t, k=2, drop_at_zero=True)
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": big_t, "litt": litt})


def timed(label: str, fn, results: dict[str, float]):  # type: ignore[no-untyped-def]
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    results[label] = time.perf_counter() - start
    used = time.process_time() - cpu
    print(f"{label:<48} {results[label]:8.2f} s wall {used:8.2f} s CPU", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--draws", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    times: dict[str, float] = {}
    book = timed(
        "generate BG/NBD book with covariates", lambda: bgnbd_book(args.customers, rng), times
    )
    print(
        f"  {len(book):,} customers, "
        f"{book[['frequency', 'recency', 'T']].drop_duplicates().shape[0]:,} distinct (x, t_x, T)"
    )
    plain = timed("BG/NBD fit (plain)", lambda: BetaGeoModel().fit(book), times)
    cov = BetaGeoCovariateModel(
        covariates=["channel", "segment"], reference={"channel": "cold", "segment": "small"}
    )
    timed("BG/NBD fit with 5 dummy columns", lambda: cov.fit(book), times)
    print(f"  {cov.n_distinct_:,} distinct (x, t_x, T, covariates) rows")
    for text in cov.effects()["text"]:
        print("  ", text)
    cnbd = timed("generate MBG/CNBD-2 book", lambda: cnbd_book(args.customers, rng), times)
    model = ModifiedBetaGeoCNBDModel()
    timed("MBG/CNBD-k fit, k chosen by likelihood", lambda: model.fit(cnbd), times)
    print(f"  k = {model.k_}, params {model.params_}, tried {list(model.log_likelihoods_)}")
    repeat = book[book["frequency"] > 0]
    spend = GammaGammaModel().fit(repeat)
    rfm = book[["frequency", "recency", "T", "monetary_value"]]
    timed(
        "score_customers (P(alive), 90/365 d, CLV)",
        lambda: score_customers(rfm, plain, spend, time_unit="W").to_pyarrow(),
        times,
    )
    timed(
        f"customer_intervals, 90 days ({args.draws} draws)",
        lambda: customer_intervals(plain, rfm, t=90 / 7, n_draws=args.draws),
        times,
    )
    timed(
        f"clv_intervals, 12 months ({args.draws} draws)",
        lambda: clv_intervals(
            plain,
            spend,
            rfm,
            horizon=12,
            discount_rate=0.008,
            time_unit_per_period=4.348,
            n_draws=args.draws,
        ),
        times,
    )
    extra = (
        times[f"customer_intervals, 90 days ({args.draws} draws)"]
        + times[f"clv_intervals, 12 months ({args.draws} draws)"]
    )
    score = times["score_customers (P(alive), 90/365 d, CLV)"]
    print(f"intervals / score_customers: {extra / score:.2f}x")


if __name__ == "__main__":
    main()
