"""The dashboard in a real browser: `mmoa dashboard` on a loopback port, every page loaded in
headless Chromium, checked for exceptions and its title, and photographed.

Screenshots go to the test's tmp_path and are copied to .ci-artifacts/dashboard/ (ignored by
git) so a person can look at them after a run. Chromium is required: the test fails without it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.browser import Chromium
from tests.cli_runner import clean_env, run_mmoa
from tests.test_dashboard import add_budget_events

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / ".ci-artifacts" / "dashboard"
DEMO_REQUESTS = 600
# url path -> the page's title (the first page is the default one, at the root)
PAGES = {
    "": "Overview",
    "models": "Models",
    "routing": "Routing",
    "budgets": "Budgets",
    "trace": "Trace",
    "sql": "SQL",
}

PROBLEMS = """(() => [
  ...[...document.querySelectorAll('[data-testid="stException"]')].map(e => 'exception: ' +
      e.innerText.slice(0, 300)),
  ...[...document.querySelectorAll('[role="dialog"]')].map(e => 'dialog: ' +
      e.innerText.slice(0, 300)),
  ...[...document.querySelectorAll('[data-testid="stAlertContentError"]')].map(e => 'error: ' +
      e.innerText.slice(0, 300)),
])()"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    """Until Streamlit answers its health check (or the server died: then say why)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise AssertionError(f"mmoa dashboard exited with {proc.returncode}:\n{out}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"mmoa dashboard did not answer at {url} within {timeout_s:g} s")


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mmoa dashboard` serving a simulated day on a free loopback port, with budgets (one over
    its limit) and budget events; its URL."""
    folder = tmp_path_factory.mktemp("browser")
    store = folder / "demo.duckdb"
    out = run_mmoa(
        ["demo", "--requests", str(DEMO_REQUESTS), "--store", str(store), "--no-progress"]
    )
    assert out.returncode == 0, out.stderr
    add_budget_events(store)
    shipped = yaml.safe_load((REPO / "mmoa" / "mmoa.yaml").read_text())
    shipped["budgets"] = [  # instead of the shipped ones: one far under, one over its limit
        {"name": "everything", "amount": 100, "period": "month", "scope": "global"},
        {"name": "search-daily", "amount": 0.05, "period": "day", "scope": "tag:team=search"},
    ]
    config = folder / "mmoa.yaml"
    config.write_text(yaml.safe_dump(shipped))
    port = free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "mmoa", "dashboard", "--store", str(store)),
            *("--config", str(config), "--port", str(port)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=clean_env(),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_every_page_renders_in_chromium(dashboard: str, tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    seen: dict[str, str] = {}
    charts: dict[str, int] = {}
    with Chromium(width=1400, height=1000) as browser:  # BrowserError (a failure) if missing
        for path, title in PAGES.items():
            browser.open(f"{dashboard}/{path}")
            browser.wait_drawn()
            name = path or "overview"
            browser.screenshot(shots / f"{name}.png")
            assert browser.evaluate(PROBLEMS) == [], name
            assert browser.evaluate("document.querySelector('h1').innerText") == title
            seen[name] = browser.evaluate("document.body.innerText")
            charts[name] = browser.evaluate(
                "document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .main-svg').length"
                " > 0 ? document.querySelectorAll('[data-testid=\"stPlotlyChart\"]').length : 0"
            )
    for name, text in seen.items():
        assert "simulated data" in text, name  # the badge on every page
    # plotly drew every chart of each page (the SQL page has none before a query runs)
    assert charts == {
        "overview": 2,
        "models": 2,
        "routing": 2,
        "budgets": 2,
        "trace": 1,
        "sql": 0,
    }
    assert f"{DEMO_REQUESTS:,}" in seen["overview"]  # the requests metric
    assert "Which model each category was routed to" in seen["routing"]
    assert "Each budget: spent, pace and forecast" in seen["budgets"]
    assert "Alerts, downgrades and restores" in seen["budgets"]
    assert "Budget search-daily (tag:team=search) downgraded" in seen["overview"]  # the banner
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for png in shots.iterdir():
        assert png.stat().st_size > 10_000, png.name  # a picture, not a blank page
        shutil.copy(png, ARTIFACTS / png.name)
