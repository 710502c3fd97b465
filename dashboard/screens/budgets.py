"""Budgets: alerts, downgrades and restores of the budget controller, with their reasons."""

from __future__ import annotations

from typing import Any

import streamlit as st

from analytics import budget_events
from dashboard import charts, context, reads
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


def draw(ctx: Context) -> None:
    if not reads.read(ctx, budget_events.available):
        st.info(
            "No budgets configured: this store has no budget events yet. Add a `budgets:` "
            "section to mmoa.yaml to have spend watched, alerted and capped."
        )
        return
    events = reads.read(ctx, budget_events.timeline, ctx.filters.since, ctx.filters.until)
    if not events:
        st.info("No budget events yet in this time range: every budget is within its pace.")
        return
    status = latest_figures(events)
    if status:
        st.plotly_chart(charts.budget_status(status), key="budget_status", config=charts.CONFIG)
        st.caption(
            "As of each budget's latest event: spent so far in the period, the pace (where "
            "spend should be by now to end on the limit), the forecast for the whole period "
            "and its band."
        )
    st.plotly_chart(charts.budget_timeline(events), key="budget_events", config=charts.CONFIG)
    st.subheader("Alerts, downgrades and restores")
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
