"""Which adapter serves which model: the simulator, or real providers whose keys are set.

A registry (data, not branches): provider id -> adapter factory and the key variables it reads.
Real mode never silently simulates: a provider without a key is skipped with one line naming
the variable, and with no key at all the caller is told to use --provider simulated.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from catalog import Catalog, ModelSpec
from router.config import RouterConfig
from router.errors import MissingKey
from router.providers.base import Provider, ProviderFor
from router.providers.simulated import SimulatedProvider

Factory = Callable[[str, Mapping[str, Any], float], Provider]


def _anthropic(key: str, cfg: Mapping[str, Any], timeout: float) -> Provider:
    from router.providers.anthropic_api import AnthropicProvider

    return AnthropicProvider(
        key,
        base_url=cfg.get("base_url"),
        timeout_s=timeout,
        prompt_cache=bool(cfg.get("prompt_cache", False)),
    )


def _openai(key: str, cfg: Mapping[str, Any], timeout: float) -> Provider:
    from router.providers.openai_api import OpenAIProvider

    return OpenAIProvider(
        key, base_url=cfg.get("base_url"), timeout_s=timeout, api=str(cfg.get("api", "chat"))
    )


def _gemini(key: str, cfg: Mapping[str, Any], timeout: float) -> Provider:
    from router.providers.gemini_api import GeminiProvider

    return GeminiProvider(key, base_url=cfg.get("base_url"), timeout_s=timeout)


def _compatible(name: str, default_url: str) -> Factory:
    def make(key: str, cfg: Mapping[str, Any], timeout: float) -> Provider:
        from router.providers.openai_compatible import OpenAICompatibleProvider

        return OpenAICompatibleProvider(
            name, key, str(cfg.get("base_url") or default_url), timeout_s=timeout
        )

    return make


@dataclass(frozen=True)
class Entry:
    factory: Factory
    key_vars: tuple[str, ...]


REGISTRY: dict[str, Entry] = {
    "anthropic": Entry(_anthropic, ("ANTHROPIC_API_KEY",)),
    "openai": Entry(_openai, ("OPENAI_API_KEY",)),
    "google": Entry(_gemini, ("GEMINI_API_KEY", "GOOGLE_API_KEY")),
    "groq": Entry(_compatible("groq", "https://api.groq.com/openai/v1"), ("GROQ_API_KEY",)),
    "together": Entry(
        _compatible("together", "https://api.together.xyz/v1"), ("TOGETHER_API_KEY",)
    ),
}
MODES = ("auto", "simulated", *REGISTRY)


@dataclass(frozen=True)
class Selection:
    provider_for: ProviderFor
    notes: tuple[str, ...]  # one line per provider skipped, naming the variable to set


def select(
    mode: str, config: RouterConfig, catalog: Catalog, env: Mapping[str, str] | None = None
) -> Selection:
    """Adapters for `mode`: simulated, auto (every provider with a key), or one provider id."""
    if mode == "simulated":
        sim = SimulatedProvider(
            seed=int(config.simulation.get("seed", 7)),
            failure_scale=float(config.simulation.get("failure_scale", 1.0)),
        )
        return Selection(lambda model: sim, ())
    if mode not in MODES:
        raise MissingKey(f"unknown provider {mode!r}; use one of {', '.join(MODES)}")
    env = os.environ if env is None else env
    wanted = {m.provider for m in catalog} if mode == "auto" else {mode}
    adapters: dict[str, Provider] = {}
    notes = []
    for provider in sorted(wanted):
        entry = REGISTRY.get(provider)
        cfg = config.providers.get(provider, {})
        key_vars = (
            (str(cfg["api_key_env"]),)
            if "api_key_env" in cfg
            else (entry.key_vars if entry else ())
        )
        key = next((env[v] for v in key_vars if env.get(v)), None)
        if entry is None:
            notes.append(f"skipping {provider} models: no adapter for provider {provider!r}")
        elif key is None:
            notes.append(f"skipping {provider} models: set {' or '.join(key_vars)}")
        else:
            adapters[provider] = entry.factory(key, cfg, config.call_timeout_s)
    if not adapters:
        names = ", ".join(v for e in REGISTRY.values() for v in e.key_vars)
        raise MissingKey(
            f"no provider API key is set ({names}); "
            "use --provider simulated for the offline simulation"
        )
    return Selection(lambda model: _lookup(adapters, model), tuple(notes))


def _lookup(adapters: Mapping[str, Provider], model: ModelSpec) -> Provider | None:
    return adapters.get(model.provider)
