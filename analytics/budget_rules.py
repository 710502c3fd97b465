"""The budget controller's decisions: pure functions of a budget, its state (a fold of earlier
budget events) and the spend figures read at one instant. Same inputs, same events, same ids.

Pace is the budget times the share of the period elapsed, weighted by the hour-of-day spend
profile of the previous days when there is history (uniform otherwise). Drift is either a
forecast whose low end is above the budget, or spend ahead of pace with the recent rate above
the pace rate by the budget's margin. A downgrade is lifted once spend has stayed under pace
for the cool-down window (hysteresis: entering needs the margin, leaving needs pace and time).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from analytics.money import usd
from catalog.budgets import BudgetSpec, period_seconds

# uuid5 namespace of budget event ids (fixed forever: ids must survive upgrades)
EVENT_NAMESPACE = uuid.UUID("6d6d6f61-6275-6467-6574-2d6576656e74")
HISTORY_DAYS = 7
_HOUR = timedelta(hours=1)
_TEN = Decimal("1e-10")
POLICY_KINDS = ("budget.downgrade", "budget.restore")
CONTROLLER_KINDS = ("budget.alert", *POLICY_KINDS)


def nominal_seconds(spec: BudgetSpec) -> float:
    """Length of the budget's period (a month counts 30 days, for window sizes only)."""
    fixed = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400}
    return float(fixed.get(spec.period) or period_seconds(spec.period) or 86400)


def rate_window_s(spec: BudgetSpec) -> float:
    """The recent window whose spend rate is compared with pace: 1/96 of the period (15 min of
    a day) in whole minutes, at least 5 minutes, at most an hour."""
    return 60.0 * round(min(3600.0, max(300.0, nominal_seconds(spec) / 96)) / 60)


def lookback_s(spec: BudgetSpec) -> float:
    """How far back the per-minute spend must reach: the rate window and the cool-down, in
    whole minutes."""
    return 60.0 * math.ceil(max(rate_window_s(spec), spec.cooldown_s) / 60)


# --------------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class Observation:
    """What was read for one budget at `now` (naive UTC, whole minutes)."""

    now: datetime
    start: datetime  # the period holding `now`
    end: datetime
    spent: Decimal  # in scope, [start, now)
    reserved: Decimal = Decimal(0)  # outstanding hard-cap reservations
    # spend per minute over [now - lookback_s, now); minutes with no spend may be left out
    minutes: Mapping[datetime, Decimal] = field(default_factory=dict)
    # spend per hour of the HISTORY_DAYS whole days before now's day; empty hours left out
    history: Mapping[datetime, Decimal] = field(default_factory=dict)
    # with a downgrade in force: spend in the rate window just before it and just after it
    # (None until the window after it is over): how much the downgrade cut the rate
    downgrade_effect: tuple[Decimal, Decimal] | None = None

    def spend_between(self, a: datetime, b: datetime) -> Decimal:
        """Spend in [a, b) from the per-minute figures (both inside the lookback)."""
        return sum((v for t, v in self.minutes.items() if a <= t < b), Decimal(0))


@dataclass(frozen=True, slots=True)
class Shape:
    """Expected spend density over the day: USD per hour at each hour of day, averaged over the
    previous days that had spend; `hourly` None means uniform (no history)."""

    hourly: tuple[float, ...] | None = None
    days: int = 0

    def expected(self, a: datetime, b: datetime) -> float:
        """Integral of the density over [a, b) (uniform: hours)."""
        if b <= a:
            return 0.0
        if self.hourly is None:
            return (b - a).total_seconds() / 3600
        total, t = 0.0, a
        day_total = sum(self.hourly)
        while t < b:
            if t.minute == t.second == t.microsecond == 0 and t.hour == 0 and b - t >= 24 * _HOUR:
                whole = (b - t) // (24 * _HOUR)
                total += whole * day_total
                t += whole * 24 * _HOUR
                continue
            nxt = min(t.replace(minute=0, second=0, microsecond=0) + _HOUR, b)
            total += self.hourly[t.hour] * (nxt - t).total_seconds() / 3600
            t = nxt
        return total

    def describe(self) -> str:
        if self.hourly is None:
            return "run rate (no history)"
        return f"hour-of-day profile of {self.days} previous day{'s' * (self.days != 1)}"


