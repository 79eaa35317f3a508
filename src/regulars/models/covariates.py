"""Time-invariant covariates for the BG/NBD, Pareto/NBD and Gamma-Gamma models.

A customer's covariates ``z`` (acquisition channel, segment, numeric attributes) shift
the heterogeneity distributions of the purchase and the dropout process separately
(Fader and Hardie 2007; the parameterisation of CLVTools):

* purchase (BG/NBD and Pareto/NBD): ``alpha_i = alpha exp(-gamma_p' z)``, so the mean
  purchase rate ``r / alpha_i`` is ``exp(gamma_p' z)`` times the reference customer's;
* dropout, Pareto/NBD: ``beta_i = beta exp(-gamma_d' z)``, so the mean dropout rate
  ``s / beta_i`` is ``exp(gamma_d' z)`` times the reference's;
* dropout, BG/NBD: ``b_i = b exp(-gamma_d' z)``, so the dropout odds ``a / b_i`` (about
  the mean dropout probability per purchase when it is small) are ``exp(gamma_d' z)``
  times the reference's.  CLVTools scales ``a`` and ``b`` by the same factor, which
  leaves the mean dropout probability unchanged; regulars scales ``b`` so that a
  dropout effect moves the mean;
* spend (Gamma-Gamma): ``v_i = v exp(gamma_s' z)``, so the mean spend per purchase
  ``p v_i / (q - 1)`` is ``exp(gamma_s' z)`` times the reference's.

Categorical columns are dummy-coded against a reference level (by default the most
common one); numeric columns enter as they are, so their effect is per unit.  With all
``gamma = 0`` each model is the plain one.  Estimates are by maximum likelihood on the
distinct ``(statistics, covariates)`` rows, with standard errors from the inverse
Hessian; :meth:`effects` words each effect with its 95% interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.special import betaln, digamma, gammaln

from regulars.errors import SchemaError
from regulars.models._base import (
    BaseModel,
    Columns,
    FloatArray,
    TableLike,
    _hessian,
    as_time,
    compress,
    read_columns,
)
from regulars.models._diagnostics import parameter_checks
from regulars.models._numerics import dot
from regulars.models._transactions import TransactionModel
from regulars.models.beta_geo import BetaGeoModel
from regulars.models.gamma_gamma import GammaGammaModel
from regulars.models.modified_beta_geo import ModifiedBetaGeoModel
from regulars.models.pareto_nbd import ParetoNBDModel

__all__ = [
    "BetaGeoCovariateModel",
    "CovariateDesign",
    "GammaGammaCovariateModel",
    "ParetoNBDCovariateModel",
]

_Z95 = 1.959963984540054
_CHUNK = 20_000


@dataclass(frozen=True)
class CovariateDesign:
    """How covariate columns become the numeric matrix ``z``.

    ``terms`` are the names of the columns of ``z`` (``"channel=referral"`` for a dummy,
    the column name for a numeric covariate); ``levels`` maps each categorical column
    to its levels with the reference first.
    """

    columns: tuple[str, ...]
    terms: tuple[str, ...]
    levels: Mapping[str, tuple[str, ...]]

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, columns: Sequence[str], reference: Mapping[str, str] | None
    ) -> CovariateDesign:
        terms: list[str] = []
        levels: dict[str, tuple[str, ...]] = {}
        for col in columns:
            values = frame[col]
            if values.isna().any():
                first = int(np.flatnonzero(values.isna().to_numpy())[0])
                raise SchemaError(
                    f"Covariate column {col!r} has {int(values.isna().sum()):,} missing values "
                    f"(e.g. row {first}). Fill them (for example with 'unknown') or drop the "
                    "customers first."
                )
            if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
                terms.append(col)
                continue
            counts = values.astype(str).value_counts()
            ordered = sorted(counts.index, key=lambda v: (-counts[v], v))
            ref = (reference or {}).get(col, ordered[0])
            if ref not in counts.index:
                raise SchemaError(
                    f"Reference level {ref!r} for covariate {col!r} does not occur. Levels: "
                    + ", ".join(repr(v) for v in sorted(counts.index))
                    + "."
                )
            rest = sorted(v for v in counts.index if v != ref)
            levels[col] = (ref, *rest)
            terms.extend(f"{col}={v}" for v in rest)
        return cls(tuple(columns), tuple(terms), levels)

    def matrix(self, frame: pd.DataFrame) -> FloatArray:
        out = np.zeros((len(frame), len(self.terms)))
        j = 0
        for col in self.columns:
            if col not in self.levels:
                out[:, j] = frame[col].to_numpy(dtype=float)
                j += 1
                continue
            values = frame[col].astype(str).to_numpy()
            for level in self.levels[col][1:]:
                out[:, j] = values == level
                j += 1
        return out


def _covariate_frame(data: TableLike, columns: Sequence[str], caller: str) -> pd.DataFrame:
    module = type(data).__module__.split(".")[0]
    if module == "ibis":
        existing = list(data.columns)
    elif isinstance(data, pd.DataFrame):
        existing = [str(c) for c in data.columns]
    elif hasattr(data, "column_names"):
        existing = list(data.column_names)
    elif hasattr(data, "columns"):
        existing = list(data.columns)
    else:
        existing = [str(k) for k in data]
    for col in columns:
        if col not in existing:
            raise SchemaError(
                f"Covariate column {col!r} not found in the data passed to {caller}. Existing "
                "columns: " + ", ".join(repr(c) for c in existing) + ". Join the customers' "
                "attributes to the RFM table first, or name an existing column."
            )
    if module == "ibis":
        return data.select(*columns).to_pyarrow().to_pandas()
    if isinstance(data, pd.DataFrame):
        return data[list(columns)].reset_index(drop=True)
    if hasattr(data, "to_pandas"):
        return data.select(list(columns)).to_pandas()
    return pd.DataFrame({c: np.asarray(data[c]) for c in columns})


class _CovariateModel(BaseModel):
    """Shared fitting, summary and wording of the covariate models."""

    _base_names: ClassVar[tuple[str, ...]] = ()
    _stat_names: ClassVar[tuple[str, ...]] = ()
    #: process name -> (index of the scaled base parameter, sign of its log in gamma)
    _processes: ClassVar[tuple[str, ...]] = ()
    #: Scores need the covariates, not only (x, t_x, T): no (x, T) shortcut in scoring.
    _alive_factorizes: ClassVar[bool] = False

    def __init__(
        self,
        *,
        covariates: Sequence[str] = (),
        reference: Mapping[str, str] | None = None,
        penalizer: float = 0.0,
        max_iter: int = 2000,
    ) -> None:
        super().__init__(penalizer=penalizer, initial_params=None, max_iter=max_iter)
        self.covariates = covariates
        self.reference = reference

    # -- input ------------------------------------------------------------------------
    def _plain(self) -> BaseModel:
        raise NotImplementedError

    def _read_stats(self, data: TableLike, caller: str) -> Columns:
        raise NotImplementedError

    def _read_design(self, data: TableLike, caller: str, *, fitting: bool) -> FloatArray:
        columns = tuple(self.covariates)
        if fitting:
            if not columns or isinstance(self.covariates, str):
                raise ValueError(
                    f"The 'covariates' parameter of {type(self).__name__} must name one or more "
                    f"columns, e.g. covariates=['channel']. Got {self.covariates!r} instead."
                )
            frame = _covariate_frame(data, columns, caller)
            self.design_ = CovariateDesign.from_frame(frame, columns, self.reference)
        else:
            frame = _covariate_frame(data, columns, caller)
        return self.design_.matrix(frame)

    def fit(self, data: TableLike, /) -> Self:
        """Fit by maximum likelihood on one row per customer with the covariate columns.

        ``data`` holds the model's statistics (``frequency``, ``recency``, ``T``; for
        the spend model ``frequency`` and ``monetary_value``), optional ``weight``, and
        the ``covariates`` columns.  Rows are compressed to distinct (statistics,
        covariates) tuples.  The fit starts from the plain model's estimates with all
        effects at zero.
        """
        caller = f"{type(self).__name__}.fit"
        if type(data).__module__.split(".")[0] == "ibis":
            data = data.to_pyarrow()
        cols = self._read_stats(data, caller)
        z = self._read_design(data, caller, fitting=True)
        n_terms = z.shape[1]
        arrays = {**cols.arrays, **{f"_z{j}": z[:, j] for j in range(n_terms)}}
        cols = compress(Columns(arrays, cols.weight, cols.source))
        design = np.column_stack([cols.arrays.pop(f"_z{j}") for j in range(n_terms)])
        cols = Columns(cols.arrays, cols.weight, cols.source)
        plain = self._plain()
        plain_cols = compress(Columns(dict(cols.arrays), cols.weight.copy(), cols.source))
        plain_stats = plain._make_stats(plain_cols)  # type: ignore[attr-defined]
        plain._fit_stats(plain_stats, float(plain_cols.weight.sum()), 1)
        self._start = np.concatenate(
            [np.log(plain._theta()), np.zeros(n_terms * len(self._processes))]
        )
        self._param_names = self._base_names + tuple(  # type: ignore[misc]
            f"{p}: {t}" for p in self._processes for t in self.design_.terms
        )
        stats = self._make_stats(cols, design)
        n = float(cols.weight.sum())
        # BFGS starts at the plain fit with the curvature there: a few Newton-like steps
        hess = _hessian(self._objective(stats, n), self._start)
        self._fit_stats(stats, n, cols.size, warm=(self._start, hess))
        # the parameter checks (bounds, interval widths) apply to the base parameters;
        # an effect near 0 is a finding, not a problem
        view = type(type(self).__name__, (_BaseParameters,), {})(self)
        self.diagnostics_ = parameter_checks(view)
        return self

    def _make_stats(self, cols: Columns, design: FloatArray) -> Any:
        raise NotImplementedError

    def _starting_points(self, stats: Any) -> list[FloatArray]:
        return [self._start.copy()]

    # -- learned attributes -------------------------------------------------------------
    def _set_fitted(
        self, z: FloatArray, ll: float, hess_total: FloatArray, n: float, n_distinct: int
    ) -> None:
        nb = len(self._base_names)
        self.params_: dict[str, float] = {
            k: float(v) for k, v in zip(self._base_names, np.exp(z[:nb]), strict=True)
        }
        self.coef_: dict[str, float] = {
            k: float(v) for k, v in zip(self._param_names[nb:], z[nb:], strict=True)
        }
        self.log_likelihood_: float = float(ll)
        self.n_customers_: float = float(n)
        self.n_distinct_: int = int(n_distinct)
        cov: FloatArray = np.full(hess_total.shape, np.nan)
        try:
            inverse = np.linalg.inv(hess_total)
            if np.all(np.diag(inverse) > 0):
                cov = np.asarray(inverse, dtype=float)
        except np.linalg.LinAlgError:
            pass
        self._cov_log = cov
        self._z = z.copy()

    def _fmt(self, z: FloatArray) -> str:
        nb = len(self._base_names)
        base = ", ".join(
            f"{n}={np.exp(v):.4g}" for n, v in zip(self._base_names, z[:nb], strict=True)
        )
        return f"({base}, {z.size - nb} effects)"

    def _theta(self) -> FloatArray:
        self._check_fitted()
        return np.asarray(self._z, dtype=float)

    def summary(self) -> pd.DataFrame:
        """Base parameters (at the reference customer) and effects, with 95% intervals.

        Base parameters are on their own scale (interval ``exp(log +/- 1.96 se)``);
        effects are the ``gamma`` coefficients, with ``exp(gamma)`` the multiplier of
        the process's mean (see the module docstring).
        """
        z = self._theta()
        se = np.sqrt(np.diag(self._cov_log))
        nb = len(self._base_names)
        est = np.concatenate([np.exp(z[:nb]), z[nb:]])
        lower = np.concatenate([np.exp(z[:nb] - _Z95 * se[:nb]), z[nb:] - _Z95 * se[nb:]])
        upper = np.concatenate([np.exp(z[:nb] + _Z95 * se[:nb]), z[nb:] + _Z95 * se[nb:]])
        std = np.concatenate([np.exp(z[:nb]) * se[:nb], se[nb:]])
        return pd.DataFrame(
            {"estimate": est, "std_error": std, "lower_95": lower, "upper_95": upper},
            index=pd.Index(self._param_names, name="parameter"),
        )

    def effects(self) -> pd.DataFrame:
        """Each effect as a ratio to the reference customer, with its 95% interval and words.

        Columns: ``process``, ``term``, ``ratio`` (``exp(gamma)``), ``lower_95``,
        ``upper_95`` and ``text``, e.g. "channel=referral: buy 1.40x as often
        (1.20-1.60) as channel=cold".
        """
        z = self._theta()
        se = np.sqrt(np.diag(self._cov_log))
        nb = len(self._base_names)
        rows = []
        for i, name in enumerate(self._param_names[nb:], start=nb):
            process, term = name.split(": ", 1)
            ratio = float(np.exp(z[i]))
            lo, hi = float(np.exp(z[i] - _Z95 * se[i])), float(np.exp(z[i] + _Z95 * se[i]))
            rows.append(
                {
                    "process": process,
                    "term": term,
                    "ratio": ratio,
                    "lower_95": lo,
                    "upper_95": hi,
                    "text": self._words(process, term, ratio, lo, hi),
                }
            )
        return pd.DataFrame(rows)

    def _words(self, process: str, term: str, ratio: float, lo: float, hi: float) -> str:
        col, _, _ = term.partition("=")
        if col in self.design_.levels:
            who, ref = f"{term}", f"{col}={self.design_.levels[col][0]}"
        else:
            who, ref = f"each 1 more {col}", ""
        if process == "dropout":
            if hi < 1.0:
                what = f"drop out {1 - ratio:.0%} less ({1 - hi:.0%}-{1 - lo:.0%})"
            elif lo > 1.0:
                what = f"drop out {ratio - 1:.0%} more ({lo - 1:.0%}-{hi - 1:.0%})"
            else:
                same = f" as {ref}" if ref else ""
                return (
                    f"{who}: drop out about as often{same} "
                    f"({ratio:.2f}x, {lo:.2f}-{hi:.2f}: no clear difference)"
                )
            return f"{who}: {what}" + (f" than {ref}" if ref else "")
        verb, tail = (
            ("buy", "as often") if process == "purchase" else ("spend", "as much per purchase")
        )
        return f"{who}: {verb} {ratio:.2f}x {tail} ({lo:.2f}-{hi:.2f})" + (
            f" as {ref}" if ref else ""
        )

    def _split(self, z: FloatArray) -> tuple[FloatArray, list[FloatArray]]:
        nb = len(self._base_names)
        k = len(self.design_.terms)
        return z[:nb], [z[nb + i * k : nb + (i + 1) * k] for i in range(len(self._processes))]


class _BaseParameters:
    """The base-parameter rows of a covariate model's summary, for the parameter checks."""

    def __init__(self, model: _CovariateModel) -> None:
        self.penalizer = model.penalizer
        self._summary = model.summary().iloc[: len(model._base_names)]

    def summary(self) -> pd.DataFrame:
        return self._summary


