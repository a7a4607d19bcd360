-- Up Migration
-- Each entry may name the Gateway API Inference Extension InferencePool that serves it (docs/gateway.md): set by the
-- deploy's reconcile when the stack has `gateway.inferencePool: true`, NULL otherwise. The pool lives in the entry's
-- deployment_namespace. Routers read it next to the endpoint (routable_models, the router's index), and a change of
-- it notifies them like a changed endpoint does.
-- Keep this file plain SQL: no psql backslash commands and no `:name` outside quotes (the Job runs it through psql).

ALTER TABLE model_registry_entries
  ADD COLUMN inference_pool text,
  ADD CONSTRAINT model_registry_entries_inference_pool_check
    CHECK (length(inference_pool) <= 253
           AND inference_pool ~ '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$');

COMMENT ON COLUMN model_registry_entries.inference_pool IS
  'Name of the InferencePool (inference.networking.k8s.io/v1) serving this entry, in deployment_namespace; NULL when the stack publishes no pool.';

CREATE OR REPLACE VIEW routable_models AS
  SELECT model_name, deployment_environment, deployment_endpoint, served_model_name, engine, last_health_check_at,
         inference_pool
  FROM model_registry_entries
  WHERE deployment_status = 'ready';

DROP INDEX model_registry_entries_routable_idx;
CREATE INDEX model_registry_entries_routable_idx
  ON model_registry_entries (model_name, deployment_environment)
  INCLUDE (deployment_endpoint, last_health_check_at, inference_pool)
  WHERE deployment_status = 'ready';

CREATE OR REPLACE FUNCTION model_registry_entries_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_LEVEL = 'STATEMENT' THEN
    PERFORM pg_catalog.pg_notify('model_registry_changed', CAST(pg_catalog.json_build_object(
      'model', NULL, 'environment', NULL, 'op', 'truncate') AS text));
  ELSIF TG_OP = 'INSERT' THEN
    PERFORM pg_catalog.pg_notify('model_registry_changed', CAST(pg_catalog.json_build_object(
      'model', NEW.model_name, 'environment', NEW.deployment_environment, 'op', 'insert') AS text));
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM pg_catalog.pg_notify('model_registry_changed', CAST(pg_catalog.json_build_object(
      'model', OLD.model_name, 'environment', OLD.deployment_environment, 'op', 'delete') AS text));
  ELSIF (NEW.model_name, NEW.deployment_environment) IS DISTINCT FROM (OLD.model_name, OLD.deployment_environment) THEN
    PERFORM pg_catalog.pg_notify('model_registry_changed', CAST(pg_catalog.json_build_object(
      'model', OLD.model_name, 'environment', OLD.deployment_environment, 'op', 'delete') AS text));
    PERFORM pg_catalog.pg_notify('model_registry_changed', CAST(pg_catalog.json_build_object(
      'model', NEW.model_name, 'environment', NEW.deployment_environment, 'op', 'insert') AS text));
  ELSIF (NEW.deployment_status, NEW.deployment_endpoint, NEW.image_digest, NEW.disabled_by, NEW.last_health_check_at,
         NEW.inference_pool)
        IS DISTINCT FROM
        (OLD.deployment_status, OLD.deployment_endpoint, OLD.image_digest, OLD.disabled_by, OLD.last_health_check_at,
         OLD.inference_pool) THEN
    PERFORM pg_catalog.pg_notify('model_registry_changed', CAST(pg_catalog.json_build_object(
      'model', NEW.model_name, 'environment', NEW.deployment_environment, 'op', 'update') AS text));
  END IF;
  RETURN NULL;
END
$$;

-- Down Migration
CREATE OR REPLACE FUNCTION model_registry_entries_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_LEVEL = 'STATEMENT' THEN
    PERFORM pg_catalog.pg_notify('model_registry_changed', CAST(pg_catalog.json_build_object(
      'model', NULL, 'environment', NULL, 'op', 'truncate') AS text));
  ELSIF TG_OP = 'INSERT' THEN
    PERFORM pg_catalog.pg_notify('model_registry_changed', CAST(pg_catalog.json_build_object(
      'model', NEW.model_name, 'environment', NEW.deployment_environment, 'op', 'insert') AS text));
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM pg_catalog.pg_notify('model_registry_changed', CAST(pg_catalog.json_build_object(
      'model', OLD.model_name, 'environment', OLD.deployment_environment, 'op', 'delete') AS text));
  ELSIF (NEW.model_name, NEW.deployment_environment) IS DISTINCT FROM (OLD.model_name, OLD.deployment_environment) THEN
    PERFORM pg_catalog.pg_notify('model_registry_changed', CAST(pg_catalog.json_build_object(
      'model', OLD.model_name, 'environment', OLD.deployment_environment, 'op', 'delete') AS text));
    PERFORM pg_catalog.pg_notify('model_registry_changed', CAST(pg_catalog.json_build_object(
      'model', NEW.model_name, 'environment', NEW.deployment_environment, 'op', 'insert') AS text));
  ELSIF (NEW.deployment_status, NEW.deployment_endpoint, NEW.image_digest, NEW.disabled_by, NEW.last_health_check_at)
        IS DISTINCT FROM
        (OLD.deployment_status, OLD.deployment_endpoint, OLD.image_digest, OLD.disabled_by, OLD.last_health_check_at) THEN
    PERFORM pg_catalog.pg_notify('model_registry_changed', CAST(pg_catalog.json_build_object(
      'model', NEW.model_name, 'environment', NEW.deployment_environment, 'op', 'update') AS text));
  END IF;
  RETURN NULL;
END
$$;

DROP INDEX model_registry_entries_routable_idx;
CREATE INDEX model_registry_entries_routable_idx
  ON model_registry_entries (model_name, deployment_environment)
  INCLUDE (deployment_endpoint, last_health_check_at)
  WHERE deployment_status = 'ready';

DROP VIEW routable_models;
CREATE VIEW routable_models AS
  SELECT model_name, deployment_environment, deployment_endpoint, served_model_name, engine, last_health_check_at
  FROM model_registry_entries
  WHERE deployment_status = 'ready';

ALTER TABLE model_registry_entries
  DROP CONSTRAINT model_registry_entries_inference_pool_check,
  DROP COLUMN inference_pool;
