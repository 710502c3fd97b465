"""Appending events to the log: budget events, alert deliveries, quality feedback.

One function, `append_events(conn, events)`, used by the embedded writer and by the collector's
`POST /v1/events`. All of a call's events go in one transaction, or none (a malformed event
fails the whole call with one line naming it). An event already stored (same id) is ignored,
so a retried or duplicated append is harmless.

Each event is a mapping with a `kind`:
- `budget.alert | budget.downgrade | budget.restore | budget.reserve | budget.settle`: a
  `budget_events` row (sql/migrations/005_budget_events.sql);
- `budget.delivery`: an alert delivered to a channel (`budget_deliveries`: event_id, channel,
  delivered_at, attempts, status);
- `feedback`: a score for a past response (`feedback`: event_id, ts, request_id, score,
  comment, source).
Timestamps may be datetimes or ISO strings (naive UTC), money Decimals or decimal strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import duckdb

from collector.errors import CollectorError
from collector.store import transaction

BUDGET_KINDS = (
    "budget.alert",
    "budget.downgrade",
    "budget.restore",
    "budget.reserve",
    "budget.settle",
)
DELIVERY_KIND = "budget.delivery"
FEEDBACK_KIND = "feedback"

_BUDGET_COLUMNS = (
    "event_id",
    "ts",
    "kind",
    "budget",
    "scope",
    "period_start",
    "policy_version",
    "from_chain",
    "to_chain",
    "reason",
    "spent_usd",
    "pace_usd",
    "forecast_usd",
    "forecast_low_usd",
    "forecast_high_usd",
    "limit_usd",
    "reservation_id",
    "amount_usd",
    "simulated",
    "details",
)
_DELIVERY_COLUMNS = ("event_id", "channel", "delivered_at", "attempts", "status")
_FEEDBACK_COLUMNS = ("event_id", "ts", "request_id", "score", "comment", "source")
_REQUIRED = {
    "budget": ("event_id", "ts", "kind", "budget", "scope"),
    "delivery": ("event_id", "channel", "delivered_at", "attempts"),
    "feedback": ("event_id", "ts", "request_id", "score", "source"),
}
_TIMES = {"ts", "period_start", "delivered_at"}
_MONEY = {c for c in _BUDGET_COLUMNS if c.endswith("_usd")}
_TABLES = {
    "budget": ("budget_events", _BUDGET_COLUMNS),
    "delivery": ("budget_deliveries", _DELIVERY_COLUMNS),
    "feedback": ("feedback", _FEEDBACK_COLUMNS),
}


class BadEvent(CollectorError, ValueError):
    """An event that cannot be stored as given; the message names it and the fix."""


def _table_of(index: int, kind: object) -> str:
    if kind in BUDGET_KINDS:
        return "budget"
    if kind == DELIVERY_KIND:
        return "delivery"
    if kind == FEEDBACK_KIND:
        return "feedback"
    raise BadEvent(
        f"event {index}: unknown kind {kind!r}: use one of "
        + ", ".join((*BUDGET_KINDS, DELIVERY_KIND, FEEDBACK_KIND))
    )


def _value(where: str, column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in _TIMES:
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise BadEvent(f"{where}: {column} {value!r} is not an ISO timestamp") from None
        # the store is naive UTC
        return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    if column in _MONEY:
        try:
            money = Decimal(str(value))
        except InvalidOperation:
            raise BadEvent(f"{where}: {column} {value!r} is not a decimal amount") from None
        if not money.is_finite():
            raise BadEvent(f"{where}: {column} {value!r} is not a finite amount")
        return money
    if column == "details":
        return value if isinstance(value, str) else json.dumps(value, default=str)
    return value


def _row(index: int, event: object) -> tuple[str, tuple[Any, ...]]:
    if not isinstance(event, Mapping):
        raise BadEvent(f"event {index}: must be an object, got {type(event).__name__}")
    table = _table_of(index, event.get("kind"))
    where = f"event {index} ({event.get('kind')} {event.get('event_id')!r})"
    missing = [c for c in _REQUIRED[table] if event.get(c) in (None, "") and c != "budget"]
    if table == "budget" and not isinstance(event.get("budget"), str):
        missing.insert(0, "budget")
    if missing:
        raise BadEvent(f"{where}: {missing[0]} is required")
    _, columns = _TABLES[table]
    extra = sorted(set(event) - set(columns) - {"kind"})
    if extra:
        raise BadEvent(f"{where}: unknown field {extra[0]!r}; fields are {', '.join(columns)}")
    values = tuple(_value(where, c, event.get(c)) for c in columns)
    if table == "budget" and values[columns.index("simulated")] is None:
        i = columns.index("simulated")
        values = (*values[:i], False, *values[i + 1 :])
    return table, values


def append_events(conn: duckdb.DuckDBPyConnection, events: Sequence[object]) -> int:
    """Store `events` in one transaction (all or none); returns how many were new."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for i, event in enumerate(events):
        table, values = _row(i, event)
        rows.setdefault(table, []).append(values)
    if not rows:
        return 0
    added = 0
    with transaction(conn):
        for table, batch in rows.items():
            name, columns = _TABLES[table]
            before = _count(conn, name)
            marks = ", ".join("?" * len(columns))
            conn.executemany(
                f"INSERT OR IGNORE INTO {name} ({', '.join(columns)}) VALUES ({marks})", batch
            )
            added += _count(conn, name) - before
    return added


def _count(conn: duckdb.DuckDBPyConnection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def events_from_json(body: bytes) -> list[object]:
    """The body of POST /v1/events: a JSON list of event objects."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadEvent(f"malformed JSON: {exc}") from None
    if not isinstance(doc, list):
        raise BadEvent(f"expected a JSON list of events, got {type(doc).__name__}")
    return doc
