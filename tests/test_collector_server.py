"""The collector service: real OTLP/HTTP exporters (in this process and in others) write through
it into one DuckDB file, exactly once; bad requests are refused without touching the writer;
acknowledgement means committed; /v1/query is read-only; stop() leaves every acked span on disk.

No assertion depends on wall-clock time: ordering is forced with events, and the only waits are
polls with generous deadlines that fail the test instead of hanging it.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import collector.server as server_mod
from collector import exporter
from collector.server import Collector, ServerConfig
from tests.conftest import REPO

DEADLINE_S = 60.0  # only ever a bound on polling, never asserted


# -- helpers -----------------------------------------------------------------------------------


class Response:
    """Status, headers and body of one HTTP exchange."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    url: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """One request on a fresh loopback connection."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=DEADLINE_S)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def post_spans(
    url: str,
    body: bytes,
    content_type: str = "application/x-protobuf",
    headers: dict[str, str] | None = None,
) -> Response:
    return request(
        url, "POST", "/v1/traces", body, {"Content-Type": content_type, **(headers or {})}
    )


def query(
    url: str, sql: str, params: list[Any] | None = None, headers: dict[str, str] | None = None
) -> Response:
    payload: dict[str, Any] = {"sql": sql}
    if params is not None:
        payload["params"] = params
    return request(url, "POST", "/v1/query", json.dumps(payload).encode(), headers)


def rows(url: str, sql: str, params: list[Any] | None = None) -> list[list[Any]]:
    resp = query(url, sql, params)
    assert resp.status == 200, resp.text
    result: list[list[Any]] = resp.json()["rows"]
    return result


def count(url: str) -> int:
    return int(rows(url, "SELECT count(*) FROM spans")[0][0])


def metrics(url: str) -> dict[str, float]:
    """The samples of /metrics, keyed by name with labels."""
    resp = request(url, "GET", "/metrics")
    assert resp.status == 200
    assert resp.headers["content-type"].startswith("text/plain")
    out = {}
    for line in resp.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def wait_for(predicate: Callable[[], bool], what: str) -> None:
    """Poll until `predicate` holds; fail (never hang) if it does not within DEADLINE_S."""
    end = time.monotonic() + DEADLINE_S
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.01)


def make_spans(prefix: str, n: int) -> Sequence[ReadableSpan]:
    """n finished SDK spans named prefix-0 .. prefix-(n-1), with fresh ids."""
    memory = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(memory))
    tracer = tp.get_tracer("tests.collector_server")
    for i in range(n):
        with tracer.start_as_current_span(
            f"{prefix}-{i}", attributes={"gen_ai.usage.input_tokens": i}
        ):
            pass
    return memory.get_finished_spans()


def protobuf_body(prefix: str, n: int) -> bytes:
    """An OTLP/HTTP protobuf export request body, as the standard exporter builds it."""
    return bytes(encode_spans(make_spans(prefix, n)).SerializeToString())


