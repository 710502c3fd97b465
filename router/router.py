"""The Router: classify, choose, run a strategy over the candidates, trace, account."""

from __future__ import annotations

import asyncio
import itertools
import os
import queue
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from opentelemetry import trace

from catalog import Catalog, ModelSpec, Usage, add_costs, cost, images_cost
from router import telemetry
from router.attempts import Attempter, AttemptRecord, Budget, Invoke, Request
from router.cache import CacheKey, ResponseCache, make_key
from router.classifier import IMAGE_CATEGORY, Classification, classify, estimate_tokens
from router.config import STRATEGIES, RouterConfig
from router.downgrade import Downgrader
from router.errors import (
    AllAttemptsFailed,
    BadRequest,
    ConfigError,
    MalformedResponse,
    ProviderError,
)
from router.faults import NS
from router.policy import HardCapExceeded, Ledger, Policy, PolicySource, StaticPolicy
from router.providers.base import Call, Completion, Provider, ProviderFor
from router.roles import Role, check_overrides, models_for_role, overrides_from_env, parse_roles
from router.runnables import Cascade, Chain, Ensemble, Outcome, Runnable, Single, Verify
from router.strategies import Cheapest, Choice, fits

Clock = Callable[[], int]  # nanoseconds since the epoch
DEFAULT_MAX_TOKENS = 4096
DEFAULT_VERIFIER = "gpt-4o-mini"

__all__ = ["AttemptRecord", "Decision", "Options", "Result", "Router", "Stream"]


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


@dataclass(frozen=True, slots=True)
class Options:
    """Per-request options of Router.complete (all optional)."""

    strategy: str | None = None
    category: str | None = None
    role: str | None = None
    model: str | None = None
    max_tokens: int | None = None
    tags: Mapping[str, str] | None = None
    images: int = 1
    max_cost: Decimal | None = None
    max_latency_s: float | None = None


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
    escalations: int = 0
    agreement: float | None = None
    role: str | None = None
    cache_hit: bool = False
    max_cost: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """The answer to one routed request, with its accounting."""

    request_id: str
    text: str
    model: str
    finish_reason: str
    decision: Decision
    attempts: tuple[AttemptRecord, ...]
    final: Completion | None = None

    @property
    def usage(self) -> Usage:
        """Usage of the final (answering) call."""
        return self.final.usage if self.final else Usage()

    @property
    def images(self) -> tuple[bytes, ...]:
        """Generated images, for an image_generation request."""
        return self.final.images if self.final else ()

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


