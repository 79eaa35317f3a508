"""Vega-Lite chart specs for the report, and their PNG/SVG export.

The specs are plain dictionaries with inline data, rendered in the browser by the
Vega JavaScript inlined into the report (no request to any host) and exported to
PNG/SVG by ``vl_convert``.  Colours come from the Okabe–Ito palette, which stays
distinguishable for the common forms of colour blindness.

References
----------
Okabe, M. and Ito, K. (2008). Color Universal Design (CUD): how to make figures and
presentations that are friendly to colorblind people.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "OKABE_ITO",
    "bar_chart",
    "base_config",
    "heatmap",
    "line_chart",
    "records",
    "right_to_left",
    "scatter_with_line",
    "to_static",
    "waterfall",
]

# Okabe–Ito: orange, sky blue, bluish green, yellow, blue, vermillion, reddish purple, grey.
OKABE_ITO: dict[str, str] = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#7F7F7F",
    "black": "#000000",
}
CATEGORY = [OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "sky", "purple")]
CATEGORY += [OKABE_ITO[k] for k in ("yellow", "grey")]

_FORMATS = {"money": ",.0f", "number": ",.0f", "decimal": ",.2f", "percent": ".0%", "ratio": ",.1f"}


def _fmt(kind: str) -> str:
    return _FORMATS.get(kind, kind)


def _json_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, 4)
    if isinstance(value, decimal.Decimal):
        return round(float(value), 2)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return _json_value(value.item())
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return value.isoformat()
    return str(value)


def records(rows: Iterable[Mapping[Any, Any]]) -> list[dict[str, Any]]:
    """JSON-safe records: dates as ISO text, NaN as null, floats rounded."""
    return [{str(k): _json_value(v) for k, v in row.items()} for row in rows]


def base_config() -> dict[str, Any]:
    """The look shared by every chart: fonts, axes, legends and the palette."""
    font = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
    return {
        "font": font,
        "background": "white",
        "view": {"stroke": None},
        "axis": {
            "labelFontSize": 12,
            "titleFontSize": 12,
            "titleFontWeight": "normal",
            "titleColor": "#333",
            "labelColor": "#333",
            "gridColor": "#e6e6e6",
            "domainColor": "#999",
            "tickColor": "#999",
        },
        "axisX": {"labelAngle": 0, "labelOverlap": "greedy"},
        "legend": {"orient": "bottom", "labelFontSize": 12, "titleFontSize": 12},
        "range": {"category": CATEGORY},
        "bar": {"continuousBandSize": 18},
        "title": {"fontSize": 14, "anchor": "start", "fontWeight": "bold"},
    }


# Right-to-left isolate and pop directional isolate (Unicode bidi, UAX #9).
_RLI, _PDI = "\u2067", "\u2069"


def _rtl_title(value: Any) -> Any:
    if isinstance(value, str):
        return f"{_RLI}{value}{_PDI}" if value else value
    if isinstance(value, list):
        return [_rtl_title(v) for v in value]
    if isinstance(value, dict) and "text" in value:
        return {**value, "text": _rtl_title(value["text"])}
    return value


def _rtl_walk(value: Any) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "data":  # the rows stay as they are
                out[key] = item
            elif key == "title":
                out[key] = _rtl_title(_rtl_walk(item))
            else:
                out[key] = _rtl_walk(item)
        return out
    if isinstance(value, list):
        return [_rtl_walk(v) for v in value]
    return value


def right_to_left(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` for a language written right to left (Hebrew).

    Vega draws its SVG left to right, and the charts keep that layout (a time axis
    runs left to right, as in most Hebrew business charts).  Each title, axis title,
    legend title and tooltip title becomes a right-to-left isolate, so a mixed title
    such as "הכנסות, EUR" reads in order, and the chart's title sits on the right.
    The data are left as they are.
    """
    out: dict[str, Any] = _rtl_walk(spec)
    config = dict(out.get("config") or {})
    config["title"] = {**config.get("title", {}), "anchor": "end"}
    out["config"] = config
    return out


def _title_lines(title: str, width: int = 40) -> str | list[str]:
    """A long title as several lines (Vega clips a title wider than the chart)."""
    if len(title) <= width:
        return title
    lines: list[str] = []
    line = ""
    for word in title.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return lines


def _spec(
    title: str, data: list[dict[str, Any]], *, height: int = 260, width: Any = "container"
) -> dict[str, Any]:
    return {
        "title": {"text": _title_lines(title)},
        "width": width,
        "height": height,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "data": {"values": data},
        "config": base_config(),
    }


