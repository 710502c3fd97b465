"""Models: spend, tokens, latency, errors and retries per provider and model; unpriced calls."""

from __future__ import annotations

from typing import Any

import streamlit as st

from analytics import dashboard as data
from dashboard import charts, context, reads
from dashboard.context import Context
from dashboard.fmt import NUMBER, count, ms, rate, table_height, usd

TITLE = "Models"


def cost_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spend, speed and failures per model as people read them."""
    return [
        {
            "provider": r["provider"],
            "model": r["model"],
            "calls": r["calls"],
            "spend": usd(r["cost_usd"]),
            "per 1k requests": usd(r["cost_per_1k_requests"]),
            "p50": ms(r["p50_ms"]),
            "p95": ms(r["p95_ms"]),
            "p99": ms(r["p99_ms"]),
            "errors": rate(r["error_rate"]),
            "retries": rate(r["retry_rate"]),
        }
        for r in rows
    ]


def token_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Where the tokens went: plain vs cached input, visible vs reasoning output."""
    return [
        {
            "provider": r["provider"],
            "model": r["model"],
            "plain input": r["input_tokens"] - r["cached_input_tokens"] - r["cache_write_tokens"],
            "cached input": r["cached_input_tokens"],
            "cache write": r["cache_write_tokens"],
            "visible output": r["output_tokens"] - r["reasoning_tokens"],
            "reasoning": r["reasoning_tokens"],
        }
        for r in rows
    ]


def draw(ctx: Context) -> None:
    rows = reads.read(ctx, data.models, ctx.filters)
    if not rows:
        st.info("No provider calls match these filters.")
        return
    st.dataframe(
        cost_table(rows),
        hide_index=True,
        key="models_table",
        height=table_height(len(rows)),
        column_config={"calls": NUMBER},
    )
    st.caption(
        "Latency percentiles are read from 2%-wide histogram buckets (kept per minute): each is "
        "within 1% of the exact figure. Cost per 1k requests: the average priced request the "
        "model answered, all its attempts included, times 1,000."
    )
    left, right = st.columns(2)
    left.plotly_chart(charts.spend_by_model(rows), key="spend_by_model", config=charts.CONFIG)
    right.plotly_chart(charts.latency(rows), key="latency", config=charts.CONFIG)
    st.subheader("Tokens")
    tokens = token_table(rows)
    st.dataframe(
        tokens,
        hide_index=True,
        key="tokens_table",
        height=table_height(len(rows)),
        column_config={k: NUMBER for k in tokens[0] if k not in ("provider", "model")},
    )
    unpriced = reads.read(ctx, data.unpriced, ctx.filters)
    st.subheader("Unpriced calls")
    if not unpriced:
        st.success("Every successful call was priced.", icon=":material/check:")
    for u in unpriced:
        st.error(
            f"{count(u['calls'])} call{'s' if u['calls'] != 1 else ''} to "
            f"{u['provider']}/{u['model']} could not be priced (counted as unpriced, not $0). "
            f"Fix: add to mmoa.yaml `{u['fix']}`"
        )
    context.footer(ctx)


ctx = context.current()
context.header(ctx, TITLE, "Each provider and model: what it cost, how fast, how often it failed.")
if ctx is not None:
    context.live(ctx, draw)
