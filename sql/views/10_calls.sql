-- One row per provider call (any span with gen_ai.operation.name).
CREATE OR REPLACE VIEW calls AS
SELECT
    request_id,
    span_id,
    trace_id,
    start_time                                   AS ts,
    provider,
    request_model                                AS model,
    response_model,
    operation,
    CASE WHEN status_code = 'ERROR' OR error_type IS NOT NULL THEN 'error' ELSE 'ok' END AS status,
    error_type,
    input_tokens,
    cache_read_tokens                            AS cached_input_tokens,
    cache_write_tokens,
    output_tokens,
    reasoning_tokens,
    cost_usd,
    image_count,
    judge_confidence,
    coalesce(attempt_role, 'answer')             AS attempt_role,
    duration_ms                                  AS latency_ms,
    simulated,
    source,
    tags
FROM spans
WHERE operation IS NOT NULL;
