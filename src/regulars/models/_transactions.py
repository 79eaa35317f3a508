"""Shared base of the repeat-purchase models: RFM input, checks and prediction wrappers.

The models of this family (BG/NBD, MBG/NBD, Pareto/NBD and BG/BB) read the same three
columns, ``frequency``, ``recency`` and ``T``, follow the same rules, and offer the same
predictions.  A model file implements the array-level functions

* ``_p_alive(theta, x, t_x, T)``: probability of being alive at ``T``;
* ``_expected(theta, x, t_x, T, t)``: expected purchases in ``(T, T + t]``;
* ``_expected_new(theta, t)``: expected purchases in ``(0, t]`` of a new customer;
* ``_pmf_new(theta, n, t)``: ``P(X(t) = n)`` for a new customer;

and this module wraps them with input reading and checks.  To score the distinct
tuples of a large table, pass them to the public predictions as a pyarrow Table or a
dict of numpy arrays (the results are aligned with its rows), or call
``score_arrays(frequency, recency, T, t=...)`` for both scores at once.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np

from regulars.models._base import (
    BaseModel,
    Columns,
    FloatArray,
    NoInformationError,
    TableLike,
    as_time,
    check_values,
    compress,
    read_columns,
    scalar_or_array,
)
from regulars.models._diagnostics import lapsed_check

__all__ = ["RFM_COLUMNS", "TransactionModel"]

RFM_COLUMNS = ("frequency", "recency", "T")
#: Fits on at least this many distinct tuples start from a fit on a sample of them.
WARM_START_MIN = 100_000
WARM_SAMPLE = 40_000
WARM_SEED = 20_050_301


class TransactionModel(BaseModel):
    """Base of the repeat-purchase models (see the module docstring)."""

    #: True for BG/BB, whose frequency, recency and T count transaction opportunities.
    _discrete: ClassVar[bool] = False

    # -- input --------------------------------------------------------------------
    def _validate(self, cols: Columns, caller: str) -> None:
        x, t_x, big_t = cols["frequency"], cols["recency"], cols["T"]
        show = list(RFM_COLUMNS)
        unit = "transaction opportunities" if self._discrete else "time units"
        check_values(
            cols,
            (x < 0) | (x != np.floor(x)),
            "have a frequency that is not a whole number >= 0",
            "frequency counts repeat purchases (purchase periods after the first).",
            caller,
            show,
        )
        check_values(
            cols,
            t_x < 0,
            "have a negative recency",
            "recency is the time from the first to the last purchase.",
            caller,
            show,
        )
        check_values(
            cols,
            t_x > big_t,
            "have recency greater than T",
            f"recency and T must be in the same {unit}, and recency <= T (T is the time from "
            "the first purchase to the end of observation).",
            caller,
            show,
        )
        check_values(
            cols,
            (x == 0) & (t_x != 0),
            "have frequency 0 but a recency other than 0",
            "a customer without repeat purchases has recency 0.",
            caller,
            show,
        )
        if self._discrete:
            check_values(
                cols,
                (t_x != np.floor(t_x)) | (big_t != np.floor(big_t)) | (x > t_x),
                "have a recency or T that is not a whole number, or frequency > recency",
                "BetaGeoBetaBinomModel counts transaction opportunities: recency is the "
                "opportunity of the last transaction and T the number of opportunities.",
                caller,
                show,
            )

    def _read(self, data: TableLike, caller: str, *, weighted: bool) -> Columns:
        cols = read_columns(data, RFM_COLUMNS, caller=caller, weighted=weighted)
        self._validate(cols, caller)
        return cols

    def fit(self, data: TableLike, /) -> Self:
        """Fit the model by maximum likelihood on a table of RFM summaries.

        Parameters
        ----------
        data : pandas/polars DataFrame, pyarrow Table, Ibis table or dict of arrays
            Columns ``frequency``, ``recency`` and ``T`` (one row per customer, or per
            group of identical customers with a ``weight`` column counting them).  The
            rows are compressed to distinct tuples first; an Ibis table is grouped in
            its engine.

        Returns
        -------
        self
            With ``params_``, ``log_likelihood_`` (total over customers, in the
            data's time unit), ``n_customers_``, ``n_distinct_``,
            ``variance_matrix_`` and ``diagnostics_`` (is the fit trustworthy? see
            :class:`~regulars.models.Diagnostics`) set.

        Raises
        ------
        ConvergenceError
            When the optimizer fails, a parameter runs to the edge of the parameter
            space, or the data carry no information (fewer than two customers, no
            repeat purchase, or every customer observed for no time), whatever the
            penalizer.
        """
        caller = f"{type(self).__name__}.fit"
        cols = compress(self._read(data, caller, weighted=True))
        self._check_information(cols, caller)
        stats = self._make_stats(cols)
        warm = self._warm_start(cols) if self.initial_params is None else None
        self._fit_stats(stats, float(cols.weight.sum()), cols.size, warm=warm)
        self._diagnose(cols)
        return self

    def _check_information(self, cols: Columns, caller: str) -> None:
        """Refuse data from which no parameter can be learnt (a penalizer would invent them)."""
        n = float(cols.weight.sum())
        repeats = float(cols.weight @ cols["frequency"])
        longest = float(cols["T"].max())
        if n >= 2 and repeats > 0 and longest > 0:
            return
        raise NoInformationError(
            f"{caller}: the data do not identify all the parameters: {n:,.0f} "
            f"customer{'s' if n != 1 else ''}, {repeats:,.0f} repeat purchases, longest "
            f"observation T = {longest:g}. A fit needs at least two customers, some repeat "
            "purchases and some time after the first purchase (a penalizer would only return "
            "its own prior, 1 for every parameter). Import more history, or check the dates "
            "(every order on one day?)."
        )

    def _diagnose(self, cols: Columns) -> None:
        """Add to the parameter checks: P(alive) against the customers who look lapsed."""
        x, t_x, big_t = cols["frequency"], cols["recency"], cols["T"]
        with np.errstate(all="ignore"):
            p_alive = np.clip(self._p_alive(self._theta(), x, t_x, big_t), 0.0, 1.0)
        lapsed_check(self.diagnostics_, p_alive, x, t_x, big_t, cols.weight)

    def _warm_start(self, cols: Columns) -> tuple[FloatArray, FloatArray] | None:
        """A starting point and its Hessian from a fit on a random sample of the tuples.

        On a large book most of the optimizer's likelihood evaluations only walk from
        the generic starting points to the neighbourhood of the optimum.  A fit on a
        sample of ``WARM_SAMPLE`` distinct tuples (with their weights) does that walk at
        a fraction of the cost; BFGS on all the tuples then starts there, with the
        sample's Hessian as its curvature, and converges in a few evaluations to the
        maximum of the full likelihood (the sample only chooses where to start).  The
        sample is drawn with a fixed seed from the sorted tuples, so fits are
        reproducible.  Returns None for small data or if the sample fit fails.
        """
        if cols.size < WARM_START_MIN:
            return None
        rng = np.random.default_rng(WARM_SEED)
        keep = rng.random(cols.size) < WARM_SAMPLE / cols.size
        sample = Columns({k: v[keep] for k, v in cols.arrays.items()}, cols.weight[keep], "sample")
        if not sample.weight.sum() > 0:
            return None
        stats = self._make_stats(sample)
        best, _ = self._minimize(
            self._objective(stats, float(sample.weight.sum())), self._starting_points(stats)
        )
        return best

    def _make_stats(self, cols: Columns) -> Any:
        raise NotImplementedError

    def _rfm(self, data: TableLike, caller: str) -> tuple[FloatArray, FloatArray, FloatArray]:
        self._check_fitted()
        cols = self._read(data, f"{type(self).__name__}.{caller}", weighted=False)
        return cols["frequency"], cols["recency"], cols["T"]

    # -- array-level functions (implemented by the models) -------------------------
    def _p_alive(
        self, theta: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray
    ) -> FloatArray:
        raise NotImplementedError

    def _expected(
        self, theta: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray, t: FloatArray
    ) -> FloatArray:
        raise NotImplementedError

    def _expected_new(self, theta: FloatArray, t: FloatArray) -> FloatArray:
        raise NotImplementedError

    def _pmf_new(self, theta: FloatArray, n: FloatArray, t: FloatArray) -> FloatArray:
        raise NotImplementedError

    # -- predictions ----------------------------------------------------------------
    def probability_alive(self, data: TableLike, /) -> FloatArray:
        """Probability that each customer is still alive (a customer) at the end of ``T``.

        Parameters
        ----------
        data : table or dict of arrays
            Columns ``frequency``, ``recency`` and ``T``, in the time unit of the fit.

        Returns
        -------
        ndarray
            One probability per input row, in ``[0, 1]``.
        """
        x, t_x, big_t = self._rfm(data, "probability_alive")
        return np.clip(self._p_alive(self._theta(), x, t_x, big_t), 0.0, 1.0)

    def expected_purchases(self, data: TableLike, /, *, t: Any) -> FloatArray:
        """Expected number of purchases of each customer in the next ``t`` time units.

        This is ``E[X(T, T + t) | frequency, recency, T]``: the purchases a customer
        with this history is expected to make after the end of observation.

        Parameters
        ----------
        data : table or dict of arrays
            Columns ``frequency``, ``recency`` and ``T``.
        t : float or array
            The horizon, in the time unit of the fit (for BG/BB: a number of future
            transaction opportunities); an array gives one horizon per row.

        Returns
        -------
        ndarray
            One expectation per input row, finite and >= 0.
        """
        x, t_x, big_t = self._rfm(data, "expected_purchases")
        horizon = np.broadcast_to(as_time(t, integer=self._discrete), x.shape)
        return np.maximum(self._expected(self._theta(), x, t_x, big_t, horizon), 0.0)

    def expected_purchases_new_customer(self, t: Any) -> Any:
        """Expected number of repeat purchases of a newly acquired customer in ``(0, t]``.

        Returns a float for a scalar ``t``, an array otherwise.
        """
        theta = self._theta()
        arr = as_time(t, integer=self._discrete)
        values = np.maximum(self._expected_new(theta, np.atleast_1d(arr)).reshape(arr.shape), 0.0)
        return scalar_or_array(values, t)

    def probability_of_purchases(self, n: Any, t: Any) -> Any:
        """``P(X(t) = n)``: probability that a new customer makes ``n`` repeat purchases by ``t``.

        ``n`` and ``t`` broadcast against each other.  Returns a float for scalars.
        """
        theta = self._theta()
        nn = as_time(n, "n", integer=True)
        tt = as_time(t, integer=self._discrete)
        nb, tb = np.broadcast_arrays(nn, tt)
        values = self._pmf_new(theta, np.atleast_1d(nb).ravel(), np.atleast_1d(tb).ravel())
        return scalar_or_array(np.clip(values, 0.0, 1.0).reshape(nb.shape), n, t)

    def score_arrays(
        self,
        frequency: Any,
        recency: Any,
        T: Any,
        *,
        t: Any | None = None,
    ) -> dict[str, FloatArray]:
        """Score aligned arrays: ``probability_alive``, and ``expected_purchases`` with ``t``.

        The vectorised entry point for scoring the distinct ``(frequency, recency, T)``
        tuples of a large table before joining the scores back in the engine.  The
        arrays are checked like any other input.
        """
        data = {"frequency": frequency, "recency": recency, "T": T}
        out = {"probability_alive": self.probability_alive(data)}
        if t is not None:
            out["expected_purchases"] = self.expected_purchases(data, t=t)
        return out