def _color(
    field: str, title: str, domain: Sequence[str] | None, colors: Sequence[str] | None
) -> dict[str, Any]:
    enc: dict[str, Any] = {"field": field, "type": "nominal", "title": title}
    scale: dict[str, Any] = {}
    if domain is not None:
        scale["domain"] = list(domain)
    if colors is not None:
        scale["range"] = list(colors)
    if scale:
        enc["scale"] = scale
    if domain is not None:
        enc["sort"] = list(domain)
    return enc


def _series_color(
    field: str | None,
    title: str,
    domain: Sequence[str] | None,
    colors: Sequence[str] | None,
    single: str,
) -> dict[str, Any]:
    """The colour encoding: by ``field`` when there are series, else the ``single`` colour."""
    if field is None:
        return {"value": single}
    return _color(field, title, domain, colors)


def _axis(field: str, type_: str, title: str, order: Sequence[Any] | None = None) -> dict[str, Any]:
    """A category or position encoding, sorted by ``order`` when given."""
    enc: dict[str, Any] = {"field": field, "type": type_, "title": title}
    if order is not None:
        enc["sort"] = list(order)
    return enc


def _value_axis(field: str, title: str, kind: str) -> dict[str, Any]:
    """A quantitative encoding whose axis labels use the value format ``kind``."""
    return {"field": field, "type": "quantitative", "title": title, "axis": {"format": _fmt(kind)}}


def _count_ticks() -> dict[str, Any]:
    """Axis labels for whole counts (renewals, periods since): 1, 2, 3..."""
    return {"tickMinStep": 1, "format": "d"}


def _tooltip(
    fields: Sequence[tuple[str, str, str]], *default: tuple[str, str, str]
) -> list[dict[str, Any]]:
    """Tooltip entries from ``(field, title, kind)``; kind is nominal or a value format.

    Empty ``fields`` fall back to ``default``.
    """
    out = []
    for name, title, kind in fields or default:
        if kind == "nominal":
            out.append({"field": name, "type": "nominal", "title": title})
        else:
            out.append(
                {"field": name, "type": "quantitative", "title": title, "format": _fmt(kind)}
            )
    return out


def bar_chart(
    title: str,
    data: list[dict[str, Any]],
    *,
    x: str,
    y: str,
    x_title: str,
    y_title: str,
    x_order: Sequence[str],
    y_format: str = "number",
    color: str | None = None,
    color_title: str = "",
    color_domain: Sequence[str] | None = None,
    color_range: Sequence[str] | None = None,
    stacked: bool = True,
    tooltip: Sequence[tuple[str, str, str]] = (),
    horizontal: bool = False,
    height: int = 260,
) -> dict[str, Any]:
    """Bars per category ``x`` (ordered by ``x_order``), stacked or side by side by ``color``."""
    spec = _spec(title, data, height=height)
    cat = _axis(x, "ordinal", x_title, x_order)
    val = _value_axis(y, y_title, y_format)
    enc: dict[str, Any] = {"x": cat, "y": val} if not horizontal else {"y": cat, "x": val}
    single = (color_range or [OKABE_ITO["blue"]])[0]
    enc["color"] = _series_color(color, color_title, color_domain, color_range, single)
    if color is not None:
        if not stacked:
            enc["xOffset" if not horizontal else "yOffset"] = {
                "field": color,
                "sort": list(color_domain or []),
            }
        else:
            val["stack"] = "zero"
    enc["tooltip"] = _tooltip(tooltip, (x, x_title, "nominal"), (y, y_title, y_format))
    spec["mark"] = {"type": "bar", "tooltip": True}
    spec["encoding"] = enc
    return spec


def line_chart(
    title: str,
    data: list[dict[str, Any]],
    *,
    x: str,
    y: str,
    x_title: str,
    y_title: str,
    x_type: str = "ordinal",
    x_order: Sequence[str] | None = None,
    y_format: str = "number",
    color: str | None = None,
    color_title: str = "",
    color_domain: Sequence[str] | None = None,
    color_range: Sequence[str] | None = None,
    dash: str | None = None,
    tooltip: Sequence[tuple[str, str, str]] = (),
    height: int = 260,
    rule_y: float | None = None,
) -> dict[str, Any]:
    """Lines (with points for hovering) of ``y`` against ``x``, one per ``color``."""
    spec = _spec(title, data, height=height)
    xe = _axis(x, x_type, x_title, x_order)
    if x_type == "quantitative":
        xe["axis"] = _count_ticks()
    enc: dict[str, Any] = {
        "x": xe,
        "y": _value_axis(y, y_title, y_format),
        "tooltip": _tooltip(tooltip, (x, x_title, "nominal"), (y, y_title, y_format)),
    }
    enc["color"] = _series_color(color, color_title, color_domain, color_range, OKABE_ITO["blue"])
    if dash is not None:
        enc["strokeDash"] = {"field": dash, "type": "nominal", "title": ""}
    layers: list[dict[str, Any]] = [
        {"mark": {"type": "line", "point": True, "tooltip": True}, "encoding": enc}
    ]
    if rule_y is not None:
        layers.append(
            {
                "mark": {"type": "rule", "strokeDash": [4, 4], "color": "#666"},
                "encoding": {"y": {"datum": rule_y}},
            }
        )
    spec["layer"] = layers
    return spec


