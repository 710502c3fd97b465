"""analytics.dashboard on a store filled by the real router (simulated provider): every figure
equals an independent computation over plain `calls` / `requests` rows, for each filter kind."""

from __future__ import annotations

import contextlib
import math
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import mmoa.sql as sqlfiles
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import analytics
from analytics import dashboard as dash
from analytics.dashboard import Filters
from collector import DuckDBSpanExporter, open_writer
from collector.exporter import INSERT_SQL, insert_table
from collector.rows import to_table
from collector.store import migrate, transaction
from mmoa import settings
from mmoa.demo import VirtualClock, run

REQUESTS = 1_500
Row = dict[str, Any]


def add_unpriced_calls(store: Path, n: int, ts_ns: int) -> None:
    """Another app's gen_ai spans for a model nobody priced: stored unpriced (NULL)."""
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(DuckDBSpanExporter(store)))
    tracer = tp.get_tracer("other-app")
    for i in range(n):
        attrs: dict[str, str | int] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "acme",
            "gen_ai.request.model": "acme-large",
            "gen_ai.usage.input_tokens": 100 + i,
            "gen_ai.usage.output_tokens": 10 + i,
            "mmoa.tag.team": "search",
        }
        span = tracer.start_span("chat acme-large", attributes=attrs, start_time=ts_ns + i)
        span.end(end_time=ts_ns + i + 5_000_000 * (i + 1))
    tp.shutdown()


def one(conn: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return row


def build_store(path: Path, requests: int = REQUESTS, seed: int = 11) -> Path:
    """The demo's traffic through the real router into `path`, plus a few unpriced calls."""
    run(requests, path, settings.config_path(None), seed, progress=False)
    conn = duckdb.connect(str(path), read_only=True)
    (last,) = one(conn, "SELECT max(start_time) FROM spans")
    conn.close()
    add_unpriced_calls(path, 3, int((last - datetime(1970, 1, 1)).total_seconds() * 1e9) - 10**9)
    return path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("dash") / "demo.duckdb")


@pytest.fixture
def src(demo: Path) -> Iterable[duckdb.DuckDBPyConnection]:
    conn = analytics.open_reader(demo)
    yield conn
    conn.close()


# ---- the reference: plain rows of `requests` and `calls`, filtered and summed in Python ----


def plain(conn: duckdb.DuckDBPyConnection, sql: str) -> list[Row]:
    rel = conn.sql(sql)
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


def tag_list(tags: dict[str, str] | None) -> set[str]:
    return {f"{k}={v}" for k, v in (tags or {}).items()}


class Reference:
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.requests = plain(conn, "SELECT * FROM requests")
        self.calls = plain(conn, "SELECT * FROM calls")
        self.provider_of: dict[str, str] = {}
        for c in sorted(self.calls, key=lambda c: c["provider"], reverse=True):
            self.provider_of[c["model"]] = c["provider"]  # min(provider) per model wins
        self.category_of = {r["request_id"]: r["category"] for r in self.requests}

    def reqs(self, f: Filters) -> list[Row]:
        return [r for r in self.requests if self._keep(f, r, self.provider_of.get(r["model"]))]

    def calls_for(self, f: Filters) -> list[Row]:
        out = []
        for c in self.calls:
            if not self._keep(f, c, c["provider"], with_category=False):
                continue
            if f.categories and self.category_of.get(c["request_id"]) not in f.categories:
                continue
            out.append(c)
        return out

    @staticmethod
    def _keep(f: Filters, row: Row, provider: str | None, with_category: bool = True) -> bool:
        return (
            (f.since is None or row["ts"] >= f.since)
            and (f.until is None or row["ts"] < f.until)
            and (not f.providers or provider in f.providers)
            and (not f.models or row["model"] in f.models)
            and (not with_category or not f.categories or row["category"] in f.categories)
            and (not f.tags or bool(tag_list(row["tags"]) & set(f.tags)))
        )


def money(rows: list[Row], key: str) -> Decimal | None:
    priced = [r[key] for r in rows if r[key] is not None]
    if rows and not priced:
        return None
    return sum(priced, Decimal(0))


