"""Budgets now: their status from the config's `budgets:` (analytics.budgets.status), and the
banner on top of the Overview for alerts and downgrades in force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import streamlit as st

from analytics import budget_events, budget_view
from dashboard import reads
from dashboard.context import Context
from dashboard.fmt import usd


def now_minute() -> datetime:
    """Now, naive UTC, to the minute: budget status is per minute (and remembered so)."""
    return datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)


def as_of(ctx: Context) -> datetime:
    """When budget status is taken, to the minute: the last minute of the data shown, that is
    of the time range picked in the sidebar, else of the latest data (about now on a live
    store; a demo's day ends earlier), and never later than now."""
    end = ctx.filters.until
    if end is None and ctx.options.get("last_ts") is not None:
        end = ctx.options["last_ts"].replace(second=0, microsecond=0) + timedelta(minutes=1)
    now = now_minute()
    if end is None:
        return now
    return min(now, end.replace(second=0, microsecond=0) - timedelta(minutes=1))


def status(ctx: Context) -> list[dict[str, Any]]:
    """Each configured budget's figures and state (see as_of); empty without `budgets:`."""
    rows: list[dict[str, Any]] = reads.read(ctx, budget_view.status_rows, ctx.config, as_of(ctx))
    return rows


def show(ctx: Context) -> None:
    """One warning per budget in alert or downgraded; nothing when all budgets are fine.

    Without configured budgets, what the events say is in force (a downgrade not restored)."""
    rows = status(ctx)
    if rows:
        for r in rows:
            if r["state"] == "ok":
                continue
            what = f"downgraded to {r['downgrade']}" if r["downgrade"] else "alert"
            figures = (
                f"spent {usd(r['spent'])} of {usd(r['limit'])}, pace {usd(r['pace'])}, "
                f"forecast {usd(r['forecast'])}"
            )
            drift = f". {r['drift']}" if r["drift"] else ""
            st.warning(
                f"Budget **{r['name']}** ({r['scope']}) {what}: {figures}{drift}",
                icon=":material/warning:",
            )
        return
    for e in reads.read(ctx, budget_events.active):
        what = "downgraded" if e["kind"] == "budget.downgrade" else "alert"
        chain = f" ({e['from_chain']} -> {e['to_chain']})" if e["to_chain"] else ""
        figures = f"spent {usd(e['spent_usd'])} of {usd(e['limit_usd'])}"
        reason = e["reason"] or ""
        st.warning(
            f"Budget **{e['budget']}** ({e['scope']}) {what}{chain}: {figures}. {reason}",
            icon=":material/warning:",
        )
