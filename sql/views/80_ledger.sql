-- What the hard-cap ledger (collector/ledger.py) folds on start and at each period roll-over:
-- spend in a budget's scope and window from the calls, and the reservations of that window.

-- Priced spend of the calls in one scope ('global', 'category', 'tag' with 'key=value',
-- 'provider') whose call started in [since, until). Unpriced calls add nothing here; the
-- ledger counts their reserved worst case instead (ledger_holds).
CREATE OR REPLACE MACRO ledger_spend(scope_kind, scope_value, since, until) AS (
    SELECT coalesce(sum(c.cost_usd), 0)::DECIMAL(18, 10)
    FROM calls c
    LEFT JOIN (SELECT request_id, category FROM spans WHERE name = 'mmoa.route') d
        USING (request_id)
    WHERE c.ts >= since AND c.ts < until AND c.cost_usd IS NOT NULL
      AND CASE scope_kind
            WHEN 'global' THEN true
            WHEN 'category' THEN d.category = scope_value
            WHEN 'tag' THEN c.tags[split_part(scope_value, '=', 1)]
                            = substr(scope_value, strpos(scope_value, '=') + 1)
            WHEN 'provider' THEN c.provider = scope_value
            ELSE false
          END
);

-- The reservations one budget made in the window starting at `start`: each with its worst
-- case, whether it was settled and for how much (NULL: unpriced), and whether its request's
-- decision span is in the store (then its calls are too: they end, and are sent, first).
CREATE OR REPLACE MACRO ledger_holds(budget_name, start) AS TABLE
WITH reserved AS (
    SELECT reservation_id, amount_usd AS reserved, details ->> 'request_id' AS request_id
    FROM budget_events
    WHERE kind = 'budget.reserve' AND budget = budget_name AND period_start = start
), settled AS (
    SELECT reservation_id, any_value(amount_usd) AS actual
    FROM budget_events
    WHERE kind = 'budget.settle' AND reservation_id IN (SELECT reservation_id FROM reserved)
    GROUP BY reservation_id
)
SELECT
    r.reservation_id,
    r.reserved,
    s.reservation_id IS NOT NULL                 AS settled,
    s.actual,
    coalesce(r.request_id IN (SELECT request_id FROM spans WHERE name = 'mmoa.route'), false)
                                                 AS stored
FROM reserved r
LEFT JOIN settled s USING (reservation_id);
