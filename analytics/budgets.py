"""The budget controller's reads and its loop: fold the log into spend, pace and forecast per
budget (SQL in sql/views/70_budgets.sql), decide with analytics/budget_rules.py, and hand the
events to a writer the composition root supplies (analytics never writes).

Public API (the dashboard and `mmoa budget` use it): `status(source, budgets, now)`,
`timeline(source, since=None)`, and `Controller(...).tick(now)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from analytics.budget_rules import (
    CONTROLLER_KINDS,
    HISTORY_DAYS,
    Assessment,
    BudgetEvent,
    ControllerState,
    Observation,
    Shape,
    assess,
    decide_all,
    fold_state,
    lookback_s,
    rate_window_s,
    shape_of,
)
from analytics.reader import Source, rows_of
from catalog.budgets import BudgetSpec, Scope

Append = Callable[[list[dict[str, Any]]], None]

_MINUTES_SQL = """
SELECT CASE WHEN minute >= $lookback::TIMESTAMP THEN minute END AS m,
       minute >= $start::TIMESTAMP AS in_period,
       sum(cost_usd) AS cost_usd
FROM budget_spend_minutes($kind, $value, least($start::TIMESTAMP, $lookback::TIMESTAMP),
                          $now::TIMESTAMP)
GROUP BY ALL
"""
# Spend folded so far: (up to this minute, spend in [period start, it)).
Sealed = tuple[datetime, Decimal]
_HISTORY_SQL = """
SELECT date_trunc('hour', minute) AS hour, sum(cost_usd) AS cost_usd
FROM budget_spend_minutes($kind, $value, $since::TIMESTAMP, $until::TIMESTAMP)
GROUP BY ALL
"""
_RESERVED_SQL = "SELECT budget_reserved($budget, $start::TIMESTAMP)"
_DECISIONS_SQL = """
SELECT rowid AS seq, * EXCLUDE (reservation_id, amount_usd)
FROM budget_events
WHERE kind IN ('budget.alert', 'budget.downgrade', 'budget.restore') AND rowid > $after
ORDER BY ts, kind, budget, event_id
"""


def minute_floor(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0, tzinfo=None)


def _p(t: datetime) -> str:
    return t.isoformat(sep=" ")


def _dicts(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _details(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, dict) else {}
    return dict(value) if isinstance(value, Mapping) else {}


def read_history(source: Source, spec: BudgetSpec, now: datetime) -> dict[datetime, Decimal]:
    """Hourly spend in the budget's scope over the HISTORY_DAYS whole days before now's day."""
    day = minute_floor(now).replace(hour=0, minute=0)
    params = {
        "kind": spec.scope.kind,
        "value": spec.scope.value,
        "since": _p(day - timedelta(days=HISTORY_DAYS)),
        "until": _p(day),
    }
    _, rows = rows_of(source, _HISTORY_SQL, params)
    return {row[0]: Decimal(row[1]) for row in rows if row[1] is not None}


_EFFECT_SQL = """
SELECT coalesce(sum(cost_usd) FILTER (WHERE minute < $at::TIMESTAMP), 0),
       coalesce(sum(cost_usd) FILTER (WHERE minute >= $at::TIMESTAMP), 0)
FROM budget_spend_minutes($kind, $value, $at::TIMESTAMP - to_seconds($w),
                          $at::TIMESTAMP + to_seconds($w))
