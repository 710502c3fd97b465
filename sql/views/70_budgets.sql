-- What the budget controller (analytics/budgets.py) reads: spend in a budget's scope per minute,
-- outstanding hard-cap reservations, and its own events. Every read is time-bounded on
-- spans.start_time, so a tick costs the current period and the seasonality history only.

-- Priced spend of the calls in one scope ('global', 'category', 'tag' with 'key=value',
-- 'provider') per minute of call start, over [since, until). A call's category is its
-- request's (the decision span, which starts before its calls: looked up from an hour before).
CREATE OR REPLACE MACRO budget_spend_minutes(scope_kind, scope_value, since, until) AS TABLE
WITH c AS (
    SELECT request_id, start_time, cost_usd, provider, tags
    FROM spans
    WHERE start_time >= since AND start_time < until
      AND operation IS NOT NULL AND cost_usd IS NOT NULL
), d AS (
    SELECT request_id
    FROM spans
    WHERE scope_kind = 'category' AND name = 'mmoa.route' AND category = scope_value
      AND start_time >= since - INTERVAL 1 HOUR AND start_time < until
)
SELECT date_trunc('minute', c.start_time) AS minute, sum(c.cost_usd)::DECIMAL(18, 10) AS cost_usd
FROM c
WHERE CASE scope_kind
        WHEN 'global' THEN true
        WHEN 'category' THEN c.request_id IN (SELECT request_id FROM d)
        WHEN 'tag' THEN c.tags[split_part(scope_value, '=', 1)]
                        = substr(scope_value, strpos(scope_value, '=') + 1)
        WHEN 'provider' THEN c.provider = scope_value
        ELSE false
      END
GROUP BY ALL;

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
