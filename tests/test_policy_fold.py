"""fold_policy: the active downgrades as a pure fold of budget_events; migration 005 from empty."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from catalog.budgets import Scope
from collector.store import migrate
from router.policy import Downgrade, Policy, downgrade_of, fold_policy


def ev(event_id: str, kind: str, budget: str, **kw: Any) -> dict[str, Any]:
    return {"event_id": event_id, "kind": kind, "budget": budget, **kw}


EVENTS = [
    ev("a1", "budget.alert", "daily", scope="global"),
    ev("d1", "budget.downgrade", "daily", scope="global", to_chain="cheapest"),
    ev("r0", "budget.reserve", "coding", scope="category:coding_implementation"),
    ev("d2", "budget.downgrade", "coding", scope="category:coding", to_chain="chain:cheap"),
    ev("x1", "budget.restore", "daily", scope="global"),
    ev("x2", "budget.restore", "daily", scope="global"),  # nothing in force: no change
    ev("d3", "budget.downgrade", "team", scope="tag:team=search", to_chain="next_tier"),
]


def test_fold_counts_changes_and_keeps_what_is_in_force() -> None:
    policy = fold_policy(EVENTS)
    assert policy == Policy(
        version=4,
        downgrades=(
            Downgrade("coding", Scope("category", "coding"), "chain", "cheap", "d2"),
            Downgrade("team", Scope("tag", "team=search"), "next_tier", None, "d3"),
        ),
    )
    assert fold_policy([]) == Policy()
    assert policy.downgrade_for("coding", {}) is not None
    assert policy.downgrade_for("other", {"team": "search"}) == policy.downgrades[1]


def test_incremental_fold_equals_fold_from_empty() -> None:
    for cut in range(len(EVENTS) + 1):
        assert fold_policy(EVENTS[cut:], fold_policy(EVENTS[:cut])) == fold_policy(EVENTS)


def test_newer_downgrade_of_a_budget_replaces_the_older() -> None:
    policy = fold_policy(
        [
            ev("d1", "budget.downgrade", "daily", scope="global", to_chain="next_tier"),
            ev("d2", "budget.downgrade", "daily", scope="global", to_chain="cheapest"),
        ]
    )
    assert policy == Policy(2, (Downgrade("daily", Scope(), "cheapest", None, "d2"),))


def test_downgrade_targets() -> None:
    assert downgrade_of("chain:budget") == ("chain", "budget")
    assert downgrade_of("cheapest") == ("cheapest", None)
    with pytest.raises(ValueError, match="unknown downgrade 'cheaper'"):
        downgrade_of("cheaper")


def test_migration_005_from_empty_and_idempotent_inserts() -> None:
    conn = duckdb.connect()
    assert "005_budget_events.sql" in migrate(conn)
    assert migrate(conn) == []
    sql = (
        "INSERT OR IGNORE INTO budget_events (event_id, ts, kind, budget, scope) VALUES (?,?,?,?,?)"
    )
    row = ["e1", "2026-11-28 10:00:00", "budget.alert", "daily", "global"]
    conn.execute(sql, row)
    conn.execute(sql, row)
    assert conn.execute(
        "SELECT count(*), bool_and(NOT simulated) FROM budget_events"
    ).fetchall() == [(1, True)]
    cols = [r[0] for r in conn.sql("DESCRIBE feedback").fetchall()]
    assert cols == ["event_id", "ts", "request_id", "score", "comment", "source"]
    cols = [r[0] for r in conn.sql("DESCRIBE budget_deliveries").fetchall()]
    assert cols == ["event_id", "channel", "delivered_at", "attempts", "status"]
