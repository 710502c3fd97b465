"""A big realistic store, fast: `build(path, spans=10_000_000, days=30, seed=0) -> Path`.

Rows go straight into `spans` with SQL (generate_series, hashes for randomness), shaped like
the demo's: one `mmoa.route` decision span per request and its provider call spans (a model
mix by category, tokens, exact DECIMAL costs summing to the decision's cost, a Sonnet
baseline, log-normal latencies, ~2% failed calls retried, fallback/verify/ensemble strategies,
team/feature/user tags, simulated = true; call spans carry their request's category and
complexity, as the router's do). Then the rollups, with the macros the writer runs
(collector.exporter.rollup_statements: per-minute, then hourly). A finished store is cached at
`path` and reused (it is built under a temporary name and renamed, so a half-built file is
never reused).
"""

from __future__ import annotations

import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_DIR = Path(os.environ.get("MMOA_BENCH_DIR", "/tmp/mmoa-bench"))
VERSION = 3  # bump when the generated shape changes, so cached stores are rebuilt

# (category, weight %, its usual model, complexity weights basic/intermediate/advanced/expert)
CATEGORIES = (
    ("simple_quick", 28, "llama-3.1-8b-instant"),
    ("general_development", 16, "gpt-5-nano"),
    ("analysis_research", 14, "gpt-5-nano"),
    ("coding_implementation", 12, "gpt-5-mini"),
    ("creative_content", 12, "gpt-4o-mini"),
    ("complex_reasoning", 10, "gemini-2.5-pro"),
    ("specialized", 8, "gemini-2.5-pro"),
)
# models a request may be downgraded/escalated to (10% of traffic), and fallbacks
OTHERS = (
    "gpt-5-nano",
    "gpt-4o-mini",
    "gemini-2.0-flash-lite",
    "gemini-2.5-flash",
    "claude-haiku-4-5",
    "gpt-5",
    "claude-sonnet-4-6",
)
TEAMS = ("search", "platform", "data", "growth", "support")
FEATURES_PER_TEAM = 4
USERS = 400
BASELINE = "claude-sonnet-4-6"
MEMORY_LIMIT = os.environ.get("MMOA_BENCH_MEMORY", "4GB")
SPANS_PER_REQUEST = 2.048  # 1 decision + ~1.05 calls


def default_path(spans: int, days: int, seed: int) -> Path:
    return DEFAULT_DIR / f"bigstore-v{VERSION}-{spans}-{days}d-{seed}.duckdb"


def build(
    path: str | Path | None = None, spans: int = 10_000_000, days: int = 30, seed: int = 0
) -> Path:
    """The store at `path` (default: under $MMOA_BENCH_DIR), built unless already there."""
    from collector.store import open_writer

    target = Path(path) if path is not None else default_path(spans, days, seed)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".building")
        for stale in (partial, partial.with_name(partial.name + ".wal")):
            stale.unlink(missing_ok=True)
        _generate(partial, spans, days, seed)
        partial.rename(target)
    open_writer(target).close()  # apply migrations and views added since it was built
    return target


def _models_sql() -> str:
    """VALUES rows (model, provider, USD per input/cached/output token) from the catalog."""
    from catalog import load_catalog

    wanted = {m for _, _, m in CATEGORIES} | set(OTHERS) | {BASELINE}
    rows = []
    for m in load_catalog():
        if m.name in wanted and m.price is not None:
            p = m.price
            cached = p.cache_read.base if p.cache_read else p.input.base
            per = [x / Decimal(1_000_000) for x in (p.input.base, cached, p.output.base)]
            prices = ", ".join(f"{x}::DECIMAL(24, 12)" for x in per)
            rows.append(f"('{m.name}', '{m.otel_provider}', {prices})")
    return ",\n".join(rows)


def _generate(path: Path, spans: int, days: int, seed: int) -> None:
    from catalog import load_catalog
    from collector.exporter import rollup_statements
    from collector.store import open_writer, write_catalog

    conn = open_writer(path)
    write_catalog(conn, load_catalog())
    requests = max(1, round(spans / SPANS_PER_REQUEST))
    end = int(time.time()) // 60 * 60
    conn.execute(f"SET threads = {os.cpu_count() or 2}")
    conn.execute("SET enable_progress_bar = false")
    # the machine is shared: spill to disk rather than take most of its memory
    conn.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    conn.execute(
        "CREATE TEMP TABLE price (model VARCHAR, provider VARCHAR, p_in DECIMAL(24, 12),"
        " p_cached DECIMAL(24, 12), p_out DECIMAL(24, 12))"
    )
    conn.execute(f"INSERT INTO price VALUES {_models_sql()}")
    cats = " ".join(
        f"WHEN u_cat < {sum(w for _, w, _ in CATEGORIES[: i + 1]) / 100} THEN '{c}'"
        for i, (c, _, _) in enumerate(CATEGORIES)
    )
    usual = " ".join(f"WHEN '{c}' THEN '{m}'" for c, _, m in CATEGORIES)
    others = "[" + ", ".join(f"'{m}'" for m in OTHERS) + "]"
    teams = "[" + ", ".join(f"'{t}'" for t in TEAMS) + "]"
    conn.execute(
        _REQUESTS.format(
            n=requests,
            seed=seed,
            end=end,
            days=days,
            cats=cats,
            usual=usual,
            others=others,
            teams=teams,
            features=FEATURES_PER_TEAM,
            users=USERS,
            others_n=len(OTHERS),
        )
    )
    conn.execute(_CALLS.format(seed=seed))
    conn.execute(_INSERT.format(baseline=BASELINE))
    conn.execute("DROP TABLE req; DROP TABLE att")
    for sql in rollup_statements("spans"):
        conn.execute(sql)
    conn.execute("CHECKPOINT")
    conn.close()


