-- Savings against the single-model baseline, grouped by one key, for a time window.
-- group_key: all | category | complexity | model | provider | strategy | day | hour | tag
-- saving_usd sums only priced requests; unpriced_calls says how many calls could not be priced.
CREATE OR REPLACE MACRO savings_report(
    group_key,
    since_ts := TIMESTAMP '1970-01-01',
    until_ts := TIMESTAMP '9999-12-31'
) AS TABLE
WITH keyed AS (
    SELECT
        unnest(CASE group_key
            WHEN 'all' THEN ['all']
            WHEN 'category' THEN [category]
            WHEN 'complexity' THEN [complexity]
            WHEN 'model' THEN [coalesce(model, '(failed)')]
            WHEN 'provider' THEN [coalesce(provider, '(failed)')]
            WHEN 'strategy' THEN [strategy]
            WHEN 'day' THEN [strftime(ts, '%Y-%m-%d')]
            WHEN 'hour' THEN [strftime(date_trunc('hour', ts), '%Y-%m-%d %H:00')]
            WHEN 'tag' THEN CASE WHEN cardinality(tags) = 0 THEN ['(untagged)']
                                 ELSE list_transform(map_entries(tags), lambda e: e.key || '=' || e.value) END
            ELSE [error('unknown group key ' || group_key
                        || ': use all, category, complexity, model, provider, strategy, day, hour or tag')]
        END) AS key,
        *
    FROM requests
    WHERE ts >= since_ts AND ts < until_ts
)
SELECT
    key,
    count(*)                                              AS requests,
    count(*) FILTER (WHERE status = 'ok')                 AS ok,
    count(*) FILTER (WHERE status <> 'ok')                AS failed,
    coalesce(sum(input_tokens), 0)::BIGINT                AS input_tokens,
    coalesce(sum(cached_input_tokens), 0)::BIGINT         AS cached_input_tokens,
    coalesce(sum(output_tokens), 0)::BIGINT               AS output_tokens,
    coalesce(sum(cost_usd), 0)                            AS cost_usd,
    coalesce(sum(baseline_cost_usd), 0)                   AS baseline_cost_usd,
    coalesce(sum(saving_usd), 0)                          AS saving_usd,
    round(100 * sum(saving_usd) / nullif(sum(baseline_cost_usd) FILTER (WHERE saving_usd IS NOT NULL), 0), 2)::DOUBLE
                                                          AS saving_pct,
    coalesce(sum(unpriced_calls), 0)::BIGINT              AS unpriced_calls,
    bool_or(simulated)                                    AS simulated
FROM keyed
GROUP BY key
ORDER BY cost_usd DESC, key;

CREATE OR REPLACE VIEW savings_summary AS
SELECT * EXCLUDE (key) FROM savings_report('all');

CREATE OR REPLACE VIEW savings_by_category AS
SELECT key AS category, * EXCLUDE (key) FROM savings_report('category');

CREATE OR REPLACE VIEW savings_by_model AS
SELECT key AS model, * EXCLUDE (key) FROM savings_report('model');

CREATE OR REPLACE VIEW savings_by_provider AS
SELECT key AS provider, * EXCLUDE (key) FROM savings_report('provider');

CREATE OR REPLACE VIEW savings_by_day AS
SELECT key AS day, * EXCLUDE (key) FROM savings_report('day');

CREATE OR REPLACE VIEW savings_by_tag AS
SELECT key AS tag, * EXCLUDE (key) FROM savings_report('tag');
