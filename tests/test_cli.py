"""The `mmoa` command end to end, as a user runs it (subprocesses, real DuckDB files)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.cli_runner import run_mmoa

DEMO_REQUESTS = 2_000


def mmoa(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    out = run_mmoa(list(args))
    if check and out.returncode != 0:
        raise AssertionError(f"mmoa {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("demo") / "mmoa.duckdb"
    out = mmoa("demo", "--requests", str(DEMO_REQUESTS), "--store", str(store), "--no-progress")
    assert "SIMULATED TRAFFIC" in out.stdout
    assert f"routed {DEMO_REQUESTS:,} requests" in out.stdout
    assert "Explore further" in out.stdout and "mmoa sql" in out.stdout
    return store


def test_demo_report_equals_an_independent_sum_over_raw_spans(demo_store: Path) -> None:
    report = json.loads(mmoa("report", "--json", "--store", str(demo_store)).stdout)
    s = report["summary"]
    raw = duckdb.connect(str(demo_store), read_only=True)
    calls_cost, calls_in, calls_out, n_calls = raw.execute(
        "SELECT sum(cost_usd), sum(input_tokens), sum(output_tokens), count(*) FROM spans "
        "WHERE operation IS NOT NULL"
    ).fetchone()
    routes, attempts, baseline, ok = raw.execute(
        "SELECT count(*), sum(attempts), sum(baseline_cost_usd), "
        "count(*) FILTER (WHERE route_status = 'ok') FROM spans WHERE name = 'mmoa.route'"
    ).fetchone()
    total_spans = raw.execute("SELECT count(*) FROM spans").fetchone()[0]
    raw.close()
    assert routes == DEMO_REQUESTS == s["requests"]
    assert n_calls == attempts and total_spans == routes + attempts
    assert Decimal(s["cost_usd"]) == calls_cost
    assert Decimal(s["baseline_cost_usd"]) == baseline
    assert Decimal(s["saving_usd"]) == baseline - calls_cost
    assert s["input_tokens"] == calls_in and s["output_tokens"] == calls_out
    assert s["ok"] == ok and report["simulated"] is True
    # every breakdown adds up to the totals
    for by, rows in report["breakdowns"].items():
        assert sum(Decimal(r["cost_usd"]) for r in rows) == calls_cost, by
        assert sum(r["requests"] for r in rows) == DEMO_REQUESTS, by


def test_demo_is_deterministic(tmp_path: Path) -> None:
    totals = []
    for i in range(2):
        store = tmp_path / f"run{i}.duckdb"
        mmoa("demo", "--requests", "300", "--store", str(store), "--no-progress")
        out = mmoa(
            "sql",
            "SELECT sum(cost_usd), sum(input_tokens), count(*) FROM calls",
            "--json",
            "--store",
            str(store),
        )
        totals.append(json.loads(out.stdout))
    assert totals[0] == totals[1]


def test_demo_timestamps_cover_the_last_day(demo_store: Path) -> None:
    out = mmoa(
        "sql",
        "SELECT (max(ts) - min(ts)) > INTERVAL 20 HOUR AS spread, "
        "count(DISTINCT hour(ts)) AS hours FROM requests",
        "--json",
        "--store",
        str(demo_store),
    )
    assert json.loads(out.stdout) == [{"spread": True, "hours": 24}]


def test_sql_formats_and_views(demo_store: Path) -> None:
    out = mmoa(
        "sql",
        "SELECT category, requests FROM savings_by_category ORDER BY category",
        "--csv",
        "--store",
        str(demo_store),
    )
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0] == ["category", "requests"] and len(rows) == 8
    assert sum(int(r[1]) for r in rows[1:]) == DEMO_REQUESTS
    out = mmoa(
        "sql",
        "SELECT sum(cost_usd) AS c FROM savings_by_model",
        "--json",
        "--store",
        str(demo_store),
    )
    assert Decimal(json.loads(out.stdout)[0]["c"]) > 0
    table = mmoa("sql", "SELECT 1 AS one", "--store", str(demo_store)).stdout
    assert "one" in table and "1 row" in table


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM spans",
        "DROP VIEW calls",
        "UPDATE spans SET cost_usd = 0",
        "COPY spans TO 'leak.csv'",
    ],
)
def test_sql_refuses_writes(demo_store: Path, query: str) -> None:
    out = mmoa("sql", query, "--store", str(demo_store), check=False)
    assert out.returncode == 2
    assert out.stderr.startswith("mmoa: error: refused: `mmoa sql` is read-only")
    assert len(out.stderr.strip().splitlines()) == 1
    count = mmoa("sql", "SELECT count(*) AS n FROM requests", "--json", "--store", str(demo_store))
    assert json.loads(count.stdout) == [{"n": DEMO_REQUESTS}]


def test_report_groupings_and_errors(demo_store: Path) -> None:
    for by in ("model", "category", "provider", "day", "tag"):
        out = json.loads(
            mmoa(
                "report", "--by", by, "--since", "48h", "--json", "--store", str(demo_store)
            ).stdout
        )
        assert sum(r["requests"] for r in out["breakdowns"][by]) >= DEMO_REQUESTS
    text = mmoa("report", "--store", str(demo_store)).stdout
    assert "SIMULATED TRAFFIC" in text and "single-model baseline" in text
    bad = mmoa("report", "--since", "yesterday-ish", "--store", str(demo_store), check=False)
    assert bad.returncode == 2 and "use an age such as 24h" in bad.stderr
    bad = mmoa("report", "--by", "colour", "--store", str(demo_store), check=False)
    assert bad.returncode == 2 and "--by 'colour'" in bad.stderr


def test_models_lists_the_catalog() -> None:
    rows = json.loads(mmoa("models", "--json").stdout)
    names = {r["name"] for r in rows}
    assert {
        "gpt-4o-mini",
        "gpt-5-nano",
        "claude-sonnet-4-5",
        "gemini-2.5-pro",
        "llama-3.1-70b-versatile",
    } <= names
    mini = next(r for r in rows if r["name"] == "gpt-4o-mini")
    assert (mini["input_price"], mini["cached_input_price"], mini["output_price"]) == (
        "0.15",
        "0.075",
        "0.6",
    )
    assert "claude-sonnet-4-5" in mmoa("models").stdout


def test_ask_routes_one_prompt(tmp_path: Path) -> None:
    store = tmp_path / "ask.duckdb"
    out = json.loads(
        mmoa(
            "ask",
            "--provider",
            "simulated",
            "Implement a binary search function in Python with tests",
            "--json",
            "--tag",
            "team=search",
            "--store",
            str(store),
        ).stdout
    )
    assert out["category"] == "coding_implementation" and out["simulated"] is True
    assert Decimal(out["cost_usd"]) < Decimal(out["baseline_cost_usd"])
    assert out["baseline_model"] == "claude-sonnet-4-6"
    rows = json.loads(
        mmoa(
            "sql",
            "SELECT request_id, model, tags['team'] AS team FROM requests",
            "--json",
            "--store",
            str(store),
        ).stdout
    )
    assert rows == [{"request_id": out["request_id"], "model": out["model"], "team": "search"}]
    text = mmoa(
        "ask", "--provider", "simulated", "What is the capital of France?", "--store", str(store)
    ).stdout
    assert "SIMULATED TRAFFIC" in text and "reason" in text and "baseline" in text


def test_bad_input_gets_one_clear_line(tmp_path: Path) -> None:
    store = str(tmp_path / "x.duckdb")
    out = mmoa(
        "ask",
        "--provider",
        "simulated",
        "hi",
        "--model",
        "gpt-4o-mni",
        "--store",
        store,
        check=False,
    )
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "mmoa: error: unknown model 'gpt-4o-mni'. Did you mean "
        "gpt-4o-mini, gpt-4.1-mini, gpt-5-mini? Run `mmoa models` for the catalog, or add it "
        "under `models:` in mmoa.yaml."
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "baseline: claude-sonnet-4-5\ncategories:\n  simple_quick: {floors: {basic: "
        "{intelligence: high}}}\n"
    )
    out = mmoa("models", "--config", str(bad), check=False)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert str(bad) in out.stderr and "Fix:" in out.stderr
    out = mmoa("sql", "SELECT 1", "--store", str(tmp_path / "none.duckdb"), check=False)
    assert out.returncode == 2 and "run `mmoa demo`" in out.stderr
    assert not (tmp_path / "none.duckdb").exists()  # a reader never creates a store


def test_demo_refuses_to_replace_real_data(tmp_path: Path) -> None:
    store = tmp_path / "real.duckdb"
    conn = duckdb.connect(str(store))
    conn.execute("CREATE TABLE spans (simulated BOOLEAN)")
    conn.execute("INSERT INTO spans VALUES (false)")
    conn.close()
    out = mmoa("demo", "--requests", "10", "--store", str(store), check=False)
    assert out.returncode == 2 and "will not touch it" in out.stderr
    assert duckdb.connect(str(store), read_only=True).execute(
        "SELECT count(*) FROM spans"
    ).fetchone() == (1,)


def test_ask_with_a_strategy_a_role_and_a_cost_cap(tmp_path: Path) -> None:
    store = str(tmp_path / "s.duckdb")
    for strategy in ("fallback", "ensemble", "verify"):
        out = json.loads(
            mmoa(
                "ask",
                "--provider",
                "simulated",
                "What is the capital of France?",
                "--strategy",
                strategy,
                "--json",
                "--store",
                store,
            ).stdout
        )
        assert out["strategy"] == strategy
    out = json.loads(
        mmoa(
            "ask",
            "--provider",
            "simulated",
            "Plan the release.",
            "--role",
            "orchestrator",
            "--json",
            "--store",
            store,
        ).stdout
    )
    assert out["model"] == "gpt-5-mini"  # the cheapest model meeting the orchestrator floor
    bad = mmoa(
        "ask",
        "--provider",
        "simulated",
        "hi",
        "--max-cost",
        "0.0000001",
        "--store",
        store,
        check=False,
    )
    assert bad.returncode == 2 and "max_cost $0.0000001: worst case" in bad.stderr
    bad = mmoa(
        "ask", "--provider", "simulated", "hi", "--role", "janitor", "--store", store, check=False
    )
    assert bad.returncode == 2 and "unknown role 'janitor'" in bad.stderr


def test_export_parquet_and_csv_read_in_place(demo_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    data = json.loads(
        mmoa("export", "--store", str(demo_store), "--out", str(out), "--json").stdout
    )
    raw = duckdb.connect(str(demo_store), read_only=True)
    calls, cost = raw.execute("SELECT count(*), sum(cost_usd) FROM calls").fetchone()
    assert data["rows"]["requests"] == DEMO_REQUESTS and data["rows"]["calls"] == calls
    days = sorted(p.name for p in (out / "requests").iterdir())
    assert days and all(d.startswith("day=") for d in days)
    back = duckdb.execute(
        f"SELECT count(*), sum(cost_usd) FROM read_parquet('{out}/calls/*/*.parquet',"
        " hive_partitioning = true)"
    ).fetchone()
    assert back == (calls, cost)  # exact money survives the round trip
    csv_out = tmp_path / "csv"
    mmoa(
        "export",
        "--format",
        "csv",
        "--since",
        "48h",
        "--store",
        str(demo_store),
        "--out",
        str(csv_out),
    )
    n = duckdb.execute(
        f"SELECT count(*) FROM read_csv('{csv_out}/requests/*/*.csv', hive_partitioning = true)"
    ).fetchone()
    assert n == (DEMO_REQUESTS,)
    again = mmoa("export", "--store", str(demo_store), "--out", str(out), check=False)
    assert again.returncode == 2 and "is not empty" in again.stderr


@pytest.mark.parametrize(
    "name",
    sorted(
        p.name for p in (Path(__file__).resolve().parent.parent / "sql" / "queries").glob("*.sql")
    ),
)
def test_every_example_query_runs_read_only(demo_store: Path, name: str) -> None:
    sql = (Path(__file__).resolve().parent.parent / "sql" / "queries" / name).read_text()
    rows = json.loads(mmoa("sql", sql, "--json", "--store", str(demo_store)).stdout)
    assert len(rows) > 0 and all(isinstance(r, dict) for r in rows)
