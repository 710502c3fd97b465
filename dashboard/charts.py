"""Plotly figures of the pages: plain functions from rows (dicts from analytics) to figures."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go

from analytics.money import usd

MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
CONFIG = {"displayModeBar": False}  # plotly's toolbar would sit on top of the titles
COMPLEXITY = {
    "basic": "#9ecae1",
    "intermediate": "#4292c6",
    "advanced": "#08519c",
    "expert": "#08306b",
}
SPEND = "#1f77b4"
BASELINE = "#7f7f7f"
ERROR = "#d62728"


def _f(value: Decimal | float | int | None) -> float | None:
    """Money to a plot coordinate (plots are pictures; tables and metrics keep Decimal)."""
    return None if value is None else float(value)


def spend_over_time(rows: Sequence[dict[str, Any]]) -> go.Figure:
    """Bars of actual spend per bucket, the single-model baseline as a line above them."""
    ts = [r["ts"] for r in rows]
    fig = go.Figure()
    fig.add_bar(
        x=ts,
        y=[_f(r["cost_usd"]) for r in rows],
        name="actual spend",
        marker_color=SPEND,
        customdata=[usd(r["cost_usd"]) for r in rows],
        hovertemplate="%{x}<br>spend %{customdata}<extra></extra>",
    )
    fig.add_scatter(
        x=ts,
        y=[_f(r["baseline_cost_usd"]) for r in rows],
        name="single-model baseline",
        mode="lines+markers",
        line={"color": BASELINE, "dash": "dot"},
        customdata=[usd(r["baseline_cost_usd"]) for r in rows],
        hovertemplate="%{x}<br>baseline %{customdata}<extra></extra>",
    )
    fig.update_layout(
        title="Spend against the single-model baseline",
        yaxis_title="US dollars",
        yaxis_tickprefix="$",
        height=360,
        margin=MARGIN,
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


def loading() -> go.Figure:
    """An empty frame where the spend chart will be (same height): drawn while data loads."""
    fig = go.Figure()
    fig.update_layout(
        title="Spend against the single-model baseline (loading...)",
        height=360,
        margin=MARGIN,
        xaxis={"visible": False},
        yaxis={"visible": False},
    )
    return fig


def requests_over_time(rows: Sequence[dict[str, Any]]) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=[r["ts"] for r in rows], y=[r["requests"] for r in rows], name="requests")
    fig.update_layout(title="Requests", height=260, margin=MARGIN, yaxis_title="requests")
    return fig


def spend_by_model(rows: Sequence[dict[str, Any]]) -> go.Figure:
    """Horizontal bars, one per provider/model, largest spend on top."""
    ordered = sorted(rows, key=lambda r: r["cost_usd"] or 0)
    fig = go.Figure(
        go.Bar(
            y=[f"{r['provider']}/{r['model']}" for r in ordered],
            x=[_f(r["cost_usd"]) for r in ordered],
            orientation="h",
            marker_color=SPEND,
            customdata=[usd(r["cost_usd"]) for r in ordered],
            hovertemplate="%{y}: %{customdata}<extra></extra>",
        )
    )
    fig.update_layout(
        title="Spend per model",
        xaxis_tickprefix="$",
        height=120 + 28 * len(ordered),
        margin=MARGIN,
    )
    return fig


def latency(rows: Sequence[dict[str, Any]]) -> go.Figure:
    """p50, p95 and p99 latency per model as grouped bars."""
    ordered = sorted(rows, key=lambda r: r["p50_ms"] or 0)
    names = [str(r["model"]) for r in ordered]
    fig = go.Figure()
    for key, label in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99")):
        fig.add_bar(y=names, x=[r[key] for r in ordered], name=label, orientation="h")
    fig.update_layout(
        title="Latency per model (ms)",
        barmode="group",
        height=120 + 40 * len(ordered),
        margin=MARGIN,
        legend={"orientation": "h", "y": -0.08},
    )
    return fig


def category_mix(rows: Sequence[dict[str, Any]]) -> go.Figure:
    """Requests per category (horizontal bars), stacked by complexity, easiest first."""
    totals: dict[str, int] = {}
    for r in rows:
        totals[r["category"]] = totals.get(r["category"], 0) + r["requests"]
    categories = sorted(totals, key=lambda c: totals[c])
    known = [c for c in COMPLEXITY if any(r["complexity"] == c for r in rows)]
    levels = known + sorted({str(r["complexity"]) for r in rows} - set(known))
    fig = go.Figure()
    for level in levels:
        per = {r["category"]: r["requests"] for r in rows if str(r["complexity"]) == level}
        fig.add_bar(
            y=categories,
            x=[per.get(c, 0) for c in categories],
            name=level,
            orientation="h",
            marker_color=COMPLEXITY.get(level),
        )
    fig.update_layout(
        title="Requests by category and complexity",
        barmode="stack",
        height=140 + 36 * len(categories),
        margin=MARGIN,
        legend={"title": "complexity", "traceorder": "normal"},
    )
    return fig


def sankey(rows: Sequence[dict[str, Any]]) -> go.Figure:
    """Category -> chosen model, link widths in requests."""
    categories = sorted({str(r["category"]) for r in rows})
    models = sorted({str(r["model"] or "(failed)") for r in rows})
    labels = categories + models
    index = {name: i for i, name in enumerate(categories)}
    index.update({f"m:{name}": len(categories) + i for i, name in enumerate(models)})
    fig = go.Figure(
        go.Sankey(
            node={"label": labels, "pad": 12, "thickness": 14},
            link={
                "source": [index[str(r["category"])] for r in rows],
                "target": [index[f"m:{r['model'] or '(failed)'}"] for r in rows],
                "value": [r["requests"] for r in rows],
            },
        )
    )
    fig.update_layout(
        title="Which model each category was routed to (requests)",
        height=max(360, 26 * len(labels)),
        margin=MARGIN,
    )
    return fig


def waterfall(spans: Sequence[dict[str, Any]]) -> go.Figure:
    """One request's spans on a time axis: the decision, then each attempt where it ran."""
    ordered = list(spans)  # the decision first, then the attempts as they started
    labels = [_span_label(i, s) for i, s in enumerate(ordered)]
    colors = [_span_color(s) for s in ordered]
    fig = go.Figure(
        go.Bar(
            y=labels,
            x=[max(s["duration_ms"], 0.5) for s in ordered],
            base=[s["offset_ms"] for s in ordered],
            orientation="h",
            marker_color=colors,
            customdata=[
                [f"{s['duration_ms']:,.1f} ms", usd(s["cost_usd"]), s["error_type"] or ""]
                for s in ordered
            ],
            hovertemplate="%{y}<br>%{customdata[0]} · %{customdata[1]} %{customdata[2]}"
            "<extra></extra>",
        )
    )
    fig.update_layout(
        title="Decision and attempts (ms from the start of the decision)",
        xaxis_title="ms",
        yaxis={"autorange": "reversed"},
        height=140 + 34 * len(ordered),
        margin=MARGIN,
    )
    return fig


