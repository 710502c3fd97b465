"""Budgets: alerts, downgrades and restores of the budget controller, with their reasons."""

from __future__ import annotations

from typing import Any

import streamlit as st

from analytics import budget_events, budget_view
from dashboard import budget_banner, charts, context, reads
from dashboard.context import Context
from dashboard.fmt import usd

TITLE = "Budgets"
KIND = {"budget.alert": "alert", "budget.downgrade": "downgrade", "budget.restore": "restore"}


def timeline_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "time (UTC)": f"{e['ts']:%Y-%m-%d %H:%M:%S}",
            "event": KIND.get(e["kind"], e["kind"]),
            "budget": e["budget"],
            "reason": e["reason"] or "",
            "models": f"{e['from_chain']} -> {e['to_chain']}" if e["to_chain"] else "",
            "spent": usd(e["spent_usd"]),
            "pace": usd(e["pace_usd"]),
            "forecast": usd(e["forecast_usd"]),
            "limit": usd(e["limit_usd"]),
            "scope": e["scope"],
        }
        for e in events
    ]


def latest_figures(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per budget and scope, the newest event that carries figures (events come newest first)."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for e in events:
        if e["limit_usd"] is not None and e["spent_usd"] is not None:
            seen.setdefault((e["budget"], e["scope"]), e)
    return sorted(seen.values(), key=lambda e: (e["budget"], e["scope"]))


def as_figures(r: dict[str, Any]) -> dict[str, Any]:
    """A status row (analytics.budgets.BudgetStatus) in the chart's terms."""
    return {
        "budget": r["name"],
        "scope": r["scope"],
        "spent_usd": r["spent"],
        "pace_usd": r["pace"],
        "forecast_usd": r["forecast"],
        "forecast_low_usd": r["forecast_low"],
        "forecast_high_usd": r["forecast_high"],
        "limit_usd": r["limit"],
    }


def status_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "budget": r["name"],
            "scope": r["scope"],
            "state": r["state"],
            "period (UTC)": f"{r['period_start']:%m-%d %H:%M} to {r['period_end']:%m-%d %H:%M}",
            "spent": usd(r["spent"]),
            "pace": usd(r["pace"]),
            "forecast": usd(r["forecast"]),
            "band": f"{usd(r['forecast_low'])} to {usd(r['forecast_high'])}",
            "limit": usd(r["limit"]),
            "alert at": usd(r["soft"]),
            "cap": usd(r["hard"]) if r["hard"] is not None else "none",
            "reserved": usd(r["reserved"]),
            "downgrade in force": r["downgrade"] or "",
        }
        for r in rows
    ]


def draw_status(ctx: Context, events: list[dict[str, Any]]) -> None:
    rows = budget_banner.status(ctx)
    if rows:
        figures = [as_figures(r) for r in rows]
        st.plotly_chart(charts.budget_status(figures), key="budget_status", config=charts.CONFIG)
        st.dataframe(status_rows(rows), hide_index=True, key="budget_status_table")
        for r in rows:
            if r["drift"]:
                st.caption(f"**{r['name']}**: {r['drift']}")
        at = budget_banner.as_of(ctx)
        st.caption(
            f"As of {at:%Y-%m-%d %H:%M} UTC (the end of the data shown: the latest, or the end "
            "of the time range picked in the sidebar), for each budget of the config: spent in "
            "its period so far, the pace (where spend should be by then to end on the limit), "
            f"the forecast for the whole period and its band. Budgets from {ctx.config}."
        )
    elif events:
        figures = latest_figures(events)
        where = f"in {ctx.config}" if ctx.config else "given"
        st.info(f"No `budgets:` {where}: the figures below are from the latest events.")
        if figures:
            st.plotly_chart(
                charts.budget_status(figures), key="budget_status", config=charts.CONFIG
            )


def draw(ctx: Context) -> None:
    has_events = reads.read(ctx, budget_events.available)
    events = (
        reads.read(ctx, budget_events.timeline, ctx.filters.since, ctx.filters.until)
        if has_events
        else []
    )
    if not events and not budget_view.specs(ctx.config):
        st.info(
            "No budgets configured and no budget events yet. Add a `budgets:` section to "
            "mmoa.yaml (see `mmoa budget --help`) to have spend watched, alerted and capped."
        )
        return
    draw_status(ctx, events)
    st.subheader("Alerts, downgrades and restores")
    if not events:
        st.caption("No budget events yet in this time range: every budget is within its pace.")
        context.footer(ctx)
        return
    st.plotly_chart(charts.budget_timeline(events), key="budget_events", config=charts.CONFIG)
    st.dataframe(
        timeline_rows(events),
        hide_index=True,
        key="budget_timeline",
        column_config={"reason": st.column_config.TextColumn(width="large")},
    )
    context.footer(ctx)


ctx = context.current()
context.header(ctx, TITLE, "Each budget's spend against its pace, and what the controller did.")
if ctx is not None:
    context.live(ctx, draw)
