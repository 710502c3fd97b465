"""The collector as the single authority for hard-cap reservations (service mode), over JSON.

- `POST /v1/budget/reserve`: `{"reservation_id", "request_id", "category", "tags",
  "provider", "amount"}` -> `{"granted": true, "reservation_id", "amount"}` or
  `{"granted": false, "budget": NAME}`. The client picks the reservation id, so a retried
  request (the answer was lost) returns the same reservation instead of holding twice.
- `POST /v1/budget/settle`: `{"reservation_id", "actual"}` (actual: a decimal string, or null
  when the call could not be priced) -> `{"settled": true}`; settling twice does nothing.

Amounts travel as decimal strings: JSON numbers are floats to most parsers, and floats are not
money. 400 for a malformed body, 404 when the collector holds no hard-capped budgets.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from collector.ledger import BudgetLedger, Reservation

RESERVE_PATH = "/v1/budget/reserve"
SETTLE_PATH = "/v1/budget/settle"
PATHS = (RESERVE_PATH, SETTLE_PATH)
NO_LEDGER = (
    "this collector holds no hard-capped budgets; start it with --config naming a config "
    "whose `budgets:` have a `hard` limit"
)

Answer = tuple[int, dict[str, Any] | str]  # status, JSON document or error text


class BadBody(ValueError):
    """A reserve/settle body that does not follow the contract (400)."""


def _doc(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadBody(f"malformed JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise BadBody("expected a JSON object")
    return doc


def _text(doc: dict[str, Any], key: str, required: bool = True) -> str:
    value = doc.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value):
        raise BadBody(f"{key!r} must be a non-empty string")
    return value


def _money(doc: dict[str, Any], key: str, nullable: bool = False) -> Decimal | None:
    value = doc.get(key)
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise BadBody(f'{key!r} must be a decimal string, e.g. "0.0125"')
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise BadBody(f"{key!r}: {value!r} is not a decimal number") from None
    if not amount.is_finite() or amount < 0:
        raise BadBody(f"{key!r} must be a finite amount >= 0, got {value!r}")
    return amount


def reserve(ledger: BudgetLedger | None, body: bytes) -> Answer:
    if ledger is None:
        return 404, NO_LEDGER
    try:
        doc = _doc(body)
        tags = doc.get("tags") or {}
        if not isinstance(tags, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
        ):
            raise BadBody("'tags' must map strings to strings")
        rid = _text(doc, "reservation_id")
        amount = _money(doc, "amount")
        assert amount is not None
        got = ledger.reserve(
            _text(doc, "request_id", required=False),
            _text(doc, "category", required=False),
            tags,
            _text(doc, "provider", required=False),
            amount,
            reservation_id=rid,
        )
    except BadBody as exc:
        return 400, str(exc)
    if isinstance(got, Reservation):
        return 200, {"granted": True, "reservation_id": got.id, "amount": str(got.amount)}
    return 200, {"granted": False, "budget": got}


def settle(ledger: BudgetLedger | None, body: bytes) -> Answer:
    if ledger is None:
        return 404, NO_LEDGER
    try:
        doc = _doc(body)
        ledger.settle(_text(doc, "reservation_id"), _money(doc, "actual", nullable=True))
    except BadBody as exc:
        return 400, str(exc)
    return 200, {"settled": True}
