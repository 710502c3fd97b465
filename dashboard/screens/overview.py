"""Overview: spend against the single-model baseline over time, the saving, volume, errors."""

from __future__ import annotations

import streamlit as st

from analytics import dashboard as data
from dashboard import budget_banner, charts, context
from dashboard.context import Context
from dashboard.fmt import count, pct, rate, usd

TITLE = "Overview"


def draw(ctx: Context) -> None:
    budget_banner.show(ctx)
    o = data.overview(ctx.source, ctx.filters)
    cols = st.columns(4)
    cols[0].metric("requests", count(o["requests"]))
    cols[0].caption(f"{count(o['calls'])} provider calls")
    cols[1].metric("actual spend", usd(o["cost_usd"]))
    cols[2].metric("single-model baseline", usd(o["baseline_cost_usd"]))
    cols[3].metric("saving", usd(o["saving_usd"]), pct(o["saving_pct"]))
    cols = st.columns(4)
    cols[0].metric("input tokens", count(o["input_tokens"]))
    cols[1].metric("output tokens", count(o["output_tokens"]))
    cols[2].metric("error rate", rate(o["error_rate"]))
    cols[2].caption(f"{count(o['errors'])} failed calls")
    cols[3].metric("unpriced calls", count(o["unpriced_calls"]))
    if o["unpriced_calls"]:
        cols[3].caption("see Models for the price to add")
    series = data.spend_series(ctx.source, ctx.filters)
    if not series:
        st.info("No requests match these filters.")
        return
    st.plotly_chart(charts.spend_over_time(series), key="spend", config=charts.CONFIG)
    st.plotly_chart(charts.requests_over_time(series), key="volume", config=charts.CONFIG)
    context.footer(ctx)


ctx = context.current()
context.header(ctx, TITLE, "What the routed traffic cost, against one model for everything.")
if ctx is not None:
    context.live(ctx, draw)