# One row per request: when, what, which model, which strategy, how many attempts, tags.
# u(k) is a uniform draw in [0, 1) from a hash of the request number and a salt.
_REQUESTS = """
CREATE TEMP MACRO u(r, k) AS (hash(r, k, {seed}) % 1000003) / 1000003.0;
CREATE TEMP TABLE req AS
WITH base AS (
    SELECT
        r,
        make_timestamp(({end}::BIGINT - {days} * 86400) * 1000000
            + (r * ({days}::BIGINT * 86400 * 1000000 // {n})) + (u(r, 1) * 1000000)::BIGINT) AS ts,
        u(r, 2) AS u_cat, u(r, 3) AS u_cx, u(r, 4) AS u_strat, u(r, 5) AS u_model,
        u(r, 6) AS u_team, u(r, 7) AS u_feat, u(r, 8) AS u_user, u(r, 9) AS u_cache
    FROM range({n}) t(r)
)
SELECT
    r, ts,
    md5(r::VARCHAR || '-{seed}')                                         AS trace_id,
    substr(md5(r::VARCHAR || 'd{seed}'), 1, 16)                          AS request_id,
    CASE {cats} ELSE 'specialized' END                                   AS category,
    CASE WHEN u_cx < 0.35 THEN 'basic' WHEN u_cx < 0.75 THEN 'intermediate'
         WHEN u_cx < 0.95 THEN 'advanced' ELSE 'expert' END              AS complexity,
    CASE WHEN u_strat < 0.92 THEN 'cheapest' WHEN u_strat < 0.96 THEN 'fallback'
         WHEN u_strat < 0.98 THEN 'verify' ELSE 'ensemble' END           AS strategy,
    u_cache < 0.03                                                       AS cache_hit,
    {teams}[1 + (u_team * 5)::INT % 5]                                   AS team,
    u_feat, u_user, u_model
FROM base;
ALTER TABLE req ADD COLUMN model VARCHAR;
UPDATE req SET model = CASE WHEN u_model < 0.9 THEN (CASE category {usual} END)
                            ELSE {others}[1 + (u_model * 70)::INT % {others_n}] END;
ALTER TABLE req ADD COLUMN tags MAP(VARCHAR, VARCHAR);
UPDATE req SET tags = MAP {{
    'team': team,
    'feature': team || '-f' || (1 + (u_feat * {features})::INT % {features})::VARCHAR,
    'user': 'u' || lpad((1 + floor({users} * pow(u_user, 3)))::INT::VARCHAR, 4, '0')}};
"""

# One row per provider call: cache hits make none; a failed first call (2%) is retried;
# verify adds a verifier call, ensemble three members.
_CALLS = """
CREATE TEMP MACRO v(r, k, s) AS (hash(r, k, s, {seed}) % 1000003) / 1000003.0;
CREATE TEMP TABLE att AS
WITH plan AS (
    SELECT r, k, model, strategy,
           CASE WHEN k = 0 AND v(r, k, 1) < 0.02 AND strategy <> 'ensemble' THEN
               ['429', '500', '503', 'timeout'][1 + (v(r, k, 2) * 4)::INT % 4] END AS error_type
    FROM req, LATERAL unnest(range(CASE WHEN cache_hit THEN 0
                                        WHEN strategy = 'ensemble' THEN 3
                                        WHEN strategy = 'verify' THEN 2 ELSE 1 END
                                   + CASE WHEN v(r, 0, 1) < 0.02 AND strategy <> 'ensemble'
                                          THEN 1 ELSE 0 END)) t(k)
), shaped AS (
    SELECT p.*,
        CASE WHEN p.strategy = 'ensemble'
                 THEN ['gpt-5-nano', 'gpt-4o-mini', 'gemini-2.5-flash'][k + 1]
             WHEN p.strategy = 'verify' AND k = (CASE WHEN error_first THEN 2 ELSE 1 END)
                 THEN 'gpt-5-mini'
             ELSE p.model END                                            AS call_model,
        (20 + 4000 * pow(v(r, k, 3), 2))::BIGINT                         AS input_tokens,
        (30 + 1500 * pow(v(r, k, 4), 2))::BIGINT                         AS output_tokens,
        v(r, k, 5) AS u_cached, v(r, k, 6) AS u_lat
    FROM (SELECT *, bool_or(error_type IS NOT NULL) OVER (PARTITION BY r) AS error_first
          FROM plan) p
)
SELECT s.*, pr.provider,
    CASE WHEN u_cached < 0.3 THEN (input_tokens * u_cached)::BIGINT ELSE 0 END AS cached_tokens,
    CASE WHEN s.call_model LIKE 'gpt-5%' THEN (output_tokens * 0.4)::BIGINT ELSE 0 END
                                                                         AS reasoning_tokens,
    CASE WHEN error_type = 'timeout' THEN 30000.0
         ELSE round(exp(ln(300 + output_tokens * 8) + 0.5 * (u_lat - 0.5) * 2), 3) END
                                                                         AS latency_ms,
    pr.p_in, pr.p_cached, pr.p_out
FROM shaped s JOIN price pr ON pr.model = s.call_model;
ALTER TABLE att ADD COLUMN cost DECIMAL(18, 10);
UPDATE att SET cost = CASE WHEN error_type IS NOT NULL THEN 0 ELSE
    ((input_tokens - cached_tokens) * p_in + cached_tokens * p_cached
     + output_tokens * p_out)::DECIMAL(18, 10) END;
"""