def shape_of(history: Mapping[datetime, Decimal]) -> Shape:
    """The hour-of-day profile of the history (hour start -> spend); uniform if it is empty."""
    days = {t.date() for t, v in history.items() if v > 0}
    if not days:
        return Shape()
    hourly = [0.0] * 24
    for t, v in history.items():
        if t.date() in days:
            hourly[t.hour] += float(v)
    if sum(hourly) <= 0:
        return Shape()
    return Shape(tuple(h / len(days) for h in hourly), len(days))


def _history_between(history: Mapping[datetime, Decimal], a: datetime, b: datetime) -> float:
    """Spend in [a, b) from hourly history, a partial hour counted pro rata."""
    total, t = 0.0, a
    while t < b:
        hour = t.replace(minute=0, second=0, microsecond=0)
        nxt = min(hour + _HOUR, b)
        total += float(history.get(hour, 0)) * (nxt - t).total_seconds() / 3600
        t = nxt
    return total


# ------------------------------------------------------------------------------ assessment


@dataclass(frozen=True, slots=True)
class Assessment:
    """The figures of one budget at one instant, and what they say."""

    spent: Decimal
    reserved: Decimal
    pace: Decimal
    forecast: Decimal
    forecast_low: Decimal
    forecast_high: Decimal
    rate_per_h: Decimal  # spend rate over the recent window
    rate_se_per_h: Decimal  # its standard error, from the per-minute spend of the window
    pace_rate_per_h: Decimal  # the pace's rate over the same window
    window_s: float
    method: str  # how the forecast was made
    band: str  # how its band was made
    drift: str | None  # why this is drift (a sentence with its numbers), None if it is not


def _money(x: float | Decimal) -> Decimal:
    return Decimal(repr(float(x))).quantize(_TEN) if isinstance(x, float) else x.quantize(_TEN)


def _levels(obs: Observation, shape: Shape, w: timedelta) -> tuple[float, float, float]:
    """(level so far, recent level, standard error of the recent level): spend per unit of
    expected spend (uniform shape: per hour)."""
    done = shape.expected(obs.start, obs.now)
    so_far = float(obs.spent) / done if done > 0 else 0.0
    in_window = shape.expected(obs.now - w, obs.now)
    recent_spend = obs.spend_between(obs.now - w, obs.now)
    recent = float(recent_spend) / in_window if in_window > 0 else so_far
    n = max(1, int(w.total_seconds() // 60))
    per_min = [float(obs.minutes.get(obs.now - w + timedelta(minutes=i), 0)) for i in range(n)]
    mean = sum(per_min) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in per_min) / max(1, n - 1))
    se = sd * math.sqrt(n) / in_window if in_window > 0 else 0.0
    if done <= 0:  # the very start of a period: only the recent window speaks
        so_far = recent
    return so_far, recent, se


def _backtest(obs: Observation, shape: Shape, w: timedelta) -> list[float]:
    """For each previous day: actual remaining spend / forecast remaining spend, had the same
    forecast been made at the same time of that day (periods of a day or less)."""
    ratios: list[float] = []
    if obs.end - obs.start > 24 * _HOUR:
        return ratios
    for d in range(1, HISTORY_DAYS + 1):
        shift = timedelta(days=d)
        s, n, e = obs.start - shift, obs.now - shift, obs.end - shift
        if not any(s <= t < e for t in obs.history):
            continue
        spent = _history_between(obs.history, s, n)
        done, in_window = shape.expected(s, n), shape.expected(n - w, n)
        so_far = spent / done if done > 0 else 0.0
        recent = _history_between(obs.history, n - w, n) / in_window if in_window > 0 else so_far
        predicted = (so_far + recent) / 2 * shape.expected(n, e)
        actual = _history_between(obs.history, n, e)
        if predicted > 0:
            ratios.append(actual / predicted)
    return ratios


