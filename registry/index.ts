// The registry library: what the CLI (`modelfleet registry …`) and the RegistryDatabase component use.
export { RegistryError, isRegistryError, type RegistryErrorKind } from "./errors.js";
export * from "./types.js";
export { quoteLiteral, quoteTextArray } from "./sql-literal.js";
export {
  DB_URL_ENV,
  connect,
  describeDatabaseUrl,
  formatTarget,
  redactUrl,
  resolveDatabaseUrl,
  withConnection,
  type ConnectOptions,
  type DatabaseTarget,
} from "./connection.js";
export { LOCK_STATEMENT, REGISTRY_LOCK_KEY } from "./transaction.js";
export {
  MIGRATIONS_DIR,
  MIGRATIONS_TABLE,
  parseMigrationFile,
  readMigrationFiles,
  type MigrationFile,
} from "./migration-files.js";
export {
  migrateDown,
  migrateUp,
  migrationStatus,
  type MigrateDownOptions,
  type MigrateOptions,
  type MigrationState,
} from "./migrate.js";
export { MIGRATION_LOCK_KEY, migrationPsqlScript } from "./migration-script.js";
export {
  reconcile,
  reconcileSql,
  reconcileStatements,
  type ReconcileResult,
  type ReconcileStatements,
} from "./reconcile.js";
export {
  DEFAULT_STALE_AFTER_SECONDS,
  ROUTER_QUERY,
  route,
  type RouteFailureReason,
  type RouteOptions,
  type RouteResult,
} from "./route.js";
export {
  disableModel,
  enableModel,
  listEntries,
  registerModel,
  type ChangeResult,
  type ListOptions,
  type RegisterArgs,
} from "./entries.js";
export { checkHealth, healthUrl, HEALTH_TARGETS_SQL, RECORD_HEALTH_SQL, type HealthCheckOptions, type HealthResult } from "./health.js";
export {
  authorize,
  keyFingerprint,
  REGISTRY_CHANGES_CHANNEL,
  RouterCache,
  type RouterCacheEvent,
  type RouterCacheFailureReason,
  type RouterCacheLogEntry,
  type RouterCacheLookup,
  type RouterCacheOptions,
} from "./router-cache.js";
export { lastVerification, recordVerification, type LastVerification, type VerificationRecord } from "./verifications.js";
