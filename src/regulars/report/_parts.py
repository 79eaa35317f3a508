"""Pieces several sections build from: chart rows from a frame, and the chart of
gains stacked above zero and losses below it, per period."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from regulars.report._charts import bar_chart, records
from regulars.report._context import ReportContext, to_float

__all__ = ["frame_rows", "movement_chart"]


def frame_rows(
    df: pd.DataFrame, /, **columns: tuple[str, Callable[[Any], Any]]
) -> list[dict[str, Any]]:
    """One dict per row of ``df``: ``name=(column, convert)`` gives ``name: convert(value)``.

    For example ``frame_rows(hist, bin=("label", str), customers=("customers", int))``.
    """
    return [
        {name: convert(r[column]) for name, (column, convert) in columns.items()}
        for r in df.to_dict("records")
    ]


def movement_chart(
    ctx: ReportContext,
    df: pd.DataFrame,
    *,
    parts: tuple[str, ...],
    names: dict[str, str],
    colors: dict[str, str],
    negative: tuple[str, ...],
    title: str,
    y_title: str,
) -> dict[str, Any]:
    """Stacked gains above zero and losses below, per period."""
    p_title = ctx.period_title()
    rows = []
    for rec in df.to_dict("records"):
        for part in parts:
            value = to_float(rec.get(part))
            rows.append(
                {
                    "period": ctx.label(rec["period"]),
                    "part": names[part],
                    "value": -abs(value) if part in negative else value,
                }
            )
    return bar_chart(
        title,
        records(rows),
        x="period",
        y="value",
        x_title=p_title,
        y_title=y_title,
        x_order=ctx.period_order(df),
        y_format="money",
        color="part",
        color_domain=[names[p] for p in parts],
        color_range=[colors[p] for p in parts],
        stacked=True,
        tooltip=[
            ("period", p_title, "nominal"),
            ("part", "", "nominal"),
            ("value", y_title, "money"),
        ],
    )