def _span_color(s: dict[str, Any]) -> str:
    if s["name"] == "mmoa.route":
        return BASELINE
    return ERROR if s["status"] == "error" else SPEND


def _span_label(i: int, s: dict[str, Any]) -> str:
    if s["name"] == "mmoa.route":
        return f"{i + 1}. {s['name']}"
    role = s.get("attempt_role") or "answer"
    return f"{i + 1}. {s['provider']}/{s['model']} ({role}, {s['status']})"


EVENT_STYLE = {  # kind -> (label, marker symbol, colour)
    "budget.alert": ("alert", "triangle-up", "#ff7f0e"),
    "budget.downgrade": ("downgrade", "triangle-down", ERROR),
    "budget.restore": ("restore", "circle", "#2ca02c"),
}


SHARE_CAP = 300.0  # % of a limit: farther figures are drawn at the edge (hover tells them)


def _share(value: Decimal | None, limit: Decimal | None) -> float | None:
    """`value` as a percentage of the budget's limit (budgets of any size on one axis), drawn
    at most SHARE_CAP far."""
    if value is None or not limit:
        return None
    return min(float(100 * value / limit), SHARE_CAP)


def _percent(value: Decimal | None, limit: Decimal | None) -> str:
    if value is None or not limit:
        return ""
    return f"{100 * value / limit:,.0f}%"


