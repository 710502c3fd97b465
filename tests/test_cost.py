"""Exact cost math (catalog/cost.py) and the price cards load_catalog() takes from genai-prices."""

from __future__ import annotations

from decimal import Decimal

import genai_prices
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog import ModelSpec, Price, Rate, Usage, add_costs, cost, load_catalog

CATALOG = load_catalog()


def price_of(name: str) -> Price:
    price = CATALOG.get(name).price
    assert price is not None, f"{name} should be priced"
    return price


def reference(spec: ModelSpec, usage: Usage) -> Decimal:
    """genai-prices' own figure for `usage` (both use inclusive input and output totals)."""
    theirs = genai_prices.Usage(
        input_tokens=usage.input_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        output_tokens=usage.output_tokens,
        output_reasoning_tokens=usage.reasoning_tokens,
    )
    calc = genai_prices.calc_price(theirs, spec.price_model, provider_id=spec.price_provider)
    return calc.total_price


# ---------------------------------------------------------------------------- hand-computed


def test_plain_input_and_output() -> None:
    # gpt-4o-mini: $0.15/M in, $0.60/M out
    # 12_345 * 0.15 = 1_851.75 ; 678 * 0.6 = 406.8 ; (1_851.75 + 406.8) / 1e6 = 0.00225855
    usage = Usage(input_tokens=12_345, output_tokens=678)
    assert cost(price_of("gpt-4o-mini"), usage) == Decimal("0.00225855")


def test_cached_read_input_openai() -> None:
    # gpt-4o-mini: 10_000 input tokens of which 4_000 cached ($0.075/M), rest $0.15/M
    # 6_000 * 0.15 = 900 ; 4_000 * 0.075 = 300 ; 1_000 * 0.6 = 600 ; 1_800 / 1e6 = 0.0018
    usage = Usage(input_tokens=10_000, cache_read_tokens=4_000, output_tokens=1_000)
    assert cost(price_of("gpt-4o-mini"), usage) == Decimal("0.0018")


def test_anthropic_cache_write_and_read() -> None:
    # claude-haiku-4-5: in $1/M, cache write $1.25/M, cache read $0.10/M, out $5/M
    # 10_000 input = 3_000 plain + 2_000 written + 5_000 read
    # 3_000 * 1 = 3_000 ; 2_000 * 1.25 = 2_500 ; 5_000 * 0.1 = 500 ; 1_000 * 5 = 5_000
    # (3_000 + 2_500 + 500 + 5_000) / 1e6 = 0.011
    usage = Usage(
        input_tokens=10_000, cache_write_tokens=2_000, cache_read_tokens=5_000, output_tokens=1_000
    )
    assert cost(price_of("claude-haiku-4-5"), usage) == Decimal("0.011")


def test_reasoning_tokens_at_output_rate_when_no_reasoning_rate() -> None:
    # gpt-5: in $1.25/M, out $10/M, no separate reasoning rate
    # 2_000 * 1.25 = 2_500 ; 3_000 output (2_500 of them reasoning) * 10 = 30_000
    # 32_500 / 1e6 = 0.0325
    price = price_of("gpt-5")
    assert price.reasoning is None
    usage = Usage(input_tokens=2_000, output_tokens=3_000, reasoning_tokens=2_500)
    assert cost(price, usage) == Decimal("0.0325")


def test_reasoning_tokens_at_their_own_rate() -> None:
    # in $1/M, out $4/M, reasoning $2/M
    # 1_000 * 1 = 1_000 ; plain output 1_000 * 4 = 4_000 ; reasoning 2_000 * 2 = 4_000
    # 9_000 / 1e6 = 0.009
    price = Price(
        input=Rate(Decimal(1)),
        output=Rate(Decimal(4)),
        reasoning=Rate(Decimal(2)),
        source="test",
    )
    usage = Usage(input_tokens=1_000, output_tokens=3_000, reasoning_tokens=2_000)
    assert cost(price, usage) == Decimal("0.009")


def test_cached_tokens_at_input_rate_without_cache_read_rate() -> None:
    # groq llama-3.1-8b-instant: in $0.05/M, out $0.08/M, no cache-read rate
    # all 10_000 input tokens (4_000 cached) * 0.05 = 500 ; 1_000 * 0.08 = 80
    # 580 / 1e6 = 0.00058
    price = price_of("llama-3.1-8b-instant")
    assert price.cache_read is None
    usage = Usage(input_tokens=10_000, cache_read_tokens=4_000, output_tokens=1_000)
    assert cost(price, usage) == Decimal("0.00058")


