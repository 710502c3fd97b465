"""The collector service: the single writer of the DuckDB store, fed over OTLP/HTTP.

DuckDB lets one process hold its file (DESIGN.md, "One writer, many readers"), so every process
that produces spans sends them here with a standard OTLP/HTTP exporter, and every reader queries
through here while the service owns the file.

- `POST /v1/traces`: an OTLP/HTTP export request (protobuf or JSON, optionally gzipped). It is
  decoded in the request's own thread (a bad request never reaches the writer), queued, and
  answered only once the transaction holding it has committed. The writer thread groups the
  requests that arrive within `batch_wait_s` into one transaction. A span delivered twice is
  stored once (`insert_table` ignores a known (trace_id, span_id)), so a client may always retry.
- `POST /v1/query`: `{"sql": "...", "params": [...]}` -> `{"columns", "types", "rows"}`,
  one read-only SELECT (see `_check_read_only` for the three fences).
- `POST /v1/budget/reserve`, `POST /v1/budget/settle`: hard-cap reservations, when the config
  has budgets with a `hard` limit (collector/budget_api.py; the ledger is collector/ledger.py).
- `POST /v1/events`: a JSON list of budget events, alert deliveries or feedback
  (collector/events.py), stored in one transaction and acknowledged after the commit
  (`{"stored": N}`: how many were new; a duplicate event id is stored once).
- `GET /healthz`, `GET /metrics` (Prometheus text format).

Status codes: 401 bad or missing token, 411 no Content-Length, 413 body over `max_body_bytes`
(the body is not read), 415 unsupported content type or coding, 400 undecodable body or
rejected query, 503 (+ `Retry-After: 1`) queue full or shutting down, 500 the insert failed
(nothing acknowledged), 404 unknown path, 405 wrong method.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hmac
import json
import logging
import math
import signal
import socket
import socketserver
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pyarrow as pa

from catalog.budgets import BudgetSpec
from collector import budget_api, otlp
from collector.errors import StoreLocked
from collector.events import BadEvent, append_events, events_from_json
from collector.exporter import insert_table
from collector.ledger import BudgetLedger, Clock, utc_now
from collector.store import open_writer, transaction

log = logging.getLogger("mmoa.collector.server")

TRACES_PATH = "/v1/traces"
QUERY_PATH = "/v1/query"
EVENTS_PATH = "/v1/events"
_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"
_TEXT = "text/plain; charset=utf-8"
_PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"

# Stores held by a running Collector in this process. DuckDB's lock is per process and its
# Python client shares one database instance per file, so a second open_writer() in the same
# process would silently succeed; this set makes that an error too.
_HELD: set[Path] = set()
_HELD_LOCK = threading.Lock()


@dataclass(frozen=True)
class ServerConfig:
    """How the collector service listens, and the limits it enforces."""

    store: Path
    host: str = "127.0.0.1"
    port: int = 4318  # the OTLP/HTTP default; 0 picks a free port
    token: str | None = None  # when set: `Authorization: Bearer T` or `x-mmoa-token: T`
    max_body_bytes: int = 8 * 1024 * 1024  # raw request body limit -> 413
    queue_spans: int = 200_000  # spans accepted but not yet committed -> 503 + Retry-After
    batch_wait_s: float = 0.05  # requests arriving within this window share one transaction
    # prices other apps' GenAI spans at ingest (collector/pricing.py); None leaves them unpriced
    pricer: otlp.Pricer | None = None
    # also write each committed batch as immutable Parquet segments, hive-partitioned by day
    parquet_dir: Path | None = None
    query_timeout_s: float = 60.0  # a /v1/query running longer is interrupted (400)
    query_max_rows: int = 100_000  # rows returned at most; the answer says "truncated"
    # budgets with a `hard` limit make this collector the single authority for reservations
    budgets: tuple[BudgetSpec, ...] = ()
    ledger_clock: Clock = utc_now


class QueryRejected(ValueError):
    """A /v1/query request that is not a single read-only statement (400)."""


@dataclass
class _Pending:
    """One accepted export request waiting for the transaction that stores it."""

    table: pa.Table
    spans: int
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    content_type: str = _TEXT
    headers: dict[str, str] = field(default_factory=dict)


def _text(status: int, message: str, **headers: str) -> _Reply:
    return _Reply(status, (message.rstrip("\n") + "\n").encode(), _TEXT, dict(headers))


_ADDED_SQL = (
    "SELECT * EXCLUDE (day), day FROM (SELECT *, strftime(start_time, '%Y-%m-%d') AS day "
    "FROM spans WHERE ingested_at = now()::TIMESTAMP)"
)


class ParquetSegments:
    """Immutable Parquet files of the log, DIR/day=YYYY-MM-DD/segment-*.parquet.

    Engines beyond one machine (DuckDB, Spark, Trino, polars) read them in place. The DuckDB
    file stays the source of truth: a segment that cannot be written is logged, not retried.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._seq = 0

    def write(self, rows: pa.Table) -> None:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        self._seq += 1
        stamp = f"{time.time_ns()}-{self._seq:06d}"
        try:
            for day in pc.unique(rows.column("day")).to_pylist():
                part = rows.filter(pc.equal(rows.column("day"), day)).drop_columns(["day"])
                folder = self.root / f"day={day}"
                folder.mkdir(parents=True, exist_ok=True)
                tmp = folder / f".segment-{stamp}.parquet.tmp"
                pq.write_table(part, tmp)
                tmp.rename(folder / f"segment-{stamp}.parquet")  # readers never see half a file
        except OSError as exc:
            log.error("could not write a Parquet segment under %s: %s", self.root, exc)


