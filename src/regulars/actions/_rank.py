"""The queue's selection as one engine query: quiet periods, one per customer, the
frequency cap, the holdout and this week's capacity.

:func:`plan` takes every playbook's candidates (one Ibis table, the union of their
:data:`~regulars.actions._candidates.CORE_COLUMNS` plus ``playbook``) and marks, in
the engine, which ones survive each step of :func:`~regulars.actions.compute_actions`.
Only the rows kept for this week's list leave the engine; the counts of the summary
line are aggregates of the same table.

The steps are the ones the Python queue took, written as joins and window functions
over the candidates in rank order (:func:`rank_order`): a candidate is *live* when no
quiet period covers it, *chosen* when it is the first of its customer and playbook
and, for a capped playbook, the first of its customer (and the customer was not
contacted lately and holds no action of a playbook that did not run), and *kept* when
it fits in the week (:func:`_fill_week`).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from regulars._config_actions import PLAYBOOK_NAMES

if TYPE_CHECKING:
    from regulars.actions._features import PlaybookContext
    from regulars.config import Config

__all__ = [
    "action_id_expr",
    "blocked_customers",
    "choose",
    "holdout_draw_expr",
    "mark",
    "rank_order",
]


def _digest_hex(*parts: ir.StringValue | str) -> ir.StringValue:
    """SHA-256 in hex of the parts joined by the unit separator, as ``_store._digest``."""
    text: ir.StringValue = ibis.literal("\x1f").join(
        [p if isinstance(p, ir.Value) else ibis.literal(p) for p in parts]
    )
    return text.hexdigest("sha256")


def action_id_expr(
    playbook: ir.StringValue, customer_id: ir.StringValue, episode: ir.StringValue
) -> ir.StringValue:
    """:func:`~regulars.actions.action_id` in the engine: ``A-`` and the first 12 hex
    digits of the SHA-256 of ``action``, the playbook, the customer and the episode."""
    digest = _digest_hex("action", playbook, customer_id, episode)
    return ibis.literal("A-") + digest.substr(0, 12)


def holdout_draw_expr(
    playbook: ir.StringValue, customer_id: ir.StringValue, salt: str
) -> ir.FloatingValue:
    """:func:`~regulars.actions.holdout_draw` in the engine: the first 15 hex digits
    of the SHA-256 of ``holdout``, the salt, the playbook and the customer, read as an
    integer (60 bits, exact in int64) and divided by 16**15 (a power of two, so the
    division is exact and the result is the same double as Python's)."""
    digest = _digest_hex("holdout", salt, playbook, customer_id)
    total: ir.IntegerValue = ibis.literal(0, "int64")
    for i in range(15):
        code = digest.substr(i, 1).ascii_str().cast("int64")
        # '0'-'9' are 48-57, 'a'-'f' are 97-102
        digit = code - 48 - ibis.ifelse(code >= 97, 39, 0)
        total = total * 16 + digit
    return total.cast("float64") / float(16**15)


def _by_playbook(
    playbook: ir.StringValue, values: Mapping[str, object], default: object
) -> ir.Value:
    return ibis.cases(
        *[(playbook == name, ibis.literal(v)) for name, v in values.items()],
        else_=ibis.literal(default),
    )


def rank_order(t: ir.Table) -> list[ir.Value]:
    """The order in which candidates take customers and places on the list (see
    :func:`~regulars.actions._queue.rank_key`): sticky first, then the rounded value
    largest first, the playbook's place, the customer id and the action id."""
    return [t._sticky.desc(), t._rank_value.desc(), t._playbook_place, t.customer_id, t._tie]


def _quiet(ctx: PlaybookContext, day: _dt.date) -> tuple[ir.Table, ir.Table]:
    """(customer_id, playbook) kept quiet on ``day``, and the action ids closed for good.

    Snoozed actions keep their playbook quiet until the snooze ends; done or dismissed
    ones for the playbook's ``cooldown_days`` (or until the date given).  An action
    done, or dismissed without a date or until after ``day``, is not raised again.
    """
    config = ctx.config
    a = ctx.action_state()
    t = ibis.date(day)
    cooldown = _by_playbook(
        a.playbook, {n: config.playbooks.get(n).cooldown_days for n in PLAYBOOK_NAMES}, 0
    ).cast("int64")
    until = ibis.cases(
        (a.status == "snoozed", a.until),
        (
            a.status.isin(("done", "dismissed")) & a.closed_on.notnull(),
            ibis.coalesce(a.until, (a.closed_on + cooldown.as_interval("D")).cast("date")),
        ),
        else_=ibis.null("date"),
    )
    quiet = (
        a.filter(until.notnull() & (until > t))
        .select(q_customer="customer_id", q_playbook="playbook")
        .distinct()
    )
    closed = a.filter(
        (a.status == "done") | ((a.status == "dismissed") & (a.until.isnull() | (a.until > t)))
    )
    return quiet, _action_keys(closed)


def _action_keys(a: ir.Table) -> ir.Table:
    """The (playbook, customer, episode) of actions: what their id is a hash of, so a
    join on them is a join on the id, without hashing every candidate."""
    return a.select(k_playbook="playbook", k_customer="customer_id", k_episode="episode").distinct()


def _sticky(ctx: PlaybookContext) -> ir.Table:
    """The actions already on the list (open or held out)."""
    a = ctx.action_state()
    return _action_keys(a.filter(a.status.isin(("open", "held_out"))))


def _capped(config: Config) -> list[str]:
    return [n for n in PLAYBOOK_NAMES if config.playbooks.get(n).respect_cap]


def blocked_customers(ctx: PlaybookContext, day: _dt.date, *, names: tuple[str, ...]) -> ir.Table:
    """Customers a capped playbook may not pick: touched, or with a capped action done,
    within ``frequency_cap_days``; or holding an open or held-out action of a capped
    playbook that did not run (it keeps the customer's slot)."""
    config = ctx.config
    capped = _capped(config)
    a = ctx.action_state()
    parts = []
    slot = a.filter(
        a.status.isin(("open", "held_out")),
        a.playbook.isin(capped),
        ~a.playbook.isin(list(names)),
    ).select(b_customer="customer_id")
    days = config.actions.frequency_cap_days
    if days > 0:
        start = ibis.date(day - _dt.timedelta(days=days))
        done = a.filter(
            a.status == "done",
            a.closed_on > start,
            a.closed_on <= ibis.date(day),
            a.playbook.isin(capped),
        ).select(b_customer="customer_id")
        parts.append(slot.union(done).distinct())
        tc = ctx.table("touches")
        when = tc.touched_at.cast("date")
        touched = tc.filter(when > start, when <= ibis.date(day))
        parts.append(touched.select(b_customer=touched.customer_id.cast("string")).distinct())
    else:
        parts.append(slot.distinct())
    out = parts[0].cast({"b_customer": "string"})
    for p in parts[1:]:
        out = out.union(p.cast({"b_customer": "string"}))
    return out.distinct()


def mark(
    ctx: PlaybookContext, candidates: ir.Table, *, day: _dt.date, names: tuple[str, ...]
) -> ir.Table:
    """Every candidate with its rank columns and flags.

    ``candidates`` has ``playbook`` and the core columns (and ``orders_at_stake`` when
    the book has no amounts).  Added: ``live`` (no quiet period covers
    it, step 1); ``_sticky`` (already on the list, open or held out); ``_blocked`` (its
    customer may not get a capped action, step 3); ``_capped`` (its playbook respects
    the cap); ``_rank_value``, ``_playbook_place`` and ``_tie`` for :func:`rank_order`.

    The last tie-breaker of the rank order is the action id, which only matters
    between candidates of one customer and playbook with the same value: only
    renewal_due has several per customer (one per subscription), so only its
    candidates are hashed (``_tie``; the others have one candidate per customer).
    """
    config = ctx.config
    c = candidates
    tie = ibis.ifelse(
        c.playbook == "renewal_due",
        action_id_expr(c.playbook, c.customer_id, c.episode),
        ibis.literal(""),
    )
    c = c.mutate(_tie=tie)
    if ctx.amounts:
        rank_value = c.at_stake.fill_null(0.0).round(2)
    else:
        rank_value = c.orders_at_stake.fill_null(0.0).round(4)
    place = _by_playbook(c.playbook, {n: i for i, n in enumerate(PLAYBOOK_NAMES)}, 99)
    c = c.mutate(_rank_value=rank_value, _playbook_place=place.cast("int64"))

    quiet, closed = _quiet(ctx, day)
    q = quiet.mutate(_q=ibis.literal(True))
    c = c.left_join(q, [c.customer_id == q.q_customer, c.playbook == q.q_playbook])
    c = c.drop("q_customer", "q_playbook")
    for flag, keys in (("_c", closed), ("_s", _sticky(ctx))):
        k = keys.mutate(**{flag: ibis.literal(True)})
        on = [
            c.playbook == k.k_playbook,
            c.customer_id == k.k_customer,
            c.episode == k.k_episode,
        ]
        c = c.left_join(k, on).drop("k_playbook", "k_customer", "k_episode")
    bl = blocked_customers(ctx, day, names=names).mutate(_b=ibis.literal(True))
    c = c.left_join(bl, c.customer_id == bl.b_customer).drop("b_customer")
    return c.mutate(
        live=c._q.isnull() & c._c.isnull(),
        _sticky=c._s.notnull(),
        _blocked=c._b.notnull(),
        _capped=c.playbook.isin(_capped(config)),
    ).drop("_q", "_c", "_s", "_b")


def choose(ctx: PlaybookContext, marked: ir.Table, *, room: int | None) -> ir.Table:
    """The chosen candidates (steps 2 to 5), with ``held`` and ``kept``.

    One candidate per customer and playbook, the first in rank order; for a capped
    playbook, only the customer's first (and none for a blocked customer).  ``held``:
    the customer is in the playbook's holdout.  ``kept``: it is on this week's list
    (``room`` places, None = no limit), see :func:`_fill_week`.
    """
    config = ctx.config
    live = marked.filter(marked.live)
    per_pair = ibis.window(group_by=[live.customer_id, live.playbook], order_by=rank_order(live))
    live = live.mutate(_n=ibis.row_number().over(per_pair))
    first = live.filter(live._n == 0, ~live._capped | ~live._blocked)
    per_customer = ibis.window(
        group_by=[first.customer_id, first._capped], order_by=rank_order(first)
    )
    first = first.mutate(_n=ibis.row_number().over(per_customer))
    chosen = first.filter(~first._capped | (first._n == 0)).drop("_n")
    shares = {}
    for name in PLAYBOOK_NAMES:
        share = config.playbooks.get(name).holdout_share
        shares[name] = float(config.actions.holdout_share if share < 0 else share)
    share = _by_playbook(chosen.playbook, shares, 0.0).cast("float64")
    salt = config.actions.holdout_salt
    chosen = chosen.mutate(
        held=holdout_draw_expr(chosen.playbook, chosen.customer_id, salt) < share
    )
    if room is None:
        return chosen.mutate(kept=ibis.literal(True))
    return _fill_week(chosen, room, max(1, math.ceil(config.actions.playbook_share * room)))


def _fill_week(chosen: ir.Table, room: int, limit: int) -> ir.Table:
    """``chosen`` with ``kept``: the ranked candidates that fit in this week's ``room``.

    The two passes of the list, as running counts in rank order.  First pass: no
    playbook takes more than ``limit`` places, so a candidate is *eligible* while
    fewer than ``limit`` shown (not held-out) candidates of its playbook come before
    it, and it is *reached* while fewer than ``room`` eligible shown candidates come
    before it.  Second pass: the places still free go to the reached candidates that
    were not eligible, in rank order.  A held-out candidate stays where it would have
    been shown and takes no place.  Playbooks outside the cap are always kept.
    """
    t = chosen.mutate(_shown=(~chosen.held & chosen._capped).cast("int64"))
    order = rank_order(t)
    per_playbook = ibis.cumulative_window(group_by=t.playbook, order_by=order)
    t = t.mutate(_elig=(t._shown.sum().over(per_playbook) - t._shown) < limit)
    t = t.mutate(_en=(t._elig & (t._shown == 1)).cast("int64"))
    overall = ibis.cumulative_window(order_by=rank_order(t))
    t = t.mutate(
        _reached=(t._en.sum().over(overall) - t._en) < room,
        _on_list=ibis.least(t._en.sum().over(), room),
    )
    t = t.mutate(_skipped=t._reached & ~t._elig & t._capped)
    t = t.mutate(_sn=(t._skipped & (t._shown == 1)).cast("int64"))
    overall = ibis.cumulative_window(order_by=rank_order(t))
    t = t.mutate(_before=t._sn.sum().over(overall) - t._sn)
    kept = ~t._capped | (t._reached & t._elig) | (t._skipped & (t._before < (room - t._on_list)))
    helpers = ("_shown", "_elig", "_en", "_reached", "_on_list", "_skipped", "_sn", "_before")
    return t.mutate(kept=kept).drop(*helpers)