class Recording(SpanExporter):
    """Wraps an exporter and keeps each export's result."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.results: list[SpanExportResult] = []
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        self.results.append(result)
        if result is SpanExportResult.SUCCESS:
            self.spans += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


def export_with_otlp(url: str, prefix: str, n: int, **exporter_kw: Any) -> Recording:
    """Send n spans through BatchSpanProcessor + the real OTLPSpanExporter, flush, shut down."""
    recording = Recording(OTLPSpanExporter(endpoint=url + "/v1/traces", **exporter_kw))
    tp = TracerProvider()
    tp.add_span_processor(BatchSpanProcessor(recording))
    tracer = tp.get_tracer("tests.collector_server")
    for i in range(n):
        with tracer.start_as_current_span(f"{prefix}-{i}"):
            pass
    assert tp.force_flush()
    tp.shutdown()
    return recording


EXPORTER_SCRIPT = textwrap.dedent(
    """
    import sys
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

    url, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    exporter = OTLPSpanExporter(endpoint=url + "/v1/traces")
    failures = []
    export = exporter.export

    def recording_export(spans):
        result = export(spans)
        if result is not SpanExportResult.SUCCESS:
            failures.append(len(spans))
        return result

    exporter.export = recording_export
    tp = TracerProvider(resource=Resource.create({"service.name": prefix}))
    tp.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=128))
    tracer = tp.get_tracer("exporter-process")
    for i in range(n):
        with tracer.start_as_current_span(f"{prefix}-{i}", attributes={"i": i}):
            pass
    ok = tp.force_flush()
    tp.shutdown()
    sys.exit(0 if ok and not failures else 1)
    """
)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Collector]:
    """A collector on a free loopback port, on a fresh store."""
    with Collector(ServerConfig(store=tmp_path / "c.duckdb", port=0)) as c:
        yield c


# -- ingest through real exporters ---------------------------------------------------------------


def test_otlp_exporters_in_process_and_in_four_processes_store_each_span_once(
    running: Collector, tmp_path: Path
) -> None:
    url = running.url
    recording = export_with_otlp(url, "inproc", 1_000)
    assert recording.results and all(r is SpanExportResult.SUCCESS for r in recording.results)
    assert recording.spans == 1_000
    assert count(url) == 1_000

    script = tmp_path / "export_spans.py"
    script.write_text(EXPORTER_SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), url, f"proc{i}", "500"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(4)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-2000:]

    assert count(url) == 3_000
    by_prefix = rows(
        url,
        "SELECT split_part(name, '-', 1) AS p, count(*), count(DISTINCT name) "
        "FROM spans GROUP BY p ORDER BY p",
    )
    assert by_prefix == [
        ["inproc", 1000, 1000],
        ["proc0", 500, 500],
        ["proc1", 500, 500],
        ["proc2", 500, 500],
        ["proc3", 500, 500],
    ]
    assert rows(url, "SELECT count(DISTINCT (trace_id, span_id)) FROM spans") == [[3000]]
    m = metrics(url)
    assert m["mmoa_collector_spans_received_total"] == 3000
    assert m["mmoa_collector_spans_stored_total"] == 3000
    assert m["mmoa_collector_queue_spans"] == 0


def test_same_body_posted_twice_is_stored_once(running: Collector) -> None:
    body = protobuf_body("twice", 3)
    for _ in range(2):
        resp = post_spans(running.url, body)
        assert resp.status == 200
        assert resp.headers["content-type"] == "application/x-protobuf"
        assert resp.body == b""  # an empty ExportTraceServiceResponse
    assert rows(running.url, "SELECT name FROM spans ORDER BY name") == [
        ["twice-0"],
        ["twice-1"],
        ["twice-2"],
    ]


def test_otlp_json_request_is_answered_with_json(running: Collector) -> None:
    doc = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "from-json",
                                "kind": 3,
                                "startTimeUnixNano": "1764000000000000000",
                                "endTimeUnixNano": "1764000000250000000",
                            }
                        ]
                    }
                ]
            }
        ]
    }
    resp = post_spans(running.url, json.dumps(doc).encode(), "application/json")
    assert (resp.status, resp.body) == (200, b"{}")
    assert resp.headers["content-type"] == "application/json"
    assert rows(running.url, "SELECT name, span_id, duration_ms FROM spans") == [
        ["from-json", "eee19b7ec3c1b174", 250.0]
    ]


def test_gzip_exporter_is_accepted(running: Collector) -> None:
    from opentelemetry.exporter.otlp.proto.http import Compression

    recording = export_with_otlp(running.url, "gz", 50, compression=Compression.Gzip)
    assert recording.spans == 50
    assert count(running.url) == 50


# -- refusals --------------------------------------------------------------------------------------


def test_token_is_required_on_traces_and_query(tmp_path: Path) -> None:
    config = ServerConfig(store=tmp_path / "c.duckdb", port=0, token="s3cret")
    with Collector(config) as c:
        body = protobuf_body("tok", 2)
        assert post_spans(c.url, body).status == 401
        assert post_spans(c.url, body, headers={"Authorization": "Bearer nope"}).status == 401
        assert post_spans(c.url, b"garbage", headers={"x-mmoa-token": "nope"}).status == 401
        assert query(c.url, "SELECT 1").status == 401
        assert metrics(c.url)["mmoa_collector_spans_received_total"] == 0

        assert post_spans(c.url, body, headers={"Authorization": "Bearer s3cret"}).status == 200
        assert post_spans(c.url, body, headers={"x-mmoa-token": "s3cret"}).status == 200
        recording = export_with_otlp(c.url, "hdr", 10, headers={"x-mmoa-token": "s3cret"})
        assert recording.spans == 10
        resp = query(c.url, "SELECT count(*) FROM spans", headers={"x-mmoa-token": "s3cret"})
        assert (resp.status, resp.json()["rows"]) == (200, [[12]])
        assert request(c.url, "GET", "/healthz").status == 200  # health needs no token


def test_wrong_content_type_is_415(running: Collector) -> None:
    resp = post_spans(running.url, protobuf_body("ct", 1), "text/plain")
    assert resp.status == 415
    assert "content type" in resp.text
    assert post_spans(running.url, b"x", headers={"Content-Encoding": "br"}).status == 415


def test_malformed_protobuf_is_400_with_reason(running: Collector) -> None:
    resp = post_spans(running.url, b"\x0a\xff\xff\xff\xff\x0f not protobuf")
    assert resp.status == 400
    assert "malformed protobuf" in resp.text
    assert count(running.url) == 0


def test_body_over_the_limit_is_413_without_reading_it(tmp_path: Path) -> None:
    with Collector(ServerConfig(store=tmp_path / "c.duckdb", port=0, max_body_bytes=1024)) as c:
        host, port = c.url.removeprefix("http://").rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=DEADLINE_S)
        # headers only: the body is never sent, so an answer proves the server did not wait for it
        conn.putrequest("POST", "/v1/traces")
        conn.putheader("Content-Type", "application/x-protobuf")
        conn.putheader("Content-Length", "1025")
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 413
        assert resp.getheader("Connection") == "close"
        conn.close()
        # at the limit is fine
        small = protobuf_body("small", 1)
        assert len(small) <= 1024
        assert post_spans(c.url, small).status == 200
        assert metrics(c.url)['mmoa_collector_requests_total{code="413"}'] == 1


def test_unknown_paths_and_methods(running: Collector) -> None:
    assert request(running.url, "GET", "/nope").status == 404
    assert request(running.url, "POST", "/v1/metrics", b"x").status == 404
    assert request(running.url, "GET", "/v1/traces").status == 405
    health = request(running.url, "GET", "/healthz")
    assert (health.status, health.text) == (200, "ok\n")


# -- the writer: backpressure, durability, failures --------------------------------------------


class GatedInsert:
    """Replaces insert_table: the first call signals `entered` and waits for `release`."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls: list[int] = []
        self.fail_on = fail_on
        self.real = exporter.insert_table

    def __call__(self, conn: duckdb.DuckDBPyConnection, table: Any) -> None:
        self.entered.set()
        self.release.wait()
        self.calls.append(table.num_rows)
        if self.fail_on and any(
            n.startswith(self.fail_on) for n in table.column("name").to_pylist()
        ):
            raise duckdb.ConstraintException("refused by the test")
        self.real(conn, table)


