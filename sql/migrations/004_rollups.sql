-- Per-minute rollups of the log, kept by the writer (collector.exporter.insert_table) in the
-- transaction that stores the spans, so the dashboard's aggregate pages never scan raw spans.
-- Rows are append-only deltas: each batch adds one row per (minute, dimensions) it touched,
-- counting only the spans it actually stored (a span delivered twice is counted once);
-- readers sum them. Money sums are DECIMAL(38, 10), exact; unpriced rows are counted
-- (cost_priced < rows), never summed as 0. The macros below turn any spans-shaped relation
-- into rollup rows: the writer runs them over the batch it stored, this migration over `spans`.

-- 'key=value' strings of a tag map, sorted: how tags are filtered and listed.
CREATE OR REPLACE MACRO rollup_tag_list(tag_map) AS
    list_sort(list_transform(map_entries(tag_map), lambda e: e.key || '=' || e.value));

-- A tag set's key in the rollups: a 64-bit hash of its sorted list (rollup_tagsets maps it
-- back; a reader filters tags through that table, so only a hash collision could mislead).
CREATE OR REPLACE MACRO rollup_tagset(tag_map) AS hash(coalesce(rollup_tag_list(tag_map), []));

-- Log-spaced latency buckets, each 2% wide: bucket b holds [1.02^b, 1.02^(b+1)) ms.
CREATE OR REPLACE MACRO rollup_latency_bucket(ms) AS
    floor(ln(greatest(ms, 0.001)) / ln(1.02))::SMALLINT;

-- A failed call the router retries or moves on from: rate limits, timeouts, 408 and 5xx,
-- connection failures; not the 4xx errors retrying cannot fix.
CREATE OR REPLACE MACRO rollup_retryable(status, error_type) AS
    status = 'error'
    AND NOT (regexp_full_match(coalesce(error_type, ''), '4[0-9][0-9]')
             AND error_type NOT IN ('408', '429'));

CREATE OR REPLACE MACRO rollup_call_status(status_code, error_type) AS
    CASE WHEN status_code = 'ERROR' OR error_type IS NOT NULL THEN 'error' ELSE 'ok' END;

CREATE TABLE rollup_requests (
    minute              TIMESTAMP NOT NULL,
    category            VARCHAR,
    complexity          VARCHAR,
    strategy            VARCHAR,
    model               VARCHAR,           -- the chosen model ('' when none was found)
    status              VARCHAR,
    simulated           BOOLEAN NOT NULL,
    tagset              UBIGINT NOT NULL,  -- rollup_tagsets
    requests            BIGINT  NOT NULL,
    cost_usd            DECIMAL(38, 10),   -- sum over priced requests
    cost_priced         BIGINT  NOT NULL,  -- requests with a cost
    baseline_cost_usd   DECIMAL(38, 10),
    baseline_priced     BIGINT  NOT NULL,
    saving_usd          DECIMAL(38, 10),   -- baseline - cost, requests priced on both sides
    saving_base_usd     DECIMAL(38, 10),   -- their baseline (the denominator of saving_pct)
    cache_hits          BIGINT  NOT NULL,
    escalated           BIGINT  NOT NULL,  -- requests with at least one escalation
    attempts            BIGINT,
    attempts_n          BIGINT  NOT NULL,
    agreement_sum       DOUBLE,
    agreement_n         BIGINT  NOT NULL
);

CREATE TABLE rollup_calls (
    minute              TIMESTAMP NOT NULL,
    provider            VARCHAR,
    model               VARCHAR,
    status              VARCHAR NOT NULL,
    error_type          VARCHAR,
    simulated           BOOLEAN NOT NULL,
    tagset              UBIGINT NOT NULL,
    calls               BIGINT  NOT NULL,
    errors              BIGINT  NOT NULL,
    retries             BIGINT  NOT NULL,  -- rollup_retryable failures
    input_tokens        BIGINT  NOT NULL,
    cached_input_tokens BIGINT  NOT NULL,
    cache_write_tokens  BIGINT  NOT NULL,
    reasoning_tokens    BIGINT  NOT NULL,
    output_tokens       BIGINT  NOT NULL,
    cost_usd            DECIMAL(38, 10),
    cost_priced         BIGINT  NOT NULL,
    unpriced_calls      BIGINT  NOT NULL   -- successful calls without a price
);

CREATE TABLE rollup_latency (
    minute              TIMESTAMP NOT NULL,
    provider            VARCHAR,
    model               VARCHAR,
    tagset              UBIGINT NOT NULL,
    bucket              SMALLINT NOT NULL, -- rollup_latency_bucket
    n                   BIGINT  NOT NULL
);

CREATE TABLE rollup_tagsets (tagset UBIGINT PRIMARY KEY, tags VARCHAR[] NOT NULL);

-- Which providers serve each model, as seen on calls (a request's provider is its model's).
CREATE TABLE rollup_model_providers (
    model VARCHAR NOT NULL, provider VARCHAR NOT NULL, PRIMARY KEY (model, provider)
);

-- What the filters can offer: kind is provider | model | category | tag | simulated.
CREATE TABLE rollup_dims (kind VARCHAR NOT NULL, value VARCHAR NOT NULL, PRIMARY KEY (kind, value));

