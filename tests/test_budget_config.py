"""Budgets in mmoa.yaml: BudgetSpec parsing, period windows, one-line errors naming the fix."""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog.budgets import (
    AlertWebhook,
    BudgetSpec,
    Scope,
    parse_budgets,
    parse_webhook,
    period_window,
)
from catalog.errors import BadBudget
from mmoa import settings
from router import ConfigError, load_config, parse_config


@pytest.fixture
def raw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.delenv("MMOA_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    data: dict[str, Any] = yaml.safe_load(settings.config_path().read_text(encoding="utf-8"))
    return data


def test_full_entry_parses_exactly() -> None:
    (spec,) = parse_budgets(
        [
            {
                "name": "search-team",
                "amount": "12.50",
                "period": "6h",
                "scope": "tag:team=search",
                "soft": "60%",
                "hard": 14,
                "downgrade": "cheapest",
                "margin": 0.5,
                "cooldown_s": 600,
            }
        ],
        "x.yaml",
    )
    assert spec == BudgetSpec(
        name="search-team",
        amount=Decimal("12.50"),
        period="6h",
        scope=Scope("tag", "team=search"),
        soft=Decimal("7.5"),
        hard=Decimal("14"),
        downgrade="cheapest",
        margin=0.5,
        cooldown_s=600.0,
    )


def test_defaults() -> None:
    (spec,) = parse_budgets([{"name": "daily", "amount": 25}])
    assert (spec.period, spec.scope, spec.soft, spec.hard) == ("day", Scope(), Decimal(20), None)
    assert (spec.downgrade, spec.margin, spec.cooldown_s) == ("next_tier", 0.2, 1800.0)
    assert parse_budgets(None) == ()


def test_float_amounts_are_read_as_written() -> None:
    (spec,) = parse_budgets([{"name": "d", "amount": 0.1, "soft": 0.07}])
    assert (spec.amount, spec.soft) == (Decimal("0.1"), Decimal("0.07"))


NOW = datetime(2026, 11, 28, 17, 23, 45, 123456)


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("hour", datetime(2026, 11, 28, 17), datetime(2026, 11, 28, 18)),
        ("day", datetime(2026, 11, 28), datetime(2026, 11, 29)),
        ("week", datetime(2026, 11, 23), datetime(2026, 11, 30)),  # Monday to Monday
        ("month", datetime(2026, 11, 1), datetime(2026, 12, 1)),
        ("6h", datetime(2026, 11, 28, 12), datetime(2026, 11, 28, 18)),
        ("90m", datetime(2026, 11, 28, 16, 30), datetime(2026, 11, 28, 18)),
        ("2d", datetime(2026, 11, 27), datetime(2026, 11, 29)),  # epoch-aligned
    ],
)
def test_windows(period: str, start: datetime, end: datetime) -> None:
    assert BudgetSpec("b", Decimal(1), period=period).window(NOW) == (start, end)


def test_window_edges() -> None:
    assert period_window("month", datetime(2026, 12, 31, 23, 59)) == (
        datetime(2026, 12, 1),
        datetime(2027, 1, 1),
    )
    # the start is inside its own window; the end belongs to the next one
    assert period_window("day", datetime(2026, 11, 28)) == (
        datetime(2026, 11, 28),
        datetime(2026, 11, 29),
    )
    assert period_window("hour", datetime(2026, 11, 28, 18))[0] == datetime(2026, 11, 28, 18)


