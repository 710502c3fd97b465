"""The DuckDB store: migrations from empty, idempotent ingest, exact money through the views."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import analytics
from catalog import Usage, load_catalog
from collector import DuckDBSpanExporter, open_writer, write_catalog
from collector.store import migrate
from router import Router
from router.errors import ServerError
from tests.fakes import CATALOG, ScriptedProvider, config

T0 = 1_764_000_000_000_000_000


def route(store: Path, script, prompts, **kw):  # type: ignore[no-untyped-def]
    """Route prompts with a scripted provider; spans go to the store AND to memory."""
    memory = InMemorySpanExporter()
    db = DuckDBSpanExporter(store)
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(memory))
    tp.add_span_processor(SimpleSpanProcessor(db))
    provider = ScriptedProvider(script)
    router = Router(
        CATALOG, config(), lambda s: provider, tracer=tp.get_tracer("mmoa.router"), clock=lambda: T0
    )
    results = []
    for p in prompts:
        try:
            results.append(router.complete(p, **kw))
        except Exception as exc:  # noqa: BLE001 - failed requests are part of some tests
            results.append(exc)
    tp.shutdown()
    return results, memory.get_finished_spans()


def test_migration_from_empty_creates_the_sql_surface(store: Path) -> None:
    conn = open_writer(store)
    names = {
        r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    assert {
        "spans",
        "models",
        "schema_migrations",
        "calls",
        "requests",
        "savings_summary",
        "savings_by_category",
        "savings_by_model",
        "savings_by_provider",
        "savings_by_day",
        "savings_by_tag",
        "spend_by_day_model",
        "unpriced_models",
        "savings_by_strategy",
        "rollup_requests",
        "rollup_calls",
        "rollup_latency",
        "rollup_tagsets",
        "rollup_requests_hourly",
        "rollup_calls_hourly",
        "rollup_latency_hourly",
        "rollup_call_category",
        "spans_categorized",
    } <= names
    assert conn.execute("SELECT version, name FROM schema_migrations ORDER BY 1").fetchall() == [
        (1, "001_spans.sql"),
        (2, "002_image_models.sql"),
        (3, "003_strategies.sql"),
        (4, "004_rollups.sql"),
        (5, "005_budget_events.sql"),
        (6, "006_rollups_coarse.sql"),
    ]
    assert migrate(conn) == []  # a second run applies nothing
    conn.close()
    conn = open_writer(store)  # reopening is idempotent too
    assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (6,)
    conn.close()


def test_exact_costs_through_the_views(store: Path) -> None:
    usage = Usage(input_tokens=1_000, output_tokens=500, cache_read_tokens=200)
    route(store, {"cheap": [usage]}, ["What is the capital of France?"], tags={"team": "search"})
    conn = analytics.open_reader(store)
    calls = conn.execute(
        "SELECT model, input_tokens, cached_input_tokens, output_tokens, cost_usd, status "
        "FROM calls"
    ).fetchall()
    # cheap: 800 x 0.10 + 200 x 0.025 + 500 x 0.40 = 285 micro-dollars
    assert calls == [("cheap", 1_000, 200, 500, Decimal("0.0002850000"), "ok")]
    req = conn.execute(
        "SELECT category, model, attempts, cost_usd, baseline_cost_usd, saving_usd, status, "
        "tags['team'] FROM requests WHERE model = 'cheap'"
    ).fetchone()
    # baseline: 800 x 3 + 200 x 0.30 + 500 x 15 = 9960 micro-dollars
    assert req == (
        "simple_quick",
        "cheap",
        1,
        Decimal("0.0002850000"),
        Decimal("0.0099600000"),
        Decimal("0.0096750000"),
        "ok",
        "search",
    )


def test_duplicate_delivery_is_stored_once(store: Path) -> None:
    _, spans = route(store, {"cheap": [Usage(10, 10)]}, ["hi there"])
    assert len(spans) == 2
    exporter = DuckDBSpanExporter(store)
    for _ in range(3):  # a client retrying the same batch
        exporter.export(spans)
    exporter.export(list(spans) + list(spans))  # duplicates inside one batch
    assert exporter.conn.execute("SELECT count(*) FROM spans").fetchone() == (2,)
    assert exporter.failed == 0
    exporter.shutdown()


def test_unpriced_is_null_and_flagged(store: Path) -> None:
    route(store, {"mystery": [Usage(100, 100)]}, ["hello"], model="mystery")
    conn = analytics.open_reader(store)
    assert conn.execute("SELECT cost_usd FROM calls").fetchall() == [(None,)]
    assert conn.execute("SELECT cost_usd, saving_usd, unpriced_calls FROM requests").fetchall() == [
        (None, None, 1)
    ]
    assert conn.execute("SELECT model, calls FROM unpriced_models").fetchall() == [("mystery", 1)]
    summary = analytics.build(conn, [], None).summary
    assert summary["unpriced_calls"] == 1
    assert summary["cost_usd"] == Decimal(0)  # nothing priced was spent...
    assert summary["saving_usd"] == Decimal(0)  # ...and no saving is claimed for the unknown


def test_failed_attempts_are_calls_with_error_type(store: Path) -> None:
    route(store, {"cheap": [ServerError("500", "boom")], "mid": [Usage(100, 100)]}, ["hello"])
    conn = analytics.open_reader(store)
    rows = conn.execute(
        "SELECT model, status, error_type, cost_usd FROM calls ORDER BY ts, model"
    ).fetchall()
    assert rows == [
        ("cheap", "error", "500", Decimal(0)),
        ("mid", "ok", None, Decimal("0.0002500000")),
    ]
    assert conn.execute("SELECT attempts, model FROM requests").fetchall() == [(2, "mid")]


def test_models_table_is_the_catalog(store: Path) -> None:
    conn = open_writer(store)
    catalog = load_catalog()
    write_catalog(conn, catalog)
    write_catalog(conn, catalog)  # replacing, not appending
    assert conn.execute("SELECT count(*) FROM models").fetchone() == (len(catalog),)
    row = conn.execute(
        "SELECT input_price, cached_input_price, output_price, long_context_from "
        "FROM models WHERE name = 'claude-sonnet-4-5'"
    ).fetchone()
    assert row == (Decimal("3"), Decimal("0.3"), Decimal("15"), 200_000)
    # the seeds' role-picking query
    picked = conn.execute(
        "SELECT name FROM models WHERE intelligence >= 55 AND coding >= 45 "
        "ORDER BY input_price, name LIMIT 5"
    ).fetchall()
    assert [r[0] for r in picked] == [
        "gpt-5-mini",
        "claude-haiku-4-5",
        "gemini-2.5-pro",
        "gpt-5",
        "claude-sonnet-4-0",
    ]
    conn.close()


def test_reader_refuses_writes_and_files(store: Path) -> None:
    open_writer(store).close()
    conn = analytics.open_reader(store)
    for sql in [
        "DELETE FROM spans",
        "CREATE TABLE x (a INT)",
        "COPY spans TO '/tmp/x.csv'",
        "ATTACH '/tmp/other.duckdb' AS o",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SET enable_external_access = true",
        "INSTALL httpfs",
    ]:
        try:
            analytics.query(conn, sql)
        except analytics.WriteRefused as exc:
            assert "read-only" in str(exc)
        else:
            raise AssertionError(f"not refused: {sql}")


def test_reader_errors_name_the_fix(tmp_path: Path) -> None:
    try:
        analytics.open_reader(tmp_path / "missing.duckdb")
    except analytics.StoreUnavailable as exc:
        assert "run `mmoa demo`" in str(exc)
    else:
        raise AssertionError("missing store accepted")
    held = tmp_path / "held.duckdb"
    writer = duckdb.connect(str(held))
    try:
        # DuckDB locks the file against every other process while one writes
        out = subprocess.run(
            [sys.executable, "-m", "mmoa", "sql", "SELECT 1", "--store", str(held)],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        writer.close()
    assert out.returncode == 2
    assert out.stderr.strip().endswith("wait for it to finish, then run this again")
    assert len(out.stderr.strip().splitlines()) == 1


def test_an_older_store_is_migrated_forward_without_losing_rows(store: Path) -> None:
    import mmoa.sql as sqlfiles

    old = duckdb.connect(str(store))  # a store as version 1 of the schema left it
    old.execute(sqlfiles.read("migrations", "001_spans.sql"))
    old.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR "
        "NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP))"
    )
    old.execute("INSERT INTO schema_migrations (version, name) VALUES (1, '001_spans.sql')")
    old.execute(
        "INSERT INTO spans (trace_id, span_id, name, kind, start_time, end_time, "
        "duration_ms, status_code, simulated, source, cost_usd) VALUES ('t', 's', 'x', "
        "'CLIENT', TIMESTAMP '2026-11-01', TIMESTAMP '2026-11-01', 0, 'UNSET', false, "
        "'mmoa', 0.5)"
    )
    old.close()
    conn = open_writer(store)
    assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone() == (6,)
    assert conn.execute("SELECT span_id, cost_usd, image_count FROM spans").fetchall() == [
        ("s", Decimal("0.5"), None)
    ]
    conn.close()
