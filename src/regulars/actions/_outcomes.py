"""Recording what happened: outcomes of actions, touches, offers and reward payments."""

from __future__ import annotations

import datetime as _dt
import difflib
import hashlib
import json
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from regulars.actions._queue import insert_events
from regulars.actions._store import (
    ACTIONS,
    OFFERS,
    OUTCOMES,
    REWARD_PAYMENTS,
    ensure_action_tables,
    resolve_today,
)
from regulars.errors import ActionError
from regulars.schema import TOUCH_KINDS, TOUCHES

if TYPE_CHECKING:
    import duckdb

    from regulars.store import Workspace

__all__ = ["log_touch", "record_offer", "record_outcome"]

Status = Literal["done", "snoozed", "dismissed"]
_STATUS_ALIASES = {"done": "done", "snooze": "snoozed", "snoozed": "snoozed"} | {
    "dismiss": "dismissed",
    "dismissed": "dismissed",
}


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:12]


def _moment(ws: Workspace, at: _dt.datetime | _dt.date | str | None) -> _dt.datetime:
    """``at`` as a timestamp; default: today's date (actions clock) at the current time."""
    if isinstance(at, str):
        try:
            at = _dt.datetime.fromisoformat(at)
        except ValueError:
            raise ActionError(
                f"{at!r} is not a date or time (expected YYYY-MM-DD or YYYY-MM-DD HH:MM)."
            ) from None
    if isinstance(at, _dt.datetime):
        return at.replace(microsecond=0)
    if isinstance(at, _dt.date):
        return _dt.datetime.combine(at, _dt.time(12, 0))
    today = resolve_today(ws)
    return _dt.datetime.combine(today, _dt.datetime.now().time().replace(microsecond=0))


def _check_customer(ws: Workspace, customer_id: str) -> None:
    from regulars.actions._engine import input_tables

    t = input_tables(ws)
    ids = t["customers"].select(customer_id=t["customers"].customer_id.cast("string"))
    ids = ids.union(t["orders"].select(customer_id=t["orders"].customer_id.cast("string")))
    found = ids.filter(ids.customer_id == customer_id).count().to_pyarrow().as_py()
    if found:
        return
    known = [str(v) for v in ids.distinct().to_pyarrow().column(0)]
    close = difflib.get_close_matches(customer_id, known, n=3)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise ActionError(
        f"Unknown customer {customer_id!r}: no customer or order has this customer_id.{hint} "
        "Import the customer first (regulars import customers FILE)."
    )


def _insert_touch(
    con: duckdb.DuckDBPyConnection,
    ws: Workspace,
    *,
    customer_id: str,
    kind: str,
    at: _dt.datetime,
    note: str | None,
    outcome: str | None,
) -> str:
    touch_id = "T-" + _hash(customer_id, at.isoformat(), kind, note or "")
    src = pa.table(
        {
            "touch_id": [touch_id],
            "customer_id": [customer_id],
            "touched_at": pa.array([at], pa.timestamp("us")),
            "kind": [kind],
            "note": pa.array([note], pa.string()),
            "outcome": pa.array([outcome], pa.string()),
        }
    )
    con.register("_regulars_touch_src", src)
    try:
        ws.upsert(con, TOUCHES, "_regulars_touch_src")
    finally:
        con.unregister("_regulars_touch_src")
    return touch_id


def _insert_offer(
    con: duckdb.DuckDBPyConnection,
    *,
    customer_id: str,
    product: str,
    on: _dt.date,
    action_id: str | None,
    outcome: str | None,
) -> str:
    offer_id = "O-" + _hash(customer_id, product, on.isoformat())
    con.execute(f"DELETE FROM {OFFERS.name} WHERE offer_id = ?", [offer_id])
    con.execute(
        f"INSERT INTO {OFFERS.name} VALUES (?, ?, ?, ?, ?, ?)",
        [offer_id, customer_id, product, on, action_id, outcome],
    )
    return offer_id


def log_touch(
    ws: Workspace,
    customer_id: str,
    /,
    *,
    kind: str,
    note: str | None = None,
    outcome: str | None = None,
    at: _dt.datetime | _dt.date | str | None = None,
    offer: str | None = None,
) -> str:
    """Record a contact with a customer (and, optionally, the offer made in it).

    Parameters
    ----------
    ws : Workspace
    customer_id : str
        An existing customer (in ``customers`` or ``orders``).
    kind : str
        call, email, meeting, idea, gift or other.
    note, outcome : str, optional
        What was said and what came of it.
    at : datetime, date or str, optional
        When.  Default: "today" on the actions clock (see :func:`compute_actions`)
        at the current time of day.
    offer : str, optional
        A product (or ``package``) offered in this touch; it is recorded in
        ``offers`` so next_step and package_offer do not repeat it during their
        cooldown.

    Returns
    -------
    str
        The id of the touch (the same arguments give the same id, so logging a
        touch twice changes nothing).
    """
    if kind not in TOUCH_KINDS:
        raise ActionError(
            f"Touch kind {kind!r} is not valid. Valid kinds: {', '.join(TOUCH_KINDS)}."
        )
    ensure_action_tables(ws)
    _check_customer(ws, customer_id)
    when = _moment(ws, at)
    with ws.transaction() as con:
        touch_id = _insert_touch(
            con, ws, customer_id=customer_id, kind=kind, at=when, note=note, outcome=outcome
        )
        if offer:
            _insert_offer(
                con,
                customer_id=customer_id,
                product=offer,
                on=when.date(),
                action_id=None,
                outcome=None,
            )
    return touch_id