"""


def read_effect(
    source: Source, spec: BudgetSpec, at: datetime, now: datetime
) -> tuple[Decimal, Decimal] | None:
    """Spend in the rate window before and after a downgrade made `at` (None until the window
    after it is over)."""
    w = rate_window_s(spec)
    if now < at + timedelta(seconds=w):
        return None
    params = {"kind": spec.scope.kind, "value": spec.scope.value, "at": _p(at), "w": w}
    _, rows = rows_of(source, _EFFECT_SQL, params)
    return Decimal(rows[0][0]), Decimal(rows[0][1])


def observe(
    source: Source,
    spec: BudgetSpec,
    now: datetime,
    history: Mapping[datetime, Decimal] | None = None,
    downgraded_at: datetime | None = None,
    sealed: Sealed | None = None,
) -> Observation:
    """Everything the decision needs about one budget at `now` (floored to the minute).

    `sealed`: spend of this period already folded up to a minute at or before the look-back
    (see `sealed_of`): only the minutes after it are read, so a month budget's tick does not
    re-read the month."""
    now = minute_floor(now)
    start, end = spec.window(now)
    lookback = now - timedelta(seconds=lookback_s(spec))
    base_from, base = start, Decimal(0)
    if sealed is not None and start <= sealed[0] <= lookback:
        base_from, base = sealed
    params = {
        "kind": spec.scope.kind,
        "value": spec.scope.value,
        "start": _p(base_from),
        "lookback": _p(lookback),
        "now": _p(now),
    }
    _, rows = rows_of(source, _MINUTES_SQL, params)
    spent = base + sum((Decimal(r[2]) for r in rows if r[1] and r[2] is not None), Decimal(0))
    minutes = {r[0]: Decimal(r[2]) for r in rows if r[0] is not None and r[2] is not None}
    reserved: list[Any] = [(0,)]  # only hard-capped budgets reserve (collector/ledger.py)
    if spec.hard is not None:
        _, reserved = rows_of(source, _RESERVED_SQL, {"budget": spec.name, "start": _p(start)})
    return Observation(
        now=now,
        start=start,
        end=end,
        spent=spent,
        reserved=Decimal(reserved[0][0] or 0),
        minutes=minutes,
        history=read_history(source, spec, now) if history is None else history,
        downgrade_effect=None
        if downgraded_at is None
        else read_effect(source, spec, downgraded_at, now),
    )


def sealed_of(spec: BudgetSpec, obs: Observation) -> Sealed:
    """What the next tick may take as folded: spend up to the look-back (or the period
    start). Spans stored later than the look-back behind their time are counted from the next
    period or restart, like the ledger's (collector/ledger.py)."""
    until = max(obs.now - timedelta(seconds=lookback_s(spec)), obs.start)
    recent = sum((v for t, v in obs.minutes.items() if t >= until), Decimal(0))
    return until, obs.spent - recent


def read_decisions(source: Source, after: int = -1) -> tuple[list[dict[str, Any]], int]:
    """Alert/downgrade/restore events stored after row `after`, in log order, and the last
    row seen (pass it back next time: the log is append-only, so nothing is read twice)."""
    columns, rows = rows_of(source, _DECISIONS_SQL, {"after": after})
    events = _dicts(columns, rows)
    last = max((int(e.pop("seq")) for e in events), default=after)
    for e in events:
        e["details"] = _details(e.get("details"))
    return events, last


# ---------------------------------------------------------------------------------- status


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """One budget now: its figures, its state and the downgrade in force."""

    name: str
    scope: str
    period: str
    period_start: datetime
    period_end: datetime
    spent: Decimal
    reserved: Decimal
    pace: Decimal
    forecast: Decimal
    forecast_low: Decimal
    forecast_high: Decimal
    limit: Decimal  # the budget amount
    soft: Decimal
    hard: Decimal | None
    state: str  # ok | alert | downgraded
    downgrade: str | None  # the downgrade in force (next_tier, cheapest, chain:<name>)
    downgrade_since: datetime | None
    rate_per_h: Decimal
    pace_rate_per_h: Decimal
    forecast_method: str
    drift: str | None  # why the figures are drift now, if they are

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def _status(
    spec: BudgetSpec, obs: Observation, a: Assessment, state: ControllerState
) -> BudgetStatus:
    b = state.of(spec.name)
    alerted = any(p == obs.start.isoformat(sep=" ") for p, _ in b.alerts)
    down = b.downgrade
    label = "downgraded" if down else ("alert" if alerted or a.drift else "ok")
    since = down.get("ts") if down else None
    return BudgetStatus(
        name=spec.name,
        scope=str(spec.scope),
        period=spec.period,
        period_start=obs.start,
        period_end=obs.end,
        spent=a.spent,
        reserved=a.reserved,
        pace=a.pace,
        forecast=a.forecast,
        forecast_low=a.forecast_low,
        forecast_high=a.forecast_high,
        limit=spec.amount,
        soft=spec.soft,
        hard=spec.hard,
        state=label,
        downgrade=str(down.get("to_chain")) if down else None,
        downgrade_since=since if isinstance(since, datetime) else None,
        rate_per_h=a.rate_per_h,
        pace_rate_per_h=a.pace_rate_per_h,
        forecast_method=a.method,
        drift=a.drift,
    )


def status(source: Source, budgets: Iterable[BudgetSpec], now: datetime) -> list[BudgetStatus]:
    """Each budget's figures and state at `now` (naive UTC), from the log."""
    events, _ = read_decisions(source)
    state = fold_state(ControllerState(), events)
    out = []
    for spec in budgets:
        obs = observe(source, spec, now)
        out.append(_status(spec, obs, assess(spec, obs, shape_of(obs.history)), state))
    return out


def timeline(source: Source, since: datetime | None = None) -> list[dict[str, Any]]:
    """Alerts, downgrades and restores (budget_events rows as dicts, `details` parsed), in
    log order, from `since` (inclusive) on."""
    events, _ = read_decisions(source)
    return [e for e in events if since is None or e["ts"] >= since]


