"""`mmoa demo`: route a simulated day of traffic through the real router into the store."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from router import AllAttemptsFailed


@dataclass(frozen=True)
class DemoRun:
    requests: int
    failed: int
    seconds: float
    store: Path


class VirtualClock:
    """A clock the demo sets to each request's arrival time; latencies are added, not slept."""

    def __init__(self) -> None:
        self.now_ns = 0

    def __call__(self) -> int:
        return self.now_ns


def store_is_disposable(store: Path) -> bool:
    """True when the store is absent or holds only simulated spans (the demo may replace it)."""
    if not store.exists():
        return True
    import duckdb

    try:
        conn = duckdb.connect(str(store), read_only=True)
    except duckdb.Error:
        return False
    try:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE NOT simulated) FROM spans"
        ).fetchone()
    except duckdb.Error:
        return False
    finally:
        conn.close()
    return row is not None and row[1] == 0


# Most traffic uses the config's default strategy; a few features try the others, so the
# report can compare them on the same day of traffic.
STRATEGY_MIX = ((0, "fallback"), (1, "verify"), (2, "ensemble"), (3, "fallback"))


def demo_strategy(index: int) -> str | None:
    """Deterministic: 1 request in 50 uses each of these strategies, the rest the default."""
    slot = index % 50
    return next((name for position, name in STRATEGY_MIX if position == slot), None)


def run(requests: int, store: Path, config_file: Path, seed: int, progress: bool) -> DemoRun:
    """Generate the workload, route it, flush every span to the store."""
    from mmoa.wiring import wire
    from mmoa.workload import generate

    clock = VirtualClock()
    started = time.perf_counter()
    end_ns = time.time_ns()
    items = generate(requests, seed=seed, end_ns=end_ns)
    wired = wire(config_file, store, clock=clock, virtual_time=True)
    failed = 0
    try:
        for item in _progress(items, progress):
            clock.now_ns = item.ts_ns
            try:
                wired.router.complete(
                    item.prompt,
                    max_tokens=item.max_tokens,
                    tags=item.tags,
                    strategy=demo_strategy(item.index),
                )
            except AllAttemptsFailed:
                failed += 1
            if item.index % 50_000 == 49_999:
                wired.flush()  # keep the span queue well under its bound
        wired.flush()
    finally:
        wired.close()
    return DemoRun(requests, failed, time.perf_counter() - started, store)


def _progress(items: list, show: bool):  # type: ignore[no-untyped-def, type-arg]
    if not show:
        yield from items
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("routing simulated requests", total=len(items))
        for i, item in enumerate(items):
            yield item
            if i % 200 == 199 or i == len(items) - 1:
                bar.update(task, completed=i + 1)
