"""Cheaper choices: what a budget downgrade makes of a Choice, and the hard cap's last resort.

"Capable" here means able to serve the request at all, regardless of the category's floors:
a model of the same kind as the normal choice (text or image), priced (a budget cannot bound
what it cannot price), reachable (the wiring gave it a provider), and, for text, whose context
window fits the prompt plus the expected answer. Among those:

- `next_tier`: the models of the catalog tier just below the normal primary's (premium ->
  standard -> economy; economy stays economy), cheapest first; none there: `cheapest`.
- `chain:<name>`: the models of `strategies.fallback.chains.<name>` that fit, in chain order;
  an unknown or unusable chain falls back to `cheapest` and the reason says so.
- `cheapest`: every capable model, cheapest first (by the same ranking as the cheapest
  strategy: expected prompt and answer tokens at each model's rates; images per image).

The hard cap's last resort (`cheapest_worst_case`) ranks the capable models by the worst case
the ledger reserves for this very attempt, since that is what has to fit under the cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from catalog import Catalog, ModelSpec
from catalog.catalog import TIERS
from router.attempts import worst_case_cost
from router.policy import Downgrade
from router.providers.base import ProviderFor
from router.strategies import Choice, Rates, _by_cost, _rank_rates, fits


class Downgrader:
    """Applies budget downgrades to choices; finds the cheapest capable model."""

    def __init__(
        self,
        catalog: Catalog,
        chains: Mapping[str, tuple[str, ...]],
        provider_for: ProviderFor,
    ) -> None:
        self.catalog = catalog
        self.chains = chains
        self.provider_for = provider_for
        self._rates: dict[str, Rates | None] = {m.name: _rank_rates(m) for m in catalog}

    def capable(self, kind: str, input_tokens: int, output_tokens: int) -> list[ModelSpec]:
        """Models that can serve the request at all (see the module docstring)."""
        return [
            m
            for m in self.catalog
            if m.kind == kind
            and m.priced
            and (kind == "image" or fits(m, input_tokens, output_tokens))
            and self.provider_for(m) is not None
        ]

    def _ranked(
        self, models: list[ModelSpec], input_tokens: int, output_tokens: int
    ) -> list[ModelSpec]:
        if models and models[0].kind == "image":
            return sorted(models, key=lambda m: (m.per_image or Decimal(0), m.name))
        return _by_cost(models, self._rates, input_tokens, output_tokens)

    def apply(self, d: Downgrade, choice: Choice, input_tokens: int, output_tokens: int) -> Choice:
        """The cheaper Choice the downgrade `d` makes of `choice`; the reason names the budget."""
        primary = choice.candidates[0]
        pool = self.capable(primary.kind, input_tokens, output_tokens)
        models: list[ModelSpec] = []
        what = "cheapest capable"
        if d.mode == "chain":
            names = self.chains.get(d.chain or "", ())
            models = [
                self.catalog.get(n)
                for n in names
                if n in self.catalog and self.catalog.get(n) in pool
            ]
            what = f"chain {d.chain}" if models else f"chain {d.chain} unusable, cheapest capable"
        elif d.mode == "next_tier":
            at = TIERS.index(primary.tier) if primary.tier in TIERS else 0
            lower = TIERS[max(0, at - 1)]
            models = self._ranked([m for m in pool if m.tier == lower], input_tokens, output_tokens)
            what = f"next tier {primary.tier}->{lower}" if models else "cheapest capable"
        if not models:
            models = self._ranked(pool, input_tokens, output_tokens)
        if not models:  # nothing priced and reachable fits: keep the choice, say so
            return Choice(choice.candidates, f"{choice.reason}; {_by(d)}: no capable model")
        return Choice(
            tuple(models),
            f"{_by(d)}: {what}, primary {models[0].name} (was {primary.name})",
        )

    def cheapest_worst_case(
        self,
        kind: str,
        input_tokens: int,
        output_tokens: int,
        prompt_bytes: int,
        max_tokens: int,
        images: int,
    ) -> ModelSpec | None:
        """The capable model whose worst case for this attempt is the smallest."""
        best: tuple[Decimal, str] | None = None
        found: ModelSpec | None = None
        for m in self.capable(kind, input_tokens, output_tokens):
            worst = worst_case_cost(m, prompt_bytes, max_tokens, images)
            if worst is not None and (best is None or (worst, m.name) < best):
                best, found = (worst, m.name), m
        return found


def _by(d: Downgrade) -> str:
    return f"downgraded by budget {d.budget} (event {d.event_id or '-'})"
