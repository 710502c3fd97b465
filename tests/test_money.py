"""How reports and the dashboard print dollars."""

from __future__ import annotations

from decimal import Decimal

import pytest

from analytics.money import usd


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "unpriced"),
        (Decimal(0), "$0"),
        (Decimal("1234.5678"), "$1,234.57"),
        (Decimal("12.345678"), "$12.3457"),
        (Decimal("0.0375100000"), "$0.03751"),
        (Decimal("0.0000070000"), "$0.000007"),
        (Decimal("0.0000012345678"), "$0.000001235"),
        (Decimal("-0.00042"), "-$0.00042"),
    ],
)
def test_usd(value: Decimal | None, shown: str) -> None:
    assert usd(value) == shown
