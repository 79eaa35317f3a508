"""``regulars actions``, ``regulars action``, ``regulars touch``, ``regulars effectiveness``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from regulars._config_actions import PLAYBOOK_NAMES
from regulars._text import visible
from regulars.cli._common import (
    app,
    cell,
    console,
    err_console,
    esc,
    json_text,
    open_workspace,
    workspace_option,
    write_out,
)
from regulars.schema import TOUCH_KINDS

FORMATS = ("table", "csv", "json")
_DATE = click.DateTime(["%Y-%m-%d"])
_OUTCOMES = ("accepted", "declined", "no-reply")
RAW_HELP = (
    "CSV: write text cells exactly as stored. By default a cell that starts with "
    "= + - @, a tab or a carriage return gets a leading ' so spreadsheets do not run it."
)

#: The columns of ``regulars actions --format json|csv``.
ACTION_FIELDS = (
    "action_id",
    "customer_id",
    "name",
    "playbook",
    "reason",
    "value_at_stake",
    "priority",
    "due",
    "message",
    "created_on",
    "reason_code",
    "reason_params",
    "orders_at_stake",
)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _records(
    rows: list[dict[str, Any]], fields: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    keys = fields or (tuple(rows[0]) if rows else ())
    return [{k: _plain(r.get(k)) for k in keys} for r in rows]


def _emit(
    rows: list[dict[str, Any]],
    fmt: str,
    fields: tuple[str, ...] | None = None,
    *,
    raw: bool = False,
) -> None:
    from regulars.io._export import safe_cell

    records = _records(rows, fields)
    if fmt == "json":
        write_out(json_text(json.dumps(records, ensure_ascii=False, indent=2)) + "\n")
        return
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")  # RFC 4180; quotes a CR in a cell
    keys = fields or (tuple(records[0]) if records else ())
    writer.writerow(keys)
    for r in records:
        cells = ["" if r[k] is None else r[k] for k in keys]
        writer.writerow(cells if raw else [safe_cell(c) for c in cells])
    write_out(buf.getvalue())


def _money(value: Any, currency: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{float(value):,.0f} {currency}"


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


# -- regulars actions ----------------------------------------------------------------


@app.command("actions")
@click.option(
    "--playbook",
    type=click.Choice(PLAYBOOK_NAMES),
    help="Show only this playbook's actions.",
)
@click.option("--limit", "-n", type=click.IntRange(min=1), help="Show at most N actions.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format (json and csv carry the suggested message too).",
)
@click.option("--raw", is_flag=True, help=RAW_HELP)
@click.option(
    "--today",
    type=_DATE,
    metavar="DATE",
    help="Compute for this day (default: [actions] clock: the latest order date).",
)
@workspace_option
def actions_command(
    playbook: str | None,
    limit: int | None,
    fmt: str,
    raw: bool,
    today: dt.datetime | None,
    workspace: Path | None,
) -> None:
    """Who to contact this week, why, and the money at stake.

    Runs every enabled playbook (keep_in_touch, next_step, package_offer,
    ask_for_referral, renewal_due, win_back, guarantee_check_in,
    pay_referral_reward), applies snoozes, cooldowns, the frequency cap and the
    holdout, stores the queue in the workspace and shows the open actions ranked by
    value at stake. Ids stay the same when you run it again.

    \b
    Examples:
        regulars actions
        regulars actions --playbook win_back --limit 10
        regulars actions --format json > this-week.json
        regulars action done A-1f3c0e9d2b7a --outcome accepted
    """
    from regulars.actions import compute_actions, open_actions
    from regulars.actions._reasons import clauses_of

    ws = open_workspace(workspace)
    try:
        run = compute_actions(ws, today=_day(today))
        if run.what_if:
            expr = run.actions
            if playbook is not None:
                expr = expr.filter(expr.playbook == playbook)
        else:
            expr = open_actions(ws, playbook=playbook)
        if limit is not None:
            expr = expr.limit(limit)
        rows = expr.to_pyarrow().to_pylist()
        if fmt != "table":
            if fmt == "json":  # the clauses as JSON, not as a string holding JSON
                for r in rows:
                    if r.get("reason_params"):
                        r["reason_params"] = clauses_of(r["reason_params"])
            _emit(rows, fmt, ACTION_FIELDS, raw=raw)
            return
        _print_actions(rows, ws.config.workspace.currency, run.today)
        _print_summary(run)
        if rows and not run.what_if:
            err_console.print(
                "Record what happened: [bold]regulars action done ID --outcome accepted[/] "
                "(or snooze / dismiss; the first characters of an id are enough)."
            )
    finally:
        ws.close()


def _print_summary(run: Any) -> None:
    from rich.text import Text

    room = f" of this week's {run.capacity}" if run.capacity else ""
    parts = [
        f"{run.shown} open{room}",
        f"{run.held_out} held out (not shown)",
    ]
    left = [
        (run.over_capacity, "over this week's capacity"),
        (run.capped, "contacted recently or holding another action"),
        (run.quiet, "snoozed, dismissed or cooling down"),
    ]
    waiting = [f"{n:,} {what}" for n, what in left if n]
    text = ", ".join(parts)
    if run.customers:
        text += f". {run.customers:,} customers qualified"
        if waiting:
            text += "; left for later: " + ", ".join(waiting)
    if run.expired:
        text += f". {run.expired} earlier actions expired"
    err_console.print(Text(text + "."))
    if not run.amounts:
        err_console.print(
            Text(
                "The orders have no amounts, so there is no money at stake: the list is "
                "ranked by the orders at stake (from P(alive) and each customer's orders "
                "per year)."
            )
        )
    if run.what_if:
        err_console.print(
            Text(
                f"What-if view for {run.today.isoformat()}: the stored list was computed for a "
                "later day, so nothing was written. Run without --today to update it."
            )
        )


def _print_actions(rows: list[dict[str, Any]], currency: str, today: dt.date) -> None:
    """One line per action (full id, playbook, value, priority, due, customer), with
    the reason wrapped under it: readable at 80 columns, and every id is whole."""
    from rich.padding import Padding
    from rich.text import Text

    if not rows:
        console.print(Text(f"No open actions for {today.isoformat()}."))
        return
    # Without amounts (a customer + date log) the money at stake is unknown, not 0.
    money = [
        "no amounts"
        if r["value_at_stake"] is None and r.get("orders_at_stake") is not None
        else _money(r["value_at_stake"], currency)
        for r in rows
    ]
    id_w = max(len("id"), *(len(r["action_id"]) for r in rows))
    pb_w = max(len("playbook"), *(len(r["playbook"]) for r in rows))
    money_w = max(len("at stake"), *(len(m) for m in money))
    console.print(Text(f"Actions for {today.isoformat()}", style="bold"))
    header = (
        f"{'id':<{id_w}}  {'playbook':<{pb_w}}  {'at stake':>{money_w}}  P  {'due':<10}  customer"
    )
    console.print(Text(header, style="bold"), no_wrap=True, overflow="ellipsis")
    for r, m in zip(rows, money, strict=True):
        due = r["due"].isoformat() if r["due"] else ""
        line = Text(
            visible(
                f"{r['action_id']:<{id_w}}  {r['playbook']:<{pb_w}}  {m:>{money_w}}  "
                f"{r['priority'] or '-'}  {due:<10}  "
            )
        )
        line.append(visible(r["name"]))
        console.print(line, no_wrap=True, overflow="ellipsis")
        console.print(Padding(Text(visible(r["reason"] or ""), style="dim"), (0, 0, 0, 4)))


# -- regulars action done|snooze|dismiss ----------------------------------------------


@app.group("action")
def action_group() -> None:
    """Record what happened with an action: done, snooze or dismiss.

    \b
    Examples:
        regulars action done A-1f3c0e9d2b7a --outcome accepted --note "Booked a call"
        regulars action snooze A-1f3c0e9d2b7a --until 2024-09-01
        regulars action dismiss A-1f3c0e9d2b7a --note "Moved abroad"
    """


def _outcome_options(f: Any) -> Any:
    f = click.option("--outcome", type=click.Choice(_OUTCOMES), help="The customer's answer.")(f)
    f = click.option("--note", help="A note stored with the action (and its touch).")(f)
    f = click.option(
        "--until",
        type=_DATE,
        metavar="DATE",
        help="Stay quiet until this day (snooze: default [actions] snooze_days; "
        "dismiss: default the playbook's cooldown).",
    )(f)
    return workspace_option(f)


def _record(
    action_id: str,
    status: str,
    workspace: Path | None,
    **kwargs: Any,
) -> None:
    from regulars.actions import record_outcome

    ws = open_workspace(workspace)
    try:
        a = record_outcome(ws, action_id, status, **kwargs)
    finally:
        ws.close()
    text = f"{a['action_id']} ({a['playbook']}, {a['customer_id']}) is {a['status']}"
    if a["until"] is not None:
        text += f" until {a['until'].isoformat()}"
    if a["outcome"]:
        text += f"; outcome: {a['outcome']}"
    if a["touch_id"] and status == "done":
        text += f"; touch {a['touch_id']} logged"
    console.print(esc(text + "."))


@action_group.command("done")
@click.argument("action_id", metavar="ID")
@_outcome_options
@click.option(
    "--kind",
    type=click.Choice(TOUCH_KINDS),
    help="Kind of the touch logged (default: the playbook's touch_kind).",
)
@click.option("--no-touch", is_flag=True, help="Do not log a touch.")
@click.option("--on", type=_DATE, metavar="DATE", help="The day it was done (default: today).")
def done_command(
    action_id: str,
    outcome: str | None,
    note: str | None,
    until: dt.datetime | None,
    workspace: Path | None,
    kind: str | None,
    no_touch: bool,
    on: dt.datetime | None,
) -> None:
    """Mark action ID done; logs a touch, an offer or a reward payment.

    Run it again with --outcome to add the customer's answer later.

    \b
    Examples:
        regulars action done A-1f3c0e9d2b7a --outcome accepted
        regulars action done A-1f3c0e9d2b7a --kind meeting --note "Lunch, wants a quote"
        regulars action done A-9c2e11d0a4b3          # pay_referral_reward: records the payment
    """
    _record(
        action_id,
        "done",
        workspace,
        outcome=outcome,
        note=note,
        until=_day(until),
        touch_kind=kind,
        log_touch=not no_touch,
        on=_day(on),
    )


@action_group.command("snooze")
@click.argument("action_id", metavar="ID")
@_outcome_options
def snooze_command(
    action_id: str,
    outcome: str | None,
    note: str | None,
    until: dt.datetime | None,
    workspace: Path | None,
) -> None:
    """Hide action ID until a date; it comes back if it still applies.

    \b
    Examples:
        regulars action snooze A-1f3c0e9d2b7a
        regulars action snooze A-1f3c0e9d2b7a --until 2024-09-01 --note "On holiday"
    """
    _record(action_id, "snoozed", workspace, outcome=outcome, note=note, until=_day(until))


@action_group.command("dismiss")
@click.argument("action_id", metavar="ID")
@_outcome_options
def dismiss_command(
    action_id: str,
    outcome: str | None,
    note: str | None,
    until: dt.datetime | None,
    workspace: Path | None,
) -> None:
    """Drop action ID; the playbook leaves the customer alone for its cooldown.

    \b
    Examples:
        regulars action dismiss A-1f3c0e9d2b7a --note "Not a fit"
        regulars action dismiss A-1f3c0e9d2b7a --until 2025-01-01 --outcome declined
    """
    _record(action_id, "dismissed", workspace, outcome=outcome, note=note, until=_day(until))


# -- regulars touch -------------------------------------------------------------------


@app.command("touch")
@click.argument("customer")
@click.option("--kind", type=click.Choice(TOUCH_KINDS), required=True, help="What kind of touch.")
@click.option("--note", help="What was said or sent.")
@click.option("--outcome", help="What came of it (free text).")
@click.option(
    "--at",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%d %H:%M"]),
    metavar="WHEN",
    help="When (YYYY-MM-DD or 'YYYY-MM-DD HH:MM'; default: now, on the actions clock).",
)
@click.option(
    "--offer",
    metavar="PRODUCT",
    help="A service offered in this touch (or 'package'); it is not offered again "
    "during the playbook's cooldown.",
)
@workspace_option
def touch_command(
    customer: str,
    kind: str,
    note: str | None,
    outcome: str | None,
    at: dt.datetime | None,
    offer: str | None,
    workspace: Path | None,
) -> None:
    """Log a contact with CUSTOMER (a call, an email, an idea sent...).

    Touches reset keep_in_touch's clock and count for the frequency cap.

    \b
    Examples:
        regulars touch C-1042 --kind idea --note "Sent a note on the new VAT rules"
        regulars touch C-1042 --kind call --offer retainer --outcome "asked for a quote"
    """
    from regulars.actions import log_touch

    ws = open_workspace(workspace)
    try:
        touch_id = log_touch(
            ws, customer, kind=kind, note=note, outcome=outcome, at=at, offer=offer
        )
    finally:
        ws.close()
    console.print(f"Logged {esc(kind)} with {esc(customer)} ({esc(touch_id)}).")


# -- regulars effectiveness -----------------------------------------------------------


@app.command("effectiveness")
@click.option(
    "--window-days",
    type=click.IntRange(min=1),
    metavar="N",
    help="Days after an action in which a repurchase counts (default: [actions] "
    "effect_window_days).",
)
@click.option("--today", type=_DATE, metavar="DATE", help="Judge as of this day.")
@click.option(
    "--signals",
    is_flag=True,
    help="Show the health-signal view instead: how well each signal predicted repurchase.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format.",
)
@workspace_option
def effectiveness_command(
    window_days: int | None,
    today: dt.datetime | None,
    signals: bool,
    fmt: str,
    workspace: Path | None,
) -> None:
    """Did the playbooks work? Treated vs held-out customers, with 95% intervals.

    For each playbook: the share of customers who bought again within the window
    and their mean revenue, for customers shown an action vs the random holdout,
    the difference (lift) with its confidence interval, and the revenue it made.
    An interval that stays above 0 means the playbook pays. With --signals: for
    each signal (P(alive), recency, frequency, days since touch, feedback...) how
    well it predicted who bought again in the next 90 days (AUC, and the rate by
    decile).

    \b
    Examples:
        regulars effectiveness
        regulars effectiveness --window-days 60 --format json
        regulars effectiveness --signals
    """
    from regulars.actions import playbook_effectiveness, signal_deciles, signal_strength

    ws = open_workspace(workspace)
    try:
        currency = ws.config.workspace.currency
        if signals:
            horizon = window_days or 90
            strength = signal_strength(ws, horizon_days=horizon).to_pyarrow().to_pylist()
            deciles = signal_deciles(ws, horizon_days=horizon).to_pyarrow().to_pylist()
            if fmt == "json":
                text = json.dumps(
                    {"strength": _records(strength), "deciles": _records(deciles)},
                    ensure_ascii=False,
                    indent=2,
                )
                write_out(json_text(text) + "\n")
            elif fmt == "csv":
                _emit(deciles, "csv")
            else:
                _print_signals(strength, deciles)
            return
        rows = (
            playbook_effectiveness(ws, window_days=window_days, today=_day(today))
            .to_pyarrow()
            .to_pylist()
        )
        if fmt != "table":
            _emit(rows, fmt)
            return
        _print_effectiveness(rows, currency)
    finally:
        ws.close()


def _pct(value: Any) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _points(value: Any, low: Any, high: Any) -> str:
    """A lift in percentage points: ``+6.0 pp [-3.1, +15.2]``."""
    if value is None:
        return "—"
    text = f"{100 * value:+.1f} pp"
    if low is not None and high is not None:
        text += f" [{100 * low:+.1f}, {100 * high:+.1f}]"
    return text


def _print_effectiveness(rows: list[dict[str, Any]], currency: str) -> None:
    """One block per playbook, each fact on its own short line: readable at 80 columns."""
    from rich.text import Text

    if not rows:
        console.print(
            "No actions yet. Run [bold]regulars actions[/] for a few weeks; the lift shows "
            "once the effect window of the first actions has passed."
        )
        return
    console.print(Text("Playbook effectiveness (treated vs held out, 95% intervals)", "bold"))
    for r in rows:
        rev = "—"
        if r["revenue_lift"] is not None:
            rev = _money(r["revenue_lift"], currency) + " per customer"
            if r["revenue_lift_low"] is not None:
                rev += (
                    f" [{_money(r['revenue_lift_low'], '').strip()}, "
                    f"{_money(r['revenue_lift_high'], '').strip()}]"
                )
        if r["incremental_revenue"] is not None:
            incremental = _money(r["incremental_revenue"], currency)
        else:
            incremental = "— (needs a lift above 0 and actions marked done)"
        lines = [
            f"customers: {r['treated']:,} treated, {r['held_out']:,} held out, "
            f"{r['pending']:,} still in their window",
            f"bought again: {_pct(r['treated_repurchase'])} treated, "
            f"{_pct(r['held_out_repurchase'])} held out",
            "lift: "
            + _points(r["repurchase_lift"], r["repurchase_lift_low"], r["repurchase_lift_high"]),
            f"revenue lift: {rev}",
            f"incremental revenue: {incremental}",
            f"marked done: {r['done']:,}, accepted: {r['accepted']:,}",
        ]
        console.print(Text(visible(r["playbook"]), style="bold"))
        for line in lines:
            console.print(Text("  " + line))
    err_console.print(
        "Lifts are in percentage points (pp). A lift whose interval stays above 0 is "
        "unlikely to be chance."
    )


def _print_signals(strength: list[dict[str, Any]], deciles: list[dict[str, Any]]) -> None:
    from rich.table import Table

    top = Table(
        title="How well each signal predicted repurchase",
        title_justify="left",
        header_style="bold",
    )
    for name in ("signal", "customers", "bought again", "AUC", "strength", "direction"):
        top.add_column(name, justify="left" if name in ("signal", "direction") else "right")
    for r in strength:
        top.add_row(
            cell(r["signal"]),
            f"{r['customers']:,}",
            _pct(r["repurchase_rate"]),
            "—" if r["auc"] is None else f"{r['auc']:.3f}",
            "—" if r["strength"] is None else f"{r['strength']:.3f}",
            cell(r["direction"]),
        )
    console.print(top)
    table = Table(title="Repurchase rate by decile", title_justify="left", header_style="bold")
    for name in ("signal", "decile", "customers", "from", "to", "bought again", "churned"):
        table.add_column(name, justify="left" if name == "signal" else "right")
    for r in deciles:
        table.add_row(
            cell(r["signal"]),
            "missing" if r["decile"] is None else str(r["decile"]),
            f"{r['customers']:,}",
            "" if r["low"] is None else f"{r['low']:,.2f}",
            "" if r["high"] is None else f"{r['high']:,.2f}",
            _pct(r["repurchase_rate"]),
            _pct(r["churn_rate"]),
        )
    console.print(table)
