"""Calling one model for a request: rate limits, retries, the circuit breaker, the cost cap.

Every call made, failed or not, becomes an AttemptRecord (and later a span). Strategies
(router/strategies.py) decide which models to call; this module decides how.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from catalog import ModelSpec, Usage, cost, images_cost
from router.config import RouterConfig
from router.errors import ProviderError
from router.faults import NS, CircuitBreaker, RateLimiter
from router.policy import Hold, Ledger
from router.providers.base import Call, Completion, Provider, ProviderFor

Invoke = Callable[[Provider, Call], Completion]  # how one attempt calls its provider
CHAT_TEMPLATE_TOKENS = 16  # role markers and the like, added by every vendor's chat format


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One call to one model, successful (completion) or not (error_type)."""

    model: ModelSpec
    attempt: int
    start_ns: int
    end_ns: int
    completion: Completion | None
    error_type: str | None
    error_message: str | None
    cost: Decimal | None
    simulated: bool
    confidence: float | None = None  # the judge's view of the answer, where one was asked
    role: str = "answer"  # answer | verifier | synthesizer

    @property
    def usage(self) -> Usage:
        return self.completion.usage if self.completion else Usage()


def worst_case_cost(
    model: ModelSpec, prompt_bytes: int, max_tokens: int, images: int
) -> Decimal | None:
    """An upper bound on what one call can cost, before it is made.

    Every token is at least one byte, so the prompt's UTF-8 size bounds its input tokens; the
    most expensive input class (cache writes cost more than plain input) prices all of them;
    max_tokens bounds the output, reasoning included.
    """
    if model.kind == "image":
        return images_cost(model.per_image, images)
    p = model.price
    if p is None:
        return None
    n_in = prompt_bytes + CHAT_TEMPLATE_TOKENS
    in_rates = [r.at(n_in) for r in (p.input, p.cache_write, p.cache_read) if r is not None]
    out_rates = [r.at(n_in) for r in (p.output, p.reasoning) if r is not None]
    return (max(in_rates) * n_in + max(out_rates) * max_tokens) / Decimal(1_000_000)


@dataclass
class Budget:
    """One request's limits: a deadline, and a cost cap that attempts reserve against."""

    deadline_ns: int
    max_cost: Decimal | None = None
    committed: Decimal = Decimal(0)  # worst cases reserved plus actual costs settled
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reserve(self, worst: Decimal | None) -> bool:
        """Reserve `worst` against the cap; False (nothing reserved) when it would not fit."""
        if self.max_cost is None:
            return True
        with self._lock:
            if worst is None or self.committed + worst > self.max_cost:
                return False
            self.committed += worst
            return True

    def settle(self, reserved: Decimal | None, actual: Decimal | None) -> None:
        """Replace a reservation by what the call really cost."""
        if self.max_cost is None or reserved is None:
            return
        with self._lock:
            self.committed += (actual if actual is not None else reserved) - reserved


