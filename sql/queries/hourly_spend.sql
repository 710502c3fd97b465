-- Spend and baseline per hour: the daily shape of the traffic and of the saving.
SELECT
    date_trunc('hour', ts)                 AS hour,
    count(*)                               AS requests,
    sum(cost_usd)                          AS spend_usd,
    sum(baseline_cost_usd)                 AS baseline_usd
FROM requests
GROUP BY ALL
ORDER BY hour;
