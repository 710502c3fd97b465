"""Routing: what kinds of tasks came in, where they were sent, how each strategy did."""

from __future__ import annotations

from typing import Any

import streamlit as st

from analytics import dashboard as data
from dashboard import charts, context, reads
from dashboard.context import Context
from dashboard.fmt import count, pct, rate, usd

TITLE = "Routing"


def strategy_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "strategy": r["strategy"],
            "requests": r["requests"],
            "escalation rate": rate(r["escalation_rate"], 1),
            "attempts per request": "-"
            if r["attempts_per_request"] is None
            else f"{r['attempts_per_request']:.2f}",
            "ensemble agreement": "-" if r["agreement"] is None else f"{r['agreement']:.2f}",
            "cache hit rate": rate(r["cache_hit_rate"]),
            "spend": usd(r["cost_usd"]),
            "baseline": usd(r["baseline_cost_usd"]),
            "saving": pct(r["saving_pct"]),
        }
        for r in rows
    ]


def draw(ctx: Context) -> None:
    mix = reads.read(ctx, data.category_mix, ctx.filters)
    if not mix:
        st.info("No requests match these filters.")
        return
    strategies = reads.read(ctx, data.strategies, ctx.filters)
    requests = sum(r["requests"] for r in strategies)
    # the rate over all requests: each strategy's rate weighted by its requests
    hit_rate = sum(r["cache_hit_rate"] * r["requests"] for r in strategies) / requests
    cols = st.columns(3)
    cols[0].metric("requests", count(requests))
    cols[1].metric("strategies used", count(len(strategies)))
    cols[2].metric("cache hit rate", rate(hit_rate))
    left, right = st.columns([2, 3])
    left.plotly_chart(charts.category_mix(mix), key="mix", config=charts.CONFIG)
    flows = reads.read(ctx, data.flows, ctx.filters)
    right.plotly_chart(charts.sankey(flows), key="sankey", config=charts.CONFIG)
    st.subheader("Strategies")
    st.dataframe(strategy_table(strategies), hide_index=True, key="strategies_table")
    context.footer(ctx)


ctx = context.current()
context.header(ctx, TITLE, "Task categories and complexity, the model each was routed to.")
if ctx is not None:
    context.live(ctx, draw)