def record_offer(
    ws: Workspace,
    customer_id: str,
    product: str,
    /,
    *,
    on: _dt.date | str | None = None,
    outcome: str | None = None,
) -> str:
    """Record an offer made outside the action queue; returns its id."""
    ensure_action_tables(ws)
    _check_customer(ws, customer_id)
    day = _moment(ws, on).date()
    with ws.transaction() as con:
        return _insert_offer(
            con, customer_id=customer_id, product=product, on=day, action_id=None, outcome=outcome
        )


def _resolve_id(ws: Workspace, aid: str) -> str:
    """The full id of action ``aid``, which may be a unique start of an id (with or
    without ``A-``), as narrow terminals or hand-typed commands give it."""
    text = aid.strip()
    if ws.con.execute(f"SELECT 1 FROM {ACTIONS.name} WHERE action_id = ?", [text]).fetchone():
        return text
    start = text if text.upper().startswith("A-") else "A-" + text
    start = "A-" + start[2:].lower()
    if len(start) < 6:  # "A-" and at least four characters
        return text
    matches = [
        r[0]
        for r in ws.con.execute(
            f"SELECT action_id FROM {ACTIONS.name} WHERE starts_with(action_id, ?) "
            "ORDER BY action_id LIMIT 6",
            [start],
        ).fetchall()
    ]
    if len(matches) == 1:
        return str(matches[0])
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        raise ActionError(
            f"{aid!r} is the start of several action ids ({shown}). "
            "Type more of the id, or the whole id."
        )
    return text


def _get_action(ws: Workspace, aid: str) -> dict[str, Any]:
    aid = _resolve_id(ws, aid)
    cur = ws.con.execute(f"SELECT * FROM {ACTIONS.name} WHERE action_id = ?", [aid])
    row = cur.fetchone()
    if row is None:
        opened = [
            r[0]
            for r in ws.con.execute(
                f"SELECT action_id FROM {ACTIONS.name} WHERE status = 'open' "
                "ORDER BY value_at_stake DESC, action_id LIMIT 5"
            ).fetchall()
        ]
        listing = f" Open actions include: {', '.join(opened)}." if opened else ""
        raise ActionError(
            f"No action with id {aid!r}.{listing} Run `regulars actions` to list them."
        )
    cols = [d[0] for d in cur.description or []]
    return dict(zip(cols, row, strict=True))


def _as_date(value: _dt.date | str | None, what: str) -> _dt.date | None:
    if value is None or isinstance(value, _dt.date):
        return value.date() if isinstance(value, _dt.datetime) else value
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise ActionError(f"{what} = {value!r} is not a date (expected YYYY-MM-DD).") from None