# Tier cliffs: above 200_000 input tokens every token of every class is at the tier rate.
TIER_CASES = [
    # claude-sonnet-4-5 base: in 3, cache read 0.3, cache write 3.75, out 15
    # 140_000 * 3 = 420_000 ; 50_000 * 0.3 = 15_000 ; 10_000 * 3.75 = 37_500 ;
    # 2_000 * 15 = 30_000 ; 502_500 / 1e6 = 0.5025
    ("claude-sonnet-4-5", 200_000, 50_000, 10_000, 2_000, 0, Decimal("0.5025")),
    # tier: in 6, cache read 0.6, cache write 7.5, out 22.5
    # 140_001 * 6 = 840_006 ; 50_000 * 0.6 = 30_000 ; 10_000 * 7.5 = 75_000 ;
    # 2_000 * 22.5 = 45_000 ; 990_006 / 1e6 = 0.990006
    ("claude-sonnet-4-5", 200_001, 50_000, 10_000, 2_000, 0, Decimal("0.990006")),
    # gemini-2.5-pro base: in 1.25, cache read 0.125, out 10 (reasoning at the output rate)
    # 180_000 * 1.25 = 225_000 ; 20_000 * 0.125 = 2_500 ; 3_000 * 10 = 30_000
    # 257_500 / 1e6 = 0.2575
    ("gemini-2.5-pro", 200_000, 20_000, 0, 3_000, 1_000, Decimal("0.2575")),
    # tier: in 2.5, cache read 0.25, out 15
    # 180_001 * 2.5 = 450_002.5 ; 20_000 * 0.25 = 5_000 ; 3_000 * 15 = 45_000
    # 500_002.5 / 1e6 = 0.5000025
    ("gemini-2.5-pro", 200_001, 20_000, 0, 3_000, 1_000, Decimal("0.5000025")),
]


@pytest.mark.parametrize(
    ("model", "n_in", "cache_read", "cache_write", "n_out", "reasoning", "expected"), TIER_CASES
)
def test_tier_cliff(
    model: str,
    n_in: int,
    cache_read: int,
    cache_write: int,
    n_out: int,
    reasoning: int,
    expected: Decimal,
) -> None:
    usage = Usage(
        input_tokens=n_in,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        output_tokens=n_out,
        reasoning_tokens=reasoning,
    )
    assert price_of(model).tier_start == 200_000
    assert cost(price_of(model), usage) == expected


def test_rate_at_is_a_cliff() -> None:
    rate = Rate(Decimal(3), ((200_000, Decimal(6)), (500_000, Decimal(9))))
    assert [rate.at(n) for n in (0, 200_000, 200_001, 500_000, 500_001)] == [
        Decimal(3),
        Decimal(3),
        Decimal(6),
        Decimal(6),
        Decimal(9),
    ]


def test_unpriced_is_none_never_zero() -> None:
    assert cost(None, Usage(input_tokens=1, output_tokens=1)) is None


@pytest.mark.parametrize("price", [None, Price(Rate(Decimal(3)), Rate(Decimal(15)))])
def test_zero_usage_costs_zero_even_when_unpriced(price: Price | None) -> None:
    result = cost(price, Usage())
    assert result == Decimal(0)
    assert isinstance(result, Decimal)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([], Decimal(0)),
        ([Decimal("0.1"), Decimal("0.2")], Decimal("0.3")),  # exact, unlike 0.1 + 0.2 in floats
        ([Decimal("0.1"), None, Decimal("0.2")], None),
        ([None], None),
    ],
)
def test_add_costs(parts: list[Decimal | None], expected: Decimal | None) -> None:
    assert add_costs(parts) == expected


def test_usage_addition() -> None:
    total = Usage(10, 5, 3, 2, 1) + Usage(1, 2, 3, 4, 5)
    assert total == Usage(
        input_tokens=11,
        output_tokens=7,
        cache_read_tokens=6,
        cache_write_tokens=6,
        reasoning_tokens=6,
    )


