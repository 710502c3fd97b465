"""Agent roles: defaults, the `roles:` config section, env overrides, models for a role."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from catalog import Price, Rate, load_catalog
from catalog.catalog import ModelSpec
from router.classifier import CATEGORIES
from router.config import Floor
from router.errors import ConfigError
from router.roles import (
    DEFAULT_ROLES,
    OVERRIDE_PREFIX,
    ROLES,
    TIERS,
    Role,
    check_overrides,
    models_for_role,
    overrides_from_env,
    parse_roles,
)

WHERE = "mmoa.yaml"

# --- defaults ----------------------------------------------------------------------------------


def test_constants() -> None:
    assert ROLES == (
        "orchestrator",
        "reasoning_worker",
        "tool_worker",
        "extraction_worker",
        "formatting_worker",
    )
    assert TIERS == ("orchestration", "implementation", "reasoning")
    assert OVERRIDE_PREFIX == "MODEL_OVERRIDE_"


def test_defaults_exist_for_all_five_roles_with_their_tiers() -> None:
    assert tuple(DEFAULT_ROLES) == ROLES
    assert {name: role.tier for name, role in DEFAULT_ROLES.items()} == {
        "orchestrator": "orchestration",
        "reasoning_worker": "reasoning",
        "tool_worker": "implementation",
        "extraction_worker": "implementation",
        "formatting_worker": "implementation",
    }
    assert {name: role.floor for name, role in DEFAULT_ROLES.items()} == {
        "orchestrator": Floor(intelligence=60, coding=45),
        "reasoning_worker": Floor(intelligence=60, strengths=("reasoning",)),
        "tool_worker": Floor(intelligence=45, coding=40),
        "extraction_worker": Floor(intelligence=30),
        "formatting_worker": Floor(intelligence=20),
    }
    for name, role in DEFAULT_ROLES.items():
        assert role.name == name
        assert role.description


def test_defaults_are_read_only() -> None:
    with pytest.raises(TypeError):
        DEFAULT_ROLES["orchestrator"] = DEFAULT_ROLES["tool_worker"]  # type: ignore[index]


def test_role_rejects_unknown_tier() -> None:
    with pytest.raises(ValueError, match="unknown tier 'boss'"):
        Role("x", "boss", Floor(), "")


# --- parse_roles -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, {}])
def test_missing_section_gives_defaults(raw: object) -> None:
    assert parse_roles(raw, WHERE) == dict(DEFAULT_ROLES)


def test_a_role_given_replaces_its_default_and_new_roles_are_added() -> None:
    roles = parse_roles(
        {
            "orchestrator": {
                "tier": "orchestration",
                "intelligence": 70,
                "coding": 60,
                "strengths": ["reasoning", "coding"],
                "description": "plans",
            },
            "reviewer": {"tier": "reasoning", "intelligence": 55},
        },
        WHERE,
    )
    assert list(roles) == [*ROLES, "reviewer"]
    assert roles["orchestrator"] == Role(
        "orchestrator",
        "orchestration",
        Floor(intelligence=70, coding=60, strengths=("reasoning", "coding")),
        "plans",
    )
    # left-out scores are 0, left-out description empty: the entry replaces the default whole
    assert roles["reviewer"] == Role("reviewer", "reasoning", Floor(intelligence=55), "")
    assert roles["tool_worker"] == DEFAULT_ROLES["tool_worker"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            ["orchestrator"],
            "mmoa.yaml: roles: must be a mapping of role name to settings, got list. "
            "Fix: write each role as `name:` with its settings indented under it",
        ),
        (
            {"": {"tier": "reasoning"}},
            "mmoa.yaml: roles: role name must be a non-empty string, got ''. "
            "Fix: name each role with a word, e.g. reviewer",
        ),
        (
            {"reviewer": "reasoning"},
            "mmoa.yaml: roles.reviewer: must be a mapping, got str. "
            "Fix: give it the keys coding, description, intelligence, strengths, tier, "
            "indented under it",
        ),
        (
            {"tool_worker": {"tier": "implementation", "intelligence": "high"}},
            "mmoa.yaml: roles.tool_worker.intelligence: must be an integer from 0 to 100, "
            "got 'high'. Fix: set roles.tool_worker.intelligence to a whole number between "
            "0 and 100",
        ),
        (
            {"tool_worker": {"tier": "implementation", "coding": 101}},
            "mmoa.yaml: roles.tool_worker.coding: must be an integer from 0 to 100, got 101. "
            "Fix: set roles.tool_worker.coding to a whole number between 0 and 100",
        ),
        (
            {"tool_worker": {"tier": "implementation", "coding": 4.5}},
            "mmoa.yaml: roles.tool_worker.coding: must be an integer from 0 to 100, got 4.5. "
            "Fix: set roles.tool_worker.coding to a whole number between 0 and 100",
        ),
        (
            {"tool_worker": {"tier": "implementation", "coding": True}},
            "mmoa.yaml: roles.tool_worker.coding: must be an integer from 0 to 100, got True. "
            "Fix: set roles.tool_worker.coding to a whole number between 0 and 100",
        ),
        (
            {"orchestrator": {"tier": "management"}},
            "mmoa.yaml: roles.orchestrator.tier: unknown tier 'management'. "
            "Fix: use one of orchestration, implementation, reasoning",
        ),
        (
            {"orchestrator": {"intelligence": 60}},
            "mmoa.yaml: roles.orchestrator.tier: is missing. "
            "Fix: set tier to one of orchestration, implementation, reasoning",
        ),
        (
            {"orchestrator": {"tier": "orchestration", "model": "gpt-5", "budget": 3}},
            "mmoa.yaml: roles.orchestrator.budget: unknown key. "
            "Fix: remove it, or use one of coding, description, intelligence, strengths, tier",
        ),
        (
            {"reviewer": {"tier": "reasoning", "strengths": "reasoning"}},
            "mmoa.yaml: roles.reviewer.strengths: must be a list of names. "
            "Fix: e.g. strengths: [reasoning]",
        ),
        (
            {"reviewer": {"tier": "reasoning", "strengths": ["reasoning", "maths"]}},
            "mmoa.yaml: roles.reviewer.strengths: unknown strength 'maths'. "
            "Fix: use one of large_context, coding, reasoning, vision, fast, writing",
        ),
        (
            {"reviewer": {"tier": "reasoning", "description": 7}},
            "mmoa.yaml: roles.reviewer.description: must be text, got int. "
            'Fix: quote it, e.g. description: "reviews pull requests"',
        ),
    ],
)
def test_invalid_roles_name_file_key_problem_and_fix(raw: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_roles(raw, WHERE)
    assert str(info.value) == message
    assert info.value.where == WHERE


# --- overrides from the environment ------------------------------------------------------------

ROLE_NAMES = list(ROLES)


def _env(env: dict[str, str]) -> dict[str, str]:
    return overrides_from_env(env, roles=ROLE_NAMES, categories=CATEGORIES)


def test_override_for_a_category_and_a_role() -> None:
    env = {
        "MODEL_OVERRIDE_CODING_IMPLEMENTATION": "gpt-4o-mini",
        "MODEL_OVERRIDE_ORCHESTRATOR": "claude-sonnet-4-6",
        "PATH": "/usr/bin",
        "OPENAI_API_KEY": "unused",
    }
    assert _env(env) == {
        "coding_implementation": "gpt-4o-mini",
        "orchestrator": "claude-sonnet-4-6",
    }


def test_override_names_match_case_insensitively() -> None:
    env = {
        "MODEL_OVERRIDE_Tool_Worker": "gpt-5-mini",
        "MODEL_OVERRIDE_simple_quick": "gpt-4.1-nano",
    }
    assert _env(env) == {"tool_worker": "gpt-5-mini", "simple_quick": "gpt-4.1-nano"}


def test_dashes_and_spaces_in_names_read_as_underscores() -> None:
    got = overrides_from_env(
        {"MODEL_OVERRIDE_CODE_REVIEWER": "gpt-5", "MODEL_OVERRIDE_DATA_ENTRY": "gpt-4o-mini"},
        roles=["code-reviewer"],
        categories=["Data Entry"],
    )
    assert got == {"code-reviewer": "gpt-5", "Data Entry": "gpt-4o-mini"}


def test_override_naming_neither_role_nor_category() -> None:
    with pytest.raises(ValueError) as info:
        overrides_from_env(
            {"MODEL_OVERRIDE_FOO": "gpt-5"}, roles=["orchestrator"], categories=["simple_quick"]
        )
    assert str(info.value) == (
        "MODEL_OVERRIDE_FOO: no role or category 'foo'; known: orchestrator, simple_quick"
    )


def test_override_matching_two_different_names_is_ambiguous() -> None:
    with pytest.raises(ValueError) as info:
        overrides_from_env(
            {"MODEL_OVERRIDE_CODE_REVIEW": "gpt-5"},
            roles=["code-review"],
            categories=["code_review"],
        )
    assert str(info.value) == (
        "MODEL_OVERRIDE_CODE_REVIEW: ambiguous, names both 'code-review' and 'code_review'; "
        "rename one of them"
    )


def test_empty_override_values_are_ignored() -> None:
    env = {
        "MODEL_OVERRIDE_ORCHESTRATOR": "",
        "MODEL_OVERRIDE_SIMPLE_QUICK": "   ",
        "MODEL_OVERRIDE_FOO": "",  # empty: not even checked
        "MODEL_OVERRIDE_TOOL_WORKER": " gpt-5-mini ",
    }
    assert _env(env) == {"tool_worker": "gpt-5-mini"}


def test_no_overrides() -> None:
    assert _env({}) == {}


# --- check_overrides ---------------------------------------------------------------------------


def test_check_overrides_accepts_known_models() -> None:
    names = [m.name for m in load_catalog()]
    check_overrides({"orchestrator": "claude-sonnet-4-6", "simple_quick": "gpt-4o-mini"}, names)


def test_check_overrides_suggests_close_names() -> None:
    names = [m.name for m in load_catalog()]
    with pytest.raises(ValueError) as info:
        check_overrides({"coding_implementation": "gpt-4o-mni"}, names)
    message = str(info.value)
    assert message.startswith("MODEL_OVERRIDE_CODING_IMPLEMENTATION: unknown model 'gpt-4o-mni'")
    assert message == (
        "MODEL_OVERRIDE_CODING_IMPLEMENTATION: unknown model 'gpt-4o-mni'; "
        "did you mean gpt-4o-mini, gpt-4.1-mini, gpt-5-mini?"
    )


def test_check_overrides_without_close_names_lists_every_problem() -> None:
    with pytest.raises(ValueError) as info:
        check_overrides(
            {"tool_worker": "zzz", "code-reviewer": "gpt-5-mni", "orchestrator": "gpt-5"},
            ["gpt-5", "gpt-5-mini"],
        )
    assert str(info.value) == (
        "MODEL_OVERRIDE_CODE_REVIEWER: unknown model 'gpt-5-mni'; did you mean gpt-5-mini, gpt-5?; "
        "MODEL_OVERRIDE_TOOL_WORKER: unknown model 'zzz'; see `mmoa models` for the names"
    )


# --- models_for_role ---------------------------------------------------------------------------

# Pinned against the shipped catalog (catalog/models.yaml + genai-prices cards). Checked by
# hand: for each pin, every text model with intelligence >= 45 and coding >= 40 (tool_worker),
# or intelligence >= 60 and coding >= 45 (orchestrator), and no other, is listed, and the
# order is input + output $/1M tokens ascending, then name:
#   gpt-5-nano 0.05+0.4=0.45, gpt-5-mini 0.25+2=2.25, gemini-2.5-flash 0.3+2.5=2.8,
#   o3-mini 1.1+4.4=5.5, claude-haiku-4-5 1+5=6, gpt-4.1 2+8=10,
#   gemini-2.5-pro 1.25+10=11.25 = gpt-5 1.25+10 (tie -> by name),
#   claude-3-7-sonnet / claude-sonnet-4-0 / -4-5 / -4-6 3+15=18 (tie -> by name),
#   claude-opus-4-5 / -4-6 5+25=30, o1 15+60=75, claude-opus-4-1 15+75=90.
# Excluded for tool_worker: gpt-4.1-mini (42/36), gpt-4o (41/32), gemini-2.5-flash-lite (44/32)
# and every economy model below 45. Excluded for orchestrator: claude-sonnet-4-0 (59),
# claude-haiku-4-5 (55), o1 (55), gemini-2.5-flash (54), o3-mini (53), gpt-5-nano (51).
TOOL_WORKER_MODELS = [
    "gpt-5-nano",
    "gpt-5-mini",
    "gemini-2.5-flash",
    "o3-mini",
    "claude-haiku-4-5",
    "gpt-4.1",
    "gemini-2.5-pro",
    "gpt-5",
    "claude-3-7-sonnet-20250219",
    "claude-sonnet-4-0",
    "claude-sonnet-4-5",
    "claude-sonnet-4-6",
    "claude-opus-4-5",
    "claude-opus-4-6",
    "o1",
    "claude-opus-4-1",
]
ORCHESTRATOR_MODELS = [
    "gpt-5-mini",
    "gemini-2.5-pro",
    "gpt-5",
    "claude-sonnet-4-5",
    "claude-sonnet-4-6",
    "claude-opus-4-5",
    "claude-opus-4-6",
    "claude-opus-4-1",
]


def _names(models: list[ModelSpec]) -> list[str]:
    return [m.name for m in models]


def test_models_for_default_tool_worker() -> None:
    got = models_for_role(DEFAULT_ROLES["tool_worker"], load_catalog())
    assert _names(got) == TOOL_WORKER_MODELS


def test_models_for_default_orchestrator() -> None:
    got = models_for_role(DEFAULT_ROLES["orchestrator"], load_catalog())
    assert _names(got) == ORCHESTRATOR_MODELS


def test_pinned_lists_agree_with_the_floors() -> None:
    """The pins above, re-derived independently of models_for_role's filter."""
    catalog = load_catalog()
    for role, pinned in (
        (DEFAULT_ROLES["tool_worker"], TOOL_WORKER_MODELS),
        (DEFAULT_ROLES["orchestrator"], ORCHESTRATOR_MODELS),
    ):
        expected = {
            m.name
            for m in catalog
            if m.kind == "text"
            and m.intelligence >= role.floor.intelligence
            and m.coding >= role.floor.coding
        }
        assert set(pinned) == expected
        totals = []
        for name in pinned:
            price = catalog.get(name).price
            assert price is not None
            totals.append((price.input.base + price.output.base, name))
        assert totals == sorted(totals)


