"""The report completes itself: fit, score and plan the week when that is missing.

A new user with only orders should see customer value and this week's actions in
their first report, not two "data needed" notes.  Before the report is built,
:func:`prepare_workspace` stores the order ledger of the data version that every
metric of the report reads (:meth:`regulars.metrics.MetricContext.ledger`), fits the
customer models when there is no fit or the fit is
older than the orders, scores every customer, and computes this week's actions, each
through the public functions of :mod:`regulars.models` and :mod:`regulars.actions`.
``regulars report --no-fit`` (``fit=False``) skips all of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from regulars.errors import RegularsError

if TYPE_CHECKING:
    from regulars.store import Workspace

__all__ = ["Preparation", "needs_preparation", "prepare_workspace"]

Progress = Callable[[str], None]


@dataclass
class Preparation:
    """What :func:`prepare_workspace` did: the chosen model, its holdout, problems."""

    fitted: bool = False
    scored: bool = False
    planned: bool = False
    model: str = ""
    quality: str = ""
    error: float | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the CLI, in English (``Fitted bgnbd; holdout check: good``)."""
        parts = []
        if self.fitted:
            text = f"Fitted {self.model}"
            if self.quality:
                err = f", error {self.error:+.1%}" if self.error is not None else ""
                text += f" (holdout check: {self.quality}{err})"
            parts.append(text)
        if self.scored:
            parts.append("scored every customer")
        if self.planned:
            parts.append("computed this week's actions")
        return "; ".join(parts)


def _last_paid_order(ws: Workspace) -> dt.date | None:
    """The day of the latest paid order (the ledger's purchases): the last order day
    that ``fit`` stores per data version, read from the workspace when it is stored,
    so a report after ``fit`` does not run the ledger over every order again."""
    from regulars.models._workspace import _date_bounds

    bounds = _date_bounds(None, ws)
    return None if bounds is None else bounds[1]


def _ledger_stored(ws: Workspace) -> bool:
    """Whether the order ledger of this data version is stored (see
    :meth:`regulars.metrics.MetricContext.ledger`): every metric of the report reads
    it, and a read-only report would otherwise compute it again for each one."""
    from regulars.metrics import MetricContext

    return MetricContext.from_workspace(ws).ledger_stored()


def _has_rows(ws: Workspace, table: str, where: str = "") -> bool:
    if not ws.has_table(table):
        return False
    t = ws.table(table)
    if where:
        t = t.filter(t[where] == "open")
    return bool(t.limit(1).count().execute() > 0)


def needs_preparation(ws: Workspace) -> bool:
    """Whether :func:`prepare_workspace` has work to do (it only reads the workspace).

    True when there are paid orders and the order ledger of this data version is not
    stored, or the fit is missing or older than them, or there are no scores, or no
    open actions.  A command that opens the workspace read-only
    asks this first and opens it for writing only when the answer is yes.
    """
    from regulars.models import latest_fit

    last = _last_paid_order(ws)
    if last is None:
        return False
    if not _ledger_stored(ws):
        return True
    try:
        fit = latest_fit(ws)
    except RegularsError:
        return True
    if fit is None or fit.observation_end < last:
        return True
    return not _has_rows(ws, "scores") or not _has_rows(ws, "actions", "status")


def prepare_workspace(ws: Workspace, *, progress: Progress | None = None) -> Preparation:
    """Store the order ledger, fit, score and compute actions where they are missing or
    older than the data.

    Errors of the models or the playbooks (too few customers to fit, say) do not stop
    the report: they are returned in ``problems`` and the sections say what is missing.
    """
    from regulars.actions import compute_actions
    from regulars.models import fit_workspace, latest_fit, score_workspace

    say = progress or (lambda _message: None)
    prep = Preparation()
    last = _last_paid_order(ws)
    if last is None:
        return prep
    if not _ledger_stored(ws):
        say("Storing the order ledger for this data")
        from regulars.metrics import MetricContext

        MetricContext.from_workspace(ws).ledger()  # stored once per data version
    try:
        fit = latest_fit(ws)
        if fit is None or fit.observation_end < last:
            say("Fitting the customer models (regulars report --no-fit skips this)")
            result = fit_workspace(ws, progress=say)
            prep.fitted, prep.model = True, result.model
            prep.notes = list(result.notes)
            if result.holdout is not None:
                prep.quality = str(result.holdout.quality)
                prep.error = float(result.holdout.error)
        if prep.fitted or not _has_rows(ws, "scores"):
            say("Scoring every customer")
            score_workspace(ws, progress=say)
            prep.scored = True
        if prep.scored or not _has_rows(ws, "actions", "status"):
            say("Computing this week's actions")
            compute_actions(ws)
            prep.planned = True
    except RegularsError as exc:
        prep.problems.append(str(exc))
    return prep
