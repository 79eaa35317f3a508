"""Customers: the searchable list, one customer's facts, and their timeline."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import ibis

from regulars.errors import NotFoundError, RegularsError

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

    from regulars.store import Workspace

__all__ = [
    "CUSTOMER_SORTS",
    "CustomerPage",
    "CustomerQueries",
    "customer_detail",
    "customer_timeline",
    "list_customers",
]

#: Sort keys of the customer list -> column.
CUSTOMER_SORTS = ("name", "p_alive", "clv", "last_order", "channel", "segment", "orders")


@dataclass(frozen=True)
class CustomerPage:
    """One page of the customer list."""

    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int
    sort: str
    descending: bool
    query: str = ""
    filters: dict[str, str] = field(default_factory=dict)


def _table(ws: Workspace, name: str) -> ir.Table:
    """Table ``name`` on the workspace's engine (the file, or the Parquet folder's view).

    Customer pages read through the engine, so a ``parquet`` workspace shows the rows
    of its Parquet files; the web app runs a ``spark`` workspace on DuckDB (see
    :func:`regulars.engine.interactive_config`).
    """
    if isinstance(ws, _OneCustomer):
        return ws.table(name)
    from regulars.engine import table

    return table(ws, name)


def _has_table(ws: Workspace, name: str) -> bool:
    if isinstance(ws, _OneCustomer):
        return ws.has_table(name)
    from regulars.engine import has_table

    return has_table(ws, name)


def _ledger(ws: Workspace, customer_id: str | ir.Value | None = None) -> ir.Table:
    """The orders through the one ledger (credit notes netted, cancelled orders out).

    With ``customer_id``, only that customer's orders: the ledger nets a credit note
    against an invoice of the same customer, so filtering first gives the same rows.
    """
    from regulars.ledger import credit_window_days, order_ledger

    orders = _table(ws, "orders")
    if customer_id is not None:
        orders = orders.filter(orders.customer_id == customer_id)
    return order_ledger(orders, credit_window_days=credit_window_days(ws.config))


def _purchases(ws: Workspace, customer_id: str | ir.Value | None = None) -> ir.Table:
    """The paid orders (see :mod:`regulars.ledger`)."""
    ledger = _ledger(ws, customer_id)
    return ledger.filter(ledger.is_purchase)


_SCORES = ("p_alive", "clv", "expected_orders_365d")
_INTERVALS = (
    "p_alive_low",
    "p_alive_high",
    "clv_low",
    "clv_high",
    "expected_orders_365d_low",
    "expected_orders_365d_high",
)


def _customer_rows(ws: Workspace, customer_id: str | ir.Value | None = None) -> ir.Table:
    c = _table(ws, "customers")
    if customer_id is not None:
        c = c.filter(c.customer_id == customer_id)
    o = _purchases(ws, customer_id)
    per = o.group_by(o.customer_id).aggregate(
        orders=o.order_id.nunique(),
        last_order=o.order_date.max().cast("date"),
        revenue=o.net_revenue.sum().cast("float64"),
    )
    t = c.left_join(per, c.customer_id == per.customer_id).select(
        c.customer_id,
        name=ibis.coalesce(c.name, c.customer_id),
        email=c.email,
        channel=c.channel,
        segment=c.segment,
        orders=ibis.coalesce(per.orders, 0),
        last_order=per.last_order,
        revenue=per.revenue,
    )
    if _has_table(ws, "scores"):
        scores = _table(ws, "scores")
        # 90% intervals: null for scores from before they were stored
        s = scores.select(
            "customer_id",
            *_SCORES,
            **{
                c: scores[c].cast("float64") if c in scores.columns else ibis.null("float64")
                for c in _INTERVALS
            },
        )
        if customer_id is not None:
            s = s.filter(s.customer_id == customer_id)
        t = t.left_join(s, t.customer_id == s.customer_id).drop("customer_id_right")
    else:
        t = t.mutate(**{c: ibis.null("float64") for c in (*_SCORES, *_INTERVALS)})
    return t


def list_customers(
    ws: Workspace,
    *,
    query: str = "",
    sort: str = "clv",
    descending: bool = True,
    channel: str | None = None,
    segment: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> CustomerPage:
    """Customers matching ``query`` (id, name or email, any case), sorted and paged."""
    if sort not in CUSTOMER_SORTS:
        raise RegularsError(
            f"Cannot sort customers by {sort!r}. Valid: {', '.join(CUSTOMER_SORTS)}.",
            hint={"option": "sort", "field": "sort", "value": "clv"},
        )
    t = _customer_rows(ws)
    q = query.strip()
    if q:
        needle = q.lower()
        t = t.filter(
            t.customer_id.lower().contains(needle)
            | t.name.lower().contains(needle)
            | t.email.lower().contains(needle)
        )
    filters: dict[str, str] = {}
    if channel:
        t = t.filter(t.channel == channel)
        filters["channel"] = channel
    if segment:
        t = t.filter(t.segment == segment)
        filters["segment"] = segment
    total = int(t.count().to_pyarrow().as_py())
    key = t[sort].desc(nulls_first=False) if descending else t[sort].asc(nulls_first=False)
    page = t.order_by([key, t.customer_id]).limit(max(1, min(limit, 500)), offset=max(0, offset))
    return CustomerPage(
        rows=list(page.to_pyarrow().to_pylist()),
        total=total,
        offset=max(0, offset),
        limit=limit,
        sort=sort,
        descending=descending,
        query=q,
        filters=filters,
    )


def customer_detail(ws: Workspace, customer_id: str) -> dict[str, Any]:
    """The customer's facts and scores; :class:`NotFoundError` for an unknown id."""
    return CustomerQueries(ws, prepare=False).detail(ws, customer_id)


