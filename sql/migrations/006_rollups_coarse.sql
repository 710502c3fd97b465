-- Call rollups by the request's category, and coarse hourly rollups without tag sets.
-- The router now puts the request's category on each call span (mmoa.task.category), so call
-- figures under a category filter come from rollups like the rest. Call spans stored before
-- this migration lack it: rollup_call_category records, for each of them, the category of its
-- decision span (same trace and request id), and the view spans_categorized reads it back, so
-- old calls count under their request's category (spans themselves are never updated). Calls
-- from other instrumentations have no decision span and keep NULL.
-- The hourly tables hold the same measures as the per-minute ones but no tag set, so a
-- dashboard query without a tag filter reads ~100x fewer rows; the writer adds their deltas in
-- the same transaction as the spans (collector.exporter.rollup_statements).

CREATE TABLE rollup_call_category (
    start_time  TIMESTAMP NOT NULL,
    trace_id    VARCHAR NOT NULL,
    span_id     VARCHAR NOT NULL,
    category    VARCHAR NOT NULL
);
INSERT INTO rollup_call_category
SELECT c.start_time, c.trace_id, c.span_id, any_value(d.category)
FROM spans c
JOIN spans d ON d.name = 'mmoa.route' AND d.trace_id = c.trace_id
            AND d.request_id = c.request_id AND d.category IS NOT NULL
WHERE c.operation IS NOT NULL AND c.category IS NULL
GROUP BY ALL
ORDER BY c.start_time;

-- spans, with a pre-006 call span's category taken from its decision span.
CREATE VIEW spans_categorized AS
SELECT s.* REPLACE (coalesce(s.category, l.category) AS category)
FROM spans s
LEFT JOIN rollup_call_category l
       ON l.start_time = s.start_time AND l.trace_id = s.trace_id AND l.span_id = s.span_id;

-- The call rollups gain the category: rebuilt from the spans.
DROP TABLE rollup_calls;
CREATE TABLE rollup_calls (
    minute              TIMESTAMP NOT NULL,
    provider            VARCHAR,
    model               VARCHAR,
    category            VARCHAR,           -- the request's (NULL: a call outside mmoa's router)
    status              VARCHAR NOT NULL,
    error_type          VARCHAR,
    simulated           BOOLEAN NOT NULL,
    tagset              UBIGINT NOT NULL,
    calls               BIGINT  NOT NULL,
    errors              BIGINT  NOT NULL,
    retries             BIGINT  NOT NULL,
    input_tokens        BIGINT  NOT NULL,
    cached_input_tokens BIGINT  NOT NULL,
    cache_write_tokens  BIGINT  NOT NULL,
    reasoning_tokens    BIGINT  NOT NULL,
    output_tokens       BIGINT  NOT NULL,
    cost_usd            DECIMAL(18, 10),
    cost_priced         BIGINT  NOT NULL,
    unpriced_calls      BIGINT  NOT NULL
);

DROP TABLE rollup_latency;
CREATE TABLE rollup_latency (
    minute              TIMESTAMP NOT NULL,
    provider            VARCHAR,
    model               VARCHAR,
    category            VARCHAR,
    tagset              UBIGINT NOT NULL,
    bucket              SMALLINT NOT NULL,
    n                   BIGINT  NOT NULL
);

CREATE OR REPLACE MACRO rollup_call_rows(src, lo, hi) AS TABLE
WITH c AS (
    SELECT *, rollup_call_status(status_code, error_type) AS call_status
    FROM query_table(src)
    WHERE operation IS NOT NULL AND start_time >= lo AND start_time < hi
)
SELECT
    date_trunc('minute', start_time)                                    AS minute,
    provider, request_model AS model, category, call_status AS status, error_type, simulated,
    rollup_tagset(tags)                                                 AS tagset,
    count(*)                                                            AS calls,
    count(*) FILTER (WHERE call_status = 'error')                       AS errors,
    count(*) FILTER (WHERE rollup_retryable(call_status, error_type))   AS retries,
    coalesce(sum(input_tokens), 0)::BIGINT                              AS input_tokens,
    coalesce(sum(cache_read_tokens), 0)::BIGINT                         AS cached_input_tokens,
    coalesce(sum(cache_write_tokens), 0)::BIGINT                        AS cache_write_tokens,
    coalesce(sum(reasoning_tokens), 0)::BIGINT                          AS reasoning_tokens,
    coalesce(sum(output_tokens), 0)::BIGINT                             AS output_tokens,
    sum(cost_usd)::DECIMAL(18, 10)                                      AS cost_usd,
    count(cost_usd)                                                     AS cost_priced,
    count(*) FILTER (WHERE call_status = 'ok' AND cost_usd IS NULL)     AS unpriced_calls
