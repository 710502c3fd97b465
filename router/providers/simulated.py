"""The `simulated` provider: deterministic, offline, realistic usage, latency and failures.

Every draw comes from a `random.Random` seeded by (seed, request key, model, purpose, retry), so
the same request routed the same way gets the same answer, tokens, latency and faults, even when
ensemble members run at once. Latency is reported, never slept: a simulated day of traffic
routes in seconds.
"""

from __future__ import annotations

import math
import random
import struct
import zlib
from dataclasses import dataclass

from catalog import ModelSpec, Usage
from router.classifier import estimate_tokens
from router.errors import Overloaded, RateLimited, ServerError, Timeout
from router.providers.base import Call, Completion, Images

NS_PER_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class Vendor:
    """How one real provider behaves, as far as the simulation needs to know."""

    token_factor: float  # its tokenizer's count relative to ~4 characters per token
    cache_min_tokens: int  # prompts shorter than this are never cached (0: no caching)
    cache_read_p: float
    cache_write_p: float
    thinks: bool  # reasoning-capable models emit reasoning tokens by default
    overload_type: str  # error.type of its "overloaded" answer
    tokens_per_s_factor: float


VENDORS: dict[str, Vendor] = {
    "anthropic": Vendor(1.08, 1024, 0.25, 0.12, False, "529", 1.0),
    "openai": Vendor(1.0, 1024, 0.30, 0.0, True, "503", 1.0),
    "google": Vendor(0.95, 2048, 0.25, 0.0, True, "503", 1.2),
    "groq": Vendor(1.02, 0, 0.0, 0.0, False, "503", 4.0),
}
_DEFAULT_VENDOR = Vendor(1.0, 0, 0.0, 0.0, False, "503", 1.0)

# Median answer length per task category, and how complexity stretches it.
OUTPUT_MEDIAN = {
    "simple_quick": 60,
    "general_development": 380,
    "coding_implementation": 700,
    "analysis_research": 520,
    "creative_content": 650,
    "complex_reasoning": 850,
    "specialized": 600,
}
COMPLEXITY_STRETCH = {"basic": 0.6, "intermediate": 1.0, "advanced": 1.6, "expert": 2.3}
REASONING_RATIO = {"basic": 0.8, "intermediate": 1.5, "advanced": 2.5, "expert": 4.0}

# Per catalog tier: time to first token (ms), output speed (tokens/s), failure probability.
TTFT_MS = {"economy": 280.0, "standard": 480.0, "premium": 850.0}
TOKENS_PER_S = {"economy": 140.0, "standard": 90.0, "premium": 55.0}
FAILURE_P = {"economy": 0.008, "standard": 0.010, "premium": 0.015}
PREFILL_TOKENS_PER_S = 25_000.0
VERIFY_PASS_P = 0.85
# how often a model's answer differs from the common one (ensembles vote on this)
DISAGREE_P = {"economy": 0.25, "standard": 0.15, "premium": 0.08}
TIMEOUT_MS = 30_000.0

# Seconds to generate one batch of images, per catalog tier.
IMAGE_SECONDS = {"economy": 4.0, "standard": 7.0, "premium": 12.0}


