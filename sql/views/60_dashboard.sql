-- The dashboard's queries (analytics/dashboard.py), one macro per panel.
-- Every macro takes the same filters: since_ts (inclusive) and until_ts (exclusive), NULL for
-- open ends; f_providers, f_models, f_categories, f_tags as VARCHAR[] lists, an empty list meaning all.
-- tags are 'key=value'; a request (or call) matches when it carries any of them.
-- A request's provider is the provider its chosen model was called at (dash_model_provider).
-- A call's category is the category of the request it belongs to.
-- The aggregate panels read dash_rf / dash_cf / dash_lf: hourly rollups where they can.

-- True when `value` passes a list filter (an empty list passes everything).
CREATE OR REPLACE MACRO dash_in(value, allowed) AS
    len(allowed) = 0 OR list_contains(allowed, value);

-- A sum of money that is NULL only when every summed row was unpriced (none is 0).
CREATE OR REPLACE MACRO dash_money(total, priced, n) AS
    CASE WHEN n > 0 AND priced = 0 THEN NULL ELSE coalesce(total, 0) END;

-- Which provider serves each model, as seen on its calls (the first by name if several).
CREATE OR REPLACE MACRO dash_model_provider() AS TABLE
SELECT model, min(provider) AS provider FROM rollup_model_providers GROUP BY model;

-- True when a rollup row's tag set carries any of `f_tags` (or no tags are asked for).
CREATE OR REPLACE MACRO dash_tags_ok(tagset, f_tags) AS
    len(f_tags) = 0
    OR tagset IN (SELECT t.tagset FROM rollup_tagsets t WHERE list_has_any(t.tags, f_tags));

-- The first whole minute at or after ts.
CREATE OR REPLACE MACRO dash_ceil_minute(ts) AS
    CASE WHEN date_trunc('minute', ts) = ts THEN ts ELSE date_trunc('minute', ts) + INTERVAL 1 MINUTE END;

-- A window [since, until) is read as whole minutes from the rollups, plus its ragged edges,
-- [since, the next whole minute) and [the last whole minute, until), from raw spans by the
-- same rollup macros; so any window is exact and at most two minutes of spans are scanned.
CREATE OR REPLACE MACRO dash_whole(minute, since_ts, until_ts) AS
    (since_ts IS NULL OR minute >= dash_ceil_minute(since_ts))
    AND (until_ts IS NULL OR minute < date_trunc('minute', until_ts));
CREATE OR REPLACE MACRO dash_edge1_hi(since_ts, until_ts) AS
    least(dash_ceil_minute(since_ts), coalesce(until_ts, 'infinity'::TIMESTAMP));
CREATE OR REPLACE MACRO dash_edge2_lo(since_ts, until_ts) AS
    greatest(date_trunc('minute', until_ts), coalesce(dash_ceil_minute(since_ts), '-infinity'::TIMESTAMP));

