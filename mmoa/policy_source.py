"""The router's PolicySource over the event log: the active downgrades, folded incrementally.

`LogPolicySource.current()` answers from memory; at most every `every_s` seconds of the injected
clock it reads the downgrade/restore events stored since the last one it saw (the log is
append-only, so it remembers its row position) and folds them onto the policy it holds
(router.policy.fold_policy). No request pays for a rescan of the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import duckdb

from analytics.budget_rules import POLICY_KINDS
from analytics.budgets import read_decisions
from analytics.errors import AnalyticsError
from analytics.reader import Source
from router.policy import Policy, fold_policy

log = logging.getLogger("mmoa.budget")


class LogPolicySource:
    """A router.policy.PolicySource fed by `budget_events` (a store cursor or a collector)."""

    def __init__(
        self,
        source: Source,
        *,
        every_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.every_s = every_s
        self.clock = clock
        self.reads = 0  # how many times the log was read (for tests and benchmarks)
        self._policy = Policy()
        self._seen = -1
        self._next = float("-inf")
        self._lock = threading.Lock()

    def current(self) -> Policy:
        """The policy in force; refreshed from the log when `every_s` has passed."""
        if self.clock() >= self._next:
            with self._lock:
                if self.clock() >= self._next:
                    self._refresh()
        return self._policy

    def refresh(self) -> Policy:
        """Read the new events now, whatever the clock says."""
        with self._lock:
            self._refresh()
        return self._policy

    def _refresh(self) -> None:
        self._next = self.clock() + self.every_s
        try:
            events, self._seen = read_decisions(self.source, self._seen)
        except (AnalyticsError, duckdb.Error) as exc:
            # the router keeps going on the policy it has; the next refresh tries again
            log.warning(
                "budget policy not refreshed (%s); keeping version %d", exc, self._policy.version
            )
            return
        self.reads += 1
        self._policy = fold_policy((e for e in events if e["kind"] in POLICY_KINDS), self._policy)
        self._next = self.clock() + self.every_s
