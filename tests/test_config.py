"""Routing configuration: the shipped mmoa.yaml, validation errors, and where config comes from."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog import load_catalog
from mmoa import settings
from router import ConfigError, Router, load_config, parse_config
from router.config import Floor, RouterConfig

CATEGORY_IDS = [
    "simple_quick",
    "general_development",
    "coding_implementation",
    "analysis_research",
    "creative_content",
    "complex_reasoning",
    "specialized",
]


@pytest.fixture
def shipped_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default config, found with no env var and no ./mmoa.yaml."""
    monkeypatch.delenv("MMOA_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    path = settings.config_path()
    assert path.parent.name == "mmoa"
    assert path.name == "mmoa.yaml"
    return path


@pytest.fixture
def shipped_raw(shipped_path: Path) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(shipped_path.read_text(encoding="utf-8"))
    return raw


def no_provider(spec: object) -> None:
    return None


# --------------------------------------------------------------------------- shipped default


def test_shipped_default_is_valid(shipped_path: Path) -> None:
    config = load_config(shipped_path)
    assert list(config.categories) == [*CATEGORY_IDS, "image_generation"]
    assert config.baseline == "claude-sonnet-4-6"
    assert config.image_baseline == "gpt-image-1"
    assert config.strategy == "cheapest"
    assert config.max_attempts == 3
    assert config.source == str(shipped_path)
    assert config.models == ()


def test_shipped_default_baseline_is_a_claude_sonnet(shipped_path: Path) -> None:
    config = load_config(shipped_path)
    catalog = load_catalog(config.models)
    baseline = catalog.get(config.baseline)
    assert baseline.provider == "anthropic"
    assert "sonnet" in baseline.name
    router = Router(catalog, config, no_provider)  # every chain model and the baseline exist
    assert router.baseline is baseline


def test_shipped_default_chains_and_floors(shipped_path: Path) -> None:
    cats = load_config(shipped_path).categories
    assert cats["creative_content"].chain == (
        "gpt-4o-mini",
        "claude-haiku-4-5",
        "claude-sonnet-4-6",
    )
    assert cats["specialized"].chain == ("gemini-2.5-pro", "claude-sonnet-4-6", "gpt-5")
    assert cats["coding_implementation"].floors["expert"] == Floor(intelligence=63, coding=58)
    assert cats["complex_reasoning"].floors["basic"] == Floor(50, 0, ("reasoning",))
    assert cats["simple_quick"].expected_output_tokens == 150


# --------------------------------------------------------------------------- malformed files


def _write(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _set(*keys: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        node = raw
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return edit


def _drop(*keys: str) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        node = raw
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]

    return edit


FLOOR = ("categories", "coding_implementation", "floors")
MALFORMED: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("unknown-top-level-key", _set("colour", value="blue"), "colour"),
    ("missing-category", _drop("categories", "specialized"), "categories.specialized"),
    (
        "unknown-category",
        _set("categories", "poetry", value={"chain": ["gpt-4o"]}),
        "categories.poetry",
    ),
    (
        "neither-chain-nor-floors",
        _set("categories", "creative_content", value={"description": "stories"}),
        "categories.creative_content",
    ),
    (
        "non-integer-floor",
        _set(*FLOOR, "advanced", "intelligence", value="high"),
        "categories.coding_implementation.floors.advanced.intelligence",
    ),
    (
        "fractional-floor",
        _set(*FLOOR, "advanced", "intelligence", value=55.5),
        "categories.coding_implementation.floors.advanced.intelligence",
    ),
    (
        "score-over-100",
        _set(*FLOOR, "advanced", "coding", value=101),
        "categories.coding_implementation.floors.advanced.coding",
    ),
    (
        "unknown-complexity-level",
        _set(*FLOOR, "genius", value={"intelligence": 90}),
        "categories.coding_implementation.floors.genius",
    ),
    (
        "unknown-floor-key",
        _set(*FLOOR, "basic", "speed", value=3),
        "categories.coding_implementation.floors.basic.speed",
    ),
    (
        "chain-not-a-list",
        _set("categories", "specialized", "chain", value="gpt-5"),
        "categories.specialized.chain",
    ),
    ("unknown-strategy", _set("strategy", value="random"), "strategy"),
    ("missing-baseline", _drop("baseline"), "baseline"),
    ("models-not-a-list", _set("models", value={"name": "x"}), "models"),
    ("max-attempts-zero", _set("max_attempts", value=0), "max_attempts"),
    ("max-attempts-text", _set("max_attempts", value="3"), "max_attempts"),
]


@pytest.mark.parametrize(
    ("edit", "key"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED]
)
def test_malformed_config_names_file_key_and_fix(
    tmp_path: Path, shipped_raw: dict[str, Any], edit: Callable[[dict[str, Any]], None], key: str
) -> None:
    raw = copy.deepcopy(shipped_raw)
    edit(raw)
    path = _write(tmp_path, raw)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert err.where == str(path)
    assert err.key == key
    message = str(err)
    assert message.startswith(f"{path}: {key}: ")
    assert "Fix: " in message


def test_invalid_yaml_gives_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "baseline: claude-sonnet-4-5\ncategories:\n  simple_quick: {floors: [\n  other: 1\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: line ")
    assert info.value.key.startswith("line ")
    assert "is not valid YAML" in message
    assert "Fix: " in message