def scatter_with_line(
    title: str,
    data: list[dict[str, Any]],
    *,
    x: str,
    series: Sequence[tuple[str, str, str]],
    x_title: str,
    y_title: str,
    x_type: str = "ordinal",
    x_order: Sequence[str] | None = None,
    y_format: str = "decimal",
    height: int = 260,
) -> dict[str, Any]:
    """Several numeric columns against ``x``, one line each (folded to long form).

    ``series`` holds ``(column, label, colour)``: for example actual vs predicted.
    """
    spec = _spec(title, data, height=height)
    cols = [c for c, _, _ in series]
    labels = [label for _, label, _ in series]
    xe = _axis(x, x_type, x_title, x_order)
    spec["transform"] = [
        {"fold": cols, "as": ["_series", "_value"]},
        {
            "calculate": " : ".join(
                f"datum._series === {c!r} ? {label!r}"
                for c, label in zip(cols, labels, strict=True)
            )
            + " : ''",
            "as": "_label",
        },
    ]
    spec["mark"] = {"type": "line", "point": True, "tooltip": True}
    spec["encoding"] = {
        "x": xe,
        "y": _value_axis("_value", y_title, y_format),
        "color": {
            "field": "_label",
            "type": "nominal",
            "title": "",
            "scale": {"domain": labels, "range": [c for _, _, c in series]},
            "sort": labels,
        },
        "tooltip": [
            {
                "field": x,
                "type": "nominal" if x_type != "quantitative" else x_type,
                "title": x_title,
            },
            {"field": "_label", "type": "nominal", "title": ""},
            {"field": "_value", "type": "quantitative", "title": y_title, "format": _fmt(y_format)},
        ],
    }
    return spec


def heatmap(
    title: str,
    data: list[dict[str, Any]],
    *,
    x: str,
    y: str,
    value: str,
    x_title: str,
    y_title: str,
    value_title: str,
    y_order: Sequence[str] | None = None,
    x_order: Sequence[Any] | None = None,
    value_format: str = "percent",
    scheme: str = "blues",
    domain: tuple[float, float] | None = None,
    tooltip: Sequence[tuple[str, str, str]] = (),
    cell: int = 14,
    x_type: str = "ordinal",
) -> dict[str, Any]:
    """A colour grid: ``value`` per (``x``, ``y``), for cohorts and matrices."""
    n_rows = len(y_order) if y_order is not None else len({r.get(y) for r in data})
    spec = _spec(title, data, height=max(120, min(720, cell * max(n_rows, 1))))
    ye = _axis(y, "ordinal", y_title, y_order)
    xe = _axis(x, x_type, x_title, x_order)
    scale: dict[str, Any] = {"scheme": scheme}
    if domain is not None:
        scale["domain"] = list(domain)
        scale["clamp"] = True
    spec["mark"] = {"type": "rect", "tooltip": True}
    spec["encoding"] = {
        "x": xe,
        "y": ye,
        "color": {
            "field": value,
            "type": "quantitative",
            "title": value_title,
            "scale": scale,
            # Below the grid, not beside it: on a phone a legend on the right leaves
            # the grid a few pixels wide.
            "legend": {"format": _fmt(value_format), "orient": "bottom", "gradientLength": 180},
        },
        "tooltip": _tooltip(
            tooltip,
            (y, y_title, "nominal"),
            (x, x_title, "nominal"),
            (value, value_title, value_format),
        ),
    }
    return spec


