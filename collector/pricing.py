"""Pricing other apps' GenAI spans at ingest, from the same catalog the router uses.

Spans from mmoa's router carry their exact cost (`mmoa.cost.usd`); spans from other
instrumentations (OpenTelemetry's openai-v2, OpenLIT, OpenLLMetry, ...) carry tokens only, or a
float `gen_ai.usage.cost` that is not money we can trust. The collector prices their tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from catalog import Catalog, Price, Usage, cost
from catalog.prices import genai_price

# gen_ai.provider.name (or legacy gen_ai.system) -> genai-prices provider id
PRICE_PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gemini": "google",
    "google": "google",
    "groq": "groq",
    "together": "together",
    "aws.bedrock": "aws",
    "azure.ai.openai": "azure",
    "mistral_ai": "mistral",
}


def _int(attrs: Mapping[str, Any], *keys: str) -> int:
    for key in keys:
        value = attrs.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 0


def usage_of(attrs: Mapping[str, Any]) -> Usage | None:
    """OTel-convention usage from a span's attributes (legacy names accepted); None if absent."""
    if not any(k in attrs for k in ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")):
        return None
    return Usage(
        input_tokens=_int(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
        output_tokens=_int(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
        cache_read_tokens=_int(
            attrs, "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens"
        ),
        cache_write_tokens=_int(
            attrs,
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
        ),
        reasoning_tokens=_int(attrs, "gen_ai.usage.reasoning.output_tokens"),
    )


def make_pricer(catalog: Catalog) -> Callable[[Mapping[str, Any]], str | None]:
    """A function: span attributes -> exact cost as text, or None (unpriced / not a GenAI call)."""

    @lru_cache(maxsize=1024)
    def price_of(provider: str, model: str) -> Price | None:
        if model in catalog:
            return catalog.get(model).price
        provider_id = PRICE_PROVIDERS.get(provider)
        return genai_price(provider_id, model) if provider_id else None

    def pricer(attrs: Mapping[str, Any]) -> str | None:
        if "mmoa.cost.usd" in attrs or "gen_ai.operation.name" not in attrs:
            return None
        usage = usage_of(attrs)
        model = attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model")
        provider = attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system") or ""
        if usage is None or not isinstance(model, str):
            return None
        try:
            value = cost(price_of(str(provider), model), usage)
        except ValueError:  # token counts that do not add up: leave it unpriced
            return None
        return None if value is None else format(value, "f")

    return pricer