def assess(spec: BudgetSpec, obs: Observation, shape: Shape) -> Assessment:
    """Pace, forecast with its band, recent rate, and whether this is drift."""
    w = timedelta(seconds=rate_window_s(spec))
    amount = float(spec.amount)
    period_total = shape.expected(obs.start, obs.end)
    if period_total <= 0:  # a profile with no spend at these hours: fall back to uniform
        shape = Shape()
        period_total = shape.expected(obs.start, obs.end)
    pace = amount * shape.expected(obs.start, obs.now) / period_total
    pace_w = amount * shape.expected(obs.now - w, obs.now) / period_total
    spent = float(obs.spent)
    so_far, recent, se = _levels(obs, shape, w)
    remaining = shape.expected(obs.now, obs.end)
    forecast = spent + (so_far + recent) / 2 * remaining
    ratios = _backtest(obs, shape, w) if shape.hourly is not None else []
    if len(ratios) >= 2:
        low = spent + (forecast - spent) * min(ratios)
        high = spent + (forecast - spent) * max(ratios)
        band = f"range of {len(ratios)} past days' forecast errors"
    else:
        low = spent + min(so_far, recent) * remaining - 2 * se * remaining
        high = spent + max(so_far, recent) * remaining + 2 * se * remaining
        band = "period and recent rates, ±2 standard errors of the recent rate"
    low = max(spent, low)
    recent_spend = float(obs.spend_between(obs.now - w, obs.now))
    hours = w.total_seconds() / 3600
    a = Assessment(
        spent=obs.spent,
        reserved=obs.reserved,
        pace=_money(pace),
        forecast=_money(forecast),
        forecast_low=_money(low),
        forecast_high=_money(max(high, forecast)),
        rate_per_h=_money(recent_spend / hours),
        rate_se_per_h=_money(se * shape.expected(obs.now - w, obs.now) / hours),
        pace_rate_per_h=_money(pace_w / hours),
        window_s=w.total_seconds(),
        method=shape.describe(),
        band=band,
        drift=None,
    )
    return replace(a, drift=_drift(spec, a, recent_spend, pace_w))


def _drift(spec: BudgetSpec, a: Assessment, recent: float, pace_w: float) -> str | None:
    minutes = f"{a.window_s / 60:g} min"
    if a.forecast_low > spec.amount:
        return (
            f"the forecast {usd(a.forecast)} (band {usd(a.forecast_low)}–"
            f"{usd(a.forecast_high)}, {a.method}) is above the budget {usd(spec.amount)}"
        )
    # the rate must clear the margin by two standard errors: noise alone does not trip it
    noise = 2 * float(a.rate_se_per_h) * a.window_s / 3600
    if a.spent > a.pace and recent - noise > pace_w * (1 + spec.margin):
        over = (recent / pace_w - 1) * 100 if pace_w > 0 else math.inf
        return (
            f"spent {usd(a.spent)} is ahead of pace {usd(a.pace)} and the last {minutes} ran at "
            f"{usd(a.rate_per_h)}/h (±{usd(2 * a.rate_se_per_h)}), {over:.0f}% above the pace "
            f"rate {usd(a.pace_rate_per_h)}/h (margin {spec.margin:.0%})"
        )
    return None


def under_pace_for(spec: BudgetSpec, obs: Observation, shape: Shape, seconds: float) -> bool:
    """Spend has stayed under pace over the last `seconds`: at every minute boundary of the
    window (in this period) spend so far was at most pace, and the window's spend at most the
    pace's increase over it."""
    total = shape.expected(obs.start, obs.end)
    if total <= 0:
        shape, total = Shape(), Shape().expected(obs.start, obs.end)
    amount = float(spec.amount)
    since = obs.now - timedelta(seconds=seconds)
    window = float(obs.spend_between(since, obs.now))
    if window > amount * shape.expected(since, obs.now) / total + 1e-12:
        return False
    t, spent_after = obs.now, 0.0
    by_minute = sorted(((k, float(v)) for k, v in obs.minutes.items() if k >= since), reverse=True)
    i = 0
    while t >= max(since, obs.start):
        while i < len(by_minute) and by_minute[i][0] >= t:
            spent_after += by_minute[i][1]
            i += 1
        if float(obs.spent) - spent_after > amount * shape.expected(obs.start, t) / total + 1e-12:
            return False
        t -= timedelta(minutes=1)
    return True


