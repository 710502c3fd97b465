-- The log: one row per span, never updated or deleted. Idempotent on (trace_id, span_id).
-- Typed columns hold the attributes of the span contract (DESIGN.md); `attributes` holds every
-- other attribute as sent, so nothing a client sent is lost.
CREATE TABLE spans (
    trace_id            VARCHAR   NOT NULL,
    span_id             VARCHAR   NOT NULL,
    parent_span_id      VARCHAR,
    name                VARCHAR   NOT NULL,
    kind                VARCHAR   NOT NULL,
    start_time          TIMESTAMP NOT NULL,  -- UTC
    end_time            TIMESTAMP NOT NULL,  -- UTC
    duration_ms         DOUBLE    NOT NULL,
    status_code         VARCHAR   NOT NULL,  -- UNSET | OK | ERROR
    status_message      VARCHAR,
    request_id          VARCHAR,             -- the routed request this span belongs to
    -- provider call (gen_ai.*)
    operation           VARCHAR,
    provider            VARCHAR,
    request_model       VARCHAR,
    response_model      VARCHAR,
    response_id         VARCHAR,
    finish_reasons      VARCHAR[],
    input_tokens        BIGINT,              -- includes cached and cache-write tokens
    output_tokens       BIGINT,              -- includes reasoning tokens
    cache_read_tokens   BIGINT,
    cache_write_tokens  BIGINT,
    reasoning_tokens    BIGINT,
    server_address      VARCHAR,
    server_port         INTEGER,
    error_type          VARCHAR,
    cost_usd            DECIMAL(18, 10),     -- NULL: unpriced, never 0 for unknown
    -- routing decision (mmoa.route)
    category            VARCHAR,
    complexity          VARCHAR,
    confidence          DOUBLE,
    task_reason         VARCHAR,
    strategy            VARCHAR,
    route_model         VARCHAR,
    route_reason        VARCHAR,
    candidates          VARCHAR[],
    attempts            INTEGER,
    route_status        VARCHAR,
    policy_version      INTEGER,
    baseline_model      VARCHAR,
    baseline_cost_usd   DECIMAL(18, 10),
    cache_hit           BOOLEAN,
    -- provenance
    simulated           BOOLEAN   NOT NULL,
    source              VARCHAR   NOT NULL,  -- 'mmoa', or the instrumentation that sent it
    tags                MAP(VARCHAR, VARCHAR),
    attributes          JSON,                -- every attribute not in a typed column above
    resource            JSON,
    ingested_at         TIMESTAMP NOT NULL DEFAULT (now()::TIMESTAMP),
    PRIMARY KEY (trace_id, span_id)
);

-- The model catalog as the router saw it when this store was last written.
CREATE TABLE models (
    provider            VARCHAR NOT NULL,
    name                VARCHAR NOT NULL PRIMARY KEY,
    input_price         DECIMAL(18, 6),      -- US dollars per 1M tokens; NULL = unpriced
    cached_input_price  DECIMAL(18, 6),
    cache_write_price   DECIMAL(18, 6),
    output_price        DECIMAL(18, 6),
    long_context_from   BIGINT,              -- prompts above this many tokens pay tier rates
    context_window      BIGINT  NOT NULL,
    max_output          BIGINT  NOT NULL,
    intelligence        INTEGER NOT NULL,
    coding              INTEGER NOT NULL,
    tier                VARCHAR NOT NULL,
    strengths           VARCHAR[] NOT NULL,
    price_source        VARCHAR
);
