"""Every dashboard page, run headless by Streamlit's own test harness against real stores.

The stores are filled by the real router (the simulated provider, through `mmoa demo`), or by
scripted providers where a case needs exact figures (unpriced calls). What each page shows is
compared with plain SQL over the `calls` and `requests` views of the same file, computed here,
not with the analytics functions the pages call.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import analytics
from analytics.money import usd
from catalog import Usage
from mmoa.cli import dashboard_command
from tests.cli_runner import run_mmoa
from tests.test_store import route

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
PAGES = {
    "overview": "screens/overview.py",
    "models": "screens/models.py",
    "routing": "screens/routing.py",
    "budgets": "screens/budgets.py",
    "trace": "screens/trace.py",
    "sql": "screens/sql.py",
}
TITLES = {
    "overview": "Overview",
    "models": "Models",
    "routing": "Routing",
    "budgets": "Budgets",
    "trace": "Trace",
    "sql": "SQL",
}
DEMO_REQUESTS = 400


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of DEMO_REQUESTS requests routed by the real router (simulated provider)."""
    store = tmp_path_factory.mktemp("dash") / "demo.duckdb"
    out = run_mmoa(
        ["demo", "--requests", str(DEMO_REQUESTS), "--store", str(store), "--no-progress"]
    )
    assert out.returncode == 0, out.stderr
    # the demo ends by saying how to open the dashboard on what it wrote
    assert out.stdout.rstrip().splitlines()[-1] == (
        f"  mmoa dashboard --store {store}    then open http://127.0.0.1:8501"
    )
    return store


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """The dashboard keeps one read-only connection per store file: none across tests."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def sql(store: Path, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Plain SQL on the file (opened like the dashboard opens it: DuckDB wants one
    configuration per file and process)."""
    conn = analytics.open_reader(store)
    try:
        return conn.execute(query, params or []).fetchall()
    finally:
        conn.close()


def one(store: Path, query: str, params: list[Any] | None = None) -> Any:
    return sql(store, query, params)[0][0]


def page(
    monkeypatch: pytest.MonkeyPatch, name: str, *args: str, app: AppTest | None = None
) -> AppTest:
    """The app with `args` on its command line, switched to page `name` and run."""
    if app is None:
        monkeypatch.setattr("sys.argv", ["app.py", *args])
        app = AppTest.from_file(APP, default_timeout=60)
        app.run()
    app.switch_page(PAGES[name]).run()
    assert not app.exception, [e.value for e in app.exception]
    assert [t.value for t in app.title] == [TITLES[name]]
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def table(app: AppTest, index: int = 0) -> list[dict[str, Any]]:
    """The rows of the page's index-th table."""
    records: list[dict[str, Any]] = app.dataframe[index].value.to_dict("records")
    return records


