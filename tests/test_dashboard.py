"""The dashboard script, run headless by Streamlit's own test harness against a real store."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from catalog import Usage
from mmoa.cli import dashboard_command
from tests.test_store import route

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


def test_dashboard_shows_the_savings_of_the_store(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usage = Usage(input_tokens=1_000, output_tokens=500, cache_read_tokens=200)
    route(store, {"cheap": [usage]}, ["What is the capital of France?"])
    monkeypatch.setattr("sys.argv", ["app.py", "--store", str(store)])
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    # 285 micro-dollars actual, 9,960 baseline (see tests/test_store.py for the arithmetic)
    assert metrics == {
        "requests": "1",
        "actual spend": "$0.000285",
        "single-model baseline": "$0.00996",
        "saving": "$0.009675",
    }
    assert [h.value for h in app.subheader] == ["Spend per hour", "By category", "By model"]
    assert not app.warning  # scripted (not simulated) traffic: no simulated banner


def test_dashboard_says_what_to_do_without_a_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.argv", ["app.py", "--store", str(tmp_path / "none.duckdb")])
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception
    assert "run `mmoa demo`" in app.error[0].value


def test_dashboard_command_line(store: Path) -> None:
    cmd = dashboard_command(store, "127.0.0.1", 8599)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == APP
    assert cmd[-2:] == ["--store", str(store.resolve())]


def test_dashboard_reads_through_a_collector(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from collector.server import Collector, ServerConfig

    usage = Usage(input_tokens=1_000, output_tokens=500, cache_read_tokens=200)
    route(store, {"cheap": [usage]}, ["What is the capital of France?"])
    with Collector(ServerConfig(store=store, port=0)) as collector:  # it now owns the file
        monkeypatch.setattr("sys.argv", ["app.py", "--collector", collector.url])
        app = AppTest.from_file(APP, default_timeout=60)
        app.run()
        assert not app.exception
        metrics = {m.label: m.value for m in app.metric}
    assert metrics["actual spend"] == "$0.000285" and metrics["requests"] == "1"


def test_dashboard_command_passes_the_collector(store: Path) -> None:
    cmd = dashboard_command(store, "127.0.0.1", 8599, "http://127.0.0.1:4318", "t")
    assert cmd[-4:] == ["--collector", "http://127.0.0.1:4318", "--token", "t"]