# -- BG/NBD and MBG/NBD -------------------------------------------------------------------
@dataclass
class _BGStats:
    x: FloatArray
    t_x: FloatArray
    big_t: FloatArray
    w: FloatArray
    z: FloatArray


def _bg_rows(
    r: float,
    alpha: FloatArray,
    a: float,
    b: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    big_t: FloatArray,
    mod: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per-row BG/NBD (MBG/NBD with ``mod=1``) log-likelihood and its partial derivatives.

    Returns ``ll`` and the derivatives with respect to ``r``, ``alpha_i``, ``a`` and
    ``b_i`` (FHL 2005 eq. 6 with per-customer ``alpha`` and ``b``).
    """
    rx = r + x
    log_at = np.log(alpha + big_t)
    log_atx = np.log(alpha + t_x)
    has_dead = (x + mod) >= 1
    bx = b + x + mod
    alive = betaln(a, bx) - betaln(a, b) - rx * log_at
    denom = np.where(has_dead, b + x - 1.0 + mod, 1.0)
    d = np.where(has_dead, np.log(a) - np.log(denom) + rx * (log_at - log_atx), -np.inf)
    e = np.exp(-np.abs(d))
    softplus = np.maximum(d, 0.0) + np.log1p(e)
    q = np.where(d >= 0, 1.0, e) / (1.0 + e)
    q = np.where(has_dead, q, 0.0)
    ll = gammaln(rx) - gammaln(r) + r * np.log(alpha) + alive + softplus
    g_r = digamma(rx) - digamma(r) + np.log(alpha) - log_at + q * (log_at - log_atx)
    g_alpha = (
        r / alpha - rx / (alpha + big_t) + q * rx * (1.0 / (alpha + big_t) - 1.0 / (alpha + t_x))
    )
    psi_ab = digamma(a + b)
    psi_top = digamma(a + bx)
    g_a = psi_ab - psi_top + q / a
    g_b = digamma(bx) - psi_top - digamma(b) + psi_ab - q / denom
    return ll, g_r, g_alpha, g_a, g_b


class BetaGeoCovariateModel(_CovariateModel, TransactionModel):
    """BG/NBD (or MBG/NBD) with time-invariant covariates on purchase and dropout.

    Parameters
    ----------
    covariates : sequence of str
        Columns of the data that hold each customer's covariates (categorical columns
        are dummy-coded, numeric ones enter per unit).  They act on both processes.
    reference : mapping, optional
        Reference level per categorical column (default: its most common level).
    modified : bool, default False
        Use the MBG/NBD (dropout also possible at the first purchase).
    penalizer, max_iter
        As for :class:`~regulars.models.BetaGeoModel`.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``a``, ``b`` of a reference customer (all covariates 0).
    coef_ : dict
        ``"purchase: <term>"`` and ``"dropout: <term>"`` coefficients ``gamma``.
    design_ : CovariateDesign
        The terms and the reference levels.

    References
    ----------
    Fader, P. S. and Hardie, B. G. S. (2007). Incorporating time-invariant covariates
    into the Pareto/NBD and BG/NBD models. http://brucehardie.com/notes/019/
    """

    _base_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    _processes: ClassVar[tuple[str, ...]] = ("purchase", "dropout")

    def __init__(
        self,
        *,
        covariates: Sequence[str] = (),
        reference: Mapping[str, str] | None = None,
        modified: bool = False,
        penalizer: float = 0.0,
        max_iter: int = 2000,
    ) -> None:
        super().__init__(
            covariates=covariates, reference=reference, penalizer=penalizer, max_iter=max_iter
        )
        self.modified = modified

    def _plain(self) -> BaseModel:
        cls = ModifiedBetaGeoModel if self.modified else BetaGeoModel
        return cls(penalizer=self.penalizer)

    def _read_stats(self, data: TableLike, caller: str) -> Columns:
        return self._read(data, caller, weighted=True)

    def _make_stats(self, cols: Columns, design: FloatArray) -> Any:  # type: ignore[override]
        if np.unique(design, axis=0).shape[0] <= _MAX_PATTERNS:
            return _pattern_stats(self, cols, design)  # categorical covariates: fast path
        return _BGStats(cols["frequency"], cols["recency"], cols["T"], cols.weight, design)

    def _row_params(self, z: FloatArray, design: FloatArray) -> tuple[Any, ...]:
        base, (g_p, g_d) = self._split(z)
        r, alpha, a, b = np.exp(base)
        return r, alpha * np.exp(-design @ g_p), a, b * np.exp(-design @ g_d)

    def _log_likelihood(self, z: NDArray[Any], stats: Any) -> tuple[float, FloatArray]:
        z = np.asarray(z, dtype=float)
        if isinstance(stats, _PatternStats):
            return _pattern_log_likelihood(self, z, stats)
        r, alpha_i, a, b_i = self._row_params(z, stats.z)
        mod = 1.0 if self.modified else 0.0
        ll, g_r, g_al, g_a, g_b = _bg_rows(r, alpha_i, a, b_i, stats.x, stats.t_x, stats.big_t, mod)
        w = stats.w
        d_log_alpha = w * g_al * alpha_i
        d_log_b = w * g_b * b_i
        grad = np.concatenate(
            [
                [dot(w, g_r) * r, d_log_alpha.sum(), dot(w, g_a) * a, d_log_b.sum()],
                -(d_log_alpha @ stats.z),
                -(d_log_b @ stats.z),
            ]
        )
        return float(dot(w, ll)), grad

    # -- predictions --------------------------------------------------------------------
    def _rows(self, data: TableLike, caller: str) -> tuple[FloatArray, ...]:
        x, t_x, big_t = self._rfm(data, caller)
        design = self._read_design(data, f"{type(self).__name__}.{caller}", fitting=False)
        return x, t_x, big_t, design

    def probability_alive(self, data: TableLike, /) -> FloatArray:
        """P(alive) at ``T`` for each row (RFM and covariate columns)."""
        x, t_x, big_t, design = self._rows(data, "probability_alive")
        plain = self._plain()
        theta = self._row_params(self._theta(), design)
        alive = plain._p_alive(theta, x, t_x, big_t)  # type: ignore[attr-defined]
        return np.clip(alive, 0.0, 1.0)

    def expected_purchases(self, data: TableLike, /, *, t: Any) -> FloatArray:
        """Expected purchases in the next ``t`` time units for each row."""
        x, t_x, big_t, design = self._rows(data, "expected_purchases")
        horizon = np.broadcast_to(as_time(t), x.shape)
        r, alpha_i, a, b_i = self._row_params(self._theta(), design)
        plain = self._plain()
        out = np.empty(x.shape[0])
        for s in range(0, x.shape[0], _CHUNK):
            sl = slice(s, s + _CHUNK)
            theta = (r, alpha_i[sl], a, b_i[sl])
            out[sl] = plain._expected(theta, x[sl], t_x[sl], big_t[sl], horizon[sl])  # type: ignore[attr-defined]
        return np.maximum(out, 0.0)


# -- Pareto/NBD ---------------------------------------------------------------------------
@dataclass
class _PatternStats:
    patterns: FloatArray  # distinct covariate rows
    stats: list[Any]  # the plain model's statistics of each pattern's customers


#: Up to this many distinct covariate rows, the BG/NBD likelihood runs once per pattern.
_MAX_PATTERNS = 256


def _pattern_stats(model: _CovariateModel, cols: Columns, design: FloatArray) -> _PatternStats:
    patterns, codes = np.unique(design, axis=0, return_inverse=True)
    codes = codes.ravel()
    plain = model._plain()
    stats = []
    for g in range(patterns.shape[0]):
        keep = codes == g
        sub = Columns({k: v[keep] for k, v in cols.arrays.items()}, cols.weight[keep], "sub")
        stats.append(plain._make_stats(sub))  # type: ignore[attr-defined]
    return _PatternStats(patterns, stats)


def _pattern_log_likelihood(
    model: _CovariateModel, z: FloatArray, stats: _PatternStats
) -> tuple[float, FloatArray]:
    """The plain model's likelihood per covariate pattern, its parameters 1 and 3 scaled.

    Pattern ``g`` has log-parameters ``(z0, z1 - z_g' gamma_p, z2, z3 - z_g' gamma_d)``;
    the gradient follows by the chain rule.
    """
    base, (g_p, g_d) = model._split(z)
    plain = model._plain()
    total = 0.0
    grad = np.zeros(z.shape[0])
    k = g_p.shape[0]
    for zrow, st in zip(stats.patterns, stats.stats, strict=True):
        zg = base.copy()
        zg[1] -= zrow @ g_p
        zg[3] -= zrow @ g_d
        ll, g = plain._log_likelihood(zg, st)
        total += ll
        grad[:4] += g
        grad[4 : 4 + k] -= g[1] * zrow
        grad[4 + k :] -= g[3] * zrow
    return total, grad


class ParetoNBDCovariateModel(_CovariateModel, TransactionModel):
    """Pareto/NBD with time-invariant covariates (CLVTools' parameterisation).

    ``alpha_i = alpha exp(-gamma_p' z)`` and ``beta_i = beta exp(-gamma_d' z)``.  The
    likelihood is the plain model's, evaluated once per distinct covariate pattern, so
    it is fast for categorical covariates (channel, segment); a numeric covariate with
    many distinct values makes a fit slow (bin it first).  Parameters as for
    :class:`BetaGeoCovariateModel`.

    References
    ----------
    Fader, P. S. and Hardie, B. G. S. (2007). Incorporating time-invariant covariates
    into the Pareto/NBD and BG/NBD models. http://brucehardie.com/notes/019/
    """

    _base_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    _processes: ClassVar[tuple[str, ...]] = ("purchase", "dropout")

    def _plain(self) -> BaseModel:
        return ParetoNBDModel(penalizer=self.penalizer)

    def _read_stats(self, data: TableLike, caller: str) -> Columns:
        return self._read(data, caller, weighted=True)

    def _make_stats(self, cols: Columns, design: FloatArray) -> _PatternStats:  # type: ignore[override]
        return _pattern_stats(self, cols, design)

    def _log_likelihood(self, z: NDArray[Any], stats: _PatternStats) -> tuple[float, FloatArray]:
        return _pattern_log_likelihood(self, np.asarray(z, dtype=float), stats)

    def _theta_rows(self, design: FloatArray) -> tuple[FloatArray, NDArray[np.intp], FloatArray]:
        base, (g_p, g_d) = self._split(self._theta())
        patterns, codes = np.unique(design, axis=0, return_inverse=True)
        thetas = np.tile(np.exp(base), (patterns.shape[0], 1))
        thetas[:, 1] *= np.exp(-patterns @ g_p)
        thetas[:, 3] *= np.exp(-patterns @ g_d)
        return patterns, codes.ravel().astype(np.intp), thetas

    def probability_alive(self, data: TableLike, /) -> FloatArray:
        """P(alive) at ``T`` for each row (RFM and covariate columns)."""
        x, t_x, big_t = self._rfm(data, "probability_alive")
        design = self._read_design(data, "probability_alive", fitting=False)
        _, codes, thetas = self._theta_rows(design)
        plain = self._plain()
        out = np.empty(x.shape[0])
        for g, theta in enumerate(thetas):
            m = codes == g
            out[m] = plain._p_alive(theta, x[m], t_x[m], big_t[m])  # type: ignore[attr-defined]
        return np.clip(out, 0.0, 1.0)

    def expected_purchases(self, data: TableLike, /, *, t: Any) -> FloatArray:
        """Expected purchases in the next ``t`` time units for each row."""
        x, t_x, big_t = self._rfm(data, "expected_purchases")
        design = self._read_design(data, "expected_purchases", fitting=False)
        horizon = np.broadcast_to(as_time(t), x.shape)
        _, codes, thetas = self._theta_rows(design)
        plain = self._plain()
        out = np.empty(x.shape[0])
        for g, theta in enumerate(thetas):
            m = codes == g
            out[m] = plain._expected(theta, x[m], t_x[m], big_t[m], horizon[m])  # type: ignore[attr-defined]
        return np.maximum(out, 0.0)


# -- Gamma-Gamma --------------------------------------------------------------------------
@dataclass
class _GGStats:
    x: FloatArray
    m: FloatArray
    w: FloatArray
    z: FloatArray


class GammaGammaCovariateModel(_CovariateModel):
    """Gamma-Gamma spend model with covariates: ``v_i = v exp(gamma_s' z)``.

    The mean spend per purchase of a customer is ``exp(gamma_s' z)`` times the
    reference customer's.  Fitted on the repeat buyers (``frequency >= 1``), like
    :class:`~regulars.models.GammaGammaModel`; parameters as for
    :class:`BetaGeoCovariateModel`.
    """

    _base_names: ClassVar[tuple[str, ...]] = ("p", "q", "v")
    _processes: ClassVar[tuple[str, ...]] = ("spend",)

    def _plain(self) -> BaseModel:
        return _PlainGammaGamma(penalizer=self.penalizer)

    def _read_stats(self, data: TableLike, caller: str) -> Columns:
        gg = GammaGammaModel()
        cols = gg._read(data, caller, weighted=True)
        return cols

    def fit(self, data: TableLike, /) -> Self:
        caller = f"{type(self).__name__}.fit"
        if type(data).__module__.split(".")[0] == "ibis":
            data = data.to_pyarrow()
        cols = read_columns(data, ("frequency",), caller=caller)
        if not (cols["frequency"] >= 1).any():
            raise SchemaError(
                f"The data passed to {caller} has no customer with frequency >= 1 (repeat buyers)."
            )
        return super().fit(data)

    def _make_stats(self, cols: Columns, design: FloatArray) -> _GGStats:
        keep = cols["frequency"] >= 1
        return _GGStats(
            cols["frequency"][keep], cols["monetary_value"][keep], cols.weight[keep], design[keep]
        )

    def _log_likelihood(self, z: NDArray[Any], stats: _GGStats) -> tuple[float, FloatArray]:
        z = np.asarray(z, dtype=float)
        base, (g_s,) = self._split(z)
        p, q, v = np.exp(base)
        v_i = v * np.exp(stats.z @ g_s)
        x, m, w = stats.x, stats.m, stats.w
        px = p * x
        log_vxm = np.log(v_i + x * m)
        ll = (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(v_i)
            + (px - 1.0) * np.log(m)
            + px * np.log(x)
            - (px + q) * log_vxm
        )
        psi = digamma(px + q)
        d_p = x * (psi - digamma(px) + np.log(m) + np.log(x) - log_vxm)
        d_q = psi - digamma(q) + np.log(v_i) - log_vxm
        d_logv = w * (q - (px + q) * v_i / (v_i + x * m))
        grad = np.concatenate([[dot(w, d_p) * p, dot(w, d_q) * q, d_logv.sum()], d_logv @ stats.z])
        return float(dot(w, ll)), grad

    def expected_spend(self, data: TableLike, /) -> FloatArray:
        """Conditional expected spend per purchase, ``p (v_i + x m) / (p x + q - 1)``."""
        self._check_fitted()
        caller = f"{type(self).__name__}.expected_spend"
        cols = GammaGammaModel()._read(data, caller, weighted=False)
        design = self._read_design(data, caller, fitting=False)
        base, (g_s,) = self._split(self._theta())
        p, q, v = np.exp(base)
        v_i = v * np.exp(design @ g_s)
        x, m = cols["frequency"], cols["monetary_value"]
        denom = p * x + q - 1.0
        if np.any(denom <= 0):
            raise SchemaError(
                f"{caller}: with q = {q:.4g} the model's mean spend is infinite for customers "
                "without repeat purchases; refit with penalizer=0.01."
            )
        return np.asarray(p * (v_i + np.where(x >= 1, x * m, 0.0)) / denom)


class _PlainGammaGamma(GammaGammaModel):
    """The plain Gamma-Gamma fit on already compressed columns (the covariate fit's start)."""

    def _make_stats(self, cols: Columns) -> Any:
        keep = cols["frequency"] >= 1
        x, m, w = cols["frequency"][keep], cols["monetary_value"][keep], cols.weight[keep]
        stats = _GGStats(x, m, w, np.zeros((x.shape[0], 0)))
        return stats

    def _log_likelihood(self, z: NDArray[Any], stats: Any) -> tuple[float, FloatArray]:
        model = GammaGammaCovariateModel.__new__(GammaGammaCovariateModel)
        model.design_ = CovariateDesign((), (), {})
        return GammaGammaCovariateModel._log_likelihood(model, z, stats)

    def _starting_points(self, stats: Any) -> list[FloatArray]:
        mean = float(np.average(stats.m, weights=stats.w))
        return [np.log([2.0, 2.0, mean]), np.log([1.0, 1.0, 1.0]), np.log([6.0, 4.0, mean / 2.0])]