FROM c
GROUP BY ALL;

CREATE OR REPLACE MACRO rollup_latency_rows(src, lo, hi) AS TABLE
SELECT
    date_trunc('minute', start_time)                                    AS minute,
    provider, request_model AS model, category,
    rollup_tagset(tags)                                                 AS tagset,
    rollup_latency_bucket(duration_ms)                                  AS bucket,
    count(*)                                                            AS n
FROM query_table(src)
WHERE operation IS NOT NULL AND start_time >= lo AND start_time < hi
GROUP BY ALL;

-- Hourly rollups: the per-minute measures summed over the hour, without the tag set.
CREATE TABLE rollup_requests_hourly (
    hour                TIMESTAMP NOT NULL,
    category            VARCHAR,
    complexity          VARCHAR,
    strategy            VARCHAR,
    model               VARCHAR,
    status              VARCHAR,
    simulated           BOOLEAN NOT NULL,
    requests            BIGINT  NOT NULL,
    cost_usd            DECIMAL(18, 10),
    cost_priced         BIGINT  NOT NULL,
    baseline_cost_usd   DECIMAL(18, 10),
    baseline_priced     BIGINT  NOT NULL,
    saving_usd          DECIMAL(18, 10),
    saving_base_usd     DECIMAL(18, 10),
    cache_hits          BIGINT  NOT NULL,
    escalated           BIGINT  NOT NULL,
    attempts            BIGINT,
    attempts_n          BIGINT  NOT NULL,
    agreement_sum       DOUBLE,
    agreement_n         BIGINT  NOT NULL
);

CREATE TABLE rollup_calls_hourly (
    hour                TIMESTAMP NOT NULL,
    provider            VARCHAR,
    model               VARCHAR,
    category            VARCHAR,
    status              VARCHAR NOT NULL,
    error_type          VARCHAR,
    simulated           BOOLEAN NOT NULL,
    calls               BIGINT  NOT NULL,
    errors              BIGINT  NOT NULL,
    retries             BIGINT  NOT NULL,
    input_tokens        BIGINT  NOT NULL,
    cached_input_tokens BIGINT  NOT NULL,
    cache_write_tokens  BIGINT  NOT NULL,
    reasoning_tokens    BIGINT  NOT NULL,
    output_tokens       BIGINT  NOT NULL,
    cost_usd            DECIMAL(18, 10),
    cost_priced         BIGINT  NOT NULL,
    unpriced_calls      BIGINT  NOT NULL
);

CREATE TABLE rollup_latency_hourly (
    hour                TIMESTAMP NOT NULL,
    provider            VARCHAR,
    model               VARCHAR,
    category            VARCHAR,
    bucket              SMALLINT NOT NULL,
    n                   BIGINT  NOT NULL
);

-- Hourly rows of per-minute rollup rows (`src`: a per-minute rollup table, or the rows one
-- batch just added to it).
CREATE OR REPLACE MACRO rollup_request_hour_rows(src) AS TABLE
SELECT
    date_trunc('hour', minute) AS hour, category, complexity, strategy, model, status, simulated,
    sum(requests)::BIGINT AS requests, sum(cost_usd)::DECIMAL(18, 10) AS cost_usd,
    sum(cost_priced)::BIGINT AS cost_priced,
    sum(baseline_cost_usd)::DECIMAL(18, 10) AS baseline_cost_usd,
    sum(baseline_priced)::BIGINT AS baseline_priced,
    sum(saving_usd)::DECIMAL(18, 10) AS saving_usd,
    sum(saving_base_usd)::DECIMAL(18, 10) AS saving_base_usd,
    sum(cache_hits)::BIGINT AS cache_hits, sum(escalated)::BIGINT AS escalated,
    sum(attempts)::BIGINT AS attempts, sum(attempts_n)::BIGINT AS attempts_n,
    sum(agreement_sum) AS agreement_sum, sum(agreement_n)::BIGINT AS agreement_n
FROM query_table(src)
GROUP BY ALL;

CREATE OR REPLACE MACRO rollup_call_hour_rows(src) AS TABLE
SELECT
    date_trunc('hour', minute) AS hour, provider, model, category, status, error_type, simulated,
    sum(calls)::BIGINT AS calls, sum(errors)::BIGINT AS errors, sum(retries)::BIGINT AS retries,
    sum(input_tokens)::BIGINT AS input_tokens,
    sum(cached_input_tokens)::BIGINT AS cached_input_tokens,
    sum(cache_write_tokens)::BIGINT AS cache_write_tokens,
    sum(reasoning_tokens)::BIGINT AS reasoning_tokens,
    sum(output_tokens)::BIGINT AS output_tokens,
    sum(cost_usd)::DECIMAL(18, 10) AS cost_usd, sum(cost_priced)::BIGINT AS cost_priced,
    sum(unpriced_calls)::BIGINT AS unpriced_calls
