-- One row per routed request: the decision span, with its calls' tokens summed.
CREATE OR REPLACE VIEW requests AS
WITH per_request AS (
    SELECT
        request_id,
        count(*)                                              AS calls,
        sum(input_tokens)                                     AS input_tokens,
        sum(output_tokens)                                    AS output_tokens,
        sum(cached_input_tokens)                              AS cached_input_tokens,
        sum(reasoning_tokens)                                 AS reasoning_tokens,
        arg_max(provider, ts) FILTER (WHERE status = 'ok')    AS provider,
        count(*) FILTER (WHERE status = 'ok' AND cost_usd IS NULL) AS unpriced_calls
    FROM calls
    GROUP BY request_id
)
SELECT
    d.request_id,
    d.start_time                                  AS ts,
    d.category,
    d.complexity,
    d.strategy,
    d.route_model                                 AS model,
    c.provider,
    d.attempts,
    coalesce(c.input_tokens, 0)                   AS input_tokens,
    coalesce(c.output_tokens, 0)                  AS output_tokens,
    coalesce(c.cached_input_tokens, 0)            AS cached_input_tokens,
    coalesce(c.reasoning_tokens, 0)               AS reasoning_tokens,
    d.cost_usd,
    d.baseline_model,
    d.baseline_cost_usd,
    d.baseline_cost_usd - d.cost_usd              AS saving_usd,
    d.cache_hit,
    d.route_status                                AS status,
    d.policy_version,
    coalesce(d.escalations, 0)                    AS escalations,
    d.agreement,
    d.role,
    d.duration_ms                                 AS latency_ms,
    coalesce(c.unpriced_calls, 0)                 AS unpriced_calls,
    d.simulated,
    d.tags
FROM spans d
LEFT JOIN per_request c USING (request_id)
WHERE d.name = 'mmoa.route';
