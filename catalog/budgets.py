"""Budgets as data, shared by the router (scopes of downgrades), the collector (hard-cap
reservations) and analytics (the controller): a leaf module, like the rest of the catalog."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from catalog.errors import BadBudget

SCOPE_KINDS = ("global", "category", "tag", "provider")


@dataclass(frozen=True, slots=True)
class Scope:
    """Which requests a budget covers: `global`, `category:<name>`, `tag:<key>=<value>`,
    `provider:<name>`."""

    kind: str = "global"
    value: str = ""

    def matches(self, category: str, tags: Mapping[str, str], provider: str | None = None) -> bool:
        if self.kind == "global":
            return True
        if self.kind == "category":
            return category == self.value
        if self.kind == "tag":
            key, _, want = self.value.partition("=")
            return tags.get(key) == want
        if self.kind == "provider":
            return provider == self.value
        return False

    def __str__(self) -> str:
        return self.kind if self.kind == "global" else f"{self.kind}:{self.value}"

    @classmethod
    def parse(cls, text: str) -> Scope:
        """`global`, `category:coding_implementation`, `tag:team=search`, `provider:openai`."""
        kind, _, value = text.partition(":")
        if kind not in SCOPE_KINDS or (kind == "global") != (value == ""):
            raise ValueError(
                f"scope {text!r}: use global, category:<name>, tag:<key>=<value> or provider:<name>"
            )
        if kind == "tag" and "=" not in value:
            raise ValueError(f"scope {text!r}: a tag scope is tag:<key>=<value>")
        return cls(kind, value)


# ------------------------------------------------------------------------------ budget specs

PERIODS = ("hour", "day", "week", "month")
DOWNGRADES = ("next_tier", "cheapest")  # or "chain:<name>"
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_EPOCH = datetime(1970, 1, 1)
_KEYS = {"name", "amount", "period", "scope", "soft", "hard", "downgrade", "margin", "cooldown_s"}
_WEBHOOK_KEYS = {"url", "timeout_s", "retries"}


@dataclass(frozen=True, slots=True)
class BudgetSpec:
    """One budget: `amount` dollars per `period` for the requests in `scope`.

    `soft` is the alert threshold (dollars), `hard` the cap (None: none); `downgrade` says
    what a downgrade means for the scope (`next_tier`, `chain:<name>`, `cheapest`); drift is
    a recent spend rate above pace by `margin` (0.2 = 20%); a downgrade is lifted after spend
    has stayed under pace for `cooldown_s` seconds."""

    name: str
    amount: Decimal
    period: str = "day"
    scope: Scope = field(default_factory=Scope)
    soft: Decimal = Decimal(0)
    hard: Decimal | None = None
    downgrade: str = "next_tier"
    margin: float = 0.2
    cooldown_s: float = 1800.0

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """The period holding `now` (naive UTC): [start, end). Calendar periods are UTC-aligned
        (weeks start on Monday); custom durations are aligned on the Unix epoch."""
        return period_window(self.period, now)


@dataclass(frozen=True, slots=True)
class AlertWebhook:
    """Where budget alerts are POSTed (JSON), with retries and a per-attempt timeout."""

    url: str
    timeout_s: float = 5.0
    retries: int = 5


def period_seconds(period: str) -> int | None:
    """Length of a custom period ('6h', '90m') in seconds; None for calendar periods."""
    m = _DURATION.match(period)
    return int(m.group(1)) * _UNIT_S[m.group(2)] if m else None


def period_window(period: str, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the period holding `now` (naive UTC)."""
    now = now.replace(tzinfo=None)
    if period == "hour":
        start = now.replace(minute=0, second=0, microsecond=0)
        return start, start + timedelta(hours=1)
    if period == "day":
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + timedelta(days=1)
    if period == "week":
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if period == "month":
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        nxt = start.replace(year=start.year + 1, month=1) if start.month == 12 else None
        return start, nxt or start.replace(month=start.month + 1)
    seconds = period_seconds(period)
    if seconds is None:
        raise ValueError(f"unknown period {period!r}")
    step = timedelta(seconds=seconds)
    start = _EPOCH + ((now - _EPOCH) // step) * step
    return start, start + step


# Money is stored as DECIMAL(18, 10): eight digits of dollars.
_MAX_USD = Decimal(100_000_000)


def _money(where: str, key: str, value: object, amount: Decimal | None = None) -> Decimal:
    """Dollars (`10`, `'12.50'`), or a share of the amount (`'80%'`) when `amount` is given."""
    text = str(value).strip() if isinstance(value, int | float | str | Decimal) else ""
    if isinstance(value, bool):
        text = ""
    try:
        if amount is not None and text.endswith("%"):
            result = amount * Decimal(text[:-1]) / 100
        else:
            result = Decimal(text)
    except InvalidOperation:
        result = Decimal(-1)
    if result.is_finite() and result >= _MAX_USD:
        raise BadBudget(
            where,
            key,
            f"{value!r} is beyond what the store can hold exactly (DECIMAL(18, 10): "
            f"under ${_MAX_USD:,})",
            f"use a figure below {_MAX_USD:,}",
        )
    if not result.is_finite() or result <= 0:
        share = " or a share of the amount like '80%'" if amount is not None else ""
        raise BadBudget(
            where,
            key,
            f"must be a positive dollar amount{share}, got {value!r}",
            f"e.g. {key.rsplit('.', 1)[-1]}: 25.00",
        )
    return result


def _downgrade(where: str, key: str, value: object) -> str:
    ok = isinstance(value, str) and (
        value in DOWNGRADES or (value.startswith("chain:") and len(value) > len("chain:"))
    )
    if not ok:
        raise BadBudget(
            where,
            key,
            f"unknown downgrade {value!r}",
            "use next_tier, cheapest, or chain:<name> (a chain of strategies.fallback.chains)",
        )
    return str(value)


def _number(where: str, key: str, value: object, lo: float, hi: float, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise BadBudget(
            where, key, f"must be a number from {lo:g} to {hi:g}, got {value!r}", example
        )
    return float(value)


def _period(where: str, key: str, value: object) -> str:
    if isinstance(value, str) and (value in PERIODS or (period_seconds(value) or 0) >= 60):
        return value
    raise BadBudget(
        where,
        key,
        f"unknown period {value!r}",
        "use hour, day, week, month, or a duration of a minute or more like 6h, 90m, 2d",
    )


def parse_budget(raw: object, where: str, key: str) -> BudgetSpec:
    """One `budgets:` entry, validated."""
    if not isinstance(raw, Mapping):
        raise BadBudget(
            where,
            key,
            f"must be a mapping, got {type(raw).__name__}",
            "e.g. - {name: daily, amount: 25}",
        )
    extra = sorted(set(raw) - _KEYS)
    if extra:
        raise BadBudget(where, f"{key}.{extra[0]}", "unknown key", f"use one of {sorted(_KEYS)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadBudget(
            where, f"{key}.name", "is required", "give the budget a name, e.g. name: daily"
        )
    if "amount" not in raw:
        raise BadBudget(
            where, f"{key}.amount", "is required", "dollars per period, e.g. amount: 25"
        )
    amount = _money(where, f"{key}.amount", raw["amount"])
    try:
        scope = Scope.parse(str(raw.get("scope", "global")))
    except ValueError as exc:
        raise BadBudget(
            where, f"{key}.scope", str(exc), "e.g. scope: category:coding_implementation"
        ) from None
    soft = _money(where, f"{key}.soft", raw.get("soft", "80%"), amount)
    hard = (
        _money(where, f"{key}.hard", raw["hard"], amount) if raw.get("hard") is not None else None
    )
    if hard is not None and hard < soft:
        raise BadBudget(
            where,
            f"{key}.hard",
            f"cap {hard} is below the soft limit {soft}",
            "raise hard or lower soft",
        )
    return BudgetSpec(
        name=name.strip(),
        amount=amount,
        period=_period(where, f"{key}.period", raw.get("period", "day")),
        scope=scope,
        soft=soft,
        hard=hard,
        downgrade=_downgrade(where, f"{key}.downgrade", raw.get("downgrade", "next_tier")),
        margin=_number(
            where,
            f"{key}.margin",
            raw.get("margin", 0.2),
            0,
            10,
            "e.g. margin: 0.2 (20% above pace)",
        ),
        cooldown_s=_number(
            where,
            f"{key}.cooldown_s",
            raw.get("cooldown_s", 1800),
            0,
            31 * 86400,
            "e.g. cooldown_s: 1800",
        ),
    )


def parse_budgets(raw: object, where: str = "<dict>") -> tuple[BudgetSpec, ...]:
    """The `budgets:` section of mmoa.yaml (a list of mappings), validated; names are unique."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise BadBudget(
            where,
            "budgets",
            f"must be a list of budgets, got {type(raw).__name__}",
            "write each budget as a `- name: ...` item under budgets:",
        )
    specs = tuple(parse_budget(item, where, f"budgets[{i}]") for i, item in enumerate(raw))
    seen: set[str] = set()
    for i, spec in enumerate(specs):
        if spec.name in seen:
            raise BadBudget(
                where,
                f"budgets[{i}].name",
                f"duplicate name {spec.name!r}",
                "give each budget its own name",
            )
        seen.add(spec.name)
    return specs


def parse_webhook(raw: object, where: str = "<dict>") -> AlertWebhook | None:
    """The `budget_webhook:` section: {url, timeout_s, retries}; None when absent."""
    if raw is None:
        return None
    key = "budget_webhook"
    if not isinstance(raw, Mapping):
        raise BadBudget(
            where,
            key,
            f"must be a mapping, got {type(raw).__name__}",
            "e.g. budget_webhook: {url: https://hooks.example/mmoa}",
        )
    extra = sorted(set(raw) - _WEBHOOK_KEYS)
    if extra:
        raise BadBudget(
            where, f"{key}.{extra[0]}", "unknown key", f"use one of {sorted(_WEBHOOK_KEYS)}"
        )
    url = raw.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise BadBudget(
            where,
            f"{key}.url",
            f"must be an http(s) URL, got {url!r}",
            "e.g. url: https://hooks.example/mmoa",
        )
    retries = raw.get("retries", 5)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 100:
        raise BadBudget(
            where,
            f"{key}.retries",
            f"must be an integer from 0 to 100, got {retries!r}",
            "e.g. retries: 5",
        )
    return AlertWebhook(
        url=url,
        timeout_s=_number(
            where, f"{key}.timeout_s", raw.get("timeout_s", 5.0), 0.001, 600, "e.g. timeout_s: 5"
        ),
        retries=retries,
    )
