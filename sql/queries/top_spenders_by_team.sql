-- Which teams spend the most, and what they saved against the single-model baseline.
SELECT
    tags['team']                           AS team,
    count(*)                               AS requests,
    sum(cost_usd)                          AS spend_usd,
    sum(baseline_cost_usd)                 AS baseline_usd,
    round(100 * sum(saving_usd) / nullif(sum(baseline_cost_usd), 0), 1) AS saving_pct
FROM requests
GROUP BY ALL
ORDER BY spend_usd DESC NULLS LAST;
