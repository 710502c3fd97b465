"""Money for people: how reports and the dashboard print US dollars."""

from __future__ import annotations

from decimal import Decimal


def usd(value: Decimal | None) -> str:
    """Cents for sums of a dollar or more, four significant digits below; None is unpriced."""
    if value is None:
        return "unpriced"
    if value == 0:
        return "$0"
    if value < 0:
        return f"-{usd(-value)}"
    if abs(value) >= 1:
        return f"${value:,.2f}" if abs(value) >= 100 else f"${value:,.4f}"
    # normalize(): DECIMAL(18,10) from the store carries trailing zeros that are not precision
    small = value.normalize()
    return f"${small:.4g}" if abs(small) >= Decimal("0.0001") else f"${small:.3e}"