def pct1(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def rate(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}%"


SIMULATED_BADGE = "simulated data"


def badges(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown if "badge[" in m.value]


# --- Overview ----------------------------------------------------------------------------


def expected_overview(store: Path, where: str = "true", call_where: str = "true") -> dict[str, str]:
    requests, cost, baseline, saving, pct = sql(
        store,
        "SELECT count(*), sum(cost_usd), sum(baseline_cost_usd), sum(saving_usd), "
        "round(100 * sum(saving_usd) / sum(baseline_cost_usd) FILTER "
        f"(WHERE saving_usd IS NOT NULL), 2)::DOUBLE FROM requests WHERE {where}",
    )[0]
    calls, tokens_in, tokens_out, errors, unpriced = sql(
        store,
        "SELECT count(*), sum(input_tokens), sum(output_tokens), "
        "count(*) FILTER (WHERE status = 'error'), "
        "count(*) FILTER (WHERE status = 'ok' AND cost_usd IS NULL) "
        f"FROM calls WHERE {call_where}",
    )[0]
    return {
        "requests": f"{requests:,}",
        "actual spend": usd(cost),
        "single-model baseline": usd(baseline),
        "saving": usd(saving),
        "input tokens": f"{tokens_in:,}",
        "output tokens": f"{tokens_out:,}",
        "error rate": rate(errors / calls),
        "unpriced calls": f"{unpriced:,}",
        "_saving_pct": pct1(pct),
        "_calls": f"{calls:,} provider calls",
        "_errors": f"{errors:,} failed calls",
    }


def shown_overview(app: AppTest) -> dict[str, str]:
    shown = metrics(app)
    saving = next(m for m in app.metric if m.label == "saving")
    shown["_saving_pct"] = saving.delta
    captions = [c.value for c in app.caption]
    shown["_calls"] = next(c for c in captions if c.endswith("provider calls"))
    shown["_errors"] = next(c for c in captions if c.endswith("failed calls"))
    return shown


def test_overview_shows_what_sql_says(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = page(monkeypatch, "overview", "--store", str(demo))
    assert shown_overview(app) == expected_overview(demo)
    assert metrics(app)["requests"] == f"{DEMO_REQUESTS:,}"
    assert len(badges(app)) == 1 and SIMULATED_BADGE in badges(app)[0]
    charts = app.get("plotly_chart")
    assert len(charts) == 2
    spend = json.loads(charts[0].proto.spec)  # type: ignore[union-attr]
    bars = next(t for t in spend["data"] if t["type"] == "bar")
    # the series adds up to the total, bucket by bucket (hourly over a day of traffic)
    per_hour = sql(
        demo,
        "SELECT date_trunc('hour', ts), sum(cost_usd) FROM requests GROUP BY 1 ORDER BY 1",
    )
    assert len(bars["y"]) == len(per_hour)
    assert bars["customdata"] == [usd(c) for _, c in per_hour]


def test_overview_matches_the_cli_report(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = json.loads(run_mmoa(["report", "--json", "--store", str(demo)]).stdout)["summary"]
    shown = shown_overview(page(monkeypatch, "overview", "--store", str(demo)))
    assert shown["actual spend"] == usd(Decimal(report["cost_usd"]))
    assert shown["single-model baseline"] == usd(Decimal(report["baseline_cost_usd"]))
    assert shown["saving"] == usd(Decimal(report["saving_usd"]))
    assert shown["_saving_pct"] == pct1(report["saving_pct"])
    assert shown["requests"] == f"{report['requests']:,}"


def test_filters_change_the_figures_as_sql_says(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = page(monkeypatch, "overview", "--store", str(demo))
    category = one(demo, "SELECT category FROM requests GROUP BY 1 ORDER BY count(*) DESC")
    app.multiselect(key="f_category").set_value([category]).run()
    in_category = f"request_id IN (SELECT request_id FROM requests WHERE category = '{category}')"
    assert shown_overview(app) == expected_overview(demo, f"category = '{category}'", in_category)

    app.multiselect(key="f_category").set_value([]).run()
    app.multiselect(key="f_provider").set_value(["openai"]).run()
    # a request belongs to the provider of the model it was answered by (its final model)
    answered_by_openai = "model IN (SELECT model FROM calls WHERE provider = 'openai')"
    assert shown_overview(app) == expected_overview(demo, answered_by_openai, "provider = 'openai'")

    app.multiselect(key="f_provider").set_value([]).run()
    tag = one(demo, "SELECT 'team=' || tags['team'] FROM requests WHERE tags['team'] IS NOT NULL")
    app.multiselect(key="f_tag").set_value([tag]).run()
    team = tag.split("=", 1)[1]
    tagged = one(demo, "SELECT count(*) FROM requests WHERE tags['team'] = ?", [team])
    assert metrics(app)["requests"] == f"{tagged:,}"

    app.multiselect(key="f_tag").set_value([]).run()
    first = one(demo, "SELECT date_trunc('hour', min(ts)) FROM requests")
    since = first + timedelta(hours=6)
    until = first + timedelta(hours=12)
    app.slider(key="f_time").set_value((since, until)).run()
    window = f"ts >= TIMESTAMP '{since}' AND ts < TIMESTAMP '{until}'"
    assert shown_overview(app) == expected_overview(demo, window, window)
    assert metrics(app)["requests"] != f"{DEMO_REQUESTS:,}"  # the window did cut something


def test_budget_banner_shows_an_active_downgrade(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "with_budgets.duckdb"
    store.write_bytes(demo.read_bytes())
    add_budget_events(store)
    app = page(monkeypatch, "overview", "--store", str(store))
    banners = [w.value for w in app.warning]
    # ops was downgraded and restored (nothing in force); search is still downgraded
    assert len(banners) == 2
    assert banners[0].startswith(
        "Budget **search-daily** (tag:team=search) downgraded (default -> cheapest): "
        "spent $8.5000 of $10.0000."
    )
    assert "forecast $12.40 is over the $10 limit" in banners[0]
    assert banners[1].startswith("Budget **search-daily** (tag:team=search) alert:")


# --- Models ------------------------------------------------------------------------------


def test_models_page_shows_what_sql_says(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = page(monkeypatch, "models", "--store", str(demo))
    expected = sql(
        demo,
        """
        WITH per AS (
            SELECT provider, model, count(*) AS calls, sum(cost_usd) AS cost,
                   quantile_disc(latency_ms, 0.5) AS p50, quantile_disc(latency_ms, 0.99) AS p99,
                   count(*) FILTER (WHERE status = 'error') / count(*) AS errors,
                   sum(input_tokens - cached_input_tokens - coalesce(cache_write_tokens, 0))
                       AS plain, sum(cached_input_tokens) AS cached,
                   sum(reasoning_tokens) AS reasoning
            FROM calls GROUP BY ALL
        ), routed AS (
            SELECT model, sum(cost_usd) AS cost, count(cost_usd) AS n FROM requests GROUP BY 1
        )
        SELECT per.*, routed.cost, routed.n FROM per LEFT JOIN routed USING (model)
        ORDER BY per.cost DESC NULLS LAST, calls DESC, provider, model
        """,
    )
    shown = table(app)
    assert [(r["provider"], r["model"], r["calls"]) for r in shown] == [
        (e[0], e[1], e[2]) for e in expected
    ]
    for r, e in zip(shown, expected, strict=True):
        per_1k = None if not e[11] else (e[10] * 1000 / e[11]).quantize(Decimal("1e-10"))
        assert r["spend"] == usd(e[3])
        # percentiles come from 2%-wide latency histogram buckets: within one bucket of exact
        for shown_ms, exact in ((r["p50"], e[4]), (r["p99"], e[5])):
            value = float(shown_ms.removesuffix(" ms").replace(",", ""))
            assert abs(value - exact) <= 0.02 * exact + 0.5, (r["model"], shown_ms, exact)
        assert r["errors"] == rate(e[6])
        assert r["per 1k requests"] == usd(per_1k)
    tokens = table(app, 1)
    assert [(t["plain input"], t["cached input"], t["reasoning"]) for t in tokens] == [
        (e[7], e[8], e[9]) for e in expected
    ]
    assert sum(r["calls"] for r in shown) == one(demo, "SELECT count(*) FROM calls")
    assert [s.value for s in app.success] == ["Every successful call was priced."]


def test_filters_change_the_models_and_routing_pages(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = page(monkeypatch, "models", "--store", str(demo))
    app.multiselect(key="f_category").set_value(["coding_implementation"]).run()
    expected = sql(
        demo,
        "SELECT provider, model, count(*), sum(cost_usd) FROM calls WHERE request_id IN "
        "(SELECT request_id FROM requests WHERE category = 'coding_implementation') "
        "GROUP BY ALL ORDER BY 4 DESC NULLS LAST, 3 DESC, 1, 2",
    )
    assert [(r["provider"], r["model"], r["calls"], r["spend"]) for r in table(app)] == [
        (p, m, n, usd(c)) for p, m, n, c in expected
    ]
    app = page(monkeypatch, "routing", app=app)  # the filter stays as the page changes
    coding = one(demo, "SELECT count(*) FROM requests WHERE category = 'coding_implementation'")
    assert metrics(app)["requests"] == f"{coding:,}"
    shown = {r["strategy"]: r["requests"] for r in table(app)}
    assert shown == dict(
        sql(
            demo,
            "SELECT strategy, count(*) FROM requests WHERE category = 'coding_implementation' "
            "GROUP BY 1",
        )
    )


def test_unpriced_calls_are_listed_with_the_fix(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    route(store, {"mystery": [Usage(100, 100)]}, ["hello"], model="mystery")
    route(store, {"cheap": [Usage(1_000, 500, cache_read_tokens=200)]}, ["What is 2+2?"])
    app = page(monkeypatch, "models", "--store", str(store))
    assert [e.value for e in app.error] == [
        "1 call to openai/mystery could not be priced (counted as unpriced, not $0). Fix: add "
        "to mmoa.yaml `models: - {name: mystery, prices: {input: <USD per 1M>, output: <USD "
        "per 1M>}}  # in mmoa.yaml`"
    ]
    rows = {r["model"]: r for r in table(app)}
    assert rows["mystery"]["spend"] == "unpriced"
    assert rows["cheap"]["spend"] == "$0.000285"  # 800 x 0.10 + 200 x 0.025 + 500 x 0.40 / 1M
    app = page(monkeypatch, "overview", app=app)
    assert metrics(app)["unpriced calls"] == "1"
    assert not badges(app)  # scripted, not simulated: no badge


# --- Routing -----------------------------------------------------------------------------


def test_routing_page_shows_what_sql_says(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = page(monkeypatch, "routing", "--store", str(demo))
    charts = app.get("plotly_chart")
    sankey = next(
        t
        for c in charts
        for t in json.loads(c.proto.spec)["data"]  # type: ignore[union-attr]
        if t["type"] == "sankey"
    )
    labels = sankey["node"]["label"]
    link = sankey["link"]
    shown = sorted(
        (labels[s], labels[t], v)
        for s, t, v in zip(link["source"], link["target"], link["value"], strict=True)
    )
    assert shown == sorted(
        sql(
            demo,
            "SELECT category, coalesce(nullif(model, ''), '(failed)'), count(*) FROM requests "
            "GROUP BY ALL",
        )
    )
    strategies = sql(
        demo,
        "SELECT strategy, count(*), count(*) FILTER (WHERE escalations > 0) / count(*), "
        "sum(cost_usd), sum(baseline_cost_usd), count(*) FILTER (WHERE cache_hit) "
        "FROM requests GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    rows = table(app)
    assert [(r["strategy"], r["requests"]) for r in rows] == [(s[0], s[1]) for s in strategies]
    for r, s in zip(rows, strategies, strict=True):
        assert r["escalation rate"] == rate(s[2], 1)
        assert (r["spend"], r["baseline"]) == (usd(s[3]), usd(s[4]))
    hits = sum(s[5] for s in strategies)
    assert metrics(app) == {
        "requests": f"{DEMO_REQUESTS:,}",
        "strategies used": str(len(strategies)),
        "cache hit rate": rate(hits / DEMO_REQUESTS),
    }


# --- Trace -------------------------------------------------------------------------------


def test_trace_of_a_pasted_request(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rid, cost, baseline, saving, attempts = sql(
        demo,
        "SELECT request_id, cost_usd, baseline_cost_usd, saving_usd, attempts FROM requests "
        "WHERE strategy = 'ensemble' ORDER BY ts LIMIT 1",
    )[0]
    app = page(monkeypatch, "trace", "--store", str(demo))
    # the newest request is picked by default
    newest = one(demo, "SELECT request_id FROM requests ORDER BY ts DESC, request_id LIMIT 1")
    assert app.selectbox(key="trace_pick").value.endswith(newest)
    app.text_input(key="trace_id").set_value(rid).run()
    assert metrics(app) == {
        "attempts": str(attempts),
        "cost": usd(cost),
        "baseline cost": usd(baseline),
        "saving": usd(saving),
    }
    calls = sql(demo, "SELECT model, cost_usd FROM calls WHERE request_id = ? ORDER BY ts", [rid])
    rows = table(app)
    assert len(rows) == 1 + len(calls) and rows[0]["span"] == "mmoa.route"
    assert sorted(r["cost"] for r in rows[1:]) == sorted(usd(c) for _, c in calls)
    waterfall = json.loads(app.get("plotly_chart")[0].proto.spec)["data"][0]  # type: ignore[union-attr]
    assert len(waterfall["y"]) == 1 + len(calls)

    app.text_input(key="trace_id").set_value("no-such-request").run()
    assert [e.value for e in app.error] == [
        "No request 'no-such-request' in the store: check the id (Overview, SQL)."
    ]


# --- SQL ---------------------------------------------------------------------------------


def test_sql_page_runs_a_query_and_offers_csv(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = page(monkeypatch, "sql", "--store", str(demo))
    query = "SELECT model, count(*) AS n, sum(cost_usd) AS spend FROM calls GROUP BY 1 ORDER BY 1"
    app.text_area(key="sql_text").set_value(query)
    app.button(key="sql_run").click().run()
    assert not app.error
    expected = sql(demo, query)
    shown = table(app)
    assert [(r["model"], r["n"], r["spend"]) for r in shown] == [
        (m, n, format(s.normalize(), "f")) for m, n, s in expected
    ]
    csv_button = app.get("download_button")[0]
    assert csv_button.proto.label == "Download CSV"  # type: ignore[union-attr]


def test_sql_page_loads_the_example_queries(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = page(monkeypatch, "sql", "--store", str(demo))
    options = app.selectbox(key="sql_example").options
    files = sorted(p.stem for p in (Path(APP).parent.parent / "sql" / "queries").glob("*.sql"))
    assert [o.split(":")[0] for o in options] == files
    chosen = next(o for o in options if o.startswith("hourly_spend"))
    app.selectbox(key="sql_example").set_value(chosen).run()
    text = (Path(APP).parent.parent / "sql" / "queries" / "hourly_spend.sql").read_text()
    assert app.text_area(key="sql_text").value == text
    app.button(key="sql_run").click().run()
    assert len(table(app)) == len(sql(demo, "SELECT DISTINCT date_trunc('hour', ts) FROM requests"))


ATTACKS = {
    "copy": ("COPY spans TO '{dir}/leak.csv'", "COPY is not allowed"),
    "attach": ("ATTACH '{dir}/other.duckdb' AS other", "ATTACH is not allowed"),
    "install": ("INSTALL httpfs", "INSTALL is not allowed"),
    "load": ("LOAD httpfs", "LOAD is not allowed"),
    "read_csv": ("SELECT * FROM read_csv('/etc/passwd')", "disabled by configuration"),
    "create": ("CREATE TABLE stolen AS SELECT * FROM spans", "CREATE is not allowed"),
    "set": ("SET enable_external_access = true", "SET is not allowed"),
    "two statements": ("SELECT 1; DROP TABLE spans", "one statement at a time"),
}
COLLECTOR_SAYS = {  # the collector's own wording for the same refusals
    "copy": "only SELECT statements are allowed, not COPY",
    "attach": "only SELECT statements are allowed, not ATTACH",
    "install": "only SELECT statements are allowed, not LOAD",
    "load": "only SELECT statements are allowed, not LOAD",
    "read_csv": "disabled by configuration",
    "create": "only SELECT statements are allowed, not CREATE",
    "set": "only SELECT statements are allowed, not SET",
    "two statements": "send exactly one statement, not 2",
}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_sql_page_refuses_writes_files_and_extensions(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attack: str
) -> None:
    store = tmp_path / "store.duckdb"
    store.write_bytes(demo.read_bytes())
    before = digest(store)
    query, says = ATTACKS[attack]
    app = page(monkeypatch, "sql", "--store", str(store))
    app.text_area(key="sql_text").set_value(query.format(dir=tmp_path))
    app.button(key="sql_run").click().run()
    assert not app.exception
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and says in errors[0] and errors[0].startswith("refused: ")
    assert not app.get("dataframe")
    st.cache_resource.clear()  # closes the dashboard's connection to the file
    assert digest(store) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.duckdb"]
    assert one(store, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'stolen'") == 0


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_sql_page_through_a_collector_refuses_them_too(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attack: str
) -> None:
    from collector.server import Collector, ServerConfig

    store = tmp_path / "store.duckdb"
    store.write_bytes(demo.read_bytes())
    query = ATTACKS[attack][0].format(dir=tmp_path)
    with Collector(ServerConfig(store=store, port=0)) as collector:
        app = page(monkeypatch, "sql", "--collector", collector.url)
        app.text_area(key="sql_text").set_value(query)
        app.button(key="sql_run").click().run()
        assert not app.exception
        errors = [e.value for e in app.error]
        assert len(errors) == 1 and COLLECTOR_SAYS[attack] in errors[0], errors
        assert "(HTTP 400)" in errors[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.duckdb"]
    assert sql(store, "SELECT count(*) FROM requests") == [(DEMO_REQUESTS,)]
    assert one(store, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'stolen'") == 0


# --- Budgets -----------------------------------------------------------------------------

BUDGET_EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS budget_events (
    event_id VARCHAR PRIMARY KEY, ts TIMESTAMP NOT NULL, kind VARCHAR NOT NULL,
    budget VARCHAR NOT NULL, scope VARCHAR NOT NULL, period_start TIMESTAMP,
    policy_version INTEGER, from_chain VARCHAR, to_chain VARCHAR, reason VARCHAR,
    spent_usd DECIMAL(18, 10), pace_usd DECIMAL(18, 10), forecast_usd DECIMAL(18, 10),
    forecast_low_usd DECIMAL(18, 10), forecast_high_usd DECIMAL(18, 10),
    limit_usd DECIMAL(18, 10), reservation_id VARCHAR, amount_usd DECIMAL(18, 10),
    simulated BOOLEAN NOT NULL DEFAULT false, details JSON
)
"""
DAY = datetime(2026, 11, 27)


def add_budget_events(store: Path) -> None:
    """The contract's budget_events (contracts.md), with a restored and a standing downgrade."""
    conn = duckdb.connect(str(store))
    try:
        conn.execute(BUDGET_EVENTS_DDL)
        rows = [
            ("e1", DAY.replace(hour=9), "budget.alert", "ops-hourly", "global", DAY, None, None,
             None, "spend $0.80 passed the $0.80 alert line", "0.8", "0.5", "1.1", "1"),
            ("e2", DAY.replace(hour=10), "budget.downgrade", "ops-hourly", "global", DAY, 1,
             "default", "next_tier", "forecast $1.10 is over the $1 limit", "0.9", "0.6", "1.1",
             "1"),
            ("e3", DAY.replace(hour=11), "budget.restore", "ops-hourly", "global", DAY, 2,
             "next_tier", "default", "forecast $0.70 is back under the limit", "0.9", "0.9",
             "0.7", "1"),
            ("e4", DAY.replace(hour=12), "budget.alert", "search-daily", "tag:team=search", DAY,
             None, None, None, "spend $8.00 passed the $8 alert line", "8", "6", "11", "10"),
            ("e5", DAY.replace(hour=13), "budget.downgrade", "search-daily", "tag:team=search",
             DAY, 3, "default", "cheapest", "forecast $12.40 is over the $10 limit", "8.5",
             "6.5", "12.4", "10"),
        ]  # fmt: skip
        conn.executemany(
            "INSERT INTO budget_events (event_id, ts, kind, budget, scope, period_start, "
            "policy_version, from_chain, to_chain, reason, spent_usd, pace_usd, forecast_usd, "
            "limit_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    finally:
        conn.close()


def test_budgets_page_without_budgets(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = page(monkeypatch, "budgets", "--store", str(demo))
    assert [i.value for i in app.info] == [
        "No budgets configured and no budget events yet. Add a `budgets:` section to mmoa.yaml "
        "(see `mmoa budget --help`) to have spend watched, alerted and capped."
    ]


def route_at(store: Path, at: datetime, usage: Usage, tags: dict[str, str]) -> None:
    """One scripted request at time `at` (naive UTC)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from collector import DuckDBSpanExporter
    from router import Router
    from tests.fakes import CATALOG, ScriptedProvider, config

    ns = int(at.replace(tzinfo=UTC).timestamp()) * 1_000_000_000
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(DuckDBSpanExporter(store)))
    provider = ScriptedProvider({"cheap": [usage]})
    router = Router(
        CATALOG, config(), lambda s: provider, tracer=tp.get_tracer("t"), clock=lambda: ns
    )
    router.complete("What is the capital of France?", tags=tags, model="cheap")
    tp.shutdown()


def test_budget_status_from_the_config(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store.duckdb"
    store.write_bytes(demo.read_bytes())
    # the page's "now": ten minutes after the demo's last request (budget status is per minute)
    now = (one(store, "SELECT max(ts) FROM requests") + timedelta(minutes=10)).replace(
        second=0, microsecond=0
    )
    monkeypatch.setattr("dashboard.budget_banner.now_minute", lambda: now)
    usage = Usage(1_000, 500, cache_read_tokens=200)  # $0.000285 on "cheap"
    route_at(store, now - timedelta(minutes=5), usage, {"team": "search"})
    # status is taken at the last minute of the data shown: here, the minute of this one
    route_at(store, now - timedelta(minutes=1), usage, {"team": "other"})
    at = now - timedelta(minutes=1)
    config = tmp_path / "mmoa.yaml"
    config.write_text(
        "budgets:\n"
        "  - {name: everything, amount: 1000, period: month, scope: global}\n"
        "  - {name: search, amount: 0.0002, period: day, scope: 'tag:team=search'}\n"
    )
    app = page(monkeypatch, "budgets", "--store", str(store), "--config", str(config))
    rows = {r["budget"]: r for r in table(app)}
    month = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    everything = one(
        store, "SELECT coalesce(sum(cost_usd), 0) FROM calls WHERE ts >= ? AND ts < ?", [month, at]
    )
    search = one(
        store,
        "SELECT coalesce(sum(cost_usd), 0) FROM calls WHERE ts >= ? AND ts < ? "
        "AND tags['team'] = 'search'",
        [day, at],
    )
    assert search >= Decimal("0.000285")  # at least the request just routed
    assert (rows["everything"]["spent"], rows["everything"]["limit"]) == (
        usd(everything),
        "$1,000.00",
    )
    assert (rows["search"]["spent"], rows["search"]["limit"]) == (usd(search), "$0.0002")
    assert rows["search"]["scope"] == "tag:team=search"
    # the end of the sidebar's time range moves the status back in time
    until = one(store, "SELECT date_trunc('hour', max(ts)) FROM requests") - timedelta(hours=6)
    full_range = app.slider(key="f_time").value
    app.slider(key="f_time").set_value((full_range[0], until)).run()
    then = {r["budget"]: r["spent"] for r in table(app)}
    before = until - timedelta(minutes=1)  # the last minute of the range
    assert then["everything"] == usd(
        one(
            store,
            "SELECT coalesce(sum(cost_usd), 0) FROM calls WHERE ts >= ? AND ts < ?",
            [before.replace(day=1, hour=0, minute=0), before],
        )
    )
    assert then["everything"] != rows["everything"]["spent"]
    assert any(f"As of {before:%Y-%m-%d %H:%M} UTC" in c.value for c in app.caption)
    app.slider(key="f_time").set_value(full_range)
    # over its limit: the Overview says so on top
    app = page(monkeypatch, "overview", app=app)
    banners = [w.value for w in app.warning]
    assert [b.split(":")[0] for b in banners] == ["Budget **search** (tag"]
    assert f"spent {usd(search)} of $0.0002" in banners[0]


def test_budgets_timeline(demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "with_budgets.duckdb"
    store.write_bytes(demo.read_bytes())
    add_budget_events(store)
    app = page(monkeypatch, "budgets", "--store", str(store))
    rows = table(app)
    assert [(r["event"], r["budget"], r["models"]) for r in rows] == [
        ("downgrade", "search-daily", "default -> cheapest"),
        ("alert", "search-daily", ""),
        ("restore", "ops-hourly", "next_tier -> default"),
        ("downgrade", "ops-hourly", "default -> next_tier"),
        ("alert", "ops-hourly", ""),
    ]
    assert rows[0]["time (UTC)"] == "2026-11-27 13:00:00"
    assert (rows[0]["spent"], rows[0]["pace"], rows[0]["forecast"], rows[0]["limit"]) == (
        "$8.5000",
        "$6.5000",
        "$12.4000",
        "$10.0000",
    )
    assert rows[0]["reason"] == "forecast $12.40 is over the $10 limit"
    status = json.loads(app.get("plotly_chart")[0].proto.spec)["data"]  # type: ignore[union-attr]
    spent = next(t for t in status if t["name"] == "spent")
    # the latest figures of each budget, as % of its limit: 0.9 of 1 and 8.5 of 10
    assert dict(zip(spent["y"], spent["x"], strict=True)) == {
        "ops-hourly (global)": 90.0,
        "search-daily (tag:team=search)": 85.0,
    }
    assert spent["customdata"] == ["$0.9 of $1.0000", "$8.5000 of $10.0000"]


# --- every page, the frame, the command line ---------------------------------------------


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_has_its_title_and_the_simulated_badge(
    demo: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    app = page(monkeypatch, name, "--store", str(demo))
    assert len(badges(app)) == 1 and SIMULATED_BADGE in badges(app)[0]
    assert not app.error


def test_dashboard_says_what_to_do_without_a_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.argv", ["app.py", "--store", str(tmp_path / "none.duckdb")])
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception
    assert "run `mmoa demo`" in app.error[0].value


def test_dashboard_reads_through_a_collector_while_it_writes(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from collector.server import Collector, ServerConfig

    usage = Usage(input_tokens=1_000, output_tokens=500, cache_read_tokens=200)
    _, spans = route(store, {"cheap": [usage]}, ["What is the capital of France?"])
    with Collector(ServerConfig(store=store, port=0)) as collector:  # it now owns the file
        app = page(monkeypatch, "overview", "--collector", collector.url, "--refresh", "30")
        assert metrics(app)["actual spend"] == "$0.000285" and metrics(app)["requests"] == "1"
        # more traffic arrives through OTLP while the dashboard is open
        more = store.parent / "more.duckdb"
        _, new_spans = route(more, {"mid": [Usage(2_000, 100)]}, ["Summarise this"], model="mid")
        exporter = OTLPSpanExporter(endpoint=f"{collector.url}/v1/traces")
        exporter.export(new_spans)
        exporter.shutdown()
        app.run()  # what the refresh timer does
        expected = one(more, "SELECT sum(cost_usd) FROM calls") + Decimal("0.000285")
        assert metrics(app)["requests"] == "2"
        assert metrics(app)["actual spend"] == usd(expected)
        assert any("refreshes every 30 s" in c.value for c in app.caption)


def test_dashboard_command_line(store: Path) -> None:
    cmd = dashboard_command(store, "127.0.0.1", 8599)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == APP
    assert cmd[-2:] == ["--store", str(store.resolve())]
    cmd = dashboard_command(store, "127.0.0.1", 8599, "http://127.0.0.1:4318", "t", 15)
    assert cmd[-6:] == ["--collector", "http://127.0.0.1:4318", "--token", "t", "--refresh", "15"]


def test_dashboard_refuses_a_negative_refresh(store: Path) -> None:
    out = run_mmoa(["dashboard", "--store", str(store), "--refresh", "-5"])
    assert out.returncode == 2
    assert out.stderr == ("mmoa: error: --refresh -5: give seconds between redraws, or 0 for off\n")
    help_text = run_mmoa(["dashboard", "--help"]).stdout
    assert "--refresh SECONDS" in help_text and "Default: 30 with --collector" in help_text


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_the_store_refuses_them_even_past_the_statement_check(
    demo: Path, tmp_path: Path, attack: str
) -> None:
    """The read-only, no-external-access connection is a fence of its own."""
    conn = analytics.open_reader(demo)
    try:
        with pytest.raises(analytics.WriteRefused, match="read-only"):
            analytics.query(conn, ATTACKS[attack][0].format(dir=tmp_path))
    finally:
        conn.close()
    assert list(tmp_path.iterdir()) == []


def test_a_failed_read_is_one_error_line(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store written by an older mmoa (here: a macro missing) says so, without a traceback."""
    store = tmp_path / "old.duckdb"
    store.write_bytes(demo.read_bytes())
    conn = duckdb.connect(str(store))
    conn.execute("DROP MACRO TABLE budget_spend_minutes")
    conn.close()
    config = tmp_path / "mmoa.yaml"
    config.write_text("budgets:\n  - {name: everything, amount: 10}\n")
    app = page(monkeypatch, "budgets", "--store", str(store), "--config", str(config))
    errors = [e.value for e in app.error]
    assert len(errors) == 1
    assert errors[0].startswith(f"cannot read {store}: Catalog Error: Table Function with name ")
    assert "budget_spend_minutes does not exist" in errors[0]
    assert errors[0].endswith("or run `mmoa demo` for a new one.")
