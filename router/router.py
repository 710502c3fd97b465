"""The Router: classify, choose, call (moving down the candidates on failure), trace, account."""

from __future__ import annotations

import itertools
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from opentelemetry import trace

from catalog import Catalog, ModelSpec, Usage, add_costs, cost
from router import telemetry
from router.classifier import CATEGORIES, classify, estimate_tokens
from router.config import RouterConfig
from router.errors import AllAttemptsFailed, ConfigError, ProviderError
from router.providers.base import Call, Completion, ProviderFor
from router.strategies import Cheapest, Choice

Clock = Callable[[], int]  # nanoseconds since the epoch
DEFAULT_MAX_TOKENS = 4096


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

    @property
    def usage(self) -> Usage:
        return self.completion.usage if self.completion else Usage()


@dataclass(frozen=True, slots=True)
class Decision:
    """What the router decided for one request and what it cost."""

    category: str
    complexity: str
    confidence: float
    classifier_reason: str
    strategy: str
    candidates: tuple[ModelSpec, ...]
    model: str | None
    reason: str
    attempts: int
    status: str
    policy_version: int
    baseline_model: str
    usage: Usage
    cost: Decimal | None
    baseline_cost: Decimal | None
    simulated: bool


@dataclass(frozen=True, slots=True)
class Result:
    """The answer to one routed request, with its accounting."""

    request_id: str
    text: str
    model: str
    finish_reason: str
    decision: Decision
    attempts: tuple[AttemptRecord, ...]

    @property
    def usage(self) -> Usage:
        """Usage of the final (answering) call."""
        return self.attempts[-1].usage

    @property
    def cost(self) -> Decimal | None:
        """What every attempt of this request cost together (None: something was unpriced)."""
        return self.decision.cost

    @property
    def baseline_cost(self) -> Decimal | None:
        return self.decision.baseline_cost

    @property
    def saving(self) -> Decimal | None:
        if self.cost is None or self.baseline_cost is None:
            return None
        return self.baseline_cost - self.cost


