"""Money for people: how reports and the dashboard print US dollars."""

from __future__ import annotations

from decimal import Decimal


def usd(value: Decimal | None) -> str:
    """Cents from $100, four decimals from $1, four significant digits below (never in
    scientific notation: $0.000007, not $7.000e-6); None is unpriced."""
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
    four = small.quantize(Decimal(1).scaleb(small.adjusted() - 3))
    return f"${four.normalize():f}"