# ---------------------------------------------------------------------------------- state


@dataclass(frozen=True, slots=True)
class BudgetState:
    """One budget's controller state: the downgrade in force (its event row), how many
    downgrades were ever made, and the alerts already raised (period start, trigger)."""

    downgrade: Mapping[str, Any] | None = None
    downgrades: int = 0
    alerts: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True, slots=True)
class ControllerState:
    """The fold of every alert/downgrade/restore event: the policy version (changes so far,
    counted as router.policy.fold_policy counts them) and each budget's state."""

    version: int = 0
    budgets: Mapping[str, BudgetState] = field(default_factory=dict)

    def of(self, budget: str) -> BudgetState:
        return self.budgets.get(budget, BudgetState())


def _iso(t: object) -> str:
    return t.isoformat(sep=" ") if isinstance(t, datetime) else str(t or "")


def fold_state(state: ControllerState, events: Iterable[Mapping[str, Any]]) -> ControllerState:
    """The state after `events` (budget_events rows, in log order). Pure."""
    version, budgets = state.version, dict(state.budgets)
    for e in events:
        name, kind = str(e.get("budget") or ""), e.get("kind")
        b = budgets.get(name, BudgetState())
        if kind == "budget.alert":
            trigger = str((_details(e)).get("trigger", ""))
            b = replace(b, alerts=b.alerts | {(_iso(e.get("period_start")), trigger)})
        elif kind == "budget.downgrade":
            if b.downgrade is not None and b.downgrade.get("event_id") == e.get("event_id"):
                continue
            b = replace(b, downgrade=dict(e), downgrades=b.downgrades + 1)
            version += 1
        elif kind == "budget.restore" and b.downgrade is not None:
            b = replace(b, downgrade=None)
            version += 1
        else:
            continue
        budgets[name] = b
    return ControllerState(version, budgets)


def _details(e: Mapping[str, Any]) -> Mapping[str, Any]:
    d = e.get("details")
    if isinstance(d, str):
        import json

        loaded = json.loads(d)
        return loaded if isinstance(loaded, Mapping) else {}
    return d if isinstance(d, Mapping) else {}


# --------------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class BudgetEvent:
    """One budget_events row the controller appends."""

    event_id: str
    ts: datetime
    kind: str
    budget: str
    scope: str
    period_start: datetime
    reason: str
    spent_usd: Decimal
    pace_usd: Decimal
    forecast_usd: Decimal
    forecast_low_usd: Decimal
    forecast_high_usd: Decimal
    limit_usd: Decimal
    details: Mapping[str, Any]
    policy_version: int | None = None
    from_chain: str | None = None
    to_chain: str | None = None
    simulated: bool = False

    def row(self) -> dict[str, Any]:
        """The event as a budget_events row (column -> value)."""
        return {
            "event_id": self.event_id,
            "ts": self.ts,
            "kind": self.kind,
            "budget": self.budget,
            "scope": self.scope,
            "period_start": self.period_start,
            "policy_version": self.policy_version,
            "from_chain": self.from_chain,
            "to_chain": self.to_chain,
            "reason": self.reason,
            "spent_usd": self.spent_usd,
            "pace_usd": self.pace_usd,
            "forecast_usd": self.forecast_usd,
            "forecast_low_usd": self.forecast_low_usd,
            "forecast_high_usd": self.forecast_high_usd,
            "limit_usd": self.limit_usd,
            "reservation_id": None,
            "amount_usd": None,
            "simulated": self.simulated,
            "details": dict(self.details),
        }


