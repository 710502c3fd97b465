"""The model catalog: capability data (catalog/models.yaml) joined with price cards."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from typing import Any

import yaml

from catalog.cost import Price
from catalog.errors import BadModelData, UnknownModel
from catalog.prices import config_price, genai_price, image_price

TIERS = ("economy", "standard", "premium")
KINDS = ("text", "image")
STRENGTHS = ("large_context", "coding", "reasoning", "vision", "fast", "writing")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model: who serves it, what it can do, what it costs (None = unpriced)."""

    name: str
    provider: str
    context_window: int
    max_output: int
    intelligence: int
    coding: int
    tier: str
    strengths: tuple[str, ...]
    price: Price | None
    otel_provider: str
    server: str
    price_provider: str
    price_model: str
    kind: str = "text"  # "text" (chat) or "image" (image generation, priced per image)
    per_image: Decimal | None = None  # US dollars per generated image (image models)

    @property
    def priced(self) -> bool:
        return (self.per_image if self.kind == "image" else self.price) is not None


@dataclass(frozen=True)
class Catalog:
    """An immutable set of models, looked up by name."""

    models: tuple[ModelSpec, ...]
    _by_name: dict[str, ModelSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {m.name: m for m in self.models})

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> ModelSpec:
        """The model called `name`; UnknownModel (with close matches) otherwise."""
        try:
            return self._by_name[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._by_name), n=3, cutoff=0.5)
            raise UnknownModel(name, close) from None


def _load_data() -> dict[str, Any]:
    text = resources.files("catalog").joinpath("models.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


_INT_FIELDS = ("context_window", "max_output", "intelligence", "coding")


def _check(where: str, entry: Mapping[str, Any]) -> None:
    for key in _INT_FIELDS:
        value = entry.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise BadModelData(f"{where}: {key} must be a non-negative integer, got {value!r}")
    for key in ("intelligence", "coding"):
        if entry[key] > 100:
            raise BadModelData(f"{where}: {key} is a 0-100 score, got {entry[key]!r}")
    if entry.get("tier") not in TIERS:
        raise BadModelData(f"{where}: tier must be one of {list(TIERS)}, got {entry.get('tier')!r}")
    bad = [s for s in entry.get("strengths", []) if s not in STRENGTHS]
    if bad:
        raise BadModelData(f"{where}: unknown strengths {bad}; use {list(STRENGTHS)}")


def _image_fields(where: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """An image model: no token scores or windows; a price per image (None: unpriced)."""
    fields = {key: entry.get(key, 0) for key in _INT_FIELDS}
    raw = entry.get("per_image")
    fields["per_image"] = None if raw is None else image_price(where, raw)
    return fields


def _spec(where: str, entry: Mapping[str, Any], providers: Mapping[str, Any]) -> ModelSpec:
    name, provider = entry.get("name"), entry.get("provider")
    if not isinstance(name, str) or not name:
        raise BadModelData(f"{where}: every model needs a `name`")
    if not isinstance(provider, str) or not provider:
        raise BadModelData(f"{where} ({name}): `provider` is required, e.g. openai")
    kind = entry.get("kind", "text")
    if kind not in KINDS:
        raise BadModelData(f"{where} ({name}): kind must be one of {list(KINDS)}, got {kind!r}")
    per_image = None
    if kind == "image":
        image = _image_fields(f"{where} ({name})", entry)
        per_image = image.pop("per_image")
        entry = {**entry, **image}
    _check(f"{where} ({name})", entry)
    price_provider = str(entry.get("price_provider", provider))
    price_model = str(entry.get("price_model", name))
    if kind == "image":
        price: Price | None = None  # priced per image, not per token
    elif "prices" in entry:
        price = config_price(f"{where} ({name})", entry["prices"])
    else:
        price = genai_price(price_provider, price_model)
    known = providers.get(provider, {})
    return ModelSpec(
        name=name,
        provider=provider,
        context_window=entry["context_window"],
        max_output=entry["max_output"],
        intelligence=entry["intelligence"],
        coding=entry["coding"],
        tier=entry["tier"],
        strengths=tuple(entry.get("strengths", ())),
        price=price,
        otel_provider=str(entry.get("otel_provider", known.get("otel_name", provider))),
        server=str(entry.get("server", known.get("server", f"{provider}.invalid"))),
        price_provider=price_provider,
        price_model=price_model,
        kind=kind,
        per_image=per_image,
    )


def load_catalog(overrides: Sequence[Mapping[str, Any]] = (), where: str = "mmoa.yaml") -> Catalog:
    """The shipped catalog, with config entries adding models or overriding fields by name."""
    data = _load_data()
    entries: dict[str, tuple[str, dict[str, Any]]] = {
        e["name"]: (f"catalog/models.yaml models[{i}]", dict(e))
        for i, e in enumerate(data["models"])
    }
    for i, override in enumerate(overrides):
        name = override.get("name")
        if not isinstance(name, str):
            raise BadModelData(f"{where}: models[{i}] needs a `name`")
        base = entries[name][1] if name in entries else {}
        if "prices" in override:
            # explicit prices replace the genai-prices lookup
            base = {k: v for k, v in base.items() if k not in ("price_provider", "price_model")}
        entries[name] = (f"{where} models[{i}]", {**base, **override})
    specs = [_spec(label, entry, data["providers"]) for label, entry in entries.values()]
    return Catalog(tuple(specs))
