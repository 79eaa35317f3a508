"""Is a fit trustworthy?  The checks behind ``model.diagnostics_`` and ``regulars fit``.

A maximum-likelihood fit can converge and still be useless: a parameter runs towards
0 or infinity, its interval spans orders of magnitude, the Hessian is not positive
definite, or the model calls almost every customer alive while the data show many
who stopped buying.  Each check here returns a :class:`FitProblem` that says what is
wrong and what to do; a fit with no problem is *trustworthy*.

The rules (documented in docs/models.md, "Fit diagnostics"):

* **at a bound**: an estimate below ``1e-3`` or above ``1e6``;
* **wide interval**: the 95% interval's upper end is more than ``100`` times its lower
  end (two orders of magnitude);
* **Hessian**: the standard errors cannot be computed (the Hessian of the negative
  log-likelihood is not positive definite);
* **P(alive) ignores lapsed customers** (repeat-purchase models): a repeat buyer is
  *lapsed* when their silence ``T - recency`` exceeds 3 times their own mean time
  between purchases ``recency / frequency``.  When at least 10 customers and 5% of the
  repeat buyers are lapsed, and more than half of the lapsed get P(alive) >= 0.99, the
  model does not see customers leave;
* **P(alive) ignores one-time buyers**: a customer without a repeat purchase is
  lapsed when their ``T`` exceeds 3 times the repeat buyers' median gap.  When they
  are at least 10 customers and 20% of all customers, and more than 90% of them get
  P(alive) >= 0.99 (the BG/NBD gives them exactly 1), P(alive) cannot rank them;
* **spend does not vary** (Gamma-Gamma): the repeat buyers' mean spend has a
  coefficient of variation below 1%, or ``p > 1000`` (spend per purchase is the same
  within each customer);
* **spend follows frequency** (Gamma-Gamma): the weighted Spearman correlation of
  ``frequency`` and ``monetary_value`` among the repeat buyers is 0.3 or more in
  absolute value (the model assumes they are independent);
* **regularised**: the fit used a penalizer (set by the user, or the fallback of
  ``regulars fit`` after a failed plain fit), so it is not pure maximum likelihood.
  This one is a note, not a problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "LAPSED_GAP_FACTOR",
    "Diagnostics",
    "FitProblem",
    "lapsed_check",
    "parameter_checks",
    "spend_checks",
]

#: Estimates outside [LOW_BOUND, HIGH_BOUND] are "at a bound".
LOW_BOUND = 1e-3
HIGH_BOUND = 1e6
#: A 95% interval whose upper/lower ratio exceeds this spans orders of magnitude.
WIDE_RATIO = 100.0
#: Lapsed: silence longer than this many times the customer's own mean gap.
LAPSED_GAP_FACTOR = 3.0
#: Lapsed one-time buyers must be at least this share of the customers to matter.
ONE_TIME_SHARE = 0.20
#: P(alive) at or above this counts as "certainly alive".
ALIVE = 0.99
#: Gamma-Gamma: |Spearman rho| at or above this breaks the independence assumption.
SPEND_RHO = 0.3
#: Gamma-Gamma: no spend variation below this coefficient of variation, or above this p.
SPEND_CV = 0.01
SPEND_P = 1e3

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class FitProblem:
    """One reason not to trust a fit: ``code``, what is wrong and what to do."""

    code: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.message} {self.fix}"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "fix": self.fix}


@dataclass
class Diagnostics:
    """The checks of one fit: its problems, notes and the numbers they rest on.

    ``trustworthy`` is True when there is no problem.  ``facts`` holds the measured
    values (for example ``lapsed_share_alive``, the share of lapsed repeat buyers with
    P(alive) >= 0.99), so a report can show them.
    """

    model: str
    problems: list[FitProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    facts: dict[str, float] = field(default_factory=dict)

    @property
    def trustworthy(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        if self.trustworthy:
            head = f"{self.model}: no problem found."
        else:
            n = len(self.problems)
            head = (
                f"{self.model}: {n} problem{'s make' if n > 1 else ' makes'} this fit "
                "untrustworthy."
            )
        lines = [head, *(f"- {p}" for p in self.problems), *(f"- note: {n}" for n in self.notes)]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "trustworthy": self.trustworthy,
            "problems": [p.to_dict() for p in self.problems],
            "notes": list(self.notes),
            "facts": {k: float(v) for k, v in self.facts.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnostics:
        return cls(
            model=str(data.get("model", "")),
            problems=[FitProblem(**p) for p in data.get("problems", [])],
            notes=[str(n) for n in data.get("notes", [])],
            facts={str(k): float(v) for k, v in (data.get("facts") or {}).items() if v is not None},
        )


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def parameter_checks(model: Any) -> Diagnostics:
    """Bounds, interval widths and the Hessian of a fitted model's parameters."""
    name = type(model).__name__
    diag = Diagnostics(name)
    if hasattr(model, "expected_spend"):  # a spend model: no other model to compare with
        refit = (
            "Refit with `--penalizer 0.01`, or use `--spend none` if spend per order "
            "hardly differs between customers."
        )
    else:
        refit = (
            "Compare the models with `regulars fit --model auto`, or refit with `--penalizer 0.01`."
        )
    summary = model.summary()
    est = summary["estimate"].to_numpy(dtype=float)
    lower = summary["lower_95"].to_numpy(dtype=float)
    upper = summary["upper_95"].to_numpy(dtype=float)
    names = [str(i) for i in summary.index]
    edge = [
        f"{n}={_fmt(e)}"
        for n, e in zip(names, est, strict=True)
        if not LOW_BOUND <= e <= HIGH_BOUND
    ]
    if edge:
        diag.problems.append(
            FitProblem(
                "at_bound",
                f"{name}: {', '.join(edge)} is at the edge of the parameter space "
                f"(outside {LOW_BOUND:g} to {HIGH_BOUND:g}), so the data do not pin it down.",
                refit,
            )
        )
    if not np.all(np.isfinite(lower) & np.isfinite(upper)):
        diag.problems.append(
            FitProblem(
                "hessian",
                f"{name}: the Hessian of the likelihood is not positive definite at the "
                "estimate, so the parameters have no standard errors.",
                "The data do not identify every parameter: try another model "
                "(`--model auto`) or `--penalizer 0.01`, or add history.",
            )
        )
    else:
        with np.errstate(divide="ignore"):
            ratio = upper / lower
        wide = [
            f"{n} from {_fmt(lo)} to {_fmt(hi)}"
            for n, lo, hi, r in zip(names, lower, upper, ratio, strict=True)
            if r > WIDE_RATIO
        ]
        if wide:
            diag.problems.append(
                FitProblem(
                    "wide_interval",
                    f"{name}: the 95% interval of {'; '.join(wide)} spans more than two "
                    "orders of magnitude, so the estimate is a guess.",
                    refit,
                )
            )
    penalizer = float(getattr(model, "penalizer", 0.0) or 0.0)
    diag.facts["penalizer"] = penalizer
    if penalizer > 0:
        diag.notes.append(
            f"Regularised fit (penalizer={penalizer:g}): the parameters are shrunk towards 1, "
            "not pure maximum likelihood."
        )
    return diag


