"""What the budget controller asks of the router, through two small interfaces.

- `PolicySource.current()` returns the active `Policy`: the downgrades in force, as a fold of the
  `budget.downgrade` / `budget.restore` events. The composition root refreshes it from the
  event log incrementally (no full rescan per request); the router records `Policy.version` on
  each decision span as `mmoa.policy.version`.
- `Ledger` holds hard-cap reservations: before each attempt the router reserves that attempt's
  worst-case cost against every budget in scope, and settles it with the actual cost after.
  Embedded, the ledger lives in the process; in service mode the collector is the single
  authority and the router talks to it over HTTP.

The router imports nothing of collector/analytics: both interfaces are plain data + Protocols.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from catalog.budgets import Scope
from router.errors import RouterError

# What a downgrade means for its scope: the next cheaper tier, a named cheaper chain
# ("chain:<name>", a chain of `strategies.fallback.chains`), or the cheapest capable model.
DOWNGRADE_MODES = ("next_tier", "chain", "cheapest")


@dataclass(frozen=True, slots=True)
class Downgrade:
    """One downgrade in force: requests in `scope` use a cheaper choice."""

    budget: str
    scope: Scope
    mode: str  # one of DOWNGRADE_MODES
    chain: str | None = None  # the named chain, when mode == "chain"
    event_id: str = ""  # the budget.downgrade event that put it in force


@dataclass(frozen=True, slots=True)
class Policy:
    """The downgrades in force; `version` counts policy changes (0: none ever)."""

    version: int = 0
    downgrades: tuple[Downgrade, ...] = ()

    def downgrade_for(
        self, category: str, tags: Mapping[str, str], provider: str | None = None
    ) -> Downgrade | None:
        """The first downgrade whose scope covers this request, if any."""
        for d in self.downgrades:
            if d.scope.matches(category, tags, provider):
                return d
        return None


class PolicySource(Protocol):
    def current(self) -> Policy: ...


@dataclass(frozen=True, slots=True)
class StaticPolicy:
    """A policy that never changes (the default: no downgrades)."""

    policy: Policy = Policy()

    def current(self) -> Policy:
        return self.policy


@dataclass(frozen=True, slots=True)
class Hold:
    """A reservation the ledger granted; settle it exactly once."""

    id: str
    amount: Decimal


class HardCapExceeded(RouterError):
    """An attempt's worst case would break a budget's hard cap, even on the cheapest model."""

    def __init__(self, budget: str, message: str) -> None:
        self.budget = budget
        super().__init__(message)


class Ledger(Protocol):
    def reserve(
        self,
        request_id: str,
        category: str,
        tags: Mapping[str, str],
        provider: str,
        amount: Decimal,
    ) -> Hold | str:
        """Reserve `amount` against every budget in scope, atomically: all or none.

        Returns the Hold, or the name of the budget whose hard cap it would break."""
        ...

    def settle(self, hold: Hold, actual: Decimal | None) -> None:
        """Replace the reservation by the actual cost (None: unpriced, keep the worst case)."""
        ...


def downgrade_of(to_chain: str) -> tuple[str, str | None]:
    """(mode, chain) of a downgrade target as written in budgets and events:
    `next_tier`, `cheapest` or `chain:<name>`."""
    if to_chain.startswith("chain:"):
        return "chain", to_chain.removeprefix("chain:")
    if to_chain in DOWNGRADE_MODES:
        return to_chain, None
    raise ValueError(f"unknown downgrade {to_chain!r}: use next_tier, cheapest or chain:<name>")


def fold_policy(events: Iterable[Mapping[str, Any]], start: Policy = Policy()) -> Policy:
    """The policy in force after `events` (budget_events rows as dicts, in ts/event order).

    Pure: the same events give the same Policy. A `budget.downgrade` puts its budget's
    downgrade in force (replacing an earlier one of the same budget), a `budget.restore`
    lifts it; every other kind is ignored. `version` counts the changes, so a restore of a
    budget with no downgrade in force changes nothing. Pass `start` to fold incrementally."""
    version, active = start.version, {d.budget: d for d in start.downgrades}
    for e in events:
        kind, budget = e.get("kind"), str(e.get("budget") or "")
        if kind == "budget.downgrade":
            mode, chain = downgrade_of(str(e.get("to_chain") or "next_tier"))
            scope = Scope.parse(str(e.get("scope") or "global"))
            new = Downgrade(budget, scope, mode, chain, str(e.get("event_id") or ""))
            if active.get(budget) == new:
                continue
            active.pop(budget, None)  # re-inserted last: the newest downgrade is consulted last
            active[budget] = new
        elif kind == "budget.restore" and budget in active:
            del active[budget]
        else:
            continue
        version += 1
    return Policy(version, tuple(active.values()))