def _placeholder_png() -> bytes:
    """A valid 1x1 grey PNG: what the simulator 'draws'."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1x1, 8-bit greyscale
    pixels = zlib.compress(b"\x00\x80")  # filter byte 0, one grey pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PLACEHOLDER_PNG = _placeholder_png()

ANSWERS = {
    "simple_quick": "Here is the short answer you asked for.",
    "general_development": "Here is an explanation, with the likely cause and how to check it.",
    "coding_implementation": "Here is an implementation, with tests for the edge cases.",
    "analysis_research": "Here is a summary of the key points, with the evidence for each.",
    "creative_content": "Here is a draft in the tone you asked for.",
    "complex_reasoning": "Here is the reasoning step by step, and the conclusion.",
    "specialized": "Here is an expert assessment, with the caveats that apply.",
}


class SimulatedProvider:
    """Answers for any catalog model without touching the network."""

    name = "simulated"

    def __init__(self, seed: int = 7, failure_scale: float = 1.0) -> None:
        self.seed = seed
        self.failure_scale = failure_scale

    def complete(self, call: Call) -> Completion:
        rng = random.Random(f"{self.seed}:{call.key}:{call.model.name}:{call.purpose}:{call.retry}")
        vendor = VENDORS.get(call.model.provider, _DEFAULT_VENDOR)
        self._maybe_fail(rng, call.model, vendor)
        usage, finish = _usage(rng, call, vendor)
        return Completion(
            text=_text(rng, call),
            response_model=call.model.name,
            response_id=f"sim-{call.key}-{call.attempt}",
            finish_reason=finish,
            usage=usage,
            latency_ns=_latency_ns(rng, call.model, vendor, usage),
            server_address=call.model.server,
            server_port=443,
            simulated=True,
        )

    def generate_images(self, model: ModelSpec, prompt: str, n: int, timeout_s: float) -> Images:
        """`n` placeholder images (a 1x1 PNG each), with a realistic generation time."""
        rng = random.Random(f"{self.seed}:{prompt[:256]}:{model.name}:{n}")
        vendor = VENDORS.get(model.provider, _DEFAULT_VENDOR)
        self._maybe_fail(rng, model, vendor)
        seconds = IMAGE_SECONDS[model.tier] * math.exp(rng.gauss(0.0, 0.25))
        return Images(
            images=tuple(PLACEHOLDER_PNG for _ in range(n)),
            response_model=model.name,
            latency_ns=_ns(seconds * 1000),
            server_address=model.server,
            server_port=443,
        )

    def _maybe_fail(self, rng: random.Random, model: ModelSpec, vendor: Vendor) -> None:
        if rng.random() >= FAILURE_P[model.tier] * self.failure_scale:
            return
        kind = rng.random()
        if kind < 0.45:
            ms = rng.uniform(30, 120)
            raise RateLimited("429", f"{model.name}: rate limited", latency_ns=_ns(ms))
        if kind < 0.70:
            ms = rng.uniform(150, 900)
            raise ServerError("500", f"{model.name}: internal server error", latency_ns=_ns(ms))
        if kind < 0.85:
            ms = rng.uniform(50, 400)
            raise Overloaded(vendor.overload_type, f"{model.name}: overloaded", latency_ns=_ns(ms))
        raise Timeout("timeout", f"{model.name}: no answer in 30 s", latency_ns=_ns(TIMEOUT_MS))


def _text(rng: random.Random, call: Call) -> str:
    """The answer's text: canned, but verdicts and occasional disagreement are realistic."""
    if call.purpose == "verify":
        return "PASS" if rng.random() < VERIFY_PASS_P else "FAIL: it misses part of the request."
    answer = f"[simulated] {ANSWERS[call.category]}"
    if call.purpose == "answer" and rng.random() < DISAGREE_P[call.model.tier]:
        answer += " (An alternative reading of the request.)"
    return answer


def _ns(ms: float) -> int:
    return int(ms * NS_PER_MS)


def _cached(rng: random.Random, n_in: int, vendor: Vendor) -> tuple[int, int]:
    """(cache-read, cache-write) tokens of a prompt of n_in tokens."""
    if vendor.cache_min_tokens == 0 or n_in < vendor.cache_min_tokens:
        return 0, 0
    draw = rng.random()
    if draw < vendor.cache_read_p:
        # cached prefixes come in 128-token blocks
        return int(n_in * rng.uniform(0.5, 0.9)) // 128 * 128, 0
    if draw < vendor.cache_read_p + vendor.cache_write_p:
        return 0, int(n_in * rng.uniform(0.5, 0.9)) // 128 * 128
    return 0, 0


def _usage(rng: random.Random, call: Call, vendor: Vendor) -> tuple[Usage, str]:
    n_in = int(estimate_tokens(call.prompt) * vendor.token_factor) + 8
    read, write = _cached(rng, n_in, vendor)
    median = OUTPUT_MEDIAN.get(call.category, 400) * COMPLEXITY_STRETCH.get(call.complexity, 1.0)
    if call.purpose == "verify":
        median = 6  # a verdict: PASS, or FAIL and a reason
    visible = max(1, int(median * math.exp(rng.gauss(0.0, 0.6))))
    reasoning = 0
    if vendor.thinks and "reasoning" in call.model.strengths:
        ratio = REASONING_RATIO.get(call.complexity, 1.0)
        reasoning = int(visible * ratio * math.exp(rng.gauss(0.0, 0.4)))
    cap = min(call.max_tokens, call.model.max_output)
    finish = "stop"
    if visible + reasoning > cap:
        finish = "length"
        reasoning = min(reasoning, cap // 2)
        visible = cap - reasoning
    usage = Usage(
        input_tokens=n_in,
        output_tokens=visible + reasoning,
        cache_read_tokens=read,
        cache_write_tokens=write,
        reasoning_tokens=reasoning,
    )
    return usage, finish


def _latency_ns(rng: random.Random, model: ModelSpec, vendor: Vendor, usage: Usage) -> int:
    ttft = TTFT_MS[model.tier] * math.exp(rng.gauss(0.0, 0.3))
    prefill = (usage.input_tokens - usage.cache_read_tokens) / PREFILL_TOKENS_PER_S * 1000
    speed = TOKENS_PER_S[model.tier] * vendor.tokens_per_s_factor
    decode = usage.output_tokens / speed * 1000
    return _ns(ttft + prefill + decode)
