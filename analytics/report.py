"""The savings report: every figure comes from the SQL views and macros in sql/."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from analytics.reader import Source, rows_of

GROUPINGS = ("category", "model", "provider", "day", "tag", "complexity", "strategy", "hour")
EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class Breakdown:
    """Savings grouped by one key (rows are dicts of the macro's columns, key first)."""

    by: str
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class Report:
    """Totals, breakdowns, and what could not be priced, for one time window."""

    since: datetime | None
    summary: dict[str, Any]
    breakdowns: list[Breakdown]
    unpriced: list[dict[str, Any]]
    strategies: list[dict[str, Any]] = field(default_factory=list)
    # the budget controller: alerts, downgrades, restores, and each downgrade's effect
    budget_events: list[dict[str, Any]] = field(default_factory=list)
    downgrades: list[dict[str, Any]] = field(default_factory=list)

    @property
    def simulated(self) -> bool:
        return bool(self.summary.get("simulated"))


def _dicts(source: Source, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    columns, rows = rows_of(source, sql, params)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def savings(source: Source, by: str, since: datetime | None) -> list[dict[str, Any]]:
    """Rows of `savings_report(by, since_ts)` (sql/views/30_savings.sql)."""
    if by not in GROUPINGS and by != "all":
        raise ValueError(f"cannot group by {by!r}; use one of {', '.join(GROUPINGS)}")
    return _dicts(
        source,
        "SELECT * FROM savings_report($by, since_ts := $since::TIMESTAMP)",
        {"by": by, "since": (since or EPOCH).isoformat()},
    )


def build(source: Source, by: list[str], since: datetime | None) -> Report:
    """The report: the summary row plus one breakdown per grouping asked for.

    `source` is the store opened read-only (open_reader) or a collector (CollectorReader).
    """
    rows = savings(source, "all", since)
    summary = rows[0] if rows else _empty_summary()
    summary.pop("key", None)
    unpriced = _dicts(source, "SELECT * FROM unpriced_models")
    strategies = _dicts(
        source,
        "SELECT * FROM strategy_report(since_ts := $since::TIMESTAMP)",
        {"since": (since or EPOCH).isoformat()},
    )
    breakdowns = [Breakdown(b, savings(source, b, since)) for b in by]
    return Report(since, summary, breakdowns, unpriced, strategies, *_budgets(source, since))


def _budgets(
    source: Source, since: datetime | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The controller's events and each downgrade's effect (none in a store older than them,
    opened read-only so not migrated)."""
    import duckdb

    from analytics.budgets import downgrade_effects, timeline

    try:
        return timeline(source, since), downgrade_effects(source, since)
    except duckdb.CatalogException:
        return [], []


def _empty_summary() -> dict[str, Any]:
    zero = Decimal(0)
    return {
        "requests": 0,
        "ok": 0,
        "failed": 0,
        "input_tokens": 0,
        "cached_input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": zero,
        "baseline_cost_usd": zero,
        "saving_usd": zero,
        "saving_pct": None,
        "unpriced_calls": 0,
        "simulated": False,
    }


def hourly(source: Source, since: datetime | None) -> list[dict[str, Any]]:
    """Spend and baseline per hour (the `hour` grouping of savings_report), oldest first."""
    return sorted(savings(source, "hour", since), key=lambda r: str(r["key"]))


def unpriced_note(row: dict[str, Any]) -> str:
    """The line that tells the user which model needs a price (rows of `unpriced_models`)."""
    n = row["calls"]
    return (
        f"{n:,} call{'s' if n != 1 else ''} unpriced: add a price for {row['model']} in mmoa.yaml"
    )
