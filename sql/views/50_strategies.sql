-- Per routing strategy: how often it escalated, how many calls a request took, cost vs baseline.
CREATE OR REPLACE MACRO strategy_report(
    since_ts := TIMESTAMP '1970-01-01',
    until_ts := TIMESTAMP '9999-12-31'
) AS TABLE
SELECT
    strategy,
    count(*)                                                        AS requests,
    round(avg(CASE WHEN escalations > 0 THEN 1 ELSE 0 END), 4)::DOUBLE AS escalation_rate,
    round(avg(attempts), 2)::DOUBLE                                 AS mean_attempts,
    round(avg(agreement), 2)::DOUBLE                                AS mean_agreement,
    count(*) FILTER (WHERE cache_hit)                               AS cache_hits,
    coalesce(sum(cost_usd), 0)                                      AS cost_usd,
    coalesce(sum(baseline_cost_usd), 0)                             AS baseline_cost_usd,
    coalesce(sum(saving_usd), 0)                                    AS saving_usd,
    round(100 * sum(saving_usd) / nullif(sum(baseline_cost_usd) FILTER (WHERE saving_usd IS NOT NULL), 0), 2)::DOUBLE
                                                                    AS saving_pct
FROM requests
WHERE ts >= since_ts AND ts < until_ts
GROUP BY strategy
ORDER BY requests DESC, strategy;

CREATE OR REPLACE VIEW savings_by_strategy AS SELECT * FROM strategy_report();
