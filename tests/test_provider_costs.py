"""Cost truth per provider: real SDK -> adapter usage -> exact price, figures computed by hand.

Each case goes through the loopback server in that provider's wire format, so the adapters'
token normalisation (Anthropic's input excludes cache; Gemini's candidates exclude thoughts)
is part of what is checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from catalog import cost, load_catalog
from router.providers.base import Call, Provider
from tests.loopback import LoopbackServer

CATALOG = load_catalog()


@pytest.fixture(scope="module")
def srv() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


def anthropic(url: str) -> Provider:
    from router.providers.anthropic_api import AnthropicProvider

    return AnthropicProvider("test-key", base_url=url)


def openai_chat(url: str) -> Provider:
    from router.providers.openai_api import OpenAIProvider

    return OpenAIProvider("test-key", base_url=url + "/v1")


def openai_responses(url: str) -> Provider:
    from router.providers.openai_api import OpenAIProvider

    return OpenAIProvider("test-key", base_url=url + "/v1", api="responses")


def gemini(url: str) -> Provider:
    from router.providers.gemini_api import GeminiProvider

    return GeminiProvider("test-key", base_url=url)


# (adapter, model, usage programmed on the server, expected cost, the arithmetic)
CASES: list[tuple[Callable[[str], Provider], str, dict[str, int], str, str]] = [
    (
        openai_chat,
        "gpt-4o-mini",
        {"input_tokens": 1_000, "output_tokens": 500},
        "0.00045",
        "1000 x 0.15 + 500 x 0.60 = 150 + 300",
    ),
    (
        openai_responses,
        "gpt-4.1",
        {"input_tokens": 300_000, "output_tokens": 1_000},
        "0.608",
        "no long-context tier on gpt-4.1: 300000 x 2 + 1000 x 8 = 600000 + 8000",
    ),
    (
        gemini,
        "gemini-2.0-flash",
        {"input_tokens": 1_000, "output_tokens": 500},
        "0.0003",
        "1000 x 0.10 + 500 x 0.40 = 100 + 200",
    ),
    (
        anthropic,
        "claude-haiku-4-5",
        {"input_tokens": 1_000, "output_tokens": 500},
        "0.0035",
        "1000 x 1 + 500 x 5 = 3500",
    ),
    (
        anthropic,
        "claude-haiku-4-5",
        {"input_tokens": 10_000, "cache_read_tokens": 8_000, "output_tokens": 100},
        "0.0033",
        "2000 x 1 + 8000 x 0.10 + 100 x 5 = 2000 + 800 + 500 = 3300",
    ),
    (
        anthropic,
        "claude-haiku-4-5",
        {"input_tokens": 10_000, "cache_write_tokens": 8_000, "output_tokens": 100},
        "0.0125",
        "2000 x 1 + 8000 x 1.25 + 100 x 5 = 2000 + 10000 + 500 = 12500",
    ),
    (
        anthropic,
        "claude-sonnet-4-5",
        {"input_tokens": 250_000, "cache_read_tokens": 50_000, "output_tokens": 1_000},
        "1.2525",
        "above 200k: 200000 x 6 + 50000 x 0.60 + 1000 x 22.5 = 1200000 + 30000 + 22500",
    ),
    (
        openai_chat,
        "gpt-4o-mini",
        {"input_tokens": 2_000, "cache_read_tokens": 1_024, "output_tokens": 300},
        "0.0004032",
        "976 x 0.15 + 1024 x 0.075 + 300 x 0.6 = 146.4 + 76.8 + 180 = 403.2",
    ),
    (
        openai_chat,
        "gpt-5-mini",
        {"input_tokens": 1_000, "output_tokens": 2_000, "reasoning_tokens": 1_500},
        "0.00425",
        "1000 x 0.25 + 2000 x 2 (reasoning at the output rate) = 250 + 4000",
    ),
    (
        openai_responses,
        "gpt-5",
        {
            "input_tokens": 4_000,
            "cache_read_tokens": 2_000,
            "output_tokens": 800,
            "reasoning_tokens": 600,
        },
        "0.01075",
        "2000 x 1.25 + 2000 x 0.125 + 800 x 10 = 2500 + 250 + 8000",
    ),
    (
        gemini,
        "gemini-2.5-flash",
        {
            "input_tokens": 3_000,
            "cache_read_tokens": 1_000,
            "output_tokens": 700,
            "reasoning_tokens": 400,
        },
        "0.00238",
        "2000 x 0.30 + 1000 x 0.03 + 700 x 2.50 (thoughts billed as output) = 600 + 30 + 1750",
    ),
    (
        gemini,
        "gemini-2.5-pro",
        {"input_tokens": 250_000, "output_tokens": 2_000},
        "0.655",
        "above 200k: 250000 x 2.50 + 2000 x 15 = 625000 + 30000",
    ),
]


@pytest.mark.parametrize(
    ("make", "model", "usage", "expected", "why"),
    CASES,
    ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)],
)
def test_exact_cost_through_the_real_sdk(
    srv: LoopbackServer,
    make: Callable[[str], Provider],
    model: str,
    usage: dict[str, Any],
    expected: str,
    why: str,
) -> None:
    srv.reset()
    srv.respond(text="ok", **usage)
    spec = CATALOG.get(model)
    done = make(srv.url).complete(Call(spec, "price me", 4096, 0, "k"))
    assert done.usage.input_tokens == usage["input_tokens"]
    assert done.usage.output_tokens == usage["output_tokens"]
    assert done.usage.cache_read_tokens == usage.get("cache_read_tokens", 0)
    assert done.usage.cache_write_tokens == usage.get("cache_write_tokens", 0)
    assert done.usage.reasoning_tokens == usage.get("reasoning_tokens", 0)
    assert cost(spec.price, done.usage) == Decimal(expected), why
