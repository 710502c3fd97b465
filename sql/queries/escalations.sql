-- Requests that escalated (fallback cascade or verify), with the judge's view of each call.
SELECT
    r.request_id,
    r.strategy,
    r.escalations,
    c.model,
    c.attempt_role,
    c.judge_confidence,
    c.cost_usd
FROM requests r
JOIN calls c USING (request_id)
WHERE r.escalations > 0
ORDER BY r.ts, c.ts
LIMIT 100;