# ---------------------------------------------------------------- cross-check with genai-prices

SHAPES = {
    "plain": Usage(input_tokens=1_234, output_tokens=567),
    "cached": Usage(input_tokens=10_000, cache_read_tokens=3_000, output_tokens=800),
    "cache-write": Usage(
        input_tokens=10_000, cache_read_tokens=2_000, cache_write_tokens=1_500, output_tokens=800
    ),
    "reasoning": Usage(input_tokens=1_500, output_tokens=4_000, reasoning_tokens=3_000),
    "all-classes": Usage(
        input_tokens=50_000,
        cache_read_tokens=10_000,
        cache_write_tokens=5_000,
        output_tokens=2_000,
        reasoning_tokens=1_000,
    ),
    "at-200k": Usage(
        input_tokens=200_000,
        cache_read_tokens=40_000,
        cache_write_tokens=10_000,
        output_tokens=3_000,
        reasoning_tokens=1_000,
    ),
    "above-200k": Usage(
        input_tokens=250_000,
        cache_read_tokens=40_000,
        cache_write_tokens=10_000,
        output_tokens=3_000,
        reasoning_tokens=1_000,
    ),
}


def _cross_cases() -> list[tuple[str, str]]:
    cases = []
    for spec in CATALOG:
        if spec.kind != "text":
            continue  # image models are priced per image (tests/test_images.py)
        for shape, usage in SHAPES.items():
            # long prompts only where the window allows, or where the card has a long-context tier
            tiered = spec.price is not None and spec.price.tier_start is not None
            if usage.input_tokens <= spec.context_window or tiered:
                cases.append((spec.name, shape))
    return cases


CROSS_CASES = _cross_cases()


def test_cross_check_covers_every_model_and_long_prompts() -> None:
    assert {name for name, _ in CROSS_CASES} == {s.name for s in CATALOG if s.kind == "text"}
    above = {name for name, shape in CROSS_CASES if shape == "above-200k"}
    assert {"claude-sonnet-4-5", "gemini-2.5-pro", "gpt-4.1", "gpt-5"} <= above


@pytest.mark.parametrize(("model", "shape"), CROSS_CASES)
def test_cost_matches_genai_prices(model: str, shape: str) -> None:
    spec = CATALOG.get(model)
    usage = SHAPES[shape]
    assert cost(spec.price, usage) == reference(spec, usage)


# ------------------------------------------------------------------------------- properties

PROPERTY_MODELS = [
    "gpt-4o-mini",
    "claude-haiku-4-5",
    "claude-sonnet-4-5",
    "gemini-2.5-pro",
    "llama-3.1-8b-instant",
    "gpt-5",
]


@st.composite
def usages(draw: st.DrawFn) -> Usage:
    n_in = draw(st.integers(0, 1_200_000))
    cache_read = draw(st.integers(0, n_in))
    cache_write = draw(st.integers(0, n_in - cache_read))
    n_out = draw(st.integers(0, 200_000))
    reasoning = draw(st.integers(0, n_out))
    return Usage(n_in, n_out, cache_read, cache_write, reasoning)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(model=st.sampled_from(PROPERTY_MODELS), usage=usages(), extra=st.integers(1, 50_000))
def test_cost_properties(model: str, usage: Usage, extra: int) -> None:
    spec = CATALOG.get(model)
    result = cost(spec.price, usage)
    assert result is not None
    assert result >= 0
    assert result == reference(spec, usage)
    more_output = Usage(
        usage.input_tokens,
        usage.output_tokens + extra,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
        usage.reasoning_tokens,
    )
    more = cost(spec.price, more_output)
    assert more is not None
    assert more > result


@pytest.mark.parametrize(
    "usage",
    [
        Usage(input_tokens=0, cache_read_tokens=100),  # Anthropic-style exclusive input count
        Usage(input_tokens=10, output_tokens=5, reasoning_tokens=6),
        Usage(input_tokens=10, cache_write_tokens=-1),
    ],
)
def test_inconsistent_usage_is_refused_not_priced_negative(usage: Usage) -> None:
    card = Price(Rate(Decimal("0.15")), Rate(Decimal("0.6")), cache_read=Rate(Decimal("0.075")))
    with pytest.raises(ValueError, match="inconsistent usage"):
        cost(card, usage)