def post_in_thread(url: str, body: bytes) -> tuple[threading.Thread, list[Response]]:
    out: list[Response] = []
    thread = threading.Thread(target=lambda: out.append(post_spans(url, body)))
    thread.start()
    return thread, out


def test_queue_full_is_503_with_retry_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = GatedInsert()
    monkeypatch.setattr(server_mod, "insert_table", gate)
    config = ServerConfig(store=tmp_path / "c.duckdb", port=0, queue_spans=10, batch_wait_s=0)
    with Collector(config) as c:
        first, first_out = post_in_thread(c.url, protobuf_body("first", 10))
        assert gate.entered.wait(DEADLINE_S)
        assert metrics(c.url)["mmoa_collector_queue_spans"] == 10  # in flight, not committed

        full = post_spans(c.url, protobuf_body("second", 1))
        assert full.status == 503
        assert full.headers["retry-after"] == "1"
        assert first_out == []  # not acknowledged while the insert has not committed

        gate.release.set()
        first.join(DEADLINE_S)
        assert first_out[0].status == 200
        assert post_spans(c.url, protobuf_body("second", 1)).status == 200
        assert count(c.url) == 11
        m = metrics(c.url)
        assert m['mmoa_collector_requests_total{code="200"}'] == 2
        assert m['mmoa_collector_requests_total{code="503"}'] == 1
        assert m["mmoa_collector_spans_received_total"] == 11
        assert m["mmoa_collector_queue_spans"] == 0


