"""The loop closed end to end: the demo's simulated day through the real router, the budget
controller ticking beside it on the virtual clock, the router obeying the policy it folds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import analytics
from analytics.budgets import read_decisions
from mmoa import demo, settings
from router.policy import Policy, fold_policy


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[demo.DemoRun, Any]:
    tmp = tmp_path_factory.mktemp("budget-demo")
    raw = yaml.safe_load(settings.config_path().read_text(encoding="utf-8"))
    assert [b["name"] for b in raw["budgets"]] == ["daily"]  # the shipped default budget
    raw["budgets"][0]["amount"] = 4  # scaled to 2,000 requests (the default day has 20,000)
    config = tmp / "mmoa.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    run = demo.run(2000, tmp / "demo.duckdb", config, seed=7, progress=False)
    return run, analytics.open_reader(run.store)


def test_the_afternoon_spike_downgrades_and_the_evening_restores(ran: Any) -> None:
    run, source = ran
    assert run.ticks == 96  # every 15 virtual minutes of the day
    assert [(f"{e.ts:%H:%M}", e.kind, e.policy_version) for e in run.budget_events] == [
        ("14:15", "budget.alert", None),
        ("14:15", "budget.downgrade", 1),
        ("19:45", "budget.restore", 2),
    ]


def test_the_router_obeys_from_the_next_request(ran: Any) -> None:
    run, source = ran
    columns, rows = analytics.rows_of(
        source,
        "SELECT policy_version, strftime(min(ts), '%H:%M'), strftime(max(ts), '%H:%M'), "
        "count(*) FILTER (WHERE NOT cache_hit), "
        "count(*) FILTER (WHERE r.route_reason LIKE '%downgraded by budget daily%') "
        "FROM requests JOIN (SELECT request_id, route_reason FROM spans "
        "WHERE name = 'mmoa.route') r USING (request_id) GROUP BY 1 ORDER BY 1",
    )
    (v0, v1, v2) = rows
    assert v0[0] == 0 and v0[2] < "14:15" and v0[4] == 0
    assert v1[0] == 1 and (v1[1], v1[2] < "19:45") == ("14:15", True)
    assert v1[4] == v1[3] > 0  # every routed (not cached) request in the window downgraded
    assert v2[0] == 2 and v2[1] >= "19:45" and v2[4] == 0


def test_the_report_shows_the_rate_before_during_and_after(ran: Any) -> None:
    _, source = ran
    report = analytics.build(source, ["category"], None)
    assert [e["kind"] for e in report.budget_events] == [
        "budget.alert",
        "budget.downgrade",
        "budget.restore",
    ]
    (d,) = report.downgrades
    assert (f"{d['downgraded_at']:%H:%M}", f"{d['restored_at']:%H:%M}") == ("14:15", "19:45")
    assert d["rate_during_usd_per_h"] * 5 < d["rate_before_usd_per_h"]
    assert d["rate_during_usd_per_h"] * 5 < d["rate_after_usd_per_h"]


def test_replaying_the_stored_log_gives_the_policy_the_router_ended_with(ran: Any) -> None:
    _, source = ran
    events, _ = read_decisions(source)
    assert fold_policy(events) == Policy(version=2, downgrades=())
    assert fold_policy(events[:2]).downgrades[0].mode == "cheapest"


def test_demo_output_tells_the_story(ran: Any, tmp_path: Path) -> None:
    from rich.console import Console

    from mmoa import render

    _, source = ran
    console = Console(width=200, record=True)
    render.print_report(console, analytics.build(source, ["category"], None))
    text = console.export_text()
    assert "budget controller" in text and "budget.downgrade daily (global) policy v1" in text
    assert "in the hour before the downgrade at 14:15" in text
    assert "while downgraded to cheapest (until 19:45)" in text
