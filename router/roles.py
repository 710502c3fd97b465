"""Roles for agent systems, their tiers, and model overrides from the environment.

An agent system gives each of its roles (orchestrator, workers) a minimum capability, a
:class:`~router.config.Floor`. A request may name a role instead of a task category; the
role's floor then picks the models that may serve it, cheapest first
(:func:`models_for_role`). Operators can pin the model of a role or a category with
``MODEL_OVERRIDE_<NAME>`` environment variables (:func:`overrides_from_env`), checked
against the catalog at start (:func:`check_overrides`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from catalog.catalog import STRENGTHS, ModelSpec
from router.config import Floor
from router.errors import ConfigError

__all__ = [
    "DEFAULT_ROLES",
    "OVERRIDE_PREFIX",
    "ROLES",
    "TIERS",
    "Role",
    "check_overrides",
    "models_for_role",
    "overrides_from_env",
    "parse_roles",
]

ROLES: tuple[str, ...] = (
    "orchestrator",
    "reasoning_worker",
    "tool_worker",
    "extraction_worker",
    "formatting_worker",
)
TIERS: tuple[str, ...] = ("orchestration", "implementation", "reasoning")

OVERRIDE_PREFIX = "MODEL_OVERRIDE_"

_ROLE_KEYS = ("coding", "description", "intelligence", "strengths", "tier")


@dataclass(frozen=True, slots=True)
class Role:
    """One role of an agent system: its tier and the minimum capability it needs."""

    name: str
    tier: str  # one of TIERS
    floor: Floor  # minimum intelligence / coding, and strengths every model must have
    description: str

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"role {self.name!r}: unknown tier {self.tier!r}; use one of {TIERS}")


DEFAULT_ROLES: Mapping[str, Role] = MappingProxyType(
    {
        "orchestrator": Role(
            "orchestrator",
            "orchestration",
            Floor(intelligence=60, coding=45),
            "plans the work, delegates it to workers and judges their results",
        ),
        "reasoning_worker": Role(
            "reasoning_worker",
            "reasoning",
            Floor(intelligence=60, strengths=("reasoning",)),
            "works through multi-step problems: analysis, maths, trade-offs",
        ),
        "tool_worker": Role(
            "tool_worker",
            "implementation",
            Floor(intelligence=45, coding=40),
            "calls tools and writes code",
        ),
        "extraction_worker": Role(
            "extraction_worker",
            "implementation",
            Floor(intelligence=30),
            "pulls fields out of text",
        ),
        "formatting_worker": Role(
            "formatting_worker",
            "implementation",
            Floor(intelligence=20),
            "reformats and summarises short text",
        ),
    }
)


# --- the `roles:` section of mmoa.yaml ------------------------------------------------------


def _score(where: str, key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ConfigError(
            where,
            key,
            f"must be an integer from 0 to 100, got {value!r}",
            f"set {key} to a whole number between 0 and 100",
        )
    return value


def _strengths(where: str, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise ConfigError(where, key, "must be a list of names", "e.g. strengths: [reasoning]")
    unknown = [s for s in value if s not in STRENGTHS]
    if unknown:
        # a misspelt strength would match no model at all
        raise ConfigError(
            where, key, f"unknown strength {unknown[0]!r}", f"use one of {', '.join(STRENGTHS)}"
        )
    return tuple(value)


def _role(where: str, name: str, raw: object) -> Role:
    key = f"roles.{name}"
    if not isinstance(raw, Mapping):
        raise ConfigError(
            where,
            key,
            f"must be a mapping, got {type(raw).__name__}",
            f"give it the keys {', '.join(_ROLE_KEYS)}, indented under it",
        )
    data: Mapping[str, Any] = raw
    extra = sorted(str(k) for k in data if k not in _ROLE_KEYS)
    if extra:
        raise ConfigError(
            where,
            f"{key}.{extra[0]}",
            "unknown key",
            f"remove it, or use one of {', '.join(_ROLE_KEYS)}",
        )
    if "tier" not in data:
        raise ConfigError(
            where, f"{key}.tier", "is missing", f"set tier to one of {', '.join(TIERS)}"
        )
    tier = data["tier"]
    if not isinstance(tier, str) or tier not in TIERS:
        raise ConfigError(
            where, f"{key}.tier", f"unknown tier {tier!r}", f"use one of {', '.join(TIERS)}"
        )
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(
            where,
            f"{key}.description",
            f"must be text, got {type(description).__name__}",
            'quote it, e.g. description: "reviews pull requests"',
        )
    floor = Floor(
        intelligence=_score(where, f"{key}.intelligence", data.get("intelligence", 0)),
        coding=_score(where, f"{key}.coding", data.get("coding", 0)),
        strengths=_strengths(where, f"{key}.strengths", data.get("strengths", [])),
    )
    return Role(name=name, tier=tier, floor=floor, description=description)


def parse_roles(raw: object, where: str) -> dict[str, Role]:
    """Validate the `roles:` section of mmoa.yaml (as loaded from YAML) into roles by name.

    A missing (None) or empty section gives :data:`DEFAULT_ROLES`. A role given replaces the
    default of that name entirely (``tier`` is required; scores left out are 0); other names
    define new roles. The result holds the five default roles first, in :data:`ROLES` order,
    then new roles in the order given. Errors are :class:`ConfigError` naming ``where``, the
    key (``roles.<name>.<key>``), the problem and the fix.
    """
    roles = dict(DEFAULT_ROLES)
    if raw is None:
        return roles
    if not isinstance(raw, Mapping):
        raise ConfigError(
            where,
            "roles",
            f"must be a mapping of role name to settings, got {type(raw).__name__}",
            "write each role as `name:` with its settings indented under it",
        )
    for name, entry in raw.items():
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(
                where,
                "roles",
                f"role name must be a non-empty string, got {name!r}",
                "name each role with a word, e.g. reviewer",
            )
        roles[name] = _role(where, name, entry)
    return roles


# --- environment overrides -------------------------------------------------------------------


def _env_name(name: str) -> str:
    """How a role or category name is spelt in a variable: upper-case, '-' and ' ' as '_'."""
    return name.strip().upper().replace("-", "_").replace(" ", "_")


def overrides_from_env(
    env: Mapping[str, str], *, roles: Iterable[str], categories: Iterable[str]
) -> dict[str, str]:
    """Model overrides from ``MODEL_OVERRIDE_<NAME>=<model>`` variables, keyed by role/category.

    ``<NAME>`` matches a role or category name case-insensitively, with '-' and ' ' read as
    '_'; the result is keyed by the name as given in ``roles``/``categories``. Empty values
    are ignored; values are stripped. A variable naming no role or category (or, after
    normalising, two different ones) raises ValueError naming the variable.
    """
    known: dict[str, list[str]] = {}
    for name in [*roles, *categories]:
        spellings = known.setdefault(_env_name(name), [])
        if name not in spellings:
            spellings.append(name)
    overrides: dict[str, str] = {}
    for var in sorted(env):
        if not var.startswith(OVERRIDE_PREFIX):
            continue
        model = env[var].strip()
        if not model:
            continue
        suffix = var[len(OVERRIDE_PREFIX) :]
        matches = known.get(_env_name(suffix), [])
        if not matches:
            raise ValueError(
                f"{var}: no role or category {suffix.lower()!r}; known: "
                + ", ".join(sorted({n for names in known.values() for n in names}))
            )
        if len(matches) > 1:
            raise ValueError(
                f"{var}: ambiguous, names both {' and '.join(repr(m) for m in matches)}; "
                "rename one of them"
            )
        overrides[matches[0]] = model
    return overrides


def check_overrides(overrides: Mapping[str, str], known_models: Iterable[str]) -> None:
    """Raise ValueError if an override names a model the catalog does not hold.

    The message names each offending variable and suggests close model names (difflib).
    """
    models = sorted(set(known_models))
    problems = []
    for name in sorted(overrides):
        model = overrides[name]
        if model in models:
            continue
        close = difflib.get_close_matches(model, models, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else "see `mmoa models` for the names"
        problems.append(f"{OVERRIDE_PREFIX}{_env_name(name)}: unknown model {model!r}; {hint}")
    if problems:
        raise ValueError("; ".join(problems))


# --- models for a role -----------------------------------------------------------------------


def _price_key(model: ModelSpec) -> tuple[bool, Decimal, str]:
    """Sort key: priced before unpriced, then input + output $/1M tokens, then name."""
    if model.price is None:
        return (True, Decimal(0), model.name)
    return (False, model.price.input.base + model.price.output.base, model.name)


def models_for_role(role: Role, models: Iterable[ModelSpec]) -> list[ModelSpec]:
    """Text models meeting ``role.floor``, cheapest first.

    A model qualifies when its intelligence and coding scores reach the floor's and it has
    every strength the floor lists. Order: input + output base price ($/1M tokens) of the
    price card ascending, unpriced models last, ties by name. Image models never qualify.
    """
    floor = role.floor
    chosen = [
        m
        for m in models
        if m.kind == "text"
        and m.intelligence >= floor.intelligence
        and m.coding >= floor.coding
        and set(floor.strengths) <= set(m.strengths)
    ]
    return sorted(chosen, key=_price_key)
