"""`mmoa budget status|history|watch` as a user runs them, on a store file."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from collector import open_writer
from mmoa import settings
from tests.cli_runner import run_mmoa
from tests.test_budget_controller import CENT, CODING, DAY, Store

AT = "2026-11-28T14:05"


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.delenv("MMOA_CONFIG", raising=False)
    raw: dict[str, Any] = yaml.safe_load(settings.config_path().read_text(encoding="utf-8"))
    raw["budgets"] = [
        {"name": "coding", "amount": "14.40", "scope": f"category:{CODING}", "soft": 12,
         "downgrade": "cheapest"},
    ]  # fmt: skip
    config = tmp_path / "mmoa.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    store = tmp_path / "s.duckdb"
    conn = open_writer(store)
    spans = Store(conn)
    for m in range(14 * 60 + 5):  # on pace (a cent a minute), then ten times that
        spans.spend(DAY + timedelta(minutes=m), CENT if m < 14 * 60 else CENT * 10)
    spans.flush()
    conn.close()
    return store, config


def mmoa(*args: str) -> Any:
    done = run_mmoa(list(args))
    assert done.returncode == 0, done.stderr
    return done


def test_status_watch_history(files: tuple[Path, Path]) -> None:
    store, config = (str(f) for f in files)
    common = ["--store", store, "--config", config]
    before = json.loads(mmoa("budget", "status", "--json", "--at", AT, *common).stdout)
    (b,) = before["budgets"]
    assert (b["spent"], b["pace"], b["reserved"], b["state"], b["downgrade"]) == (
        "8.9000000000", "8.4500000000", "0", "alert", None
    )  # fmt: skip
    assert b["drift"].startswith("spent $8.9000 is ahead of pace $8.4500")
    assert before["at"] == "2026-11-28T14:05:00"

    watched = json.loads(mmoa("budget", "watch", "--once", "--json", "--at", AT, *common).stdout)
    assert [e["kind"] for e in watched] == ["budget.alert", "budget.downgrade"]
    assert watched[1]["policy_version"] == 1 and watched[1]["to_chain"] == "cheapest"
    again = json.loads(mmoa("budget", "watch", "--once", "--json", "--at", AT, *common).stdout)
    assert again == []  # the log already holds the decision

    (after,) = json.loads(mmoa("budget", "status", "--json", "--at", AT, *common).stdout)["budgets"]
    assert (after["state"], after["downgrade"], after["downgrade_since"]) == (
        "downgraded", "cheapest", "2026-11-28T14:05:00"
    )  # fmt: skip
    text = mmoa("budget", "status", "--at", AT, *common).stdout
    assert "coding" in text and "downgraded" in text and "cheapest since 14:05" in text

    history = json.loads(mmoa("budget", "history", "--json", "--store", store).stdout)
    assert [(e["kind"], e["spent_usd"]) for e in history] == [
        ("budget.alert", "8.9000000000"),
        ("budget.downgrade", "8.9000000000"),
    ]
    lines = mmoa("budget", "history", "--store", store).stdout
    assert "budget.downgrade coding (category:coding_implementation) policy v1" in lines
    assert "downgrade to cheapest" in lines and lines.rstrip().endswith("2 events")


def test_one_line_errors(files: tuple[Path, Path], tmp_path: Path) -> None:
    store, config = files
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["budgets"][0]["period"] = "fortnight"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw), encoding="utf-8")
    done = run_mmoa(["budget", "status", "--store", str(store), "--config", str(bad)])
    assert done.returncode == 2
    assert done.stderr == (
        f"mmoa: error: {bad}: budgets[0].period: unknown period 'fortnight'. Fix: use hour, "
        "day, week, month, or a duration of a minute or more like 6h, 90m, 2d\n"
    )
    del raw["budgets"]
    bad.write_text(yaml.safe_dump(raw), encoding="utf-8")
    done = run_mmoa(["budget", "status", "--store", str(store), "--config", str(bad)])
    assert done.returncode == 2 and done.stderr.startswith(f"mmoa: error: {bad} has no `budgets:`")
    done = run_mmoa(["budget", "watch", "--at", AT, "--store", str(store), "--config", str(config)])
    assert (done.returncode, done.stderr) == (
        2,
        "mmoa: error: --at needs --once (a running watch decides as of now)\n",
    )


def test_help_teaches() -> None:
    out = mmoa("budget", "--help").stdout
    assert "scope: global | category:<name>" in out and "budget_webhook" in out
    assert "--interval" in mmoa("budget", "watch", "--help").stdout


def test_watch_through_a_collector(files: tuple[Path, Path]) -> None:
    """Service mode: reads through /v1/query, appends with POST /v1/events (token)."""
    from collector.server import Collector, ServerConfig

    store, config = files
    with Collector(ServerConfig(store=store, port=0, token="t0k")) as served:
        common = ["--collector", served.url, "--token", "t0k", "--config", str(config)]
        out = mmoa("budget", "watch", "--once", "--json", "--at", AT, *common).stdout
        assert [e["kind"] for e in json.loads(out)] == ["budget.alert", "budget.downgrade"]
        (b,) = json.loads(mmoa("budget", "status", "--json", "--at", AT, *common).stdout)["budgets"]
        assert (b["state"], b["downgrade"], b["spent"]) == (
            "downgraded",
            "cheapest",
            "8.9000000000",
        )
        denied = run_mmoa(["budget", "watch", "--once", "--at", AT, "--collector", served.url,
                           "--config", str(config)])  # fmt: skip
        assert denied.returncode == 2 and "HTTP 401" in denied.stderr