def saving(rows: list[Row]) -> tuple[Decimal, float | None]:
    both = [r for r in rows if r["cost_usd"] is not None and r["baseline_cost_usd"] is not None]
    total = sum((r["baseline_cost_usd"] - r["cost_usd"] for r in both), Decimal(0))
    base = sum((r["baseline_cost_usd"] for r in both), Decimal(0))
    return total, (round(float(100 * total / base), 2) if base else None)


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def group(rows: Iterable[Row], key: Callable[[Row], Any]) -> dict[Any, list[Row]]:
    out: dict[Any, list[Row]] = defaultdict(list)
    for r in rows:
        out[key(r)].append(r)
    return out


# ---- the filters every test runs through ----


def filter_cases(conn: duckdb.DuckDBPyConnection) -> dict[str, Filters]:
    first, last = one(conn, "SELECT min(ts), max(ts) FROM requests")
    mid = first + (last - first) / 2
    on_minute = mid.replace(second=0, microsecond=0)
    return {
        "all": Filters(),
        "window": Filters(since=mid - timedelta(hours=3), until=mid + timedelta(hours=2)),
        "since_only": Filters(since=last - timedelta(hours=6)),
        "provider": Filters(providers=("openai", "acme")),
        "model": Filters(models=("gpt-5-nano", "llama-3.1-8b-instant")),
        "category": Filters(categories=("simple_quick", "coding_implementation")),
        "tags": Filters(tags=("team=search", "user=u0001")),
        "combined": Filters(
            since=first + timedelta(hours=2), providers=("openai",), tags=("team=platform",)
        ),
        "nothing": Filters(models=("no-such-model",)),
        # hourly rollups for the whole hours, per-minute ones and raw spans for ragged edges
        "ragged": Filters(
            since=on_minute - timedelta(hours=4, minutes=17, seconds=-13, microseconds=-5),
            until=on_minute + timedelta(hours=3, minutes=41, seconds=7),
        ),
        "category_window": Filters(
            since=on_minute - timedelta(hours=5, minutes=2) + timedelta(seconds=1),
            until=on_minute + timedelta(minutes=29, seconds=59),
            categories=("simple_quick", "general_development"),
        ),
        "within_an_hour": Filters(
            since=mid.replace(minute=7, second=3, microsecond=0),
            until=mid.replace(minute=48, second=0, microsecond=0),
        ),
        "category_model": Filters(categories=("coding_implementation",), models=("gpt-5-mini",)),
    }


CASES = [
    "all",
    "window",
    "since_only",
    "provider",
    "model",
    "category",
    "tags",
    "combined",
    "ragged",
    "category_window",
    "within_an_hour",
    "category_model",
    "nothing",
]


@pytest.fixture(scope="module")
def ref(demo: Path) -> Reference:
    conn = analytics.open_reader(demo)
    try:
        return Reference(conn)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def cases(demo: Path) -> dict[str, Filters]:
    conn = analytics.open_reader(demo)
    try:
        return filter_cases(conn)
    finally:
        conn.close()


def expected_overview(ref: Reference, f: Filters) -> Row:
    rs, cs = ref.reqs(f), ref.calls_for(f)
    total, pct = saving(rs)
    errors = sum(c["status"] == "error" for c in cs)
    return {
        "requests": len(rs),
        "calls": len(cs),
        "cost_usd": money(rs, "cost_usd"),
        "baseline_cost_usd": money(rs, "baseline_cost_usd"),
        "saving_usd": total,
        "saving_pct": pct,
        "input_tokens": sum(c["input_tokens"] or 0 for c in cs),
        "output_tokens": sum(c["output_tokens"] or 0 for c in cs),
        "errors": errors,
        "error_rate": rate(errors, len(cs)),
        "unpriced_calls": sum(c["status"] == "ok" and c["cost_usd"] is None for c in cs),
        "simulated": any(r["simulated"] for r in rs) or any(c["simulated"] for c in cs),
    }