def test_failed_insert_is_500_and_does_not_fail_its_batchmates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = GatedInsert(fail_on="poison")
    monkeypatch.setattr(server_mod, "insert_table", gate)
    with Collector(ServerConfig(store=tmp_path / "c.duckdb", port=0)) as c:
        blocker, blocker_out = post_in_thread(c.url, protobuf_body("blocker", 1))
        assert gate.entered.wait(DEADLINE_S)
        # two requests queue up behind the held transaction: they share the next batch
        poison, poison_out = post_in_thread(c.url, protobuf_body("poison", 2))
        # queued in this order, so the batch and the retries run in a known order
        wait_for(lambda: metrics(c.url)["mmoa_collector_queue_spans"] == 3, "poison queued")
        good, good_out = post_in_thread(c.url, protobuf_body("good", 3))
        wait_for(lambda: metrics(c.url)["mmoa_collector_queue_spans"] == 6, "6 queued spans")
        gate.release.set()
        for t in (blocker, poison, good):
            t.join(DEADLINE_S)
        assert blocker_out[0].status == 200
        assert poison_out[0].status == 500
        assert good_out[0].status == 200
        assert gate.calls == [1, 5, 2, 3]  # the batch of both, then each on its own
        assert rows(c.url, "SELECT name FROM spans ORDER BY name") == [
            ["blocker-0"],
            ["good-0"],
            ["good-1"],
            ["good-2"],
        ]
        m = metrics(c.url)
        assert m["mmoa_collector_spans_failed_total"] == 2
        assert m["mmoa_collector_spans_stored_total"] == 4
        assert m['mmoa_collector_requests_total{code="500"}'] == 1


def test_concurrent_requests_each_acked_once_committed(running: Collector) -> None:
    bodies = [protobuf_body(f"c{i}", 25) for i in range(12)]
    threads = [post_in_thread(running.url, b) for b in bodies]
    for thread, _ in threads:
        thread.join(DEADLINE_S)
    assert [out[0].status for _, out in threads] == [200] * 12
    assert count(running.url) == 300


def test_metrics_are_exact_after_a_known_sequence(running: Collector) -> None:
    before = metrics(running.url)
    assert before["mmoa_collector_spans_received_total"] == 0
    assert before["mmoa_collector_last_commit_timestamp_seconds"] == 0
    body = protobuf_body("m", 3)
    assert post_spans(running.url, body).status == 200
    assert post_spans(running.url, body).status == 200  # stored once, counted twice
    assert post_spans(running.url, b"\xff\xff").status == 400
    assert post_spans(running.url, body, "text/plain").status == 415
    assert request(running.url, "GET", "/healthz").status == 200
    assert query(running.url, "SELECT 1").status == 200
    assert query(running.url, "DELETE FROM spans").status == 400
    m = metrics(running.url)
    assert m["mmoa_collector_spans_received_total"] == 6
    assert m["mmoa_collector_spans_stored_total"] == 6
    assert m["mmoa_collector_spans_failed_total"] == 0
    assert m['mmoa_collector_requests_total{code="200"}'] == 2
    assert m['mmoa_collector_requests_total{code="400"}'] == 1
    assert m['mmoa_collector_requests_total{code="415"}'] == 1
    assert m['mmoa_collector_queries_total{code="200"}'] == 1
    assert m['mmoa_collector_queries_total{code="400"}'] == 1
    assert m["mmoa_collector_queue_spans"] == 0
    assert m["mmoa_collector_last_commit_timestamp_seconds"] > 0
    assert count(running.url) == 3


# -- /v1/query ------------------------------------------------------------------------------------


