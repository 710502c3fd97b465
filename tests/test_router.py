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
from router.errors import BadRequest, RateLimited, ServerError
from tests.fakes import CATALOG, ScriptedProvider, StreamingScripted, config

T0 = 1_764_000_000_000_000_000  # a fixed instant, ns
SLEPT: list[float] = []  # waits the router asked for (nothing really sleeps in these tests)


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
        sleep=SLEPT.append,
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
    assert "no model answered (3 calls failed, 0 models skipped)" in str(info.value)
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


# ------------------------------------------------------------------------------ fault policy

RETRY = {"max_retries": 2, "backoff_s": 0.5, "max_backoff_s": 20}


def test_retry_honours_retry_after_then_succeeds_on_the_same_model() -> None:
    SLEPT.clear()
    router, provider, exporter = make(
        {
            "cheap": [
                RateLimited("429", "slow down", latency_ns=10_000_000, retry_after_s=2.0),
                Usage(100, 100),
            ]
        },
        config(faults=RETRY),
    )
    result = router.complete("What is the capital of France?")
    assert result.model == "cheap" and result.decision.attempts == 2
    assert [c.model.name for c in provider.calls] == ["cheap", "cheap"]
    assert SLEPT == [2.0]  # the server's retry-after, not our backoff
    first, second = sorted(spans_by_name(exporter)["chat cheap"], key=lambda s: s.start_time)
    assert first.attributes["error.type"] == "429" and "error.type" not in second.attributes
    # the retry starts after the failed call (10 ms) and the 2 s wait
    assert second.start_time == T0 + 10_000_000 + 2_000_000_000


def test_backoff_grows_exponentially_with_jitter_within_bounds() -> None:
    SLEPT.clear()
    router, provider, _ = make(
        {"cheap": [ServerError("500", "a"), ServerError("500", "b"), Usage(5, 5)]},
        config(faults=RETRY),
    )
    assert router.complete("What is 2+2?").model == "cheap"
    assert len(SLEPT) == 2
    assert 0.375 <= SLEPT[0] <= 0.625 and 0.75 <= SLEPT[1] <= 1.25  # 0.5 s, 1 s, +/- 25 %


def test_no_retry_on_bad_request_the_chain_moves_on() -> None:
    SLEPT.clear()
    router, provider, _ = make(
        {"cheap": [BadRequest("400", "bad")], "mid": [Usage(5, 5)]}, config(faults=RETRY)
    )
    assert router.complete("What is 2+2?").model == "mid"
    assert [c.model.name for c in provider.calls] == ["cheap", "mid"] and SLEPT == []


def test_circuit_breaker_opens_and_the_chain_moves_on_at_once() -> None:
    faults = {"max_retries": 0, "breaker": {"failures": 2, "window_s": 60, "cooldown_s": 30}}
    router, provider, _ = make(
        {
            "cheap": [ServerError("500", "x"), ServerError("500", "y")],
            "mid": [Usage(5, 5), Usage(5, 5), Usage(5, 5)],
        },
        config(faults=faults),
    )
    for _ in range(2):
        assert router.complete("What is 2+2?").model == "mid"
    third = router.complete("What is 2+2?")  # cheap's circuit is open: not even tried
    assert third.model == "mid" and third.decision.attempts == 1
    assert "skipped cheap (circuit open)" in third.decision.reason
    assert [c.model.name for c in provider.calls] == ["cheap", "mid", "cheap", "mid", "mid"]


def test_circuit_breaker_applies_to_a_single_model_deployment() -> None:
    faults = {"max_retries": 5, "breaker": {"failures": 2}}
    router, provider, _ = make({"big": [ServerError("500", "x")] * 2}, config(faults=faults))
    with pytest.raises(AllAttemptsFailed):
        router.complete("hello", model="big")
    # the breaker opened after the second failure: no third try despite max_retries 5
    assert len(provider.calls) == 2
    with pytest.raises(AllAttemptsFailed, match="skipped"):
        router.complete("hello", model="big")
    assert len(provider.calls) == 2


def test_deadline_stops_retries() -> None:
    faults = {"max_retries": 5, "backoff_s": 30, "deadline_s": 45}
    router, provider, _ = make({"big": [ServerError("500", "x")] * 6}, config(faults=faults))
    with pytest.raises(AllAttemptsFailed):
        router.complete("hello", model="big")
    assert len(provider.calls) == 2  # 0 s, ~30 s (+/- jitter); the next wait would pass 45 s


def test_rate_limit_queues_rather_than_fails() -> None:
    SLEPT.clear()
    router, provider, _ = make({"big": [Usage(5, 5)] * 3}, config(rate_limits={"big": {"rpm": 2}}))
    for _ in range(3):
        router.complete("hello", model="big")
    assert len(provider.calls) == 3
    assert SLEPT == [60.0]  # the third request waited for the one-minute window


def test_unavailable_provider_is_skipped() -> None:
    exporter = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    provider = ScriptedProvider({"mid": [Usage(5, 5)]})
    router = Router(
        CATALOG,
        config(),
        lambda spec: provider if spec.name != "cheap" else None,
        tracer=tp.get_tracer("t"),
        clock=lambda: T0,
        sleep=SLEPT.append,
    )
    result = router.complete("What is 2+2?")
    assert result.model == "mid" and "skipped cheap (no provider)" in result.decision.reason


# ------------------------------------------------------------------------------ streaming


def _streaming_router(provider: StreamingScripted) -> tuple[Router, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    router = Router(
        CATALOG,
        config(),
        lambda spec: provider,
        tracer=tp.get_tracer("t"),
        clock=lambda: T0,
        sleep=SLEPT.append,
    )
    return router, exporter


def test_stream_yields_pieces_then_a_priced_result() -> None:
    router, exporter = _streaming_router(StreamingScripted({"cheap": [Usage(1_000, 500, 200)]}))
    stream = router.stream("What is the capital of France?")
    pieces = list(stream)
    assert len(pieces) == 2 and "".join(pieces) == "answer from cheap"
    assert stream.result.cost == Decimal("0.000285")  # same figure as non-streaming
    assert len(exporter.get_finished_spans()) == 2


def test_stream_falls_back_before_the_first_piece_only() -> None:
    provider = StreamingScripted({"cheap": [ServerError("500", "x")], "mid": [Usage(5, 5)]})
    router, _ = _streaming_router(provider)
    assert "".join(router.stream("What is 2+2?")) == "answer from mid"
    broken = StreamingScripted(
        {"cheap": [Usage(5, 5)], "mid": [Usage(5, 5)]}, break_after_first={"cheap"}
    )
    router, exporter = _streaming_router(broken)
    stream = router.stream("What is 2+2?")
    with pytest.raises(AllAttemptsFailed):
        list(stream)
    assert [c.model.name for c in broken.calls] == ["cheap"]  # no fallback after output
    assert len(exporter.get_finished_spans()) == 2