-- Rollup rows of the spans of `src` (a table name) that started in [lo, hi).
CREATE OR REPLACE MACRO rollup_request_rows(src, lo, hi) AS TABLE
SELECT
    date_trunc('minute', start_time)                                    AS minute,
    category, complexity, strategy, route_model AS model, route_status AS status, simulated,
    rollup_tagset(tags)                                                 AS tagset,
    count(*)                                                            AS requests,
    sum(cost_usd)::DECIMAL(38, 10)                                      AS cost_usd,
    count(cost_usd)                                                     AS cost_priced,
    sum(baseline_cost_usd)::DECIMAL(38, 10)                             AS baseline_cost_usd,
    count(baseline_cost_usd)                                            AS baseline_priced,
    sum(baseline_cost_usd - cost_usd)::DECIMAL(38, 10)                  AS saving_usd,
    sum(baseline_cost_usd) FILTER (WHERE cost_usd IS NOT NULL)::DECIMAL(38, 10)
                                                                        AS saving_base_usd,
    count(*) FILTER (WHERE cache_hit)                                   AS cache_hits,
    count(*) FILTER (WHERE coalesce(escalations, 0) > 0)                AS escalated,
    sum(attempts)::BIGINT                                               AS attempts,
    count(attempts)                                                     AS attempts_n,
    sum(agreement)                                                      AS agreement_sum,
    count(agreement)                                                    AS agreement_n
FROM query_table(src)
WHERE name = 'mmoa.route' AND start_time >= lo AND start_time < hi
GROUP BY ALL;

CREATE OR REPLACE MACRO rollup_call_rows(src, lo, hi) AS TABLE
WITH c AS (
    SELECT *, rollup_call_status(status_code, error_type) AS call_status
    FROM query_table(src)
    WHERE operation IS NOT NULL AND start_time >= lo AND start_time < hi
)
SELECT
    date_trunc('minute', start_time)                                    AS minute,
    provider, request_model AS model, call_status AS status, error_type, simulated,
    rollup_tagset(tags)                                                 AS tagset,
    count(*)                                                            AS calls,
    count(*) FILTER (WHERE call_status = 'error')                       AS errors,
    count(*) FILTER (WHERE rollup_retryable(call_status, error_type))   AS retries,
    coalesce(sum(input_tokens), 0)::BIGINT                              AS input_tokens,
    coalesce(sum(cache_read_tokens), 0)::BIGINT                         AS cached_input_tokens,
    coalesce(sum(cache_write_tokens), 0)::BIGINT                        AS cache_write_tokens,
    coalesce(sum(reasoning_tokens), 0)::BIGINT                          AS reasoning_tokens,
    coalesce(sum(output_tokens), 0)::BIGINT                             AS output_tokens,
    sum(cost_usd)::DECIMAL(38, 10)                                      AS cost_usd,
    count(cost_usd)                                                     AS cost_priced,
    count(*) FILTER (WHERE call_status = 'ok' AND cost_usd IS NULL)     AS unpriced_calls
FROM c
GROUP BY ALL;

CREATE OR REPLACE MACRO rollup_latency_rows(src, lo, hi) AS TABLE
SELECT
    date_trunc('minute', start_time)                                    AS minute,
    provider, request_model AS model,
    rollup_tagset(tags)                                                 AS tagset,
    rollup_latency_bucket(duration_ms)                                  AS bucket,
    count(*)                                                            AS n
FROM query_table(src)
WHERE operation IS NOT NULL AND start_time >= lo AND start_time < hi
GROUP BY ALL;

-- The small lookup tables: new tag sets, model providers and filter values of `src`.
CREATE OR REPLACE MACRO rollup_tagset_rows(src) AS TABLE
SELECT DISTINCT rollup_tagset(tags) AS tagset, coalesce(rollup_tag_list(tags), []) AS tags
FROM query_table(src)
WHERE name = 'mmoa.route' OR operation IS NOT NULL;

CREATE OR REPLACE MACRO rollup_model_provider_rows(src) AS TABLE
SELECT DISTINCT request_model AS model, provider
FROM query_table(src)
WHERE operation IS NOT NULL AND request_model IS NOT NULL AND provider IS NOT NULL;

CREATE OR REPLACE MACRO rollup_dim_rows(src) AS TABLE
WITH s AS (SELECT * FROM query_table(src) WHERE name = 'mmoa.route' OR operation IS NOT NULL)
SELECT DISTINCT kind, value FROM (
    SELECT 'provider' AS kind, provider AS value FROM s WHERE operation IS NOT NULL
    UNION ALL SELECT 'model', request_model FROM s WHERE operation IS NOT NULL
    UNION ALL SELECT 'model', nullif(route_model, '') FROM s WHERE name = 'mmoa.route'
    UNION ALL SELECT 'category', category FROM s WHERE name = 'mmoa.route'
    UNION ALL SELECT 'tag', unnest(rollup_tag_list(tags)) FROM s
    UNION ALL SELECT 'simulated', simulated::VARCHAR FROM s
)
WHERE value IS NOT NULL;

-- Backfill: a store created before this migration gets its rollups from its spans.
INSERT INTO rollup_requests
SELECT * FROM rollup_request_rows('spans', '-infinity'::TIMESTAMP, 'infinity'::TIMESTAMP);
INSERT INTO rollup_calls
SELECT * FROM rollup_call_rows('spans', '-infinity'::TIMESTAMP, 'infinity'::TIMESTAMP);
INSERT INTO rollup_latency
SELECT * FROM rollup_latency_rows('spans', '-infinity'::TIMESTAMP, 'infinity'::TIMESTAMP);
INSERT INTO rollup_tagsets SELECT * FROM rollup_tagset_rows('spans');
INSERT INTO rollup_model_providers SELECT * FROM rollup_model_provider_rows('spans');
INSERT INTO rollup_dims SELECT * FROM rollup_dim_rows('spans');
