"""Score every customer: each distinct tuple once in NumPy, joined back in the engine.

A book of 10 M customers has far fewer distinct ``(frequency, recency, T)`` tuples than
customers, and a purchase model's predictions depend on nothing else.  So
:func:`score_customers` pulls the distinct tuples out of the engine, scores them with
the fitted models, uploads the small result and joins it back to the customers inside
the engine.  The customers themselves never leave it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
from ibis.common.exceptions import IbisError
from numpy.typing import NDArray

from regulars.errors import SchemaError
from regulars.models._rfm import TIME_UNIT_DAYS, TIME_UNITS, TimeUnit, as_ibis_table

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

__all__ = [
    "PurchaseModel",
    "SpendModel",
    "discounted_expected_purchases",
    "join_scores",
    "score_customers",
    "scored_tuples",
    "spendable",
]

#: Mean Gregorian month in days (the CLV steps are months).
MONTH_DAYS = 365.2425 / 12.0
PURCHASE_KEYS = ("frequency", "recency", "T")
SPEND_KEYS = ("frequency", "monetary_value")


class PurchaseModel(Protocol):
    """What scoring needs from a fitted repeat-purchase model."""

    def probability_alive(self, data: Any, /) -> Any: ...

    def expected_purchases(self, data: Any, /, *, t: float) -> Any: ...


class SpendModel(Protocol):
    """What scoring needs from a fitted spend model (Gamma-Gamma)."""

    def expected_spend(self, data: Any, /) -> Any: ...


def _array(values: Any, n: int, what: str) -> NDArray[np.float64]:
    out = np.asarray(values, dtype=np.float64).reshape(-1)
    if out.shape != (n,):
        raise SchemaError(f"{what} returned {out.shape[0]} values for {n} rows.")
    return out


class _AliveFactorized:
    """A purchase model whose ``expected_purchases`` works on distinct ``(x, T)`` pairs.

    For the BTYD purchase models (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB) purchases after
    ``T`` happen only if the customer is alive at ``T``, and given that, the history
    enters only through ``x`` and ``T`` (the likelihood of the "alive" branch does not
    involve ``t_x``).  So

        E[X(T, T + t) | x, t_x, T] = P(alive | x, t_x, T) * E[X(T, T + t) | alive, x, T],

    and the second factor, the expensive one, is the same for every ``t_x``.  It is
    computed once per distinct ``(x, T)`` from a representative history (``t_x = T``,
    or 0 when ``x = 0``) as ``E / P(alive)`` there, and multiplied by each tuple's own
    P(alive), which is cheap and cached across horizons.  A book of a million customers
    has a few hundred thousand distinct ``(x, t_x, T)`` tuples but a few thousand
    ``(x, T)`` pairs.  Pairs whose representative P(alive) underflows are computed
    directly.
    """

    def __init__(self, model: PurchaseModel) -> None:
        self.model = model
        self._discrete = bool(getattr(model, "_discrete", False))
        self._cache: tuple[Any, NDArray[np.float64]] | None = None
        self._pairs_cache: (
            tuple[Any, tuple[NDArray[np.float64], NDArray[np.float64], NDArray[Any]]] | None
        ) = None

    def probability_alive(self, data: Any, /) -> Any:
        return self.model.probability_alive(data)

    def _p_alive(self, data: Any) -> NDArray[np.float64]:
        if self._cache is not None and self._cache[0] is data:
            return self._cache[1]
        p = np.asarray(self.model.probability_alive(data), dtype=np.float64)
        self._cache = (data, p)
        return p

    def _pairs(self, data: Any) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[Any]]:
        """Distinct ``(x, T)`` pairs of ``data`` and each row's pair (cached per data)."""
        if self._pairs_cache is not None and self._pairs_cache[0] is data:
            return self._pairs_cache[1]
        x = np.asarray(data["frequency"], dtype=np.float64)
        big_t = np.asarray(data["T"], dtype=np.float64)
        # One sort of complex numbers orders by (x, T) exactly; much faster than
        # np.unique(..., axis=0), which sorts rows as byte strings.
        uniq, inverse = np.unique(x + 1j * big_t, return_inverse=True)
        result = (uniq.real.copy(), uniq.imag.copy(), inverse.reshape(-1))
        self._pairs_cache = (data, result)
        return result

    def expected_purchases(self, data: Any, /, *, t: Any) -> Any:
        if np.ndim(t) != 0 or not isinstance(data, dict):
            return self.model.expected_purchases(data, t=t)
        ux, ut, inverse = self._pairs(data)
        if len(ux) * 2 > len(inverse):  # too few repeats to be worth it
            return self.model.expected_purchases(data, t=t)
        rep = {"frequency": ux, "recency": np.where(ux > 0, ut, 0.0), "T": ut}
        p_rep = np.asarray(self.model.probability_alive(rep), dtype=np.float64)
        e_rep = np.asarray(self.model.expected_purchases(rep, t=t), dtype=np.float64)
        ok = p_rep > 1e-250
        given_alive = np.where(ok, e_rep / np.where(ok, p_rep, 1.0), 0.0)
        out = self._p_alive(data) * given_alive[inverse]
        direct = ~ok[inverse]
        if direct.any():
            sub = {k: np.asarray(v)[direct] for k, v in data.items()}
            out[direct] = self.model.expected_purchases(sub, t=t)
        return out