def customer_timeline(ws: Workspace, customer_id: str, *, limit: int = 500) -> list[dict[str, Any]]:
    """Orders, refunds, touches, actions and outcomes, referrals and subscriptions.

    Newest first; each event has ``at`` (date or time), ``kind`` and its fields.
    """
    return CustomerQueries(ws, prepare=False).timeline(ws, customer_id, limit=limit)


class _Query:
    """One customer's rows of an Ibis expression built around a parameter for the id.

    Prepared, the expression is compiled once (building and compiling the Ibis
    expressions costs far more than running them on one customer) and each call
    runs the SQL with the id bound as a DuckDB parameter.  Not prepared, each call
    runs the expression through Ibis.
    """

    #: Stands for the customer id while compiling; then replaced by a parameter.
    _MARK = "__regulars_customer_id__"

    def __init__(self, ws: Workspace, build: Callable[[ir.Value], ir.Table], prepare: bool):
        self.param = ibis.param("string")
        self.expr = build(self.param)
        self.sql: str | None = None
        if prepare:
            sql = ws.ibis.compile(self.expr, params={self.param: self._MARK})
            quoted = f"'{self._MARK}'"
            if quoted in sql:
                self.sql = sql.replace(quoted, "$customer_id")

    def arrow(self, ws: Workspace, customer_id: str) -> pa.Table:
        """The rows as DuckDB returns them (prepared queries only)."""
        assert self.sql is not None
        return ws.con.sql(self.sql, params={"customer_id": customer_id}).to_arrow_table()

    def rows(self, ws: Workspace, customer_id: str) -> list[dict[str, Any]]:
        if self.sql is None:
            table = self.expr.to_pyarrow(params={self.param: customer_id})
        else:  # Ibis's types, as to_pyarrow gives them
            table = self.expr.__pyarrow_result__(self.arrow(ws, customer_id))
        return list(table.to_pylist())


def _rows_of(ws: Workspace, table: str) -> Callable[[ir.Value], ir.Table]:
    """The rows of ``table`` whose ``customer_id`` is the parameter."""

    def build(cid: ir.Value) -> ir.Table:
        t = _table(ws, table)
        return t.filter(t.customer_id == cid)

    return build


class _OneCustomer:
    """Stands for the workspace in the queries of one customer's facts and orders.

    Its tables are that customer's rows of ``orders``, ``customers`` and ``scores``,
    read once per page (one filtered scan each) and registered on the connection as
    ``_one_<table>``: the ledger's several passes over the orders then run on a few
    rows instead of the whole table.
    """

    TABLES = ("orders", "customers", "scores")

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self.config = ws.config

    def table(self, name: str) -> ir.Table:
        return ibis.table(_table(self._ws, name).schema(), name=f"_one_{name}")

    def has_table(self, name: str) -> bool:
        return _has_table(self._ws, name)