-- Per-minute request rollup rows in the window, passing the filters (a request's provider is
-- its chosen model's).
CREATE OR REPLACE MACRO dash_rf_min(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
WITH facts AS (
    SELECT * FROM rollup_requests WHERE dash_whole(minute, since_ts, until_ts)
    UNION ALL
    SELECT * FROM rollup_request_rows('spans', since_ts, dash_edge1_hi(since_ts, until_ts))
    UNION ALL
    SELECT * FROM rollup_request_rows('spans', dash_edge2_lo(since_ts, until_ts), until_ts)
)
SELECT * FROM facts
WHERE dash_in(category, f_categories) AND dash_in(model, f_models)
  AND (len(f_providers) = 0 OR model IN (
        SELECT p.model FROM dash_model_provider() p WHERE list_contains(f_providers, p.provider)))
  AND dash_tags_ok(tagset, f_tags);

-- Per-minute call rollup rows in the window, passing the filters (a call's category is its
-- request's; spans_categorized supplies it for calls stored before 006).
CREATE OR REPLACE MACRO dash_cf_min(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
WITH facts AS (
    SELECT * FROM rollup_calls WHERE dash_whole(minute, since_ts, until_ts)
    UNION ALL
    SELECT * FROM rollup_call_rows('spans_categorized', since_ts, dash_edge1_hi(since_ts, until_ts))
    UNION ALL
    SELECT * FROM rollup_call_rows('spans_categorized', dash_edge2_lo(since_ts, until_ts), until_ts)
)
SELECT * FROM facts
WHERE dash_in(provider, f_providers) AND dash_in(model, f_models)
  AND dash_in(category, f_categories) AND dash_tags_ok(tagset, f_tags);

-- Per-minute latency histogram rows in the window, passing the filters.
CREATE OR REPLACE MACRO dash_lf_min(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
WITH facts AS (
    SELECT * FROM rollup_latency WHERE dash_whole(minute, since_ts, until_ts)
    UNION ALL
    SELECT * FROM rollup_latency_rows('spans_categorized', since_ts, dash_edge1_hi(since_ts, until_ts))
    UNION ALL
    SELECT * FROM rollup_latency_rows('spans_categorized', dash_edge2_lo(since_ts, until_ts), until_ts)
)
SELECT * FROM facts
WHERE dash_in(provider, f_providers) AND dash_in(model, f_models)
  AND dash_in(category, f_categories) AND dash_tags_ok(tagset, f_tags);

-- Without a tag filter a window is read as whole hours from the hourly rollups, plus its ragged
-- edges, [since, the next whole hour) and [the last whole hour, until), from the per-minute
-- path above (itself whole minutes plus raw edge spans); with a tag filter, all of it from the
-- per-minute path (the hourly rollups have no tag set). The result has the hourly columns,
-- the time column named `minute` (an hour's start for hourly rows).
CREATE OR REPLACE MACRO dash_ceil_hour(ts) AS
    CASE WHEN date_trunc('hour', ts) = ts THEN ts ELSE date_trunc('hour', ts) + INTERVAL 1 HOUR END;
CREATE OR REPLACE MACRO dash_whole_hour(hour, since_ts, until_ts) AS
    (since_ts IS NULL OR hour >= dash_ceil_hour(since_ts))
    AND (until_ts IS NULL OR hour < date_trunc('hour', until_ts));
-- The end of the first per-minute part: the first whole hour (no tags), else the window's end.
CREATE OR REPLACE MACRO dash_part1_hi(since_ts, until_ts, f_tags) AS
    CASE WHEN len(f_tags) > 0 THEN until_ts
         ELSE least(dash_ceil_hour(since_ts), coalesce(until_ts, 'infinity'::TIMESTAMP)) END;
-- The start of the second per-minute part (no tags, bounded window end only).
CREATE OR REPLACE MACRO dash_part2_lo(since_ts, until_ts) AS
    greatest(date_trunc('hour', until_ts),
             coalesce(dash_ceil_hour(since_ts), '-infinity'::TIMESTAMP));
-- True when part 1 / part 2 is read at all (constants: the other branches are dropped).
CREATE OR REPLACE MACRO dash_part1(since_ts, f_tags) AS len(f_tags) > 0 OR since_ts IS NOT NULL;
CREATE OR REPLACE MACRO dash_part2(until_ts, f_tags) AS len(f_tags) = 0 AND until_ts IS NOT NULL;

CREATE OR REPLACE MACRO dash_rf(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
SELECT hour AS minute, * EXCLUDE (hour) FROM rollup_requests_hourly
WHERE len(f_tags) = 0 AND dash_whole_hour(hour, since_ts, until_ts)
  AND dash_in(category, f_categories) AND dash_in(model, f_models)
  AND (len(f_providers) = 0 OR model IN (
        SELECT p.model FROM dash_model_provider() p WHERE list_contains(f_providers, p.provider)))
UNION ALL
SELECT * EXCLUDE (tagset) FROM dash_rf_min(
    since_ts, dash_part1_hi(since_ts, until_ts, f_tags),
    f_providers, f_models, f_categories, f_tags)
WHERE dash_part1(since_ts, f_tags)
UNION ALL
SELECT * EXCLUDE (tagset) FROM dash_rf_min(
    dash_part2_lo(since_ts, until_ts), until_ts, f_providers, f_models, f_categories, f_tags)
WHERE dash_part2(until_ts, f_tags);

CREATE OR REPLACE MACRO dash_cf(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
SELECT hour AS minute, * EXCLUDE (hour) FROM rollup_calls_hourly
WHERE len(f_tags) = 0 AND dash_whole_hour(hour, since_ts, until_ts)
  AND dash_in(provider, f_providers) AND dash_in(model, f_models)
  AND dash_in(category, f_categories)
UNION ALL
SELECT * EXCLUDE (tagset) FROM dash_cf_min(
    since_ts, dash_part1_hi(since_ts, until_ts, f_tags),
    f_providers, f_models, f_categories, f_tags)
WHERE dash_part1(since_ts, f_tags)
UNION ALL
SELECT * EXCLUDE (tagset) FROM dash_cf_min(
    dash_part2_lo(since_ts, until_ts), until_ts, f_providers, f_models, f_categories, f_tags)
WHERE dash_part2(until_ts, f_tags);

CREATE OR REPLACE MACRO dash_lf(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
SELECT hour AS minute, * EXCLUDE (hour) FROM rollup_latency_hourly
WHERE len(f_tags) = 0 AND dash_whole_hour(hour, since_ts, until_ts)
  AND dash_in(provider, f_providers) AND dash_in(model, f_models)
  AND dash_in(category, f_categories)
UNION ALL
SELECT * EXCLUDE (tagset) FROM dash_lf_min(
    since_ts, dash_part1_hi(since_ts, until_ts, f_tags),
    f_providers, f_models, f_categories, f_tags)
WHERE dash_part1(since_ts, f_tags)
UNION ALL
SELECT * EXCLUDE (tagset) FROM dash_lf_min(
    dash_part2_lo(since_ts, until_ts), until_ts, f_providers, f_models, f_categories, f_tags)
WHERE dash_part2(until_ts, f_tags);

-- Percentile q of a latency histogram, as the middle of the 2%-wide bucket holding the value
-- quantile_disc would return: within one bucket (about 1%) of the exact figure.
CREATE OR REPLACE MACRO dash_bucket_ms(bucket) AS round(pow(1.02, bucket + 0.5), 3);

-- What the filters can choose from, and the time span and provenance of the store.
CREATE OR REPLACE MACRO dash_filter_options() AS TABLE
WITH d AS (SELECT kind, list(value ORDER BY value) AS vals FROM rollup_dims GROUP BY kind)
SELECT
    coalesce((SELECT vals FROM d WHERE kind = 'provider'), [])        AS providers,
    coalesce((SELECT vals FROM d WHERE kind = 'model'), [])           AS models,
    coalesce((SELECT vals FROM d WHERE kind = 'category'), [])        AS categories,
    (SELECT coalesce(list(DISTINCT t ORDER BY t), []) FROM (
        SELECT unnest(tags) AS t FROM rollup_tagsets))                AS tags,
    (SELECT min(start_time) FROM spans)                               AS first_ts,
    (SELECT max(start_time) FROM spans)                               AS last_ts,
    coalesce(list_contains((SELECT vals FROM d WHERE kind = 'simulated'), 'true'), false)
                                                                      AS simulated;

-- Headline figures. Money sums priced requests; saving and saving_pct only requests priced on
-- both sides; unpriced_calls counts successful calls that could not be priced.
CREATE OR REPLACE MACRO dash_overview(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
WITH r AS (
    SELECT
        coalesce(sum(requests), 0)::BIGINT                              AS requests,
        dash_money(sum(cost_usd), sum(cost_priced), sum(requests))      AS cost_usd,
        dash_money(sum(baseline_cost_usd), sum(baseline_priced), sum(requests)) AS baseline_cost_usd,
        coalesce(sum(saving_usd), 0)                                    AS saving_usd,
        sum(saving_base_usd)                                            AS saving_base,
        bool_or(simulated)                                              AS simulated
    FROM dash_rf(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
), c AS (
    SELECT
        coalesce(sum(calls), 0)::BIGINT                                 AS calls,
        coalesce(sum(input_tokens), 0)::BIGINT                          AS input_tokens,
        coalesce(sum(output_tokens), 0)::BIGINT                         AS output_tokens,
        coalesce(sum(errors), 0)::BIGINT                                AS errors,
        coalesce(sum(unpriced_calls), 0)::BIGINT                        AS unpriced_calls,
        bool_or(simulated)                                              AS simulated
    FROM dash_cf(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
)
SELECT
    r.requests, c.calls, r.cost_usd, r.baseline_cost_usd, r.saving_usd,
    round(100 * r.saving_usd / nullif(r.saving_base, 0), 2)::DOUBLE     AS saving_pct,
    c.input_tokens, c.output_tokens, c.errors,
    round(c.errors / nullif(c.calls, 0), 6)::DOUBLE                     AS error_rate,
    c.unpriced_calls,
    coalesce(r.simulated, false) OR coalesce(c.simulated, false)        AS simulated
FROM r, c;

-- Requests and spend per time bucket (minute | hour | day: analytics.dashboard resolves 'auto'
-- by the window's width, with dash_extent for open ends). Per-minute buckets read the per-minute rollups.
CREATE OR REPLACE MACRO dash_spend_series(
    since_ts, until_ts, f_providers, f_models, f_categories, f_tags, bucket
) AS TABLE
WITH r AS (
    SELECT * FROM dash_rf(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
    WHERE bucket <> 'minute'
    UNION ALL
    SELECT * EXCLUDE (tagset)
    FROM dash_rf_min(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
    WHERE bucket = 'minute'
)
SELECT
    date_trunc(bucket, minute)                                          AS ts,
    sum(requests)::BIGINT                                               AS requests,
    dash_money(sum(cost_usd), sum(cost_priced), sum(requests))          AS cost_usd,
    dash_money(sum(baseline_cost_usd), sum(baseline_priced), sum(requests)) AS baseline_cost_usd
FROM r
GROUP BY 1
ORDER BY 1;

-- The first and last minute (or hour, for hourly rows) with a request passing the filters.
CREATE OR REPLACE MACRO dash_extent(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
SELECT min(minute) AS first, max(minute) AS last
FROM dash_rf(since_ts, until_ts, f_providers, f_models, f_categories, f_tags);

-- The same, exact to the minute (for a window of at most an hour or two).
CREATE OR REPLACE MACRO dash_extent_min(
    since_ts, until_ts, f_providers, f_models, f_categories, f_tags
) AS TABLE
SELECT min(minute) AS first, max(minute) AS last
FROM dash_rf_min(since_ts, until_ts, f_providers, f_models, f_categories, f_tags);

-- Per model: calls, spend, token mix, latency percentiles (dash_bucket_ms), error and retry
-- rates, and the requests it answered (requests, routed_cost_usd, routed_priced) for the
-- cost per request.
CREATE OR REPLACE MACRO dash_models(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
WITH per_model AS (
    SELECT
        provider, model,
        sum(calls)::BIGINT                                              AS calls,
        dash_money(sum(cost_usd), sum(cost_priced), sum(calls))         AS cost_usd,
        sum(input_tokens)::BIGINT                                       AS input_tokens,
        sum(cached_input_tokens)::BIGINT                                AS cached_input_tokens,
        sum(cache_write_tokens)::BIGINT                                 AS cache_write_tokens,
        sum(reasoning_tokens)::BIGINT                                   AS reasoning_tokens,
        sum(output_tokens)::BIGINT                                      AS output_tokens,
        round(sum(errors) / sum(calls), 6)::DOUBLE                      AS error_rate,
        round(sum(retries) / sum(calls), 6)::DOUBLE                     AS retry_rate
    FROM dash_cf(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
    GROUP BY provider, model
), hist AS (
    SELECT provider, model, bucket, sum(n) AS n
    FROM dash_lf(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
    GROUP BY ALL
), cumulative AS (
    SELECT *, sum(n) OVER (PARTITION BY provider, model ORDER BY bucket) AS upto,
              sum(n) OVER (PARTITION BY provider, model) AS total
    FROM hist
), latency AS (
    -- quantile_disc's pick: the ceil(q * n)-th smallest value
    SELECT provider, model,
        dash_bucket_ms(min(bucket) FILTER (WHERE upto >= ceil(0.50 * total))) AS p50_ms,
        dash_bucket_ms(min(bucket) FILTER (WHERE upto >= ceil(0.95 * total))) AS p95_ms,
        dash_bucket_ms(min(bucket) FILTER (WHERE upto >= ceil(0.99 * total))) AS p99_ms
    FROM cumulative
    GROUP BY provider, model
), routed AS (
    SELECT model, sum(requests)::BIGINT AS requests, sum(cost_usd) AS routed_cost_usd,
           sum(cost_priced)::BIGINT AS routed_priced
    FROM dash_rf(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
    GROUP BY model
)
SELECT
    p.provider, p.model, p.calls, p.cost_usd, p.input_tokens, p.cached_input_tokens,
    p.cache_write_tokens, p.reasoning_tokens, p.output_tokens,
    l.p50_ms, l.p95_ms, l.p99_ms, p.error_rate, p.retry_rate,
    coalesce(r.requests, 0) AS requests, r.routed_cost_usd,
    coalesce(r.routed_priced, 0) AS routed_priced
FROM per_model p
LEFT JOIN latency l ON l.provider IS NOT DISTINCT FROM p.provider
                   AND l.model IS NOT DISTINCT FROM p.model
LEFT JOIN routed r ON r.model = p.model
ORDER BY p.cost_usd DESC NULLS LAST, p.calls DESC, p.provider, p.model;

-- Successful calls that could not be priced, per model.
CREATE OR REPLACE MACRO dash_unpriced(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
SELECT provider, model, sum(unpriced_calls)::BIGINT AS calls
FROM dash_cf(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
GROUP BY provider, model
HAVING sum(unpriced_calls) > 0
ORDER BY calls DESC, provider, model;

-- Requests and spend per category and complexity.
CREATE OR REPLACE MACRO dash_category_mix(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
SELECT category, complexity, sum(requests)::BIGINT AS requests,
       dash_money(sum(cost_usd), sum(cost_priced), sum(requests)) AS cost_usd
FROM dash_rf(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
GROUP BY category, complexity
ORDER BY requests DESC, category, complexity;

-- Category -> chosen model (a Sankey); a request that found no model flows to '(failed)'.
CREATE OR REPLACE MACRO dash_flows(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
SELECT category, coalesce(nullif(model, ''), '(failed)') AS model,
       sum(requests)::BIGINT AS requests
FROM dash_rf(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
GROUP BY ALL
ORDER BY requests DESC, category, model;

-- Per routing strategy: escalations, attempts, ensemble agreement, cache hits, cost vs baseline.
CREATE OR REPLACE MACRO dash_strategies(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
SELECT
    strategy,
    sum(requests)::BIGINT                                               AS requests,
    round(sum(escalated) / sum(requests), 6)::DOUBLE                    AS escalation_rate,
    round(sum(attempts) / nullif(sum(attempts_n), 0), 6)::DOUBLE        AS attempts_per_request,
    round(sum(agreement_sum) / nullif(sum(agreement_n), 0), 6)::DOUBLE  AS agreement,
    round(sum(cache_hits) / sum(requests), 6)::DOUBLE                   AS cache_hit_rate,
    dash_money(sum(cost_usd), sum(cost_priced), sum(requests))          AS cost_usd,
    dash_money(sum(baseline_cost_usd), sum(baseline_priced), sum(requests)) AS baseline_cost_usd,
    round(100 * sum(saving_usd) / nullif(sum(saving_base_usd), 0), 2)::DOUBLE AS saving_pct
FROM dash_rf(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
GROUP BY strategy
ORDER BY requests DESC, strategy;

-- The latest requests passing the filters, from raw decision spans (drill-down). `from_ts`
-- narrows the scan: analytics.dashboard finds it in the rollups (the minute from which on at
-- least n requests pass the filters), so only the last minutes of spans are read.
CREATE OR REPLACE MACRO dash_recent_requests(
    since_ts, until_ts, f_providers, f_models, f_categories, f_tags, n, from_ts
) AS TABLE
SELECT request_id, start_time AS ts, category, route_model AS model, strategy,
       route_status AS status, cost_usd, baseline_cost_usd
FROM spans
WHERE name = 'mmoa.route'
  AND (from_ts IS NULL OR start_time >= from_ts)
  AND (since_ts IS NULL OR start_time >= since_ts)
  AND (until_ts IS NULL OR start_time < until_ts)
  AND dash_in(category, f_categories) AND dash_in(route_model, f_models)
  AND (len(f_providers) = 0 OR route_model IN (
        SELECT p.model FROM dash_model_provider() p WHERE list_contains(f_providers, p.provider)))
  AND (len(f_tags) = 0 OR list_has_any(rollup_tag_list(tags), f_tags))
ORDER BY start_time DESC, request_id
LIMIT n;

-- The minute from which on the newest `n` requests passing the filters lie.
CREATE OR REPLACE MACRO dash_recent_from(
    since_ts, until_ts, f_providers, f_models, f_categories, f_tags, n
) AS TABLE
WITH per_minute AS (
    SELECT minute, sum(requests) AS requests
    FROM dash_rf(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
    GROUP BY minute
), newest_first AS (
    SELECT minute, sum(requests) OVER (ORDER BY minute DESC) AS upto FROM per_minute
)
SELECT max(minute) FILTER (WHERE upto >= n) AS from_ts  -- NULL: fewer than n in all
FROM newest_first;

-- Every span of one request, timed from the decision's start.
CREATE OR REPLACE MACRO dash_trace(rid) AS TABLE
WITH s AS (SELECT * FROM spans WHERE request_id = rid),
t0 AS (
    SELECT coalesce(min(start_time) FILTER (WHERE name = 'mmoa.route'), min(start_time)) AS t0
    FROM s
)
SELECT
    span_id, parent_span_id, name,
    date_diff('microsecond', (SELECT t0 FROM t0), start_time) / 1000.0 AS offset_ms,
    duration_ms,
    coalesce(request_model, nullif(route_model, ''))                   AS model,
    provider,
    CASE WHEN name = 'mmoa.route' THEN route_status
         WHEN status_code = 'ERROR' OR error_type IS NOT NULL THEN 'error'
         ELSE 'ok' END                                                 AS status,
    error_type,
    CASE WHEN operation IS NOT NULL THEN coalesce(attempt_role, 'answer') END AS attempt_role,
    input_tokens, output_tokens, cost_usd, baseline_cost_usd
FROM s
ORDER BY start_time, name <> 'mmoa.route', span_id;
