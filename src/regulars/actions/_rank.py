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
from regulars.actions._engine import computed_here

if TYPE_CHECKING:
    from regulars.actions._features import PlaybookContext
    from regulars.config import Config

__all__ = [
    "action_id_expr",
    "blocked_customers",
    "choose",
    "contender",
    "held_out_expr",
    "holdout_cut",
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


def holdout_cut(share: float) -> str:
    """The 15 hex digits a holdout draw's digest must be below for the customer to be
    held out at ``share``: ``""`` (nobody) to ``"g"`` (everybody).

    :func:`~regulars.actions.holdout_draw` reads the first 15 hex digits of a SHA-256
    as an integer ``n`` and divides it by 16**15; the customer is held out when that
    double is below ``share``.  The division is monotone in ``n``, so the customers
    held out are those whose ``n`` is below a cut: the smallest ``n`` whose draw is
    not below ``share``, found here by bisection with Python's own division (so the
    cut is exact, rounding included).  Lowercase hex digits of one length sort as
    their numbers, so the engine compares the digest's first 15 digits with the cut
    as text: one hash per candidate, no arithmetic.
    """
    top = 16**15
    lo, hi = 0, top
    while lo < hi:
        mid = (lo + hi) // 2
        if mid / top >= share:
            hi = mid
        else:
            lo = mid + 1
    if lo == 0:
        return ""
    return "g" if lo == top else f"{lo:015x}"


def held_out_expr(
    playbook: ir.StringValue, customer_id: ir.StringValue, salt: str, shares: Mapping[str, float]
) -> ir.BooleanValue:
    """:func:`~regulars.actions.is_held_out` in the engine, with each playbook's share
    from ``shares`` (0 for a playbook not in it), by :func:`holdout_cut`."""
    digest = _digest_hex("holdout", salt, playbook, customer_id).substr(0, 15)
    cuts = {name: holdout_cut(share) for name, share in shares.items()}
    return digest < _by_playbook(playbook, cuts, "").cast("string")


def _shares(config: Config) -> dict[str, float]:
    """Each playbook's holdout share (its own, else ``[actions] holdout_share``)."""
    out = {}
    for name in PLAYBOOK_NAMES:
        share = config.playbooks.get(name).holdout_share
        out[name] = float(config.actions.holdout_share if share < 0 else share)
    return out


def contender(marked: ir.Table) -> ir.BooleanValue:
    """Whether a candidate may be chosen: live, and for a capped playbook, of a
    customer who is not blocked (blocked is per customer).  Every customer with a
    contender gets a chosen candidate."""
    return marked.live & (~marked._capped | ~marked._blocked)


def _firsts(t: ir.Table) -> ir.Table:
    """Steps 2 and 3 in one window: the first candidate in rank order of each customer
    among the capped playbooks, and of each customer and playbook among the others.

    (For a capped playbook the first of the customer is also the first of its
    customer and playbook, so the one-per-playbook step needs no window of its own.)
    Within a customer the rank order needs no customer id."""
    group = ibis.ifelse(t._capped, ibis.literal(""), t.playbook)
    order = [t._sticky.desc(), t._rank_value.desc(), t._playbook_place, t._tie]
    t = t.mutate(_n=ibis.row_number().over(group_by=[t.customer_id, group], order_by=order))
    return t.filter(t._n == 0).drop("_n")


def choose(
    ctx: PlaybookContext, marked: ir.Table, *, room: int | None, start: int | None = None
) -> ir.Table:
    """The candidates on this week's list (steps 2 to 5), with ``held`` and ``kept``
    (always true).

    One candidate per customer and playbook, the first in rank order; for a capped
    playbook, only the customer's first (and none for a blocked customer).  ``held``:
    the customer is in the playbook's holdout.  Kept: on this week's list (``room``
    places, None = no limit), see :func:`_fill_week`.

    With a room, the windows run on few rows: a capped playbook's candidate can only
    be kept while fewer than ``limit + room`` shown candidates of its playbook come
    before it (see :func:`_fill_week`), so each capped playbook's leading chosen
    candidates decide the list (:func:`_leaders`), and only they are drawn for the
    holdout and filled in.  ``start`` is how many leading candidates per playbook are
    looked at first (for the tests).
    """
    config = ctx.config
    shares = _shares(config)
    salt = config.actions.holdout_salt
    c = marked.filter(contender(marked))
    if room is None:
        chosen = _firsts(c)
        held = held_out_expr(chosen.playbook, chosen.customer_id, salt, shares)
        return chosen.mutate(held=held, kept=ibis.literal(True))
    limit = max(1, math.ceil(config.actions.playbook_share * room))
    free = _firsts(c.filter(~c._capped))
    free = free.mutate(held=held_out_expr(free.playbook, free.customer_id, salt, shares))
    leaders = _leaders(c.filter(c._capped), shares, salt, need=limit + room, start=start)
    week = _fill_week(leaders, room, limit)
    week = week.filter(week.kept)
    return week.union(free.mutate(kept=ibis.literal(True)).select(*week.columns))


def _leaders(
    capped: ir.Table, shares: Mapping[str, float], salt: str, *, need: int, start: int | None
) -> ir.Table:
    """Of each capped playbook, its chosen candidates in rank order (with ``held``)
    until ``need`` shown ones, or all of them.

    A candidate is chosen when it is the first of its customer among the capped
    playbooks: the leading ``n`` candidates of each playbook are taken by rank
    (``ORDER BY ... LIMIT n``), their customers' other capped candidates are looked
    up, and those that come first for their customer are the playbook's leading
    chosen ones.  When they hold fewer than ``need`` shown candidates and the
    playbook has more, ``n`` grows fourfold and the lookup runs again.
    """
    sizes = {
        str(r["playbook"]): int(r["n"])
        for r in capped.group_by("playbook").agg(n=capped.count()).to_pyarrow().to_pylist()
    }
    first = start if start is not None else 4 * need + 16
    take = {p: min(first, n) for p, n in sizes.items()}
    while True:
        parts = []
        for p, n in sorted(take.items()):
            mine = capped.filter(capped.playbook == p)
            parts.append(mine.order_by(rank_order(mine)).limit(n))
        if not parts:
            return capped.mutate(held=ibis.literal(False)).limit(0)
        tops = parts[0]
        for part in parts[1:]:
            tops = tops.union(part)
        tops = computed_here(tops)
        who = tops.select(_w_customer="customer_id").distinct()
        rivals = capped.semi_join(who, capped.customer_id == who._w_customer)
        best = _firsts(rivals)
        keys = tops.select(k_p="playbook", k_c="customer_id", k_e="episode")
        best = best.semi_join(
            keys,
            [best.playbook == keys.k_p, best.customer_id == keys.k_c, best.episode == keys.k_e],
        )
        best = computed_here(
            best.mutate(held=held_out_expr(best.playbook, best.customer_id, salt, shares))
        )
        shown = {
            str(r["playbook"]): int(r["shown"] or 0)
            for r in best.group_by("playbook")
            .agg(shown=(~best.held).cast("int64").sum())
            .to_pyarrow()
            .to_pylist()
        }
        short = [p for p, n in take.items() if n < sizes[p] and shown.get(p, 0) < need]
        if not short:
            return best
        for p in short:
            take[p] = min(take[p] * 4, sizes[p])


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
