/**
 * What differs between engines, as data: the shared Deployment builder (model-objects.ts) turns it into a pod.
 * Engines differ in command line, environment, readiness endpoint and shared-memory needs; everything else
 * (probes' timing, security, GPU scheduling, volumes) is the same for both.
 */
export interface EngineContainer {
  readonly command: readonly string[];
  readonly args: readonly string[];
  /** Plain environment variables: never secrets. */
  readonly env: Readonly<Record<string, string>>;
  /** Environment variables read from the model's credentials Secret: variable → Secret key. */
  readonly secretEnv: Readonly<Record<string, string>>;
  /** Mount the credentials Secret's `api-key` as a file (llama.cpp's --api-key-file). */
  readonly apiKeyFile?: string;
  /** Path answering 200 only when the model can serve requests. */
  readonly readinessPath: string;
  /** Path answering 200 while the server process is healthy. */
  readonly livenessPath: string;
  /** Size of the /dev/shm memory volume in GiB (counted in the memory limit). */
  readonly shmGiB: number;
  /** The engine settings, as the ConfigMap shows them to operators and the router. */
  readonly settings: Readonly<Record<string, string>>;
}

/** Where volumes are mounted inside every engine container. */
export const MOUNTS = {
  cache: "/cache",
  home: "/home/modelfleet",
  tmp: "/tmp",
  shm: "/dev/shm",
  models: "/models",
  secrets: "/run/secrets/modelfleet",
} as const;

/** Keys of the per-model credentials Secret; its values exist only on the Pulumi path. */
export const SECRET_KEYS = { apiKey: "api-key", hfToken: "hf-token" } as const;

export function credentialsSecretName(serviceName: string): string {
  return `${serviceName}-credentials`;
}

export function settingsConfigMapName(serviceName: string): string {
  return `${serviceName}-settings`;
}
