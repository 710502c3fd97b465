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
from collector.store import open_writer, transaction

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


# What the rollups (sql/migrations/004_rollups.sql, 006_rollups_coarse.sql) read of each
# stored span.
_ROLLUP_COLUMNS = (
    "name, start_time, duration_ms, status_code, error_type, operation, provider, "
    "request_model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, "
    "reasoning_tokens, cost_usd, category, complexity, strategy, route_model, route_status, "
    "attempts, baseline_cost_usd, cache_hit, escalations, agreement, simulated, tags"
)
_EVER = "'-infinity'::TIMESTAMP, 'infinity'::TIMESTAMP"


# Per-minute rollup table, the macro making its rows from spans; the hourly table and the
# macro summing per-minute rows into it.
_ROLLUPS = (
    (
        "rollup_requests",
        "rollup_request_rows",
        "rollup_requests_hourly",
        "rollup_request_hour_rows",
    ),
    ("rollup_calls", "rollup_call_rows", "rollup_calls_hourly", "rollup_call_hour_rows"),
    ("rollup_latency", "rollup_latency_rows", "rollup_latency_hourly", "rollup_latency_hour_rows"),
)


def _minute_sql(src: str, table: str, rows: str) -> str:
    return f"INSERT INTO {table} SELECT * FROM {rows}('{src}', {_EVER})"


def _hour_sql(minute_rows: str, hourly: str, hour_rows: str) -> str:
    return f"INSERT INTO {hourly} SELECT * FROM {hour_rows}('{minute_rows}')"


def _lookup_statements(src: str) -> tuple[str, ...]:
    return (
        f"INSERT OR IGNORE INTO rollup_tagsets SELECT * FROM rollup_tagset_rows('{src}')",
        "INSERT OR IGNORE INTO rollup_model_providers "
        f"SELECT * FROM rollup_model_provider_rows('{src}')",
        f"INSERT OR IGNORE INTO rollup_dims SELECT * FROM rollup_dim_rows('{src}')",
    )


def rollup_statements(src: str) -> tuple[str, ...]:
    """The inserts that build every rollup from table `src` of spans, into empty rollups (a
    bulk build: the hourly rollups are summed from the whole per-minute tables). The writer
    does the same per batch in insert_table."""
    return (
        *(_minute_sql(src, table, rows) for table, rows, _, _ in _ROLLUPS),
        *(_hour_sql(table, hourly, hour_rows) for table, _, hourly, hour_rows in _ROLLUPS),
        *_lookup_statements(src),
        # the bulk sums are compact: the writer need not compact those hours again
        "UPDATE rollup_hourly_compacted SET upto = greatest(upto, "
        f"(SELECT coalesce(date_trunc('hour', max(start_time)), upto) FROM {src}))",
    )


_LOOKUP_SQL = _lookup_statements("added_spans")


def insert_table(conn: duckdb.DuckDBPyConnection, batch: object) -> None:
    """Append one Arrow batch (collector.rows.SCHEMA) and add its rollups.

    Only the spans this insert stored (RETURNING skips those already there) feed the rollups,
    so a span delivered twice is stored and counted once; the hourly rollups sum the
    per-minute rows this batch added. Run it inside a transaction (the exporter and the
    collector's writer do) so spans and rollups commit together.
    """
    conn.register("batch", batch)
    try:
        added = conn.sql(f"{INSERT_SQL} RETURNING {_ROLLUP_COLUMNS}").to_arrow_table()
    finally:
        conn.unregister("batch")
    if not added.num_rows:
        return
    conn.register("added_spans", added)
    try:
        for table, rows, hourly, hour_rows in _ROLLUPS:
            minute_rows = conn.sql(
                f"{_minute_sql('added_spans', table, rows)} RETURNING *"
            ).to_arrow_table()
            conn.register("added_rollup", minute_rows)
            try:
                conn.execute(_hour_sql("added_rollup", hourly, hour_rows))
            finally:
                conn.unregister("added_rollup")
        for sql in _LOOKUP_SQL:
            conn.execute(sql)
        _compact_hours(conn)
    finally:
        conn.unregister("added_spans")


_HOURLY = ("rollup_requests_hourly", "rollup_calls_hourly", "rollup_latency_hourly")


def _compact_hours(conn: duckdb.DuckDBPyConnection) -> None:
    """Replace the hourly delta rows of the hours before this batch's latest hour (not after
    the current hour: a span from a skewed clock must not stop compaction) that were not
    compacted yet by their sums (sql/migrations/006_rollups_coarse.sql)."""
    rows = conn.sql(
        "SELECT c.upto, least(date_trunc('hour', max(a.start_time)),"
        " date_trunc('hour', now()::TIMESTAMP)) FROM rollup_hourly_compacted c, added_spans a"
        " GROUP BY c.upto"
    ).fetchall()
    if len(rows) != 1 or rows[0][1] is None or rows[0][1] <= rows[0][0]:
        return
    lo, hi = rows[0]
    for table in _HOURLY:
        conn.execute(
            f"CREATE TEMP TABLE compacted AS SELECT * FROM {table}_sums(?::TIMESTAMP, ?)", [lo, hi]
        )
        conn.execute(f"DELETE FROM {table} WHERE hour >= ? AND hour < ?", [lo, hi])
        conn.execute(f"INSERT INTO {table} SELECT * FROM compacted")
        conn.execute("DROP TABLE compacted")
    conn.execute("UPDATE rollup_hourly_compacted SET upto = ?", [hi])


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
            with self._lock, transaction(self.conn):
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
