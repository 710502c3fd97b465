"""The router's own overhead per strategy, in µs per request, provider time excluded.

An instant in-process provider answers every call (no network, no simulation work), spans go
through the OTel SDK to a discarding exporter, and the time spent inside the provider is
subtracted. Prints one JSON line.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._machine import machine  # noqa: E402


def main(n: int = 3000) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    from catalog import Usage
    from mmoa import settings
    from mmoa.wiring import load
    from mmoa.workload import generate
    from router import Router
    from router.providers.base import Call, Completion

    class Discard(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            return SpanExportResult.SUCCESS

    class Instant:
        name = "instant"
        inside_ns = 0

        def complete(self, call: Call) -> Completion:
            t = time.perf_counter_ns()
            text = "PASS" if call.purpose == "verify" else "Paris is the capital of France."
            done = Completion(
                text, call.model.name, "r", "stop", Usage(100, 20), 0, "local", 0, False
            )
            Instant.inside_ns += time.perf_counter_ns() - t
            return done

    config, catalog = load(settings.config_path(None))
    config = type(config)(**{**config.__dict__, "cache_ttl_s": 0.0})  # measure routing, not hits
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(Discard()))
    provider = Instant()
    router = Router(
        catalog,
        config,
        lambda m: provider,
        tracer=tp.get_tracer("bench"),
        sleep=lambda s: None,
        env={},
    )
    prompts = [i.prompt for i in generate(n, seed=5, end_ns=time.time_ns())]
    results: dict[str, dict[str, float]] = {}
    for strategy in ("cheapest", "fallback", "ensemble", "verify"):
        for p in prompts[:200]:
            router.complete(p, strategy=strategy)
        samples = []
        for p in prompts:
            Instant.inside_ns = 0
            t = time.perf_counter_ns()
            router.complete(p, strategy=strategy)
            samples.append(time.perf_counter_ns() - t - Instant.inside_ns)
        samples.sort()
        results[strategy] = {
            "median_us": round(statistics.median(samples) / 1000, 1),
            "p99_us": round(samples[int(len(samples) * 0.99) - 1] / 1000, 1),
        }
    print(
        json.dumps(
            {
                "bench": "strategy_overhead",
                "requests_per_strategy": n,
                **results,
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