def lapsed_check(
    diag: Diagnostics,
    p_alive: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    big_t: FloatArray,
    w: FloatArray,
) -> None:
    """Add the "P(alive) ignores lapsed customers" check to ``diag`` (see module doc)."""
    repeat = (x >= 1) & (t_x > 0)
    n_repeat = float(w[repeat].sum())
    total = float(w.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(repeat, t_x / np.maximum(x, 1.0), np.inf)
    lapsed = repeat & ((big_t - t_x) > LAPSED_GAP_FACTOR * gap)
    n_lapsed = float(w[lapsed].sum())
    alive = p_alive >= ALIVE
    n_lapsed_alive = float(w[lapsed & alive].sum())
    share_alive = float(w[alive].sum()) / total if total > 0 else 0.0
    diag.facts.update(
        customers=total,
        share_p_alive_99=share_alive,
        repeat_buyers=n_repeat,
        lapsed_repeat_buyers=n_lapsed,
        lapsed_share_alive=n_lapsed_alive / n_lapsed if n_lapsed > 0 else 0.0,
    )
    if n_lapsed >= max(10.0, 0.05 * n_repeat) and n_lapsed_alive > 0.5 * n_lapsed:
        diag.problems.append(
            FitProblem(
                "p_alive_lapsed",
                f"{diag.model}: P(alive) >= {ALIVE} for {n_lapsed_alive:,.0f} of the "
                f"{n_lapsed:,.0f} repeat buyers who have been silent for more than "
                f"{LAPSED_GAP_FACTOR:g} times their usual gap ({share_alive:.0%} of all "
                "customers get P(alive) >= 0.99), so the model does not see customers leave.",
                "Use a model that lets them leave: `regulars fit --model auto` (or "
                "`--model pnbd`).",
            )
        )
    # One-time buyers have no gap of their own: compare their silence with the median
    # gap of the repeat buyers.
    if not repeat.any():
        return
    gaps, weights = gap[repeat], w[repeat]
    order = np.argsort(gaps)
    cum = np.cumsum(weights[order])
    median_gap = float(gaps[order][np.searchsorted(cum, cum[-1] / 2.0)])
    once = (x == 0) & (big_t > LAPSED_GAP_FACTOR * median_gap)
    n_once = float(w[once].sum())
    n_once_alive = float(w[once & alive].sum())
    diag.facts.update(
        lapsed_one_time_buyers=n_once,
        lapsed_one_time_share_alive=n_once_alive / n_once if n_once > 0 else 0.0,
    )
    if n_once >= max(10.0, ONE_TIME_SHARE * total) and n_once_alive > 0.9 * n_once:
        diag.problems.append(
            FitProblem(
                "p_alive_one_time",
                f"{diag.model}: P(alive) >= {ALIVE} for {n_once_alive:,.0f} customers who "
                f"bought once, longer ago than {LAPSED_GAP_FACTOR:g} times the repeat buyers' "
                f"median gap ({n_once / total:.0%} of the customers): the model assumes that "
                "a customer without a repeat purchase is still a customer, so its P(alive) "
                "cannot rank them.",
                "Use a model where a customer can leave after the first purchase: "
                "`regulars fit --model auto` (or `--model mbgnbd` / `--model pnbd`).",
            )
        )


def _weighted_ranks(values: FloatArray, w: FloatArray) -> FloatArray:
    """Mid-ranks of ``values`` where each row stands for ``w`` identical rows."""
    order = np.argsort(values, kind="stable")
    v, ww = values[order], w[order]
    starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]])
    group_w = np.add.reduceat(ww, starts)
    below = np.cumsum(group_w) - group_w
    mid = below + (group_w + 1.0) / 2.0
    ranks = np.empty_like(values)
    ranks[order] = np.repeat(mid, np.diff(np.r_[starts, v.size]))
    return ranks


