"""Price cards from the genai-prices package (offline data) and from config entries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from catalog.cost import Price, Rate
from catalog.errors import BadModelData

# genai-prices price keys -> our token classes
_KEYS = {
    "input": "input_mtok",
    "output": "output_mtok",
    "cache_read": "cache_read_mtok",
    "cache_write": "cache_write_mtok",
    "reasoning": "output_reasoning_mtok",
}


def _rate(value: Any) -> Rate | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return Rate(value)
    tiers = tuple((int(t.start), Decimal(t.price)) for t in value.tiers)
    return Rate(Decimal(value.base), tiers)


def genai_price(provider_id: str, model_ref: str, when: datetime | None = None) -> Price | None:
    """The price card genai-prices holds for a model, or None when it does not know it."""
    from genai_prices import __version__ as version
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    try:
        _, info = snapshot.find_provider_model(model_ref, None, provider_id, None)
    except LookupError:
        return None
    card = info.get_prices(when or datetime.now(UTC))
    rates = {ours: _rate(getattr(card, theirs, None)) for ours, theirs in _KEYS.items()}
    if rates["input"] is None or rates["output"] is None:
        return None
    return Price(
        input=rates["input"],
        output=rates["output"],
        cache_read=rates["cache_read"],
        cache_write=rates["cache_write"],
        reasoning=rates["reasoning"],
        source=f"genai-prices {version}",
    )


def _decimal(where: str, key: str, value: object) -> Decimal:
    try:
        # str() first: a YAML float such as 0.15 must become Decimal('0.15'), not its binary twin
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise BadModelData(
            f"{where}: prices.{key} must be a number of US dollars per 1M tokens, got {value!r}"
        ) from None
    if not d.is_finite() or d < 0:
        raise BadModelData(f"{where}: prices.{key} must be a non-negative number, got {value!r}")
    return d


def image_price(where: str, value: object) -> Decimal:
    """US dollars per generated image, as written in the data file or config."""
    return _decimal(where, "per_image", value).normalize()


def config_price(where: str, prices: object) -> Price:
    """A price card written in config: `{input: 3, output: 15, cached_input: 0.3, ...}`."""
    if not isinstance(prices, Mapping):
        raise BadModelData(
            f"{where}: prices must be a mapping such as {{input: 3, output: 15}} "
            f"($ per 1M tokens), got {prices!r}"
        )
    names = {"input", "output", "cached_input", "cache_write", "reasoning"}
    unknown = set(prices) - names
    if unknown:
        raise BadModelData(
            f"{where}: unknown price key(s) {sorted(unknown)}; "
            f"use {sorted(names)} ($ per 1M tokens)"
        )
    for required in ("input", "output"):
        if required not in prices:
            raise BadModelData(f"{where}: prices.{required} is required ($ per 1M tokens)")

    def opt(key: str) -> Rate | None:
        return Rate(_decimal(where, key, prices[key])) if key in prices else None

    return Price(
        input=Rate(_decimal(where, "input", prices["input"])),
        output=Rate(_decimal(where, "output", prices["output"])),
        cache_read=opt("cached_input"),
        cache_write=opt("cache_write"),
        reasoning=opt("reasoning"),
        source="config",
    )
