-- What the budget controller (analytics/budgets.py) reads: spend in a budget's scope per minute,
-- outstanding hard-cap reservations, and its own events. Every read is time-bounded on
-- spans.start_time, so a tick costs the current period and the seasonality history only.

-- Priced spend in one scope ('global', 'category', 'tag' with 'key=value', 'provider') per
-- minute, over [since, until) (whole minutes), from the per-minute rollups the writer keeps
-- (sql/migrations/004_rollups.sql): calls for global, provider and tag scopes; for a category,
-- its requests' cost (the decision span: every attempt), in the minute the request started.
CREATE OR REPLACE MACRO budget_spend_minutes(scope_kind, scope_value, since, until) AS TABLE
SELECT minute, sum(cost_usd)::DECIMAL(18, 10) AS cost_usd
FROM (
    SELECT minute, cost_usd
    FROM rollup_calls
    WHERE scope_kind IN ('global', 'provider', 'tag')
      AND minute >= since AND minute < until AND cost_usd IS NOT NULL
      AND CASE scope_kind
            WHEN 'provider' THEN provider = scope_value
            WHEN 'tag' THEN tagset IN (
                SELECT tagset FROM rollup_tagsets WHERE list_contains(tags, scope_value))
            ELSE true
          END
    UNION ALL
    SELECT minute, cost_usd
    FROM rollup_requests
    WHERE scope_kind = 'category' AND category = scope_value
      AND minute >= since AND minute < until AND cost_usd IS NOT NULL
)
GROUP BY minute;

-- Outstanding reservations of one budget in the period starting at `start`: reserved worst
-- cases with no settle yet (collector/ledger.py writes both kinds).
CREATE OR REPLACE MACRO budget_reserved(budget_name, start) AS (
    SELECT coalesce(sum(r.amount_usd), 0)::DECIMAL(18, 10)
    FROM budget_events r
    WHERE r.kind = 'budget.reserve' AND r.budget = budget_name AND r.period_start = start
      AND NOT EXISTS (
          SELECT 1 FROM budget_events s
          WHERE s.kind = 'budget.settle' AND s.reservation_id = r.reservation_id
      )
);

-- The controller's decisions (alerts, downgrades, restores), in log order.
CREATE OR REPLACE VIEW budget_decisions AS
SELECT *
FROM budget_events
WHERE kind IN ('budget.alert', 'budget.downgrade', 'budget.restore')
ORDER BY ts, kind, budget, event_id;

-- Alerts not yet delivered to `chan` (the webhook outbox), raised at or after `since`, oldest
-- first. A delivery is recorded only once the receiver acknowledged it.
CREATE OR REPLACE MACRO budget_alerts_pending(chan, since) AS TABLE
SELECT e.* EXCLUDE (reservation_id, amount_usd)
FROM budget_events e
WHERE e.kind = 'budget.alert' AND e.ts >= since
  AND NOT EXISTS (
      SELECT 1 FROM budget_deliveries d WHERE d.event_id = e.event_id AND d.channel = chan
  )
ORDER BY e.ts, e.event_id;
