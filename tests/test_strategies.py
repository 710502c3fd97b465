"""Routing strategies with scripted fakes: cascade, ensemble, verify, cost cap, cache, roles."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from catalog import Catalog, Price, Rate, Usage, cost
from router import AllAttemptsFailed, Router, parse_config
from router.attempts import worst_case_cost
from router.classifier import CATEGORIES
from router.errors import ServerError
from router.providers.base import Call, Completion
from tests.fakes import CATALOG, spec

T0 = 1_764_000_000_000_000_000
PROMPT = "What is the capital of France?"


def cfg(**extra: Any):  # type: ignore[no-untyped-def]
    cats: dict[str, Any] = {c: {"floors": {"basic": {"intelligence": 20}}} for c in CATEGORIES}
    raw = {"baseline": "baseline", "categories": cats, "faults": {"max_retries": 0}, **extra}
    return parse_config(raw, "test.yaml")


class Answers:
    """A provider answering per model from a script of (text, finish, usage) or errors."""

    name = "scripted"

    def __init__(self, script: dict[str, list[Any]], barrier: threading.Barrier | None = None):
        self.script = {k: list(v) for k, v in script.items()}
        self.calls: list[Call] = []
        self.billed: list[tuple[str, Usage]] = []  # what each answered call used
        self.barrier = barrier
        self._lock = threading.Lock()

    def complete(self, call: Call) -> Completion:
        with self._lock:
            self.calls.append(call)
            outcome = self.script[call.model.name].pop(0)
        if self.barrier is not None and call.purpose == "answer":
            self.barrier.wait(timeout=10)  # every ensemble member must be in flight at once
        if isinstance(outcome, Exception):
            raise outcome
        text, finish, usage = outcome
        with self._lock:
            self.billed.append((call.model.name, usage))
        return Completion(
            text, call.model.name, "r", finish, usage, 100_000_000, "api.example.test", 443, False
        )


def make(
    script: dict[str, list[Any]],
    config: Any = None,
    catalog: Catalog = CATALOG,
    barrier: threading.Barrier | None = None,
    env: dict[str, str] | None = None,
):  # type: ignore[no-untyped-def]
    memory = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(memory))
    provider = Answers(script, barrier)
    router = Router(
        catalog,
        config or cfg(),
        lambda m: provider,
        tracer=tp.get_tracer("t"),
        clock=lambda: T0,
        sleep=lambda s: None,
        env=env or {},
    )
    return router, provider, memory


GOOD = ("Paris is the capital of France.", "stop", Usage(100, 50))
TRUNCATED = ("Paris is the capital of", "length", Usage(100, 50))
UNSURE = ("I'm not sure, maybe Paris.", "stop", Usage(100, 50))


# ------------------------------------------------------------------------- fallback cascade


def cascade_cfg(threshold: float = 0.7) -> Any:
    return cfg(
        strategies={
            "fallback": {
                "threshold": threshold,
                "chain": "c",
                "chains": {"c": ["cheap", "mid", "strong"]},
            }
        }
    )


def test_cascade_stops_at_the_first_confident_answer() -> None:
    router, provider, _ = make({"cheap": [GOOD]}, cascade_cfg())
    result = router.complete(PROMPT, strategy="fallback")
    assert result.model == "cheap" and result.decision.escalations == 0
    assert [c.model.name for c in provider.calls] == ["cheap"]


@pytest.mark.parametrize(
    ("first", "threshold", "escalates"),
    [
        (TRUNCATED, 0.7, True),  # confidence 0.5 < 0.7
        (TRUNCATED, 0.5, False),  # 0.5 >= 0.5: exactly at the threshold is enough
        (UNSURE, 0.7, False),  # 0.7 >= 0.7
        (UNSURE, 0.71, True),  # 0.7 < 0.71
    ],
)
def test_cascade_escalates_exactly_below_the_threshold(
    first: Any, threshold: float, escalates: bool
) -> None:
    router, provider, memory = make({"cheap": [first], "mid": [GOOD]}, cascade_cfg(threshold))
    result = router.complete(PROMPT, strategy="fallback")
    assert (result.model == "mid") is escalates
    assert result.decision.escalations == (1 if escalates else 0)
    # every attempt is a span, carrying the judge's confidence; all of them are paid for
    judged = {
        s.name: s.attributes.get("mmoa.judge.confidence")
        for s in memory.get_finished_spans()
        if s.name.startswith("chat")
    }
    assert judged["chat cheap"] == (0.5 if first is TRUNCATED else 0.7)
    if escalates:
        # cheap 100 x 0.10 + 50 x 0.40 = 30; mid 100 x 0.50 + 50 x 2 = 150 micro-dollars
        assert result.cost == Decimal("0.00018")
        assert "escalated 1x to mid" in result.decision.reason


def test_cascade_moves_on_after_provider_errors_without_counting_an_escalation() -> None:
    router, provider, _ = make({"cheap": [ServerError("500", "x")], "mid": [GOOD]}, cascade_cfg())
    result = router.complete(PROMPT, strategy="fallback")
    assert result.model == "mid" and result.decision.escalations == 0


def test_cascade_keeps_the_last_answer_when_everything_is_unsure() -> None:
    router, _, _ = make(
        {"cheap": [TRUNCATED], "mid": [TRUNCATED], "strong": [TRUNCATED]}, cascade_cfg()
    )
    result = router.complete(PROMPT, strategy="fallback")
    assert result.model == "strong" and result.decision.escalations == 2


# ------------------------------------------------------------------------------- ensemble


def ensemble_cfg(mode: str = "consensus") -> Any:
    return cfg(strategies={"ensemble": {"size": 3, "mode": mode, "synthesizer": "strong"}})


def test_ensemble_runs_members_concurrently_and_votes() -> None:
    # the barrier only opens when all three members are in flight together: run one by one,
    # the first would wait 10 s and fail with BrokenBarrierError
    barrier = threading.Barrier(3)
    script = {
        "cheap": [("Paris.", "stop", Usage(10, 5))],
        "mid": [("paris", "stop", Usage(10, 5))],
        "big": [("Lyon", "stop", Usage(10, 5))],
    }
    router, provider, memory = make(script, ensemble_cfg(), barrier=barrier)
    result = router.complete(PROMPT, strategy="ensemble")
    assert sorted(c.model.name for c in provider.calls) == ["big", "cheap", "mid"]
    assert result.text.lower().startswith("paris")
    assert result.decision.agreement == 0.67  # 2 of 3 agree once case and punctuation go
    # every member is paid for: cheap 10x0.1+5x0.4=3, mid 10x0.5+5x2=15, big 10x1+5x4=30
    assert result.cost == Decimal("0.000048")
    decision = next(s for s in memory.get_finished_spans() if s.name == "mmoa.route")
    assert decision.attributes["mmoa.ensemble.agreement"] == 0.67
    assert len([s for s in memory.get_finished_spans() if s.name.startswith("chat")]) == 3


def test_ensemble_synthesis_merges_with_the_synthesizer() -> None:
    script = {
        "cheap": [("A", "stop", Usage(10, 5))],
        "mid": [("B", "stop", Usage(10, 5))],
        "big": [("C", "stop", Usage(10, 5))],
        "strong": [("A and B and C", "stop", Usage(30, 10))],
    }
    router, provider, memory = make(script, ensemble_cfg("synthesis"))
    result = router.complete(PROMPT, strategy="ensemble")
    assert result.model == "strong" and result.text == "A and B and C"
    synth = [c for c in provider.calls if c.model.name == "strong"]
    assert synth[0].purpose == "synthesize" and "Answer 3:" in synth[0].prompt
    roles = {s.attributes.get("mmoa.attempt.role") for s in memory.get_finished_spans()}
    assert "synthesizer" in roles


def test_ensemble_can_cost_more_than_baseline_and_says_so() -> None:
    same = ("x", "stop", Usage(1_000, 1_000))
    catalog = Catalog((CATALOG.get("strong"), CATALOG.get("baseline"), CATALOG.get("big")))
    router, _, _ = make(
        {"strong": [same], "baseline": [same], "big": [same]},
        cfg(strategies={"ensemble": {"size": 3}}),
        catalog=catalog,
    )
    result = router.complete(PROMPT, strategy="ensemble")
    # members: big 1000 x 1 + 1000 x 4 = 5000, strong and baseline 3000 + 15000 = 18000 each;
    # baseline of the answer: 18000 micro-dollars. Saving: 18000 - 41000 = -23000
    assert result.cost == Decimal("0.041") and result.baseline_cost == Decimal("0.018")
    assert result.saving == Decimal("-0.023")


# --------------------------------------------------------------------------------- verify


def verify_cfg() -> Any:
    return cfg(strategies={"verify": {"verifier": "big"}})


def test_verify_passes_or_escalates_on_fail() -> None:
    script = {
        "cheap": [GOOD],
        "big": [("FAIL: wrong", "stop", Usage(50, 3)), ("PASS", "stop", Usage(50, 1))],
        "mid": [GOOD],
    }
    router, provider, memory = make(script, verify_cfg())
    result = router.complete(PROMPT, strategy="verify")
    assert result.model == "mid" and result.decision.escalations == 1
    assert [(c.model.name, c.purpose) for c in provider.calls] == [
        ("cheap", "answer"),
        ("big", "verify"),
        ("mid", "answer"),
        ("big", "verify"),
    ]
    # answers 30 + 150, verdicts 50x1+3x4=62 and 50x1+1x4=54 micro-dollars: all paid for
    assert result.cost == Decimal("0.000296")


# ------------------------------------------------------------------------------- cost cap


def test_cap_skips_attempts_that_could_break_it_and_says_which_limit() -> None:
    router, provider, _ = make({"cheap": [GOOD]})
    worst = worst_case_cost(CATALOG.get("cheap"), len(PROMPT.encode()), 100, 1)
    # (30 prompt bytes + 16 template tokens) x 0.10 + 100 x 0.40 = 4.6 + 40 micro-dollars
    assert worst == Decimal("0.0000446")
    ok = router.complete(PROMPT, max_tokens=100, max_cost=Decimal("0.0000446"))
    assert ok.model == "cheap"
    with pytest.raises(AllAttemptsFailed, match=r"max_cost \$0.0000445: worst case \$0.0000446"):
        router.complete(PROMPT, max_tokens=100, max_cost=Decimal("0.0000445"))
    assert len(provider.calls) == 1


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    rates=st.lists(st.tuples(st.integers(1, 5000), st.integers(1, 20000)), min_size=3, max_size=3),
    used_in=st.lists(st.floats(0, 1), min_size=3, max_size=3),
    used_out=st.lists(st.floats(0, 1), min_size=3, max_size=3),
    cap_cents=st.integers(1, 400),
    max_tokens=st.integers(1, 4000),
    strategy=st.sampled_from(["cheapest", "fallback", "ensemble", "verify"]),
)
def test_the_cap_is_never_exceeded(
    rates: list[tuple[int, int]],
    used_in: list[float],
    used_out: list[float],
    cap_cents: int,
    max_tokens: int,
    strategy: str,
) -> None:
    prompt = "Summarise: " + "lorem ipsum " * 300
    names = ["m0", "m1", "m2"]
    models = [
        spec(
            n,
            intelligence=50,
            coding=40,
            price=Price(
                Rate(Decimal(i) / 100), Rate(Decimal(o) / 100), cache_write=Rate(Decimal(i) / 80)
            ),
        )
        for n, (i, o) in zip(names, rates, strict=True)
    ]
    catalog = Catalog((*models, CATALOG.get("baseline")))
    limit = len(prompt.encode())
    script: dict[str, list[Any]] = {"baseline": [("I'm not sure.", "length", Usage(1, 1))] * 4}
    for n, fi, fo in zip(names, used_in, used_out, strict=True):
        n_in = int(fi * limit) + 1
        usage = Usage(n_in, int(fo * max_tokens), cache_write_tokens=n_in // 2)
        script[n] = [("FAIL" if strategy == "verify" else "I'm not sure.", "length", usage)] * 4
    config = cfg(
        strategies={
            "fallback": {"threshold": 0.99},
            "verify": {"verifier": "m2"},
            "ensemble": {"size": 3},
        }
    )
    router, provider, _ = make(script, config, catalog=catalog)
    cap = Decimal(cap_cents) / 10_000
    try:
        result = router.complete(prompt, strategy=strategy, max_cost=cap, max_tokens=max_tokens)
        spent = result.cost
    except AllAttemptsFailed as exc:
        assert "max_cost" in str(exc) or "failed" in str(exc)
        spent = None
    # what the providers billed, computed independently of the router's own accounting
    paid = sum(
        (cost(catalog.get(m).price, u) or Decimal(0) for m, u in provider.billed), Decimal(0)
    )
    assert paid <= cap
    if spent is not None:
        assert spent == paid


# ------------------------------------------------------------------------------- cache


def test_cache_hit_costs_nothing_and_counts_as_saving() -> None:
    router, provider, memory = make({"cheap": [GOOD]}, cfg(cache={"ttl_s": 60}))
    first = router.complete(PROMPT)
    second = router.complete("  What is the capital   of France? ")  # same once normalised
    assert len(provider.calls) == 1
    assert second.text == first.text and second.decision.cache_hit
    assert second.cost == Decimal(0) and second.baseline_cost == first.baseline_cost
    assert second.saving == first.baseline_cost
    spans = [s for s in memory.get_finished_spans() if s.name == "mmoa.route"]
    assert [s.attributes["mmoa.cache.hit"] for s in spans] == [False, True]
    assert spans[1].attributes["mmoa.cost.usd"] == "0"
    # another strategy is another model choice: no hit, so the (empty) script is asked again
    with pytest.raises(IndexError):
        router.complete(PROMPT, strategy="fallback")


# ------------------------------------------------------------------------- roles, overrides


def test_role_picks_the_cheapest_model_meeting_its_floor() -> None:
    router, provider, _ = make(
        {"mid": [GOOD]},
        cfg(roles={"orchestrator": {"tier": "orchestration", "intelligence": 45, "coding": 40}}),
    )
    result = router.complete("Plan the next steps.", role="orchestrator")
    assert result.model == "mid" and result.decision.role == "orchestrator"
    assert "role orchestrator (orchestration tier)" in result.decision.reason


def test_environment_override_forces_the_model() -> None:
    router, provider, _ = make({"strong": [GOOD]}, env={"MODEL_OVERRIDE_SIMPLE_QUICK": "strong"})
    result = router.complete(PROMPT)
    assert result.model == "strong"
    assert result.decision.reason == "model strong forced by MODEL_OVERRIDE_SIMPLE_QUICK"


def test_async_twin() -> None:
    router, _, _ = make({"cheap": [GOOD]})
    result = asyncio.run(router.acomplete(PROMPT, tags={"team": "a"}))
    assert result.model == "cheap"


def test_max_latency_is_a_deadline() -> None:
    router, provider, _ = make({"cheap": [GOOD]})
    with pytest.raises(AllAttemptsFailed, match="deadline"):
        router.complete(PROMPT, max_latency_s=0.0)
    assert provider.calls == []


def test_router_from_config_file(tmp_path: Any) -> None:
    from mmoa import settings

    provider = Answers({"llama-3.1-8b-instant": [GOOD]})
    router = Router.from_config(
        settings.config_path(None), lambda m: provider, sleep=lambda s: None, env={}
    )
    assert router.complete(PROMPT).model == "llama-3.1-8b-instant"
