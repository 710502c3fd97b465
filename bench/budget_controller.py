"""The budget controller: how fast a spike is caught, and what a tick costs on 10M spans.

1. Reaction (simulated, virtual clock): the demo's day (2,000 requests through the real
   router, the shipped daily budget scaled to them, the controller ticking every 15 virtual
   minutes). From the first request after which spend is over pace to the first request routed
   under the downgrade: ticks and virtual seconds, and the wall time of the deciding tick.
2. Tick cost: one controller tick over five budgets (global, category, tag, provider daily;
   a global month) on the 10-million-span store of bench/_bigstore.py, opened read-only as a
   watcher would: the first tick (reads the seasonality history) and the median of --ticks
   later ones, a minute apart. Goal: under 200 ms.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._machine import machine  # noqa: E402


def reaction(requests: int) -> dict[str, Any]:
    import yaml

    from analytics import open_reader, rows_of
    from mmoa import demo, settings

    tmp = Path(tempfile.mkdtemp(prefix="mmoa-budget-bench-"))
    raw = yaml.safe_load(settings.config_path().read_text(encoding="utf-8"))
    raw["budgets"][0]["amount"] = 40 * requests / 20_000  # the shipped budget, to scale
    config = tmp / "mmoa.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    walls: dict[datetime, float] = {}
    original = demo.BudgetLoop.until

    def timed(self: demo.BudgetLoop, ts_ns: int) -> None:  # the wall time of each tick
        while self.next_ns is not None and self.next_ns <= ts_ns:
            at = datetime.fromtimestamp(self.next_ns / 1e9, UTC).replace(tzinfo=None)
            started = time.perf_counter()
            original(self, self.next_ns)
            walls[at] = time.perf_counter() - started
        original(self, ts_ns)

    demo.BudgetLoop.until = timed  # type: ignore[method-assign]
    try:
        run = demo.run(requests, tmp / "demo.duckdb", config, seed=7, progress=False)
    finally:
        demo.BudgetLoop.until = original  # type: ignore[method-assign]
    down = next(e for e in run.budget_events if e.kind == "budget.downgrade")
    budget = Decimal(str(raw["budgets"][0]["amount"]))
    source = open_reader(run.store)
    # requests in order, with spend so far: the first one after which spend is over pace
    _, rows = rows_of(
        source,
        "SELECT ts, policy_version, sum(cost_usd) OVER (ORDER BY ts) AS spent FROM requests "
        "WHERE ts::DATE = $day::DATE ORDER BY ts",
        {"day": down.period_start.isoformat()},
    )
    start = down.period_start
    over = next(
        ts
        for ts, _, spent in rows
        if spent is not None and spent > budget * Decimal((ts - start).total_seconds()) / 86_400
    )
    obeyed = next(ts for ts, version, _ in rows if version == down.policy_version)
    ticks = sum(1 for t in walls if over < t <= down.ts)
    shutil.rmtree(tmp, ignore_errors=True)
    return {
        "requests": requests,
        "first_over_pace": f"{over:%H:%M:%S}",
        "downgrade_event": f"{down.ts:%H:%M:%S}",
        "first_downgraded_request": f"{obeyed:%H:%M:%S}",
        "ticks_to_downgrade": ticks,
        "virtual_s_to_effect": round((obeyed - over).total_seconds(), 1),
        "deciding_tick_wall_ms": round(walls[down.ts] * 1000, 1),
        "tick_interval_s": demo.TICK_S,
    }


def tick_cost(ticks: int) -> dict[str, Any]:
    from analytics import open_reader
    from analytics.budgets import Controller
    from bench import _bigstore
    from catalog.budgets import BudgetSpec, Scope

    shared = _bigstore.default_path(10_000_000, 30, 0)
    own = shared.with_name("budget-" + shared.name)
    if not own.exists() and shared.exists():  # the cached store, migrated in a copy of ours
        shutil.copyfile(shared, own)
    path = _bigstore.build(own)
    source = open_reader(path)
    spans = source.execute("SELECT count(*) FROM spans").fetchall()[0][0]
    last = source.execute("SELECT max(minute) FROM rollup_calls").fetchall()[0][0]
    budgets = [
        BudgetSpec("global", Decimal(5000)),
        BudgetSpec("coding", Decimal(500), scope=Scope("category", "coding_implementation")),
        BudgetSpec("search", Decimal(500), scope=Scope("tag", "team=search")),
        BudgetSpec("openai", Decimal(500), scope=Scope("provider", "openai")),
        BudgetSpec("month", Decimal(100_000), period="month"),
    ]
    appended: list[dict[str, Any]] = []
    ctl = Controller(source, budgets, appended.extend)  # read-only: events are only counted
    now = last - timedelta(minutes=ticks)
    started = time.perf_counter()
    ctl.tick(now)
    first = time.perf_counter() - started
    times = []
    for i in range(1, ticks + 1):
        started = time.perf_counter()
        ctl.tick(now + timedelta(minutes=i))
        times.append(time.perf_counter() - started)
    return {
        "spans": spans,
        "budgets": len(budgets),
        "first_tick_ms": round(first * 1000, 1),
        "tick_ms_p50": round(statistics.median(times) * 1000, 1),
        "tick_ms_max": round(max(times) * 1000, 1),
        "ticks": ticks,
        "goal_ms": 200,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=2000, help="demo requests (default 2000)")
    p.add_argument("--ticks", type=int, default=20, help="timed ticks on the big store (20)")
    args = p.parse_args()
    out = {
        "bench": "budget_controller",
        "reaction": reaction(args.requests),
        "tick_10m_spans": tick_cost(args.ticks),
        "machine": machine(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