def _factorizable(model: Any) -> bool:
    from regulars.models._transactions import TransactionModel

    # MBG/CNBD-k and the covariate models need t_x (or covariates) beyond (x, T)
    return isinstance(model, TransactionModel) and getattr(model, "_alive_factorizes", True)


def discounted_expected_purchases(
    model: PurchaseModel,
    data: Any,
    *,
    months: int,
    discount_rate: float,
    time_unit: TimeUnit,
) -> NDArray[np.float64]:
    """Expected purchases over ``months`` months, each month discounted to today.

    This is :func:`~regulars.models.customer_lifetime_value` with a spend of 1 per
    purchase: ``sum_k (E[X(k)] - E[X(k - 1)]) / (1 + d) ** k`` over months ``k = 1 ..
    months`` of 365.2425 / 12 days, where ``E[X(k)]`` is the expected number of
    purchases in the next ``k`` months and ``d = (1 + discount_rate) ** (1 / 12) - 1``
    the monthly rate equivalent to the annual ``discount_rate``.  Times a customer's
    expected spend per purchase it is their discounted CLV (Fader, Hardie & Lee 2005;
    lifetimes' ``customer_lifetime_value`` takes a monthly rate and months of 4.345
    weeks).

    The discrete-time BG/BB model counts whole periods: the horizon is
    ``round(months * month / period)`` periods, each discounted at the per-period rate
    equivalent to the annual one.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "RFM and CLV: Using
       Iso-Value Curves for Customer Base Analysis". Journal of Marketing Research
       42(4), 415-430.
    """
    from regulars.models.clv import customer_lifetime_value

    unit_days = TIME_UNIT_DAYS[time_unit]
    if getattr(model, "_discrete", False):
        periods = max(1, round(months * MONTH_DAYS / unit_days))
        rate = (1.0 + discount_rate) ** (unit_days / (12 * MONTH_DAYS)) - 1.0
        horizon, per_period = periods, 1.0
    else:
        rate = (1.0 + discount_rate) ** (1.0 / 12.0) - 1.0
        horizon, per_period = months, MONTH_DAYS / unit_days
    value = customer_lifetime_value(
        model,  # type: ignore[arg-type]
        None,
        data,
        horizon=horizon,
        discount_rate=rate,
        time_unit_per_period=per_period,
    )
    return np.asarray(value, dtype=np.float64)


def _horizon(model: PurchaseModel, t: float) -> float:
    """``t`` for the model: whole periods for the discrete-time BG/BB model."""
    if getattr(model, "_discrete", False):
        return float(round(t))
    return t


def _distinct(rfm: ir.Table, keys: Sequence[str]) -> dict[str, NDArray[Any]]:
    """The distinct key tuples of ``rfm`` as NumPy arrays (exactly as the engine has them)."""
    arrow = rfm.select(*keys).distinct().to_pyarrow()
    return {k: arrow.column(k).to_numpy(zero_copy_only=False) for k in keys}


def _backend_of(rfm: ir.Table) -> BaseBackend:
    """The engine ``rfm`` runs on (the default DuckDB one for in-memory tables)."""
    try:
        return rfm._find_backend(use_default=True)
    except IbisError:  # a table over several engines: Ibis' default one
        return ibis.get_backend()