class CustomerQueries:
    """The queries of one customer's page, built for a workspace's current tables.

    :func:`customer_detail` and :func:`customer_timeline` build them for one call.
    A surface that shows many customers (the web app) builds them once with
    ``prepare=True`` and keeps them until the workspace changes: a customer's page
    then costs a handful of small DuckDB queries, each filtered by the customer id.
    """

    def __init__(self, ws: Workspace, *, prepare: bool = True) -> None:
        self._prepare = prepare
        self._has_scores = _has_table(ws, "scores")
        self._has_actions = _has_table(ws, "actions")
        self._queries: dict[str, _Query] = {}
        self._snapshots: dict[str, _Query] = {}
        if prepare:  # all at once: the object is then read-only, safe to share by threads
            for table in _OneCustomer.TABLES:
                if table != "scores" or self._has_scores:
                    self._snapshots[table] = _Query(ws, _rows_of(ws, table), prepare=True)
            for name in self._NAMES:
                if (name != "facts" or self._has_scores) and (
                    name != "actions" or self._has_actions
                ):
                    self._queries[name] = self._query(ws, name)

    _NAMES = ("row", "extra", "facts", "orders", "touches", "actions", "referrals", "subs")
    #: The queries that read the customer's rows of :class:`_OneCustomer` when prepared.
    _ON_SNAPSHOT = ("row", "extra", "facts", "orders")

    def _load(self, ws: Workspace, customer_id: str) -> None:
        """Register the customer's rows of :attr:`_OneCustomer.TABLES` on the connection."""
        # The prepared SQL reads the engine's views (a Parquet folder's): make sure this
        # connection has them (the web app opens one per request).
        _has_table(ws, "orders")
        for table, query in self._snapshots.items():
            ws.con.register(f"_one_{table}", query.arrow(ws, customer_id))

    def page(self, ws: Workspace, customer_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """:meth:`detail` and :meth:`timeline`, reading the customer's rows once."""
        self._load(ws, customer_id)
        return self._detail(ws, customer_id), self._timeline(ws, customer_id)

    def _query(self, ws: Workspace, name: str) -> _Query:
        return _Query(ws, lambda cid: self._build(ws, name, cid), self._prepare)

    def _rows(self, ws: Workspace, name: str, customer_id: str) -> list[dict[str, Any]]:
        query = self._queries.get(name)
        if query is None:
            query = self._queries[name] = self._query(ws, name)
        return query.rows(ws, customer_id)

    def _build(self, ws: Workspace, name: str, cid: ir.Value) -> ir.Table:
        one = ws
        if self._prepare and name in self._ON_SNAPSHOT:
            one = cast("Workspace", _OneCustomer(ws))  # its table() and has_table() only
        if name == "row":
            return _customer_rows(one, cid)
        if name == "orders":
            return _ledger(one, cid).select(
                "order_id", "order_date", "revenue", "refund", "refund_date", "is_credit_note"
            )
        if name == "extra":
            c1 = _table(one, "customers")
            return c1.filter(c1.customer_id == cid).select(
                "phone", "acquired_at", "referred_by", "attributes"
            )
        c = _table(ws, "customers")
        if name == "referrals":
            return c.filter(c.referred_by == cid).select("customer_id", "name", "acquired_at")
        if name == "facts":
            sc = _table(one, "scores")
            return sc.filter(sc.customer_id == cid).select("frequency", "recency", "T")
        if name == "touches":
            t = _table(ws, "touches")
            return t.filter(t.customer_id == cid).select(
                "touch_id", "touched_at", "kind", "note", "outcome"
            )
        if name == "actions":
            a = _table(ws, "actions")
            return a.filter(a.customer_id == cid).select(
                "action_id", "playbook", "status", "created_on", "closed_on", "outcome"
            )
        s = _table(ws, "subscriptions")  # "subs"
        return s.filter(s.customer_id == cid).select(
            "subscription_id", "plan", "start_date", "cancel_date", "price"
        )

    def detail(self, ws: Workspace, customer_id: str) -> dict[str, Any]:
        """The customer's facts and scores; :class:`NotFoundError` for an unknown id."""
        self._load(ws, customer_id)
        return self._detail(ws, customer_id)

    def _detail(self, ws: Workspace, customer_id: str) -> dict[str, Any]:
        rows = self._rows(ws, "row", customer_id)
        if not rows:
            raise NotFoundError(
                f"No customer with id {customer_id!r}.", hint={"field": "customer_id"}
            )
        row = dict(rows[0])
        extra = self._rows(ws, "extra", customer_id)
        row.update(extra[0] if extra else {})
        row["why"] = self._why(ws, row)
        return row

    def _why(self, ws: Workspace, row: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Plain-words reasons behind the scores, as (message id, values) to translate."""
        out: list[tuple[str, dict[str, Any]]] = []
        if row.get("p_alive") is None:
            return [("no_scores", {})]
        if self._has_scores:
            facts = self._rows(ws, "facts", row["customer_id"])
            if facts:
                f = facts[0]
                out.append(("repeat_orders", {"n": int(f["frequency"] or 0)}))
                if f["T"] is not None and f["recency"] is not None:
                    out.append(("since_last", {"days": round(float(f["T"] - f["recency"]))}))
        p = float(row["p_alive"])
        kind = "alive_high" if p >= 0.7 else "alive_mid" if p >= 0.3 else "alive_low"
        out.append((kind, {"p": p}))
        return out

    def timeline(
        self, ws: Workspace, customer_id: str, *, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Orders, refunds, touches, actions and outcomes, referrals and subscriptions.

        Newest first; each event has ``at`` (date or time), ``kind`` and its fields.
        """
        self._load(ws, customer_id)
        return self._timeline(ws, customer_id, limit=limit)

    def _timeline(
        self, ws: Workspace, customer_id: str, *, limit: int = 500
    ) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for r in self._rows(ws, "orders", customer_id):
            if r["is_credit_note"]:  # a return, never an order
                ret = {"at": r["order_date"], "kind": "return", "id": r["order_id"]}
                events.append({**ret, "amount": r["refund"]})
                continue
            events.append(
                {
                    "at": r["order_date"],
                    "kind": "order",
                    "id": r["order_id"],
                    "amount": r["revenue"],
                }
            )
            if r["refund"]:
                events.append(
                    {
                        "at": r["refund_date"] or r["order_date"],
                        "kind": "refund",
                        "id": r["order_id"],
                        "amount": r["refund"],
                    }
                )
        for r in self._rows(ws, "touches", customer_id):
            events.append(
                {
                    "at": r["touched_at"],
                    "kind": "touch",
                    "id": r["touch_id"],
                    "touch_kind": r["kind"],
                    "note": r["note"],
                    "outcome": r["outcome"],
                }
            )
        if self._has_actions:
            for r in self._rows(ws, "actions", customer_id):
                if r["status"] == "held_out":
                    continue
                events.append(
                    {
                        "at": r["closed_on"] or r["created_on"],
                        "kind": "action",
                        "id": r["action_id"],
                        "playbook": r["playbook"],
                        "status": r["status"],
                        "outcome": r["outcome"],
                    }
                )
        for r in self._rows(ws, "referrals", customer_id):
            events.append(
                {
                    "at": r["acquired_at"],
                    "kind": "referral",
                    "id": r["customer_id"],
                    "name": r["name"] or r["customer_id"],
                }
            )
        for r in self._rows(ws, "subs", customer_id):
            events.append(
                {
                    "at": r["start_date"],
                    "kind": "subscription",
                    "id": r["subscription_id"],
                    "plan": r["plan"],
                    "amount": r["price"],
                }
            )
            if r["cancel_date"]:
                events.append(
                    {"at": r["cancel_date"], "kind": "cancellation", "id": r["subscription_id"]}
                )

        def when(e: dict[str, Any]) -> dt.datetime:
            at = e["at"]
            if at is None:
                return dt.datetime.min
            return at if isinstance(at, dt.datetime) else dt.datetime.combine(at, dt.time())

        events.sort(key=lambda e: (when(e), e["kind"], e["id"]), reverse=True)
        return events[:limit]


def attributes_of(row: dict[str, Any]) -> dict[str, Any]:
    """The customer's free-form attributes as a dict (empty when none or not an object)."""
    raw = row.get("attributes")
    if not raw:
        return {}
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
