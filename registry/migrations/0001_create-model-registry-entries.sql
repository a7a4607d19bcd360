-- Up Migration
-- model_registry_entries: one row per (model, environment), the router's source of truth.
-- Applied by node-pg-migrate (`modelfleet registry migrate up`) or by the in-cluster Job's generated psql script
-- (registry/migration-script.ts); both record this file's name in "public"."pgmigrations".
-- Keep this file plain SQL: no psql backslash commands and no `:name` outside quotes (the Job runs it through psql).

CREATE TABLE model_registry_entries (
  id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  model_name             text NOT NULL,
  engine                 text NOT NULL,
  served_model_name      text NOT NULL,
  image_digest           text,
  deployment_endpoint    text NOT NULL,
  deployment_status      text NOT NULL DEFAULT 'pending',
  deployment_environment text NOT NULL,
  deployment_namespace   text NOT NULL,
  managed_by             text NOT NULL DEFAULT 'stack',
  disabled_by            text,
  last_health_check_at   timestamptz,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT model_registry_entries_model_environment_key UNIQUE (model_name, deployment_environment),
  CONSTRAINT model_registry_entries_model_name_check
    CHECK (model_name ~ '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'),
  CONSTRAINT model_registry_entries_engine_check CHECK (engine IN ('vllm', 'llamacpp')),
  CONSTRAINT model_registry_entries_image_digest_check
    CHECK (image_digest IS NULL OR image_digest ~ '^sha256:[0-9a-f]{64}$'),
  CONSTRAINT model_registry_entries_deployment_status_check
    CHECK (deployment_status IN ('pending', 'deploying', 'ready', 'degraded', 'disabled', 'failed')),
  CONSTRAINT model_registry_entries_deployment_environment_check
    CHECK (deployment_environment IN ('development', 'staging', 'production')),
  CONSTRAINT model_registry_entries_managed_by_check CHECK (managed_by IN ('stack', 'manual')),
  CONSTRAINT model_registry_entries_disabled_by_check
    CHECK (disabled_by IN ('operator', 'reconcile') AND deployment_status = 'disabled'
           OR disabled_by IS NULL AND deployment_status <> 'disabled')
);

COMMENT ON TABLE model_registry_entries IS
  'Deployed models per environment; written by modelfleet (reconcile Job, health CronJob, registry CLI), read by the router.';
COMMENT ON COLUMN model_registry_entries.managed_by IS
  'stack: written by the deploy''s reconcile; manual: added with `modelfleet registry register`, never touched by reconcile.';
COMMENT ON COLUMN model_registry_entries.disabled_by IS
  'Why a disabled entry is disabled: operator (sticky until `registry enable`) or reconcile (model left the stack).';
COMMENT ON COLUMN model_registry_entries.updated_at IS
  'Last change to anything but last_health_check_at (health-check heartbeats do not move it).';

-- The router's lookup: only ready rows, keyed like its query, carrying what it reads (index-only scans).
CREATE INDEX model_registry_entries_routable_idx
  ON model_registry_entries (model_name, deployment_environment)
  INCLUDE (deployment_endpoint, last_health_check_at)
  WHERE deployment_status = 'ready';

CREATE FUNCTION model_registry_entries_touch_updated_at() RETURNS trigger
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

CREATE TRIGGER model_registry_entries_touch_updated_at
  BEFORE UPDATE ON model_registry_entries
  FOR EACH ROW EXECUTE FUNCTION model_registry_entries_touch_updated_at();

-- What the router may route to. Freshness is the caller's threshold (default 90 s):
--   SELECT deployment_endpoint FROM routable_models
--   WHERE model_name = $1 AND deployment_environment = $2
--     AND last_health_check_at >= now() - make_interval(secs => $3);
CREATE VIEW routable_models AS
  SELECT model_name, deployment_environment, deployment_endpoint, served_model_name, engine, last_health_check_at
  FROM model_registry_entries
  WHERE deployment_status = 'ready';

-- Down Migration
DROP VIEW routable_models;
DROP TRIGGER model_registry_entries_touch_updated_at ON model_registry_entries;
DROP FUNCTION model_registry_entries_touch_updated_at();
DROP TABLE model_registry_entries;
