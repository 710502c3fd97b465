"""The hard-cap ledger (collector/ledger.py): all-or-none reservations, events, restarts, and a
cap that holds under 64 concurrent requests (embedded: the router's threads, one store).

Simulated clocks throughout; figures are exact Decimals.
"""

from __future__ import annotations

import tempfile
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from catalog import Usage
from catalog.budgets import BudgetSpec, Scope
from collector import DuckDBSpanExporter, open_writer
from collector.ledger import BudgetLedger, Reservation
from mmoa.ledger_client import EmbeddedLedger
from router import Router
from router.policy import HardCapExceeded
from router.providers.base import Call, Completion
from tests.fakes import CATALOG, config

NOW = datetime(2026, 11, 28, 12, 0, 0)
T0 = int((NOW - datetime(1970, 1, 1)).total_seconds()) * 1_000_000_000
D = Decimal


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def budget(name: str, hard: str | None, scope: str = "global", period: str = "day") -> BudgetSpec:
    return BudgetSpec(
        name, D(hard or "100"), period, Scope.parse(scope), hard=D(hard) if hard else None
    )


def events(conn: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT kind, budget, scope, reservation_id, amount_usd, limit_usd FROM budget_events "
        "ORDER BY ts, kind, budget"
    ).fetchall()


def test_a_reservation_holds_every_budget_in_scope_or_none(store: Path) -> None:
    conn = open_writer(store)
    ledger = BudgetLedger(
        conn,
        [budget("all", "1.00"), budget("search", "0.10", "tag:team=search"), budget("soft", None)],
        Clock(),
    )
    assert [b.name for b in ledger.budgets] == ["all", "search"]  # no hard limit: no holds
    a = ledger.reserve("r1", "simple_quick", {"team": "search"}, "openai", D("0.08"))
    assert isinstance(a, Reservation) and a.amount == D("0.08")
    assert ledger.reserve("r2", "simple_quick", {"team": "search"}, "openai", D("0.05")) == (
        "search"
    )
    assert ledger.state()["all"]["reserved"] == D("0.08")  # the refusal held nothing anywhere
    b = ledger.reserve("r3", "simple_quick", {"team": "ads"}, "openai", D("0.90"))
    assert isinstance(b, Reservation)
    assert ledger.reserve("r4", "x", {}, "openai", D("0.03")) == "all"
    assert ledger.state() == {
        "all": {
            "period_start": datetime(2026, 11, 28),
            "spent": D(0),
            "reserved": D("0.98"),
            "hard": D("1.00"),
        },
        "search": {
            "period_start": datetime(2026, 11, 28),
            "spent": D(0),
            "reserved": D("0.08"),
            "hard": D("0.10"),
        },
    }
    assert sorted(events(conn), key=str) == sorted(
        [
            ("budget.reserve", "all", "global", a.id, D("0.08"), D("1.00")),
            ("budget.reserve", "search", "tag:team=search", a.id, D("0.08"), D("0.10")),
            ("budget.reserve", "all", "global", b.id, D("0.90"), D("1.00")),
        ],
        key=str,
    )
    ledger.close()
    conn.close()


def test_settle_replaces_the_worst_case_by_the_actual_cost_once(store: Path) -> None:
    conn = open_writer(store)
    ledger = BudgetLedger(conn, [budget("all", "1")], Clock())
    a = ledger.reserve("r1", "c", {}, "openai", D("0.4"))
    b = ledger.reserve("r2", "c", {}, "openai", D("0.3"))
    assert isinstance(a, Reservation) and isinstance(b, Reservation)
    ledger.settle(a, D("0.0123456789"))
    ledger.settle(a, D("0.2"))  # a second settle changes nothing
    ledger.settle(b, None)  # unpriced: the worst case stays spent
    assert ledger.state()["all"]["spent"] == D("0.3123456789")
    assert ledger.state()["all"]["reserved"] == D(0)
    ledger.flush()  # settle rows are committed just after settle returns
    settles = conn.execute(
        "SELECT reservation_id, amount_usd FROM budget_events WHERE kind = 'budget.settle' "
        "ORDER BY ts, reservation_id"
    ).fetchall()
    assert sorted(settles, key=str) == sorted([(a.id, D("0.0123456789")), (b.id, None)], key=str)
    ledger.close()
    conn.close()


def test_outstanding_reservations_and_settled_spend_survive_a_restart(store: Path) -> None:
    conn = open_writer(store)
    ledger = BudgetLedger(conn, [budget("all", "1")], Clock())
    held = ledger.reserve("r1", "c", {}, "openai", D("0.2"))
    settled = ledger.reserve("r2", "c", {}, "openai", D("0.3"))
    unpriced = ledger.reserve("r3", "c", {}, "openai", D("0.05"))
    assert isinstance(settled, Reservation) and isinstance(unpriced, Reservation)
    ledger.settle(settled, D("0.1"))  # its request's spans never reached the store
    ledger.settle(unpriced, None)
    ledger.close()
    conn.close()

    conn = open_writer(store)
    again = BudgetLedger(conn, [budget("all", "1")], Clock())
    assert again.state()["all"]["spent"] == D("0.15")
    assert again.state()["all"]["reserved"] == D("0.2")
    assert again.reserve("r4", "c", {}, "openai", D("0.66")) == "all"  # 0.15+0.2+0.66 > 1
    assert isinstance(held, Reservation)
    again.settle(held, D("0.05"))  # a hold made before the restart settles after it
    assert again.state()["all"] == {
        "period_start": datetime(2026, 11, 28),
        "spent": D("0.20"),
        "reserved": D(0),
        "hard": D("1"),
    }
    again.close()
    conn.close()


