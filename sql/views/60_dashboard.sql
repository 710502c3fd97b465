-- The dashboard's queries (analytics/dashboard.py), one macro per panel.
-- Every macro takes the same filters: since_ts (inclusive) and until_ts (exclusive), NULL for
-- open ends; f_providers, f_models, f_categories, f_tags as VARCHAR[] lists, an empty list meaning all.
-- tags are 'key=value'; a request (or call) matches when it carries any of them.
-- A request's provider is the provider its chosen model was called at (dash_model_provider).
-- A call's category is the category of the request it belongs to.

-- 'key=value' strings of a tag map, sorted: how tags are filtered and listed.
CREATE OR REPLACE MACRO dash_tag_list(tag_map) AS
    list_sort(list_transform(map_entries(tag_map), lambda e: e.key || '=' || e.value));

-- True when `value` passes a list filter (an empty list passes everything).
CREATE OR REPLACE MACRO dash_in(value, allowed) AS
    len(allowed) = 0 OR list_contains(allowed, value);

-- Which provider serves each model, as seen on its calls.
CREATE OR REPLACE MACRO dash_model_provider() AS TABLE
SELECT model, min(provider) AS provider FROM calls WHERE model IS NOT NULL GROUP BY model;

-- Requests passing the filters, with their provider and sorted tag list.
CREATE OR REPLACE MACRO dash_requests(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
SELECT r.*, mp.provider AS route_provider, dash_tag_list(r.tags) AS tag_list
FROM requests r
LEFT JOIN dash_model_provider() mp ON mp.model = r.model
WHERE (since_ts IS NULL OR r.ts >= since_ts)
  AND (until_ts IS NULL OR r.ts < until_ts)
  AND dash_in(mp.provider, f_providers)
  AND dash_in(r.model, f_models)
  AND dash_in(r.category, f_categories)
  AND (len(f_tags) = 0 OR list_has_any(dash_tag_list(r.tags), f_tags));

-- Calls passing the filters.
CREATE OR REPLACE MACRO dash_calls(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
SELECT c.*
FROM calls c
WHERE (since_ts IS NULL OR c.ts >= since_ts)
  AND (until_ts IS NULL OR c.ts < until_ts)
  AND dash_in(c.provider, f_providers)
  AND dash_in(c.model, f_models)
  AND (len(f_tags) = 0 OR list_has_any(dash_tag_list(c.tags), f_tags))
  AND (len(f_categories) = 0 OR c.request_id IN (
        SELECT request_id FROM spans
        WHERE name = 'mmoa.route' AND list_contains(f_categories, category)));

-- A sum of money that is NULL only when every summed row was unpriced (none is 0).
CREATE OR REPLACE MACRO dash_money(total, priced, n) AS
    CASE WHEN n > 0 AND priced = 0 THEN NULL ELSE coalesce(total, 0) END;

-- A failed call the router retries or moves on from: rate limits, timeouts, 408 and 5xx,
-- connection failures; not the 4xx errors retrying cannot fix.
CREATE OR REPLACE MACRO dash_retryable(status, error_type) AS
    status = 'error'
    AND NOT (regexp_full_match(coalesce(error_type, ''), '4[0-9][0-9]')
             AND error_type NOT IN ('408', '429'));

-- The time bucket of the spend series: as asked, or (auto) by the width of the window.
CREATE OR REPLACE MACRO dash_bucket(bucket, lo, hi) AS
    CASE WHEN bucket <> 'auto' THEN bucket
         WHEN hi - lo <= INTERVAL 3 HOUR THEN 'minute'
         WHEN hi - lo <= INTERVAL 4 DAY THEN 'hour'
         ELSE 'day' END;

-- What the filters can choose from, and the time span and provenance of the store.
CREATE OR REPLACE MACRO dash_filter_options() AS TABLE
SELECT
    (SELECT coalesce(list(DISTINCT provider ORDER BY provider), [])
       FROM calls WHERE provider IS NOT NULL)                          AS providers,
    (SELECT coalesce(list(DISTINCT m ORDER BY m), []) FROM (
        SELECT model AS m FROM calls UNION SELECT model FROM requests) WHERE m IS NOT NULL AND m <> '')
                                                                       AS models,
    (SELECT coalesce(list(DISTINCT category ORDER BY category), [])
       FROM requests WHERE category IS NOT NULL)                       AS categories,
    (SELECT coalesce(list(DISTINCT t ORDER BY t), []) FROM (
        SELECT unnest(dash_tag_list(tags)) AS t FROM spans
        WHERE name = 'mmoa.route' OR operation IS NOT NULL))           AS tags,
    (SELECT min(start_time) FROM spans)                                AS first_ts,
    (SELECT max(start_time) FROM spans)                                AS last_ts,
    (SELECT coalesce(bool_or(simulated), false) FROM spans)            AS simulated;

-- Headline figures. Money sums priced requests; saving and saving_pct only requests priced on
-- both sides; unpriced_calls counts successful calls that could not be priced.
CREATE OR REPLACE MACRO dash_overview(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
WITH r AS (
    SELECT
        count(*)                                                        AS requests,
        dash_money(sum(cost_usd), count(cost_usd), count(*))            AS cost_usd,
        dash_money(sum(baseline_cost_usd), count(baseline_cost_usd), count(*)) AS baseline_cost_usd,
        coalesce(sum(saving_usd), 0)                                    AS saving_usd,
        sum(baseline_cost_usd) FILTER (WHERE saving_usd IS NOT NULL)    AS saving_base,
        bool_or(simulated)                                              AS simulated
    FROM dash_requests(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
), c AS (
    SELECT
        count(*)                                                        AS calls,
        coalesce(sum(input_tokens), 0)::BIGINT                          AS input_tokens,
        coalesce(sum(output_tokens), 0)::BIGINT                         AS output_tokens,
        count(*) FILTER (WHERE status = 'error')                        AS errors,
        count(*) FILTER (WHERE status = 'ok' AND cost_usd IS NULL)      AS unpriced_calls,
        bool_or(simulated)                                              AS simulated
    FROM dash_calls(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
)
SELECT
    r.requests, c.calls, r.cost_usd, r.baseline_cost_usd, r.saving_usd,
    round(100 * r.saving_usd / nullif(r.saving_base, 0), 2)::DOUBLE     AS saving_pct,
    c.input_tokens, c.output_tokens, c.errors,
    round(c.errors / nullif(c.calls, 0), 6)::DOUBLE                     AS error_rate,
    c.unpriced_calls,
    coalesce(r.simulated, false) OR coalesce(c.simulated, false)        AS simulated
FROM r, c;

-- Requests and spend per time bucket (minute | hour | day | auto).
CREATE OR REPLACE MACRO dash_spend_series(
    since_ts, until_ts, f_providers, f_models, f_categories, f_tags, bucket
) AS TABLE
WITH r AS (SELECT * FROM dash_requests(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)),
part AS (
    SELECT dash_bucket(bucket, coalesce(since_ts, min(ts)), coalesce(until_ts, max(ts))) AS p
    FROM r
)
SELECT
    date_trunc((SELECT p FROM part), ts)                               AS ts,
    count(*)                                                            AS requests,
    dash_money(sum(cost_usd), count(cost_usd), count(*))                AS cost_usd,
    dash_money(sum(baseline_cost_usd), count(baseline_cost_usd), count(*)) AS baseline_cost_usd
FROM r
GROUP BY 1
ORDER BY 1;

-- Per model: calls, spend, token mix, exact latency percentiles, error and retry rates, and
-- the requests it answered (requests, routed_cost_usd, routed_priced) for cost per request.
CREATE OR REPLACE MACRO dash_models(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
WITH per_model AS (
    SELECT
        provider, model,
        count(*)                                                        AS calls,
        dash_money(sum(cost_usd), count(cost_usd), count(*))            AS cost_usd,
        coalesce(sum(input_tokens), 0)::BIGINT                          AS input_tokens,
        coalesce(sum(cached_input_tokens), 0)::BIGINT                   AS cached_input_tokens,
        coalesce(sum(cache_write_tokens), 0)::BIGINT                    AS cache_write_tokens,
        coalesce(sum(reasoning_tokens), 0)::BIGINT                      AS reasoning_tokens,
        coalesce(sum(output_tokens), 0)::BIGINT                         AS output_tokens,
        quantile_disc(latency_ms, 0.5)                                  AS p50_ms,
        quantile_disc(latency_ms, 0.95)                                 AS p95_ms,
        quantile_disc(latency_ms, 0.99)                                 AS p99_ms,
        round(count(*) FILTER (WHERE status = 'error') / count(*), 6)::DOUBLE AS error_rate,
        round(count(*) FILTER (WHERE dash_retryable(status, error_type)) / count(*), 6)::DOUBLE
                                                                        AS retry_rate
    FROM dash_calls(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
    GROUP BY provider, model
), routed AS (
    SELECT model, count(*) AS requests, sum(cost_usd) AS routed_cost_usd,
           count(cost_usd) AS routed_priced
    FROM dash_requests(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
    GROUP BY model
)
SELECT p.*, coalesce(r.requests, 0) AS requests, r.routed_cost_usd,
       coalesce(r.routed_priced, 0) AS routed_priced
FROM per_model p LEFT JOIN routed r USING (model)
ORDER BY p.cost_usd DESC NULLS LAST, p.calls DESC, p.provider, p.model;

-- Successful calls that could not be priced, per model.
CREATE OR REPLACE MACRO dash_unpriced(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
SELECT provider, model, count(*) AS calls
FROM dash_calls(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
WHERE status = 'ok' AND cost_usd IS NULL
GROUP BY provider, model
ORDER BY calls DESC, provider, model;

-- Requests and spend per category and complexity.
CREATE OR REPLACE MACRO dash_category_mix(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
SELECT category, complexity, count(*) AS requests,
       dash_money(sum(cost_usd), count(cost_usd), count(*)) AS cost_usd
FROM dash_requests(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
GROUP BY category, complexity
ORDER BY requests DESC, category, complexity;

-- Category -> chosen model (a Sankey); a request that found no model flows to '(failed)'.
CREATE OR REPLACE MACRO dash_flows(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
SELECT category, coalesce(nullif(model, ''), '(failed)') AS model, count(*) AS requests
FROM dash_requests(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
GROUP BY ALL
ORDER BY requests DESC, category, model;

-- Per routing strategy: escalations, attempts, ensemble agreement, cache hits, cost vs baseline.
CREATE OR REPLACE MACRO dash_strategies(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
AS TABLE
SELECT
    strategy,
    count(*)                                                            AS requests,
    round(count(*) FILTER (WHERE escalations > 0) / count(*), 6)::DOUBLE AS escalation_rate,
    round(sum(attempts) / nullif(count(attempts), 0), 6)::DOUBLE        AS attempts_per_request,
    round(sum(agreement) / nullif(count(agreement), 0), 6)::DOUBLE      AS agreement,
    round(count(*) FILTER (WHERE cache_hit) / count(*), 6)::DOUBLE      AS cache_hit_rate,
    dash_money(sum(cost_usd), count(cost_usd), count(*))                AS cost_usd,
    dash_money(sum(baseline_cost_usd), count(baseline_cost_usd), count(*)) AS baseline_cost_usd,
    round(100 * sum(saving_usd)
          / nullif(sum(baseline_cost_usd) FILTER (WHERE saving_usd IS NOT NULL), 0), 2)::DOUBLE
                                                                        AS saving_pct
FROM dash_requests(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
GROUP BY strategy
ORDER BY requests DESC, strategy;

-- The latest requests passing the filters (drill-down: raw decision spans).
CREATE OR REPLACE MACRO dash_recent_requests(
    since_ts, until_ts, f_providers, f_models, f_categories, f_tags, n
) AS TABLE
SELECT request_id, ts, category, model, strategy, status, cost_usd, baseline_cost_usd
FROM dash_requests(since_ts, until_ts, f_providers, f_models, f_categories, f_tags)
ORDER BY ts DESC, request_id
LIMIT n;

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
