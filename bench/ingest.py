"""Spans per second from the DuckDB SpanExporter into an on-disk store. Prints one JSON line.

Spans are real SDK spans made by the router (decision + attempts, realistic attributes),
created up front; the figure covers export() alone: mapping to Arrow and the idempotent insert.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._machine import machine  # noqa: E402


def make_spans(requests: int) -> list:  # type: ignore[type-arg]
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from mmoa import settings
    from mmoa.providers import select
    from mmoa.wiring import load
    from mmoa.workload import generate
    from router import AllAttemptsFailed, Router

    config, catalog = load(settings.config_path(None))
    memory = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(memory))
    simulated = select("simulated", config, catalog).provider_for
    router = Router(
        catalog, config, simulated, tracer=tp.get_tracer("mmoa.router"), sleep=lambda seconds: None
    )
    for item in generate(requests, seed=3, end_ns=time.time_ns()):
        with contextlib.suppress(AllAttemptsFailed):
            router.complete(item.prompt, max_tokens=item.max_tokens, tags=item.tags)
    return list(memory.get_finished_spans())


def _breakdown(spans: list) -> dict[str, float]:  # type: ignore[type-arg]
    """Where the time goes: Python mapping to Arrow vs DuckDB's idempotent insert."""
    from collector.exporter import _without_gc, insert_table
    from collector.rows import to_table
    from collector.store import open_writer, transaction

    batch = 65536
    convert = insert = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        conn = open_writer(Path(tmp) / "parts.duckdb")
        for i in range(0, len(spans), batch):
            t = time.perf_counter()
            table = _without_gc(to_table, spans[i : i + batch])  # as export() does
            convert += time.perf_counter() - t
            t = time.perf_counter()
            with transaction(conn):
                insert_table(conn, table)
            insert += time.perf_counter() - t
        conn.close()
    n = len(spans)
    return {"to_arrow": round(convert / n * 1e6, 2), "duckdb_insert": round(insert / n * 1e6, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=50_000)
    ap.add_argument(
        "--batch",
        type=int,
        action="append",
        help="spans per export() call (repeatable; default 8192 and 65536, the "
        "BatchSpanProcessor batch mmoa configures)",
    )
    args = ap.parse_args()
    from collector import DuckDBSpanExporter

    spans = make_spans(args.requests)
    results = {}
    for batch in args.batch or [8192, 65536]:
        with tempfile.TemporaryDirectory() as tmp:
            exporter = DuckDBSpanExporter(Path(tmp) / "ingest.duckdb")
            exporter.export(spans[:1000])  # warm up pyarrow's converters and DuckDB
            started = time.perf_counter()
            for i in range(1000, len(spans), batch):
                exporter.export(spans[i : i + batch])
            exporter.conn.execute("CHECKPOINT")
            seconds = time.perf_counter() - started
            stored = exporter.conn.execute("SELECT count(*) FROM spans").fetchone()[0]
            exporter.shutdown()
        assert stored == len(spans) and exporter.failed == 0, (stored, len(spans))
        results[f"batch_{batch}"] = {
            "seconds": round(seconds, 3),
            "spans_per_s": round((len(spans) - 1000) / seconds),
        }
    print(
        json.dumps(
            {
                "bench": "ingest",
                "spans": len(spans),
                **results,
                "breakdown_us_per_span": _breakdown(spans[1000:]),
                "goal_spans_per_s": 100_000,
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
