"""What a hard cap costs per attempt: one reserve plus one settle, in µs.

- embedded: the process's own ledger (collector/ledger.py) on a fresh DuckDB store; a reserve
  returns once its budget_events rows are committed (settle rows follow on the writer thread).
- embedded_not_durable: the same with durable=False (the demo, on virtual time): reserve rows
  follow too; close() writes them all.
- collector: the same through `POST /v1/budget/reserve` and `/settle` of an in-process
  collector on loopback (mmoa/ledger_client.py, one keep-alive connection per thread).

Sequential latency (median, p99) and, with 8 threads, pairs per second (group commit lets
concurrent callers share a transaction). Prints one JSON line.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._machine import machine  # noqa: E402

Pair = Callable[[], None]
THREADS = 8


def _latency(pair: Pair, n: int) -> dict[str, float]:
    for _ in range(min(100, n)):
        pair()
    samples = []
    for _ in range(n):
        t = time.perf_counter_ns()
        pair()
        samples.append(time.perf_counter_ns() - t)
    samples.sort()
    return {
        "median_us": round(statistics.median(samples) / 1000, 1),
        "p99_us": round(samples[int(len(samples) * 0.99) - 1] / 1000, 1),
    }


def _throughput(pair: Pair, n: int) -> float:
    per = n // THREADS

    def work() -> None:
        for _ in range(per):
            pair()

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return round(per * THREADS / (time.perf_counter() - t), 1)


def main(n: int = 2000) -> None:
    from catalog.budgets import BudgetSpec, Scope
    from collector import open_writer
    from collector.ledger import BudgetLedger, Reservation
    from collector.server import Collector, ServerConfig
    from mmoa.ledger_client import RemoteLedger
    from router.policy import Hold

    budgets = (
        BudgetSpec("daily", Decimal(10**6), "day", Scope(), hard=Decimal(10**6)),
        BudgetSpec("team", Decimal(10**6), "day", Scope("tag", "team=a"), hard=Decimal(10**6)),
    )
    worst, actual = Decimal("0.0123456789"), Decimal("0.0012345678")
    tags = {"team": "a"}
    out: dict[str, object] = {"bench": "reservation_overhead", "pairs": n, "budgets_in_scope": 2}
    with tempfile.TemporaryDirectory() as tmp:
        conn = open_writer(Path(tmp) / "embedded.duckdb")
        ledger = BudgetLedger(conn, budgets)

        def local() -> None:
            got = ledger.reserve("r", "simple_quick", tags, "openai", worst)
            assert isinstance(got, Reservation)
            ledger.settle(got, actual)

        out["embedded"] = {**_latency(local, n), "pairs_per_s_8_threads": _throughput(local, n)}
        ledger.close()
        ledger = BudgetLedger(conn, budgets, durable=False)
        out["embedded_not_durable"] = {
            **_latency(local, n),
            "pairs_per_s_8_threads": _throughput(local, n),
        }
        ledger.close()
        conn.close()

        config = ServerConfig(store=Path(tmp) / "served.duckdb", port=0, budgets=budgets)
        with Collector(config) as collector:
            remote = RemoteLedger(collector.url)

            def served() -> None:
                got = remote.reserve("r", "simple_quick", tags, "openai", worst)
                assert isinstance(got, Hold)
                remote.settle(got, actual)

            out["collector"] = {
                **_latency(served, n),
                "pairs_per_s_8_threads": _throughput(served, n),
            }
    print(json.dumps({**out, "machine": machine()}))


if __name__ == "__main__":
    main()