_INSERT = """
INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, start_time, end_time,
    duration_ms, status_code, status_message, request_id, operation, provider, request_model,
    response_model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
    reasoning_tokens, error_type, cost_usd, category, complexity, strategy, route_model,
    attempts, route_status, baseline_model, baseline_cost_usd, cache_hit, simulated, source,
    tags, escalations, agreement, attempt_role)
WITH timed AS (
    SELECT a.*, q.ts, q.trace_id, q.request_id, q.tags, q.category, q.complexity,
        q.ts + to_microseconds(coalesce(sum((a.latency_ms * 1000)::BIGINT) OVER (
            PARTITION BY a.r ORDER BY a.k ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
            0)::BIGINT)
                                                                         AS start_time
    FROM att a JOIN req q USING (r)
), per_req AS (
    SELECT r, count(*) AS attempts, sum(cost) AS cost, sum(latency_ms) AS latency_ms,
           arg_max(input_tokens, k) AS last_in, arg_max(output_tokens, k) AS last_out,
           count(*) FILTER (WHERE error_type IS NOT NULL) AS failed
    FROM att GROUP BY r
), base_price AS (SELECT p_in, p_out FROM price WHERE model = '{baseline}')
SELECT * FROM (
    SELECT trace_id, substr(md5(r::VARCHAR || 'c' || k::VARCHAR || trace_id), 1, 16),
        request_id, 'chat ' || call_model, 'CLIENT', start_time,
        start_time + to_microseconds((latency_ms * 1000)::BIGINT), latency_ms,
        CASE WHEN error_type IS NULL THEN 'UNSET' ELSE 'ERROR' END,
        CASE WHEN error_type IS NOT NULL THEN call_model || ' failed: ' || error_type END,
        request_id, 'chat', provider, call_model,
        CASE WHEN error_type IS NULL THEN call_model END,
        CASE WHEN error_type IS NULL THEN input_tokens END,
        CASE WHEN error_type IS NULL THEN output_tokens END,
        CASE WHEN error_type IS NULL THEN cached_tokens END,
        CASE WHEN error_type IS NULL THEN 0 END,
        CASE WHEN error_type IS NULL THEN reasoning_tokens END,
        error_type, cost, category, complexity, NULL, NULL, NULL, NULL, NULL, NULL, NULL, true,
        'mmoa',
        tags, NULL, NULL,
        CASE WHEN strategy = 'verify' AND call_model = 'gpt-5-mini' AND model <> 'gpt-5-mini'
             THEN 'verifier' END
    FROM timed
    UNION ALL
    SELECT q.trace_id, q.request_id, NULL, 'mmoa.route', 'INTERNAL', q.ts,
        q.ts + to_microseconds((coalesce(p.latency_ms, 1) * 1000)::BIGINT),
        coalesce(p.latency_ms, 1), 'UNSET', NULL, q.request_id, NULL, NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL, NULL, coalesce(p.cost, 0), q.category, q.complexity,
        q.strategy, q.model, coalesce(p.attempts, 0), 'ok', '{baseline}',
        (coalesce(p.last_in, 400) * b.p_in + coalesce(p.last_out, 300) * b.p_out)
            ::DECIMAL(18, 10),
        q.cache_hit, true, 'mmoa', q.tags,
        CASE WHEN q.strategy IN ('fallback', 'verify') THEN coalesce(p.failed, 0) ELSE 0 END,
        CASE WHEN q.strategy = 'ensemble' THEN 0.5 + (hash(q.r) % 50) / 100.0 END, NULL
    FROM req q LEFT JOIN per_req p USING (r), base_price b
)
ORDER BY 6;
"""
