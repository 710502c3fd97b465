"""Spans per second into DuckDB through the collector's OTLP endpoint, 4 exporter processes.

Each client process builds its protobuf bodies first (512 realistic spans each: mmoa decision
and call attributes), waits for a common start, then POSTs them one after another as an OTLP
exporter does, timing each acknowledgement (sent only after the batch is committed). Prints one
JSON line: spans/s, p50/p99 acknowledge latency per 512-span batch, bytes stored per span.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._machine import machine  # noqa: E402

CLIENT = Path(__file__).with_name("_otlp_client.py")


def main(clients: int = 4, batches: int = 40) -> None:
    from collector.server import Collector, ServerConfig

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = root / "bench.duckdb"
        script = CLIENT
        start = root / "start"
        with Collector(ServerConfig(store=store, port=0)) as collector:
            procs = [
                subprocess.Popen(
                    [
                        sys.executable,
                        str(script),
                        collector.url,
                        str(c),
                        str(batches),
                        str(start),
                        str(root / f"lat{c}.json"),
                    ]
                )
                for c in range(clients)
            ]
            while not all((root / f"lat{c}.json.ready").exists() for c in range(clients)):
                time.sleep(0.05)
            t0 = time.perf_counter()
            start.touch()
            for p in procs:
                if p.wait() != 0:
                    raise SystemExit("a client failed")
            seconds = time.perf_counter() - t0
        latencies = sorted(
            x for c in range(clients) for x in json.loads((root / f"lat{c}.json").read_text())
        )
        spans = clients * batches * 512
        import duckdb

        conn = duckdb.connect(str(store), read_only=True)
        stored = conn.execute("SELECT count(*) FROM spans").fetchone()
        conn.close()
        assert stored == (spans,), stored
        size = store.stat().st_size
    print(
        json.dumps(
            {
                "bench": "collector_ingest",
                "clients": clients,
                "spans": spans,
                "seconds": round(seconds, 2),
                "spans_per_s": round(spans / seconds),
                "ack_latency_ms_per_512_span_batch": {
                    "p50": round(statistics.median(latencies) * 1000, 1),
                    "p99": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
                },
                "bytes_per_span": round(size / spans, 1),
                "goal_spans_per_s": 50_000,
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