def score_customers(
    rfm: Any,
    purchase_model: PurchaseModel,
    spend_model: SpendModel | None = None,
    *,
    horizons: Sequence[int] = (90, 365),
    clv_horizon: int = 12,
    discount_rate: float = 0.10,
    time_unit: TimeUnit = "W",
    backend: BaseBackend | None = None,
) -> ir.Table:
    """Add each customer's predictions to an RFM summary, scoring distinct tuples once.

    Parameters
    ----------
    rfm
        The output of :func:`rfm_summary` (any table with ``frequency``, ``recency``
        and ``T``, and ``monetary_value`` for a spend model), as an Ibis table or a
        pandas/polars/Arrow table.
    purchase_model
        A fitted repeat-purchase model (``BetaGeoModel``...), fitted in ``time_unit``.
    spend_model
        A fitted ``GammaGammaModel``, or None for no spend and CLV columns.
    horizons
        Horizons in days of the ``expected_orders_<n>d`` columns.
    clv_horizon
        CLV horizon in months.
    discount_rate
        Annual discount rate of CLV (0.10 = 10% a year).
    time_unit
        The unit of ``recency`` and ``T`` (and so of the models' rates).
    backend
        Where to upload the scored tuples, as temporary tables: None means the engine
        ``rfm`` runs on (Ibis' default DuckDB engine for a pandas, polars or Arrow
        table).

    Returns
    -------
    ibis.expr.types.Table
        The columns of ``rfm`` plus ``p_alive``, ``expected_orders_<n>d`` for each
        horizon and, with a spend model, ``expected_spend`` (per order) and ``clv``
        (expected spend times the discounted expected orders over ``clv_horizon``
        months).  Repeat buyers whose ``monetary_value`` is not positive or NULL
        (unknown amounts, refunds exceeding purchases) are left out of the spend
        model: their ``expected_spend`` and ``clv`` are NULL, and the other customers
        are scored as usual.  Lazy; rows in no particular order.

    Notes
    -----
    The purchase predictions depend only on ``(frequency, recency, T)`` and the spend
    prediction only on ``(frequency, monetary_value)``, so each model scores the
    distinct tuples of its own keys, and two equality joins bring the results back.
    The keys come back from the engine unchanged, so the float joins are exact.
    For the BTYD purchase models the expected purchases are further split into
    P(alive) (per distinct tuple) times the expected purchases of a live customer,
    which depends only on ``(frequency, T)`` and is computed once per distinct pair
    (see ``_AliveFactorized``): a dozen CLV horizons then cost little more than one.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "RFM and CLV: Using
       Iso-Value Curves for Customer Base Analysis". Journal of Marketing Research
       42(4), 415-430.
    """
    if time_unit not in TIME_UNITS:
        raise ValueError(
            f"time_unit={time_unit!r} is not valid. Valid values: "
            + ", ".join(repr(u) for u in TIME_UNITS)
            + "."
        )
    if clv_horizon < 1:
        raise ValueError(f"clv_horizon={clv_horizon!r} must be at least 1 (months).")
    if not 0.0 <= discount_rate < 1.0:
        raise ValueError(
            f"discount_rate={discount_rate!r} is out of range (expected an annual rate "
            "between 0 and 1, for example 0.10)."
        )
    rfm = as_ibis_table(rfm, name="the RFM summary")
    _check_rfm(rfm, spend_model is not None)
    if backend is None:
        backend = _backend_of(rfm)
    purchase, spend = scored_tuples(
        rfm,
        purchase_model,
        spend_model,
        horizons=horizons,
        clv_horizon=clv_horizon,
        discount_rate=discount_rate,
        time_unit=time_unit,
    )
    out = join_scores(rfm, purchase, spend, backend)
    return out.drop(*[c for c in out.columns if c.startswith("_") and c not in rfm.columns])


def _check_rfm(rfm: ir.Table, spend: bool) -> None:
    needed = list(PURCHASE_KEYS) + (["monetary_value"] if spend else [])
    missing = [c for c in needed if c not in rfm.columns]
    if missing:
        raise SchemaError(
            "The RFM summary lacks "
            + ", ".join(repr(c) for c in missing)
            + ". Existing columns: "
            + ", ".join(repr(c) for c in rfm.columns)
            + ". Build it with rfm_summary(...)"
            + (", monetary_value_col='revenue'" if "monetary_value" in missing else "")
            + "."
        )


