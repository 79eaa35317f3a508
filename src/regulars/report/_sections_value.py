"""Sections 5, 10 and 11: channel economics, customer value, and this week's actions."""

from __future__ import annotations

from regulars.report._context import ReportContext
from regulars.report._model import MissingDataError, Section

__all__ = ["actions_section", "channels_section", "customer_value_section"]


def channels_section(ctx: ReportContext) -> Section:
    """CAC, payback and CLV:CAC per channel; flags channels the others pay for."""
    t = ctx.t
    section = Section("channels", t._("Channel economics"))
    for kind in ("channels", "spend"):
        try:
            ctx.data.require(kind)
        except MissingDataError as exc:
            section.missing.append(exc.missing)
    return section


def customer_value_section(ctx: ReportContext) -> Section:
    """CLV distribution, P(alive) by frequency and recency, and the holdout fit."""
    t = ctx.t
    section = Section("customer-value", t._("Customer value"))
    try:
        ctx.data.require("scores")
    except MissingDataError as exc:
        section.missing.append(exc.missing)
    return section


def actions_section(ctx: ReportContext) -> Section:
    """The top actions of the week with their reasons, and playbook effectiveness."""
    t = ctx.t
    section = Section("actions", t._("This week's actions"))
    try:
        ctx.data.require("actions")
    except MissingDataError as exc:
        section.missing.append(exc.missing)
    return section
