"""The Router: classify, choose, call (moving down the candidates on failure), trace, account."""

from __future__ import annotations

import itertools
import queue
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from opentelemetry import trace

from catalog import Catalog, ModelSpec, Usage, add_costs, cost, images_cost
from router import telemetry
from router.classifier import IMAGE_CATEGORY, classify, estimate_tokens
from router.config import RouterConfig
from router.errors import (
    AllAttemptsFailed,
    BadRequest,
    ConfigError,
    MalformedResponse,
    ProviderError,
)
from router.faults import NS, CircuitBreaker, RateLimiter
from router.providers.base import Call, Completion, Provider, ProviderFor
from router.strategies import Cheapest, Choice

Clock = Callable[[], int]  # nanoseconds since the epoch
Invoke = Callable[[Provider, Call], Completion]  # how one attempt calls its provider


def _call_complete(provider: Provider, call: Call) -> Completion:
    return provider.complete(call)


def _images_invoke(count: int) -> Invoke:
    """Attempts against image models: `count` images, returned as a Completion with images."""

    def invoke(provider: Provider, call: Call) -> Completion:
        generate = getattr(provider, "generate_images", None)
        if generate is None:
            raise BadRequest("unsupported", f"{provider.name} cannot generate images")
        made = generate(call.model, call.prompt, count, call.timeout_s)
        return Completion(
            text=f"{len(made.images)} image(s) from {made.response_model}",
            response_model=made.response_model,
            response_id="",
            finish_reason="stop",
            usage=Usage(),
            latency_ns=made.latency_ns,
            server_address=made.server_address,
            server_port=made.server_port,
            simulated=provider.name == "simulated",
            images=made.images,
        )

    return invoke


