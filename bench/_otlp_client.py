"""One OTLP client process for bench/collector_ingest.py: build bodies, wait, send, time."""

import json
import sys
import time
import urllib.request
from pathlib import Path

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, set_span_in_context

url, client, batches, start_file, out = (
    sys.argv[1],
    int(sys.argv[2]),
    int(sys.argv[3]),
    sys.argv[4],
    sys.argv[5],
)
bodies = []
for b in range(batches):
    memory = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(memory))
    tracer = tp.get_tracer("mmoa.router")
    for r in range(256):  # 256 requests = 512 spans (decision + one call)
        d = tracer.start_span(
            "mmoa.route",
            start_time=1_764_000_000_000_000_000 + r,
            attributes={
                "mmoa.task.category": "simple_quick",
                "mmoa.task.complexity": "basic",
                "mmoa.task.confidence": 0.9,
                "mmoa.task.reason": "matched 'what is'",
                "mmoa.route.strategy": "cheapest",
                "mmoa.route.model": "gpt-5-nano",
                "mmoa.route.reason": "cheapest of 20 models",
                "mmoa.route.candidates": ("gpt-5-nano", "gpt-4o-mini"),
                "mmoa.route.attempts": 1,
                "mmoa.route.status": "ok",
                "mmoa.policy.version": 0,
                "mmoa.baseline.model": "claude-sonnet-4-6",
                "mmoa.cache.hit": False,
                "mmoa.cost.usd": "0.0000321",
                "mmoa.cost.baseline_usd": "0.00123",
                "mmoa.simulated": True,
                "mmoa.tag.team": "search",
                "mmoa.tag.user": f"u{r % 400:04d}",
            },
        )
        c = tracer.start_span(
            "chat gpt-5-nano",
            context=set_span_in_context(d),
            kind=SpanKind.CLIENT,
            start_time=1_764_000_000_000_000_000 + r,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-5-nano",
                "gen_ai.response.model": "gpt-5-nano",
                "gen_ai.response.id": f"resp-{client}-{b}-{r}",
                "gen_ai.response.finish_reasons": ("stop",),
                "gen_ai.usage.input_tokens": 40 + r,
                "gen_ai.usage.output_tokens": 60 + r,
                "gen_ai.usage.cache_read.input_tokens": 0,
                "gen_ai.usage.cache_creation.input_tokens": 0,
                "gen_ai.usage.reasoning.output_tokens": 30,
                "server.address": "api.openai.com",
                "server.port": 443,
                "mmoa.cost.usd": "0.0000321",
                "mmoa.simulated": True,
                "mmoa.tag.team": "search",
                "mmoa.tag.user": f"u{r % 400:04d}",
            },
        )
        c.end(end_time=1_764_000_000_500_000_000 + r)
        d.end(end_time=1_764_000_000_500_000_000 + r)
    bodies.append(encode_spans(memory.get_finished_spans()).SerializeToString())
Path(out + ".ready").touch()
while not Path(start_file).exists():
    time.sleep(0.005)
latencies = []
for body in bodies:
    req = urllib.request.Request(
        url + "/v1/traces", body, {"Content-Type": "application/x-protobuf"}
    )
    t = time.perf_counter()
    while True:
        try:
            with urllib.request.urlopen(req, timeout=120) as answer:
                answer.read()
            break
        except urllib.error.HTTPError as exc:
            if exc.code != 503:
                raise
            time.sleep(0.05)
    latencies.append(time.perf_counter() - t)
with open(out, "w") as f:
    json.dump(latencies, f)
