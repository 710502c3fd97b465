"""The mmoa dashboard: spend against the single-model baseline, from the store's views.

Run with `mmoa dashboard` (it starts `streamlit run` on this file with the store path).
Imports only `analytics` among mmoa's packages.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import plotly.graph_objects as go
import streamlit as st

import analytics
from analytics.money import usd

SIMULATED_BANNER = "SIMULATED TRAFFIC: figures come from the offline `simulated` provider"


def _source(argv: list[str]) -> tuple[str, analytics.Source]:
    """(what to show as the data's origin, where reads go): a collector URL or the store file."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", default="mmoa.duckdb")
    parser.add_argument("--collector")
    parser.add_argument("--token")
    args = parser.parse_known_args(argv)[0]
    if args.collector:
        return args.collector, analytics.CollectorReader(args.collector, token=args.token)
    return str(args.store), analytics.open_reader(args.store)


def _rows_for_table(rows: list[dict[str, Any]], label: str) -> list[dict[str, Any]]:
    return [
        {
            label: r["key"],
            "requests": r["requests"],
            "spend": usd(r["cost_usd"]),
            "baseline": usd(r["baseline_cost_usd"]),
            "saving": usd(r["saving_usd"]),
            "saving %": r["saving_pct"],
        }
        for r in rows
    ]


def _hourly_chart(rows: list[dict[str, Any]]) -> go.Figure:
    hours = [r["key"] for r in rows]
    fig = go.Figure()
    fig.add_bar(x=hours, y=[float(r["cost_usd"]) for r in rows], name="actual spend")
    fig.add_scatter(
        x=hours,
        y=[float(r["baseline_cost_usd"]) for r in rows],
        name="single-model baseline",
        mode="lines+markers",
    )
    fig.update_layout(
        yaxis_title="US dollars per hour", height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10}
    )
    return fig


def main() -> None:
    st.set_page_config(page_title="mmoa: LLM spend and savings", layout="wide")
    st.title("mmoa: LLM spend and savings")
    try:
        store, conn = _source(sys.argv[1:])
        report = analytics.build(conn, ["category", "model"], None)
    except analytics.AnalyticsError as exc:  # no store, or the collector is unreachable
        st.error(str(exc))
        return
    if report.simulated:
        st.warning(SIMULATED_BANNER)
    s = report.summary
    cols = st.columns(4)
    cols[0].metric("requests", f"{s['requests']:,}")
    cols[0].caption(f"{s['failed']:,} failed on every model")
    cols[1].metric("actual spend", usd(s["cost_usd"]))
    cols[2].metric("single-model baseline", usd(s["baseline_cost_usd"]))
    cols[3].metric(
        "saving",
        usd(s["saving_usd"]),
        f"{s['saving_pct']}%" if s["saving_pct"] is not None else None,
    )
    st.subheader("Spend per hour")
    st.plotly_chart(_hourly_chart(analytics.hourly(conn, None)))
    left, right = st.columns(2)
    for column, breakdown in zip((left, right), report.breakdowns, strict=True):
        column.subheader(f"By {breakdown.by}")
        column.dataframe(_rows_for_table(breakdown.rows, breakdown.by), hide_index=True)
    for u in report.unpriced:
        st.error(analytics.unpriced_note(u))
    st.caption(
        f"store: {store} · every figure is a SQL view: "
        '`mmoa sql "SELECT * FROM savings_by_category"`'
    )


main()
