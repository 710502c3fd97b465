"""The budget controller's events as the dashboard shows them (table `budget_events`).

The table comes with migration 005 (budget controller); on an older store, or before any budget
is configured, every function here answers "nothing" instead of failing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from analytics.reader import Source, rows_of

SHOWN_KINDS = ("budget.alert", "budget.downgrade", "budget.restore")
_COLUMNS = (
    "event_id, ts, kind, budget, scope, period_start, policy_version, from_chain, to_chain, "
    "reason, spent_usd, pace_usd, forecast_usd, forecast_low_usd, forecast_high_usd, limit_usd, "
    "simulated"
)


def _dicts(source: Source, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    columns, rows = rows_of(source, sql, params)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def available(source: Source) -> bool:
    """True when the store has the budget_events table (migration 005)."""
    _, rows = rows_of(
        source,
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'budget_events' "
        "AND schema_name = 'main'",
    )
    return bool(rows and rows[0][0])


def timeline(
    source: Source,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Alerts, downgrades and restores, newest first, in [since, until)."""
    if not available(source):
        return []
    return _dicts(
        source,
        f"SELECT {_COLUMNS} FROM budget_events "
        "WHERE kind IN ('budget.alert', 'budget.downgrade', 'budget.restore') "
        "AND ts >= coalesce($since::TIMESTAMP, TIMESTAMP '-infinity') "
        "AND ts < coalesce($until::TIMESTAMP, TIMESTAMP 'infinity') "
        "ORDER BY ts DESC, event_id LIMIT $limit",
        {
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "limit": limit,
        },
    )


def active(source: Source) -> list[dict[str, Any]]:
    """Per budget and scope, the last downgrade not followed by a restore, and the last alert
    of the budget's latest period: what is in force now."""
    if not available(source):
        return []
    return _dicts(
        source,
        f"""
        WITH shown AS (
            SELECT {_COLUMNS} FROM budget_events
            WHERE kind IN ('budget.alert', 'budget.downgrade', 'budget.restore')
        ),
        policy AS (
            SELECT * FROM shown WHERE kind IN ('budget.downgrade', 'budget.restore')
            QUALIFY row_number() OVER (PARTITION BY budget, scope ORDER BY ts DESC, event_id DESC)
                = 1
        ),
        alerts AS (
            SELECT a.* FROM shown a
            WHERE a.kind = 'budget.alert'
              AND a.period_start IS NOT DISTINCT FROM
                  (SELECT max(p.period_start) FROM shown p WHERE p.budget = a.budget)
              AND NOT EXISTS (  -- a restore after the alert: the budget is back on pace
                  SELECT 1 FROM shown r
                  WHERE r.kind = 'budget.restore' AND r.budget = a.budget AND r.ts > a.ts)
            QUALIFY row_number() OVER (PARTITION BY a.budget ORDER BY a.ts DESC, a.event_id DESC)
                = 1
        )
        SELECT * FROM policy WHERE kind = 'budget.downgrade'
        UNION ALL
        SELECT * FROM alerts
        ORDER BY ts DESC, event_id
        """,
    )