@dataclass(frozen=True, slots=True)
class _Cached:
    completion: Completion
    model: ModelSpec


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
        env: Mapping[str, str] | None = None,
        policy: PolicySource | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        """policy: the budget downgrades in force (read once per request; default: none).
        ledger: hard-cap reservations, one per attempt (default: no hard caps)."""
        self.catalog = catalog
        self.config = config
        self.provider_for = provider_for
        self.tracer = tracer or trace.get_tracer("mmoa.router")
        self.clock = clock
        self.baseline = self._check_models()
        self.strategy = Cheapest(catalog)
        self._seq = itertools.count()
        self.attempter = Attempter(config, provider_for, clock, sleep, seed, ledger)
        self.policy: PolicySource = policy or StaticPolicy()
        self.ledger = ledger
        self.downgrader = Downgrader(catalog, config.strategies.chains, provider_for)
        self.roles: dict[str, Role] = parse_roles(config.roles or None, config.source)
        self.overrides = overrides_from_env(
            os.environ if env is None else env, roles=self.roles, categories=config.categories
        )
        check_overrides(self.overrides, (m.name for m in catalog))
        self.cache: ResponseCache[_Cached] | None = (
            ResponseCache(
                config.cache_ttl_s, config.cache_max_entries, clock=lambda: self.clock() / NS
            )
            if config.cache_ttl_s > 0
            else None
        )

    @classmethod
    def from_config(
        cls, path: str | os.PathLike[str], provider_for: ProviderFor, **kwargs: object
    ) -> Router:
        """A router from a config file (and the catalog it extends)."""
        from pathlib import Path

        from catalog import load_catalog
        from router.config import load_config

        config = load_config(Path(path))
        catalog = load_catalog(config.models, where=str(path))
        return cls(catalog, config, provider_for, **kwargs)  # type: ignore[arg-type]

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

    def complete(self, prompt: str, **options: object) -> Result:
        """Route one prompt; raises AllAttemptsFailed when no candidate answers.

        Options (keywords): strategy (cheapest | fallback | ensemble | verify), category, role,
        model (force one), max_tokens, tags, images (for image requests), max_cost (US
        dollars: no attempt starts that could break it), max_latency_s.
        """
        return self._route(prompt, _options(options), _call_complete)

    async def acomplete(self, prompt: str, **options: object) -> Result:
        """The async twin of complete(): the call runs in a worker thread."""
        return await asyncio.to_thread(self.complete, prompt, **options)

    def stream(self, prompt: str, **options: object) -> Stream:
        """Route one prompt and stream the answer: iterate for text pieces, then read `.result`.

        Fallback and retries apply until the first piece arrives; after that a failure ends
        the stream with the error (text already shown cannot be taken back). Streaming uses
        the cheapest strategy: the others need whole answers to judge or compare.
        """
        opts = _options(options)
        if opts.strategy not in (None, "cheapest"):
            raise ValueError(f"streaming works with the cheapest strategy, not {opts.strategy!r}")
        return Stream(self, prompt, opts)

    def _route(self, prompt: str, opts: Options, invoke: Invoke) -> Result:
        strategy = opts.strategy or self.config.strategy
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
        if opts.category is not None and opts.category not in self.config.categories:
            known = ", ".join(self.config.categories)
            raise ValueError(f"unknown category {opts.category!r}; use one of {known}")
        if opts.role is not None and opts.role not in self.roles:
            raise ValueError(f"unknown role {opts.role!r}; use one of {', '.join(self.roles)}")
        seq = next(self._seq)
        start_ns = self.clock()
        cls = classify(prompt)
        category = opts.category or cls.category
        if category not in self.config.categories:
            category = "creative_content"  # an image request, but no image models configured
        n_in = estimate_tokens(prompt)
        out_cap = opts.max_tokens or DEFAULT_MAX_TOKENS
        policy = self.policy.current()
        choice, downgraded = self._policed(
            policy,
            self._choose(category, cls.complexity, opts, n_in, out_cap),
            category,
            opts,
            n_in,
            out_cap,
        )
        image = choice.candidates[0].kind == "image"
        if image:
            invoke = _images_invoke(opts.images)
            strategy = "cheapest"  # image models are tried in chain order
        cache_key = self._cache_key(prompt, strategy, category, opts, image)
        # started now, so the request id is known to the reservations its attempts make
        span = self.tracer.start_span(telemetry.ROUTE_SPAN, start_time=start_ns)
        if cache_key is not None and self.cache is not None:
            hit = self.cache.get(cache_key)
            if hit is not None:
                return self._cache_hit(hit, category, cls, strategy, opts, span, policy)
        deadline_s = self.config.deadline_s
        if opts.max_latency_s is not None:
            deadline_s = min(deadline_s, opts.max_latency_s)
        # a head of the prompt and its length identify it well enough to seed the simulator
        key = f"{seq}-{zlib.crc32(prompt[:4096].encode())}-{len(prompt)}"
        req = Request(
            template=Call(choice.candidates[0], prompt, out_cap, 0, key, category, cls.complexity),
            invoke=invoke,
            budget=Budget(start_ns + int(deadline_s * NS), opts.max_cost),
            tokens=n_in + out_cap,
            prompt_bytes=len(prompt.encode()),
            images=opts.images,
            request_id=_request_id(span),
            tags=opts.tags or {},
        )
        if self.ledger is not None:
            req.cheapest = self._last_resort(
                choice.candidates[0].kind, n_in, min(out_cap, self._expected(category)), req
            )
        runnable = self._runnable(strategy, choice, n_in, out_cap, downgraded)
        outcome = runnable.run(self.attempter, req, start_ns)
        if (
            cache_key is not None
            and self.cache is not None
            and outcome.completion
            and outcome.model
        ):
            self.cache.put(cache_key, _Cached(outcome.completion, outcome.model))
        return self._finish(req, outcome, choice, category, cls, strategy, opts, span, policy)

    def _forced(self, opts: Options, category: str) -> str | None:
        """The model the caller or a MODEL_OVERRIDE_* variable forces, if any."""
        return opts.model or self.overrides.get(opts.role or "") or self.overrides.get(category)

    def _choose(
        self, category: str, complexity: str, opts: Options, n_in: int, out_cap: int
    ) -> Choice:
        policy = self.config.categories[category]
        forced = self._forced(opts, category)
        if forced is not None:
            how = (
                "the caller"
                if opts.model
                else "MODEL_OVERRIDE_"
                + ((opts.role if opts.role in self.overrides else category) or "").upper()
            )
            return Choice((self.catalog.get(forced),), f"model {forced} forced by {how}")
        if category == IMAGE_CATEGORY:
            chain = tuple(self.catalog.get(name) for name in policy.chain)
            return Choice(chain, f"{IMAGE_CATEGORY} chain: primary {chain[0].name}")
        if opts.role is not None:
            role = self.roles[opts.role]
            fitting = [
                m
                for m in models_for_role(role, self.catalog)
                if fits(m, n_in, min(out_cap, policy.expected_output_tokens))
            ]
            if fitting:
                return Choice(
                    tuple(fitting),
                    f"cheapest of {len(fitting)} models for role "
                    f"{role.name} ({role.tier} tier): {fitting[0].name}",
                )
        return self.strategy.choose(
            policy, complexity, n_in, min(out_cap, policy.expected_output_tokens)
        )

    def _policed(
        self,
        policy: Policy,
        choice: Choice,
        category: str,
        opts: Options,
        n_in: int,
        out_cap: int,
    ) -> tuple[Choice, bool]:
        """The choice under the budget policy: downgraded when a downgrade covers the request.

        A model forced by the caller or MODEL_OVERRIDE_* is left alone (hard caps still hold).
        """
        if not policy.downgrades or self._forced(opts, category) is not None:
            return choice, False
        primary = choice.candidates[0]
        d = policy.downgrade_for(category, opts.tags or {}, primary.otel_provider)
        if d is None:
            return choice, False
        out = min(out_cap, self._expected(category))
        return self.downgrader.apply(d, choice, n_in, out), True

    def _expected(self, category: str) -> int:
        return self.config.categories[category].expected_output_tokens

    def _last_resort(
        self, kind: str, n_in: int, out: int, req: Request
    ) -> Callable[[int], ModelSpec | None]:
        """Where a hard cap sends an attempt: the capable model with the smallest worst case."""

        def cheapest(max_tokens: int) -> ModelSpec | None:
            return self.downgrader.cheapest_worst_case(
                kind, n_in, out, req.prompt_bytes, max_tokens, req.images
            )

        return cheapest

    def _runnable(
        self, strategy: str, choice: Choice, n_in: int, out_cap: int, downgraded: bool = False
    ) -> Runnable:
        s = self.config.strategies
        singles: list[Runnable] = [Single(m) for m in choice.candidates]
        if strategy == "fallback":
            # a downgraded choice is already the chain the budget asked for
            usable = s.chain and len(choice.candidates) > 1 and not downgraded
            chain = s.chains.get(s.chain) if usable and s.chain else None
            if chain:
                models = [self.catalog.get(n) for n in chain]
                singles = [Single(m) for m in models if fits(m, n_in, out_cap)] or singles
            return Cascade(singles, s.threshold)
        if strategy == "ensemble":
            synth = self.catalog.get(s.synthesizer) if s.synthesizer else None
            return Ensemble(singles[: s.ensemble_size], s.ensemble_mode, synth)
        if strategy == "verify":
            verifier = self.catalog.get(s.verifier or DEFAULT_VERIFIER)
            return Verify(singles[: self.config.max_attempts], verifier)
        return Chain(singles, self.config.max_attempts)

    def _cache_key(
        self, prompt: str, strategy: str, category: str, opts: Options, image: bool
    ) -> CacheKey | None:
        if self.cache is None or image:
            return None
        choice = f"{strategy}:{category}:{opts.role}:{opts.model}"
        return make_key(prompt, model_choice=choice, params={"max_tokens": opts.max_tokens})

    def _baseline(self, model: ModelSpec | None) -> ModelSpec:
        if model is not None and model.kind == "image" and self.image_baseline is not None:
            return self.image_baseline
        return self.baseline

    def _baseline_cost(self, model: ModelSpec, done: Completion) -> Decimal | None:
        """What the answer would have cost on the single-model setup."""
        if model.kind == "image":
            per_image = self.image_baseline.per_image if self.image_baseline else None
            return images_cost(per_image, len(done.images))
        return cost(self.baseline.price, done.usage)

    def _finish(
        self,
        req: Request,
        out: Outcome,
        choice: Choice,
        category: str,
        cls: Classification,
        strategy: str,
        opts: Options,
        span: trace.Span,
        policy: Policy,
    ) -> Result:
        records = sorted(req.records, key=lambda r: (r.start_ns, r.attempt))
        reason = choice.reason + "".join(f"; {n}" for n in req.notes)
        reason += f"; skipped {', '.join(req.skipped)}" if req.skipped else ""
        if out.escalations:
            reason += f"; escalated {out.escalations}x to {out.model.name if out.model else '?'}"
        done = out.completion
        decision = self._decision(
            cls,
            category,
            strategy,
            choice,
            opts,
            reason,
            model=out.model if done else None,
            records=records,
            baseline_cost=self._baseline_cost(out.model, done) if done and out.model else None,
            escalations=out.escalations,
            agreement=out.agreement,
            policy_version=policy.version,
        )
        request_id = self._trace(span, decision, records, opts.tags or {})
        if (done is None or out.model is None) and req.capped is not None:
            raise HardCapExceeded(
                req.capped,
                f"budget {req.capped!r}: its hard cap leaves no room for this request, not even "
                f"on the cheapest capable model (request {request_id}: {reason})",
            )
        if done is None or out.model is None:
            tried = [(r.model.name, r.error_message or "") for r in records]
            raise AllAttemptsFailed(request_id, tried + [(s, "skipped") for s in req.skipped])
        return Result(
            request_id,
            done.text,
            out.model.name,
            done.finish_reason,
            decision,
            tuple(records),
            done,
        )

    def _decision(
        self,
        cls: Classification,
        category: str,
        strategy: str,
        choice: Choice,
        opts: Options,
        reason: str,
        *,
        model: ModelSpec | None,
        records: list[AttemptRecord],
        baseline_cost: Decimal | None,
        escalations: int = 0,
        agreement: float | None = None,
        cache_hit: bool = False,
        policy_version: int = 0,
    ) -> Decision:
        return Decision(
            category=category,
            complexity=cls.complexity,
            confidence=cls.confidence,
            classifier_reason=cls.reason,
            strategy=strategy,
            candidates=choice.candidates,
            model=model.name if model else None,
            reason=reason,
            attempts=len(records),
            status="ok" if model else "error",
            policy_version=policy_version,
            baseline_model=self._baseline(model or choice.candidates[0]).name,
            usage=sum((r.usage for r in records), Usage()),
            cost=Decimal(0) if cache_hit else add_costs([r.cost for r in records]),
            baseline_cost=baseline_cost,
            simulated=bool(records) and all(r.simulated for r in records),
            escalations=escalations,
            agreement=agreement,
            role=opts.role,
            cache_hit=cache_hit,
            max_cost=opts.max_cost,
        )

    def _cache_hit(
        self,
        hit: _Cached,
        category: str,
        cls: Classification,
        strategy: str,
        opts: Options,
        span: trace.Span,
        policy: Policy,
    ) -> Result:
        """A cached answer: a decision span with cost 0; its baseline counts as saving."""
        choice = Choice((hit.model,), f"cache hit: answer of {hit.model.name}")
        decision = self._decision(
            cls,
            category,
            strategy,
            choice,
            opts,
            choice.reason,
            model=hit.model,
            records=[],
            baseline_cost=self._baseline_cost(hit.model, hit.completion),
            cache_hit=True,
            policy_version=policy.version,
        )
        decision = replace(decision, simulated=hit.completion.simulated)
        request_id = self._trace(span, decision, [], opts.tags or {})
        return Result(
            request_id,
            hit.completion.text,
            hit.model.name,
            hit.completion.finish_reason,
            decision,
            (),
            hit.completion,
        )

    def _trace(
        self,
        span: trace.Span,
        decision: Decision,
        records: list[AttemptRecord],
        tags: Mapping[str, str],
    ) -> str:
        """End the decision span, with one child span per attempt; return the request id."""
        tag_attrs = telemetry.tag_attributes(tags)
        start_ns = getattr(span, "start_time", None) or self.clock()
        end_ns = records[-1].end_ns if records else start_ns
        request_id = _request_id(span)
        span.set_attributes(telemetry.decision_attributes(decision, request_id, tag_attrs))
        ctx = trace.set_span_in_context(span)
        for r in records:
            child = self.tracer.start_span(
                f"{telemetry.operation(r.model)} {r.model.name}",
                context=ctx,
                kind=trace.SpanKind.CLIENT,
                start_time=r.start_ns,
                attributes=telemetry.attempt_attributes(r, decision, request_id, tag_attrs),
            )
            if r.completion is None:
                child.set_status(trace.Status(trace.StatusCode.ERROR, r.error_message))
            child.end(end_time=r.end_ns)
        if decision.status != "ok":
            span.set_status(trace.Status(trace.StatusCode.ERROR, "all attempts failed"))
        span.end(end_time=end_ns)
        return request_id


def _request_id(span: trace.Span) -> str:
    return format(span.get_span_context().span_id, "016x")


def _options(given: Mapping[str, object]) -> Options:
    """Options from keywords; unknown keywords are a TypeError, like any bad argument."""
    unknown = set(given) - set(Options.__dataclass_fields__)
    if unknown:
        raise TypeError(
            f"unknown option(s) {sorted(unknown)}; use {sorted(Options.__dataclass_fields__)}"
        )
    opts = Options(**given)  # type: ignore[arg-type]
    if opts.max_cost is not None and not isinstance(opts.max_cost, Decimal):
        opts = replace(opts, max_cost=Decimal(str(opts.max_cost)))
    if opts.images < 1:
        raise ValueError("images must be at least 1")
    return opts


_DONE = object()


class Stream:
    """Streamed answer: iterate for text pieces as they arrive; `.result` once finished."""

    def __init__(self, router: Router, prompt: str, opts: Options) -> None:
        self._pieces: queue.Queue[object] = queue.Queue()
        self._result: Result | None = None
        self._error: BaseException | None = None
        self._args = (prompt, opts)
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
            prompt, opts = self._args
            self._result = self._router._route(prompt, opts, self._invoke)
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