_RATE_SQL = """
SELECT coalesce(sum(cost_usd), 0), max(minute)
FROM budget_spend_minutes($kind, $value, $since::TIMESTAMP, $until::TIMESTAMP)
"""
_LAST_SQL = "SELECT max(minute) FROM rollup_calls"


def _rate(source: Source, scope: Scope, since: datetime, until: datetime) -> Decimal | None:
    """Spend per hour in `scope` over [since, until); None for an empty window."""
    hours = Decimal((until - since).total_seconds()) / 3600
    if hours <= 0:
        return None
    params = {"kind": scope.kind, "value": scope.value, "since": _p(since), "until": _p(until)}
    _, rows = rows_of(source, _RATE_SQL, params)
    return (Decimal(rows[0][0]) / hours).quantize(Decimal("1e-10"))


def downgrade_effects(source: Source, since: datetime | None = None) -> list[dict[str, Any]]:
    """Each downgrade with the spend rate of its scope in the hour before it, while it was in
    force (until its restore, or the last data), and in the hour after its restore."""
    events = timeline(source, since)
    _, last_rows = rows_of(source, _LAST_SQL)
    last = last_rows[0][0] if last_rows and last_rows[0][0] else None
    out = []
    for i, e in enumerate(events):
        if e["kind"] != "budget.downgrade":
            continue
        scope, at = Scope.parse(e["scope"]), e["ts"]
        restore = next(
            (
                r
                for r in events[i + 1 :]
                if r["kind"] == "budget.restore" and r["budget"] == e["budget"]
            ),
            None,
        )
        end = restore["ts"] if restore else (last + timedelta(minutes=1) if last else at)
        hour = timedelta(hours=1)
        out.append(
            {
                "budget": e["budget"],
                "scope": e["scope"],
                "downgraded_at": at,
                "to_chain": e["to_chain"],
                "restored_at": restore["ts"] if restore else None,
                "rate_before_usd_per_h": _rate(source, scope, at - hour, at),
                "rate_during_usd_per_h": _rate(source, scope, at, end),
                "rate_after_usd_per_h": _rate(source, scope, end, end + hour) if restore else None,
            }
        )
    return out


# ------------------------------------------------------------------------------ controller


class Controller:
    """The budget loop: each `tick(now)` reads, decides and appends; its state is always the
    fold of the log (read incrementally), so a restart or a second controller agrees with it."""

    def __init__(
        self,
        source: Source,
        budgets: Sequence[BudgetSpec],
        append: Append,
        *,
        simulated: bool = False,
        on_events: Callable[[list[BudgetEvent]], None] | None = None,
    ) -> None:
        self.source = source
        self.budgets = tuple(budgets)
        self.append = append
        self.simulated = simulated
        self.on_events = on_events
        self.state = ControllerState()
        self._seen = -1
        self._history: dict[tuple[str, date], tuple[Mapping[datetime, Decimal], Shape]] = {}
        self._sealed: dict[str, Sealed] = {}

    def refresh(self) -> ControllerState:
        """Fold the events stored since the last refresh."""
        events, self._seen = read_decisions(self.source, self._seen)
        self.state = fold_state(self.state, events)
        return self.state

    def _observe(self, spec: BudgetSpec, now: datetime) -> tuple[Observation, Shape]:
        key = (spec.name, now.date())  # the history is whole previous days: read once a day
        if key not in self._history:
            history: Mapping[datetime, Decimal] = read_history(self.source, spec, now)
            self._history = {k: v for k, v in self._history.items() if k[1] == now.date()}
            self._history[key] = (history, shape_of(history))
        history, shape = self._history[key]
        down = self.state.of(spec.name).downgrade
        at = down.get("ts") if down else None
        at = at if isinstance(at, datetime) else None
        obs = observe(self.source, spec, now, history, at, self._sealed.get(spec.name))
        self._sealed[spec.name] = sealed_of(spec, obs)
        return obs, shape

    def tick(self, now: datetime) -> list[BudgetEvent]:
        """One pass over every budget at `now`; returns the events appended."""
        now = minute_floor(now)
        self.refresh()
        seen = {spec.name: self._observe(spec, now) for spec in self.budgets}
        events, _ = decide_all(self.budgets, self.state, seen, simulated=self.simulated)
        if events:
            self.append([e.row() for e in events])
            self.refresh()
            if self.on_events is not None:
                self.on_events(events)
        return events


__all__ = [
    "CONTROLLER_KINDS",
    "BudgetStatus",
    "Controller",
    "observe",
    "read_decisions",
    "status",
    "timeline",
]
