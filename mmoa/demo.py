"""`mmoa demo`: route a simulated day of traffic through the real router into the store."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from router import AllAttemptsFailed

if TYPE_CHECKING:
    from analytics.budget_rules import BudgetEvent
    from mmoa.wiring import Wired

# The budget controller runs beside the router every this many virtual seconds (the rate
# window of a daily budget). Each tick first flushes the span queue into the store, a fixed
# ~0.1 s of CPU (OTel's processor, the insert and its rollups), so ticks are what the budget
# loop adds to the demo's time: 96 a simulated day.
TICK_S = 900
_DAY_NS = 86_400 * 10**9


@dataclass(frozen=True)
class DemoRun:
    requests: int
    failed: int
    seconds: float
    store: Path
    budget_events: list[BudgetEvent] = field(default_factory=list)
    ticks: int = 0


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


class BudgetLoop:
    """The budget controller in-process, on the virtual clock: at every TICK_S boundary the
    spans so far are flushed, the controller decides, and the router's policy is re-read."""

    def __init__(self, wired: Wired, every_s: int = TICK_S) -> None:
        from collector import DuckDBSpanExporter
        from mmoa.budget_watch import make_watch, store_append

        assert isinstance(wired.exporter, DuckDBSpanExporter)
        conn = wired.exporter.conn
        self.wired = wired
        self.every_ns = every_s * 10**9
        self.events: list[BudgetEvent] = []
        self.ticks = 0
        self.next_ns: int | None = None
        self.watch = make_watch(
            conn.cursor(),
            store_append(conn.cursor()),
            wired.config.budgets,
            simulated=True,
            on_events=self.events.extend,
        )

    def until(self, ts_ns: int) -> None:
        """Tick at every boundary up to `ts_ns`."""
        if self.next_ns is None:
            self.next_ns = (ts_ns // self.every_ns + 1) * self.every_ns
        while self.next_ns <= ts_ns:
            self.wired.flush()
            now = datetime.fromtimestamp(self.next_ns / 1e9, UTC).replace(tzinfo=None)
            if self.watch.tick(now):
                refresh = getattr(self.wired.policy, "refresh", None)
                if refresh is not None:
                    refresh()  # the router obeys from its next request
            self.ticks += 1
            self.next_ns += self.every_ns


def day_end_ns(now_ns: int | None = None) -> int:
    """The simulated day is the last whole UTC day: it ends at today's midnight, so a daily
    budget's period is exactly the simulated day."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    return now_ns // _DAY_NS * _DAY_NS


def run(
    requests: int,
    store: Path,
    config_file: Path,
    seed: int,
    progress: bool,
    tick_s: int = TICK_S,
) -> DemoRun:
    """Generate the workload, route it (the budget controller ticking beside the router when
    the config has budgets), flush every span to the store."""
    from mmoa.wiring import wire
    from mmoa.workload import generate

    clock = VirtualClock()
    started = time.perf_counter()
    end_ns = day_end_ns()
    items = generate(requests, seed=seed, end_ns=end_ns)
    wired = wire(config_file, store, clock=clock, virtual_time=True, policy_every_s=tick_s)
    loop = BudgetLoop(wired, tick_s) if wired.config.budgets else None
    failed = 0
    try:
        for item in _progress(items, progress):
            if loop is not None:
                loop.until(item.ts_ns)
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
        if loop is not None:
            clock.now_ns = end_ns
            loop.until(end_ns)
        wired.flush()
    finally:
        wired.close()
    return DemoRun(
        requests,
        failed,
        time.perf_counter() - started,
        store,
        loop.events if loop else [],
        loop.ticks if loop else 0,
    )


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