FROM query_table(src)
GROUP BY ALL;

CREATE OR REPLACE MACRO rollup_latency_hour_rows(src) AS TABLE
SELECT date_trunc('hour', minute) AS hour, provider, model, category, bucket, sum(n)::BIGINT AS n
FROM query_table(src)
GROUP BY ALL;

-- Compaction: each batch adds delta rows, so an hour of a slowly fed store holds about one
-- hourly row per batch and group. Once the writer sees a batch of a later hour, it replaces
-- the rows of the hours since `upto` by their sums (the same totals, one row per group) and
-- moves `upto` on; rows arriving later for a compacted hour stay deltas (still exact).
CREATE TABLE rollup_hourly_compacted (upto TIMESTAMP NOT NULL);

CREATE OR REPLACE MACRO rollup_requests_hourly_sums(lo, hi) AS TABLE
SELECT
    hour, category, complexity, strategy, model, status, simulated,
    sum(requests)::BIGINT AS requests, sum(cost_usd)::DECIMAL(18, 10) AS cost_usd,
    sum(cost_priced)::BIGINT AS cost_priced,
    sum(baseline_cost_usd)::DECIMAL(18, 10) AS baseline_cost_usd,
    sum(baseline_priced)::BIGINT AS baseline_priced,
    sum(saving_usd)::DECIMAL(18, 10) AS saving_usd,
    sum(saving_base_usd)::DECIMAL(18, 10) AS saving_base_usd,
    sum(cache_hits)::BIGINT AS cache_hits, sum(escalated)::BIGINT AS escalated,
    sum(attempts)::BIGINT AS attempts, sum(attempts_n)::BIGINT AS attempts_n,
    sum(agreement_sum) AS agreement_sum, sum(agreement_n)::BIGINT AS agreement_n
FROM rollup_requests_hourly
WHERE hour >= lo AND hour < hi
GROUP BY ALL;

CREATE OR REPLACE MACRO rollup_calls_hourly_sums(lo, hi) AS TABLE
SELECT
    hour, provider, model, category, status, error_type, simulated,
    sum(calls)::BIGINT AS calls, sum(errors)::BIGINT AS errors, sum(retries)::BIGINT AS retries,
    sum(input_tokens)::BIGINT AS input_tokens,
    sum(cached_input_tokens)::BIGINT AS cached_input_tokens,
    sum(cache_write_tokens)::BIGINT AS cache_write_tokens,
    sum(reasoning_tokens)::BIGINT AS reasoning_tokens,
    sum(output_tokens)::BIGINT AS output_tokens,
    sum(cost_usd)::DECIMAL(18, 10) AS cost_usd, sum(cost_priced)::BIGINT AS cost_priced,
    sum(unpriced_calls)::BIGINT AS unpriced_calls
FROM rollup_calls_hourly
WHERE hour >= lo AND hour < hi
GROUP BY ALL;

CREATE OR REPLACE MACRO rollup_latency_hourly_sums(lo, hi) AS TABLE
SELECT hour, provider, model, category, bucket, sum(n)::BIGINT AS n
FROM rollup_latency_hourly
WHERE hour >= lo AND hour < hi
GROUP BY ALL;

-- Backfill: the per-minute call rollups from the spans (old calls categorized through
-- rollup_call_category), then every hourly rollup from the per-minute ones.
INSERT INTO rollup_calls
SELECT * FROM rollup_call_rows('spans_categorized', '-infinity'::TIMESTAMP, 'infinity'::TIMESTAMP);
INSERT INTO rollup_latency
SELECT * FROM rollup_latency_rows('spans_categorized', '-infinity'::TIMESTAMP, 'infinity'::TIMESTAMP);
INSERT INTO rollup_requests_hourly SELECT * FROM rollup_request_hour_rows('rollup_requests');
INSERT INTO rollup_calls_hourly SELECT * FROM rollup_call_hour_rows('rollup_calls');
INSERT INTO rollup_latency_hourly SELECT * FROM rollup_latency_hour_rows('rollup_latency');
INSERT INTO rollup_hourly_compacted
SELECT coalesce(date_trunc('hour', max(start_time)), '-infinity'::TIMESTAMP) FROM spans;
