"""Choosing models: the `cheapest` strategy (cheapest model that meets the floor and fits)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from catalog import Catalog, ModelSpec
from router.config import CategoryPolicy, Floor
from router.errors import NoCapableModel

_CHOICE_CACHE = 50_000  # entries; a Choice is a few hundred bytes

# Tokenizers differ by vendor; leave headroom when checking that a prompt fits a window.
CONTEXT_SLACK = 1.15


@dataclass(frozen=True, slots=True)
class Choice:
    """The models to try, in order, and why."""

    candidates: tuple[ModelSpec, ...]
    reason: str


def meets(model: ModelSpec, floor: Floor) -> bool:
    """Whether a model's scores and strengths reach a capability floor."""
    return (
        model.intelligence >= floor.intelligence
        and model.coding >= floor.coding
        and all(s in model.strengths for s in floor.strengths)
    )


def fits(model: ModelSpec, input_tokens: int, output_tokens: int) -> bool:
    """Whether the prompt plus the expected answer fit the model's context window."""
    needed = int(input_tokens * CONTEXT_SLACK) + min(output_tokens, model.max_output)
    return needed <= model.context_window


def _describe(floor: Floor) -> str:
    parts = [f"intelligence>={floor.intelligence}"]
    if floor.coding:
        parts.append(f"coding>={floor.coding}")
    parts.extend(floor.strengths)
    return ", ".join(parts)


class Cheapest:
    """Cheapest capable model first; the next cheapest ones follow as fallbacks."""

    name = "cheapest"

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._floor_cache: dict[Floor, tuple[ModelSpec, ...]] = {}
        self._rates = {m.name: _rank_rates(m) for m in catalog}
        self._choices: dict[tuple[str, str, int, int], Choice] = {}

    def _capable(self, floor: Floor) -> tuple[ModelSpec, ...]:
        found = self._floor_cache.get(floor)
        if found is None:
            found = tuple(m for m in self.catalog if m.kind == "text" and meets(m, floor))
            self._floor_cache[floor] = found
        return found

    def choose(
        self, policy: CategoryPolicy, complexity: str, input_tokens: int, output_tokens: int
    ) -> Choice:
        """The ordered candidates for one request (memoized: many prompts share a size)."""
        key = (policy.name, complexity, input_tokens, output_tokens)
        found = self._choices.get(key)
        if found is None:
            if len(self._choices) >= _CHOICE_CACHE:
                self._choices.clear()
            found = self._choices[key] = self._choose(
                policy, complexity, input_tokens, output_tokens
            )
        return found

    def _choose(
        self, policy: CategoryPolicy, complexity: str, input_tokens: int, output_tokens: int
    ) -> Choice:
        if policy.chain:
            return self._chain(policy, input_tokens, output_tokens)
        floor = policy.floors[complexity]
        capable = [m for m in self._capable(floor) if fits(m, input_tokens, output_tokens)]
        label = f"{policy.name}/{complexity} floor ({_describe(floor)})"
        if not capable:
            fitting = [
                m for m in self.catalog if m.kind == "text" and fits(m, input_tokens, output_tokens)
            ]
            if not fitting:
                raise NoCapableModel(
                    f"no model's context window fits ~{input_tokens:,} prompt tokens; "
                    "shorten the prompt or add a larger-context model to mmoa.yaml"
                )
            best = max(fitting, key=lambda m: (m.intelligence, m.coding))
            return Choice((best,), f"no model meets {label}; most capable that fits: {best.name}")
        ranked = _by_cost(capable, self._rates, input_tokens, output_tokens)
        top = ranked[0]
        return Choice(
            tuple(ranked),
            f"cheapest of {len(ranked)} models meeting {label} and fitting "
            f"~{input_tokens:,} tokens: {top.name}",
        )

    def _chain(self, policy: CategoryPolicy, input_tokens: int, output_tokens: int) -> Choice:
        chain = [self.catalog.get(name) for name in policy.chain]
        usable = [m for m in chain if fits(m, input_tokens, output_tokens)]
        if not usable:
            raise NoCapableModel(
                f"no model of the {policy.name} chain fits ~{input_tokens:,} prompt tokens"
            )
        return Choice(tuple(usable), f"{policy.name} chain: primary {usable[0].name}")


_SCALE = Decimal(1_000_000)
# (tier start, base in, base out, tier in, tier out): integer ranking rates
Rates = tuple[int, int, int, int, int]


def _rank_rates(m: ModelSpec) -> Rates | None:
    """(tier start, base in, base out, tier in, tier out) in micro-dollars per 1M tokens.

    Ranking only: integer arithmetic keeps choosing fast; what a call costs is always
    computed exactly by catalog.cost.
    """
    if m.price is None:
        return None
    p = m.price
    start = p.tier_start or 0
    above = start + 1
    return (
        start,
        int(p.input.base * _SCALE),
        int(p.output.base * _SCALE),
        int(p.input.at(above) * _SCALE),
        int(p.output.at(above) * _SCALE),
    )


def _by_cost(
    models: Iterable[ModelSpec],
    rates: dict[str, Rates | None],
    input_tokens: int,
    output_tokens: int,
) -> list[ModelSpec]:
    def key(m: ModelSpec) -> tuple[int, int, int, str]:
        r = rates[m.name]
        if r is None:  # unpriced models go last: their cost cannot be compared
            return (1, 0, -m.intelligence, m.name)
        start, base_in, base_out, tier_in, tier_out = r
        if start and input_tokens > start:
            base_in, base_out = tier_in, tier_out
        return (0, base_in * input_tokens + base_out * output_tokens, -m.intelligence, m.name)

    return sorted(models, key=key)
