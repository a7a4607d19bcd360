-- Up Migration
-- `modelfleet verify` records its last result per (model, environment), so `promote --require-verified` can gate on
-- "the completion test passed in the source environment, on the digest being promoted, within N minutes".
-- Verification results are observations like health checks: they do not move updated_at and notify no router.
-- Keep this file plain SQL: no psql backslash commands and no `:name` outside quotes (the Job runs it through psql).

ALTER TABLE model_registry_entries
  ADD COLUMN last_verified_at timestamptz,
  ADD COLUMN last_verify_outcome text,
  ADD COLUMN last_verify_latency_ms integer,
  ADD COLUMN last_verified_digest text,
  ADD CONSTRAINT model_registry_entries_last_verify_outcome_check
    CHECK (last_verify_outcome IN ('passed', 'failed')),
  ADD CONSTRAINT model_registry_entries_last_verify_latency_ms_check
    CHECK (last_verify_latency_ms >= 0),
  ADD CONSTRAINT model_registry_entries_last_verified_digest_check
    CHECK (last_verified_digest ~ '^sha256:[0-9a-f]{64}$');

COMMENT ON COLUMN model_registry_entries.last_verified_at IS
  'When `modelfleet verify` last ran against this entry (with --record); NULL if never.';
COMMENT ON COLUMN model_registry_entries.last_verified_digest IS
  'The image digest the entry ran when it was last verified (a promotion gate requires the digest being promoted).';

CREATE OR REPLACE FUNCTION model_registry_entries_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF (to_jsonb(NEW) - 'last_health_check_at' - 'updated_at' - 'last_verified_at' - 'last_verify_outcome'
        - 'last_verify_latency_ms' - 'last_verified_digest')
     IS DISTINCT FROM (to_jsonb(OLD) - 'last_health_check_at' - 'updated_at' - 'last_verified_at'
        - 'last_verify_outcome' - 'last_verify_latency_ms' - 'last_verified_digest') THEN
    NEW.updated_at := now();
  ELSE
    NEW.updated_at := OLD.updated_at;
  END IF;
  RETURN NEW;
END
$$;

-- Down Migration
CREATE OR REPLACE FUNCTION model_registry_entries_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF (to_jsonb(NEW) - 'last_health_check_at' - 'updated_at')
     IS DISTINCT FROM (to_jsonb(OLD) - 'last_health_check_at' - 'updated_at') THEN
    NEW.updated_at := now();
  ELSE
    NEW.updated_at := OLD.updated_at;
  END IF;
  RETURN NEW;
END
$$;

ALTER TABLE model_registry_entries
  DROP COLUMN last_verified_digest,
  DROP COLUMN last_verify_latency_ms,
  DROP COLUMN last_verify_outcome,
  DROP COLUMN last_verified_at;