@dataclass
class Request:
    """What every attempt of one request shares."""

    template: Call
    invoke: Invoke
    budget: Budget
    tokens: int  # estimated prompt + output tokens, for rate limits
    prompt_bytes: int
    images: int = 1
    records: list[AttemptRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    # part of a streamed answer already reached the caller: no other model may answer now
    stopped: bool = False
    request_id: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    # the capable model with the smallest worst case: where a hard cap sends an attempt
    cheapest: Callable[[int], ModelSpec | None] | None = None
    capped: str | None = None  # the budget whose hard cap refused the last attempt asked
    # (model, max_tokens) -> the budget that refused it: a request asks the ledger once
    refused: dict[tuple[str, int], str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, r: AttemptRecord) -> None:
        with self._lock:
            self.records.append(r)

    def skip(self, why: str) -> None:
        with self._lock:
            if why not in self.skipped:
                self.skipped.append(why)

    def next_attempt(self) -> int:
        with self._lock:
            return len(self.records)

    def note(self, what: str) -> None:
        with self._lock:
            if what not in self.notes:
                self.notes.append(what)


def call_cost(model: ModelSpec, done: Completion) -> Decimal | None:
    """What a finished call cost: per token, or per image for image models."""
    if model.kind == "image":
        return images_cost(model.per_image, len(done.images))
    return cost(model.price, done.usage)


class Attempter:
    """Calls one model with the router's fault policy and records every attempt."""

    def __init__(
        self,
        config: RouterConfig,
        provider_for: ProviderFor,
        clock: Callable[[], int],
        sleep: Callable[[float], None],
        seed: int,
        ledger: Ledger | None = None,
    ) -> None:
        self.config = config
        self.ledger = ledger
        self.provider_for = provider_for
        self.clock = clock
        self.sleep = sleep
        self.breaker = CircuitBreaker(config.breaker)
        self.limiter = RateLimiter(config.rate_limits)
        self._rng = random.Random(seed)  # backoff jitter; seeded so simulated runs repeat

    def usable(self, req: Request, model: ModelSpec, t: int) -> bool:
        """Whether `model` may be called now; says why not in req.skipped."""
        if self.provider_for(model) is None:
            req.skip(f"{model.name} (no provider)")
            return False
        if not self.breaker.allows(model.name, max(t, self.clock())):
            req.skip(f"{model.name} (circuit open)")
            return False
        return True

    def try_model(
        self,
        req: Request,
        model: ModelSpec,
        t: int,
        role: str = "answer",
        call: Call | None = None,
    ) -> tuple[int, Completion | None, ModelSpec]:
        """One model with its retries; (time after it, the completion or None, the model
        called: another, cheaper one when a hard cap sent the attempt there)."""
        if self.provider_for(model) is None:
            req.skip(f"{model.name} (no provider)")
            return t, None, model
        retry = self.config.retry
        for n in range(retry.max_retries + 1):
            t = max(t, self.clock())
            wait = self.limiter.reserve(model.name, req.tokens, t)
            if wait:
                t = self._pause(t, wait)  # queue for the rate limit rather than fail
            remaining = (req.budget.deadline_ns - t) / NS
            if remaining <= 0:
                req.skip(f"{model.name} (deadline reached)")
                return t, None, model
            base = call or req.template
            held = self._reserve(req, model, base.max_tokens)
            if held is None:
                return t, None, model
            model, worst, hold = held
            provider = self.provider_for(model)
            assert provider is not None  # _reserve only substitutes reachable models
            attempt = replace(
                base,
                model=model,
                attempt=req.next_attempt(),
                retry=n,
                timeout_s=min(self.config.call_timeout_s, remaining),
            )
            try:
                t, done, again = self._call(req, provider, attempt, t, worst, role)
            except BaseException:
                self._settle(hold, None)  # unknown outcome: the worst case stays spent
                raise
            self._settle(hold, call_cost(model, done) if done is not None else Decimal(0))
            if done is not None or not again:
                return t, done, model
            delay = retry.delay_s(n, again[1], self._rng)
            if n == retry.max_retries or t + int(delay * NS) >= req.budget.deadline_ns:
                return t, None, model
            t = self._pause(t, delay)
        return t, None, model

    def _reserve(
        self, req: Request, model: ModelSpec, max_tokens: int, last_resort: bool = False
    ) -> tuple[ModelSpec, Decimal | None, Hold | None] | None:
        """Reserve one attempt's worst case: against the request's max_cost, then against
        every hard-capped budget in scope (the ledger). A budget that refuses sends the
        attempt to the cheapest capable model, once; None (said in req.skipped) if nothing fits.
        """
        worst = worst_case_cost(model, req.prompt_bytes, max_tokens, req.images)
        got = req.refused.get((model.name, max_tokens))  # asked before: do not ask again
        if got is None:
            if not req.budget.reserve(worst):
                cap = _cap(req.budget.max_cost)
                req.skip(
                    f"{model.name} (max_cost ${cap}: worst case ${_fmt(worst)} would exceed it)"
                )
                return None
            if self.ledger is None:
                return model, worst, None
            if worst is None:
                req.skip(f"{model.name} (unpriced: its worst case cannot be held under a cap)")
                return None
            held = self.ledger.reserve(
                req.request_id, req.template.category, req.tags, model.otel_provider, worst
            )
            if isinstance(held, Hold):
                req.capped = None  # the cap let this attempt through: not what stopped the request
                return model, worst, held
            req.budget.settle(worst, Decimal(0))
            got = req.refused[(model.name, max_tokens)] = held
        cheaper = None if last_resort or req.cheapest is None else req.cheapest(max_tokens)
        if (
            cheaper is None
            or cheaper.name == model.name
            or not self.breaker.allows(cheaper.name, self.clock())
        ):
            req.skip(f"{model.name} (hard cap of budget {got}: worst case ${_fmt(worst)})")
            req.capped = got
            return None
        req.note(f"hard cap of budget {got}: {model.name} downgraded to {cheaper.name}")
        return self._reserve(req, cheaper, max_tokens, last_resort=True)

    def _settle(self, hold: Hold | None, actual: Decimal | None) -> None:
        if hold is not None and self.ledger is not None:
            self.ledger.settle(hold, actual)

    def _call(
        self,
        req: Request,
        provider: Provider,
        call: Call,
        t: int,
        worst: Decimal | None,
        role: str,
    ) -> tuple[int, Completion | None, tuple[bool, float | None] | None]:
        """One call; (time after, completion, (retry?, retry-after) or None if final)."""
        simulated = provider.name == "simulated"
        model = call.model
        try:
            done = req.invoke(provider, call)
        except ProviderError as exc:
            end = t + exc.latency_ns
            req.stopped = req.stopped or exc.after_output
            req.budget.settle(worst, Decimal(0))
            req.record(
                AttemptRecord(
                    model,
                    call.attempt,
                    t,
                    end,
                    None,
                    exc.error_type,
                    str(exc),
                    Decimal(0),
                    simulated,
                    role=role,
                )
            )
            self.breaker.record(model.name, False, end)
            retryable = (
                exc.retryable and not exc.after_output and self.breaker.allows(model.name, end)
            )
            return end, None, ((True, exc.retry_after_s) if retryable else None)
        end = t + done.latency_ns
        spent = call_cost(model, done)
        req.budget.settle(worst, spent)
        req.record(
            AttemptRecord(
                model, call.attempt, t, end, done, None, None, spent, done.simulated, role=role
            )
        )
        self.breaker.record(model.name, True, end)
        return end, done, None

    def _pause(self, t: int, seconds: float) -> int:
        """Wait `seconds` (really, or on the virtual clock) and return the time after it."""
        self.sleep(seconds)
        return max(t + int(seconds * NS), self.clock())


def _fmt(value: Decimal | None) -> str:
    return "unpriced" if value is None else format(value.normalize(), "f")


def _cap(value: Decimal | None) -> str:
    return "none" if value is None else format(value, "f")
