"""Budgets as data, shared by the router (scopes of downgrades), the collector (hard-cap
reservations) and analytics (the controller): a leaf module, like the rest of the catalog."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
