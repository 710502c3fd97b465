"""Routing configuration (mmoa.yaml): categories, their capability floors or chains, the baseline.

Validated once, at start; every error names the file, the key and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from catalog.budgets import AlertWebhook, BudgetSpec, parse_budgets, parse_webhook
from catalog.catalog import STRENGTHS
from catalog.errors import BadBudget
from router.classifier import CATEGORIES, COMPLEXITIES, IMAGE_CATEGORY
from router.errors import ConfigError
from router.faults import BreakerPolicy, Limit, RetryPolicy

STRATEGIES = ("cheapest", "fallback", "ensemble", "verify")
_TOP_KEYS = {
    "baseline",
    "strategy",
    "max_attempts",
    "categories",
    "models",
    "simulation",
    "faults",
    "rate_limits",
    "providers",
    "image_baseline",
    "strategies",
    "cache",
    "roles",
    "budgets",
    "budget_webhook",
}
_FAULT_KEYS = {
    "max_retries",
    "backoff_s",
    "max_backoff_s",
    "deadline_s",
    "call_timeout_s",
    "breaker",
}
_BREAKER_KEYS = {"failures", "window_s", "cooldown_s"}
_CATEGORY_KEYS = {"description", "floors", "chain", "expected_output_tokens"}
_FLOOR_KEYS = {"intelligence", "coding", "strengths"}


@dataclass(frozen=True, slots=True)
class Floor:
    """Minimum capability a model needs for one complexity level."""

    intelligence: int = 0
    coding: int = 0
    strengths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CategoryPolicy:
    """How one task category is served: an explicit chain, or floors per complexity."""

    name: str
    description: str
    floors: Mapping[str, Floor]
    chain: tuple[str, ...]
    expected_output_tokens: int


@dataclass(frozen=True)
class StrategySettings:
    """Options of the fallback cascade, the ensemble and the verifier."""

    threshold: float = 0.7
    chain: str | None = None  # name of the cascade chain to use; None = capable models by price
    chains: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ensemble_size: int = 3
    ensemble_mode: str = "consensus"
    synthesizer: str | None = None
    verifier: str | None = None


@dataclass(frozen=True)
class RouterConfig:
    """The whole routing configuration."""

    baseline: str
    strategy: str
    max_attempts: int
    categories: Mapping[str, CategoryPolicy]
    models: tuple[Mapping[str, Any], ...] = ()
    simulation: Mapping[str, Any] = field(default_factory=dict)
    source: str = "<dict>"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    deadline_s: float = 120.0
    call_timeout_s: float = 60.0
    rate_limits: Mapping[str, Limit] = field(default_factory=dict)
    # per provider: base_url, api_key_env, api (openai: chat | responses); read by the wiring
    providers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # what one image would have cost without routing (the baseline for image requests)
    image_baseline: str = "gpt-image-1"
    strategies: StrategySettings = field(default_factory=lambda: StrategySettings())
    cache_ttl_s: float = 0.0  # exact-match response cache; 0 = off
    cache_max_entries: int = 10_000
    roles: Mapping[str, Any] = field(default_factory=dict)  # raw `roles:`; see router/roles.py
    budgets: tuple[BudgetSpec, ...] = ()  # `budgets:`; see catalog/budgets.py
    budget_webhook: AlertWebhook | None = None  # where budget alerts are POSTed


def _fail(where: str, key: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(where, key, problem, fix)


def _int(where: str, key: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _fail(
            where,
            key,
            f"must be an integer from {lo} to {hi}, got {value!r}",
            f"set {key} to a whole number between {lo} and {hi}",
        )
    return value


def _unknown(where: str, prefix: str, given: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(given) - allowed)
    if extra:
        raise _fail(
            where,
            f"{prefix}{extra[0]}",
            "unknown key",
            f"remove it, or use one of {sorted(allowed)}",
        )


def _mapping(where: str, key: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(
            where,
            key,
            f"must be a mapping, got {type(value).__name__}",
            "write it as `key: value` lines indented under it",
        )
    return value


def _floor(where: str, key: str, raw: object) -> Floor:
    data = _mapping(where, key, raw)
    _unknown(where, f"{key}.", data, _FLOOR_KEYS)
    strengths = data.get("strengths", [])
    if not isinstance(strengths, list) or not all(isinstance(s, str) for s in strengths):
        raise _fail(
            where, f"{key}.strengths", "must be a list of names", "e.g. strengths: [reasoning]"
        )
    unknown = [s for s in strengths if s not in STRENGTHS]
    if unknown:
        # a misspelt strength would match no model and silently send traffic to the fallback
        raise _fail(
            where,
            f"{key}.strengths",
            f"unknown strength {unknown[0]!r}",
            f"use one of {', '.join(STRENGTHS)}",
        )
    return Floor(
        intelligence=_int(where, f"{key}.intelligence", data.get("intelligence", 0), 0, 100),
        coding=_int(where, f"{key}.coding", data.get("coding", 0), 0, 100),
        strengths=tuple(strengths),
    )


def _floors(where: str, key: str, raw: object) -> dict[str, Floor]:
    data = _mapping(where, key, raw)
    _unknown(where, f"{key}.", data, set(COMPLEXITIES))
    floors: dict[str, Floor] = {}
    previous = Floor()
    for level in COMPLEXITIES:
        # A level left out inherits the level below it: floors only rise with complexity.
        floors[level] = _floor(where, f"{key}.{level}", data[level]) if level in data else previous
        previous = floors[level]
    return floors


def _category(where: str, name: str, raw: object) -> CategoryPolicy:
    key = f"categories.{name}"
    data = _mapping(where, key, raw)
    _unknown(where, f"{key}.", data, _CATEGORY_KEYS)
    chain = data.get("chain", [])
    if not isinstance(chain, list) or not all(isinstance(m, str) for m in chain):
        raise _fail(
            where,
            f"{key}.chain",
            "must be a list of model names",
            "e.g. chain: [gpt-4o-mini, claude-haiku-4-5, claude-sonnet-4-6]",
        )
    if not chain and "floors" not in data:
        raise _fail(
            where,
            key,
            "has neither `chain` nor `floors`",
            "give a primary/backup/fallback `chain`, or capability `floors` per complexity",
        )
    return CategoryPolicy(
        name=name,
        description=str(data.get("description", "")),
        floors=_floors(where, f"{key}.floors", data.get("floors", {})),
        chain=tuple(chain),
        expected_output_tokens=_int(
            where,
            f"{key}.expected_output_tokens",
            data.get("expected_output_tokens", 500),
            1,
            1_000_000,
        ),
    )


def _seconds(where: str, key: str, value: object, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise _fail(
            where,
            key,
            f"must be a number of seconds, got {value!r}",
            f"e.g. {key.rsplit('.', 1)[-1]}: {default:g}",
        )
    return float(value)


def _faults(where: str, raw: object) -> dict[str, Any]:
    data = _mapping(where, "faults", raw if raw is not None else {})
    _unknown(where, "faults.", data, _FAULT_KEYS)
    breaker = _mapping(where, "faults.breaker", data.get("breaker") or {})
    _unknown(where, "faults.breaker.", breaker, _BREAKER_KEYS)
    d, b = RetryPolicy(), BreakerPolicy()
    return {
        "retry": RetryPolicy(
            max_retries=_int(
                where, "faults.max_retries", data.get("max_retries", d.max_retries), 0, 10
            ),
            backoff_s=_seconds(where, "faults.backoff_s", data.get("backoff_s"), d.backoff_s),
            max_backoff_s=_seconds(
                where, "faults.max_backoff_s", data.get("max_backoff_s"), d.max_backoff_s
            ),
        ),
        "breaker": BreakerPolicy(
            failures=_int(
                where, "faults.breaker.failures", breaker.get("failures", b.failures), 1, 1000
            ),
            window_s=_seconds(
                where, "faults.breaker.window_s", breaker.get("window_s"), b.window_s
            ),
            cooldown_s=_seconds(
                where, "faults.breaker.cooldown_s", breaker.get("cooldown_s"), b.cooldown_s
            ),
        ),
        "deadline_s": _seconds(where, "faults.deadline_s", data.get("deadline_s"), 120.0),
        "call_timeout_s": _seconds(
            where, "faults.call_timeout_s", data.get("call_timeout_s"), 60.0
        ),
    }


def _rate_limits(where: str, raw: object) -> dict[str, Limit]:
    data = _mapping(where, "rate_limits", raw if raw is not None else {})
    limits = {}
    for model, spec in data.items():
        key = f"rate_limits.{model}"
        entry = _mapping(where, key, spec)
        _unknown(where, f"{key}.", entry, {"rpm", "tpm"})
        limits[str(model)] = Limit(
            rpm=_int(where, f"{key}.rpm", entry.get("rpm", 0), 0, 10_000_000),
            tpm=_int(where, f"{key}.tpm", entry.get("tpm", 0), 0, 10_000_000_000),
        )
    return limits


def _providers(where: str, raw: object) -> dict[str, Mapping[str, Any]]:
    data = _mapping(where, "providers", raw if raw is not None else {})
    allowed = {"base_url", "api_key_env", "api", "prompt_cache"}
    out: dict[str, Mapping[str, Any]] = {}
    for name, spec in data.items():
        entry = _mapping(where, f"providers.{name}", spec)
        _unknown(where, f"providers.{name}.", entry, allowed)
        if entry.get("api", "chat") not in ("chat", "responses"):
            raise _fail(
                where,
                f"providers.{name}.api",
                f"unknown API {entry['api']!r}",
                "use chat or responses",
            )
        out[str(name)] = dict(entry)
    return out


def _name(where: str, key: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(
            where, key, f"must be a model name, got {value!r}", "use a name from `mmoa models`"
        )
    return value


_STRATEGY_KEYS = {"fallback", "ensemble", "verify"}


def _names(where: str, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _fail(
            where,
            key,
            "must be a non-empty list of model names",
            "e.g. [gpt-4o-mini, claude-haiku-4-5, claude-sonnet-4-6]",
        )
    return tuple(value)


def _strategies(where: str, raw: object) -> StrategySettings:
    data = _mapping(where, "strategies", raw if raw is not None else {})
    _unknown(where, "strategies.", data, _STRATEGY_KEYS)
    fb = _mapping(where, "strategies.fallback", data.get("fallback") or {})
    _unknown(where, "strategies.fallback.", fb, {"threshold", "chain", "chains"})
    chains_raw = _mapping(where, "strategies.fallback.chains", fb.get("chains") or {})
    chains = {
        str(n): _names(where, f"strategies.fallback.chains.{n}", v) for n, v in chains_raw.items()
    }
    chain = fb.get("chain")
    if chain is not None and chain not in chains:
        raise _fail(
            where,
            "strategies.fallback.chain",
            f"no chain named {chain!r}",
            f"use one of {', '.join(chains) or '(define strategies.fallback.chains)'}",
        )
    threshold = fb.get("threshold", 0.7)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not (0 <= threshold <= 1)
    ):
        raise _fail(
            where,
            "strategies.fallback.threshold",
            f"must be 0..1, got {threshold!r}",
            "e.g. threshold: 0.7 (escalate when the judged confidence is lower)",
        )
    ens = _mapping(where, "strategies.ensemble", data.get("ensemble") or {})
    _unknown(where, "strategies.ensemble.", ens, {"size", "mode", "synthesizer"})
    mode = ens.get("mode", "consensus")
    if mode not in ("consensus", "synthesis"):
        raise _fail(
            where,
            "strategies.ensemble.mode",
            f"unknown mode {mode!r}",
            "use consensus or synthesis",
        )
    ver = _mapping(where, "strategies.verify", data.get("verify") or {})
    _unknown(where, "strategies.verify.", ver, {"verifier"})
    return StrategySettings(
        threshold=float(threshold),
        chain=chain,
        chains=chains,
        ensemble_size=_int(where, "strategies.ensemble.size", ens.get("size", 3), 2, 5),
        ensemble_mode=mode,
        synthesizer=ens.get("synthesizer"),
        verifier=ver.get("verifier"),
    )


def _cache(where: str, raw: object) -> dict[str, Any]:
    data = _mapping(where, "cache", raw if raw is not None else {})
    _unknown(where, "cache.", data, {"ttl_s", "max_entries"})
    return {
        "cache_ttl_s": _seconds(where, "cache.ttl_s", data.get("ttl_s"), 0.0),
        "cache_max_entries": _int(
            where, "cache.max_entries", data.get("max_entries", 10_000), 1, 10_000_000
        ),
    }


def _budgets(
    where: str, data: Mapping[str, Any], chains: Mapping[str, tuple[str, ...]]
) -> dict[str, Any]:
    try:
        budgets = parse_budgets(data.get("budgets"), where)
        webhook = parse_webhook(data.get("budget_webhook"), where)
    except BadBudget as exc:
        raise _fail(exc.where, exc.key, exc.problem, exc.fix) from None
    for i, spec in enumerate(budgets):
        chain = spec.downgrade.removeprefix("chain:")
        if spec.downgrade.startswith("chain:") and chain not in chains:
            raise _fail(
                where,
                f"budgets[{i}].downgrade",
                f"no chain named {chain!r}",
                f"use one of {', '.join(chains) or '(define strategies.fallback.chains)'}",
            )
    return {"budgets": budgets, "budget_webhook": webhook}


def parse_config(raw: object, where: str = "<dict>") -> RouterConfig:
    """Validate a config mapping (as loaded from YAML) into a RouterConfig."""
    data = _mapping(where, "(top level)", raw if raw is not None else {})
    _unknown(where, "", data, _TOP_KEYS)
    cats = _mapping(where, "categories", data.get("categories", {}))
    missing = [c for c in CATEGORIES if c not in cats]
    if missing:
        raise _fail(
            where,
            f"categories.{missing[0]}",
            "is missing",
            f"define all seven categories: {', '.join(CATEGORIES)}",
        )
    _unknown(where, "categories.", cats, {*CATEGORIES, IMAGE_CATEGORY})
    names = [*CATEGORIES, *([IMAGE_CATEGORY] if IMAGE_CATEGORY in cats else [])]
    if IMAGE_CATEGORY in cats and not _mapping(
        where, f"categories.{IMAGE_CATEGORY}", cats[IMAGE_CATEGORY]
    ).get("chain"):
        raise _fail(
            where,
            f"categories.{IMAGE_CATEGORY}.chain",
            "is required",
            "list image models, cheapest first, e.g. chain: [imagen-4.0-fast-generate-001,"
            " gpt-image-1]",
        )
    strategy = data.get("strategy", "cheapest")
    if strategy not in STRATEGIES:
        raise _fail(
            where,
            "strategy",
            f"unknown strategy {strategy!r}",
            f"use one of {', '.join(STRATEGIES)}",
        )
    baseline = data.get("baseline")
    if not isinstance(baseline, str) or not baseline:
        raise _fail(
            where,
            "baseline",
            "is required",
            "name the single model you would otherwise use, e.g. baseline: claude-sonnet-4-6",
        )
    models = data.get("models") or []
    if not isinstance(models, list) or not all(isinstance(m, Mapping) for m in models):
        raise _fail(
            where,
            "models",
            "must be a list of model entries",
            "e.g. models: [{name: my-model, provider: openai, prices: {input: 1, output: 2}}]",
        )
    strategies = _strategies(where, data.get("strategies"))
    return RouterConfig(
        baseline=baseline,
        strategy=strategy,
        max_attempts=_int(where, "max_attempts", data.get("max_attempts", 3), 1, 10),
        categories={name: _category(where, name, cats[name]) for name in names},
        image_baseline=_name(where, "image_baseline", data.get("image_baseline", "gpt-image-1")),
        models=tuple(models),
        simulation=_mapping(where, "simulation", data.get("simulation", {})),
        source=where,
        rate_limits=_rate_limits(where, data.get("rate_limits")),
        strategies=strategies,
        **_budgets(where, data, strategies.chains),
        roles=_mapping(where, "roles", data.get("roles") or {}),
        **_cache(where, data.get("cache")),
        providers=_providers(where, data.get("providers")),
        **_faults(where, data.get("faults")),
    )


def load_config(path: Path) -> RouterConfig:
    """Read and validate a YAML config file."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(
            where,
            "(file)",
            f"cannot be read ({exc.strerror})",
            "check the path given by --config or MMOA_CONFIG",
        ) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(syntax)"
        raise _fail(
            where,
            at,
            f"is not valid YAML ({getattr(exc, 'problem', exc)})",
            "fix the indentation or quoting there",
        ) from None
    return parse_config(raw, where)
