"""An OpenTelemetry SpanExporter that appends spans to the DuckDB store.

Batching, queueing and shutdown stay in OTel's BatchSpanProcessor; this class only writes.
A span delivered twice (same trace id and span id) is stored once.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from collector.rows import TYPED, to_table
from collector.store import open_writer

log = logging.getLogger("mmoa.collector")

_DECIMAL = "DECIMAL(18, 10)"
_DIRECT = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "status_code",
    "status_message",
    "source",
    "tags",
    "attributes",
    "resource",
)


def _typed(column: str, keys: tuple[str, ...]) -> str:
    picks = [f"a['{k}']" for k in keys]
    expr = picks[0] if len(picks) == 1 else f"coalesce({', '.join(picks)})"
    if column in ("cost_usd", "baseline_cost_usd"):
        # text from our router; a malformed figure is unpriced (NULL), never a made-up number
        expr = f"TRY_CAST({expr} AS {_DECIMAL})"
    if column == "simulated":
        expr = f"coalesce({expr}, false)"
    if column == "request_id":
        expr = f"coalesce({expr}, span_id)"  # a call outside mmoa's router is its own request
    return f"{expr} AS {column}"


_SELECT = [
    *_DIRECT,
    "make_timestamp(start_ns // 1000) AS start_time",
    "make_timestamp(end_ns // 1000) AS end_time",
    "(end_ns - start_ns) / 1e6 AS duration_ms",
    *(_typed(c, keys) for c, (_, keys) in TYPED.items()),
]
_COLUMNS = [*_DIRECT, "start_time", "end_time", "duration_ms", *TYPED]
INSERT_SQL = (
    f"INSERT OR IGNORE INTO spans ({', '.join(_COLUMNS)}) SELECT {', '.join(_SELECT)} FROM batch"
)


def insert_table(conn: duckdb.DuckDBPyConnection, batch: object) -> None:
    """Append one Arrow batch (collector.rows.SCHEMA) in one transaction."""
    conn.register("batch", batch)
    try:
        conn.execute(INSERT_SQL)
    finally:
        conn.unregister("batch")


def _without_gc(
    func: Callable[[Sequence[ReadableSpan]], pa.Table], spans: Sequence[ReadableSpan]
) -> pa.Table:
    # Converting a batch allocates many short-lived objects and nothing cyclic; letting the
    # cyclic GC run over the whole heap during it costs a quarter of ingest time.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return func(spans)
    finally:
        if enabled:
            gc.enable()


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
            table = _without_gc(to_table, spans)
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
