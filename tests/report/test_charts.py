"""Vega-Lite spec builders (regulars/report/_charts.py)."""

from __future__ import annotations

import datetime as dt
import decimal
import math

import vl_convert

from regulars.report._charts import (
    OKABE_ITO,
    bar_chart,
    heatmap,
    records,
    to_static,
    waterfall,
)


def test_records_are_json_safe() -> None:
    out = records(
        [{"a": decimal.Decimal("1.005"), "b": math.nan, "c": dt.date(2025, 1, 1), "d": 1.23456}]
    )
    assert out == [{"a": 1.0, "b": None, "c": "2025-01-01", "d": 1.2346}]


def test_waterfall_runs_from_total_to_total() -> None:
    spec = waterfall(
        "t",
        [
            {"label": "2024", "amount": 100.0, "kind": "total"},
            {"label": "up", "amount": 30.0, "kind": "step"},
            {"label": "down", "amount": -10.0, "kind": "step"},
            {"label": "2025", "amount": 120.0, "kind": "total"},
        ],
        y_title="Revenue, EUR",
    )
    rows = spec["data"]["values"]
    assert [(r["start"], r["end"], r["tone"]) for r in rows] == [
        (0.0, 100.0, "total"),
        (100.0, 130.0, "up"),
        (130.0, 120.0, "down"),
        (0.0, 120.0, "total"),
    ]
    assert spec["encoding"]["x"]["sort"] == ["2024", "up", "down", "2025"]


def test_bars_use_the_given_colours_and_order() -> None:
    spec = bar_chart(
        "Orders",
        records([{"p": "2024", "g": "New", "v": 3}]),
        x="p",
        y="v",
        x_title="Year",
        y_title="Orders",
        x_order=["2024"],
        color="g",
        color_domain=["New", "Returning"],
        color_range=[OKABE_ITO["orange"], OKABE_ITO["blue"]],
        stacked=False,
    )
    assert spec["encoding"]["color"]["scale"]["range"] == ["#E69F00", "#0072B2"]
    assert spec["encoding"]["xOffset"]["field"] == "g"
    assert spec["encoding"]["y"]["title"] == "Orders"
    assert spec["mark"]["tooltip"] is True


def test_specs_compile_and_render_to_svg() -> None:
    spec = heatmap(
        "Retention",
        records([{"c": "2024", "k": 0, "v": 1.0}, {"c": "2024", "k": 1, "v": 0.4}]),
        x="k",
        y="c",
        value="v",
        x_title="Years since first order",
        y_title="Cohort",
        value_title="Share",
        y_order=["2024"],
    )
    svg = vl_convert.vegalite_to_svg(to_static(spec))
    assert svg.startswith("<svg")
    assert "Years since first order" in svg