def spendable(rfm: ir.Table) -> ir.Table:
    """The customers of ``rfm`` inside the spend model: no repeat purchase, or a positive
    net spend (repeat buyers with unknown amounts or refunds exceeding their purchases
    keep their purchase scores, with no expected spend and no CLV)."""
    return rfm.filter((rfm["frequency"] == 0) | (rfm["monetary_value"] > 0))


def scored_tuples(
    rfm: ir.Table,
    purchase_model: PurchaseModel,
    spend_model: SpendModel | None,
    *,
    horizons: Sequence[int],
    clv_horizon: int,
    discount_rate: float,
    time_unit: TimeUnit,
) -> tuple[dict[str, NDArray[Any]], dict[str, NDArray[Any]] | None]:
    """The distinct purchase tuples of ``rfm`` and their scores, and the distinct spend
    tuples and their expected spend (None without a spend model).

    The keys are ``_k_frequency, _k_recency, _k_T`` and ``_s_frequency,
    _s_monetary_value``, exactly as the engine has them; ``_dep`` is the discounted
    expected purchases over ``clv_horizon`` months (CLV per unit of spend).  The caller
    may add columns of its own (the parameter intervals) before :func:`join_scores`.
    """
    unit_days = TIME_UNIT_DAYS[time_unit]
    keys = _distinct(rfm, PURCHASE_KEYS)
    n = len(keys["frequency"])
    if _factorizable(purchase_model):
        purchase_model = _AliveFactorized(purchase_model)
    scored: dict[str, NDArray[Any]] = {f"_k_{k}": v for k, v in keys.items()}
    scored["p_alive"] = _array(purchase_model.probability_alive(keys), n, "probability_alive")
    for days in horizons:
        t = _horizon(purchase_model, days / unit_days)
        scored[f"expected_orders_{days}d"] = _array(
            purchase_model.expected_purchases(keys, t=t), n, "expected_purchases"
        )
    if spend_model is None:
        return scored, None
    scored["_dep"] = discounted_expected_purchases(
        purchase_model,
        keys,
        months=clv_horizon,
        discount_rate=discount_rate,
        time_unit=time_unit,
    )
    spend_keys = _distinct(spendable(rfm), SPEND_KEYS)
    spend: dict[str, NDArray[Any]] = {f"_s_{k}": v for k, v in spend_keys.items()}
    spend["expected_spend"] = _array(
        spend_model.expected_spend(spend_keys), len(spend_keys["frequency"]), "expected_spend"
    )
    return scored, spend


def join_scores(
    rfm: ir.Table,
    purchase: dict[str, Any],
    spend: dict[str, Any] | None,
    backend: BaseBackend,
) -> ir.Table:
    """Upload the scored tuples of :func:`scored_tuples` and join them to the customers.

    Returns the columns of ``rfm``, then every column of ``purchase`` and ``spend``
    that does not start with ``_`` (in their order), then ``clv`` (with a spend model),
    then those starting with ``_`` other than the keys (``_dep`` and any the caller
    added).  Customers outside the spend model get NULL spend columns.
    """
    from regulars.engine import handed_over

    table = handed_over(pa.table(purchase), backend)
    out = rfm.inner_join(table, [rfm[k] == table[f"_k_{k}"] for k in PURCHASE_KEYS])
    extra = [c for c in purchase if c.startswith("_") and not c.startswith("_k_")]
    pred = [c for c in purchase if not c.startswith("_")]
    out = out.select(*rfm.columns, *pred, *extra)
    if spend is None:
        return out
    spend_table = handed_over(pa.table(spend), backend)
    out = out.left_join(spend_table, [out[k] == spend_table[f"_s_{k}"] for k in SPEND_KEYS])
    spend_pred = [c for c in spend if not c.startswith("_")]
    spend_extra = [c for c in spend if c.startswith("_") and not c.startswith("_s_")]
    return out.select(
        *rfm.columns,
        *pred,
        *spend_pred,
        clv=(out["expected_spend"] * out["_dep"]),
        **{c: out[c] for c in [*extra, *spend_extra]},
    )