def record_outcome(
    ws: Workspace,
    action_id: str,
    status: Status | str,
    /,
    *,
    outcome: str | None = None,
    until: _dt.date | str | None = None,
    note: str | None = None,
    touch_kind: str | None = None,
    log_touch: bool = True,
    on: _dt.date | str | None = None,
) -> dict[str, Any]:
    """Mark an action done, snoozed or dismissed, with its result.

    Parameters
    ----------
    ws : Workspace
    action_id : str
        The id shown by ``regulars actions``.
    status : {"done", "snoozed", "dismissed"}
        ``snooze`` and ``dismiss`` are accepted too.
    outcome : {"accepted", "declined", "no-reply"}, optional
        The customer's answer.  It can be added later by recording ``done`` again.
    until : date or str, optional
        Snoozed until (default: ``[actions] snooze_days`` from today), or dismissed
        until (default: the playbook's ``cooldown_days``).
    note : str, optional
        Stored with the action and on the touch.
    touch_kind : str, optional
        Kind of the touch logged for a done action (default: the playbook's
        ``touch_kind``).
    log_touch : bool
        Log a touch when the action is done (not for reward payments).  The touch
        links the outcome to the contact and counts for the frequency cap.
    on : date or str, optional
        The day it happened (default: today on the actions clock, but not before
        the day the action was last computed for).

    Returns
    -------
    dict
        The updated action.

    Notes
    -----
    Done next_step and package_offer actions also record the offer; done
    pay_referral_reward actions record the payment of every reward they list.
    """
    ensure_action_tables(ws)
    new = _STATUS_ALIASES.get(status)
    if new is None:
        raise ActionError(
            f"Status {status!r} is not valid. Valid statuses: done, snoozed, dismissed."
        )
    if outcome is not None and outcome not in OUTCOMES:
        raise ActionError(
            f"Outcome {outcome!r} is not valid. Valid outcomes: {', '.join(OUTCOMES)}."
        )
    a = _get_action(ws, action_id)
    action_id = a["action_id"]
    # By default the day the action was last computed for, or later (actions clock).
    day = _as_date(on, "on") or max(resolve_today(ws), a["updated_on"])
    until_day = _as_date(until, "until")
    if a["status"] == "held_out":
        raise ActionError(
            f"Action {action_id} is in the {a['playbook']} holdout: it is recorded to measure "
            "the playbook's lift and is not to be acted on. Nothing was changed."
        )
    if a["status"] in ("done", "dismissed") and not (
        new == "done" == a["status"] and outcome is not None
    ):
        raise ActionError(
            f"Action {action_id} is already {a['status']} (on {a['closed_on']}). "
            "To add the customer's answer to a done action, run it again with --outcome."
        )
    if new == "snoozed" and until_day is None:
        until_day = day + _dt.timedelta(days=ws.config.actions.snooze_days)
    if until_day is not None and until_day <= day:
        raise ActionError(
            f"until = {until_day.isoformat()} must be after today ({day.isoformat()})."
        )
    if new == "done" and until_day is not None:
        raise ActionError("--until applies to snooze and dismiss, not to done.")
    settings = ws.config.playbooks.get(a["playbook"])
    kind = touch_kind or settings.touch_kind
    if kind not in TOUCH_KINDS:
        raise ActionError(
            f"Touch kind {kind!r} is not valid. Valid kinds: {', '.join(TOUCH_KINDS)}."
        )
    detail = json.loads(a["detail"]) if a["detail"] else {}
    now = _dt.datetime.now().replace(microsecond=0)
    already_done = a["status"] == "done"
    with ws.transaction() as con:
        touch_id = a["touch_id"]
        if new == "done" and not already_done:
            touch_id = _on_done(con, ws, a, detail, day, kind, note, outcome, log_touch)
        elif already_done:
            con.execute("UPDATE touches SET outcome = ? WHERE touch_id = ?", [outcome, touch_id])
            con.execute(
                f"UPDATE {OFFERS.name} SET outcome = ? WHERE action_id = ?", [outcome, action_id]
            )
        con.execute(
            f"UPDATE {ACTIONS.name} SET status = ?, closed_on = ?, until = ?, outcome = ?, "
            "note = coalesce(?, note), touch_id = ? WHERE action_id = ?",
            [
                new,
                a["closed_on"] if already_done else day,
                until_day,
                outcome,
                note,
                touch_id,
                action_id,
            ],
        )
        insert_events(
            con,
            [
                {
                    "action_id": action_id,
                    "event": "outcome" if already_done else new,
                    "event_on": day,
                    "recorded_at": now,
                    "outcome": outcome,
                    "note": note,
                    "until": until_day,
                }
            ],
        )
    return _get_action(ws, action_id)


def _on_done(
    con: duckdb.DuckDBPyConnection,
    ws: Workspace,
    a: dict[str, Any],
    detail: dict[str, Any],
    day: _dt.date,
    kind: str,
    note: str | None,
    outcome: str | None,
    log_touch: bool,
) -> str | None:
    """Side effects of a done action: the touch, the offer, the reward payment."""
    aid, customer, playbook = a["action_id"], a["customer_id"], a["playbook"]
    if playbook == "pay_referral_reward":
        for r in detail.get("rewards", []):
            con.execute(
                f"DELETE FROM {REWARD_PAYMENTS.name} WHERE reward_key = ?", [r["reward_key"]]
            )
            con.execute(
                f"INSERT INTO {REWARD_PAYMENTS.name} VALUES (?, ?, ?, ?, ?, ?, ?)",
                [r["reward_key"], customer, r["referee"], r["side"], r["amount"], day, aid],
            )
        return None
    if playbook in ("next_step", "package_offer") and detail.get("product"):
        _insert_offer(
            con,
            customer_id=customer,
            product=detail["product"],
            on=day,
            action_id=aid,
            outcome=outcome,
        )
    if not log_touch:
        return None
    at = _dt.datetime.combine(day, _dt.datetime.now().time().replace(microsecond=0))
    return _insert_touch(
        con,
        ws,
        customer_id=customer,
        kind=kind,
        at=at,
        note=note or f"{playbook.replace('_', ' ')} (action {aid})",
        outcome=outcome,
    )