def test_strengths_are_required() -> None:
    got = models_for_role(DEFAULT_ROLES["reasoning_worker"], load_catalog())
    assert got
    assert all("reasoning" in m.strengths and m.intelligence >= 60 for m in got)
    assert "claude-sonnet-4-0" not in _names(got)  # intelligence 59


def test_image_models_never_appear() -> None:
    catalog = load_catalog()
    assert any(m.kind == "image" for m in catalog)
    anything = Role("anything", "implementation", Floor(), "")
    got = models_for_role(anything, catalog)
    assert all(m.kind == "text" for m in got)
    assert len(got) == sum(1 for m in catalog if m.kind == "text")
    for name in ("gpt-image-1", "gpt-image-1-mini", "imagen-4.0-generate-001"):
        assert name not in _names(got)


def test_unpriced_models_come_last_and_ties_go_by_name() -> None:
    base = load_catalog().get("gpt-4o-mini")
    card = Price(input=Rate(Decimal("1")), output=Rate(Decimal("2")))
    models = [
        replace(base, name="b-unpriced", price=None),
        replace(base, name="a-unpriced", price=None),
        replace(base, name="z-cheap", price=Price(Rate(Decimal("0.5")), Rate(Decimal("0.5")))),
        replace(base, name="b-mid", price=card),
        replace(base, name="a-mid", price=card),
        replace(base, name="image", kind="image", price=None),
    ]
    role = Role("r", "implementation", Floor(intelligence=30), "")
    assert _names(models_for_role(role, models)) == [
        "z-cheap",
        "a-mid",
        "b-mid",
        "a-unpriced",
        "b-unpriced",
    ]
    # the order does not depend on the order given
    assert models_for_role(role, reversed(models)) == models_for_role(role, models)


def test_no_model_meets_a_high_floor() -> None:
    role = Role("genius", "reasoning", Floor(intelligence=100, coding=100), "")
    assert models_for_role(role, load_catalog()) == []
