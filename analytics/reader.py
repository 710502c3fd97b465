"""Where reads come from: the store file (read-only), or a collector that owns the file.

DuckDB locks its file against every other process while one writes, so when a collector is
running, readers send their SQL to its read-only query endpoint instead (DESIGN.md).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

import duckdb

from analytics.errors import AnalyticsError, StoreUnavailable

Rows = tuple[list[str], list[tuple[Any, ...]]]


class Reader(Protocol):
    """Runs one read-only query; returns (column names, rows)."""

    def query(self, sql: str, params: dict[str, Any] | None = None) -> Rows: ...


Source = duckdb.DuckDBPyConnection | Reader


def rows_of(source: Source, sql: str, params: dict[str, Any] | None = None) -> Rows:
    """(columns, rows) of `sql` on a read-only connection or a collector."""
    if isinstance(source, duckdb.DuckDBPyConnection):
        from analytics.store import query

        rel = query(source, sql, params)
        return ([], []) if rel is None else (list(rel.columns), rel.fetchall())
    return source.query(sql, params)


class CollectorReader:
    """Reads through `mmoa collector serve` (POST /v1/query), with its token if it has one."""

    def __init__(self, url: str, token: str | None = None, timeout_s: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        self.truncated = False  # the last answer was cut at the collector's row limit

    def query(self, sql: str, params: dict[str, Any] | None = None) -> Rows:
        body = json.dumps({"sql": sql, "params": params or {}}).encode()
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(f"{self.url}/v1/query", body, headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                data = json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace").strip()[:500]
            raise AnalyticsError(
                f"collector at {self.url} refused the query (HTTP {exc.code}): {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise StoreUnavailable(
                f"cannot reach the collector at {self.url} ({exc}): start "
                "`mmoa collector serve`, or read the file with --store"
            ) from None
        self.truncated = bool(data.get("truncated"))
        types = data.get("types") or [""] * len(data["columns"])
        rows = [
            tuple(_typed(v, t) for v, t in zip(row, types, strict=True)) for row in data["rows"]
        ]
        return list(data["columns"]), rows


def _typed(value: Any, kind: str) -> Any:
    """JSON back to Python: exact decimals, timestamps and dates as the file would give them."""
    if value is None:
        return None
    kind = kind.upper()
    if kind.startswith("DECIMAL"):
        return Decimal(str(value))
    if kind.startswith("TIMESTAMP"):
        return datetime.fromisoformat(str(value))
    if kind == "DATE":
        return date.fromisoformat(str(value))
    return value