def weighted_spearman(a: FloatArray, b: FloatArray, w: FloatArray) -> float:
    """Spearman's rho of ``a`` and ``b`` with row weights ``w`` (NaN if undefined)."""
    if a.size < 2 or not w.sum() > 0:
        return float("nan")
    ra, rb = _weighted_ranks(a, w), _weighted_ranks(b, w)
    ma, mb = np.average(ra, weights=w), np.average(rb, weights=w)
    cov = np.average((ra - ma) * (rb - mb), weights=w)
    va = np.average((ra - ma) ** 2, weights=w)
    vb = np.average((rb - mb) ** 2, weights=w)
    if va <= 0 or vb <= 0:
        return float("nan")
    return float(cov / np.sqrt(va * vb))


def spend_checks(diag: Diagnostics, p: float, x: FloatArray, m: FloatArray, w: FloatArray) -> None:
    """Add Gamma-Gamma's own assumption checks to ``diag`` (repeat buyers' x, m, weights)."""
    mean = float(np.average(m, weights=w))
    sd = float(np.sqrt(np.average((m - mean) ** 2, weights=w)))
    cv = sd / mean if mean > 0 else 0.0
    rho = weighted_spearman(x, m, w)
    diag.facts.update(spend_cv=cv, spend_frequency_rho=rho)
    if cv < SPEND_CV or p > SPEND_P:
        what = (
            f"the repeat buyers' mean spend barely varies (coefficient of variation {cv:.2%})"
            if cv < SPEND_CV
            else f"p = {p:.3g}: spend per purchase is the same within each customer"
        )
        diag.problems.append(
            FitProblem(
                "spend_constant",
                f"{diag.model}: {what}, so the model has nothing to learn and its "
                "expected spend is each customer's own average.",
                "Use the average order value directly, or `--spend none` and read the "
                "expected orders.",
            )
        )
    if np.isfinite(rho) and abs(rho) >= SPEND_RHO:
        direction = "rises" if rho > 0 else "falls"
        diag.problems.append(
            FitProblem(
                "spend_frequency",
                f"{diag.model}: spend per purchase {direction} with the number of purchases "
                f"(Spearman rho = {rho:+.2f} among repeat buyers), but the model assumes "
                "they are independent, so CLV is biased.",
                "Treat CLV as a rough ranking, or use `--spend none` and the expected orders.",
            )
        )
