"""The action queue: candidates → cooldowns → one per customer → holdout → ranking.

:func:`compute_actions` runs every enabled playbook, then applies, in order:

1. *Quiet periods.*  An action already done, or dismissed, is not raised again.
   A customer stays quiet for a playbook while one of its actions is snoozed
   (until the snooze ends), and for ``cooldown_days`` after one is done or
   dismissed (or until the date given to ``dismiss --until``).
2. *One per playbook.*  A customer keeps only the most valuable candidate of each
   playbook.
3. *The frequency cap.*  Customers touched, or with an action done, within
   ``[actions] frequency_cap_days`` get no new action; the others get one action
   across all playbooks: the one already open if it still qualifies, else the most
   valuable.  Playbooks with ``respect_cap = false`` are outside the cap.
4. *The holdout.*  If the chosen customer is in the playbook's holdout (a hash of
   playbook and customer, see :func:`~regulars.actions.is_held_out`), the action is
   recorded as ``held_out`` and not shown.
5. *Ranking.*  Open actions are ranked by value at stake; the priority is 1 for
   urgent actions or the top quarter by value, 3 for the bottom half, else 2.  When
   the orders have no amounts (a customer + date log) the money at stake is unknown:
   the queue ranks by ``orders_at_stake`` instead (see
   :func:`~regulars.actions._candidates.with_orders_at_stake`) and stores no value.

Open or held-out actions of the playbooks that ran and no longer qualify are
marked ``expired``.

Every step runs in the engine (:mod:`regulars.actions._rank`): each playbook's
candidates are a query, their union is ranked, capped and held out by joins and
window functions, and only the rows kept for this week's list reach Python, where
their reasons and messages are written.  The action state read back is what the
steps need (quiet periods, the list so far, the week's closed actions), never the
whole history.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from regulars._config_actions import PLAYBOOK_NAMES
from regulars.actions import _playbooks_offers as offers
from regulars.actions import _playbooks_people as people
from regulars.actions._candidates import CORE_COLUMNS, Candidate, Playbook, orders_at_stake
from regulars.actions._engine import (
    computed_here,
    memory_limit,
    on_workspace_file,
    scalar,
    scratch_file,
)
from regulars.actions._features import build_context, snapshot_scores
from regulars.actions._rank import choose, contender, mark
from regulars.actions._store import (
    ACTION_EVENTS,
    ACTIONS,
    action_id,
    ensure_action_tables,
    resolve_today,
    to_json,
)
from regulars.errors import ActionError

if TYPE_CHECKING:
    from regulars.actions._features import PlaybookContext
    from regulars.config import Config
    from regulars.store import Workspace

__all__ = [
    "PLAYBOOKS",
    "ActionRun",
    "check_playbooks",
    "compute_actions",
    "open_actions",
    "rank_key",
]

#: Playbook name -> its query for candidates and how it words the kept ones.
PLAYBOOKS: dict[str, Playbook] = {
    "keep_in_touch": people.keep_in_touch,
    "next_step": offers.next_step,
    "package_offer": offers.package_offer,
    "ask_for_referral": people.ask_for_referral,
    "renewal_due": offers.renewal_due,
    "win_back": people.win_back,
    "guarantee_check_in": people.guarantee_check_in,
    "pay_referral_reward": offers.pay_referral_reward,
}
assert tuple(PLAYBOOKS) == PLAYBOOK_NAMES

_ORDER = {name: i for i, name in enumerate(PLAYBOOK_NAMES)}


@dataclass(frozen=True)
class ActionRun:
    """What :func:`compute_actions` did.

    Attributes
    ----------
    today : datetime.date
        The day the queue was computed for.
    actions : ibis.Table
        The open actions, ranked (see :func:`open_actions`).  For a what-if run, the
        actions the list would show on ``today``.
    candidates : dict[str, int]
        Candidates found per playbook, before quiet periods, the cap and the holdout.
    customers : int
        Customers with at least one candidate.
    shown, held_out : int
        Actions open after the run, and actions chosen but held out.
    quiet, capped, over_capacity : int
        Customers left without an action because every candidate was quiet (snoozed,
        dismissed or cooling down); because they were contacted within
        ``frequency_cap_days`` or already hold an action of a playbook that did not
        run; and because the week's list was full (``weekly_capacity``).  Each
        customer is counted once, so these never exceed ``customers``.
    expired : int
        Earlier actions that no longer qualify.
    capacity : int
        Room on this week's list (``weekly_capacity`` less the actions closed in the
        last 7 days); 0 = no limit.
    what_if : bool
        True when ``today`` lies before the day the stored queue was computed for: the
        list was computed as of that day and nothing was written.
    amounts : bool
        False when the orders have no amounts: the list is ranked by expected orders,
        and values at stake from the orders are empty.
    """

    today: _dt.date
    actions: ir.Table = field(repr=False)
    candidates: dict[str, int] = field(default_factory=dict)
    shown: int = 0
    held_out: int = 0
    quiet: int = 0
    capped: int = 0
    expired: int = 0
    customers: int = 0
    over_capacity: int = 0
    capacity: int = 0
    what_if: bool = False
    amounts: bool = True


def check_playbooks(names: Iterable[str] | None) -> tuple[str, ...]:
    """``names`` checked against the playbooks (None = all), in playbook order."""
    if names is None:
        return PLAYBOOK_NAMES
    if isinstance(names, str):
        names = [names]
    wanted = set(names)
    unknown = sorted(wanted - set(PLAYBOOK_NAMES))
    if unknown:
        raise ActionError(
            f"Unknown playbook {', '.join(map(repr, unknown))}. "
            f"Valid playbooks: {', '.join(PLAYBOOK_NAMES)}."
        )
    return tuple(n for n in PLAYBOOK_NAMES if n in wanted)


@dataclass
class _Existing:
    action_id: str
    status: str
    created_on: _dt.date


def _existing(ws: Workspace, ids: Sequence[str]) -> dict[str, _Existing]:
    """The stored actions among ``ids`` (this week's list: a few rows)."""
    if not ids:
        return {}
    rows = ws.con.execute(
        f"SELECT action_id, status, created_on FROM {ACTIONS.name} "
        "WHERE list_contains(?, action_id)",
        [list(ids)],
    ).fetchall()
    return {r[0]: _Existing(*r) for r in rows}


def _last_day(ws: Workspace) -> _dt.date | None:
    """The day the stored list was last computed for."""
    row = ws.con.execute(f"SELECT max(updated_on) FROM {ACTIONS.name}").fetchone()
    return row[0] if row else None


def _stale(ws: Workspace, names: Iterable[str], keep: set[str]) -> list[str]:
    """Open or held-out actions of the playbooks ``names`` that are not in ``keep``."""
    rows = ws.con.execute(
        f"SELECT action_id FROM {ACTIONS.name} WHERE status IN ('open', 'held_out') "
        "AND list_contains(?, playbook) ORDER BY action_id",
        [list(names)],
    ).fetchall()
    return [r[0] for r in rows if r[0] not in keep]


def _capped_playbooks(config: Config) -> list[str]:
    return [n for n in PLAYBOOK_NAMES if config.playbooks.get(n).respect_cap]


def _closed_this_week(ws: Workspace, config: Config, today: _dt.date) -> int:
    """Actions of capped playbooks done, snoozed or dismissed in the last 7 days."""
    row = ws.con.execute(
        f"SELECT count(*) FROM {ACTIONS.name} WHERE status IN ('done', 'snoozed', "
        "'dismissed') AND closed_on > ? AND closed_on <= ? AND list_contains(?, playbook)",
        [today - _dt.timedelta(days=7), today, _capped_playbooks(config)],
    ).fetchone()
    return int(row[0]) if row else 0


def _has_inputs(ctx: PlaybookContext, playbook: str) -> bool:
    """Cheap checks that let a playbook without any input data be skipped."""
    if playbook == "renewal_due":
        subs = scalar(ctx.table("subscriptions").count())
        o = ctx.table("orders")
        packages = scalar(o.filter(o.kind == "package").count())
        return bool(subs or packages)
    if playbook == "guarantee_check_in":
        return ctx.config.guarantee.days > 0
    if playbook == "pay_referral_reward":
        return bool(ctx.config.referrals.rules)  # no rules, no rewards
    return True


def _priorities(chosen: Sequence[Candidate]) -> dict[tuple[str, str], int]:
    values = sorted(c.rank_value for c in chosen)
    if not values:
        return {}

    def quantile(q: float) -> float:
        pos = q * (len(values) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(values) - 1)
        return values[lo] + (values[hi] - values[lo]) * (pos - lo)

    top, median = quantile(0.75), quantile(0.5)
    out = {}
    for c in chosen:
        if c.urgent or c.rank_value >= top:
            p = 1
        elif c.rank_value < median:
            p = 3
        else:
            p = 2
        out[(c.customer_id, c.playbook)] = p
    return out


def rank_key(aid: str, c: Candidate, sticky: bool) -> tuple[Any, ...]:
    """The order in which candidates take customers and places on the list.

    Actions already on the list (open or held out) first, so an unchanged book gives
    an unchanged list; then the value at stake, to the cent, largest first (without
    amounts: the orders at stake, to 1/10,000); then the playbook's place in
    :data:`PLAYBOOKS`, the customer id and the action id, so ties always break the
    same way.
    """
    value = round(c.rank_value, 2 if c.orders_at_stake is None else 4)
    return (not sticky, -value, _ORDER[c.playbook], c.customer_id, aid)


def compute_actions(
    ws: Workspace,
    /,
    *,
    today: _dt.date | str | None = None,
    playbooks: Iterable[str] | None = None,
    write: bool | None = None,
) -> ActionRun:
    """Run the playbooks and store this week's action queue in the workspace.

    Parameters
    ----------
    ws : Workspace
        The workspace; its ``actions`` table is updated in one transaction.
    today : date or str, optional
        The day to compute for.  Default: ``[actions] clock`` in regulars.toml,
        ``"data"`` = the date of the latest order (reproducible), ``"clock"`` = the
        computer's date.  Only data dated on or before ``today`` is read.
    playbooks : iterable of str, optional
        Run only these playbooks (default: every enabled one).  Open actions of the
        other playbooks are left as they are and still count for the cap.
    write : bool, optional
        Store the result (default: yes, unless ``today`` is before the day the stored
        queue was last computed for).  ``write=False`` is a what-if view: the list is
        computed and returned, and nothing in the workspace changes.

    Returns
    -------
    ActionRun
        The counts of the run and ``actions``, the ranked open actions.

    Examples
    --------
    >>> run = compute_actions(ws, today="2024-06-30")  # doctest: +SKIP
    >>> run.actions.limit(10).to_pandas()  # doctest: +SKIP
    """
    names = check_playbooks(playbooks)
    ensure_action_tables(ws)
    day = resolve_today(ws, today)
    with memory_limit(ws), scratch_file(ws):
        return _compute(ws, day, names, write)


def _compute(ws: Workspace, day: _dt.date, names: tuple[str, ...], write: bool | None) -> ActionRun:
    """:func:`compute_actions` for ``day``, under the engine's memory limit."""
    last_day = _last_day(ws)
    if write is None:
        write = last_day is None or day >= last_day
    if write:
        snapshot_scores(ws)
        return _run(ws, day, names, write)
    # A what-if view changes nothing in the workspace: it reads the stored tables of
    # the data version (regulars.engine.shared_table) but stores none for its day.
    stores, ws.stores_shared_tables = ws.stores_shared_tables, False
    try:
        return _run(ws, day, names, write)
    finally:
        ws.stores_shared_tables = stores


def _run(ws: Workspace, day: _dt.date, names: tuple[str, ...], write: bool) -> ActionRun:
    """:func:`_compute` once ``write`` is decided."""
    config = ws.config
    ctx = build_context(ws, day)

    # Each playbook's candidates are computed once, with the columns of their own
    # that their reasons and messages need: the queue ranks their core columns, and
    # the kept rows are worded from the same rows.  The customer facts a playbook's
    # rows carry (ctx.customers' columns) are not copied into its table, as they are
    # the same for every playbook: the kept rows read them back (_render).
    found: dict[str, ir.Table] = {}
    facts: dict[str, tuple[str, ...]] = {}
    for name in names:
        settings = config.playbooks.get(name)
        if settings.enable and _has_inputs(ctx, name):
            t = PLAYBOOKS[name].found(ctx, settings)
            facts[name] = tuple(
                c for c in ctx.customers.columns if c != "customer_id" and c in t.columns
            )
            found[name] = computed_here(t.drop(*facts[name]) if facts[name] else t)
    capacity = config.actions.weekly_capacity
    room = max(capacity - _closed_this_week(ws, config, day), 0) if capacity else None
    kept, counts, summary = _select(ctx, found, day=day, names=names, room=room)

    # Only this week's rows reach Python: their reasons and messages.
    candidates = _render(ctx, found, facts, kept)
    held = {r["action_id"]: bool(r["held"]) for r in kept}
    sticky = {r["action_id"]: bool(r["_sticky"]) for r in kept}
    listed = sorted(
        candidates.items(), key=lambda item: rank_key(item[0], item[1], sticky[item[0]])
    )
    shown = [c for aid, c in listed if not held[aid]]

    # 6. priorities, then write
    priority = _priorities(shown)
    if write:
        expired = _write(ws, day, listed, held, priority, names)
        actions = open_actions(ws)
    else:
        expired = 0
        actions = _what_if_actions(ctx, listed, held, priority)
    return ActionRun(
        today=day,
        actions=actions,
        candidates=counts,
        shown=len(shown),
        held_out=len(listed) - len(shown),
        quiet=summary["customers"] - summary["live"],
        capped=summary["live"] - summary["chosen"],
        expired=expired,
        customers=summary["customers"],
        over_capacity=summary["chosen"] - summary["kept"],
        capacity=room or 0,
        what_if=not write,
        amounts=ctx.amounts,
    )


def _select(
    ctx: PlaybookContext,
    found: dict[str, ir.Table],
    *,
    day: _dt.date,
    names: tuple[str, ...],
    room: int | None,
) -> tuple[list[dict[str, Any]], dict[str, int], dict[str, int]]:
    """Steps 1 to 5 in the engine: the rows kept for this week's list, the candidates
    per playbook, and the customers with a candidate, a live one, a chosen one and a
    kept one."""
    counts: dict[str, int] = {}
    summary = {"customers": 0, "live": 0, "chosen": 0, "kept": 0}
    if not found:
        return [], counts, summary
    parts = [
        t.select(*CORE_COLUMNS).cast(CORE_COLUMNS).mutate(playbook=ibis.literal(name))
        for name, t in found.items()
    ]
    union = parts[0]
    for part in parts[1:]:
        union = union.union(part)
    if not ctx.amounts:  # no money to rank by: rank by the orders at stake
        union = orders_at_stake(ctx, union)
    else:
        union = union.mutate(orders_at_stake=ibis.null("float64"))
    marked = computed_here(mark(ctx, union, day=day, names=names))
    chosen = computed_here(choose(ctx, marked, room=room))
    per_playbook = marked.group_by("playbook").agg(n=marked.count()).to_pyarrow().to_pylist()
    counts = {r["playbook"]: int(r["n"]) for r in per_playbook}
    counts = {name: counts.get(name, 0) for name in found}
    # Customers with a candidate, a live one and a chosen one (every customer with a
    # contender gets one), in one pass; then those on the list.
    per_customer = marked.group_by("customer_id").agg(
        _live=marked.live.any(), _chosen=contender(marked).any()
    )
    totals = per_customer.aggregate(
        customers=per_customer.count(),
        live=per_customer._live.cast("int64").sum(),
        chosen=per_customer._chosen.cast("int64").sum(),
    ).cross_join(chosen.aggregate(kept=chosen.customer_id.nunique()))
    summary = {k: int(v or 0) for k, v in totals.to_pyarrow().to_pylist()[0].items()}
    kept = chosen.select(
        "customer_id", "playbook", "episode", "orders_at_stake", "held", "_sticky"
    ).to_pyarrow()
    rows = kept.to_pylist()
    for r in rows:
        r["action_id"] = action_id(r["playbook"], r["customer_id"], r["episode"])
    return rows, counts, summary


def _render(
    ctx: PlaybookContext,
    found: dict[str, ir.Table],
    facts: dict[str, tuple[str, ...]],
    kept: list[dict[str, Any]],
) -> dict[str, Candidate]:
    """The kept rows as :class:`Candidate` objects, by action id, with their reasons
    and messages, worded from their rows of the playbooks' candidates (``found``,
    computed once for the run: only the kept rows are read back) and the customer
    facts (``facts``: the columns of ``ctx.customers`` each playbook's rows carried)."""
    out: dict[str, Candidate] = {}
    # The facts of every kept customer, read once for all playbooks.
    columns = [c for c in ctx.customers.columns if any(c in f for f in facts.values())]
    known: dict[str, dict[str, Any]] = {}
    if columns and kept:
        c = ctx.customers
        c = c.filter(c.customer_id.isin(sorted({r["customer_id"] for r in kept})))
        for row in c.select("customer_id", *columns).to_pyarrow().to_pylist():
            known[row.pop("customer_id")] = row
    for name, t in found.items():
        mine = [r for r in kept if r["playbook"] == name]
        if not mine:
            continue
        keys = ibis.memtable(
            {
                "_k_customer": [r["customer_id"] for r in mine],
                "_k_episode": [r["episode"] for r in mine],
            },
            schema={"_k_customer": "string", "_k_episode": "string"},
        )
        rows = t.semi_join(keys, [t.customer_id == keys._k_customer, t.episode == keys._k_episode])
        wanted = {(r["customer_id"], r["episode"]): r for r in mine}
        unique: dict[tuple[str, str], dict[str, Any]] = {}
        for r in rows.to_pyarrow().to_pylist():
            fact = known.get(r["customer_id"], {})
            r |= {k: fact.get(k) for k in facts.get(name, ())}
            unique.setdefault((r["customer_id"], r["episode"]), r)
        ordered = [unique[k] for k in sorted(unique)]
        for c in PLAYBOOKS[name].render(ctx, ctx.config.playbooks.get(name), ordered):
            r = wanted[(c.customer_id, c.episode)]
            if not ctx.amounts:
                c = dataclasses.replace(c, orders_at_stake=r["orders_at_stake"])
            out[r["action_id"]] = c
    return out


def _what_if_actions(
    ctx: PlaybookContext,
    kept: Sequence[tuple[str, Candidate]],
    held: dict[str, bool],
    priority: dict[tuple[str, str], int],
) -> ir.Table:
    """The list :func:`open_actions` would give, from candidates (nothing stored)."""
    shown = [(aid, c) for aid, c in kept if not held[aid]]
    ids = sorted({c.customer_id for _, c in shown})
    names: dict[str, str] = {}
    if ids:
        cu = ctx.table("customers")
        cu = cu.filter(cu.customer_id.cast("string").isin(ids))
        for r in cu.select("customer_id", "name").to_pyarrow().to_pylist():
            if r["name"] is not None:
                names[str(r["customer_id"])] = r["name"]
    rows = [
        {
            "action_id": aid,
            "customer_id": c.customer_id,
            "name": names.get(c.customer_id, c.customer_id),
            "playbook": c.playbook,
            "reason": c.reason.text,
            "reason_code": c.reason.code,
            "reason_params": c.reason.params_json(),
            "value_at_stake": c.money_at_stake,
            "priority": priority[(c.customer_id, c.playbook)],
            "due": c.due,
            "message": c.message,
            "created_on": ctx.today,
            "detail": to_json(c.detail),
            "orders_at_stake": c.orders_at_stake,
        }
        for aid, c in shown
    ]
    return _ranked(ibis.memtable(pa.Table.from_pylist(rows, schema=_OPEN_SCHEMA)))


def _write(
    ws: Workspace,
    day: _dt.date,
    chosen: Sequence[tuple[str, Candidate]],
    held: dict[str, bool],
    priority: dict[tuple[str, str], int],
    names: Iterable[str],
) -> int:
    """Upsert the kept actions, expire the stale ones, append the events."""
    now = _dt.datetime.now().replace(microsecond=0)
    existing = _existing(ws, [aid for aid, _ in chosen])
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    chosen_ids = {aid for aid, _ in chosen}
    for aid, c in chosen:
        e = existing.get(aid)
        status = "held_out" if held[aid] else "open"
        if e is None:
            events.append(_event(aid, "held_out" if held[aid] else "created", day, now))
        elif e.status != status:
            events.append(_event(aid, "reopened", day, now))
        rows.append(
            {
                "action_id": aid,
                "customer_id": c.customer_id,
                "playbook": c.playbook,
                "episode": c.episode,
                "status": status,
                "holdout": held[aid],
                "reason": c.reason.text,
                "reason_code": c.reason.code,
                "reason_params": c.reason.params_json(),
                "message": c.message,
                "value_at_stake": c.money_at_stake,
                "priority": None if held[aid] else priority[(c.customer_id, c.playbook)],
                "due": c.due,
                "created_on": e.created_on if e is not None else day,
                "updated_on": day,
                "closed_on": None,
                "until": None,
                "outcome": None,
                "note": None,
                "touch_id": None,
                "detail": to_json(c.detail),
                "orders_at_stake": c.orders_at_stake,
            }
        )
    stale = _stale(ws, names, chosen_ids)
    events.extend(_event(aid, "expired", day, now) for aid in stale)
    src = pa.Table.from_pylist(rows, schema=_ROW_SCHEMA)
    with ws.transaction() as con:
        con.register("_regulars_actions_src", src)
        try:
            ws.upsert(con, ACTIONS, "_regulars_actions_src")
        finally:
            con.unregister("_regulars_actions_src")
        if stale:
            con.execute(
                f"UPDATE {ACTIONS.name} SET status = 'expired', closed_on = ? "
                "WHERE list_contains(?, action_id)",
                [day, stale],
            )
        if events:
            insert_events(con, events)
    return len(stale)


_ROW_SCHEMA = pa.schema(
    [
        ("action_id", pa.string()),
        ("customer_id", pa.string()),
        ("playbook", pa.string()),
        ("episode", pa.string()),
        ("status", pa.string()),
        ("holdout", pa.bool_()),
        ("reason", pa.string()),
        ("reason_code", pa.string()),
        ("reason_params", pa.string()),
        ("message", pa.string()),
        ("value_at_stake", pa.float64()),
        ("priority", pa.int32()),
        ("due", pa.date32()),
        ("created_on", pa.date32()),
        ("updated_on", pa.date32()),
        ("closed_on", pa.date32()),
        ("until", pa.date32()),
        ("outcome", pa.string()),
        ("note", pa.string()),
        ("touch_id", pa.string()),
        ("detail", pa.string()),
        ("orders_at_stake", pa.float64()),
    ]
)


def _event(
    aid: str,
    event: str,
    day: _dt.date,
    now: _dt.datetime,
    *,
    outcome: str | None = None,
    note: str | None = None,
    until: _dt.date | None = None,
) -> dict[str, Any]:
    return {
        "action_id": aid,
        "event": event,
        "event_on": day,
        "recorded_at": now,
        "outcome": outcome,
        "note": note,
        "until": until,
    }


def insert_events(con: Any, events: list[dict[str, Any]]) -> None:
    """Append rows to ``action_events`` (inside the caller's transaction)."""
    src = pa.Table.from_pylist(
        events,
        schema=pa.schema(
            [
                ("action_id", pa.string()),
                ("event", pa.string()),
                ("event_on", pa.date32()),
                ("recorded_at", pa.timestamp("us")),
                ("outcome", pa.string()),
                ("note", pa.string()),
                ("until", pa.date32()),
            ]
        ),
    )
    con.register("_regulars_events_src", src)
    try:
        cols = ", ".join(ACTION_EVENTS.column_names)
        con.execute(
            f"INSERT INTO {ACTION_EVENTS.name} ({cols}) SELECT {cols} FROM _regulars_events_src"
        )
    finally:
        con.unregister("_regulars_events_src")


_OPEN_SCHEMA = pa.schema(
    [
        ("action_id", pa.string()),
        ("customer_id", pa.string()),
        ("name", pa.string()),
        ("playbook", pa.string()),
        ("reason", pa.string()),
        ("reason_code", pa.string()),
        ("reason_params", pa.string()),
        ("value_at_stake", pa.float64()),
        ("priority", pa.int32()),
        ("due", pa.date32()),
        ("message", pa.string()),
        ("created_on", pa.date32()),
        ("detail", pa.string()),
        ("orders_at_stake", pa.float64()),
    ]
)


def _ranked(t: ir.Table) -> ir.Table:
    """Open actions in list order: value at stake, largest first (without amounts:
    orders at stake), then priority, due date, customer id and action id."""
    return t.order_by(
        [
            t.value_at_stake.desc(nulls_first=False),
            t.orders_at_stake.desc(nulls_first=False),
            t.priority,
            t.due,
            t.customer_id,
            t.action_id,
        ]
    )


def open_actions(ws: Workspace, /, *, playbook: str | None = None) -> ir.Table:
    """The open actions, ranked by value at stake (then priority, due date, customer
    id and action id); when the orders have no amounts, by the orders at stake.

    Columns: action_id, customer_id, name, playbook, reason, reason_code,
    reason_params, value_at_stake, priority, due, message, created_on, detail,
    orders_at_stake (empty when the orders have amounts).
    ``reason`` is in English; ``reason_code`` and ``reason_params`` (JSON) hold the
    same reason as data (see ``docs/actions.md``, "Reasons as data").  Held-out,
    done, snoozed, dismissed and expired actions are not included.  Names come from
    the engine's ``customers``.
    """
    ensure_action_tables(ws)
    a = ws.table(ACTIONS.name)
    a = a.filter(a.status == "open")
    if playbook is not None:
        check_playbooks([playbook])
        a = a.filter(a.playbook == playbook)
    if on_workspace_file(ws):
        cu = ws.table("customers").select(customer_id="customer_id", _name="name")
    else:
        from regulars.actions._engine import input_tables

        ids = sorted({str(v) for v in a.select("customer_id").to_pyarrow().column(0)})
        engine_cu = input_tables(ws)["customers"]
        engine_cu = engine_cu.filter(engine_cu.customer_id.cast("string").isin(ids or [""]))
        names = engine_cu.select(
            customer_id=engine_cu.customer_id.cast("string"), _name=engine_cu.name
        ).to_pyarrow()
        cu = ibis.memtable(names)
    a = a.left_join(cu, "customer_id").drop("customer_id_right")
    out = a.select(
        "action_id",
        "customer_id",
        name=ibis.coalesce(a._name, a.customer_id),
        playbook="playbook",
        reason="reason",
        reason_code="reason_code",
        reason_params="reason_params",
        value_at_stake="value_at_stake",
        priority="priority",
        due="due",
        message="message",
        created_on="created_on",
        detail="detail",
        orders_at_stake="orders_at_stake",
    )
    return _ranked(out)
