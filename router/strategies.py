"""Choosing models: the `cheapest` strategy (cheapest model that meets the floor and fits)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from catalog import Catalog, ModelSpec, Usage, cost
from router.config import CategoryPolicy, Floor
from router.errors import NoCapableModel

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


def estimated_cost(model: ModelSpec, input_tokens: int, output_tokens: int) -> Decimal | None:
    """What the call is expected to cost (no caching assumed); None if unpriced."""
    return cost(model.price, Usage(input_tokens=input_tokens, output_tokens=output_tokens))


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

    def _capable(self, floor: Floor) -> tuple[ModelSpec, ...]:
        found = self._floor_cache.get(floor)
        if found is None:
            found = tuple(m for m in self.catalog if meets(m, floor))
            self._floor_cache[floor] = found
        return found

    def choose(
        self, policy: CategoryPolicy, complexity: str, input_tokens: int, output_tokens: int
    ) -> Choice:
        """The ordered candidates for one request."""
        if policy.chain:
            return self._chain(policy, input_tokens, output_tokens)
        floor = policy.floors[complexity]
        capable = [m for m in self._capable(floor) if fits(m, input_tokens, output_tokens)]
        label = f"{policy.name}/{complexity} floor ({_describe(floor)})"
        if not capable:
            fitting = [m for m in self.catalog if fits(m, input_tokens, output_tokens)]
            if not fitting:
                raise NoCapableModel(
                    f"no model's context window fits ~{input_tokens:,} prompt tokens; "
                    "shorten the prompt or add a larger-context model to mmoa.yaml"
                )
            best = max(fitting, key=lambda m: (m.intelligence, m.coding))
            return Choice((best,), f"no model meets {label}; most capable that fits: {best.name}")
        ranked = _by_cost(capable, input_tokens, output_tokens)
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


def _by_cost(models: Iterable[ModelSpec], input_tokens: int, output_tokens: int) -> list[ModelSpec]:
    def key(m: ModelSpec) -> tuple[int, Decimal, int, str]:
        est = estimated_cost(m, input_tokens, output_tokens)
        # unpriced models go last: their cost cannot be compared
        return (
            (1, Decimal(0), -m.intelligence, m.name)
            if est is None
            else (0, est, -m.intelligence, m.name)
        )

    return sorted(models, key=key)
