-- Up Migration
-- Routers are told at once: every change a router's route table depends on sends a NOTIFY on the channel
-- model_registry_changed, delivered to listeners when the writing transaction commits (registry/router-cache.ts).
-- Payload: small JSON, never anything secret: {"model": "<name>", "environment": "<env>", "op": "insert" | "update"
-- | "delete"}; a TRUNCATE sends {"model": null, "environment": null, "op": "truncate"} (listeners reload everything).
-- An UPDATE notifies only when the status, endpoint, image digest, disabled_by or last health check changed; one
-- that moves a row to another (model, environment) notifies a delete of the old key and an insert of the new one.
-- Keep this file plain SQL: no psql backslash commands and no `:name` outside quotes (the Job runs it through psql).

CREATE FUNCTION model_registry_entries_notify_change() RETURNS trigger
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

CREATE TRIGGER model_registry_entries_notify_change
  AFTER INSERT OR UPDATE OR DELETE ON model_registry_entries
  FOR EACH ROW EXECUTE FUNCTION model_registry_entries_notify_change();

CREATE TRIGGER model_registry_entries_notify_truncate
  AFTER TRUNCATE ON model_registry_entries
  FOR EACH STATEMENT EXECUTE FUNCTION model_registry_entries_notify_change();

-- Down Migration
DROP TRIGGER model_registry_entries_notify_truncate ON model_registry_entries;
DROP TRIGGER model_registry_entries_notify_change ON model_registry_entries;
DROP FUNCTION model_registry_entries_notify_change();
