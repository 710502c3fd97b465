"""The dashboard's data: one function per panel, over the macros in sql/views/60_dashboard.sql.

The aggregate panels read the per-minute rollups the writer keeps (004_rollups.sql), plus raw
spans for the ragged minutes at the edges of a window, so they stay fast on a big store and
exact for any window; drill-downs (recent_requests, trace) read raw spans.

Every function reads through a `Source` (a read-only connection or a collector), takes the
same `Filters`, and returns plain rows: money as exact Decimal (None when unpriced), timestamps
as naive UTC datetimes, rates as floats between 0 and 1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from analytics.reader import Source, rows_of

BUCKETS = ("auto", "minute", "hour", "day")
_NANO = Decimal("0.0000000001")
_HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Filters:
    """What the dashboard's filter bar selects; empty tuples select everything."""

    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # "key=value"; a request matches if it has any of them


def _ts(value: datetime | None) -> str:
    if value is None:
        return "NULL::TIMESTAMP"
    if not isinstance(value, datetime):
        raise ValueError(f"since/until must be datetimes, not {value!r}")
    if value.tzinfo is not None:  # the store holds naive UTC
        value = value.astimezone(UTC).replace(tzinfo=None)
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"filter values must be strings, not {value!r}")
    return "'" + value.replace("'", "''") + "'"


def _args(f: Filters) -> str:
    """The filters as SQL literals: constants let DuckDB skip the rollup minutes and raw span
    row groups outside the window, and drop the raw path when no category is asked for."""
    lists = (f.providers, f.models, f.categories, f.tags)
    return ", ".join(
        [_ts(f.since), _ts(f.until)]
        + [f"[{', '.join(_text(v) for v in values)}]::VARCHAR[]" for values in lists]
    )


def _dicts(source: Source, sql: str) -> list[dict[str, Any]]:
    columns, rows = rows_of(source, sql)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _panel(source: Source, macro: str, f: Filters, *extra: str) -> list[dict[str, Any]]:
    more = "".join(f", {value}" for value in extra)
    return _dicts(source, f"SELECT * FROM {macro}({_args(f)}{more})")


def filter_options(source: Source) -> dict[str, Any]:
    """Providers, models, categories and tags to filter on; first/last span time; simulated."""
    row = _dicts(source, "SELECT * FROM dash_filter_options()")[0]
    for key in ("providers", "models", "categories", "tags"):
        row[key] = list(row[key])
    return row


def overview(source: Source, f: Filters) -> dict[str, Any]:
    """Headline figures: requests, calls, spend vs baseline, tokens, errors, unpriced calls."""
    return _panel(source, "dash_overview", f)[0]


def spend_series(source: Source, f: Filters, bucket: str = "auto") -> list[dict[str, Any]]:
    """Requests, spend and baseline per time bucket (minute, hour, day, or auto by range)."""
    if bucket not in BUCKETS:
        raise ValueError(f"unknown bucket {bucket!r}: use {', '.join(BUCKETS)}")
    if bucket == "auto":
        bucket = _auto_bucket(source, f)
    return _panel(source, "dash_spend_series", f, _text(bucket))


def _auto_bucket(source: Source, f: Filters) -> str:
    """The bucket for the window's width; an open end is the first (last + 1) minute with a
    request passing the filters. Hourly rows only tell the hour, so the minute is looked up in
    that hour's per-minute rollups."""
    lo, hi = _naive(f.since), _naive(f.until)
    if lo is None or hi is None:
        first, last = _dicts(source, f"SELECT * FROM dash_extent({_args(f)})")[0].values()
        if first is None:
            return "day"  # no rows: any bucket gives the same empty series
        if lo is None:
            lo = _minute_in(source, replace(f, until=hi), first, "first")
        if hi is None:
            hi = _minute_in(source, replace(f, since=lo), last, "last") + timedelta(minutes=1)
    return _bucket_for(hi - lo)


def _naive(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _minute_in(source: Source, f: Filters, at: datetime, end: str) -> datetime:
    """The first or last minute with a request in the rollup row at `at` (an hourly row's
    start, or a per-minute row's minute)."""
    if at.minute or at.second or at.microsecond:
        return at  # a per-minute row: exact already
    since, until = _naive(f.since), _naive(f.until)
    hour = replace(
        f,
        since=at if since is None else max(at, since),
        until=at + _HOUR if until is None else min(at + _HOUR, until),
    )
    row = _dicts(source, f"SELECT * FROM dash_extent_min({_args(hour)})")[0]
    return row[end] if row[end] is not None else at


def _bucket_for(width: timedelta) -> str:
    """As dash_bucket in sql/views/60_dashboard.sql."""
    if width <= timedelta(hours=3):
        return "minute"
    return "hour" if width <= timedelta(days=4) else "day"


def models(source: Source, f: Filters) -> list[dict[str, Any]]:
    """Per model: calls, spend, tokens, latency percentiles, error/retry rates, cost per 1k
    requests (the average priced request it answered, all attempts included, times 1,000)."""
    rows = _panel(source, "dash_models", f)
    for row in rows:
        cost, priced = row.pop("routed_cost_usd"), row.pop("routed_priced")
        row["cost_per_1k_requests"] = None if not priced else (cost * 1000 / priced).quantize(_NANO)
    return rows


def unpriced(source: Source, f: Filters) -> list[dict[str, Any]]:
    """Models with successful calls that could not be priced, and the config line to add."""
    rows = _panel(source, "dash_unpriced", f)
    for row in rows:
        row["fix"] = (
            f"models: - {{name: {row['model']}, prices: {{input: <USD per 1M>, "
            "output: <USD per 1M>}}  # in mmoa.yaml"
        )
    return rows


def category_mix(source: Source, f: Filters) -> list[dict[str, Any]]:
    """Requests and spend per category and complexity."""
    return _panel(source, "dash_category_mix", f)


def flows(source: Source, f: Filters) -> list[dict[str, Any]]:
    """Requests per (category, chosen model): the routing Sankey."""
    return _panel(source, "dash_flows", f)


def strategies(source: Source, f: Filters) -> list[dict[str, Any]]:
    """Per strategy: escalation rate, attempts, agreement, cache hits, spend vs baseline."""
    return _panel(source, "dash_strategies", f)


def recent_requests(source: Source, f: Filters, limit: int = 50) -> list[dict[str, Any]]:
    """The latest `limit` requests passing the filters, newest first."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    n = str(int(limit))
    (start,) = _dicts(source, f"SELECT * FROM dash_recent_from({_args(f)}, {n})")[0].values()
    return _panel(source, "dash_recent_requests", f, n, _ts(start))


def trace(source: Source, request_id: str) -> list[dict[str, Any]]:
    """Every span of one request (decision first), offsets from the decision's start."""
    return _dicts(source, f"SELECT * FROM dash_trace({_text(request_id)})")
