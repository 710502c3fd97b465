"""An OpenTelemetry SpanExporter that appends spans to the DuckDB store.

Batching, queueing and shutdown stay in OTel's BatchSpanProcessor; this class only writes.
A span delivered twice (same trace id and span id) is stored once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import duckdb
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from collector.rows import SCHEMA, to_table
from collector.store import open_writer

log = logging.getLogger("mmoa.collector")

_DECIMAL = "DECIMAL(18, 10)"
_CASTS = {
    "start_ns": "make_timestamp(start_ns // 1000) AS start_time",
    "end_ns": "make_timestamp(end_ns // 1000) AS end_time",
    "cost_usd": f"TRY_CAST(cost_usd AS {_DECIMAL}) AS cost_usd",
    "baseline_cost_usd": f"TRY_CAST(baseline_cost_usd AS {_DECIMAL}) AS baseline_cost_usd",
}
_COLUMNS = [
    {"start_ns": "start_time", "end_ns": "end_time"}.get(f.name, f.name) for f in SCHEMA
] + ["duration_ms"]
INSERT_SQL = (
    f"INSERT OR IGNORE INTO spans ({', '.join(_COLUMNS)}) SELECT "
    + ", ".join(_CASTS.get(f.name, f.name) for f in SCHEMA)
    + ", (end_ns - start_ns) / 1e6 AS duration_ms FROM batch"
)


def insert_table(conn: duckdb.DuckDBPyConnection, batch: object) -> None:
    """Append one Arrow batch (collector.rows.SCHEMA) in one transaction."""
    conn.register("batch", batch)
    try:
        conn.execute(INSERT_SQL)
    finally:
        conn.unregister("batch")


class DuckDBSpanExporter(SpanExporter):
    """Writes each exported batch to the `spans` table in one transaction."""

    def __init__(self, store: str | Path | duckdb.DuckDBPyConnection) -> None:
        if isinstance(store, duckdb.DuckDBPyConnection):
            self.conn, self._owned = store, False
        else:
            self.conn, self._owned = open_writer(store), True
        self._lock = threading.Lock()
        self.exported = 0
        self.failed = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not spans:
            return SpanExportResult.SUCCESS
        try:
            table = to_table(spans)
            with self._lock:
                insert_table(self.conn, table)
        except Exception:  # an exporter must never raise into the SDK
            self.failed += len(spans)
            log.exception("could not store %d spans", len(spans))
            return SpanExportResult.FAILURE
        self.exported += len(spans)
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        with self._lock:
            if self._owned:
                self.conn.execute("CHECKPOINT")
                self.conn.close()
