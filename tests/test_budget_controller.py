"""The budget controller on a simulated clock: drift -> alert + downgrade within one tick, the
rate falls, restore after the cool-down, no flapping under noise, replay from empty."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb

from analytics.budget_rules import (
    BudgetState,
    ControllerState,
    Observation,
    Shape,
    assess,
    decide,
    fold_state,
    shape_of,
)
from analytics.budgets import Controller, read_decisions, status, timeline
from catalog.budgets import BudgetSpec, Scope
from collector.events import append_events
from collector.exporter import rollup_statements
from collector.store import migrate
from mmoa.policy_source import LogPolicySource
from router.policy import fold_policy

DAY = datetime(2026, 11, 28)
CODING = "coding_implementation"
# $14.40 a day is exactly one cent a minute on pace
SPEC = BudgetSpec(
    "coding", Decimal("14.40"), scope=Scope("category", CODING), soft=Decimal("12.00"),
    downgrade="cheapest", margin=0.2, cooldown_s=1800,
)  # fmt: skip
CENT = Decimal("0.01")

_SQL = (
    "INSERT INTO spans (trace_id, span_id, name, kind, start_time, end_time, duration_ms, "
    "status_code, simulated, source, request_id, operation, provider, category, cost_usd, tags) "
    "VALUES (?, ?, ?, ?, ?, ?, 0, 'OK', true, 'mmoa', ?, ?, ?, ?, ?, MAP {'team': 'search'})"
)


class Store:
    """A migrated store (in memory unless given a connection) with one request (decision + one
    call) per spend; `flush()` stores what was spent and its rollups, as the writer does."""

    def __init__(self, conn: duckdb.DuckDBPyConnection | None = None) -> None:
        if conn is None:
            conn = duckdb.connect()
            migrate(conn)
        self.conn = conn
        self.conn.execute("CREATE TEMP TABLE pending AS SELECT * FROM spans LIMIT 0")
        self.rows: list[list[Any]] = []
        self.n = 0

    def spend(self, t: datetime, cost: Decimal, category: str = CODING) -> None:
        self.n += 1
        rid = f"r{self.n}"
        self.rows.append([rid, "d", "mmoa.route", "INTERNAL", t, t, rid, None, None, category,
                          cost])  # fmt: skip
        self.rows.append([rid, "c", "chat m", "CLIENT", t, t, rid, "chat", "openai", None, cost])

    def flush(self) -> None:
        if not self.rows:
            return
        self.conn.executemany(_SQL.replace("INTO spans", "INTO pending"), self.rows)
        self.conn.execute(
            "INSERT INTO spans SELECT * REPLACE (now()::TIMESTAMP AS ingested_at) FROM pending"
        )
        for sql in rollup_statements("pending"):
            self.conn.execute(sql)
        self.conn.execute("DELETE FROM pending")
        self.rows = []

    def append(self, rows: list[dict[str, Any]]) -> None:
        append_events(self.conn, rows)

    def controller(self, spec: BudgetSpec = SPEC) -> Controller:
        return Controller(self.conn, [spec], self.append, simulated=True)


Rate = Callable[[datetime, bool], Decimal]  # (minute, downgraded) -> spend in that minute


def run(
    store: Store,
    ctl: Controller,
    rate: Rate,
    until: datetime,
    start: datetime = DAY,
    every: int = 5,
) -> list[tuple[datetime, list[Any]]]:
    """Spend minute by minute, the controller ticking every `every` minutes; the spend obeys
    the policy the way the router does: a downgraded minute costs what `rate` says for it."""
    ticks = []
    t = start
    while t < until:
        down = ctl.state.of(SPEC.name).downgrade is not None
        cost = rate(t, down)
        if cost:
            store.spend(t, cost)
        t += timedelta(minutes=1)
        if t.minute % every == 0:
            store.flush()
            ticks.append((t, ctl.tick(t)))
    return ticks


def spike(t: datetime, down: bool) -> Decimal:
    """On pace all day, ten times pace from 14:00 to 15:30; downgraded costs a fifth."""
    cost = CENT * 10 if DAY.replace(hour=14) <= t < DAY.replace(hour=15, minute=30) else CENT
    return cost / 5 if down else cost


def kinds(ticks: list[tuple[datetime, list[Any]]]) -> list[tuple[str, str]]:
    return [(f"{t:%H:%M}", e.kind) for t, events in ticks for e in events]


def test_spike_alerts_and_downgrades_within_one_tick_then_restores() -> None:
    store = Store()
    ctl = store.controller()
    ticks = run(store, ctl, spike, DAY + timedelta(days=1))
    assert kinds(ticks) == [
        ("14:05", "budget.alert"),  # the first tick after the spike began
        ("14:05", "budget.downgrade"),
        ("18:45", "budget.restore"),
        ("20:30", "budget.alert"),  # soft limit $12 reached (spend back on pace after restore)
    ]
    alert, down = ticks[14 * 12][1][:2]
    assert ticks[14 * 12][0] == DAY.replace(hour=14, minute=5)
    # 14 hours on pace (840 cents) + 5 minutes at ten cents
    assert down.spent_usd == Decimal("8.90") and down.pace_usd == Decimal("8.45")
    assert down.limit_usd == Decimal("14.40") and down.policy_version == 1
    assert (down.from_chain, down.to_chain, down.scope) == (
        "configured",
        "cheapest",
        str(SPEC.scope),
    )
    assert down.reason.startswith(
        "budget 'coding' (category:coding_implementation, $14.4000/day) drifts at 14:05: spent "
        "$8.9000 is ahead of pace $8.4500 and the last 15 min ran at $2.4000/h (±$1.3607), 300% "
        "above the pace rate $0.6/h (margin 20%); downgrade to cheapest"
    )
    assert down.details["rate_usd_per_h"] == "2.4000000000"
    assert alert.details["trigger"] == "drift" and alert.reason in down.reason
    assert ticks[18 * 12 + 8][0] == DAY.replace(hour=18, minute=45)
    restore = ticks[18 * 12 + 8][1][0]
    assert restore.kind == "budget.restore" and restore.policy_version == 2
    assert (restore.from_chain, restore.to_chain) == ("cheapest", "configured")
    assert "back under pace at 18:45" in restore.reason
    assert restore.spent_usd <= restore.pace_usd


def test_spend_rate_falls_after_the_downgrade() -> None:
    store = Store()
    ctl = store.controller()
    run(store, ctl, spike, DAY.replace(hour=14, minute=5))
    before = status(store.conn, [SPEC], DAY.replace(hour=14, minute=5))[0]
    run(store, ctl, spike, DAY.replace(hour=14, minute=20), start=DAY.replace(hour=14, minute=5))
    after = status(store.conn, [SPEC], DAY.replace(hour=14, minute=20))[0]
    # last 15 minutes: 5 at 10c + 10 at 1c on pace = 60c -> $2.40/h; then 15 at 2c = $1.20/h
    assert before.rate_per_h == Decimal("2.4000000000")
    assert after.rate_per_h == Decimal("1.2000000000")
    assert (before.state, after.state) == ("downgraded", "downgraded")
    assert after.downgrade == "cheapest" and after.downgrade_since == DAY.replace(hour=14, minute=5)


def test_a_spike_on_another_category_does_not_touch_this_budget() -> None:
    store = Store()
    ctl = store.controller()
    for m in range(14 * 60 + 30):
        t = DAY + timedelta(minutes=m)
        store.spend(t, CENT)
        if t.hour == 14:
            store.spend(t, CENT * 50, category="analysis_research")
    store.flush()
    assert ctl.tick(DAY.replace(hour=14, minute=30)) == []


def test_no_flapping_under_noise_at_the_threshold() -> None:
    """Spend that does not react to the policy, noisy around the drift threshold all afternoon:
    one downgrade, no restore, and no second alert."""
    rng = random.Random(3)

    def noisy(t: datetime, down: bool) -> Decimal:
        if t.hour < 12:
            return CENT
        level = Decimal("1.2") * Decimal(str(round(rng.uniform(0.7, 1.3), 3)))
        return (CENT * level).quantize(Decimal("1e-6"))

    store = Store()
    ctl = store.controller()
    ticks = run(store, ctl, noisy, DAY.replace(hour=20))
    events = [e for _, batch in ticks for e in batch]
    assert [e.kind for e in events if e.kind != "budget.alert"] == ["budget.downgrade"]
    drift_alerts = [
        e for e in events if e.kind == "budget.alert" and e.details["trigger"] == "drift"
    ]
    assert len(drift_alerts) == len([e for e in events if e.kind == "budget.downgrade"])


def test_noise_around_pace_after_a_spike_changes_policy_at_most_twice() -> None:
    rng = random.Random(11)

    def noisy(t: datetime, down: bool) -> Decimal:
        level = Decimal(str(round(rng.uniform(0.5, 1.5), 3)))
        if DAY.replace(hour=14) <= t < DAY.replace(hour=14, minute=30):
            level *= 10
        return (CENT * level / (5 if down else 1)).quantize(Decimal("1e-6"))

    store = Store()
    ctl = store.controller()
    ticks = run(store, ctl, noisy, DAY + timedelta(days=1))
    changes = [k for k in kinds(ticks) if k[1] != "budget.alert"]
    assert [k[1] for k in changes] == ["budget.downgrade", "budget.restore"]
    down, up = (datetime.strptime(k[0], "%H:%M") for k in changes)
    assert (up - down).total_seconds() >= SPEC.cooldown_s


def test_replay_from_empty_reproduces_the_policy_state() -> None:
    store = Store()
    ctl = store.controller()
    policy = LogPolicySource(store.conn, every_s=0)
    seen = []
    t = DAY
    while t < DAY + timedelta(days=1):  # the router's view, refreshed incrementally
        run(store, ctl, spike, t + timedelta(hours=1), start=t)
        seen.append(policy.current())
        t += timedelta(hours=1)
    assert policy.reads == 24  # one incremental read per refresh
    events, _ = read_decisions(store.conn)
    assert fold_state(ControllerState(), events) == ctl.state
    assert fold_policy(events) == policy.current() == seen[-1]
    assert policy.current().version == 2
    assert [p.version for p in seen][13:19] == [0, 1, 1, 1, 1, 2]
    assert seen[14].downgrades[0].mode == "cheapest" and seen[14].downgrades[0].budget == "coding"

    # a second run from an empty store makes the very same events, ids included
    again = Store()
    run(again, again.controller(), spike, DAY + timedelta(days=1))
    replayed, _ = read_decisions(again.conn)
    assert [e["event_id"] for e in replayed] == [e["event_id"] for e in events]
    assert replayed == events

    # a controller started afresh on the stored log agrees, and appends nothing twice
    late = store.controller()
    assert late.refresh() == ctl.state
    assert late.tick(DAY + timedelta(days=1)) == []


def test_two_controllers_make_one_set_of_events() -> None:
    store = Store()
    held: list[list[dict[str, Any]]] = []  # controller a's append is slow: b decides meanwhile
    a = Controller(store.conn, [SPEC], held.append)
    b = store.controller()
    for m in range(14 * 60 + 5):
        store.spend(DAY + timedelta(minutes=m), CENT if m < 14 * 60 else CENT * 10)
    store.flush()
    now = DAY.replace(hour=14, minute=5)
    first = a.tick(now)
    second = b.tick(now)
    assert [e.event_id for e in first] == [e.event_id for e in second] and len(first) == 2
    assert append_events(store.conn, held[0]) == 0  # a's late append: already there
    assert len(timeline(store.conn)) == 2


# ----------------------------------------------------------------------- pure decision rules


def obs(now: datetime, spent: str, per_minute: str, **kw: Any) -> Observation:
    start = now.replace(hour=0, minute=0)
    minutes = {now - timedelta(minutes=i + 1): Decimal(per_minute) for i in range(60)}
    return Observation(now, start, start + timedelta(days=1), Decimal(spent), minutes=minutes, **kw)


def test_uniform_pace_and_run_rate_forecast_exactly() -> None:
    a = assess(SPEC, obs(DAY.replace(hour=12), "7.20", "0.01"), Shape())
    assert (a.pace, a.forecast, a.forecast_low, a.forecast_high) == (
        Decimal("7.2000000000"),
        Decimal("14.4000000000"),
        Decimal("14.4000000000"),
        Decimal("14.4000000000"),
    )
    assert a.drift is None and a.method == "run rate (no history)"


def test_forecast_low_above_budget_is_drift_even_under_pace() -> None:
    # $10 by noon and $3/h lately: even the lower of the two rates lands at $20 > $14.40
    a = assess(SPEC, obs(DAY.replace(hour=12), "10.00", "0.05"), Shape())
    assert a.forecast_low == Decimal("20.0000000000") and a.forecast == Decimal("33.0000000000")
    assert a.drift is not None and a.drift.startswith(
        "the forecast $33.0000 (band $20.0000–$46.0000"
    )
    # under pace ($2 vs $7.20) with a burst: the band reaches down to the day's rate, no drift
    calm = assess(SPEC, obs(DAY.replace(hour=12), "2.00", "0.05"), Shape())
    assert calm.forecast_low == Decimal("4.0000000000") and calm.drift is None


def test_hour_of_day_profile_sets_pace_and_backtested_band() -> None:
    # seven previous days: nothing at night, $1/h from 08:00 to 20:00; one day's afternoon
    # busier ($1.50/h from 14:00), another's quieter ($0.50/h)
    def hour(d: int, h: int) -> Decimal:
        return Decimal({3: "1.5", 5: "0.5"}.get(d, "1") if h >= 14 else "1")

    history = {
        DAY - timedelta(days=d) + timedelta(hours=h): hour(d, h)
        for d in range(1, 8)
        for h in range(8, 20)
    }
    shape = shape_of(history)
    assert shape.days == 7 and shape.hourly is not None
    assert shape.hourly[3] == 0 and shape.hourly[10] == 1 and shape.hourly[15] == 1
    now = DAY.replace(hour=14)
    o = obs(now, "6", "0.0166666667", history=history)
    a = assess(SPEC, o, shape)
    assert a.pace == Decimal("7.2000000000")  # half of the day's expected spend is done by 14:00
    assert a.method == "hour-of-day profile of 7 previous days"
    assert a.band == "range of 7 past days' forecast errors"
    # the busier and the quieter afternoon bound the band: +-50% of the remaining $6
    figures = (a.forecast_low, a.forecast, a.forecast_high)
    assert tuple(f.quantize(CENT) for f in figures) == (
        Decimal("9.00"),
        Decimal("12.00"),
        Decimal("15.00"),
    )
    # overnight there is no expected spend: pace is flat from 20:00 on
    late = assess(SPEC, obs(DAY.replace(hour=22), "6", "0", history=history), shape)
    assert late.pace == Decimal("14.4000000000")


def test_decide_is_pure_and_ids_are_content_based() -> None:
    o = obs(DAY.replace(hour=14, minute=5), "8.90", "0.04")
    first = decide(SPEC, BudgetState(), o, Shape())
    assert [e.kind for e in first] == ["budget.alert", "budget.downgrade"]
    assert decide(SPEC, BudgetState(), o, Shape()) == first
    state = fold_state(ControllerState(), (e.row() for e in first))
    assert decide(SPEC, state.of("coding"), o, Shape()) == []  # already downgraded, alerted


def test_incremental_spend_equals_a_full_read() -> None:
    from analytics.budgets import observe, sealed_of

    month = BudgetSpec("month", Decimal(500), period="month", cooldown_s=600)
    store = Store()
    for m in range(3 * 24 * 60):
        store.spend(DAY + timedelta(minutes=m), CENT * (1 + m % 7))
    store.flush()
    sealed = None
    for m in range(0, 3 * 24 * 60, 97):
        now = DAY + timedelta(minutes=m)
        fast = observe(store.conn, month, now, {}, sealed=sealed)
        assert fast == observe(store.conn, month, now, {})
        sealed = sealed_of(month, fast)
    assert fast.spent == sum(CENT * (1 + i % 7) for i in range(m))