def test_query_returns_json_with_exact_decimals_and_iso_times(running: Collector) -> None:
    assert post_spans(running.url, protobuf_body("q", 2)).status == 200
    resp = query(
        running.url,
        "SELECT ?::DECIMAL(18, 10) AS d, TIMESTAMP '2025-01-02 03:04:05.5' AS t, "
        "DATE '2025-01-02' AS day, [1, 2] AS l, NULL AS n, 'x' || ? AS s",
        ["0.1", "y"],
    )
    assert resp.status == 200, resp.text
    assert resp.json() == {
        "columns": ["d", "t", "day", "l", "n", "s"],
        "types": ["DECIMAL(18,10)", "TIMESTAMP", "DATE", "INTEGER[]", '"NULL"', "VARCHAR"],
        "rows": [["0.1000000000", "2025-01-02T03:04:05.500000", "2025-01-02", [1, 2], None, "xy"]],
        "truncated": False,
    }
    assert rows(running.url, "SELECT name FROM spans WHERE name = ?", ["q-1"]) == [["q-1"]]
    for sql in (
        "WITH x AS (SELECT 1 AS a) SELECT a FROM x",
        "FROM spans SELECT count(*)",
        "DESCRIBE spans",
        "SHOW TABLES",
        "SUMMARIZE spans",
        "SELECT * FROM calls",
    ):
        assert query(running.url, sql).status == 200, sql
    bad = query(running.url, "SELEC 1")
    assert bad.status == 400
    assert request(running.url, "POST", "/v1/query", b"not json").status == 400
    assert request(running.url, "POST", "/v1/query", b'{"sql": 1}').status == 400


@pytest.mark.parametrize(
    "sql",
    [
        "COPY spans TO '{out}'",
        "ATTACH '{out}' AS other",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET threads = 1",
        "SET enable_external_access = true",
        "DELETE FROM spans",
        "INSERT INTO spans (trace_id, span_id) VALUES ('a', 'b')",
        "UPDATE spans SET name = 'x'",
        "CREATE TABLE t (a INTEGER)",
        "DROP VIEW calls",
        "PRAGMA version",
        "CALL pragma_version()",
        "EXPORT DATABASE '{out}'",
        "CHECKPOINT",
        "BEGIN",
        "SELECT 1; DELETE FROM spans",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM glob('/*')",
        "SELECT * FROM read_parquet('{out}')",
        "SELECT * FROM query('DELETE FROM spans')",
    ],
)
def test_query_refuses_anything_but_a_read(running: Collector, tmp_path: Path, sql: str) -> None:
    assert post_spans(running.url, protobuf_body("keep", 2)).status == 200
    out = tmp_path / "out.file"
    resp = query(running.url, sql.format(out=out))
    assert resp.status == 400, resp.text
    if "query(" not in sql:  # DuckDB's own parser refuses that one
        assert resp.text.startswith("read-only:"), resp.text
    assert not out.exists()
    assert count(running.url) == 2
    assert rows(running.url, "SELECT count(*) FROM calls") is not None  # views intact


def test_a_write_hidden_in_a_select_fails_in_the_read_only_transaction() -> None:
    conn = duckdb.connect()
    conn.execute("CREATE SEQUENCE s")
    with pytest.raises(duckdb.TransactionException, match="read-only"):
        server_mod.run_read_only(conn.cursor(), "SELECT nextval('s')", None)
    assert conn.execute("SELECT nextval('s')").fetchone() == (1,)  # not advanced


# -- lifecycle -------------------------------------------------------------------------------------


def test_stop_flushes_everything_acknowledged(tmp_path: Path) -> None:
    store = tmp_path / "c.duckdb"
    # a long batch window: requests are still queued when stop() is called
    c = Collector(ServerConfig(store=store, port=0, batch_wait_s=3600))
    c.start()
    url = c.url
    pending = [post_in_thread(url, protobuf_body(f"late{i}", 10)) for i in range(3)]
    wait_for(lambda: metrics(url)["mmoa_collector_queue_spans"] == 30, "30 queued spans")
    c.stop()
    for thread, _ in pending:
        thread.join(DEADLINE_S)
    assert [out[0].status for _, out in pending] == [200, 200, 200]
    c.stop()  # idempotent

    with duckdb.connect(str(store), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM spans").fetchone() == (30,)
    assert not Path(str(store) + ".wal").exists()  # checkpointed

    with Collector(ServerConfig(store=store, port=0)) as again:  # the file is free again
        assert post_spans(again.url, protobuf_body("late0", 10)).status == 200
        assert count(again.url) == 40


def test_keep_alive_connection_after_stop_gets_503(tmp_path: Path) -> None:
    c = Collector(ServerConfig(store=tmp_path / "c.duckdb", port=0))
    c.start()
    host, port = c.url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=DEADLINE_S)
    conn.request("GET", "/healthz")
    assert conn.getresponse().read() == b"ok\n"
    c.stop()
    body = protobuf_body("after", 1)
    conn.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
    resp = conn.getresponse()
    assert (resp.status, resp.getheader("Retry-After")) == (503, "1")
    resp.read()
    conn.request("POST", "/v1/query", b'{"sql": "SELECT 1"}')
    assert conn.getresponse().status == 503
    conn.close()


