-- Budget controller and user events, in the same log as the spans (DESIGN.md, Event sourcing).
-- Never updated or deleted: the active policy, alert state and outstanding reservations are folds.
CREATE TABLE budget_events (
    event_id          VARCHAR PRIMARY KEY,   -- uuid5 of its content: a replay or a duplicate
                                             -- delivery is stored once (INSERT OR IGNORE)
    ts                TIMESTAMP NOT NULL,    -- UTC
    kind              VARCHAR NOT NULL,      -- budget.alert | budget.downgrade | budget.restore
                                             -- | budget.reserve | budget.settle
    budget            VARCHAR NOT NULL,      -- budget name from mmoa.yaml ('' allowed for settle)
    scope             VARCHAR NOT NULL,      -- global | category:x | tag:k=v | provider:x
    period_start      TIMESTAMP,
    policy_version    INTEGER,               -- downgrade/restore: the policy version AFTER it
    from_chain        VARCHAR,
    to_chain          VARCHAR,
    reason            VARCHAR,               -- a sentence explaining the decision with its numbers
    spent_usd         DECIMAL(18, 10),
    pace_usd          DECIMAL(18, 10),
    forecast_usd      DECIMAL(18, 10),
    forecast_low_usd  DECIMAL(18, 10),
    forecast_high_usd DECIMAL(18, 10),
    limit_usd         DECIMAL(18, 10),
    reservation_id    VARCHAR,               -- reserve/settle
    amount_usd        DECIMAL(18, 10),       -- reserve: worst case; settle: actual (NULL: unpriced)
    simulated         BOOLEAN NOT NULL DEFAULT false,
    details           JSON                   -- anything else (rates, margin, request_id, ...)
);

-- Alert deliveries (the webhook outbox): an alert with no row here for a channel is pending.
CREATE TABLE budget_deliveries (
    event_id          VARCHAR NOT NULL,      -- the budget.alert delivered
    channel           VARCHAR NOT NULL,      -- 'webhook:<url>'
    delivered_at      TIMESTAMP NOT NULL,    -- UTC, when the receiver acknowledged it (2xx)
    attempts          INTEGER NOT NULL,      -- tries the delivering controller made
    status            INTEGER,               -- the receiver's HTTP status
    PRIMARY KEY (event_id, channel)
);

-- Quality feedback: a score for a past response, by a user or an evaluator.
CREATE TABLE feedback (
    event_id          VARCHAR PRIMARY KEY,
    ts                TIMESTAMP NOT NULL,    -- UTC
    request_id        VARCHAR NOT NULL,      -- the routed request it scores
    score             DOUBLE NOT NULL,
    comment           VARCHAR,
    source            VARCHAR NOT NULL       -- who scored it: user, evaluator name, ...
);
