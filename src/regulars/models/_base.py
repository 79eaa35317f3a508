"""Shared machinery of the customer models: input, compression, optimisation, summary.

A model file holds its likelihood and its predictions; everything else lives here:

* :func:`read_columns` turns a pandas, polars or pyarrow table, an Ibis table or a
  mapping of column name to array into float arrays, with errors that list the columns
  that exist.  For fitting it *compresses* the rows to distinct sufficient-statistic
  tuples with a ``weight`` (the number of identical customers); an Ibis table is
  grouped inside its engine, so only the distinct tuples leave it, as Arrow.
* :func:`check_values` raises :class:`~regulars.errors.SchemaError` with the number of
  offending customers and one example.
* :class:`BaseModel` fits by maximum likelihood over log-parameters (L-BFGS-B with the
  model's gradient, then Newton steps on a numerical Hessian), computes standard errors
  by the delta method, and provides ``summary()``, ``__repr__`` and the fitted check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from regulars.errors import ConvergenceError, NotFittedError, SchemaError
from regulars.models._diagnostics import Diagnostics, parameter_checks

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "BaseModel",
    "Columns",
    "NoInformationError",
    "TableLike",
    "as_time",
    "check_values",
    "complex_step_gradient",
    "compress",
    "distinct",
    "read_columns",
    "scalar_or_array",
]

#: Anything a model accepts as data: a pandas or polars DataFrame, a pyarrow Table, an
#: Ibis table, or a mapping of column name to array-like (or scalar).
TableLike = Any
FloatArray = NDArray[np.float64]

#: Log-parameters are kept in [-LOG_BOUND, LOG_BOUND], i.e. parameters in [1e-9, 1e9].
LOG_BOUND = float(np.log(1e9))
_Z95 = 1.959963984540054
#: BFGS's gradient tolerance from a warm start (see ``BaseModel._minimize``).
WARM_GTOL = 1e-7


class NoInformationError(ConvergenceError):
    """The data carry no information about the parameters (no regularised retry helps)."""


@dataclass
class Columns:
    """Float columns read from the data (``source`` names the input kind), and weights."""

    arrays: dict[str, FloatArray]
    weight: FloatArray
    source: str

    def __getitem__(self, name: str) -> FloatArray:
        return self.arrays[name]

    @property
    def size(self) -> int:
        return int(self.weight.shape[0])


def _kind(data: Any) -> str:
    module = type(data).__module__.split(".")[0]
    if isinstance(data, pd.DataFrame):
        return "pandas"
    if module in ("polars", "pyarrow", "ibis"):
        return module
    if isinstance(data, Mapping):
        return "mapping"
    return "unknown"


def _column_names(data: Any, kind: str) -> list[str]:
    if kind == "pandas":
        return [str(c) for c in data.columns]
    if kind == "polars":
        return list(data.columns)
    if kind == "pyarrow":
        return list(data.column_names)
    if kind == "ibis":
        return list(data.columns)
    return [str(k) for k in data]


def _missing_error(
    caller: str, missing: str, existing: Sequence[str], needed: Sequence[str]
) -> SchemaError:
    shown = ", ".join(repr(c) for c in existing) if existing else "(none)"
    return SchemaError(
        f"Column {missing!r} not found in the data passed to {caller}. "
        f"Existing columns: {shown}. {caller} needs {', '.join(map(repr, needed))}; "
        "rename the columns of your table to these names (for example "
        f"df.rename(columns={{'your_name': {missing!r}}}))."
    )


def _as_float(values: Any, name: str, caller: str) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise SchemaError(
            f"Column {name!r} passed to {caller} is not numeric (received values of type "
            f"{type(values).__name__}). Convert it to numbers first."
        ) from None
    arr = np.atleast_1d(arr)
    if arr.ndim != 1:
        raise SchemaError(f"Column {name!r} passed to {caller} must be one-dimensional.")
    return np.ascontiguousarray(arr)


def _arrow_to_arrays(table: pa.Table, names: Sequence[str], caller: str) -> dict[str, FloatArray]:
    import pyarrow.compute as pc

    out: dict[str, FloatArray] = {}
    for name in names:
        col = table.column(name)
        try:
            col = pc.cast(col, "float64")
        except Exception:  # pyarrow raises ArrowInvalid / ArrowNotImplementedError
            raise SchemaError(
                f"Column {name!r} passed to {caller} is not numeric "
                f"(type {table.schema.field(name).type}). Convert it to numbers first."
            ) from None
        out[name] = np.ascontiguousarray(col.to_numpy(zero_copy_only=False), dtype=float)
    return out


def _pandas_column(data: pd.DataFrame, name: str, caller: str) -> FloatArray:
    try:
        values = data[name].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise SchemaError(
            f"Column {name!r} passed to {caller} is not numeric (dtype {data[name].dtype}). "
            "Convert it to numbers first."
        ) from None
    return _as_float(values, name, caller)


def _read_plain(data: Any, kind: str, names: Sequence[str], caller: str) -> dict[str, FloatArray]:
    if kind == "pandas":
        return {n: _pandas_column(data, n, caller) for n in names}
    if kind == "polars":
        return {n: _as_float(data.get_column(n).cast(float).to_numpy(), n, caller) for n in names}
    if kind == "pyarrow":
        return _arrow_to_arrays(data, names, caller)
    if kind == "ibis":
        return _arrow_to_arrays(data.select(*names).to_pyarrow(), names, caller)
    arrays = {n: _as_float(data[n], n, caller) for n in names}
    lengths = {a.shape[0] for a in arrays.values()}
    if len(lengths) > 1:
        n = max(lengths)
        arrays = {
            k: np.broadcast_to(v, (n,)).copy() if v.shape[0] == 1 else v for k, v in arrays.items()
        }
        if len({a.shape[0] for a in arrays.values()}) > 1:
            raise SchemaError(
                f"The columns passed to {caller} have different lengths: {sorted(lengths)}."
            )
    return arrays


def _read_ibis_grouped(data: Any, names: Sequence[str], has_weight: bool, caller: str) -> Columns:
    """Group an Ibis table by ``names`` inside its engine; pull only the distinct rows."""
    weight = data["weight"].cast("float64").sum() if has_weight else data.count().cast("float64")
    grouped = data.group_by(list(names)).aggregate(weight=weight)
    arrays = _arrow_to_arrays(grouped.to_pyarrow(), [*names, "weight"], caller)
    return Columns(arrays, arrays.pop("weight"), "ibis")


def _check_finite(cols: Columns, caller: str) -> None:
    for name, arr in {**cols.arrays, "weight": cols.weight}.items():
        bad = ~np.isfinite(arr)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            where = f"row {first}" if cols.source != "ibis" else "a group"
            raise SchemaError(
                f"Column {name!r} passed to {caller} has {int(bad.sum()):,} missing or non-finite "
                f"values (e.g. {where}: {arr[first]!r}). Fill or drop these rows first."
            )


def compress(cols: Columns) -> Columns:
    """Distinct rows with summed weights, sorted so that results do not depend on row order.

    Rows with weight 0 are dropped.  One lexicographic sort of the columns, then the
    weights are summed over each run of equal rows.
    """
    names = list(cols.arrays)
    keep = cols.weight > 0
    arrays = [cols.arrays[n][keep] for n in names]
    weight = cols.weight[keep]
    if weight.size == 0:
        return Columns({n: a for n, a in zip(names, arrays, strict=True)}, weight, cols.source)
    order = np.lexsort(arrays[::-1])  # the first column is the primary key
    arrays = [a[order] for a in arrays]
    new = np.zeros(weight.size, dtype=bool)
    new[0] = True
    for a in arrays:
        new[1:] |= a[1:] != a[:-1]
    starts = np.flatnonzero(new)
    summed = np.add.reduceat(weight[order], starts)
    return Columns({n: a[starts] for n, a in zip(names, arrays, strict=True)}, summed, cols.source)


def distinct(*arrays: FloatArray) -> tuple[NDArray[np.intp], list[FloatArray]]:
    """Codes and distinct values of the rows of ``arrays`` (for scoring each tuple once)."""
    frame = pd.DataFrame({str(i): a for i, a in enumerate(arrays)})
    codes = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy().astype(np.intp)
    first = np.zeros(int(codes.max()) + 1 if codes.size else 0, dtype=np.intp)
    first[codes[::-1]] = np.arange(codes.size - 1, -1, -1)
    return codes, [a[first] for a in arrays]


def read_columns(
    data: TableLike, names: Sequence[str], *, caller: str, weighted: bool = False
) -> Columns:
    """Read the float columns ``names`` from ``data``; with ``weighted`` also ``weight``.

    The rows stay aligned with the input, except for an Ibis table read with
    ``weighted=True``: it is grouped by ``names`` inside its engine and only the
    distinct rows, with their summed ``weight`` (or row count), leave the engine.
    Without a ``weight`` column every row weighs 1.  Values must be finite; the
    model-specific rules are checked by the caller.
    """
    kind = _kind(data)
    if kind == "unknown":
        raise SchemaError(
            f"{caller} cannot read a {type(data).__name__}. Pass a pandas or polars DataFrame, a "
            "pyarrow Table, an Ibis table or a dict of column name to array."
        )
    existing = _column_names(data, kind)
    for name in names:
        if name not in existing:
            raise _missing_error(caller, name, existing, names)
    has_weight = weighted and "weight" in existing
    if weighted and kind == "ibis":
        cols = _read_ibis_grouped(data, names, has_weight, caller)
    else:
        wanted = [*names, "weight"] if has_weight else list(names)
        arrays = _read_plain(data, kind, wanted, caller)
        n = next(iter(arrays.values())).shape[0]
        weight = arrays.pop("weight") if has_weight else np.ones(n)
        cols = Columns(arrays, weight, kind)
    _check_finite(cols, caller)
    if weighted:
        check_values(
            cols,
            cols.weight < 0,
            "have a negative weight",
            "weight counts identical customers.",
            caller,
            ["weight"],
        )
        if not cols.weight.sum() > 0:
            raise SchemaError(
                f"The data passed to {caller} has no customers (no rows, or all weights are 0)."
            )
    return cols


def check_values(
    cols: Columns,
    bad: NDArray[np.bool_],
    what: str,
    fix: str,
    caller: str,
    show: Sequence[str],
) -> None:
    """Raise :class:`SchemaError` if any row is ``bad``: count, one example and the fix."""
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    count = float(cols.weight[bad].sum()) if cols.source == "ibis" else float(bad.sum())
    values = {**cols.arrays, "weight": cols.weight}
    example = ", ".join(f"{n}={values[n][first]:g}" for n in show)
    where = "" if cols.source == "ibis" else f"row {first}: "
    noun = "customer" if count == 1 else "customers"
    raise SchemaError(
        f"{count:,.0f} {noun} in the data passed to {caller} {what} (e.g. {where}{example}). {fix}"
    )


def as_time(t: Any, name: str = "t", *, integer: bool = False) -> FloatArray:
    """``t`` as a float array of finite values >= 0 (whole numbers if ``integer``)."""
    try:
        arr = np.asarray(t, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a number or an array of numbers >= 0. Got {t!r}."
        ) from None
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0. Got {t!r}.")
    if integer and np.any(arr != np.floor(arr)):
        raise ValueError(f"{name} must be whole numbers (it counts periods). Got {t!r}.")
    return arr


def scalar_or_array(values: FloatArray, *inputs: Any) -> Any:
    """A float when every input was a scalar, else the array."""
    if all(np.ndim(v) == 0 for v in inputs):
        return float(values)
    return np.asarray(values)


def complex_step_gradient(
    fun: Callable[[NDArray[Any]], Any], z: FloatArray
) -> tuple[float, FloatArray]:
    """Value and gradient of a real-analytic ``fun`` by the complex step (exact to rounding)."""
    h = 1e-30
    grad = np.empty(z.shape[0])
    value = float(np.real(fun(z.astype(complex))))
    for j in range(z.shape[0]):
        zc = z.astype(complex)
        zc[j] += 1j * h
        grad[j] = float(np.imag(fun(zc))) / h
    return value, grad


class BaseModel:
    """Maximum-likelihood fitting shared by the customer models.

    Subclasses set ``_param_names`` and implement ``_read_fit`` (data to sufficient
    statistics), ``_log_likelihood`` (total log-likelihood and its gradient with respect
    to the log-parameters) and ``_starting_points``.

    Parameters
    ----------
    penalizer : float, default 0.0
        Adds ``penalizer * sum(log(param) ** 2)`` to the mean negative log-likelihood,
        shrinking the parameters towards 1.  Use a small value (0.001 to 0.1) when the
        fit does not converge because a parameter runs off to 0 or infinity.
    initial_params : mapping, optional
        Starting values tried first (all parameters, each > 0).
    max_iter : int, default 2000
        Iterations of the quasi-Newton optimizer per starting point.
    """

    _param_names: ClassVar[tuple[str, ...]] = ()
    #: log-likelihoods of the objective's last evaluations, by log-parameters (fit only)
    _recent_ll: dict[bytes, float]

    def __init__(
        self,
        *,
        penalizer: float = 0.0,
        initial_params: Mapping[str, float] | None = None,
        max_iter: int = 2000,
    ) -> None:
        self.penalizer = penalizer
        self.initial_params = initial_params
        self.max_iter = max_iter

    # -- to implement -------------------------------------------------------------
    def _log_likelihood(self, z: NDArray[Any], stats: Any) -> tuple[float, FloatArray]:
        """Total log-likelihood and its gradient in the log-parameters ``z``."""
        raise NotImplementedError

    def _starting_points(self, stats: Any) -> list[FloatArray]:
        raise NotImplementedError

    # -- fitting ------------------------------------------------------------------
    def _check_hyper_parameters(self) -> None:
        name = type(self).__name__
        pen = self.penalizer
        if (
            isinstance(pen, bool)
            or not isinstance(pen, int | float)
            or not np.isfinite(pen)
            or pen < 0
        ):
            raise ValueError(
                f"The 'penalizer' parameter of {name} must be a number >= 0. Got {pen!r} instead."
            )
        it = self.max_iter
        if isinstance(it, bool) or not isinstance(it, int) or it < 1:
            raise ValueError(
                f"The 'max_iter' parameter of {name} must be an int >= 1. Got {it!r} instead."
            )
        if self.initial_params is not None:
            keys = set(self.initial_params)
            if keys != set(self._param_names) or not all(
                np.isfinite(float(v)) and float(v) > 0 for v in self.initial_params.values()
            ):
                raise ValueError(
                    f"The 'initial_params' parameter of {name} must give a positive value for each "
                    f"of {', '.join(self._param_names)}. Got {dict(self.initial_params)!r} instead."
                )

    def _objective(
        self, stats: Any, n_customers: float
    ) -> Callable[[FloatArray], tuple[float, FloatArray]]:
        """The mean negative log-likelihood per customer (plus the penalty), and its gradient."""
        pen = float(self.penalizer)
        recent: dict[bytes, float] = {}
        self._recent_ll = recent

        def objective(z: FloatArray) -> tuple[float, FloatArray]:
            ll, grad = self._log_likelihood(z, stats)
            if len(recent) >= 32:
                recent.clear()
            recent[np.asarray(z, dtype=float).tobytes()] = float(ll)
            return -ll / n_customers + pen * float(z @ z), -grad / n_customers + 2.0 * pen * z

        return objective

    def _final_log_likelihood(self, z: FloatArray, stats: Any) -> float:
        """The log-likelihood at ``z``: from the objective's last evaluations when it was
        evaluated there (the optimum always is), else computed."""
        known = getattr(self, "_recent_ll", {}).get(np.asarray(z, dtype=float).tobytes())
        if known is not None:
            return float(known)
        ll, _ = self._log_likelihood(z, stats)
        return float(ll)

    def _fit_stats(
        self,
        stats: Any,
        n_customers: float,
        n_distinct: int,
        *,
        warm: tuple[FloatArray, FloatArray] | None = None,
    ) -> Self:
        """Maximise the likelihood of ``stats`` and set the learned attributes.

        ``warm`` is a starting point and the Hessian of the objective there (from a fit
        on a sample of the data, see ``TransactionModel``): BFGS starts from it with
        that curvature and needs a handful of evaluations instead of dozens.  The other
        starting points remain as fallbacks.
        """
        self._check_hyper_parameters()
        objective = self._objective(stats, n_customers)
        starts = self._starting_points(stats)
        if self.initial_params is not None:
            starts.insert(0, np.log([float(self.initial_params[k]) for k in self._param_names]))
        hess_inv0 = None
        if warm is not None:
            starts.insert(0, warm[0])
            hess_inv0 = _positive_inverse(warm[1])
        best, failures = self._minimize(objective, starts, hess_inv0=hess_inv0)
        if best is None:
            raise self._convergence_error(failures)
        z, hess = best
        at_bound = np.abs(z) >= LOG_BOUND - 1e-3
        if at_bound.any():
            edge = ", ".join(
                f"{self._param_names[i]}={np.exp(z[i]):.3g}" for i in np.flatnonzero(at_bound)
            )
            raise ConvergenceError(
                f"{type(self).__name__}.fit: the maximum likelihood is at the edge of the "
                f"parameter space ({edge}), so the data cannot pin these parameters down. Try "
                "penalizer=0.01 (or larger), check that the data have repeat buyers and enough "
                "history, or use a simpler model."
            )
        if not _positive_definite(np.linalg.eigvalsh(hess), 1e-10):
            raise ConvergenceError(
                f"{type(self).__name__}.fit: the likelihood is flat in some direction at "
                f"{self._fmt(z)}, so the data do not identify all the parameters (typically: "
                "no or very few repeat buyers, or too short a history). Try penalizer=0.01, or "
                "check the data."
            )
        ll = self._final_log_likelihood(z, stats)
        self._recent_ll = {}
        self._set_fitted(z, ll, hess * n_customers, n_customers, n_distinct)
        self.diagnostics_: Diagnostics = parameter_checks(self)
        return self

    def _minimize(
        self,
        objective: Callable[[FloatArray], tuple[float, FloatArray]],
        starts: list[FloatArray],
        *,
        hess_inv0: FloatArray | None = None,
    ) -> tuple[tuple[FloatArray, FloatArray] | None, list[str]]:
        """BFGS from each start in turn (the first that converges wins), then Newton polish.

        ``hess_inv0``, if given, is BFGS's initial inverse Hessian for the first start
        (the identity otherwise).  BFGS runs on the unbounded log-parameters; outside
        ``+-LOG_BOUND`` the objective is evaluated at the bound plus a quadratic wall,
        and non-finite values are replaced by a large finite one so that the line
        search backs off.
        """
        from scipy.optimize import minimize  # slow to import; scoring does not need it

        failures: list[str] = []

        def guarded(z: FloatArray) -> tuple[float, FloatArray]:
            inside = np.clip(z, -LOG_BOUND, LOG_BOUND)
            excess = z - inside
            with np.errstate(all="ignore"):
                f, g = objective(inside)
            if not (np.isfinite(f) and np.all(np.isfinite(g))):
                return 1e10 + float(excess @ excess), 2.0 * excess
            return f + float(excess @ excess), np.where(excess != 0, 2.0 * excess, g)

        if hess_inv0 is not None and starts:
            # A warm start is already close and its curvature is the sample's: Newton
            # steps on that curvature go straight to the maximum, without BFGS's line
            # searches (BFGS remains the fallback).
            z0 = np.clip(np.asarray(starts[0], dtype=float), -LOG_BOUND + 1, LOG_BOUND - 1)
            with np.errstate(all="ignore"):
                z, f, hess, gnorm = self._polish(objective, z0, hess_inv0)
            if np.isfinite(f) and gnorm <= 1e-6:
                return (z, hess), failures
        for i, start in enumerate(starts):
            z0 = np.clip(np.asarray(start, dtype=float), -LOG_BOUND + 1, LOG_BOUND - 1)
            options: dict[str, Any] = {"maxiter": self.max_iter, "gtol": 1e-9}
            if i == 0 and hess_inv0 is not None:
                options["hess_inv0"] = hess_inv0
                # From a warm start BFGS only has to come close: the Newton polish
                # below takes the last steps (and accepts a gradient of 1e-6 at most).
                # A likelihood evaluated by quadrature (Pareto/NBD) is not smooth to
                # 1e-9, and BFGS then spent up to ~150 evaluations in line searches.
                options["gtol"] = WARM_GTOL
            try:
                res = minimize(guarded, z0, jac=True, method="BFGS", options=options)
            except (FloatingPointError, ValueError, ArithmeticError) as exc:
                failures.append(f"start {self._fmt(z0)}: {exc}")
                continue
            z = np.clip(res.x, -LOG_BOUND, LOG_BOUND)
            if not (np.isfinite(res.fun) and res.fun < 1e10):
                failures.append(f"start {self._fmt(z0)}: the likelihood became NaN or infinite")
                continue
            z, f, hess, gnorm = self._polish(objective, z, getattr(res, "hess_inv", None))
            if np.isfinite(f) and gnorm <= 1e-6:
                return (z, hess), failures
            failures.append(
                f"start {self._fmt(z0)}: stopped at {self._fmt(z)} with gradient norm "
                f"{gnorm:.2g} ({res.message})"
            )
        return None, failures

    def _polish(
        self,
        objective: Callable[[FloatArray], tuple[float, FloatArray]],
        z: FloatArray,
        hess_inv: FloatArray | None = None,
    ) -> tuple[FloatArray, float, FloatArray, float]:
        """Newton steps to a gradient of 1e-10; returns z, f, Hessian, |grad|.

        The steps use ``hess_inv`` (BFGS's inverse Hessian, which is close at its last
        point) while it keeps lowering the objective, and a central-difference Hessian
        otherwise.  The Hessian returned (for the standard errors) is computed once, at
        the end, unless the last one computed is within 1e-6 of the final point.
        """
        f, g = objective(z)
        hess: FloatArray | None = None
        hess_at = z
        inverse = None
        if hess_inv is not None and _positive_inverse(hess_inv) is not None:
            inverse = np.asarray(hess_inv, dtype=float)
        for step in range(14):
            if float(np.max(np.abs(g))) <= 1e-10:
                break
            if step == 6:
                inverse = None  # still not there: the approximate curvature is too rough
            if inverse is None:
                hess, hess_at = _hessian(objective, z), z
                try:
                    chol = np.linalg.cholesky(hess)
                except np.linalg.LinAlgError:
                    break
                delta = -np.linalg.solve(chol.T, np.linalg.solve(chol, g))
            else:
                delta = -inverse @ g
            improved = False
            for scale in (1.0, 0.5, 0.25, 0.1):
                zn = np.clip(z + scale * delta, -LOG_BOUND, LOG_BOUND)
                fn, gn = objective(zn)
                if np.isfinite(fn) and (fn < f or np.max(np.abs(gn)) < np.max(np.abs(g))):
                    if inverse is not None:
                        inverse = _bfgs_update(inverse, zn - z, gn - g)
                    z, f, g, improved = zn, fn, gn, True
                    break
            if not improved:
                if inverse is None:
                    break
                inverse = None  # the approximate curvature failed: use the exact one
                continue
            if scale < 1.0:
                inverse = None
            if hess is not None and float(np.max(np.abs(scale * delta))) < 1e-6:
                break  # the Hessian barely moved: keep it for the standard errors
        if hess is None or float(np.max(np.abs(z - hess_at))) > 1e-6:
            hess = _hessian(objective, z)
        return z, f, hess, float(np.max(np.abs(g)))

    def _fmt(self, z: FloatArray) -> str:
        return (
            "("
            + ", ".join(f"{n}={np.exp(v):.4g}" for n, v in zip(self._param_names, z, strict=True))
            + ")"
        )

    def _convergence_error(self, failures: list[str]) -> ConvergenceError:
        detail = "; ".join(failures[:3])
        return ConvergenceError(
            f"{type(self).__name__}.fit did not converge from any starting point ({detail}). "
            "Try penalizer=0.01, pass initial_params= close to values you expect, or check the "
            "data (time units, recency <= T, enough repeat buyers)."
        )

    def _set_fitted(
        self, z: FloatArray, ll: float, hess_total: FloatArray, n: float, n_distinct: int
    ) -> None:
        theta = np.exp(z)
        self.params_: dict[str, float] = {
            k: float(v) for k, v in zip(self._param_names, theta, strict=True)
        }
        self.log_likelihood_: float = float(ll)
        self.n_customers_: float = float(n)
        self.n_distinct_: int = int(n_distinct)
        cov_log: FloatArray = np.full(hess_total.shape, np.nan)
        try:
            inverse = np.linalg.inv(hess_total)
            if np.all(np.diag(inverse) > 0):
                cov_log = np.asarray(inverse, dtype=float)
        except np.linalg.LinAlgError:
            pass
        self._cov_log = cov_log
        jac = np.diag(theta)
        self.variance_matrix_: FloatArray = jac @ cov_log @ jac

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            name = type(self).__name__
            raise NotFittedError(
                f"This {name} is not fitted yet. Call fit(data) first, e.g. {name}().fit(rfm)."
            )

    def _theta(self) -> FloatArray:
        self._check_fitted()
        return np.array([self.params_[k] for k in self._param_names])

    # -- reporting ----------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        """Estimates, standard errors and 95% confidence intervals of the parameters.

        The standard errors come from the inverse Hessian of the negative
        log-likelihood in the log-parameters, mapped to the parameters by the delta
        method (``se = param * se_log``).  The interval is ``exp(log(param) +/- 1.96
        se_log)``, which stays positive.  NaN means the Hessian was not invertible
        (a parameter is not identified by the data).
        """
        theta = self._theta()
        se_log = np.sqrt(np.diag(self._cov_log))
        return pd.DataFrame(
            {
                "estimate": theta,
                "std_error": theta * se_log,
                "lower_95": np.exp(np.log(theta) - _Z95 * se_log),
                "upper_95": np.exp(np.log(theta) + _Z95 * se_log),
            },
            index=pd.Index(self._param_names, name="parameter"),
        )

    def __repr__(self) -> str:
        name = f"regulars.models.{type(self).__name__}"
        if not hasattr(self, "params_"):
            return f"<{name}: not fitted, penalizer={self.penalizer!r}>"
        params = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        diag = getattr(self, "diagnostics_", None)
        trust = ""
        if diag is not None and not diag.trustworthy:
            n = len(diag.problems)
            trust = f", NOT TRUSTWORTHY ({n} problem{'s' if n > 1 else ''}, see diagnostics_)"
        return (
            f"<{name}: fitted on {self.n_customers_:,.0f} customers "
            f"({self.n_distinct_:,} distinct), {params}, "
            f"log-likelihood={self.log_likelihood_:,.2f}{trust}>"
        )


def _positive_definite(eigen: NDArray[np.floating[Any]], rtol: float) -> bool:
    """Whether eigenvalues ``eigen`` are finite and all above ``rtol`` times the largest."""
    return bool(np.all(np.isfinite(eigen)) and eigen.min() > rtol * max(eigen.max(), 1e-300))


def _positive_inverse(hess: FloatArray) -> FloatArray | None:
    """The inverse of a symmetric positive definite ``hess``, or None if it is not one."""
    sym = (hess + hess.T) / 2.0
    eigen, vectors = np.linalg.eigh(sym)
    if not _positive_definite(eigen, 1e-8):
        return None
    inv = (vectors / eigen) @ vectors.T
    return np.asarray((inv + inv.T) / 2.0)


def _bfgs_update(inverse: FloatArray, s: FloatArray, y: FloatArray) -> FloatArray:
    """The BFGS update of an inverse Hessian after a step ``s`` that changed the gradient
    by ``y``; unchanged when ``s . y`` is not positive (the update would lose definiteness).

    Steps on an approximate curvature (a warm start's, BFGS's last) then converge
    superlinearly instead of linearly: fewer likelihood evaluations on all the data.
    """
    sy = float(s @ y)
    if not sy > 1e-300 * max(float(s @ s), 1e-300):
        return inverse
    rho = 1.0 / sy
    left = np.eye(s.shape[0]) - rho * np.outer(s, y)
    return np.asarray(left @ inverse @ left.T + rho * np.outer(s, s))


def _hessian(
    objective: Callable[[FloatArray], tuple[float, FloatArray]], z: FloatArray
) -> FloatArray:
    """Central differences of the gradient; the ``2k`` gradients are independent, so
    they run on the machine's cores (:func:`regulars.models._threads.in_order`)."""
    from regulars.models._threads import in_order

    k = z.shape[0]
    steps = [1e-5 * max(1.0, abs(z[j])) for j in range(k)]
    points = []
    for j in range(k):
        for sign in (1.0, -1.0):
            point = z.copy()
            point[j] += sign * steps[j]
            points.append(point)
    grads = list(in_order(lambda point: np.asarray(objective(point)[1], dtype=float), points))
    hess = np.empty((k, k))
    for j in range(k):
        hess[:, j] = (grads[2 * j] - grads[2 * j + 1]) / (2.0 * steps[j])
    return (hess + hess.T) / 2.0