class Collector:
    """Owns the store: one writer thread for spans, read-only cursors for queries, HTTP in front.

    Use as a context manager, or call `start()` and `stop()`.
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._cond = threading.Condition()  # guards everything below it
        self._queue: deque[_Pending] = deque()
        self._queued_spans = 0  # accepted and not yet committed (or failed), in-flight included
        self._closing = False
        self._running: set[duckdb.DuckDBPyConnection] = set()  # cursors of queries in flight
        self._spans_received = 0
        self._spans_stored = 0
        self._spans_failed = 0
        self._requests: dict[int, int] = {}
        self._queries: dict[int, int] = {}
        self._last_commit = 0.0
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._timed_out: set[int] = set()  # ids of cursors interrupted for taking too long
        self._segments = ParquetSegments(config.parquet_dir) if config.parquet_dir else None
        self._readers: duckdb.DuckDBPyConnection | None = None  # cursors are made from this one
        self._writer: threading.Thread | None = None
        self._httpd: _HTTPServer | None = None
        self._http_thread: threading.Thread | None = None
        self._stopped = False
        self._held: Path | None = None
        self.ledger: BudgetLedger | None = None
        self._events_lock = threading.Lock()  # one events transaction at a time

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Open (and migrate) the store, start the writer, then listen."""
        if self._conn is not None or self._stopped:
            raise RuntimeError("a Collector starts once")
        held = Path(self.config.store).resolve()
        with _HELD_LOCK:
            if held in _HELD:
                raise StoreLocked(f"{self.config.store} is already served by this process")
            _HELD.add(held)
        try:
            self._start()
        except BaseException:
            with _HELD_LOCK:
                _HELD.discard(held)
            raise
        self._held = held
        log.info("collector listening on %s, store %s", self.url, self.config.store)

    def _start(self) -> None:
        conn = open_writer(self.config.store)
        try:
            # Queries run on cursors of this same database: no file system access for any of
            # them (read_csv, glob, COPY, ATTACH...), and no statement can switch it back on.
            conn.execute("SET enable_external_access = false")
            conn.execute("SET lock_configuration = true")
            readers = conn.cursor()
            if any(b.hard is not None for b in self.config.budgets):
                # folded from the log before the first request: reservations survive restarts
                self.ledger = BudgetLedger(conn, self.config.budgets, self.config.ledger_clock)
            httpd = _HTTPServer((self.config.host, self.config.port), self)
        except BaseException:
            conn.close()
            raise
        self._conn, self._readers, self._httpd = conn, readers, httpd
        self._writer = threading.Thread(target=self._write_loop, name="mmoa-collector-writer")
        self._writer.start()
        self._http_thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="mmoa-collector-http"
        )
        self._http_thread.daemon = True
        self._http_thread.start()

    @property
    def url(self) -> str:
        """Base URL of the running service, e.g. http://127.0.0.1:4318."""
        if self._httpd is None:
            raise RuntimeError("collector not started")
        host, port = self._httpd.server_name, self._httpd.server_port
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def stop(self) -> None:
        """Stop accepting, store everything already accepted, CHECKPOINT, close. Idempotent."""
        if self._conn is None or self._stopped:
            return
        self._stopped = True
        assert self._httpd is not None and self._writer is not None
        self._httpd.shutdown()  # no new connections; open ones get 503 from now on
        self._httpd.server_close()
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._writer.join()  # drains the queue: every accepted request is answered
        with self._cond:
            while self._running:  # a long query must not hold up shutdown
                for cur in self._running:  # again and again: one may not have begun yet
                    cur.interrupt()
                self._cond.wait(0.1)
        assert self._readers is not None
        self._readers.close()
        if self.ledger is not None:
            self.ledger.close()
        try:
            self._conn.execute("CHECKPOINT")
        finally:
            self._conn.close()
        if self._http_thread is not None:
            self._http_thread.join()
        with _HELD_LOCK:
            _HELD.discard(self._held)
        log.info("collector stopped; %d spans stored", self._spans_stored)

    def __enter__(self) -> Collector:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the writer --------------------------------------------------------------------------

    def _next_batch(self) -> list[_Pending] | None:
        """Wait for work, then for the batch window; None once closing with nothing queued."""
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait()
            if not self._queue:
                return None
            deadline = time.monotonic() + self.config.batch_wait_s
            while not self._closing and self._queued_spans < self.config.queue_spans:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch = list(self._queue)
            self._queue.clear()
            return batch

    def _write_loop(self) -> None:
        while (batch := self._next_batch()) is not None:
            self._write(batch)

    def _insert(self, tables: list[pa.Table]) -> None:
        """One transaction for all of `tables`."""
        assert self._conn is not None
        table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
        with transaction(self._conn):
            insert_table(self._conn, table)
            # DEFAULT now() is the transaction's start: exactly the rows this batch added
            added = self._conn.sql(_ADDED_SQL).to_arrow_table() if self.config.parquet_dir else None
        if added is not None and added.num_rows and self._segments is not None:
            self._segments.write(added)

    def _write(self, batch: list[_Pending]) -> None:
        """Store a batch in one transaction; if that fails, each request on its own, so one
        request the store refuses does not fail the others. Then wake every waiting request."""
        try:
            self._insert([p.table for p in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
            else:
                log.warning("batch of %d requests failed (%s); retrying each", len(batch), exc)
                for pending in batch:
                    try:
                        self._insert([pending.table])
                    except Exception as one:
                        pending.error = one
        now = time.time()
        with self._cond:
            for pending in batch:
                self._queued_spans -= pending.spans
                if pending.error is None:
                    self._spans_stored += pending.spans
                    self._last_commit = now
                else:
                    self._spans_failed += pending.spans
                    log.error("could not store %d spans: %s", pending.spans, pending.error)
            self._cond.notify_all()
        for pending in batch:
            pending.done.set()

    # -- requests ----------------------------------------------------------------------------

    def authorized(self, headers: Any) -> bool:
        """True when no token is configured, or the request carries it."""
        token = self.config.token
        if token is None:
            return True
        offered = headers.get("x-mmoa-token")
        auth = headers.get("Authorization") or ""
        if offered is None and auth[:7].lower() == "bearer ":
            offered = auth[7:].strip()
        return offered is not None and hmac.compare_digest(offered.encode(), token.encode())

    def export(self, body: bytes, content_type: str, content_encoding: str | None) -> _Reply:
        """Decode, enqueue, wait for the commit; the reply for one POST /v1/traces."""
        try:
            table = otlp.decode(body, content_type, content_encoding, self.config.pricer)
        except otlp.UnsupportedMediaType as exc:
            return _text(415, str(exc))
        except otlp.DecodeError as exc:
            return _text(400, str(exc))
        media = content_type.split(";", 1)[0].strip().lower()
        ok = _Reply(200, b"{}", _JSON) if media == _JSON else _Reply(200, b"", _PROTOBUF)
        spans = table.num_rows
        if spans == 0:
            return ok
        pending = _Pending(table, spans)
        with self._cond:
            if self._closing:
                return _text(503, "collector is shutting down", **{"Retry-After": "1"})
            # a request larger than the whole bound still goes through when nothing waits
            if self._queued_spans and self._queued_spans + spans > self.config.queue_spans:
                return _text(503, "queue full, retry later", **{"Retry-After": "1"})
            self._queue.append(pending)
            self._queued_spans += spans
            self._spans_received += spans
            self._cond.notify_all()
        pending.done.wait()
        if pending.error is not None:
            return _text(500, "could not store the spans; retry")
        return ok

    def query(self, body: bytes) -> _Reply:
        """Run one read-only statement; the reply for one POST /v1/query."""
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError) as exc:
            return _text(400, f"malformed JSON: {exc}")
        sql = doc.get("sql") if isinstance(doc, dict) else None
        params = doc.get("params") if isinstance(doc, dict) else None
        if not isinstance(sql, str) or not isinstance(params, (list, dict, type(None))):
            return _text(400, 'expected {"sql": "...", "params": [...]}')
        with self._cond:
            if self._closing:
                return _text(503, "collector is shutting down", **{"Retry-After": "1"})
            assert self._readers is not None
            cur = self._readers.cursor()  # its own connection to the same database
            self._running.add(cur)
        # a reader may not hold the collector's memory or CPU for ever
        timer = threading.Timer(self.config.query_timeout_s, self._time_out, (cur,))
        timer.start()
        try:
            columns, types, rows = run_read_only(cur, sql, params, self.config.query_max_rows)
        except QueryRejected as exc:
            return _text(400, f"read-only: {exc}")
        except duckdb.PermissionException as exc:
            return _text(400, f"read-only: {_first_line(exc)}")
        except duckdb.InterruptException:
            if id(cur) in self._timed_out:
                return _text(
                    400,
                    f"query took longer than {self.config.query_timeout_s:g} s; "
                    "narrow it (a time range, LIMIT) or use `mmoa export`",
                )
            return _text(503, "collector is shutting down", **{"Retry-After": "1"})
        except duckdb.Error as exc:
            return _text(400, _first_line(exc))
        finally:
            timer.cancel()
            cur.close()
            with self._cond:
                self._running.discard(cur)
                self._timed_out.discard(id(cur))
                self._cond.notify_all()
        truncated = len(rows) > self.config.query_max_rows
        payload = {
            "columns": columns,
            "types": types,  # DuckDB type names, so readers restore decimals and timestamps
            "rows": [[_jsonable(v) for v in row] for row in rows[: self.config.query_max_rows]],
            "truncated": truncated,  # more rows than query_max_rows: add a LIMIT or export
        }
        return _Reply(200, json.dumps(payload, allow_nan=False).encode(), _JSON)

    def budget(self, path: str, body: bytes) -> _Reply:
        """A reserve or settle request (collector/budget_api.py)."""
        handle = budget_api.reserve if path == budget_api.RESERVE_PATH else budget_api.settle
        with self._cond:
            if self._closing:
                return _text(503, "collector is shutting down", **{"Retry-After": "1"})
        status, doc = handle(self.ledger, body)
        if isinstance(doc, str):
            return _text(status, doc)
        return _Reply(status, json.dumps(doc).encode(), _JSON)

    def events(self, body: bytes) -> _Reply:
        """Store a list of events in one transaction; the reply for one POST /v1/events."""
        try:
            events = events_from_json(body)
        except BadEvent as exc:
            return _text(400, str(exc))
        with self._cond:
            if self._closing or self._readers is None:
                return _text(503, "collector is shutting down", **{"Retry-After": "1"})
            cur = self._readers.cursor()  # same database, its own transaction
            self._running.add(cur)  # stop() waits for it
        try:
            with self._events_lock:
                stored = append_events(cur, events)
        except BadEvent as exc:
            return _text(400, str(exc))
        except duckdb.InterruptException:
            return _text(503, "collector is shutting down", **{"Retry-After": "1"})
        except duckdb.Error as exc:
            log.error("could not store %d events: %s", len(events), _first_line(exc))
            return _text(500, "could not store the events; retry")
        finally:
            cur.close()
            with self._cond:
                self._running.discard(cur)
                self._cond.notify_all()
        return _Reply(200, json.dumps({"stored": stored}).encode(), _JSON)

    def _time_out(self, cur: duckdb.DuckDBPyConnection) -> None:
        with self._cond:
            if cur not in self._running:
                return
            self._timed_out.add(id(cur))
        with contextlib.suppress(duckdb.Error):
            cur.interrupt()

    def count(self, path: str, status: int) -> None:
        """Count one answered request by endpoint family and status."""
        with self._cond:
            counter = self._requests if path == TRACES_PATH else self._queries
            if path in (TRACES_PATH, QUERY_PATH):
                counter[status] = counter.get(status, 0) + 1

    def metrics(self) -> str:
        """The Prometheus text exposition of the counters."""
        with self._cond:
            lines = [
                "# HELP mmoa_collector_spans_received_total Spans accepted into the write queue.",
                "# TYPE mmoa_collector_spans_received_total counter",
                f"mmoa_collector_spans_received_total {self._spans_received}",
                "# HELP mmoa_collector_spans_stored_total Spans in committed transactions"
                " (a re-delivered span counts again; the table keeps it once).",
                "# TYPE mmoa_collector_spans_stored_total counter",
                f"mmoa_collector_spans_stored_total {self._spans_stored}",
                "# HELP mmoa_collector_spans_failed_total Spans whose insert failed (500).",
                "# TYPE mmoa_collector_spans_failed_total counter",
                f"mmoa_collector_spans_failed_total {self._spans_failed}",
                "# HELP mmoa_collector_requests_total OTLP export requests answered, by status.",
                "# TYPE mmoa_collector_requests_total counter",
                *(
                    f'mmoa_collector_requests_total{{code="{code}"}} {n}'
                    for code, n in sorted(self._requests.items())
                ),
                "# HELP mmoa_collector_queries_total Query requests answered, by status.",
                "# TYPE mmoa_collector_queries_total counter",
                *(
                    f'mmoa_collector_queries_total{{code="{code}"}} {n}'
                    for code, n in sorted(self._queries.items())
                ),
                "# HELP mmoa_collector_queue_spans Spans accepted and not yet committed.",
                "# TYPE mmoa_collector_queue_spans gauge",
                f"mmoa_collector_queue_spans {self._queued_spans}",
                "# HELP mmoa_collector_last_commit_timestamp_seconds Unix time of the last commit"
                " (0: none yet).",
                "# TYPE mmoa_collector_last_commit_timestamp_seconds gauge",
                f"mmoa_collector_last_commit_timestamp_seconds {self._last_commit:.6f}",
            ]
        return "\n".join(lines) + "\n"


def check_read_only(cur: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Raise QueryRejected unless `sql` is exactly one SELECT statement.

    SELECT covers WITH, FROM-first, VALUES, DESCRIBE, SHOW and SUMMARIZE; everything else
    (COPY, ATTACH, INSTALL, LOAD, SET, PRAGMA, CALL, EXPLAIN, EXPORT, DDL, DML, transactions)
    is refused before it runs.
    """
    try:
        statements = cur.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryRejected(f"cannot parse: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise QueryRejected(f"send exactly one statement, not {len(statements)}")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise QueryRejected(f"only SELECT statements are allowed, not {kind.name}")


def run_read_only(
    cur: duckdb.DuckDBPyConnection,
    sql: str,
    params: list[Any] | dict[str, Any] | None,
    max_rows: int | None = None,
) -> tuple[list[str], list[str], list[tuple[Any, ...]]]:
    """Columns, their types and rows of one SELECT, in a read-only transaction rolled back.

    Three fences: the statement type check, the READ ONLY transaction (a write inside a
    SELECT, e.g. nextval, fails), and external access disabled for the whole database (set at
    start and locked), which stops read_csv, read_text, glob and friends.
    """
    check_read_only(cur, sql)
    cur.execute("BEGIN TRANSACTION READ ONLY")
    try:
        cur.execute(sql, params)
        columns = [d[0] for d in (cur.description or [])]
        types = [str(d[1]) for d in (cur.description or [])]
        # one row past the limit tells the caller the answer was cut
        rows = cur.fetchall() if max_rows is None else cur.fetchmany(max_rows + 1)
    finally:
        with contextlib.suppress(duckdb.Error):  # an interrupted transaction may be gone
            cur.execute("ROLLBACK")
    return columns, types, rows


def _jsonable(value: Any) -> Any:
    """A DuckDB value as JSON: Decimals as strings, times ISO 8601, blobs base64."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its collector and skips the reverse DNS lookup."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], collector: Collector) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.collector = collector
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the collector; keeps connections alive unless a body went unread."""

    protocol_version = "HTTP/1.1"
    server_version = "mmoa-collector"
    # headers and body go out in two writes: with Nagle on, the body waits for the client's
    # delayed ACK (40 ms per answer on Linux), which small answers (reservations) cannot afford
    disable_nagle_algorithm = True
    timeout = 60  # an idle keep-alive connection is closed after this many seconds
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    @property
    def collector(self) -> Collector:
        return self.server.collector

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/healthz":
            self._send(_text(200, "ok"))
        elif path == "/metrics":
            self._send(_Reply(200, self.collector.metrics().encode(), _PROMETHEUS))
        elif path in (TRACES_PATH, QUERY_PATH, EVENTS_PATH):
            self._send(_text(405, "use POST", Allow="POST"))
        else:
            self._send(_text(404, f"no such path: {path}"))

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        handlers: dict[str, Callable[[bytes], _Reply]] = {
            TRACES_PATH: self._export,
            QUERY_PATH: self.collector.query,
            **{p: partial(self.collector.budget, p) for p in budget_api.PATHS},
            EVENTS_PATH: self.collector.events,
        }
        handler = handlers.get(path)
        if handler is None:
            self.close_connection = True
            reply = _text(404, f"no such path: {path}")
        elif not self.collector.authorized(self.headers):
            self.close_connection = True
            reply = _text(401, "missing or wrong token", **{"WWW-Authenticate": "Bearer"})
        else:
            reply = self._with_body(handler)
        self.collector.count(path, reply.status)
        self._send(reply)

    def _with_body(self, handler: Callable[[bytes], _Reply]) -> _Reply:
        """Read the body (within the limit) and hand it to `handler`."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            return _text(411, "send a Content-Length (chunked bodies are not accepted)")
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            self.close_connection = True
            return _text(411, "a valid Content-Length is required")
        if length < 0:
            self.close_connection = True
            return _text(400, "negative Content-Length")
        limit = self.collector.config.max_body_bytes
        if length > limit:
            self.close_connection = True  # the body is never read
            return _text(413, f"body of {length} bytes is over the limit of {limit}")
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            return _text(400, "body shorter than its Content-Length")
        return handler(body)

    def _export(self, body: bytes) -> _Reply:
        return self.collector.export(
            body,
            self.headers.get("Content-Type") or "",
            self.headers.get("Content-Encoding"),
        )

    def _send(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply.body)


def serve(config: ServerConfig) -> None:
    """Run the collector until SIGINT or SIGTERM, then stop it gracefully."""
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Collector(config) as collector:
            log.info(
                "mmoa collector serving at %s (OTLP: %s%s)",
                collector.url,
                collector.url,
                TRACES_PATH,
            )
            while not stop.wait(1.0):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