@pytest.mark.parametrize("case", CASES)
def test_overview_equals_plain_sql(
    src: duckdb.DuckDBPyConnection, ref: Reference, cases: dict[str, Filters], case: str
) -> None:
    assert dash.overview(src, cases[case]) == expected_overview(ref, cases[case])


def test_the_filters_select_something_and_the_demo_has_what_the_panels_show(
    src: duckdb.DuckDBPyConnection, ref: Reference, cases: dict[str, Filters]
) -> None:
    everything = expected_overview(ref, Filters())
    assert everything["requests"] == REQUESTS and everything["unpriced_calls"] == 3
    assert everything["errors"] > 0 and everything["saving_usd"] > 0
    for case in CASES[1:-1]:
        got = expected_overview(ref, cases[case])
        assert 0 < got["requests"] < REQUESTS, case
    assert expected_overview(ref, cases["nothing"])["requests"] == 0


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("bucket", ["hour", "day", "minute", "auto"])
def test_spend_series_equals_plain_sql(
    src: duckdb.DuckDBPyConnection,
    ref: Reference,
    cases: dict[str, Filters],
    case: str,
    bucket: str,
) -> None:
    f = cases[case]
    rs = ref.reqs(f)
    if bucket == "auto" and rs:
        lo = f.since or min(minute(r["ts"]) for r in rs)
        hi = f.until or max(minute(r["ts"]) for r in rs) + timedelta(minutes=1)
        width = hi - lo
        part = (
            "minute"
            if width <= timedelta(hours=3)
            else "hour"
            if width <= timedelta(days=4)
            else "day"
        )
    else:
        part = bucket

    def trunc(ts: datetime) -> datetime:
        keep = {"minute": ts.replace(second=0, microsecond=0)}
        keep["hour"] = keep["minute"].replace(minute=0)
        keep["day"] = keep["hour"].replace(hour=0)
        return keep[part]

    expected = [
        {
            "ts": ts,
            "requests": len(rows),
            "cost_usd": money(rows, "cost_usd"),
            "baseline_cost_usd": money(rows, "baseline_cost_usd"),
        }
        for ts, rows in sorted(group(rs, lambda r: trunc(r["ts"])).items())
    ]
    assert dash.spend_series(src, f, bucket) == expected


def test_spend_series_refuses_an_unknown_bucket(src: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="unknown bucket 'week': use auto, minute, hour, day"):
        dash.spend_series(src, Filters(), "week")


