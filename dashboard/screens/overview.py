"""Overview: spend against the single-model baseline over time, the saving, volume, errors."""

from __future__ import annotations

from typing import Any

import streamlit as st

from analytics import dashboard as data
from dashboard import budget_banner, charts, context, reads
from dashboard.context import Context
from dashboard.fmt import count, pct, rate, usd

TITLE = "Overview"


def draw(ctx: Context) -> None:
    banner, figures = st.container(), st.container()
    # The chart's place first, as an empty frame: the browser starts loading the charting code
    # while the figures are computed (on a cold browser that load is the slowest part).
    spend_slot, volume_slot = st.empty(), st.empty()
    spend_slot.plotly_chart(charts.loading(), key="spend_loading", config=charts.CONFIG)
    with banner:
        budget_banner.show(ctx)
    series = reads.read(ctx, data.spend_series, ctx.filters)
    if series:
        spend_slot.plotly_chart(charts.spend_over_time(series), key="spend", config=charts.CONFIG)
        volume_slot.plotly_chart(
            charts.requests_over_time(series), key="volume", config=charts.CONFIG
        )
    else:
        spend_slot.info("No requests match these filters.")
    with figures:
        metrics(reads.read(ctx, data.overview, ctx.filters))
    context.footer(ctx)


def metrics(o: dict[str, Any]) -> None:
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


ctx = context.current()
context.header(ctx, TITLE, "What the routed traffic cost, against one model for everything.")
if ctx is not None:
    context.live(ctx, draw)