def test_second_collector_on_the_same_file_is_refused(running: Collector, tmp_path: Path) -> None:
    from collector.errors import StoreLocked

    # same process: DuckDB would share its instance, so the collector itself must refuse
    with pytest.raises(StoreLocked):
        Collector(ServerConfig(store=running.config.store, port=0)).start()
    # another process: DuckDB's file lock refuses
    probe = (
        "import sys, duckdb\n"
        "try:\n    duckdb.connect(sys.argv[1])\n"
        "except duckdb.IOException:\n    sys.exit(3)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(running.config.store)], check=False)
    assert result.returncode == 3
    assert post_spans(running.url, protobuf_body("still", 1)).status == 200


def test_stop_interrupts_a_running_query(tmp_path: Path) -> None:
    c = Collector(ServerConfig(store=tmp_path / "c.duckdb", port=0))
    c.start()
    url = c.url
    out: list[Response] = []
    endless = "SELECT sum(i) FROM range(1000000000000000) t(i)"
    thread = threading.Thread(target=lambda: out.append(query(url, endless)))
    thread.start()
    wait_for(lambda: bool(c._running), "the query to run")
    c.stop()
    thread.join(DEADLINE_S)
    assert out[0].status == 503


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_until_sigterm_and_flushes(tmp_path: Path) -> None:
    store = tmp_path / "c.duckdb"
    port = _free_port()
    code = (
        "from pathlib import Path\n"
        "from collector.server import ServerConfig, serve\n"
        f"serve(ServerConfig(store=Path({str(store)!r}), port={port}))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            return request(url, "GET", "/healthz").status == 200
        except OSError:
            return False

    try:
        wait_for(up, "the collector to listen")
        recording = export_with_otlp(url, "served", 100)
        assert recording.spans == 100
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=DEADLINE_S)
    assert proc.returncode == 0, err.decode()[-2000:]
    with duckdb.connect(str(store), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM spans").fetchone() == (100,)


def test_parquet_segments_are_written_continuously(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    segments = tmp_path / "segments"
    config = ServerConfig(store=tmp_path / "p.duckdb", port=0, parquet_dir=segments)
    with Collector(config) as collector:
        body = protobuf_body("pq", 7)
        assert post_spans(collector.url, body).status == 200
        assert post_spans(collector.url, body).status == 200  # a retry adds no rows, no file rows
        assert post_spans(collector.url, protobuf_body("pr", 3)).status == 200
    files = sorted(segments.glob("day=*/segment-*.parquet"))
    assert len(files) == 2  # one per committed batch that added rows
    table = pq.read_table(segments, partitioning="hive")
    assert table.num_rows == 10 and sorted(set(table.column("name").to_pylist())) == sorted(
        {f"pq-{i}" for i in range(7)} | {f"pr-{i}" for i in range(3)}
    )
    assert not list(segments.glob("day=*/.segment-*"))  # no half-written files left behind


def test_query_answers_are_bounded_in_rows_and_time(tmp_path: Path) -> None:
    config = ServerConfig(
        store=tmp_path / "q.duckdb", port=0, query_max_rows=5, query_timeout_s=0.5
    )
    with Collector(config) as collector:
        small = query(collector.url, "SELECT range AS i FROM range(5)")
        assert small.json()["truncated"] is False and len(small.json()["rows"]) == 5
        big = query(collector.url, "SELECT range AS i FROM range(1000)")
        assert big.status == 200 and big.json()["truncated"] is True
        assert big.json()["rows"] == [[0], [1], [2], [3], [4]]
        slow = query(
            collector.url, "SELECT sum(a.range * b.range) FROM range(200000) a, range(200000) b"
        )
        assert slow.status == 400 and "took longer than 0.5 s" in slow.text
        assert query(collector.url, "SELECT 1").status == 200  # the collector is fine after
