"""Budgets as the dashboard shows them: the `budgets:` of the config file `mmoa dashboard` was
given, and each one's status now (analytics/budgets.py folds the log into the figures)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from analytics.budgets import status
from analytics.errors import AnalyticsError
from analytics.reader import Source
from catalog.budgets import BudgetSpec, parse_budgets
from catalog.errors import CatalogError


def specs(config_path: str | None) -> tuple[BudgetSpec, ...]:
    """The budgets of a config file (none without a file or a `budgets:` section)."""
    if not config_path:
        return ()
    try:
        raw = yaml.safe_load(Path(config_path).read_text(encoding="utf-8"))
        section = raw.get("budgets") if isinstance(raw, dict) else None
        return parse_budgets(section, config_path)
    except (OSError, yaml.YAMLError, CatalogError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AnalyticsError(f"cannot read the budgets of {config_path}: {first}") from None


def status_rows(source: Source, config_path: str | None, now: datetime) -> list[dict[str, Any]]:
    """Each configured budget at `now` (naive UTC): spent, pace, forecast and band, state."""
    budgets = specs(config_path)
    return [row.as_dict() for row in status(source, budgets, now)] if budgets else []
