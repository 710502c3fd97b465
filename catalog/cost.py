"""Pure cost math: token usage x price data -> exact US dollars.

Money is `Decimal` end to end; `None` means "unpriced", never zero. Token classes follow
genai-prices' rules: input counts include cached and cache-write tokens, output counts include
reasoning tokens, and a class without its own rate is charged at the plain input (or output)
rate. Tiered rates are cliffs: once the prompt's input tokens exceed a tier's start, every
token of that class is charged at the tier's rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Rate:
    """US dollars per million tokens, with optional cliff tiers keyed by total input tokens."""

    base: Decimal
    tiers: tuple[tuple[int, Decimal], ...] = ()

    def at(self, input_tokens: int) -> Decimal:
        """The rate that applies to a prompt of `input_tokens` tokens."""
        for start, price in reversed(self.tiers):
            if input_tokens > start:
                return price
        return self.base


@dataclass(frozen=True, slots=True)
class Price:
    """One model's price card. Missing optional rates fall back to input/output rates."""

    input: Rate
    output: Rate
    cache_read: Rate | None = None
    cache_write: Rate | None = None
    reasoning: Rate | None = None
    source: str = "genai-prices"

    @property
    def tier_start(self) -> int | None:
        """Input-token count above which long-context rates apply, if the card has tiers."""
        return self.input.tiers[0][0] if self.input.tiers else None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one call, in the OpenTelemetry GenAI convention (inclusive totals)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
        )


ZERO_USAGE = Usage()


def cost(price: Price | None, usage: Usage) -> Decimal | None:
    """Exact cost of `usage` under `price`; None when the model is unpriced."""
    if usage == ZERO_USAGE:
        return Decimal(0)  # nothing was billed, whatever the price card says
    if price is None:
        return None
    n_in = usage.input_tokens
    plain_in = n_in - usage.cache_read_tokens - usage.cache_write_tokens
    plain_out = usage.output_tokens - usage.reasoning_tokens
    if (
        plain_in < 0
        or plain_out < 0
        or min(usage.cache_read_tokens, usage.cache_write_tokens, usage.reasoning_tokens) < 0
    ):
        # e.g. Anthropic's input_tokens exclude cached tokens: adapters must add them back
        raise ValueError(
            f"inconsistent usage {usage}: input_tokens must include cached and "
            "cache-write tokens, output_tokens must include reasoning tokens"
        )
    in_rate = price.input.at(n_in)
    out_rate = price.output.at(n_in)
    total = in_rate * plain_in + out_rate * plain_out
    total += (price.cache_read or price.input).at(n_in) * usage.cache_read_tokens
    total += (price.cache_write or price.input).at(n_in) * usage.cache_write_tokens
    total += (price.reasoning or price.output).at(n_in) * usage.reasoning_tokens
    return total / MILLION


def add_costs(costs: list[Decimal | None]) -> Decimal | None:
    """Sum of costs, or None if any part is unpriced (an unknown part makes the total unknown)."""
    total = Decimal(0)
    for c in costs:
        if c is None:
            return None
        total += c
    return total


def images_cost(per_image: Decimal | None, count: int) -> Decimal | None:
    """Cost of `count` generated images; None when the model has no per-image price."""
    if count == 0:
        return Decimal(0)
    return None if per_image is None else per_image * count
