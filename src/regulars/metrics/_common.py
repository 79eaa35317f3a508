"""Shared machinery of the metrics: periods, the order fact table, channels, spend.

Every metric in :mod:`regulars.metrics` is built from the pieces here, so the
conventions below hold for all of them (``docs/metrics.md`` states them for users):

Periods
    A period is a calendar month, quarter or year.  Inside the engine a period is an
    integer *period index* (``year * 12 + month - 1`` for months, ``year * 4 +
    quarter - 1`` for quarters, ``year`` for years), so "the previous period" is
    ``index - 1`` on every backend.  Outputs carry the ISO date of the period's first
    day in a ``period`` column.

Orders
    Orders, refunds, credit notes and paid orders are those of
    :func:`regulars.ledger.order_ledger` (the one definition every stage uses):
    cancelled orders are ignored, a credit note is netted against the invoice it
    reverses, and net revenue is ``revenue - refund``.  Net revenue is counted in the
    period of the *order* (not of the refund), so a refund never makes a later period
    negative; only an unlinked credit note counts, negative, on its own date.
    Profit is ``net revenue - cost`` when the order has a cost, otherwise ``net
    revenue × default_margin`` rounded half-up to the cent.  A *paid order* is a
    non-cancelled order, not a credit note, whose net revenue is positive: fully
    refunded, cancelled and free orders and credit notes do not make anyone a customer.

Customers and channels
    A customer is acquired by their first paid order; the period of that order is
    their acquisition cohort, kept for life.  Their channel kind comes from
    ``customers.channel`` mapped through ``[channels]`` in ``regulars.toml``
    (unknown or missing names are ``other``), except that a customer with
    ``referred_by`` set is always ``referral``.

Spend
    Spend rows are spread over the periods they cover in proportion to days (a row
    inside one period counts whole, to the cent; pieces of a row spread over several
    periods are rounded to the cent).  Channels listed in ``[metrics]
    retention_channels`` are retention spend; every other channel is acquisition
    spend of its channel kind.

Everything here returns lazy Ibis expressions and uses only backend-neutral Ibis
(no SQL strings, no windows without a tie-breaker), so it runs unchanged on DuckDB,
on Parquet files through DuckDB, and on Spark.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, TypeAlias, cast, get_args

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from regulars.config import Config, Period
from regulars.errors import ConfigError, SchemaError
from regulars.ledger import credit_window_days, ledger_expression

if TYPE_CHECKING:
    from regulars.store import Workspace

__all__ = [
    "FACT_COLUMNS",
    "MONEY",
    "PERIODS",
    "WIDE_DECIMAL",
    "MetricContext",
    "TablesLike",
    "attach_channels",
    "cents_to_money",
    "channel_kind",
    "customer_channels",
    "customer_period_revenue",
    "customer_periods",
    "date_bounds",
    "decimal_literal",
    "filter_periods",
    "first_paid_orders",
    "index_to_start",
    "metric_context",
    "money_sum",
    "order_facts",
    "period_grid",
    "period_index",
    "period_start",
    "python_period_index",
    "referral_reward_costs",
    "resolve_period",
    "retention_channels",
    "safe_ratio",
    "spend_by_period",
    "union_all",
    "zero_money",
]

#: Ibis type of a money column in the contract (``DECIMAL(18, 2)``).
MONEY = dt.Decimal(18, 2)
#: Wide decimal used for exact intermediate products (money × share).
WIDE_DECIMAL = dt.Decimal(38, 6)
#: Bytes of one order in a query's uncompressed copy of the ledger (ids, dates,
#: money, flags; measured at 100 M orders): see :meth:`MetricContext.ledger_worth_storing`.
LEDGER_BYTES_PER_ORDER = 100
#: The valid values of a ``period`` argument.
PERIODS: tuple[str, ...] = get_args(Period)

#: The ``orders`` columns the metrics' ledger keeps (:meth:`MetricContext.ledger`):
#: those :func:`order_ledger` and :func:`order_facts` read, and the ``extra`` columns
#: a metric may carry through :func:`order_facts`.
FACT_COLUMNS = frozenset(
    {
        "order_id",
        "customer_id",
        "order_date",
        "revenue",
        "cost",
        "kind",
        "status",
        "refund_amount",
        "refund_date",
        "discount",
    }
)
_MONTHS_PER_INDEX = {"month": 1, "quarter": 3, "year": 12}
_INDEXES_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}


# -- the tables bundle ---------------------------------------------------------------


@dataclass(frozen=True)
class MetricContext:
    """The Ibis tables of a workspace plus its configuration.

    Every metric accepts one of these (or anything :func:`metric_context` turns into
    one: a :class:`~regulars.store.Workspace` or a mapping of table name to Ibis
    table).  ``tables`` holds the contract tables (``orders``, ``customers``,
    ``spend``...) and any derived table that exists (``scores``).

    Parameters
    ----------
    tables : Mapping[str, ibis.Table]
        Table name -> Ibis table, all on one backend.
    config : Config
        The workspace configuration (currency, margin, channels, activity window).
    """

    tables: Mapping[str, ir.Table]
    config: Config
    _memo: dict[str, ir.Table] = field(default_factory=dict, init=False, compare=False, repr=False)
    #: The workspace the tables come from (set by :meth:`from_workspace`): derived
    #: tables shared per data version (:meth:`customer_periods`) are stored there.
    workspace: Workspace | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_workspace(cls, workspace: Workspace) -> MetricContext:
        """The tables of ``workspace`` on its configured backend, with its config."""
        from regulars.engine import tables

        return cls(tables(workspace), workspace.config, workspace=workspace)

    def has(self, name: str) -> bool:
        """Whether table ``name`` is available."""
        return name in self.tables

    def table(self, name: str) -> ir.Table:
        """The Ibis table ``name``.

        A contract table that was not given (a mapping without ``spend``, say) reads
        as an empty table with the contract's columns, so metrics that only use it
        for costs still run.  Any other missing table is a clear error that lists the
        tables that exist.
        """
        try:
            return self.tables[name]
        except KeyError:
            pass
        from regulars.schema import TABLES

        if name in TABLES:
            from regulars.engine import arrow_schema

            return ibis.memtable(arrow_schema(name).empty_table())
        raise SchemaError(
            f"The metrics need table {name!r}, which is not available. "
            f"Available tables: {', '.join(sorted(self.tables)) or '(none)'}. "
            "Create it first (for example `regulars score` for scores), or pass it in "
            "the tables mapping."
        )

    def once(self, key: str, build: Callable[[], ir.Table]) -> ir.Table:
        """``build()``, built once per context under ``key`` (cached on Spark).

        Every step of a metric then reads the same expression (one common subquery on
        DuckDB, one cached table on Spark, see :func:`regulars.engine.computed_once`)
        instead of a new copy of its plan.
        """
        if key not in self._memo:
            from regulars.engine import computed_once

            self._memo[key] = computed_once(build())
        return self._memo[key]

    def _shared(
        self, key: str, kind: str, params: Mapping[str, object], build: Callable[[], ir.Table]
    ) -> ir.Table:
        """``build()`` once per context under ``key``; with a workspace, shared per
        data version as ``kind`` (:func:`regulars.engine.shared_table`: a table of the
        workspace file, or on Spark Parquet files under ``derived/``)."""
        if self.workspace is None:
            return self.once(key, build)
        if key not in self._memo:
            from regulars.engine import shared_table

            self._memo[key] = shared_table(self.workspace, kind, params, build)
        return self._memo[key]

    def customer_periods(self, period: Period) -> ir.Table:
        """:func:`customer_period_revenue` of :func:`order_facts` for ``period``, shared.

        The customer-period table (``customer_id``, ``period_index``, ``revenue``,
        ``profit``, ``orders``) that growth accounting, growth sources and revenue
        retention read.  With a workspace it is computed once per data version and
        stored (:func:`regulars.engine.shared_table`), so every metric, the report and
        the web app read the same table until an import changes the data; on Spark it
        is computed once per session.  Without one, once per context.
        """
        return self._shared(
            f"customer_periods_{period}",
            "customer_periods",
            self._customer_periods_params(period),
            lambda: customer_period_revenue(order_facts(self, period)),
        )

    def _customer_periods_params(self, period: Period) -> dict[str, object]:
        return {
            "period": period,
            "credit_window_days": credit_window_days(self.config),
            "default_margin": str(self.config.workspace.default_margin),
            "format": 1,
        }

    def customer_periods_stored(self, period: Period) -> bool:
        """Whether :meth:`customer_periods` reads stored rows rather than grouping the
        orders inside the query (:func:`regulars.engine._shared.shared_rows`).  A
        metric that needs less than the whole table (lifecycle: the paid
        customer-periods) reads it only then, and the orders otherwise."""
        from regulars.engine._shared import shared_rows

        if self.workspace is None:
            return False
        return shared_rows(
            self.workspace, "customer_periods", self._customer_periods_params(period)
        )

    def first_paid(self, period: Period) -> ir.Table:
        """:func:`first_paid_orders` of :func:`order_facts` for ``period``, shared.

        Each customer's acquisition (``customer_id``, ``first_date``, ``cohort_index``,
        ``cohort``), which most metrics and the left-censoring detector
        (:func:`regulars.metrics._periods.left_censored_customers`) read.  With a
        workspace it is shared per data version like :meth:`customer_periods` (stored
        by a writer, and on Spark as Parquet under ``derived/``, so the next command
        reads one row per customer instead of grouping all the orders again); without
        one, computed once per context.
        """
        params = {
            "period": period,
            "credit_window_days": credit_window_days(self.config),
            "format": 1,
        }
        return self._shared(
            f"first_paid_{period}",
            "first_paid",
            params,
            lambda: first_paid_orders(order_facts(self, period)),
        )

    def ledger(self) -> ir.Table:
        """:func:`regulars.ledger.order_ledger` of ``orders``, built once per context;
        with a workspace, stored once per data version
        (:func:`regulars.engine.shared_table`: a table of the workspace file, or on
        Spark Parquet files under ``derived/``) and read by every later metric.

        Only the ``orders`` columns the metrics read (:data:`FACT_COLUMNS`) go into it:
        descriptive columns (product, category, quantity...) would only make it larger.
        """
        orders = self.table("orders")
        keep = self._ledger_columns()
        window = credit_window_days(self.config)
        # Stored once per data version: every metric, the report and the web app read
        # it instead of matching the credit notes again.  In the workspace file it is
        # compressed, so DuckDB does not hold (and spill) an uncompressed copy of the
        # orders while a query reads the ledger several times; on Spark, each command
        # (a new session) reads the stored files instead of computing it again.
        # Without a workspace this is order_ledger: the same expression, once.
        return self._shared(
            "ledger",
            "ledger",
            self._ledger_params(),
            lambda: ledger_expression(orders.select(*keep), credit_window_days=window),
        )

    def _ledger_columns(self) -> list[str]:
        return [c for c in self.table("orders").columns if c in FACT_COLUMNS]

    def _ledger_params(self) -> dict[str, object]:
        return {
            "credit_window_days": credit_window_days(self.config),
            "columns": sorted(self._ledger_columns()),
            "format": 1,
        }

    def ledger_stored(self) -> bool:
        """Whether :meth:`ledger` reads a stored copy (True without a workspace, and
        on Spark, where the command that needs it stores it): a read-only command (the
        report) asks this to have a writer store it first."""
        from regulars.engine import shared_stored

        if self.workspace is None:
            return True
        return shared_stored(self.workspace, "ledger", self._ledger_params())

    def ledger_worth_storing(self) -> bool:
        """Whether a read-only command should have a writer store :meth:`ledger` first:
        it is not stored, and the orders are too many for a query's uncompressed copy
        of them to fit the workspace's memory limit (about
        :data:`LEDGER_BYTES_PER_ORDER` bytes an order).

        Below that, computing the ledger inside the one query is faster than storing
        it (at 30 M orders, 28 s against 62 s to store it and 14 s to read it); above
        it, DuckDB spills that copy for every metric (18 GB at 100 M orders).
        """
        if self.ledger_stored():
            return False
        assert self.workspace is not None  # ledger_stored() is True without one
        orders = self.table("orders").count().to_pyarrow().as_py()
        return int(orders or 0) * LEDGER_BYTES_PER_ORDER > self.workspace.memory_limit

    @property
    def currency(self) -> str:
        """The workspace currency (ISO 4217 code)."""
        return self.config.workspace.currency


#: What a metric accepts as its data argument.
TablesLike: TypeAlias = "MetricContext | Workspace | Mapping[str, ir.Table]"


def metric_context(source: Any, config: Config | None = None) -> MetricContext:
    """Turn a metric's data argument into a :class:`MetricContext`.

    Parameters
    ----------
    source : MetricContext, Workspace or Mapping[str, ibis.Table]
        The data.  A workspace brings its own config; a mapping uses ``config`` (or
        the default configuration when ``config`` is None).
    config : Config, optional
        Overrides the configuration of ``source``.

    Returns
    -------
    MetricContext
    """
    if isinstance(source, MetricContext):
        if config is None:
            return source
        return MetricContext(source.tables, config, workspace=source.workspace)
    if isinstance(source, Mapping):
        return MetricContext(dict(source), config if config is not None else Config())
    # A Workspace (checked by duck typing so this module does not import the store).
    if hasattr(source, "config") and hasattr(source, "ibis"):
        ctx = MetricContext.from_workspace(source)
        return ctx if config is None else MetricContext(ctx.tables, config, workspace=source)
    raise TypeError(
        f"Expected a Workspace, a MetricContext or a mapping of table name to Ibis table, "
        f"got {type(source).__name__}. Open a workspace with regulars.store.Workspace.open(path)."
    )


def resolve_period(period: str | None, config: Config) -> Period:
    """``period`` checked against month|quarter|year; None means the workspace default."""
    if period is None:
        return config.workspace.period
    if period not in PERIODS:
        raise ConfigError(
            f"period = {period!r} is not valid. Valid periods: {', '.join(PERIODS)}. "
            "Pass --period month (or quarter, year), or set [workspace] period in regulars.toml."
        )
    return cast(Period, period)


# -- periods -------------------------------------------------------------------------


def period_index(date: ir.Value, period: Period) -> ir.IntegerValue:
    """Integer index of the period containing ``date`` (a date or timestamp expression).

    Consecutive periods have consecutive indexes: month ``year*12 + month-1``, quarter
    ``year*4 + quarter-1``, year ``year``.  Use it for "previous period" arithmetic.
    """
    d = cast(ir.DateValue, date)
    year = d.year().cast("int64")
    month0 = d.month().cast("int64") - 1
    if period == "month":
        return year * 12 + month0
    if period == "quarter":
        return year * 4 + month0 // 3
    return year


def index_to_start(index: ir.IntegerValue, period: Period) -> ir.DateValue:
    """The first day (a date) of the period with index ``index`` (see :func:`period_index`)."""
    per_year = _INDEXES_PER_YEAR[period]
    year = index // per_year
    month = (index % per_year) * _MONTHS_PER_INDEX[period] + 1
    return ibis.date(year, month, 1)


def period_start(date: ir.Value, period: Period) -> ir.DateValue:
    """The ISO first day of the period containing ``date``, as a date expression."""
    return index_to_start(period_index(date, period), period)


def python_period_index(day: _dt.date, period: Period) -> int:
    """:func:`period_index` for a Python date (used for --from/--to bounds)."""
    if period == "month":
        return day.year * 12 + day.month - 1
    if period == "quarter":
        return day.year * 4 + (day.month - 1) // 3
    return day.year


def period_grid(bounds: ir.Table | tuple[int, int], period: Period) -> ir.Table:
    """Every period between two indexes, inclusive: columns ``period_index``, ``period``.

    Parameters
    ----------
    bounds : ibis.Table or (int, int)
        A one-row table with integer columns ``lo`` and ``hi`` (for example
        ``facts.aggregate(lo=facts.period_index.min(), hi=facts.period_index.max())``,
        which keeps the grid lazy), or two period indexes.
    period : {"month", "quarter", "year"}

    Left-join a per-period result onto the grid so that periods with no orders appear
    (then fill the nulls with zeros).
    """
    if isinstance(bounds, tuple):
        lo, hi = bounds
        bounds = ibis.memtable(
            pa.table({"lo": pa.array([int(lo)], pa.int64()), "hi": pa.array([int(hi)], pa.int64())})
        )
    grid = bounds.select(period_index=ibis.range(bounds.lo, bounds.hi + 1)).unnest("period_index")
    grid = grid.select(period_index=grid.period_index.cast("int64"))
    return grid.mutate(period=index_to_start(grid.period_index, period))


def date_bounds(
    period: Period, start: _dt.date | str | None, end: _dt.date | str | None
) -> tuple[int | None, int | None]:
    """Period indexes of the ``--from``/``--to`` dates (None where not given).

    A period is kept when it overlaps the range: its first day is on or before ``end``
    and its last day on or after ``start``.
    """

    def _parse(value: _dt.date | str | None, name: str) -> _dt.date | None:
        if value is None or value == "":
            return None
        if isinstance(value, _dt.datetime):
            return value.date()
        if isinstance(value, _dt.date):
            return value
        try:
            return _dt.date.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(
                f"{name} = {value!r} is not a date (expected YYYY-MM-DD, for example 2024-01-31)."
            ) from None

    s, e = _parse(start, "start"), _parse(end, "end")
    if s is not None and e is not None and s > e:
        raise ConfigError(f"The range is empty: start {s} is after end {e}. Swap the dates.")
    return (
        None if s is None else python_period_index(s, period),
        None if e is None else python_period_index(e, period),
    )


def filter_periods(
    table: ir.Table,
    period: Period,
    start: _dt.date | str | None = None,
    end: _dt.date | str | None = None,
    *,
    index_col: str = "period_index",
) -> ir.Table:
    """Keep the rows of ``table`` whose period overlaps ``[start, end]``.

    Compute a metric on the whole history first and filter its output with this, so
    that the first kept period still sees the period before it.
    """
    lo, hi = date_bounds(period, start, end)
    if lo is not None:
        table = table.filter(table[index_col] >= lo)
    if hi is not None:
        table = table.filter(table[index_col] <= hi)
    return table


# -- small expression helpers --------------------------------------------------------


def decimal_literal(value: float | str | Decimal, type_: dt.DataType = WIDE_DECIMAL) -> ir.Scalar:
    """An exact decimal literal (``0.3`` becomes ``Decimal('0.3')``, not a binary float)."""
    return ibis.literal(Decimal(str(value)), type=type_)


def _narrow_decimal(value: float) -> ir.Scalar:
    """``value`` rounded to six decimals as a literal of the narrowest decimal type.

    For values in ``[0, 1]`` (margins, shares): ``0.3`` is ``DECIMAL(2, 1)``.
    """
    q = Decimal(str(value)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP).normalize()
    exponent = q.as_tuple().exponent
    scale = max(0, -exponent) if isinstance(exponent, int) else 0
    return ibis.literal(q, type=dt.Decimal(scale + 1, scale))


def cents_to_money(cents: ir.IntegerValue) -> ir.NumericValue:
    """Whole cents (an integer expression) as an exact money decimal."""
    return (cents.cast(MONEY) * ibis.literal(Decimal("0.01"), type=MONEY)).cast(MONEY)


def zero_money() -> ir.Scalar:
    """``0.00`` as a money literal."""
    return ibis.literal(Decimal("0.00"), type=MONEY)


def money_sum(value: ir.NumericColumn, where: ir.BooleanValue | None = None) -> ir.NumericScalar:
    """Sum of a money column that is ``0`` (not null) over no rows; stays decimal."""
    total = value.sum(where=where)
    return ibis.coalesce(total, ibis.literal(Decimal("0.00"), type=total.type()))


def union_all(first: ir.Table, *rest: ir.Table) -> ir.Table:
    """``UNION ALL`` of tables with the same columns, ignoring NOT NULL differences.

    Columns are matched by name and cast to the (nullable) types of ``first``, so a
    column read from a NOT NULL contract column unions with a computed one.
    """
    schema = first.schema()
    target = {name: typ.copy(nullable=True) for name, typ in schema.items()}

    def conform(t: ir.Table) -> ir.Table:
        return t.select(*[t[name].cast(typ).name(name) for name, typ in target.items()])

    out = conform(first)
    for t in rest:
        out = out.union(conform(t), distinct=False)
    return out


def safe_ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    """``num / den`` as float64, null when ``den`` is zero or null."""
    den_f = den.cast("float64")
    return ibis.cases((den_f == 0, ibis.null("float64")), else_=num.cast("float64") / den_f)


# -- orders --------------------------------------------------------------------------


def order_facts(ctx: MetricContext, period: Period, extra: tuple[str, ...] = ()) -> ir.Table:
    """One row per non-cancelled order of the ledger, with net revenue and profit.

    The orders, refunds, credit notes and paid orders are those of
    :func:`regulars.ledger.order_ledger`; a credit note netted against its invoice is
    left out (its amount is in the invoice's refund).

    ``extra`` names further ``orders`` columns to carry as they are (``discount``,
    ``refund_date``: columns of :data:`FACT_COLUMNS`), so a metric that needs them
    reads ``orders`` once instead of joining the facts back to it by ``order_id``.

    Columns
    -------
    order_id, customer_id : string
    order_date : date
    period_index : int64, period : date
        The period of the order (see :func:`period_index`).
    kind : string
        ``one-off``, ``subscription`` or ``package`` (null read as ``one-off``).
    revenue : decimal
        Gross revenue as imported (0 for a credit note, null without an amount).
    refund : decimal
        ``refund_amount`` (the whole revenue for status ``refunded`` without an
        amount) plus the credit notes netted against the order.
    net_revenue : decimal
        ``revenue - refund``, in the order's period (negative for an unlinked credit
        note or an over-refund).
    profit : decimal
        ``net_revenue - cost`` when cost is known, else ``net_revenue × default_margin``
        rounded half-up to the cent.
    is_paid : boolean
        The ledger's ``is_purchase``: a paid order (acquires, reactivates).
    """
    ledger = ctx.ledger()
    # A credit note netted against its invoice carries no money of its own.
    o = ledger.filter(~(ledger.is_credit_note & ledger.credit_for.notnull()))
    revenue, refund, net = o.revenue, o.refund, o.net_revenue
    # The margin to six decimals, typed as narrow as it is: money x a narrow decimal
    # stays in 64/128-bit arithmetic, which is several times faster than a product of
    # two DECIMAL(38, 6), and exact all the same.
    margin = _narrow_decimal(ctx.config.workspace.default_margin)
    margin_profit = (net * margin).round(2).cast(MONEY)
    profit = ibis.cases(
        (o.cost.notnull(), (net - o.cost.cast(MONEY)).cast(MONEY)), else_=margin_profit
    )
    order_date = o.order_date.cast("date")
    pidx = period_index(order_date, period)
    return o.select(
        order_id=o.order_id,
        customer_id=o.customer_id,
        order_date=order_date,
        period_index=pidx,
        period=index_to_start(pidx, period),
        kind=o.kind.fill_null("one-off"),
        revenue=revenue,
        refund=refund.cast(MONEY),
        net_revenue=net,
        profit=profit.cast(MONEY),
        is_paid=o.is_purchase,
        **{name: o[name] for name in extra},
    )


def customer_period_revenue(facts: ir.Table) -> ir.Table:
    """Net revenue, profit and paid orders per customer and period.

    ``facts`` is :func:`order_facts`.  Columns: ``customer_id``, ``period_index``,
    ``revenue`` (sum of net revenue), ``profit``, ``orders`` (number of paid orders).
    Only customer-periods with at least one non-cancelled order appear.
    """
    return facts.group_by("customer_id", "period_index").aggregate(
        revenue=facts.net_revenue.sum(),
        profit=facts.profit.sum(),
        orders=facts.is_paid.cast("int64").sum(),
    )


def customer_periods(facts: ir.Table) -> ir.Table:
    """:func:`customer_period_revenue` plus each customer's acquisition cohort.

    Columns: ``customer_id``, ``period_index``, ``revenue``, ``profit``, ``orders``
    (paid orders) and ``cohort_index``: the first period in which the customer has a
    paid order (null if they never had one), repeated on all their rows.  Both sides
    of the join read the same customer-period table, which the engine computes once.
    """
    cp = customer_period_revenue(facts)
    paid = cp.filter(cp.orders > 0)
    first = paid.group_by("customer_id").aggregate(cohort_index=paid.period_index.min())
    first = first.rename(_fcid="customer_id")
    return cp.left_join(first, cp.customer_id == first._fcid).drop("_fcid")


def first_paid_orders(facts: ir.Table) -> ir.Table:
    """Each customer's acquisition: the date and period of their first paid order.

    Columns: ``customer_id``, ``first_date`` (date), ``cohort_index`` (int64) and
    ``cohort`` (date: first day of the acquisition period, the customer's cohort for
    life).  The facts must come from :func:`order_facts` with the wanted period.
    Customers without a paid order do not appear: they never became customers.
    Aggregation only (no window), so ties on the same day cannot matter.
    """
    paid = facts.filter(facts.is_paid)
    return paid.group_by("customer_id").aggregate(
        first_date=paid.order_date.min(),
        cohort_index=paid.period_index.min(),
        cohort=paid.period.min(),
    )


# -- channels ------------------------------------------------------------------------


def channel_kind(channel: ir.StringValue, config: Config) -> ir.StringValue:
    """Map channel names to kinds through ``[channels]``; unknown or null is ``other``.

    The channel name ``referral`` (which :func:`customer_channels` gives referred
    customers) is kind ``referral`` unless ``[channels]`` says otherwise.
    """
    mapping = {"referral": "referral", **config.channels}
    pairs = [(channel == name, kind) for name, kind in sorted(mapping.items())]
    return ibis.cases(*pairs, else_="other")


def customer_channels(ctx: MetricContext) -> ir.Table:
    """Channel and channel kind of every row of ``customers``.

    Columns: ``customer_id``, ``channel``, ``channel_kind``, ``referred_by``.

    Referral is a channel: a customer with ``referred_by`` set is kind ``referral``,
    and their channel is ``referral`` unless their own channel already maps to kind
    ``referral``.  Otherwise the channel is ``customers.channel`` (``(none)`` when
    empty) and its kind comes from ``[channels]`` (unknown names are ``other``).
    Customers missing from ``customers`` (only in ``orders``) get ``(none)`` and
    ``other`` when joined with :func:`attach_channels`.
    """
    c = ctx.table("customers")
    referred = c.referred_by.notnull() & (c.referred_by != "")
    own_kind = channel_kind(c.channel, ctx.config)
    has_channel = c.channel.notnull() & (c.channel != "")
    channel = ibis.cases(
        (referred & (~has_channel | (own_kind != "referral")), "referral"),
        (has_channel, c.channel),
        else_="(none)",
    )
    kind = ibis.cases((referred, "referral"), (has_channel, own_kind), else_="other")
    return c.select(
        customer_id=c.customer_id,
        channel=channel,
        channel_kind=kind,
        referred_by=c.referred_by,
    )


def attach_channels(ctx: MetricContext, table: ir.Table) -> ir.Table:
    """Left-join ``channel`` and ``channel_kind`` onto a table with ``customer_id``.

    Customers without a row in ``customers`` get channel ``(none)`` and kind ``other``.
    """
    ch = customer_channels(ctx).select("customer_id", "channel", "channel_kind")
    ch = ch.rename(_cid="customer_id")
    joined = table.left_join(ch, table.customer_id == ch._cid)
    return joined.mutate(
        channel=joined.channel.fill_null("(none)"),
        channel_kind=joined.channel_kind.fill_null("other"),
    ).drop("_cid")


# -- spend ---------------------------------------------------------------------------


def spend_by_period(ctx: MetricContext, period: Period) -> ir.Table:
    """Spend per channel and period, each row spread over the periods it covers.

    Columns: ``channel``, ``channel_kind``, ``is_retention`` (channel listed in
    ``[metrics] retention_channels``), ``period_index``, ``period``, ``amount``
    (decimal, to the cent).  A spend row covering ``n`` days of which ``k`` fall in a
    period puts ``amount × k / n`` in that period, rounded half up to the cent (so
    the pieces may differ from the row's amount by a cent or two in total); a row
    inside one period keeps its exact amount.
    """
    s = ctx.table("spend")
    start = s.period_start.cast("date")
    end = s.period_end.cast("date")
    rows = s.select(
        channel=s.channel,
        amount=s.amount.cast(MONEY),
        d0=start.epoch_days().cast("int64"),
        d1=end.epoch_days().cast("int64"),
        i0=period_index(start, period),
        i1=period_index(end, period),
    )
    rows = rows.mutate(period_index=ibis.range(rows.i0, rows.i1 + 1)).unnest("period_index")
    rows = rows.mutate(period_index=rows.period_index.cast("int64"))
    p_first = index_to_start(rows.period_index, period).epoch_days().cast("int64")
    p_next = index_to_start(rows.period_index + 1, period).epoch_days().cast("int64")
    lo = ibis.greatest(rows.d0, p_first)
    hi = ibis.least(rows.d1, p_next - 1)
    days = (hi - lo + 1).cast("int64")
    total = (rows.d1 - rows.d0 + 1).cast("int64")
    # Exact integer arithmetic in cents, rounded half up: (2·c·k + n) // (2·n).
    cents = (rows.amount * 100).cast("int64")
    share_cents = (cents * days * 2 + total) // (total * 2)
    share = cents_to_money(share_cents)
    amount = ibis.cases((rows.i0 == rows.i1, rows.amount), else_=share)
    rows = rows.mutate(amount=amount)
    retention = retention_channels(ctx.config)
    out = rows.group_by("channel", "period_index").aggregate(amount=rows.amount.sum())
    return out.mutate(
        channel_kind=channel_kind(out.channel, ctx.config),
        is_retention=out.channel.isin(retention) if retention else ibis.literal(False),
        period=index_to_start(out.period_index, period),
    )


def retention_channels(config: Config) -> list[str]:
    """Channel names whose spend is retention spend (``[metrics] retention_channels``)."""
    return [str(c) for c in config.metrics.retention_channels]


# -- referral rewards ----------------------------------------------------------------

#: Reward statuses that never cost anything (the others count as referral CAC).
VOID_REWARD_STATUSES = ("blocked", "forfeited", "void", "cancelled", "canceled", "rejected")


def referral_reward_costs(ctx: MetricContext, period: Period) -> ir.Table | None:
    """Referral rewards as acquisition cost of the ``referral`` channel kind, or None.

    Reads the reward ledger of :func:`regulars.metrics.referrals.referral_rewards`
    when that module exists (None otherwise, and when the ledger has no ``amount``
    column).  Rows whose ``status`` is void (blocked, forfeited, cancelled...) are
    left out; earned and pending rewards count.  A reward is a cost of the period the
    referral qualified in (``qualified_at``: the referee's first paid order; else
    ``earned_at``, else ``period``); the referred customer is ``referee`` (else
    ``referee_id``).

    Columns: ``referee`` (string, may be null), ``period_index`` (int64, the period
    the reward was earned in), ``amount`` (decimal).
    """
    referral_cfg = getattr(ctx.config, "referrals", None)
    if referral_cfg is not None and not getattr(referral_cfg, "rules", None):
        return None  # no reward rules: nothing to pay, and a cheaper query
    try:
        from regulars.metrics.referrals import referral_rewards
    except ImportError:
        return None
    ledger = referral_rewards(ctx)
    cols = set(ledger.columns)
    date_col = next(
        (c for c in ("qualified_at", "earned_at", "period", "reward_date") if c in cols), None
    )
    if "amount" not in cols or date_col is None:
        return None
    if "status" in cols:
        ledger = ledger.filter(~ledger.status.fill_null("").isin(VOID_REWARD_STATUSES))
    referee_col = next((c for c in ("referee", "referee_id") if c in cols), None)
    referee = ledger[referee_col].cast("string") if referee_col else ibis.null("string")
    return ledger.select(
        referee=referee,
        period_index=period_index(ledger[date_col].cast("date"), period),
        amount=ledger.amount.cast(MONEY),
    )
