"""Seconds each dashboard page's queries take together on a 10-million-span store. One JSON line.

Builds (or reuses) the store of bench/_bigstore.py, opens it read-only as the dashboard does,
and times each page's analytics.dashboard calls together: median of --runs, for the default
filters (all time), the last 24 hours, one model, and one category. Goal: every page under
1 s. Then serves the store with `mmoa dashboard` and times each page drawn in headless Chromium
(median of --render-runs fresh server and browser runs; goal: the first page under 3 s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._machine import machine  # noqa: E402

Page = Callable[[Any, Any], object]


def pages() -> dict[str, Page]:
    """Each page of the dashboard and the queries it runs (what dashboard/ calls)."""
    from analytics import dashboard as d

    def overview(src: Any, f: d.Filters) -> object:
        return d.filter_options(src), d.overview(src, f), d.spend_series(src, f)

    def models(src: Any, f: d.Filters) -> object:
        return d.models(src, f), d.unpriced(src, f)

    def routing(src: Any, f: d.Filters) -> object:
        return d.category_mix(src, f), d.flows(src, f), d.strategies(src, f)

    def trace(src: Any, f: d.Filters) -> object:
        recent = d.recent_requests(src, f)
        return recent, d.trace(src, recent[0]["request_id"]) if recent else []

    return {"overview": overview, "models": models, "routing": routing, "trace": trace}


def timed(func: Callable[[], object], runs: int) -> float:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        seconds.append(time.perf_counter() - started)
    return round(statistics.median(seconds), 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--spans", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--store", type=Path, help="where the big store is kept (default: cached)")
    ap.add_argument(
        "--render-runs",
        type=int,
        default=3,
        help="fresh dashboard server + Chromium runs timing each page's render (0: skip)",
    )
    args = ap.parse_args()

    import analytics
    from analytics.dashboard import Filters
    from bench._bigstore import build

    started = time.perf_counter()
    store = build(args.store, spans=args.spans, days=args.days)
    build_s = round(time.perf_counter() - started, 1)
    src = analytics.open_reader(store)
    options = analytics.dashboard.filter_options(src)
    top_model = analytics.dashboard.models(src, Filters())[0]["model"]
    top_category = analytics.dashboard.category_mix(src, Filters())[0]["category"]
    filters = {
        "all_time": Filters(),
        "last_24h": Filters(since=options["last_ts"] - timedelta(hours=24)),
        "one_model": Filters(models=(top_model,)),
        "one_category": Filters(categories=(top_category,)),
    }
    results: dict[str, dict[str, float]] = {}
    for label, f in filters.items():
        results[label] = {
            name: timed(lambda page=page, f=f: page(src, f), args.runs)  # type: ignore[misc]
            for name, page in pages().items()
        }
    spans, rollup_rows, hourly_rows = src.execute(
        "SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM rollup_requests)"
        " + (SELECT count(*) FROM rollup_calls) + (SELECT count(*) FROM rollup_latency),"
        " (SELECT count(*) FROM rollup_requests_hourly)"
        " + (SELECT count(*) FROM rollup_calls_hourly)"
        " + (SELECT count(*) FROM rollup_latency_hourly)"
    ).fetchone() or (0, 0, 0)
    src.close()
    # each page drawn in headless Chromium by `mmoa dashboard` (bench/dashboard_render.py)
    render: dict[str, Any] = {}
    if args.render_runs > 0:
        from bench.dashboard_render import render_times

        render = render_times(store, args.render_runs)
    print(
        json.dumps(
            {
                "bench": "dashboard",
                "spans": spans,
                "rollup_rows": rollup_rows,
                "hourly_rollup_rows": hourly_rows,
                "store_mb": round(store.stat().st_size / 2**20),
                "store_ready_s": build_s,
                "runs": args.runs,
                "query_seconds_per_page": results,
                "slowest_page_s": max(max(r.values()) for r in results.values()),
                "goal_s_per_page": 1.0,
                "browser_render_s": render,
                "goal_first_page_render_s": 3.0,
                "model_filter": top_model,
                "category_filter": top_category,
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