def _gap(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def budget_status(rows: Sequence[dict[str, Any]]) -> go.Figure:
    """Per budget, as % of its limit: spent (bar), pace (tick), forecast with its band."""
    names = [f"{r['budget']} ({r['scope']})" for r in rows]
    fig = go.Figure()
    fig.add_bar(
        y=names,
        x=[_share(r["spent_usd"], r["limit_usd"]) for r in rows],
        orientation="h",
        name="spent",
        marker_color=SPEND,
        customdata=[f"{usd(r['spent_usd'])} of {usd(r['limit_usd'])}" for r in rows],
        hovertemplate="%{y}<br>spent %{customdata}<extra></extra>",
        text=[_percent(r["spent_usd"], r["limit_usd"]) for r in rows],
        textposition="inside",
    )
    fig.add_scatter(
        y=names,
        x=[_share(r["pace_usd"], r["limit_usd"]) for r in rows],
        mode="markers",
        name="pace (where spend should be by now)",
        marker={"symbol": "line-ns-open", "size": 26, "line": {"width": 3}, "color": BASELINE},
        customdata=[usd(r["pace_usd"]) for r in rows],
        hovertemplate="%{y}<br>pace %{customdata}<extra></extra>",
    )
    forecast = [_share(r["forecast_usd"], r["limit_usd"]) for r in rows]
    low = [_share(r["forecast_low_usd"], r["limit_usd"]) for r in rows]
    high = [_share(r["forecast_high_usd"], r["limit_usd"]) for r in rows]
    fig.add_scatter(
        y=names,
        x=forecast,
        mode="markers",
        name="forecast for the period (band)",
        marker={"symbol": "diamond", "size": 12, "color": ERROR},
        error_x={
            "type": "data",
            "symmetric": False,
            "array": [_gap(h, f) for f, h in zip(forecast, high, strict=True)],
            "arrayminus": [_gap(f, lo) for f, lo in zip(forecast, low, strict=True)],
            "color": ERROR,
        },
        customdata=[
            f"{usd(r['forecast_usd'])} ({usd(r['forecast_low_usd'])} to "
            f"{usd(r['forecast_high_usd'])})"
            for r in rows
        ],
        hovertemplate="%{y}<br>forecast %{customdata}<extra></extra>",
    )
    fig.add_vline(
        x=100,
        line={"color": ERROR, "dash": "dash"},
        annotation_text="limit",
        annotation_position="top",
    )
    drawn = [v for v in (*forecast, *high) if v is not None]
    fig.update_layout(
        title="Each budget: spent, pace and forecast, as % of its limit",
        xaxis={"ticksuffix": "%", "range": [0, max([120.0, *drawn]) * 1.05]},
        height=160 + 50 * len(rows),
        margin=MARGIN,
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def budget_timeline(events: Sequence[dict[str, Any]]) -> go.Figure:
    """Alerts, downgrades and restores over time, one row per budget; hover for the reason."""
    fig = go.Figure()
    for kind, (label, symbol, colour) in EVENT_STYLE.items():
        mine = [e for e in events if e["kind"] == kind]
        if not mine:
            continue
        fig.add_scatter(
            x=[e["ts"] for e in mine],
            y=[e["budget"] for e in mine],
            mode="markers",
            name=label,
            marker={"symbol": symbol, "size": 14, "color": colour},
            customdata=[e["reason"] or "" for e in mine],
            hovertemplate="%{x}<br>%{y}: " + label + "<br>%{customdata}<extra></extra>",
        )
    budgets = sorted({str(e["budget"]) for e in events})
    fig.update_layout(
        height=120 + 40 * len(budgets),
        margin=MARGIN,
        yaxis={"type": "category", "categoryorder": "array", "categoryarray": budgets},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"},
    )
    return fig
