"""Routing logic with scripted fakes: choice, fallback, exact accounting, the span contract."""

from __future__ import annotations

from decimal import Decimal

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from catalog import UnknownModel, Usage
from router import AllAttemptsFailed, Router
from router.errors import RateLimited, ServerError
from tests.fakes import CATALOG, ScriptedProvider, config

T0 = 1_764_000_000_000_000_000  # a fixed instant, ns


def make(script, cfg=None, latency_ns=250_000_000):  # type: ignore[no-untyped-def]
    exporter = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    provider = ScriptedProvider(script, latency_ns)
    router = Router(
        CATALOG,
        cfg or config(),
        lambda spec: provider,
        tracer=tp.get_tracer("mmoa.router"),
        clock=lambda: T0,
    )
    return router, provider, exporter


def spans_by_name(exporter: InMemorySpanExporter) -> dict[str, list[ReadableSpan]]:
    out: dict[str, list[ReadableSpan]] = {}
    for s in exporter.get_finished_spans():
        out.setdefault(s.name, []).append(s)
    return out


def test_cheapest_capable_model_is_chosen_and_costed_exactly() -> None:
    usage = Usage(input_tokens=1_000, output_tokens=500, cache_read_tokens=200)
    router, provider, exporter = make({"cheap": [usage]})
    result = router.complete("What is the capital of France?", tags={"team": "search"})
    assert result.model == "cheap"
    # cheap: 800 x 0.10 + 200 x 0.025 + 500 x 0.40 = 80 + 5 + 200 = 285 micro-dollars
    assert result.cost == Decimal("0.000285")
    # baseline: 800 x 3 + 200 x 0.30 + 500 x 15 = 2400 + 60 + 7500 = 9960 micro-dollars
    assert result.baseline_cost == Decimal("0.00996")
    assert result.saving == Decimal("0.009675")
    assert result.decision.candidates[0].name == "cheap"
    assert "cheapest of" in result.decision.reason and "cheap" in result.decision.reason
    assert [c.model.name for c in provider.calls] == ["cheap"]


def test_span_contract() -> None:
    usage = Usage(
        input_tokens=1_000, output_tokens=500, cache_read_tokens=200, reasoning_tokens=100
    )
    router, _, exporter = make({"cheap": [usage]})
    result = router.complete("What is the capital of France?", tags={"team": "search"})
    spans = spans_by_name(exporter)
    (decision,) = spans["mmoa.route"]
    (call,) = spans["chat cheap"]
    assert decision.kind is SpanKind.INTERNAL and call.kind is SpanKind.CLIENT
    assert call.parent is not None and call.parent.span_id == decision.context.span_id
    assert result.request_id == format(decision.context.span_id, "016x")
    assert decision.start_time == T0 and call.start_time == T0
    assert call.end_time == T0 + 250_000_000 == decision.end_time
    a = call.attributes
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.request.model"] == "cheap" and a["gen_ai.response.model"] == "cheap"
    assert a["gen_ai.usage.input_tokens"] == 1_000
    assert a["gen_ai.usage.output_tokens"] == 500
    assert a["gen_ai.usage.cache_read.input_tokens"] == 200
    assert a["gen_ai.usage.reasoning.output_tokens"] == 100
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["mmoa.request.id"] == result.request_id
    assert a["mmoa.tag.team"] == "search"
    # 800 x 0.10 + 200 x 0.025 + 500 x 0.40 (reasoning at the output rate) = 285 micro-dollars
    assert a["mmoa.cost.usd"] == "0.000285"
    assert "error.type" not in a
    d = decision.attributes
    assert d["mmoa.task.category"] == "simple_quick"
    assert d["mmoa.route.strategy"] == "cheapest"
    assert d["mmoa.route.model"] == "cheap"
    assert d["mmoa.route.attempts"] == 1
    assert d["mmoa.baseline.model"] == "baseline"
    assert d["mmoa.cost.usd"] == "0.000285"
    assert d["mmoa.cost.baseline_usd"] == "0.00996"
    assert d["mmoa.cache.hit"] is False
    assert d["mmoa.policy.version"] == 0
    assert d["mmoa.route.candidates"][0] == "cheap"


