"""SQL: a read-only query box over the store and its views, with the shipped example queries."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import streamlit as st

import analytics
from analytics import console
from dashboard import context
from dashboard.context import Context

TITLE = "SQL"
DEFAULT = "SELECT * FROM savings_by_category"


def to_csv(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    """CSV text of an answer: exact decimals, ISO timestamps, empty for NULL."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(columns)
    w.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _pick_example() -> None:
    chosen = st.session_state.get("sql_example")
    for e in console.examples():
        if chosen == f"{e.name}: {e.title}":
            st.session_state["sql_text"] = e.sql


def draw(ctx: Context) -> None:
    names = [f"{e.name}: {e.title}" for e in console.examples()]
    st.selectbox(
        "example queries (sql/queries)",
        names,
        index=None,
        placeholder="pick one to load it into the box",
        key="sql_example",
        on_change=_pick_example,
    )
    st.session_state.setdefault("sql_text", DEFAULT)
    sql = st.text_area("query", key="sql_text", height=220)
    st.caption(
        "Read-only: one SELECT at a time over `spans`, `calls`, `requests`, `models` and the "
        "views; no writes, files, settings or extensions. The sidebar filters do not apply "
        "here: put them in the WHERE clause."
    )
    if not st.button("Run", type="primary", key="sql_run"):
        return
    try:
        answer = console.run(ctx.source, sql)
    except analytics.AnalyticsError as exc:
        st.error(str(exc), icon=":material/block:")
        return
    if answer.truncated:
        st.warning(f"Only the first {len(answer.rows):,} rows are shown; add a LIMIT.")
    st.dataframe(
        [dict(zip(answer.columns, (_cell(v) for v in row), strict=True)) for row in answer.rows],
        hide_index=True,
        key="sql_result",
    )
    st.caption(f"{len(answer.rows):,} row{'s' if len(answer.rows) != 1 else ''}")
    st.download_button(
        "Download CSV",
        to_csv(answer.columns, answer.rows),
        file_name="mmoa-query.csv",
        mime="text/csv",
        key="sql_csv",
        on_click="ignore",  # downloading must not rerun the query and clear the answer
    )


ctx = context.current()
context.header(ctx, TITLE, "Ask the store anything, read-only.")
if ctx is not None:
    context.guarded(ctx, draw)  # never refreshed by the timer: a query runs on Run
