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
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from regulars._config_actions import PLAYBOOK_NAMES
from regulars.actions import _playbooks_offers as offers
from regulars.actions import _playbooks_people as people
from regulars.actions._candidates import Candidate, with_orders_at_stake
from regulars.actions._engine import on_workspace_file, scalar
from regulars.actions._features import build_context, snapshot_scores
from regulars.actions._store import (
    ACTION_EVENTS,
    ACTIONS,
    action_id,
    ensure_action_tables,
    is_held_out,
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

#: Playbook name -> the function that finds its candidates.
PLAYBOOKS: dict[str, Callable[[PlaybookContext, Any], list[Candidate]]] = {
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
    customer_id: str
    playbook: str
    status: str
    created_on: _dt.date
    closed_on: _dt.date | None
    until: _dt.date | None
    updated_on: _dt.date | None = None


def _existing(ws: Workspace) -> dict[str, _Existing]:
    rows = ws.con.execute(
        "SELECT action_id, customer_id, playbook, status, created_on, closed_on, until, "
        f"updated_on FROM {ACTIONS.name}"
    ).fetchall()
    return {r[0]: _Existing(*r) for r in rows}


def _quiet_until(config: Config, e: _Existing) -> _dt.date | None:
    """Until when (exclusive) the action keeps its customer quiet for its playbook."""
    if e.status == "snoozed":
        return e.until
    if e.status in ("done", "dismissed") and e.closed_on is not None:
        if e.until is not None:
            return e.until
        cooldown = config.playbooks.get(e.playbook).cooldown_days
        return e.closed_on + _dt.timedelta(days=cooldown)
    return None


def _capped_playbooks(config: Config) -> list[str]:
    return [n for n in PLAYBOOK_NAMES if config.playbooks.get(n).respect_cap]


def _recent_contacts(ctx: PlaybookContext, today: _dt.date) -> set[str]:
    """Customers touched, or with a capped action done, within the frequency cap."""
    days = ctx.config.actions.frequency_cap_days
    if days <= 0:
        return set()
    start = today - _dt.timedelta(days=days)
    tc = ctx.table("touches")
    when = tc.touched_at.cast("date")
    touched = tc.filter(when > ibis.date(start), when <= ibis.date(today))
    out = {str(v) for v in touched.select("customer_id").distinct().to_pyarrow().column(0)}
    rows = ctx.ws.con.execute(
        f"SELECT customer_id FROM {ACTIONS.name} WHERE status = 'done' "
        "AND closed_on > ? AND closed_on <= ? AND list_contains(?, playbook)",
        [start, today, _capped_playbooks(ctx.config)],
    ).fetchall()
    return out | {r[0] for r in rows}


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


def _fill_week(
    config: Config,
    chosen: list[tuple[str, Candidate]],
    held: dict[str, bool],
    room: int,
) -> list[tuple[str, Candidate]]:
    """The ranked candidates that fit in this week's ``room``.

    First pass: in rank order, no playbook takes more than ``[actions]
    playbook_share`` of the room (so the list is a mix a person can work through);
    second pass: places still free go to the candidates the first pass skipped, in
    rank order.  A held-out candidate stays when it would have been shown, and takes
    no place.  Playbooks outside the cap are always kept.
    """
    limit = max(1, math.ceil(config.actions.playbook_share * room))
    per_playbook: dict[str, int] = {}
    on_list = 0
    keep: set[str] = set()
    skipped: list[tuple[str, Candidate]] = []
    for aid, c in chosen:
        if not config.playbooks.get(c.playbook).respect_cap:
            keep.add(aid)
        elif on_list >= room:
            break
        elif per_playbook.get(c.playbook, 0) >= limit:
            skipped.append((aid, c))
        else:
            keep.add(aid)
            if not held[aid]:
                on_list += 1
                per_playbook[c.playbook] = per_playbook.get(c.playbook, 0) + 1
    for aid, _ in skipped:
        if on_list >= room:
            break
        keep.add(aid)
        if not held[aid]:
            on_list += 1
    # Outside-the-cap candidates after the break are kept too.
    keep |= {aid for aid, c in chosen if not config.playbooks.get(c.playbook).respect_cap}
    return [(aid, c) for aid, c in chosen if aid in keep]


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
    config = ws.config
    existing = _existing(ws)
    last_day = max((e.updated_on for e in existing.values() if e.updated_on), default=None)
    if write is None:
        write = last_day is None or day >= last_day
    if write:
        snapshot_scores(ws)
    ctx = build_context(ws, day)

    found: list[Candidate] = []
    counts: dict[str, int] = {}
    for name in names:
        settings = config.playbooks.get(name)
        if not settings.enable or not _has_inputs(ctx, name):
            continue
        got = PLAYBOOKS[name](ctx, settings)
        counts[name] = len(got)
        found.extend(got)
    if not ctx.amounts:  # no money to rank by: rank by the orders at stake
        found = with_orders_at_stake(ctx, found)
    everyone = {c.customer_id for c in found}

    quiet_map: dict[tuple[str, str], _dt.date] = {}
    for e in existing.values():
        until = _quiet_until(config, e)
        if until is not None:
            key = (e.customer_id, e.playbook)
            quiet_map[key] = max(until, quiet_map.get(key, until))

    # 1. quiet periods
    live: list[tuple[str, Candidate]] = []
    for c in found:
        aid = action_id(c.playbook, c.customer_id, c.episode)
        prev = existing.get(aid)
        same_closed = prev is not None and (
            prev.status == "done"
            or (prev.status == "dismissed" and (prev.until is None or prev.until > day))
        )
        if same_closed or quiet_map.get((c.customer_id, c.playbook), day) > day:
            continue
        live.append((aid, c))
    not_quiet = {c.customer_id for _, c in live}

    # 2. one candidate per customer and playbook; 3. the cap
    def sticky(aid: str) -> bool:
        return aid in existing and existing[aid].status in ("open", "held_out")

    live.sort(key=lambda item: rank_key(item[0], item[1], sticky(item[0])))
    recent = _recent_contacts(ctx, day)
    names_set = set(names)
    slot_taken = {
        e.customer_id
        for e in existing.values()
        if e.status in ("open", "held_out")
        and e.playbook not in names_set
        and config.playbooks.get(e.playbook).respect_cap
    }
    seen: set[tuple[str, str]] = set()
    chosen: list[tuple[str, Candidate]] = []
    for aid, c in live:
        if (c.customer_id, c.playbook) in seen:
            continue
        seen.add((c.customer_id, c.playbook))
        if config.playbooks.get(c.playbook).respect_cap:
            if c.customer_id in recent or c.customer_id in slot_taken:
                continue
            slot_taken.add(c.customer_id)
        chosen.append((aid, c))

    # 4. the holdout; 5. this week's capacity (held-out actions take the places they
    # would have had, so the holdout stays comparable with the list)
    salt = config.actions.holdout_salt
    capacity = config.actions.weekly_capacity
    room = max(capacity - _closed_this_week(ws, config, day), 0) if capacity else 0
    held: dict[str, bool] = {}
    for aid, c in chosen:
        share = config.playbooks.get(c.playbook).holdout_share
        if share < 0:
            share = config.actions.holdout_share
        held[aid] = is_held_out(c.playbook, c.customer_id, share, salt)
    kept = _fill_week(config, chosen, held, room) if capacity else list(chosen)
    shown = [c for aid, c in kept if not held[aid]]
    with_action = {c.customer_id for _, c in kept}
    chosen_customers = {c.customer_id for _, c in chosen}

    # 6. priorities, then write
    priority = _priorities(shown)
    if write:
        expired = _write(ws, day, existing, kept, held, priority, names_set)
        actions = open_actions(ws)
    else:
        expired = 0
        actions = _what_if_actions(ctx, kept, held, priority)
    return ActionRun(
        today=day,
        actions=actions,
        candidates=counts,
        shown=len(shown),
        held_out=len(kept) - len(shown),
        quiet=len(everyone - not_quiet),
        capped=len(not_quiet - chosen_customers),
        expired=expired,
        customers=len(everyone),
        over_capacity=len(chosen_customers - with_action),
        capacity=room if capacity else 0,
        what_if=not write,
        amounts=ctx.amounts,
    )


def _what_if_actions(
    ctx: PlaybookContext,
    kept: list[tuple[str, Candidate]],
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
    existing: dict[str, _Existing],
    chosen: list[tuple[str, Candidate]],
    held: dict[str, bool],
    priority: dict[tuple[str, str], int],
    names: set[str],
) -> int:
    """Upsert the kept actions, expire the stale ones, append the events."""
    now = _dt.datetime.now().replace(microsecond=0)
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
    stale = [
        e.action_id
        for e in existing.values()
        if e.status in ("open", "held_out")
        and e.playbook in names
        and e.action_id not in chosen_ids
    ]
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