def event_id(kind: str, budget: str, scope: str, *key: object) -> str:
    """Deterministic id: the same decision (by any controller, on any replay) has the same id."""
    return str(uuid.uuid5(EVENT_NAMESPACE, "|".join([kind, budget, scope, *map(str, key)])))


def _event(
    spec: BudgetSpec,
    obs: Observation,
    a: Assessment,
    kind: str,
    key: tuple[object, ...],
    reason: str,
    limit: Decimal,
    details: Mapping[str, Any],
    **kw: Any,
) -> BudgetEvent:
    scope = str(spec.scope)
    figures = {
        "rate_usd_per_h": str(a.rate_per_h),
        "pace_rate_usd_per_h": str(a.pace_rate_per_h),
        "window_s": a.window_s,
        "reserved_usd": str(a.reserved),
        "budget_usd": str(spec.amount),
        "margin": spec.margin,
        "forecast_method": a.method,
        "forecast_band": a.band,
    }
    return BudgetEvent(
        event_id=event_id(kind, spec.name, scope, *key),
        ts=obs.now,
        kind=kind,
        budget=spec.name,
        scope=scope,
        period_start=obs.start,
        reason=reason,
        spent_usd=a.spent,
        pace_usd=a.pace,
        forecast_usd=a.forecast,
        forecast_low_usd=a.forecast_low,
        forecast_high_usd=a.forecast_high,
        limit_usd=limit,
        details={**figures, **details},
        **kw,
    )


def _head(spec: BudgetSpec, obs: Observation) -> str:
    return f"budget {spec.name!r} ({spec.scope}, {usd(spec.amount)}/{spec.period})"


def _alerts(
    spec: BudgetSpec, state: BudgetState, obs: Observation, a: Assessment
) -> list[BudgetEvent]:
    out = []
    period = _iso(obs.start)
    limits = [("soft_limit", spec.soft, "the soft limit")]
    if spec.hard is not None:
        limits.append(("hard_cap", spec.hard, "the hard cap"))
    for trigger, limit, what in limits:
        if a.spent + a.reserved >= limit and (period, trigger) not in state.alerts:
            reason = (
                f"{_head(spec, obs)}: spent {usd(a.spent)} (+{usd(a.reserved)} reserved) "
                f"has reached {what} {usd(limit)} at {obs.now:%H:%M}; pace {usd(a.pace)}, "
                f"forecast {usd(a.forecast)} ({usd(a.forecast_low)}–{usd(a.forecast_high)})"
            )
            out.append(
                _event(
                    spec, obs, a, "budget.alert", (period, trigger), reason, limit,
                    {"trigger": trigger},
                )
            )  # fmt: skip
    return out


def decide(
    spec: BudgetSpec,
    state: BudgetState,
    obs: Observation,
    shape: Shape,
    *,
    simulated: bool = False,
) -> list[BudgetEvent]:
    """The events this budget calls for now (policy versions are set by `decide_all`)."""
    a = assess(spec, obs, shape)
    events = _alerts(spec, state, obs, a)
    if state.downgrade is None and a.drift is not None:
        n = state.downgrades + 1
        reason = f"{_head(spec, obs)} drifts at {obs.now:%H:%M}: {a.drift}"
        events.append(
            _event(
                spec, obs, a, "budget.alert", (_iso(obs.start), "drift", n), reason,
                spec.amount, {"trigger": "drift", "downgrade": spec.downgrade},
            )
        )  # fmt: skip
        events.append(
            _event(
                spec, obs, a, "budget.downgrade", (n,), f"{reason}; downgrade to {spec.downgrade}",
                spec.amount, {"trigger": "drift"}, from_chain="configured",
                to_chain=spec.downgrade,
            )
        )  # fmt: skip
    elif state.downgrade is not None:
        restore = _restore(spec, state, obs, shape, a)
        if restore is not None:
            events.append(restore)
    return [replace(e, simulated=simulated) for e in events]


