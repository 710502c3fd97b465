"""Router overhead per request: classify + choose + call (zero-latency simulated) + spans to DuckDB.

Prints one JSON line. Compares, in the same run, LiteLLM's Router.completion(mock_response=...)
(the `bench` extra; skipped with a note when litellm is not installed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._machine import machine  # noqa: E402


def _percentiles(samples_ns: list[int]) -> tuple[float, float]:
    samples = sorted(samples_ns)
    return statistics.median(samples) / 1000, samples[int(len(samples) * 0.99) - 1] / 1000


def mmoa_overhead(n: int, store: Path) -> dict[str, float]:
    from mmoa import settings
    from mmoa.wiring import wire
    from mmoa.workload import generate
    from router import AllAttemptsFailed

    items = generate(n, seed=11, end_ns=time.time_ns())
    # waits (retry backoff after a simulated failure) are recorded, not slept
    wired = wire(settings.config_path(None), store, virtual_time=True)
    route = wired.router.complete
    for item in items[:500]:  # warm caches (regexes, floors, price lookups)
        route(item.prompt, max_tokens=item.max_tokens, tags=item.tags)
    wired.flush()
    samples = []
    started = time.perf_counter_ns()
    for item in items:
        t = time.perf_counter_ns()
        # a request that failed on every model is still routed work
        with contextlib.suppress(AllAttemptsFailed):
            route(item.prompt, max_tokens=item.max_tokens, tags=item.tags)
        samples.append(time.perf_counter_ns() - t)
    wired.flush()  # the spans are only "exported" once they are in DuckDB
    total_ns = time.perf_counter_ns() - started
    wired.close()
    median, p99 = _percentiles(samples)
    return {
        "median_us": round(median, 1),
        "p99_us": round(p99, 1),
        "mean_with_export_us": round(total_ns / n / 1000, 1),
    }


def sdk_span_floor(n: int) -> float:
    """Median µs for the OTel SDK alone to make our two spans (same attributes, no routing)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.trace import SpanKind, set_span_in_context

    class Discard(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            return SpanExportResult.SUCCESS

    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(Discard()))
    tracer = tp.get_tracer("mmoa.router")
    decision = {f"mmoa.attr.{i}": "value" for i in range(19)}
    attempt = {f"gen_ai.attr.{i}": i for i in range(17)}
    samples = []
    for _ in range(n):
        t = time.perf_counter_ns()
        span = tracer.start_span("mmoa.route", start_time=1, attributes=decision)
        child = tracer.start_span(
            "chat m",
            context=set_span_in_context(span),
            kind=SpanKind.CLIENT,
            start_time=1,
            attributes=attempt,
        )
        child.end(end_time=2)
        span.end(end_time=2)
        samples.append(time.perf_counter_ns() - t)
    return round(statistics.median(samples) / 1000, 1)


def litellm_overhead(n: int) -> dict[str, float] | str:
    # its own price map from the bundled copy: no network here
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except ImportError:
        return "litellm not installed: pip install -e '.[bench]'"
    litellm.telemetry = False
    router = litellm.Router(
        model_list=[
            {"model_name": "cheap", "litellm_params": {"model": "gpt-4o-mini", "api_key": "sk-x"}},
            {
                "model_name": "strong",
                "litellm_params": {"model": "claude-sonnet-4-5", "api_key": "sk-x"},
            },
        ]
    )
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    for _ in range(200):
        router.completion(model="cheap", messages=messages, mock_response="Paris")
    samples = []
    for _ in range(n):
        t = time.perf_counter_ns()
        router.completion(model="cheap", messages=messages, mock_response="Paris")
        samples.append(time.perf_counter_ns() - t)
    median, p99 = _percentiles(samples)
    return {"median_us": round(median, 1), "p99_us": round(p99, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--litellm-requests", type=int, default=5_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ours = mmoa_overhead(args.requests, Path(tmp) / "bench.duckdb")
    theirs = litellm_overhead(args.litellm_requests)
    out: dict[str, object] = {
        "bench": "route_overhead",
        "requests": args.requests,
        "mmoa": ours,
        "otel_sdk_two_spans_median_us": sdk_span_floor(5_000),
        "litellm_router_mock": theirs,
        "goal_median_us": 100,
        "machine": machine(),
    }
    if isinstance(theirs, dict):
        out["ratio_litellm_over_mmoa_median"] = round(theirs["median_us"] / ours["median_us"], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