def _call_cost(model: ModelSpec, done: Completion) -> Decimal | None:
    if model.kind == "image":
        return images_cost(model.per_image, len(done.images))
    return cost(model.price, done.usage)


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
    def images(self) -> tuple[bytes, ...]:
        """Generated images, for an image_generation request."""
        done = self.attempts[-1].completion
        return done.images if done else ()

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
        sleep: Callable[[float], None] = time.sleep,
        seed: int = 0,
    ) -> None:
        self.catalog = catalog
        self.config = config
        self.provider_for = provider_for
        self.tracer = tracer or trace.get_tracer("mmoa.router")
        self.clock = clock
        self.baseline = self._check_models()
        self.strategy = Cheapest(catalog)
        self._seq = itertools.count()
        self.sleep = sleep
        self.breaker = CircuitBreaker(config.breaker)
        self.limiter = RateLimiter(config.rate_limits)
        self._rng = random.Random(seed)  # backoff jitter; seeded so simulated runs repeat

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
                "use a name from `mmoa models`, e.g. claude-sonnet-4-6",
            )
        self.image_baseline = self._check_images(where)
        return self.catalog.get(self.config.baseline)

    def _check_images(self, where: str) -> ModelSpec | None:
        """The image baseline, and that the image chain holds image models (when configured)."""
        policy = self.config.categories.get(IMAGE_CATEGORY)
        name = self.config.image_baseline
        if policy is None:
            return None  # no image category configured: image prompts are routed as text
        if name not in self.catalog or self.catalog.get(name).kind != "image":
            raise ConfigError(
                where,
                "image_baseline",
                f"{name!r} is not an image model",
                "use an image model from `mmoa models`, e.g. gpt-image-1",
            )
        for i, model in enumerate(policy.chain):
            if self.catalog.get(model).kind != "image":
                raise ConfigError(
                    where,
                    f"categories.{IMAGE_CATEGORY}.chain[{i}]",
                    f"{model!r} is not an image model",
                    "list image models only, e.g. gpt-image-1-mini",
                )
        return self.catalog.get(name)

    def complete(
        self,
        prompt: str,
        *,
        category: str | None = None,
        model: str | None = None,
        max_tokens: int | None = None,
        tags: Mapping[str, str] | None = None,
        images: int = 1,
    ) -> Result:
        """Route one prompt; raises AllAttemptsFailed when no candidate answers.

        A request for pictures (category image_generation, by the classifier or the caller)
        goes to image models and returns `images` of them in Result.images.
        """
        return self._route(prompt, category, model, max_tokens, tags, _call_complete, images)

    def stream(
        self,
        prompt: str,
        *,
        category: str | None = None,
        model: str | None = None,
        max_tokens: int | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Stream:
        """Route one prompt and stream the answer: iterate for text pieces, then read `.result`.

        Fallback and retries apply until the first piece arrives; after that a failure ends
        the stream with the error (text already shown cannot be taken back).
        """
        return Stream(self, prompt, category, model, max_tokens, tags)

    def _route(
        self,
        prompt: str,
        category: str | None,
        model: str | None,
        max_tokens: int | None,
        tags: Mapping[str, str] | None,
        invoke: Invoke,
        images: int = 1,
    ) -> Result:
        if category is not None and category not in self.config.categories:
            known = ", ".join(self.config.categories)
            raise ValueError(f"unknown category {category!r}; use one of {known}")
        seq = next(self._seq)
        start_ns = self.clock()
        cls = classify(prompt)
        category = category or cls.category
        if category not in self.config.categories:
            category = "creative_content"  # an image request, but no image models configured
        policy = self.config.categories[category]
        n_in = estimate_tokens(prompt)
        out_cap = max_tokens or DEFAULT_MAX_TOKENS
        expected_out = min(out_cap, policy.expected_output_tokens)
        if model is not None:
            choice = Choice((self.catalog.get(model),), f"model {model} forced by the caller")
        elif category == IMAGE_CATEGORY:
            chain = tuple(self.catalog.get(name) for name in policy.chain)
            choice = Choice(chain, f"{IMAGE_CATEGORY} chain: primary {chain[0].name}")
        else:
            choice = self.strategy.choose(policy, cls.complexity, n_in, expected_out)
        if choice.candidates[0].kind == "image":
            invoke = _images_invoke(images)
        # a head of the prompt and its length identify it well enough to seed the simulator
        key = f"{seq}-{zlib.crc32(prompt[:4096].encode())}-{len(prompt)}"
        template = Call(choice.candidates[0], prompt, out_cap, 0, key, category, cls.complexity)
        records, skipped = self._attempt(
            choice.candidates, template, start_ns, n_in + out_cap, invoke
        )
        if skipped:
            choice = Choice(choice.candidates, f"{choice.reason}; skipped {', '.join(skipped)}")
        final = records[-1] if records else None
        answered = final is not None and final.completion is not None
        total = add_costs([r.cost for r in records])
        baseline_cost = self._baseline_cost(final) if final and answered else None
        decision = Decision(
            category=category,
            complexity=cls.complexity,
            confidence=cls.confidence,
            classifier_reason=cls.reason,
            strategy=self.strategy.name,
            candidates=choice.candidates,
            model=final.model.name if final and answered else None,
            reason=choice.reason,
            attempts=len(records),
            status="ok" if answered else "error",
            policy_version=0,
            baseline_model=(
                self.image_baseline
                if choice.candidates[0].kind == "image" and self.image_baseline
                else self.baseline
            ).name,
            usage=sum((r.usage for r in records), Usage()),
            cost=total,
            baseline_cost=baseline_cost,
            simulated=all(r.simulated for r in records),
        )
        request_id = self._trace(decision, records, start_ns, tags or {})
        if final is None or final.completion is None:
            tried = [(r.model.name, r.error_message or "") for r in records]
            raise AllAttemptsFailed(request_id, tried + [(s, "skipped") for s in skipped])
        return Result(
            request_id=request_id,
            text=final.completion.text,
            model=final.model.name,
            finish_reason=final.completion.finish_reason,
            decision=decision,
            attempts=tuple(records),
        )

    def _attempt(
        self,
        candidates: tuple[ModelSpec, ...],
        template: Call,
        start_ns: int,
        tokens: int,
        invoke: Invoke,
    ) -> tuple[list[AttemptRecord], list[str]]:
        """Call candidates in order, retrying each per the policy; stop at the first answer."""
        records: list[AttemptRecord] = []
        skipped: list[str] = []
        deadline = start_ns + int(self.config.deadline_s * NS)
        t = start_ns
        models_tried = 0
        for model in candidates:
            if models_tried >= self.config.max_attempts or t >= deadline:
                break
            provider = self.provider_for(model)
            if provider is None:
                skipped.append(f"{model.name} (no provider)")
                continue
            if not self.breaker.allows(model.name, max(t, self.clock())):
                skipped.append(f"{model.name} (circuit open)")
                continue
            models_tried += 1
            t, done = self._try_model(
                provider, model, template, records, (t, deadline, tokens), invoke
            )
            if done:
                break
        return records, skipped

    def _try_model(
        self,
        provider: Provider,
        model: ModelSpec,
        template: Call,
        records: list[AttemptRecord],
        budget: tuple[int, int, int],
        invoke: Invoke,
    ) -> tuple[int, bool]:
        """One model with its retries; returns (time after it, whether it answered)."""
        t, deadline, tokens = budget
        retry = self.config.retry
        simulated = provider.name == "simulated"
        for n in range(retry.max_retries + 1):
            t = max(t, self.clock())
            wait = self.limiter.reserve(model.name, tokens, t)
            if wait:
                t = self._pause(t, wait)  # queue for the rate limit rather than fail
            remaining = (deadline - t) / NS
            if remaining <= 0:
                return t, False
            call = replace(
                template,
                model=model,
                attempt=len(records),
                timeout_s=min(self.config.call_timeout_s, remaining),
            )
            try:
                done = invoke(provider, call)
            except ProviderError as exc:
                end = t + exc.latency_ns
                records.append(
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
                    )
                )
                self.breaker.record(model.name, False, end)
                t = end
                if exc.after_output:
                    return t, True  # part of the answer was streamed: no retry, no fallback
                if not exc.retryable or n == retry.max_retries:
                    return t, False
                if not self.breaker.allows(model.name, t):
                    return t, False
                delay = retry.delay_s(n, exc.retry_after_s, self._rng)
                if t + int(delay * NS) >= deadline:
                    return t, False
                t = self._pause(t, delay)
                continue
            end = t + done.latency_ns
            records.append(
                AttemptRecord(
                    model,
                    call.attempt,
                    t,
                    end,
                    done,
                    None,
                    None,
                    _call_cost(model, done),
                    done.simulated,
                )
            )
            self.breaker.record(model.name, True, end)
            return end, True
        return t, False

    def _baseline_cost(self, final: AttemptRecord) -> Decimal | None:
        """What the answer would have cost on the single-model setup."""
        if final.model.kind == "image" and final.completion is not None:
            per_image = self.image_baseline.per_image if self.image_baseline else None
            return images_cost(per_image, len(final.completion.images))
        return cost(self.baseline.price, final.usage)

    def _pause(self, t: int, seconds: float) -> int:
        """Wait `seconds` (really, or on the virtual clock) and return the time after it."""
        self.sleep(seconds)
        return max(t + int(seconds * NS), self.clock())

    def _trace(
        self,
        decision: Decision,
        records: list[AttemptRecord],
        start_ns: int,
        tags: Mapping[str, str],
    ) -> str:
        """Emit the decision span and one child span per attempt; return the request id."""
        tag_attrs = telemetry.tag_attributes(tags)
        end_ns = records[-1].end_ns if records else start_ns
        span = self.tracer.start_span(telemetry.ROUTE_SPAN, start_time=start_ns)
        request_id = format(span.get_span_context().span_id, "016x")
        span.set_attributes(telemetry.decision_attributes(decision, request_id, tag_attrs))
        ctx = trace.set_span_in_context(span)
        for r in records:
            child = self.tracer.start_span(
                f"{telemetry.operation(r.model)} {r.model.name}",
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


_DONE = object()


class Stream:
    """Streamed answer: iterate for text pieces as they arrive; `.result` once finished."""

    def __init__(
        self,
        router: Router,
        prompt: str,
        category: str | None,
        model: str | None,
        max_tokens: int | None,
        tags: Mapping[str, str] | None,
    ) -> None:
        self._pieces: queue.Queue[object] = queue.Queue()
        self._result: Result | None = None
        self._error: BaseException | None = None
        self._args = (prompt, category, model, max_tokens, tags)
        self._router = router
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _invoke(self, provider: Provider, call: Call) -> Completion:
        stream = getattr(provider, "stream", None)
        if stream is None:  # a provider without streaming answers in one piece
            done = provider.complete(call)
            self._pieces.put(done.text)
            return done
        emitted = False
        try:
            for piece in stream(call):
                if isinstance(piece, Completion):
                    return piece
                emitted = True
                self._pieces.put(piece.text)
        except ProviderError as exc:
            exc.after_output = emitted
            raise
        raise MalformedResponse("malformed", f"{call.model.name}: stream ended without usage")

    def _run(self) -> None:
        try:
            self._result = self._router._route(*self._args, self._invoke)
        except BaseException as exc:  # handed to the reader's thread
            self._error = exc
        finally:
            self._pieces.put(_DONE)

    def __iter__(self) -> Iterator[str]:
        while (piece := self._pieces.get()) is not _DONE:
            yield str(piece)
        self._thread.join()
        if self._error is not None:
            raise self._error

    @property
    def result(self) -> Result:
        """The Result, once the stream has been read to the end."""
        if self._result is None:
            raise RuntimeError("read the stream to its end first (or it failed)")
        return self._result
