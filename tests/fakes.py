"""Scripted fakes: a provider that answers from a script, and a small priced catalog."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from catalog import Catalog, ModelSpec, Price, Rate, Usage
from router import parse_config
from router.classifier import CATEGORIES
from router.config import RouterConfig
from router.errors import ProviderError, ServerError
from router.providers.base import Call, Completion, Delta


def spec(
    name: str,
    *,
    intelligence: int,
    coding: int = 0,
    price: Price | None = None,
    context_window: int = 128_000,
    strengths: tuple[str, ...] = (),
) -> ModelSpec:
    return ModelSpec(
        name=name,
        provider="openai",
        context_window=context_window,
        max_output=16_000,
        intelligence=intelligence,
        coding=coding,
        tier="economy",
        strengths=strengths,
        price=price,
        otel_provider="openai",
        server="api.example.test",
        price_provider="openai",
        price_model=name,
    )


def price(inp: str, out: str, cached: str | None = None) -> Price:
    return Price(
        Rate(Decimal(inp)),
        Rate(Decimal(out)),
        cache_read=Rate(Decimal(cached)) if cached else None,
        source="test",
    )


# cheap < mid < strong; "big" has a large window; "baseline" is the single-model reference
CATALOG = Catalog(
    (
        spec(
            "cheap",
            intelligence=30,
            coding=20,
            price=price("0.10", "0.40", "0.025"),
            context_window=8_000,
        ),
        spec("mid", intelligence=50, coding=45, price=price("0.50", "2", "0.05")),
        spec(
            "strong",
            intelligence=70,
            coding=65,
            price=price("3", "15", "0.30"),
            strengths=("reasoning",),
        ),
        spec("big", intelligence=45, coding=30, price=price("1", "4"), context_window=1_000_000),
        spec("mystery", intelligence=90, coding=90, price=None),
        spec("baseline", intelligence=65, coding=60, price=price("3", "15", "0.30")),
    )
)


def config(
    faults: Mapping[str, Any] | None = None,
    rate_limits: Mapping[str, Any] | None = None,
    **categories: Mapping[str, Any],
) -> RouterConfig:
    """Floors everywhere; no retries unless `faults` asks for them (fallback tests stay simple)."""
    cats: dict[str, Any] = {c: {"floors": {"basic": {"intelligence": 20}}} for c in CATEGORIES}
    cats.update(categories)
    raw = {
        "baseline": "baseline",
        "categories": cats,
        "faults": faults or {"max_retries": 0},
        "rate_limits": rate_limits or {},
    }
    return parse_config(raw, "test.yaml")


class ScriptedProvider:
    """Answers each model's calls from a script of Usage (success) or ProviderError (failure)."""

    name = "scripted"

    def __init__(
        self, script: Mapping[str, list[Usage | ProviderError]], latency_ns: int = 250_000_000
    ) -> None:
        self.script = {k: list(v) for k, v in script.items()}
        self.latency_ns = latency_ns
        self.calls: list[Call] = []

    def complete(self, call: Call) -> Completion:
        self.calls.append(call)
        outcome = self.script[call.model.name].pop(0)
        if isinstance(outcome, ProviderError):
            raise outcome
        return Completion(
            text=f"answer from {call.model.name}",
            response_model=call.model.name,
            response_id=f"r-{len(self.calls)}",
            finish_reason="stop",
            usage=outcome,
            latency_ns=self.latency_ns,
            server_address="api.example.test",
            server_port=443,
            simulated=False,
        )


class StreamingScripted(ScriptedProvider):
    """Streams the scripted answer in two pieces; `break_after_first` fails mid-stream."""

    def __init__(
        self,
        script: Mapping[str, list[Usage | ProviderError]],
        break_after_first: set[str] | None = None,
    ) -> None:
        super().__init__(script)
        self.break_after_first = break_after_first or set()

    def stream(self, call: Call):  # type: ignore[no-untyped-def]
        done = self.complete(call)
        half = len(done.text) // 2
        yield Delta(done.text[:half])
        if call.model.name in self.break_after_first:
            raise ServerError("500", "connection dropped mid-stream")
        yield Delta(done.text[half:])
        yield done
