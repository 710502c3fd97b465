"""How long the dashboard's first page takes to draw in headless Chromium over a big store.

Starts `mmoa dashboard` on the 10M-span store of bench/_bigstore.py (built once, cached), then
times, from navigation until the page is drawn (Streamlit idle, every chart drawn): the first
page of a fresh session (cold: a new server and a new browser), the same page again (warm), every
other page once, and the first page in a second new browser on the warm server (what the
browser's first load of Streamlit's and plotly's code costs). Prints one JSON line. Goal: first
page under 3 s.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._machine import machine  # noqa: E402
from tests.browser import Chromium  # noqa: E402

PAGES = ("", "models", "routing", "budgets", "trace", "sql")  # "" is the first page, Overview


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(store: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmoa", "dashboard", "--store", str(store), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"mmoa dashboard exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("mmoa dashboard did not start within 120 s")


NO_EXCEPTION = "document.querySelectorAll('[data-testid=\"stException\"]').length === 0"


def one_run(store: Path) -> dict[str, float]:
    """A fresh server and a fresh browser: seconds to draw the first page cold, then warm
    (a new visit, the server's reads remembered), then each other page once; and the first
    page in a second fresh browser on the now warm server."""
    port = _free_port()
    proc = _serve(store, port)
    url = f"http://127.0.0.1:{port}"
    times: dict[str, float] = {}
    try:
        with Chromium(width=1400, height=1000, timeout_s=300) as browser:
            browser.open(f"{url}/")
            times["first_page_cold_s"] = browser.wait_drawn()
            browser.open(f"{url}/")
            times["first_page_warm_s"] = browser.wait_drawn()
            for page in PAGES[1:]:
                browser.open(f"{url}/{page}")
                times[f"{page}_s"] = browser.wait_drawn()
                if not browser.evaluate(NO_EXCEPTION):
                    raise SystemExit(f"the {page} page shows an exception")
        # nothing cached in this browser (Streamlit's and plotly's code), the server warm: how
        # much of the cold figure is the browser's first load rather than the queries
        with Chromium(width=1400, height=1000, timeout_s=300) as browser:
            browser.open(f"{url}/")
            times["first_page_new_browser_s"] = browser.wait_drawn()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return times


def render_times(store: Path, runs: int) -> dict[str, Any]:
    """Median (and worst) of `runs` runs: the machine is shared, single runs are noisy."""
    samples = [one_run(store) for _ in range(runs)]
    out: dict[str, Any] = {}
    for key in samples[0]:
        values = [s[key] for s in samples]
        out[key] = round(statistics.median(values), 3)
        if key in ("first_page_cold_s", "first_page_warm_s"):
            out[key.replace("_s", "_max_s")] = round(max(values), 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", help="an existing store (default: the 10M-span bench store)")
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3, help="fresh server+browser runs (3)")
    args = parser.parse_args()
    if args.store:
        store, spans = Path(args.store), None
    else:
        from bench._bigstore import build

        store, spans = build(spans=args.spans), args.spans
    print(
        json.dumps(
            {
                "bench": "dashboard_render",
                "store": str(store),
                "spans": spans,
                "browser": "headless chromium",
                "runs": args.runs,
                **render_times(store, args.runs),
                "goal_first_page_s": 3.0,
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