def _restore(
    spec: BudgetSpec, state: BudgetState, obs: Observation, shape: Shape, a: Assessment
) -> BudgetEvent | None:
    """The restore, if spend stayed under pace for the cool-down AND lifting the downgrade
    would not be drift again at once: the recent rate scaled back up by the cut the downgrade
    made (rate window before it / after it) must be within pace and margin, and the forecast
    at that rate within the budget. Otherwise the downgrade stays (hysteresis)."""
    down = state.downgrade
    assert down is not None
    since = down.get("ts")
    held = (obs.now - since).total_seconds() if isinstance(since, datetime) else math.inf
    if (
        held < spec.cooldown_s
        or a.drift is not None
        or obs.downgrade_effect is None
        or not under_pace_for(spec, obs, shape, spec.cooldown_s)
    ):
        return None
    w = timedelta(seconds=a.window_s)
    before, after = (float(x) for x in obs.downgrade_effect)
    recent = float(obs.spend_between(obs.now - w, obs.now))
    cut = max(1.0, before / after) if after > 0 else None
    restored = recent * cut if cut is not None else before  # no spend since: the rate before
    total = shape.expected(obs.start, obs.end) or Shape().expected(obs.start, obs.end)
    pace_w = float(spec.amount) * shape.expected(obs.now - w, obs.now) / total
    in_window = shape.expected(obs.now - w, obs.now)
    level = restored / in_window if in_window > 0 else 0.0
    forecast = float(a.spent) + level * shape.expected(obs.now, obs.end)
    if restored > pace_w * (1 + spec.margin) or forecast > float(spec.amount):
        return None
    hours = a.window_s / 3600
    minutes = f"{a.window_s / 60:g} min"
    cut_text = f"cut the rate {cut:.1f}x" if cut is not None else "left no spend to measure"
    reason = (
        f"{_head(spec, obs)} back under pace at {obs.now:%H:%M}: spend stayed at or under pace "
        f"for the {spec.cooldown_s / 60:g} min cool-down (spent {usd(a.spent)}, pace "
        f"{usd(a.pace)}); the downgrade {cut_text} ({minutes} before/after it), so without it "
        f"the last {minutes} would have run at {usd(_money(restored / hours))}/h vs pace rate "
        f"{usd(a.pace_rate_per_h)}/h (margin {spec.margin:.0%}) and the day would end near "
        f"{usd(_money(forecast))}, within the budget {usd(spec.amount)}; lift the downgrade "
        f"({down.get('to_chain')})"
    )
    return _event(
        spec, obs, a, "budget.restore", (state.downgrades,), reason, spec.amount,
        {"downgrade_event_id": down.get("event_id"), "cooldown_s": spec.cooldown_s,
         "downgrade_cut": cut, "restored_rate_usd_per_h": str(_money(restored / hours)),
         "restored_forecast_usd": str(_money(forecast))},
        from_chain=down.get("to_chain"), to_chain=down.get("from_chain") or "configured",
    )  # fmt: skip


def event_order(e: BudgetEvent | Mapping[str, Any]) -> tuple[Any, ...]:
    """The log order of events: time, then kind (alert < downgrade < restore), budget, id."""
    row = e.row() if isinstance(e, BudgetEvent) else e
    return (row["ts"], row["kind"], row["budget"], row["event_id"])


def decide_all(
    specs: Iterable[BudgetSpec],
    state: ControllerState,
    observe: Mapping[str, tuple[Observation, Shape]],
    *,
    simulated: bool = False,
) -> tuple[list[BudgetEvent], ControllerState]:
    """One tick over every budget: the events in log order, with policy versions, and the
    state after them."""
    events = [
        e
        for spec in specs
        if spec.name in observe
        for e in decide(spec, state.of(spec.name), *observe[spec.name], simulated=simulated)
    ]
    events.sort(key=event_order)
    version, out = state.version, []
    for e in events:
        if e.kind in POLICY_KINDS:
            version += 1
            e = replace(e, policy_version=version)
        out.append(e)
    return out, fold_state(state, (e.row() for e in out))