def minute(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def exact_quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * q // 1) - 1).__int__()]


def expected_models(ref: Reference, f: Filters) -> list[Row]:
    rs = group(ref.reqs(f), lambda r: r["model"])
    out = []
    for (provider, model), cs in group(
        ref.calls_for(f), lambda c: (c["provider"], c["model"])
    ).items():
        lat = [c["latency_ms"] for c in cs]
        routed = rs.get(model, [])
        priced = [r["cost_usd"] for r in routed if r["cost_usd"] is not None]
        per_1k = sum(priced, Decimal(0)) * 1000 / len(priced) if priced else None
        out.append(
            {
                "provider": provider,
                "model": model,
                "calls": len(cs),
                "cost_usd": money(cs, "cost_usd"),
                **{
                    k: sum(c[k] or 0 for c in cs)
                    for k in (
                        "input_tokens",
                        "cached_input_tokens",
                        "cache_write_tokens",
                        "reasoning_tokens",
                        "output_tokens",
                    )
                },
                "p50_ms": exact_quantile(lat, 0.5),
                "p95_ms": exact_quantile(lat, 0.95),
                "p99_ms": exact_quantile(lat, 0.99),
                "error_rate": rate(sum(c["status"] == "error" for c in cs), len(cs)),
                "retry_rate": rate(sum(retryable(c) for c in cs), len(cs)),
                "requests": len(routed),
                "cost_per_1k_requests": None
                if per_1k is None
                else per_1k.quantize(Decimal("1e-10")),
            }
        )
    out.sort(
        key=lambda r: (
            r["cost_usd"] is None,
            -(r["cost_usd"] or 0),
            -r["calls"],
            r["provider"],
            r["model"],
        )
    )
    return out


def retryable(c: Row) -> bool:
    e = c["error_type"] or ""
    client_error = len(e) == 3 and e.startswith("4") and e.isdigit() and e not in ("408", "429")
    return c["status"] == "error" and not client_error


def bucket(ms: float) -> int:
    return math.floor(math.log(max(ms, 0.001)) / math.log(1.02))


PERCENTILES = ("p50_ms", "p95_ms", "p99_ms")


@pytest.mark.parametrize("case", CASES)
def test_models_equals_plain_sql(
    src: duckdb.DuckDBPyConnection, ref: Reference, cases: dict[str, Filters], case: str
) -> None:
    assert_models(src, ref, cases[case])


def assert_models(src: duckdb.DuckDBPyConnection, ref: Reference, f: Filters) -> None:
    got, expected = dash.models(src, f), expected_models(ref, f)
    for row, exact in zip(got, expected, strict=True):
        for p in PERCENTILES:
            # the histogram's answer is the middle of the 2%-wide bucket of the exact value
            assert bucket(row[p]) == bucket(exact[p]), (row["model"], p, row[p], exact[p])
            assert abs(row[p] / exact[p] - 1) < 0.0101, (row["model"], p)
            exact[p] = row[p]
    assert got == expected


@pytest.mark.parametrize("case", CASES)
def test_unpriced_equals_plain_sql(
    src: duckdb.DuckDBPyConnection, ref: Reference, cases: dict[str, Filters], case: str
) -> None:
    cs = [c for c in ref.calls_for(cases[case]) if c["status"] == "ok" and c["cost_usd"] is None]
    expected = sorted(
        ((len(v), p, m) for (p, m), v in group(cs, lambda c: (c["provider"], c["model"])).items()),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    got = dash.unpriced(src, cases[case])
    assert [(r["calls"], r["provider"], r["model"]) for r in got] == expected
    for row in got:
        assert row["fix"].startswith(f"models: - {{name: {row['model']}, prices: {{input: ")


def test_the_unpriced_model_is_named_with_its_fix(src: duckdb.DuckDBPyConnection) -> None:
    assert dash.unpriced(src, Filters()) == [
        {
            "provider": "acme",
            "model": "acme-large",
            "calls": 3,
            "fix": "models: - {name: acme-large, prices: {input: <USD per 1M>, "
            "output: <USD per 1M>}}  # in mmoa.yaml",
        }
    ]


@pytest.mark.parametrize("case", CASES)
def test_category_mix_and_flows_equal_plain_sql(
    src: duckdb.DuckDBPyConnection, ref: Reference, cases: dict[str, Filters], case: str
) -> None:
    rs = ref.reqs(cases[case])
    mix = [
        {"category": c, "complexity": x, "requests": len(v), "cost_usd": money(v, "cost_usd")}
        for (c, x), v in group(rs, lambda r: (r["category"], r["complexity"])).items()
    ]
    mix.sort(key=lambda r: (-r["requests"], r["category"], r["complexity"]))
    assert dash.category_mix(src, cases[case]) == mix
    flow = [
        {"category": c, "model": m, "requests": len(v)}
        for (c, m), v in group(rs, lambda r: (r["category"], r["model"] or "(failed)")).items()
    ]
    flow.sort(key=lambda r: (-r["requests"], r["category"], r["model"]))
    assert dash.flows(src, cases[case]) == flow


@pytest.mark.parametrize("case", CASES)
def test_strategies_equal_plain_sql(
    src: duckdb.DuckDBPyConnection, ref: Reference, cases: dict[str, Filters], case: str
) -> None:
    expected = []
    for strategy, v in group(ref.reqs(cases[case]), lambda r: r["strategy"]).items():
        attempts = [r["attempts"] for r in v if r["attempts"] is not None]
        agreement = [r["agreement"] for r in v if r["agreement"] is not None]
        expected.append(
            {
                "strategy": strategy,
                "requests": len(v),
                "escalation_rate": rate(sum(r["escalations"] > 0 for r in v), len(v)),
                "attempts_per_request": rate(sum(attempts), len(attempts)),
                "agreement": pytest.approx(sum(agreement) / len(agreement), abs=2e-6)
                if agreement
                else None,
                "cache_hit_rate": rate(sum(bool(r["cache_hit"]) for r in v), len(v)),
                "cost_usd": money(v, "cost_usd"),
                "baseline_cost_usd": money(v, "baseline_cost_usd"),
                "saving_pct": saving(v)[1],
            }
        )
    expected.sort(key=lambda r: (-r["requests"], r["strategy"]))
    assert dash.strategies(src, cases[case]) == expected


def test_the_demo_exercises_every_strategy(src: duckdb.DuckDBPyConnection) -> None:
    rows = {r["strategy"]: r for r in dash.strategies(src, Filters())}
    assert set(rows) == {"cheapest", "fallback", "verify", "ensemble"}
    assert rows["ensemble"]["agreement"] is not None and rows["verify"]["escalation_rate"] > 0


@pytest.mark.parametrize("case", CASES)
def test_recent_requests_equal_plain_sql(
    src: duckdb.DuckDBPyConnection, ref: Reference, cases: dict[str, Filters], case: str
) -> None:
    rs = sorted(ref.reqs(cases[case]), key=lambda r: (r["ts"], r["request_id"]))
    rs = sorted(rs, key=lambda r: r["ts"], reverse=True)[:7]
    keys = ("request_id", "ts", "category", "model", "strategy", "status", "cost_usd")
    expected = [{k: r[k] for k in (*keys, "baseline_cost_usd")} for r in rs]
    assert dash.recent_requests(src, cases[case], limit=7) == expected


def test_recent_requests_refuses_a_zero_limit(src: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="limit must be at least 1, not 0"):
        dash.recent_requests(src, Filters(), limit=0)


def test_trace_shows_every_span_of_a_request(
    src: duckdb.DuckDBPyConnection, ref: Reference
) -> None:
    verify = next(
        r for r in ref.requests if r["strategy"] == "verify" and (r["escalations"] or 0) > 0
    )
    rows = dash.trace(src, verify["request_id"])
    spans = plain(
        src,
        f"SELECT * FROM spans WHERE request_id = '{verify['request_id']}' ORDER BY start_time",
    )
    assert len(rows) == len(spans) == 1 + verify["attempts"]
    decision = rows[0]
    assert decision["name"] == "mmoa.route" and decision["offset_ms"] == 0
    assert decision["cost_usd"] == verify["cost_usd"]
    assert decision["baseline_cost_usd"] == verify["baseline_cost_usd"]
    calls = rows[1:]
    assert sum(c["cost_usd"] for c in calls) == verify["cost_usd"]
    assert {c["attempt_role"] for c in calls} == {"answer", "verifier"}
    t0 = spans[0]["start_time"]
    for row in calls:
        span = next(s for s in spans if s["span_id"] == row["span_id"])
        assert row["offset_ms"] == (span["start_time"] - t0) / timedelta(milliseconds=1)
        assert row["parent_span_id"] == decision["span_id"]
        assert (row["model"], row["provider"]) == (span["request_model"], span["provider"])
    assert dash.trace(src, "no-such-request") == []


def test_filter_options_list_what_the_store_holds(
    src: duckdb.DuckDBPyConnection, ref: Reference
) -> None:
    opts = dash.filter_options(src)
    tags = set().union(*(tag_list(r["tags"]) for r in ref.requests + ref.calls))
    assert opts == {
        "providers": sorted({c["provider"] for c in ref.calls}),
        "models": sorted({c["model"] for c in ref.calls} | {r["model"] for r in ref.requests}),
        "categories": sorted({r["category"] for r in ref.requests}),
        "tags": sorted(tags),
        "first_ts": min(r["ts"] for r in ref.requests + ref.calls),
        "last_ts": max(r["ts"] for r in ref.requests + ref.calls),
        "simulated": True,
    }
    assert "acme" in opts["providers"] and "team=search" in opts["tags"]


# ---- the rollups: exactly once, and backfilled for stores made before them ----


def router_spans(requests: int, seed: int = 5) -> list[ReadableSpan]:
    """Real SDK spans from the router on the simulated provider (decisions and calls)."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from mmoa.providers import select
    from mmoa.wiring import load
    from mmoa.workload import generate
    from router import AllAttemptsFailed, Router

    config, catalog = load(settings.config_path(None))
    memory = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(memory))
    provider = select("simulated", config, catalog).provider_for
    clock = VirtualClock()
    router = Router(
        catalog,
        config,
        provider,
        tracer=tp.get_tracer("mmoa.router"),
        clock=clock,
        sleep=lambda seconds: None,
    )
    for item in generate(requests, seed=seed, end_ns=T_END):
        clock.now_ns = item.ts_ns
        with contextlib.suppress(AllAttemptsFailed):
            router.complete(item.prompt, max_tokens=item.max_tokens, tags=item.tags)
    return list(memory.get_finished_spans())


T_END = 1_764_000_000_000_000_000

ROLLUP_TOTALS = {
    "rollup_requests": (
        "minute, category, complexity, strategy, model, status, simulated, tagset",
        "sum(requests), sum(cost_usd), sum(cost_priced), sum(baseline_cost_usd), "
        "sum(baseline_priced), sum(saving_usd), sum(saving_base_usd), sum(cache_hits), "
        "sum(escalated), sum(attempts), sum(attempts_n), round(sum(agreement_sum), 9), "
        "sum(agreement_n)",
    ),
    "rollup_calls": (
        "minute, provider, model, category, status, error_type, simulated, tagset",
        "sum(calls), sum(errors), sum(retries), sum(input_tokens), sum(cached_input_tokens), "
        "sum(cache_write_tokens), sum(reasoning_tokens), sum(output_tokens), sum(cost_usd), "
        "sum(cost_priced), sum(unpriced_calls)",
    ),
    "rollup_latency": ("minute, provider, model, category, tagset, bucket", "sum(n)"),
    "rollup_requests_hourly": (
        "hour, category, complexity, strategy, model, status, simulated",
        "sum(requests), sum(cost_usd), sum(cost_priced), sum(baseline_cost_usd), "
        "sum(baseline_priced), sum(saving_usd), sum(saving_base_usd), sum(cache_hits), "
        "sum(escalated), sum(attempts), sum(attempts_n), round(sum(agreement_sum), 9), "
        "sum(agreement_n)",
    ),
    "rollup_calls_hourly": (
        "hour, provider, model, category, status, error_type, simulated",
        "sum(calls), sum(errors), sum(retries), sum(input_tokens), sum(cached_input_tokens), "
        "sum(cache_write_tokens), sum(reasoning_tokens), sum(output_tokens), sum(cost_usd), "
        "sum(cost_priced), sum(unpriced_calls)",
    ),
    "rollup_latency_hourly": ("hour, provider, model, category, bucket", "sum(n)"),
}


def rollups(store: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup, its deltas summed per (minute, dimensions); and the lookup tables."""
    conn = duckdb.connect(str(store), read_only=True)
    try:
        out = {
            table: conn.execute(
                f"SELECT {dims}, {sums} FROM {table} GROUP BY ALL ORDER BY ALL"
            ).fetchall()
            for table, (dims, sums) in ROLLUP_TOTALS.items()
        }
        for table in ("rollup_tagsets", "rollup_model_providers", "rollup_dims"):
            out[table] = conn.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        return out
    finally:
        conn.close()


def ingest(store: Path, batches: list[list[ReadableSpan]]) -> None:
    conn = open_writer(store)
    for batch in batches:
        with transaction(conn):
            insert_table(conn, to_table(batch))
    conn.close()


@pytest.fixture(scope="module")
def spans() -> list[ReadableSpan]:
    return router_spans(400)


def test_a_span_delivered_twice_is_counted_once(spans: list[ReadableSpan], tmp_path: Path) -> None:
    once, twice, overlapping = (tmp_path / f"{n}.duckdb" for n in ("once", "twice", "overlap"))
    ingest(once, [spans])
    ingest(twice, [spans, spans])
    half = len(spans) // 2
    # a client retrying a batch that was partly stored, in smaller batches
    ingest(overlapping, [spans[:half], spans[half // 2 :], spans[:100], spans[-50:]])
    expected = rollups(once)
    assert sum(r[8] for r in expected["rollup_requests"]) == 400
    assert rollups(twice) == expected
    assert rollups(overlapping) == expected


def test_a_store_from_before_the_rollups_is_backfilled(
    spans: list[ReadableSpan], tmp_path: Path
) -> None:
    live, old = tmp_path / "live.duckdb", tmp_path / "old.duckdb"
    half = len(spans) // 2
    ingest(live, [spans[:half], spans[half:]])
    # the store as 001-003 left it, filled by the writer of that time (no rollups)
    conn = duckdb.connect(str(old))
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP))"
    )
    for version, name in enumerate(sqlfiles.listing("migrations")[:3], start=1):
        conn.execute(sqlfiles.read("migrations", name))
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
    conn.register("batch", to_table(spans))
    conn.execute(INSERT_SQL)
    # the router of that time put no category on its call spans
    conn.execute("UPDATE spans SET category = NULL, complexity = NULL WHERE operation IS NOT NULL")
    assert one(conn, "SELECT count(*) FROM spans WHERE category IS NOT NULL") == (400,)
    conn.close()
    assert migrate_store(old) == [
        "004_rollups.sql",
        "005_budget_events.sql",
        "006_rollups_coarse.sql",
    ]
    assert rollups(old) == rollups(live)
    reader = analytics.open_reader(old)
    try:
        reference = Reference(reader)
        (span,) = plain(reader, "SELECT min(ts) AS first, max(ts) AS last FROM requests")
        first, last = span["first"], span["last"]
        ragged = Filters(
            since=first + timedelta(minutes=61, seconds=7), until=last - timedelta(seconds=89)
        )
        assert ragged.since and ragged.until and ragged.until - ragged.since > timedelta(hours=2)
        for f in (
            Filters(),
            Filters(tags=("team=search",)),
            Filters(categories=("simple_quick", "coding_implementation")),
            replace(ragged, categories=("simple_quick", "coding_implementation")),
            replace(ragged, categories=("general_development",), tags=("team=search",)),
        ):
            assert dash.overview(reader, f) == expected_overview(reference, f), f
            assert_models(reader, reference, f)
    finally:
        reader.close()


def migrate_store(path: Path) -> list[str]:
    conn = duckdb.connect(str(path))
    try:
        return migrate(conn)
    finally:
        conn.close()


def test_rollups_hold_one_row_per_minute_and_dimensions_per_batch(
    spans: list[ReadableSpan], tmp_path: Path
) -> None:
    store = tmp_path / "s.duckdb"
    ingest(store, [spans])
    conn = duckdb.connect(str(store), read_only=True)
    rows, groups = one(
        conn,
        "SELECT count(*), count(DISTINCT (minute, category, complexity, strategy, model, status,"
        " simulated, tagset)) FROM rollup_requests",
    )
    conn.close()
    assert rows == groups


def test_the_hourly_rollups_hold_one_row_per_hour_and_dimensions_per_batch(
    spans: list[ReadableSpan], tmp_path: Path
) -> None:
    store = tmp_path / "s.duckdb"
    ingest(store, [spans])
    conn = duckdb.connect(str(store), read_only=True)
    for table, dims in (
        ("rollup_requests_hourly", "category, complexity, strategy, model, status, simulated"),
        ("rollup_calls_hourly", "provider, model, category, status, error_type, simulated"),
        ("rollup_latency_hourly", "provider, model, category, bucket"),
    ):
        rows, groups = one(conn, f"SELECT count(*), count(DISTINCT (hour, {dims})) FROM {table}")
        assert rows == groups, table
    # they sum to the per-minute rollups
    assert one(
        conn,
        "SELECT (SELECT sum(requests) FROM rollup_requests_hourly),"
        " (SELECT sum(calls) FROM rollup_calls_hourly), (SELECT sum(n) FROM rollup_latency_hourly)",
    ) == one(
        conn,
        "SELECT (SELECT sum(requests) FROM rollup_requests),"
        " (SELECT sum(calls) FROM rollup_calls), (SELECT sum(n) FROM rollup_latency)",
    )
    conn.close()


def test_hours_behind_the_writer_are_compacted_to_one_row_per_group(
    spans: list[ReadableSpan], tmp_path: Path
) -> None:
    once, trickle = tmp_path / "once.duckdb", tmp_path / "trickle.duckdb"
    ingest(once, [spans])
    in_time_order = sorted(spans, key=lambda s: s.start_time or 0)
    ingest(trickle, [in_time_order[i : i + 7] for i in range(0, len(in_time_order), 7)])
    assert rollups(trickle) == rollups(once)
    conn = duckdb.connect(str(trickle), read_only=True)
    (upto,) = one(conn, "SELECT upto FROM rollup_hourly_compacted")
    hours, last_hour = one(
        conn, "SELECT count(DISTINCT hour), max(hour) FROM rollup_requests_hourly"
    )
    assert hours >= 3 and upto == last_hour  # every hour but the writer's current one
    for table, dims in (
        ("rollup_requests_hourly", "category, complexity, strategy, model, status, simulated"),
        ("rollup_calls_hourly", "provider, model, category, status, error_type, simulated"),
        ("rollup_latency_hourly", "provider, model, category, bucket"),
    ):
        rows, groups = one(
            conn,
            f"SELECT count(*), count(DISTINCT (hour, {dims})) FROM {table} WHERE hour < '{upto}'",
        )
        assert rows == groups > 0, table
    conn.close()


def test_call_spans_carry_their_requests_category_and_complexity(demo: Path) -> None:
    conn = duckdb.connect(str(demo), read_only=True)
    try:
        mismatched, router_calls = one(
            conn,
            "SELECT count(*) FILTER (WHERE c.category IS DISTINCT FROM d.category"
            " OR c.complexity IS DISTINCT FROM d.complexity), count(*)"
            " FROM spans c JOIN spans d ON d.name = 'mmoa.route' AND d.trace_id = c.trace_id"
            " WHERE c.operation IS NOT NULL",
        )
        assert mismatched == 0 and router_calls > REQUESTS
        # calls of another instrumentation have no category
        assert one(
            conn,
            "SELECT count(*), count(category) FROM spans"
            " WHERE operation IS NOT NULL AND request_model = 'acme-large'",
        ) == (3, 0)
    finally:
        conn.close()


def test_the_ragged_cases_read_whole_hours_and_edges(cases: dict[str, Filters]) -> None:
    for name in ("ragged", "category_window"):
        f = cases[name]
        assert f.since is not None and f.until is not None
        first_hour = f.since.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        assert first_hour + timedelta(hours=2) <= f.until, name
        assert f.since.second and f.until.second, name  # raw-span edges on both sides


def test_the_panels_read_the_same_through_a_collector(demo: Path, tmp_path: Path) -> None:
    from collector.server import Collector, ServerConfig

    store = tmp_path / "copy.duckdb"
    shutil.copy(demo, store)
    f = Filters(since=datetime(2000, 1, 1, 0, 0, 30), tags=("team=search", "it's"))
    direct = analytics.open_reader(store)
    expected = (
        dash.overview(direct, f),
        dash.models(direct, f),
        dash.spend_series(direct, f, "hour"),
        dash.recent_requests(direct, f, limit=3),
        dash.filter_options(direct),
    )
    direct.close()
    with Collector(ServerConfig(store=store, port=0)) as collector:
        reader = analytics.CollectorReader(collector.url)
        got = (
            dash.overview(reader, f),
            dash.models(reader, f),
            dash.spend_series(reader, f, "hour"),
            dash.recent_requests(reader, f, limit=3),
            dash.filter_options(reader),
        )
    assert got == expected and expected[0]["requests"] > 0
