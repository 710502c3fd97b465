"""How the dashboard writes numbers: money through analytics.money.usd, counts with commas."""

from __future__ import annotations

import streamlit as st

from analytics.money import usd

__all__ = ["NUMBER", "count", "ms", "pct", "rate", "table_height", "usd"]


def count(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def pct(value: float | None, digits: int = 1) -> str:
    """A percentage already in percent (87.7 -> '87.7%')."""
    return "-" if value is None else f"{value:.{digits}f}%"


def rate(value: float | None, digits: int = 2) -> str:
    """A ratio in [0, 1] as a percentage (0.0123 -> '1.23%')."""
    return "-" if value is None else f"{100 * value:.{digits}f}%"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


# integer columns of tables with thousands separators (the values stay numbers: sortable)
NUMBER = st.column_config.NumberColumn(format="localized")


def table_height(rows: int) -> int:
    """Pixels for a dataframe that shows `rows` rows without its own scroll bar (up to 25)."""
    return 38 + 35 * min(rows, 25)
