-- Where the tokens go: plain vs cached input, visible vs reasoning output, per model.
SELECT
    model,
    sum(input_tokens - coalesce(cached_input_tokens, 0) - coalesce(cache_write_tokens, 0)) AS plain_input,
    sum(cached_input_tokens)               AS cached_input,
    sum(cache_write_tokens)                AS cache_write,
    sum(output_tokens - coalesce(reasoning_tokens, 0)) AS visible_output,
    sum(reasoning_tokens)                  AS reasoning_output,
    sum(cost_usd)                          AS spend_usd
FROM calls
WHERE status = 'ok'
GROUP BY ALL
ORDER BY spend_usd DESC NULLS LAST;