def test_failure_moves_to_the_next_cheapest_and_every_attempt_is_a_span() -> None:
    usage = Usage(input_tokens=100, output_tokens=100)
    router, provider, exporter = make(
        {
            "cheap": [RateLimited("429", "slow down", latency_ns=40_000_000)],
            "mid": [usage],
        }
    )
    result = router.complete("What is the capital of France?")
    assert result.model == "mid"
    assert [c.model.name for c in provider.calls] == ["cheap", "mid"]
    # the failed call is not billed: 100 x 0.50 + 100 x 2 = 250 micro-dollars
    assert result.cost == Decimal("0.00025")
    spans = spans_by_name(exporter)
    (failed,) = spans["chat cheap"]
    (ok,) = spans["chat mid"]
    assert failed.attributes["error.type"] == "429"
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.end_time == T0 + 40_000_000 == ok.start_time
    assert spans["mmoa.route"][0].attributes["mmoa.route.attempts"] == 2


def test_all_attempts_failing_raises_one_error_listing_each() -> None:
    router, _, exporter = make(
        {
            "cheap": [ServerError("500", "boom")],
            "mid": [RateLimited("429", "busy")],
            "big": [ServerError("500", "down")],
        }
    )
    with pytest.raises(AllAttemptsFailed) as info:
        router.complete("What is the capital of France?")
    assert [m for m, _ in info.value.attempts] == ["cheap", "mid", "big"]
    assert "all 3 attempts failed" in str(info.value)
    (decision,) = spans_by_name(exporter)["mmoa.route"]
    assert decision.status.status_code is StatusCode.ERROR
    assert decision.attributes["mmoa.route.status"] == "error"
    assert "mmoa.cost.baseline_usd" not in decision.attributes
    assert len(exporter.get_finished_spans()) == 4


def test_floor_by_complexity_and_context_window() -> None:
    cfg = config(
        complex_reasoning={"floors": {"basic": {"intelligence": 60, "strengths": ["reasoning"]}}}
    )
    router, _, _ = make({"strong": [Usage(10, 10)]}, cfg)
    result = router.complete(
        "Prove step by step that the square root of 2 is irrational.", category="complex_reasoning"
    )
    assert result.model == "strong"
    # a prompt too long for cheap's 8k window goes to the next cheapest that fits
    router, _, _ = make({"mid": [Usage(10, 10)]})
    long_prompt = "What is this? " + "word " * 40_000
    assert router.complete(long_prompt, category="simple_quick").model == "mid"


def test_chain_category_tries_the_chain_in_order() -> None:
    cfg = config(creative_content={"chain": ["strong", "mid"]})
    router, provider, _ = make({"strong": [ServerError("500", "x")], "mid": [Usage(5, 5)]}, cfg)
    result = router.complete("Write a poem about the sea", category="creative_content")
    assert result.model == "mid"
    assert [c.model.name for c in provider.calls] == ["strong", "mid"]
    assert result.decision.reason == "creative_content chain: primary strong"


def test_forced_model_and_unknown_names() -> None:
    router, _, _ = make({"big": [Usage(5, 5)]})
    result = router.complete("hello", model="big")
    assert result.model == "big" and result.decision.reason == "model big forced by the caller"
    with pytest.raises(UnknownModel, match="strongg"):
        router.complete("hello", model="strongg")
    with pytest.raises(ValueError, match="unknown category 'nope'"):
        router.complete("hello", category="nope")


def test_unpriced_model_cost_is_none_never_zero() -> None:
    router, _, exporter = make({"mystery": [Usage(100, 100)]})
    result = router.complete("hello", model="mystery")
    assert result.cost is None and result.saving is None
    assert result.baseline_cost == Decimal("0.0018")  # 100 x 3 + 100 x 15 = 1800 micro-dollars
    for span in exporter.get_finished_spans():
        assert "mmoa.cost.usd" not in span.attributes