def test_not_durable_reservations_survive_a_clean_close(store: Path) -> None:
    conn = open_writer(store)
    ledger = BudgetLedger(conn, [budget("all", "1")], Clock(), durable=False)
    for i in range(50):
        assert isinstance(ledger.reserve(f"r{i}", "c", {}, "openai", D("0.01")), Reservation)
    ledger.close()  # writes every queued row before it returns
    conn.close()
    conn = open_writer(store)
    again = BudgetLedger(conn, [budget("all", "1")], Clock())
    assert again.state()["all"]["reserved"] == D("0.50")
    again.close()
    conn.close()


def test_a_new_period_starts_from_the_store_and_old_holds_do_not_count(store: Path) -> None:
    conn = open_writer(store)
    clock = Clock()
    ledger = BudgetLedger(conn, [budget("all", "1")], clock)
    old = ledger.reserve("r1", "c", {}, "openai", D("0.9"))
    assert isinstance(old, Reservation)
    clock.now += timedelta(days=1)
    assert ledger.state()["all"]["period_start"] == datetime(2026, 11, 29)
    assert isinstance(ledger.reserve("r2", "c", {}, "openai", D("0.9")), Reservation)
    ledger.settle(old, D("0.5"))  # belongs to yesterday: today's figures do not move
    assert ledger.state()["all"]["spent"] == D(0)
    assert ledger.state()["all"]["reserved"] == D("0.9")
    ledger.close()
    conn.close()


# -- with the router: 64 concurrent requests against a nearly exhausted cap -------------------


class Flat:
    """Every model answers with the same usage; thread-safe."""

    name = "flat"

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def complete(self, call: Call) -> Completion:
        with self._lock:
            self.calls += 1
        usage = Usage(1_000, 500)
        return Completion("ok", call.model.name, "r", "stop", usage, 1_000, "h", 443, False)


def _router(tp: TracerProvider, ledger: Any, provider: Flat) -> Router:
    return Router(
        CATALOG,
        config(),
        lambda m: provider,
        tracer=tp.get_tracer("t"),
        clock=lambda: T0,
        sleep=lambda s: None,
        env={},
        ledger=ledger,
    )


def _spent(conn: duckdb.DuckDBPyConnection) -> Decimal:
    ((spent,),) = conn.execute("SELECT coalesce(sum(cost_usd), 0) FROM calls").fetchall()
    return D(spent)


def test_64_concurrent_requests_never_spend_past_the_hard_cap(store: Path) -> None:
    exporter = DuckDBSpanExporter(store)
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    provider = Flat()
    warmup = _router(tp, None, provider)
    for i in range(5):  # spend already in the store before the ledger starts
        warmup.complete(f"Define the word number {i}", category="simple_quick")
    before = _spent(exporter.conn)
    one = before / 5
    hard = before + one * 7 + one / 2  # room for 7 more answers of the cheapest model
    inner = BudgetLedger(exporter.conn, [budget("daily", str(hard))], Clock())
    assert inner.state()["daily"]["spent"] == before
    router = _router(tp, EmbeddedLedger(inner), provider)
    outcomes: list[object] = []
    lock = threading.Lock()
    gate = threading.Barrier(64)

    def one_request(i: int) -> None:
        gate.wait(timeout=30)
        try:
            got: object = router.complete(f"Define the word number {i}", category="simple_quick")
        except HardCapExceeded as exc:
            got = exc
        with lock:
            outcomes.append(got)

    threads = [threading.Thread(target=one_request, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = [o for o in outcomes if isinstance(o, HardCapExceeded)]
    assert len(outcomes) == 64
    assert refused and all(o.budget == "daily" for o in refused)
    assert str(refused[0]).startswith("budget 'daily': its hard cap leaves no room")
    spent = _spent(exporter.conn)
    assert spent <= hard
    assert spent - before == one * (64 - len(refused))  # every answer costs the same
    assert inner.state()["daily"]["spent"] == spent  # the ledger agrees with the store
    assert inner.state()["daily"]["reserved"] == D(0)
    inner.close()
    tp.shutdown()


@settings(max_examples=20, deadline=None)
@given(
    hard=st.decimals(min_value=D("0.01"), max_value=D("1"), places=4),
    costs=st.lists(
        st.tuples(
            st.decimals(min_value=D(0), max_value=D("0.2"), places=6),
            st.decimals(min_value=D(0), max_value=D(1), places=2),
        ),
        min_size=1,
        max_size=40,
    ),
    workers=st.integers(min_value=1, max_value=8),
)
def test_property_settled_spend_never_exceeds_the_cap(
    hard: Decimal, costs: list[tuple[Decimal, Decimal]], workers: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        conn = open_writer(Path(tmp) / "s.duckdb")
        ledger = BudgetLedger(conn, [budget("cap", str(hard))], Clock())
        work = list(costs)
        lock = threading.Lock()
        spent: list[Decimal] = []

        def worker() -> None:
            while True:
                with lock:
                    if not work:
                        return
                    worst, share = work.pop()
                got = ledger.reserve("r", "c", {}, "p", worst)
                if isinstance(got, Reservation):
                    actual = (worst * share).quantize(D("0.0000000001"))
                    ledger.settle(got, actual)
                    with lock:
                        spent.append(actual)

        threads = [threading.Thread(target=worker) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(spent, D(0)) <= hard
        assert ledger.state()["cap"]["spent"] == sum(spent, D(0))
        ledger.close()
        conn.close()


def test_a_negative_reservation_is_refused(store: Path) -> None:
    conn = open_writer(store)
    ledger = BudgetLedger(conn, [budget("all", "1")], Clock())
    with pytest.raises(ValueError, match="negative"):
        ledger.reserve("r", "c", {}, "p", D("-0.1"))
    ledger.close()
    conn.close()