def test_invalid_yaml_line_number(tmp_path: Path) -> None:
    path = tmp_path / "tabbed.yaml"
    path.write_text("baseline: gpt-4o\nstrategy: cheapest\n\tmax_attempts: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == "line 3, column 1"
    assert str(info.value).startswith(f"{path}: line 3, column 1: is not valid YAML")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == "(file)"
    assert str(path) in str(info.value)
    assert "MMOA_CONFIG" in str(info.value)


def test_parse_config_names_the_given_source(shipped_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(shipped_raw)
    raw["max_attempts"] = 11
    with pytest.raises(ConfigError) as info:
        parse_config(raw, "inline.yaml")
    assert str(info.value) == (
        "inline.yaml: max_attempts: must be an integer from 1 to 10, got 11. "
        "Fix: set max_attempts to a whole number between 1 and 10"
    )


def test_left_out_floor_inherits_the_level_below(shipped_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(shipped_raw)
    raw["categories"]["analysis_research"]["floors"] = {
        "intermediate": {"intelligence": 45, "strengths": ["reasoning"]},
        "expert": {"intelligence": 60},
    }
    floors = parse_config(raw, "x.yaml").categories["analysis_research"].floors
    assert floors == {
        "basic": Floor(),
        "intermediate": Floor(45, 0, ("reasoning",)),
        "advanced": Floor(45, 0, ("reasoning",)),
        "expert": Floor(60, 0, ()),
    }


def test_defaults_when_optional_keys_are_absent(shipped_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(shipped_raw)
    for key in ("strategy", "max_attempts", "models", "simulation"):
        del raw[key]
    del raw["categories"]["simple_quick"]["expected_output_tokens"]
    config = parse_config(raw)
    assert (config.strategy, config.max_attempts, config.models, dict(config.simulation)) == (
        "cheapest",
        3,
        (),
        {},
    )
    assert config.source == "<dict>"
    assert config.categories["simple_quick"].expected_output_tokens == 500


# ------------------------------------------------------------------ unknown models at Router()


def _router_error(config: RouterConfig) -> ConfigError:
    catalog = load_catalog(config.models, where=config.source)
    with pytest.raises(ConfigError) as info:
        Router(catalog, config, no_provider)
    return info.value


def test_unknown_chain_model_caught_by_router(shipped_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(shipped_raw)
    raw["categories"]["specialized"]["chain"] = ["gemini-2.5-pro", "claude-sonet-4-5"]
    err = _router_error(parse_config(raw, "x.yaml"))
    assert err.key == "categories.specialized.chain[1]"
    assert str(err).startswith("x.yaml: categories.specialized.chain[1]: unknown model")
    assert "'claude-sonet-4-5'" in str(err)
    assert "Fix: " in str(err)


def test_unknown_baseline_caught_by_router(shipped_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(shipped_raw)
    raw["baseline"] = "claude-sonnet-9"
    err = _router_error(parse_config(raw, "x.yaml"))
    assert err.key == "baseline"
    assert str(err).startswith("x.yaml: baseline: unknown model 'claude-sonnet-9'")
    assert "Fix: " in str(err)


def test_config_model_usable_in_chain_and_baseline(shipped_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(shipped_raw)
    raw["models"] = [
        {
            "name": "my-model",
            "provider": "together",
            "context_window": 131_072,
            "max_output": 4_096,
            "intelligence": 33,
            "coding": 26,
            "tier": "economy",
            "prices": {"input": 0.88, "output": 0.88},
        }
    ]
    raw["baseline"] = "my-model"
    raw["categories"]["specialized"]["chain"] = ["my-model"]
    config = parse_config(raw, "x.yaml")
    router = Router(load_catalog(config.models, where="x.yaml"), config, no_provider)
    assert router.baseline.name == "my-model"


def test_unknown_floor_strength_is_rejected(shipped_raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(shipped_raw)
    raw["categories"]["complex_reasoning"]["floors"]["expert"]["strengths"] = ["reasonin"]
    with pytest.raises(ConfigError) as info:
        parse_config(raw, "x.yaml")
    assert str(info.value) == (
        "x.yaml: categories.complex_reasoning.floors.expert.strengths: unknown strength "
        "'reasonin'. Fix: use one of large_context, coding, reasoning, vision, fast, writing"
    )


# ------------------------------------------------------------------------------- settings


def test_config_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MMOA_CONFIG", raising=False)
    shipped = settings.config_path()
    assert shipped.is_file()
    assert shipped.read_text(encoding="utf-8").startswith("# mmoa configuration")

    (tmp_path / "mmoa.yaml").write_text("{}\n", encoding="utf-8")
    assert settings.config_path() == Path("mmoa.yaml")  # ./mmoa.yaml beats the shipped one

    monkeypatch.setenv("MMOA_CONFIG", "/etc/from-env.yaml")
    assert settings.config_path() == Path("/etc/from-env.yaml")  # env beats ./mmoa.yaml

    assert settings.config_path("explicit.yaml") == Path("explicit.yaml")  # argument beats env


def test_empty_config_env_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MMOA_CONFIG", "")
    assert settings.config_path().name == "mmoa.yaml"
    assert settings.config_path().is_file()


def test_store_path_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MMOA_STORE", raising=False)
    assert settings.store_path() == Path("mmoa.duckdb")
    monkeypatch.setenv("MMOA_STORE", "/data/env.duckdb")
    assert settings.store_path() == Path("/data/env.duckdb")
    assert settings.store_path("cli.duckdb") == Path("cli.duckdb")
