-- Latency percentiles and error rate per model, from every provider call.
SELECT
    provider,
    model,
    count(*)                                                   AS calls,
    round(quantile_cont(latency_ms, 0.50), 1)                  AS p50_ms,
    round(quantile_cont(latency_ms, 0.95), 1)                  AS p95_ms,
    round(quantile_cont(latency_ms, 0.99), 1)                  AS p99_ms,
    round(100 * avg(CASE WHEN status = 'error' THEN 1 ELSE 0 END), 2) AS error_pct
FROM calls
GROUP BY ALL
ORDER BY calls DESC;
