-- Spend per day and model, from the calls themselves (every attempt counts).
CREATE OR REPLACE VIEW spend_by_day_model AS
SELECT
    ts::DATE                                    AS day,
    provider,
    model,
    count(*)                                    AS calls,
    count(*) FILTER (WHERE status = 'error')    AS failed_calls,
    sum(input_tokens)::BIGINT                   AS input_tokens,
    sum(output_tokens)::BIGINT                  AS output_tokens,
    sum(cost_usd)                               AS cost_usd,
    count(*) FILTER (WHERE status = 'ok' AND cost_usd IS NULL) AS unpriced_calls
FROM calls
GROUP BY ALL
ORDER BY day, cost_usd DESC NULLS LAST;

-- Calls that succeeded but could not be priced: add a price for these models in mmoa.yaml.
CREATE OR REPLACE VIEW unpriced_models AS
SELECT provider, model, count(*) AS calls, min(ts) AS first_seen, max(ts) AS last_seen
FROM calls
WHERE status = 'ok' AND cost_usd IS NULL
GROUP BY ALL
ORDER BY calls DESC;