@pytest.mark.parametrize(
    ("entry", "key", "words"),
    [
        ({"amount": 5}, "budgets[0].name", "is required"),
        ({"name": "d"}, "budgets[0].amount", "is required"),
        ({"name": "d", "amount": -1}, "budgets[0].amount", "positive dollar amount"),
        ({"name": "d", "amount": "ten"}, "budgets[0].amount", "positive dollar amount"),
        ({"name": "d", "amount": True}, "budgets[0].amount", "positive dollar amount"),
        ({"name": "d", "amount": 100_000_000}, "budgets[0].amount", "beyond what the store"),
        ({"name": "d", "amount": 10, "hard": "1e9"}, "budgets[0].hard", "under $100,000,000"),
        ({"name": "d", "amount": 5, "period": "fortnight"}, "budgets[0].period", "unknown period"),
        ({"name": "d", "amount": 5, "period": "30s"}, "budgets[0].period", "unknown period"),
        ({"name": "d", "amount": 5, "scope": "team:x"}, "budgets[0].scope", "scope 'team:x'"),
        ({"name": "d", "amount": 5, "soft": "x%"}, "budgets[0].soft", "share of the amount"),
        ({"name": "d", "amount": 5, "soft": 4, "hard": 3}, "budgets[0].hard", "below the soft"),
        ({"name": "d", "amount": 5, "downgrade": "cheaper"}, "budgets[0].downgrade", "unknown"),
        ({"name": "d", "amount": 5, "margin": "lots"}, "budgets[0].margin", "must be a number"),
        ({"name": "d", "amount": 5, "cooldown_s": -1}, "budgets[0].cooldown_s", "a number"),
        ({"name": "d", "amount": 5, "limit": 3}, "budgets[0].limit", "unknown key"),
    ],
)
def test_bad_entries_name_file_key_and_fix(entry: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(BadBudget) as info:
        parse_budgets([entry], "conf.yaml")
    message = str(info.value)
    assert message.startswith(f"conf.yaml: {key}: ")
    assert words in message and ". Fix: " in message and "\n" not in message


def test_duplicates_and_shape() -> None:
    with pytest.raises(BadBudget, match=r"budgets\[1\].name: duplicate name 'd'"):
        parse_budgets([{"name": "d", "amount": 1}, {"name": "d", "amount": 2}], "c.yaml")
    with pytest.raises(BadBudget, match="c.yaml: budgets: must be a list of budgets, got dict"):
        parse_budgets({"name": "d"}, "c.yaml")
    with pytest.raises(BadBudget, match=r"budgets\[0\]: must be a mapping, got str"):
        parse_budgets(["daily"], "c.yaml")


def test_webhook() -> None:
    assert parse_webhook(None) is None
    assert parse_webhook({"url": "http://127.0.0.1:9/h", "retries": 2}) == AlertWebhook(
        "http://127.0.0.1:9/h", 5.0, 2
    )
    with pytest.raises(BadBudget, match=r"budget_webhook.url: must be an http\(s\) URL"):
        parse_webhook({"url": "ftp://x"}, "c.yaml")
    with pytest.raises(BadBudget, match="budget_webhook.retries: must be an integer"):
        parse_webhook({"url": "http://x", "retries": -1}, "c.yaml")


def test_router_config_carries_budgets(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["budgets"] = [{"name": "daily", "amount": 3, "downgrade": "cheapest"}]
    data["budget_webhook"] = {"url": "http://127.0.0.1:1/hook", "timeout_s": 1, "retries": 3}
    config = parse_config(data, "m.yaml")
    assert config.budgets == (
        BudgetSpec("daily", Decimal(3), soft=Decimal("2.4"), downgrade="cheapest"),
    )
    assert config.budget_webhook == AlertWebhook("http://127.0.0.1:1/hook", 1.0, 3)


def test_router_config_wraps_budget_errors(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["budgets"] = [{"name": "daily", "amount": 0}]
    with pytest.raises(ConfigError) as info:
        parse_config(data, "m.yaml")
    assert info.value.key == "budgets[0].amount"
    assert str(info.value).startswith("m.yaml: budgets[0].amount: must be a positive dollar")


def test_downgrade_chain_must_exist(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    chains = list(parse_config(data).strategies.chains)
    data["budgets"] = [{"name": "daily", "amount": 5, "downgrade": "chain:nope"}]
    with pytest.raises(ConfigError, match=r"budgets\[0\].downgrade: no chain named 'nope'"):
        parse_config(data, "m.yaml")
    data["budgets"] = [{"name": "daily", "amount": 5, "downgrade": f"chain:{chains[0]}"}]
    assert parse_config(data).budgets[0].downgrade == f"chain:{chains[0]}"


def test_yaml_file_round_trip(tmp_path: Path, raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    data["budgets"] = [
        {"name": "coding", "amount": "2.00", "scope": "category:coding_implementation"}
    ]
    path = tmp_path / "mmoa.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    (spec,) = load_config(path).budgets
    assert (spec.amount, spec.scope) == (
        Decimal("2.00"),
        Scope("category", "coding_implementation"),
    )