def waterfall(
    title: str,
    steps: Sequence[dict[str, Any]],
    *,
    y_title: str,
    x_title: str = "",
    up_color: str = OKABE_ITO["blue"],
    down_color: str = OKABE_ITO["vermillion"],
    total_color: str = OKABE_ITO["grey"],
    tooltip: Sequence[tuple[str, str, str]] = (),
) -> dict[str, Any]:
    """A waterfall: a starting total, signed steps, and the final total.

    Each step is a dict with ``label``, ``amount`` and ``kind`` (``total`` or
    ``step``) plus any tooltip fields.  The running start/end of each bar are
    computed here so the chart needs no transforms.
    """
    rows: list[dict[str, Any]] = []
    running = 0.0
    for step in steps:
        amount = float(step["amount"])
        row = dict(step)
        if step["kind"] == "total":
            row.update(start=0.0, end=amount, tone="total")
            running = amount
        else:
            row.update(start=running, end=running + amount, tone="up" if amount >= 0 else "down")
            running += amount
        rows.append(row)
    order = [str(s["label"]) for s in steps]
    # Narrow: a bar is thinner than the widest label (about 7 px per character).
    longest = max((len(label) for label in order), default=1)
    narrow = f"width / {max(len(order), 1)} < {min(110, 7 * longest) + 8}"
    spec = _spec(title, records(rows))
    spec["mark"] = {"type": "bar", "tooltip": True}
    spec["encoding"] = {
        "x": {
            "field": "label",
            "type": "ordinal",
            "sort": order,
            "title": x_title,
            # Every label is kept (each names a source); when the bars get narrower
            # than a label, the labels turn upright so they never overlap.
            "axis": {
                "labelLimit": 110,
                "labelOverlap": False,
                "labelAngle": {"expr": f"{narrow} ? -90 : 0"},
                "labelAlign": {"expr": f"{narrow} ? 'right' : 'center'"},
                "labelBaseline": {"expr": f"{narrow} ? 'middle' : 'top'"},
            },
        },
        "y": _value_axis("start", y_title, "money"),
        "y2": {"field": "end"},
        "color": {
            "field": "tone",
            "type": "nominal",
            "scale": {
                "domain": ["total", "up", "down"],
                "range": [total_color, up_color, down_color],
            },
            "legend": None,
        },
        "tooltip": _tooltip(tooltip, ("label", x_title, "nominal"), ("amount", y_title, "money")),
    }
    return spec


def to_static(spec: Mapping[str, Any], *, width: int = 860) -> dict[str, Any]:
    """A copy of ``spec`` with a fixed width, for PNG/SVG export (no container)."""
    out = dict(spec)
    if out.get("width") == "container":
        out["width"] = width
    out.pop("autosize", None)
    return out


def projection_chart(
    title: str,
    data: list[dict[str, Any]],
    *,
    x: str,
    group: str,
    observed: str,
    projected: str,
    x_title: str,
    y_title: str,
    group_title: str,
    observed_title: str,
    projected_title: str,
    group_order: Sequence[str],
) -> dict[str, Any]:
    """Observed values as solid lines with points, the model's projection dashed."""
    spec = _spec(title, data)
    colors = CATEGORY[: len(group_order)]
    color = {
        "field": group,
        "type": "nominal",
        "title": group_title,
        "scale": {"domain": list(group_order), "range": colors},
        "sort": list(group_order),
    }
    xe = _axis(x, "quantitative", x_title)
    xe["axis"] = _count_ticks()
    tooltip = _tooltip(
        [
            (group, group_title, "nominal"),
            (x, x_title, "number"),
            (observed, observed_title, "percent"),
            (projected, projected_title, "percent"),
        ]
    )

    def y(field: str) -> dict[str, Any]:
        return _value_axis(field, y_title, "percent")

    spec["layer"] = [
        {
            "mark": {"type": "line", "strokeDash": [5, 4], "tooltip": True},
            "encoding": {"x": xe, "y": y(projected), "color": color, "tooltip": tooltip},
        },
        {
            "transform": [{"filter": f"isValid(datum[{observed!r}])"}],
            "mark": {"type": "line", "point": True, "tooltip": True},
            "encoding": {"x": xe, "y": y(observed), "color": color, "tooltip": tooltip},
        },
    ]
    return spec


def interval_chart(
    title: str,
    data: list[dict[str, Any]],
    *,
    y: str,
    x: str,
    low: str,
    high: str,
    x_title: str,
    y_title: str,
    tooltip: Sequence[tuple[str, str, str]] = (),
) -> dict[str, Any]:
    """A point estimate per category with its interval, and a rule at zero."""
    spec = _spec(title, data, height=max(120, 36 * len(data)))
    ye = {"field": y, "type": "nominal", "title": y_title, "sort": None}
    tips = _tooltip(tooltip, (y, y_title, "nominal"), (x, x_title, "percent"))
    spec["layer"] = [
        {
            "mark": {"type": "rule", "color": "#666", "strokeDash": [4, 4]},
            "encoding": {"x": {"datum": 0}},
        },
        {
            "mark": {"type": "rule", "strokeWidth": 2, "color": OKABE_ITO["blue"], "tooltip": True},
            "encoding": {
                "y": ye,
                "x": _value_axis(low, x_title, "percent"),
                "x2": {"field": high},
                "tooltip": tips,
            },
        },
        {
            "mark": {
                "type": "point",
                "filled": True,
                "size": 70,
                "color": OKABE_ITO["blue"],
                "tooltip": True,
            },
            "encoding": {
                "y": ye,
                "x": {"field": x, "type": "quantitative"},
                "tooltip": tips,
            },
        },
    ]
    return spec
