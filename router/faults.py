"""Fault policy, owned by the router (the SDKs' own retries are off): retries with backoff and
jitter, a circuit breaker per model deployment, and per-model rate limits that queue.

All three read time from the router's clock (nanoseconds), so tests and the simulated demo run
on virtual time without sleeping.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often to retry one model, and how long to wait between tries."""

    max_retries: int = 2
    backoff_s: float = 0.5
    max_backoff_s: float = 20.0
    jitter: float = 0.25  # +/- this fraction of the backoff, so clients do not retry in step

    def delay_s(self, retry: int, retry_after_s: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number `retry` (0-based); the server's word wins."""
        if retry_after_s is not None:
            return max(0.0, retry_after_s)
        base = min(self.max_backoff_s, self.backoff_s * (1 << retry))
        return max(0.0, base * (1 + rng.uniform(-self.jitter, self.jitter)))


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """Open a model's circuit after `failures` failures within `window_s`, for `cooldown_s`."""

    failures: int = 5
    window_s: float = 60.0
    cooldown_s: float = 30.0


@dataclass
class _Circuit:
    failures: deque[int] = field(default_factory=deque)
    open_until_ns: int = 0


class CircuitBreaker:
    """Per-deployment circuit: while open, the router skips the model and moves on at once."""

    def __init__(self, policy: BreakerPolicy) -> None:
        self.policy = policy
        self._circuits: dict[str, _Circuit] = {}
        self._lock = threading.Lock()

    def allows(self, key: str, now_ns: int) -> bool:
        """False while the circuit is open; after the cool-down one trial call goes through."""
        circuit = self._circuits.get(key)
        return circuit is None or now_ns >= circuit.open_until_ns

    def record(self, key: str, ok: bool, now_ns: int) -> None:
        with self._lock:
            circuit = self._circuits.setdefault(key, _Circuit())
            if ok:
                circuit.failures.clear()
                return
            window_start = now_ns - int(self.policy.window_s * NS)
            circuit.failures.append(now_ns)
            while circuit.failures and circuit.failures[0] < window_start:
                circuit.failures.popleft()
            if len(circuit.failures) >= self.policy.failures:
                circuit.open_until_ns = now_ns + int(self.policy.cooldown_s * NS)
                circuit.failures.clear()


@dataclass(frozen=True, slots=True)
class Limit:
    """Requests and tokens per minute for one model (0 = unlimited)."""

    rpm: int = 0
    tpm: int = 0


class RateLimiter:
    """Sliding one-minute windows per model; `reserve` says how long to wait, never refuses."""

    def __init__(self, limits: Mapping[str, Limit]) -> None:
        self.limits = dict(limits)
        self._log: dict[str, deque[tuple[int, int]]] = {}
        self._lock = threading.Lock()

    def reserve(self, model: str, tokens: int, now_ns: int) -> float:
        """Reserve one request of `tokens` tokens; returns the seconds to wait before sending."""
        limit = self.limits.get(model)
        if limit is None or (not limit.rpm and not limit.tpm):
            return 0.0
        with self._lock:
            log = self._log.setdefault(model, deque())
            start = now_ns
            while not self._fits(log, limit, tokens, start):
                # wait until the oldest reservation leaves the window
                start = log[0][0] + 60 * NS
                self._expire(log, start)
            log.append((start, tokens))
            return (start - now_ns) / NS

    @staticmethod
    def _expire(log: deque[tuple[int, int]], now_ns: int) -> None:
        while log and log[0][0] <= now_ns - 60 * NS:
            log.popleft()

    def _fits(self, log: deque[tuple[int, int]], limit: Limit, tokens: int, at_ns: int) -> bool:
        self._expire(log, at_ns)
        if not log:
            return True
        requests_ok = not limit.rpm or len(log) < limit.rpm
        tokens_ok = not limit.tpm or sum(t for _, t in log) + tokens <= limit.tpm
        return requests_ok and tokens_ok
