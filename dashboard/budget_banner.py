"""The banner on top of the Overview: budget alerts and downgrades in force right now."""

from __future__ import annotations

import streamlit as st

from analytics import budget_events
from dashboard import reads
from dashboard.context import Context
from dashboard.fmt import usd


def show(ctx: Context) -> None:
    """One warning line per active downgrade or alert; nothing when all budgets are fine."""
    for e in reads.read(ctx, budget_events.active):
        what = "downgraded" if e["kind"] == "budget.downgrade" else "alert"
        chain = f" ({e['from_chain']} -> {e['to_chain']})" if e["to_chain"] else ""
        figures = f"spent {usd(e['spent_usd'])} of {usd(e['limit_usd'])}"
        reason = e["reason"] or ""
        st.warning(
            f"Budget **{e['budget']}** ({e['scope']}) {what}{chain}: {figures}. {reason}",
            icon=":material/warning:",
        )
