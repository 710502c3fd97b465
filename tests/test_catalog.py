"""The model catalog: shipped models, config overrides, lookups and malformed entries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import yaml

from catalog import BadModelData, Catalog, Price, Rate, UnknownModel, load_catalog

SEED_MODELS = [
    # Anthropic Haiku / Sonnet / Opus generations
    "claude-3-haiku-20240307",
    "claude-3-5-haiku-20241022",
    "claude-haiku-4-5",
    "claude-3-7-sonnet-20250219",
    "claude-sonnet-4-0",
    "claude-sonnet-4-5",
    "claude-opus-4-1",
    "claude-opus-4-5",
    # OpenAI
    "gpt-4o-mini",
    "gpt-4o",
    "gpt-4.1",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "o1",
    "o3-mini",
    # Google
    "gemini-2.0-flash",
    "gemini-2.5-flash",
    "gemini-2.5-pro",
    # Llama 3.1
    "llama-3.1-8b-instant",
    "llama-3.1-70b-versatile",
]

# A complete new model entry, as a user would write it under `models:`.
NEW_MODEL: dict[str, Any] = {
    "name": "my-model",
    "provider": "together",
    "context_window": 131_072,
    "max_output": 4_096,
    "intelligence": 33,
    "coding": 26,
    "tier": "economy",
    "strengths": ["fast"],
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.mark.parametrize("name", SEED_MODELS)
def test_seed_models_are_present_and_priced(catalog: Catalog, name: str) -> None:
    spec = catalog.get(name)
    assert spec.name == name
    assert spec.priced
    assert spec.price is not None
    assert spec.price.input.base > 0
    assert spec.price.output.base > 0


def test_every_shipped_model_is_priced(catalog: Catalog) -> None:
    assert [m.name for m in catalog if not m.priced] == []
    assert len(catalog) == 31


@pytest.mark.parametrize(
    ("name", "field", "expected"),
    [
        ("gpt-4o-mini", "input", Decimal("0.15")),
        ("gpt-4o-mini", "cache_read", Decimal("0.075")),
        ("gpt-4o-mini", "output", Decimal("0.6")),
        ("claude-haiku-4-5", "input", Decimal("1")),
        ("claude-haiku-4-5", "cache_read", Decimal("0.1")),
        ("claude-haiku-4-5", "cache_write", Decimal("1.25")),
        ("claude-haiku-4-5", "output", Decimal("5")),
        ("claude-sonnet-4-5", "input", Decimal("3")),
        ("claude-sonnet-4-5", "output", Decimal("15")),
        ("gemini-2.5-pro", "input", Decimal("1.25")),
        ("gemini-2.5-pro", "output", Decimal("10")),
        ("llama-3.1-8b-instant", "input", Decimal("0.05")),
        ("llama-3.1-8b-instant", "output", Decimal("0.08")),
    ],
)
def test_exact_base_prices(catalog: Catalog, name: str, field: str, expected: Decimal) -> None:
    price = catalog.get(name).price
    assert price is not None
    rate = getattr(price, field)
    assert rate == Rate(expected, rate.tiers)


def test_long_context_tiers(catalog: Catalog) -> None:
    sonnet = catalog.get("claude-sonnet-4-5").price
    assert sonnet is not None
    assert sonnet.input.tiers == ((200_000, Decimal("6")),)
    assert sonnet.output.tiers == ((200_000, Decimal("22.5")),)
    gemini = catalog.get("gemini-2.5-pro").price
    assert gemini is not None
    assert gemini.input.tiers == ((200_000, Decimal("2.5")),)
    assert gemini.output.tiers == ((200_000, Decimal("15")),)


def test_provider_facts_from_data_file(catalog: Catalog) -> None:
    gemini = catalog.get("gemini-2.5-flash")
    assert (gemini.provider, gemini.otel_provider, gemini.server) == (
        "google",
        "gcp.gemini",
        "generativelanguage.googleapis.com",
    )
    haiku = catalog.get("claude-3-5-haiku-20241022")
    assert (haiku.price_provider, haiku.price_model) == ("anthropic", "claude-3-5-haiku")


# ------------------------------------------------------------------------------- overrides


def test_config_adds_a_priced_model() -> None:
    # YAML floats (0.5 here, 0.15 below) must become the exact decimal written, not binary floats
    entry = {**NEW_MODEL, "prices": {"input": 1, "output": 2, "cached_input": 0.5}}
    spec = load_catalog([entry], where="x.yaml").get("my-model")
    assert spec.price == Price(
        input=Rate(Decimal("1")),
        output=Rate(Decimal("2")),
        cache_read=Rate(Decimal("0.5")),
        source="config",
    )
    assert (spec.provider, spec.intelligence, spec.tier, spec.strengths) == (
        "together",
        33,
        "economy",
        ("fast",),
    )


def test_yaml_float_price_becomes_exact_decimal() -> None:
    (entry,) = yaml.safe_load("- {name: gpt-4o-mini, prices: {input: 0.15, output: 0.6}}")
    assert isinstance(entry["prices"]["input"], float)
    price = load_catalog([entry], where="x.yaml").get("gpt-4o-mini").price
    assert price is not None
    assert price.input.base == Decimal("0.15")
    assert price.input.base.as_tuple() == Decimal("0.15").as_tuple()
    assert price.output.base == Decimal("0.6")


def test_config_overrides_existing_price_and_intelligence() -> None:
    override = {"name": "gpt-4o", "intelligence": 50, "prices": {"input": 2, "output": 8}}
    catalog = load_catalog([override], where="x.yaml")
    spec = catalog.get("gpt-4o")
    assert spec.intelligence == 50
    assert spec.price == Price(Rate(Decimal(2)), Rate(Decimal(8)), source="config")
    # the rest of the entry is kept, and the other models are untouched
    assert (spec.provider, spec.context_window, spec.coding) == ("openai", 128_000, 32)
    mini = catalog.get("gpt-4o-mini").price
    assert mini is not None
    assert mini.input.base == Decimal("0.15")


def test_override_without_prices_keeps_genai_price() -> None:
    spec = load_catalog([{"name": "gpt-4o-mini", "intelligence": 40}], where="x.yaml").get(
        "gpt-4o-mini"
    )
    assert spec.intelligence == 40
    assert spec.price is not None
    assert (spec.price.input.base, spec.price.output.base) == (Decimal("0.15"), Decimal("0.6"))


def test_model_unknown_to_genai_prices_is_unpriced() -> None:
    catalog = load_catalog([NEW_MODEL], where="x.yaml")
    spec = catalog.get("my-model")
    assert spec.price is None
    assert not spec.priced
    assert len(catalog) == 32


# --------------------------------------------------------------------------------- lookups


def test_unknown_model_suggests_close_names(catalog: Catalog) -> None:
    with pytest.raises(UnknownModel) as info:
        catalog.get("gpt-4o-mni")
    err = info.value
    assert err.name == "gpt-4o-mni"
    assert err.suggestions[0] == "gpt-4o-mini"
    assert str(err) == (
        "unknown model 'gpt-4o-mni'. Did you mean gpt-4o-mini, gpt-4.1-mini, gpt-5-mini? "
        "Run `mmoa models` for the catalog, or add it under `models:` in mmoa.yaml."
    )
    assert isinstance(err, KeyError)


def test_unknown_model_without_close_names(catalog: Catalog) -> None:
    with pytest.raises(UnknownModel) as info:
        catalog.get("zzzz")
    assert info.value.suggestions == []
    assert "Did you mean" not in str(info.value)
    assert "add it under `models:`" in str(info.value)


def test_catalog_membership(catalog: Catalog) -> None:
    assert "gpt-4o-mini" in catalog
    assert "gpt-4o-mni" not in catalog


# ----------------------------------------------------------------------------- bad entries

BAD_ENTRIES = [
    ("bad-tier", {"name": "gpt-4o-mini", "tier": "gold"}, "tier must be one of"),
    ("intelligence>100", {**NEW_MODEL, "intelligence": 150}, "intelligence"),
    ("coding<0", {**NEW_MODEL, "coding": -1}, "coding"),
    ("float-window", {**NEW_MODEL, "context_window": 1.5}, "context_window"),
    ("bool-score", {**NEW_MODEL, "intelligence": True}, "intelligence"),
    ("unknown-strength", {**NEW_MODEL, "strengths": ["telepathy"]}, "strengths"),
    (
        "negative-price",
        {"name": "gpt-4o-mini", "prices": {"input": -1, "output": 2}},
        "prices.input",
    ),
    (
        "text-price",
        {"name": "gpt-4o-mini", "prices": {"input": "abc", "output": 2}},
        "prices.input",
    ),
    (
        "infinite-price",
        {"name": "gpt-4o-mini", "prices": {"input": 1, "output": float("inf")}},
        "prices.output",
    ),
    (
        "unknown-price-key",
        {"name": "gpt-4o-mini", "prices": {"input": 1, "output": 2, "cache_read": 0.1}},
        "cache_read",
    ),
    ("missing-output-price", {"name": "gpt-4o-mini", "prices": {"input": 1}}, "prices.output"),
    ("missing-name", {k: v for k, v in NEW_MODEL.items() if k != "name"}, "`name`"),
    ("missing-provider", {k: v for k, v in NEW_MODEL.items() if k != "provider"}, "`provider`"),
]


@pytest.mark.parametrize(
    ("entry", "key"), [case[1:] for case in BAD_ENTRIES], ids=[case[0] for case in BAD_ENTRIES]
)
def test_bad_entry_names_file_and_key(entry: dict[str, Any], key: str) -> None:
    with pytest.raises(BadModelData) as info:
        load_catalog([entry], where="x.yaml")
    message = str(info.value)
    assert message.startswith("x.yaml")
    assert key in message


def test_bad_entry_names_the_model() -> None:
    with pytest.raises(BadModelData) as info:
        load_catalog([{"name": "gpt-4o-mini", "tier": "gold"}], where="x.yaml")
    assert "(gpt-4o-mini)" in str(info.value)
    assert "'gold'" in str(info.value)
    assert "['economy', 'standard', 'premium']" in str(info.value)


def test_missing_name_gives_the_config_index() -> None:
    with pytest.raises(BadModelData) as info:
        load_catalog([{"name": "gpt-4o-mini"}, {"provider": "openai"}], where="x.yaml")
    assert str(info.value) == "x.yaml: models[1] needs a `name`"


@pytest.mark.parametrize(
    "entry", [{**NEW_MODEL, "tier": "gold"}, {"name": "gpt-4o-mini", "tier": "gold"}]
)
def test_bad_entry_index_is_the_config_index(entry: dict[str, Any]) -> None:
    with pytest.raises(BadModelData) as info:
        load_catalog([entry], where="x.yaml")
    assert "x.yaml models[0]" in str(info.value)


def test_null_prices_is_bad_model_data() -> None:
    with pytest.raises(BadModelData):
        load_catalog([{"name": "gpt-4o-mini", "prices": None}], where="x.yaml")
