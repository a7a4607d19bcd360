/** Names and ports of the registry database's objects: part of the API (the router connects to them). */
export const REGISTRY_NAME = "modelfleet-registry";
export const REGISTRY_HEADLESS_NAME = `${REGISTRY_NAME}-headless`;
export const REGISTRY_SECRET_NAME = `${REGISTRY_NAME}-credentials`;
export const REGISTRY_SCRIPTS_NAME = `${REGISTRY_NAME}-scripts`;
export const REGISTRY_HEALTH_NAME = `${REGISTRY_NAME}-health`;
export const POSTGRES_PORT = 5432;
export const DATABASE = "modelfleet";
export const DATABASE_USER = "modelfleet";

/** Keys of the credentials Secret. `url` is what every client reads; `password` only the in-cluster server. */
export const SECRET_KEYS = { url: "url", password: "password" } as const;

/** The alpine postgres image's `postgres` user. */
export const POSTGRES_UID = 70;

/** Labels of the migration and registration Job pods; the database's NetworkPolicy admits them. */
export const REGISTRY_JOB_LABELS: Readonly<Record<string, string>> = {
  "app.kubernetes.io/component": "registry-jobs",
  "app.kubernetes.io/part-of": "modelfleet",
};

export const REGISTRY_DB_LABELS: Readonly<Record<string, string>> = {
  "app.kubernetes.io/component": "registry-database",
  "app.kubernetes.io/name": REGISTRY_NAME,
  "app.kubernetes.io/part-of": "modelfleet",
};

/** The in-cluster server's address, as clients in the cluster reach it. */
export function registryHost(namespace: string): string {
  return `${REGISTRY_NAME}.${namespace}.svc.cluster.local`;
}
