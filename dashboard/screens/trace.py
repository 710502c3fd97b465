"""Trace: one request's decision and attempts on a time axis, and its cost against baseline."""

from __future__ import annotations

from typing import Any

import streamlit as st

from analytics import dashboard as data
from dashboard import charts, context, reads
from dashboard.context import Context
from dashboard.fmt import count, usd

TITLE = "Trace"


def _label(r: dict[str, Any]) -> str:
    return (
        f"{r['ts']:%m-%d %H:%M:%S} · {r['category']} · {r['model'] or '(failed)'} · "
        f"{r['strategy']} · {usd(r['cost_usd'])} · {r['request_id']}"
    )


def pick(ctx: Context) -> str | None:
    """A request id: pasted by the user, else chosen among the most recent ones."""
    pasted = st.text_input("request id", placeholder="paste a request id", key="trace_id").strip()
    if pasted:
        return pasted
    recent = reads.read(ctx, data.recent_requests, ctx.filters, 50)
    if not recent:
        st.info("No requests match these filters.")
        return None
    labels = {_label(r): str(r["request_id"]) for r in recent}
    chosen = st.selectbox("or pick a recent request", list(labels), key="trace_pick")
    return labels[chosen] if chosen else None


def show(spans: list[dict[str, Any]]) -> None:
    decision = next((s for s in spans if s["name"] == "mmoa.route"), spans[0])
    attempts = [s for s in spans if s is not decision]
    cost = decision["cost_usd"]
    baseline = decision["baseline_cost_usd"]
    saving = None if cost is None or baseline is None else baseline - cost
    cols = st.columns(4)
    cols[0].metric("attempts", count(len(attempts)))
    cols[1].metric("cost", usd(cost))
    cols[2].metric("baseline cost", usd(baseline))
    cols[3].metric("saving", usd(saving))
    st.plotly_chart(charts.waterfall(spans), key="waterfall", config=charts.CONFIG)
    st.dataframe(
        [
            {
                "span": s["name"],
                "start": f"{s['offset_ms']:,.1f} ms",
                "duration": f"{s['duration_ms']:,.1f} ms",
                "model": s["model"] or "",
                "role": s["attempt_role"] or "",
                "status": s["status"] or "",
                "error": s["error_type"] or "",
                "tokens in": count(s["input_tokens"]) if s is not decision else "",
                "tokens out": count(s["output_tokens"]) if s is not decision else "",
                "cost": usd(s["cost_usd"]),
            }
            for s in spans
        ],
        hide_index=True,
        key="trace_table",
    )


def draw(ctx: Context) -> None:
    request_id = pick(ctx)
    if request_id is None:
        return
    spans = reads.read(ctx, data.trace, request_id)
    if not spans:
        st.error(f"No request {request_id!r} in the store: check the id (Overview, SQL).")
        return
    show(spans)
    context.footer(ctx)


ctx = context.current()
context.header(ctx, TITLE, "One request: the routing decision, every attempt, what it cost.")
if ctx is not None:
    context.guarded(ctx, draw)  # no auto refresh: the picked request must not change