class Router:
    """Routes prompts to the cheapest capable model and traces every decision and call."""

    def __init__(
        self,
        catalog: Catalog,
        config: RouterConfig,
        provider_for: ProviderFor,
        *,
        tracer: trace.Tracer | None = None,
        clock: Clock = time.time_ns,
    ) -> None:
        self.catalog = catalog
        self.config = config
        self.provider_for = provider_for
        self.tracer = tracer or trace.get_tracer("mmoa.router")
        self.clock = clock
        self.baseline = self._check_models()
        self.strategy = Cheapest(catalog)
        self._seq = itertools.count()

    def _check_models(self) -> ModelSpec:
        where = self.config.source
        for policy in self.config.categories.values():
            for i, name in enumerate(policy.chain):
                if name not in self.catalog:
                    raise ConfigError(
                        where,
                        f"categories.{policy.name}.chain[{i}]",
                        f"unknown model {name!r}",
                        "use a name from `mmoa models`, or add it under `models:`",
                    )
        if self.config.baseline not in self.catalog:
            raise ConfigError(
                where,
                "baseline",
                f"unknown model {self.config.baseline!r}",
                "use a name from `mmoa models`, e.g. claude-sonnet-4-5",
            )
        return self.catalog.get(self.config.baseline)

    def complete(
        self,
        prompt: str,
        *,
        category: str | None = None,
        model: str | None = None,
        max_tokens: int | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Result:
        """Route one prompt; raises AllAttemptsFailed when no candidate answers."""
        if category is not None and category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r}; use one of {', '.join(CATEGORIES)}")
        seq = next(self._seq)
        start_ns = self.clock()
        cls = classify(prompt)
        category = category or cls.category
        policy = self.config.categories[category]
        n_in = estimate_tokens(prompt)
        out_cap = max_tokens or DEFAULT_MAX_TOKENS
        expected_out = min(out_cap, policy.expected_output_tokens)
        if model is not None:
            choice = Choice((self.catalog.get(model),), f"model {model} forced by the caller")
        else:
            choice = self.strategy.choose(policy, cls.complexity, n_in, expected_out)
        # a head of the prompt and its length identify it well enough to seed the simulator
        key = f"{seq}-{zlib.crc32(prompt[:4096].encode())}-{len(prompt)}"
        calls = [
            Call(m, prompt, out_cap, i, key, category, cls.complexity)
            for i, m in enumerate(choice.candidates[: self.config.max_attempts])
        ]
        records = self._attempt(calls, start_ns)
        final = records[-1]
        total = add_costs([r.cost for r in records])
        baseline_cost = cost(self.baseline.price, final.usage) if final.completion else None
        decision = Decision(
            category=category,
            complexity=cls.complexity,
            confidence=cls.confidence,
            classifier_reason=cls.reason,
            strategy=self.strategy.name,
            candidates=choice.candidates,
            model=final.model.name if final.completion else None,
            reason=choice.reason,
            attempts=len(records),
            status="ok" if final.completion else "error",
            policy_version=0,
            baseline_model=self.baseline.name,
            usage=sum((r.usage for r in records), Usage()),
            cost=total,
            baseline_cost=baseline_cost,
            simulated=all(r.simulated for r in records),
        )
        request_id = self._trace(decision, records, start_ns, tags or {})
        if final.completion is None:
            raise AllAttemptsFailed(
                request_id, [(r.model.name, r.error_message or "") for r in records]
            )
        return Result(
            request_id=request_id,
            text=final.completion.text,
            model=final.model.name,
            finish_reason=final.completion.finish_reason,
            decision=decision,
            attempts=tuple(records),
        )

    def _attempt(self, calls: list[Call], start_ns: int) -> list[AttemptRecord]:
        records: list[AttemptRecord] = []
        t = start_ns
        for call in calls:
            t = max(t, self.clock())
            provider = self.provider_for(call.model)
            simulated = provider.name == "simulated"
            try:
                done = provider.complete(call)
            except ProviderError as exc:
                end = t + exc.latency_ns
                records.append(
                    AttemptRecord(
                        call.model,
                        call.attempt,
                        t,
                        end,
                        None,
                        exc.error_type,
                        str(exc),
                        Decimal(0),
                        simulated,
                    )
                )
                t = end
                continue
            records.append(
                AttemptRecord(
                    call.model,
                    call.attempt,
                    t,
                    t + done.latency_ns,
                    done,
                    None,
                    None,
                    cost(call.model.price, done.usage),
                    done.simulated,
                )
            )
            break
        return records

    def _trace(
        self,
        decision: Decision,
        records: list[AttemptRecord],
        start_ns: int,
        tags: Mapping[str, str],
    ) -> str:
        """Emit the decision span and one child span per attempt; return the request id."""
        tag_attrs = telemetry.tag_attributes(tags)
        end_ns = records[-1].end_ns
        span = self.tracer.start_span(telemetry.ROUTE_SPAN, start_time=start_ns)
        request_id = format(span.get_span_context().span_id, "016x")
        span.set_attributes(telemetry.decision_attributes(decision, request_id, tag_attrs))
        ctx = trace.set_span_in_context(span)
        for r in records:
            child = self.tracer.start_span(
                f"chat {r.model.name}",
                context=ctx,
                kind=trace.SpanKind.CLIENT,
                start_time=r.start_ns,
                attributes=telemetry.attempt_attributes(r, request_id, tag_attrs),
            )
            if r.completion is None:
                child.set_status(trace.Status(trace.StatusCode.ERROR, r.error_message))
            child.end(end_time=r.end_ns)
        if decision.status != "ok":
            span.set_status(trace.Status(trace.StatusCode.ERROR, "all attempts failed"))
        span.end(end_time=end_ns)
        return request_id
