-- Routing strategies: escalations of a cascade, ensemble agreement, agent roles, the judge.
ALTER TABLE spans ADD COLUMN escalations INTEGER;      -- decision: cascade/verify escalations
ALTER TABLE spans ADD COLUMN agreement DOUBLE;         -- decision: share of ensemble members agreeing
ALTER TABLE spans ADD COLUMN role VARCHAR;             -- decision: agent role named by the caller
ALTER TABLE spans ADD COLUMN judge_confidence DOUBLE;  -- call: the judge's confidence in its answer
ALTER TABLE spans ADD COLUMN attempt_role VARCHAR;     -- call: answer (NULL), verifier, synthesizer
