import { ENVIRONMENTS, isEnvironment } from "../config/environments.js";
import { preview } from "../config/limits.js";
import { holdsCredential } from "../config/problems.js";
import { RegistryError } from "./errors.js";
import { DEPLOYMENT_STATUSES, ENGINES } from "./types.js";
import type { DeploymentStatus, DesiredEntry, Engine, Environment } from "./types.js";

// RFC 1123 label, as Kubernetes names Services and namespaces. Model names become part of Service names.
const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
// `host:port`: a DNS name or IPv4 address, or a bracketed IPv6 address, then a port. No scheme, no path.
const ENDPOINT = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9.]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$/;

/**
 * Bounds on every value the registry accepts (library and `modelfleet registry` flags), in one place. Each is
 * checked before the value reaches a query, a timer or a loop.
 */
export const REGISTRY_LIMITS = {
  /** Model names and namespaces are DNS labels. */
  nameMaxLength: 63,
  /** InferencePool names: Kubernetes object names (DNS subdomains). */
  objectNameMaxLength: 253,
  /** `host:port`: a DNS name (≤ 253) plus `:` and a 5-digit port. */
  endpointMaxLength: 259,
  /** Free-text served model name (`org/Model-8B`). */
  servedNameMaxLength: 512,
  /** Per-probe health timeout, in ms. Above it Node would clamp the timer to 1 ms, and every probe would time out. */
  healthTimeoutMs: { min: 1, max: 300_000 },
  /** `registry health --timeout`: 1 to 300 s, written in ms. */
  cliHealthTimeoutMs: { min: 1_000, max: 300_000 },
  /** Probes in flight at once. */
  healthConcurrency: { min: 1, max: 64 },
  /** Freshness threshold of a health check, in seconds (one day at most). */
  staleAfterSeconds: { min: 1, max: 86_400 },
  /** `registry migrate down --count`. */
  migrateDownCount: { min: 1, max: 100 },
} as const;

/**
 * Shows a received value in a message: quoted, cut at 40 characters with "…(N chars)", control characters escaped; a
 * value that looks like a credential is described, never shown (a token pasted into the wrong flag).
 */
export function showValue(value: unknown): string {
  if (holdsCredential(value)) return "(not shown: it looks like a credential)";
  return preview(typeof value === "string" ? value : String(value));
}

/**
 * A whole number within [min, max] from a flag's text (digits only: no sign, exponent, fraction or spaces) or from
 * a number. @throws RegistryError("input") naming the flag, the value (shortened) and the range.
 */
export function parseBoundedInteger(flag: string, value: unknown, range: { readonly min: number; readonly max: number }, unit: string): number {
  const n = typeof value === "string" ? (/^[0-9]{1,15}$/.test(value) ? Number(value) : Number.NaN) : value;
  if (typeof n === "number" && Number.isInteger(n) && n >= range.min && n <= range.max) return n;
  throw new RegistryError("input", `${flag} ${showValue(value)} must be a whole number of ${unit} from ${range.min} to ${range.max}`);
}

export function parseEnvironment(value: unknown): Environment {
  if (isEnvironment(value)) return value;
  throw new RegistryError("input", `environment ${showValue(value)} is not one of ${ENVIRONMENTS.join(", ")}`);
}

export function parseEngine(value: unknown): Engine {
  if (typeof value === "string" && (ENGINES as readonly string[]).includes(value)) return value as Engine;
  throw new RegistryError("input", `engine ${showValue(value)} is not one of ${ENGINES.join(", ")}`);
}

export function parseStatus(value: unknown): DeploymentStatus {
  if (typeof value === "string" && (DEPLOYMENT_STATUSES as readonly string[]).includes(value)) {
    return value as DeploymentStatus;
  }
  throw new RegistryError("input", `status ${showValue(value)} is not one of ${DEPLOYMENT_STATUSES.join(", ")}`);
}

export function parseModelName(value: unknown): string {
  if (typeof value === "string" && value.length <= REGISTRY_LIMITS.nameMaxLength && DNS_LABEL.test(value)) return value;
  throw new RegistryError(
    "input",
    `model name ${showValue(value)} is not a DNS label (lower-case letters, digits and "-", at most 63 characters)`,
  );
}

export function parseNamespace(value: unknown): string {
  if (typeof value === "string" && value.length <= REGISTRY_LIMITS.nameMaxLength && DNS_LABEL.test(value)) return value;
  throw new RegistryError("input", `namespace ${showValue(value)} is not a DNS label (lower-case letters, digits and "-", at most 63 characters)`);
}

export function parseDigest(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" && DIGEST.test(value)) return value;
  throw new RegistryError("input", `image digest ${showValue(value)} is not sha256:<64 lower-case hex>`);
}

export function parseEndpoint(value: unknown): string {
  if (typeof value === "string" && value.length <= REGISTRY_LIMITS.endpointMaxLength && ENDPOINT.test(value)) {
    const port = Number(value.slice(value.lastIndexOf(":") + 1));
    if (port >= 1 && port <= 65535) return value;
  }
  throw new RegistryError(
    "input",
    `endpoint ${showValue(value)} is not host:port (e.g. llama-production.inference.svc.cluster.local:8000)`,
  );
}

export function parseServedModelName(value: unknown): string {
  // Free text chosen by whoever serves the model (`org/Model-8B`): only require it to be a sane, printable string.
  if (typeof value === "string" && value.length > 0 && value.length <= REGISTRY_LIMITS.servedNameMaxLength && !value.includes("\u0000")) return value;
  throw new RegistryError("input", `served model name ${showValue(value)} must be 1 to ${REGISTRY_LIMITS.servedNameMaxLength} characters without NUL`);
}

const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

/** An InferencePool name (a Kubernetes object name: DNS subdomain, at most 253 characters), or null for none. */
export function parseInferencePool(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" && value.length <= REGISTRY_LIMITS.objectNameMaxLength && DNS_SUBDOMAIN.test(value)) return value;
  throw new RegistryError(
    "input",
    `inference pool ${showValue(value)} is not a Kubernetes object name (lower-case letters, digits, "-" and ".", at most 253 characters, e.g. qwen3-production)`,
  );
}

/** `--stale-after` / `staleAfterSeconds`: whole seconds, 1 to 86400. */
export function parseStaleAfterSeconds(value: unknown, flag = "--stale-after"): number {
  return parseBoundedInteger(flag, value, REGISTRY_LIMITS.staleAfterSeconds, "seconds");
}

/** Checks every desired entry and the list as a whole; throws once listing every problem with its index. */
export function parseDesiredEntries(desired: readonly DesiredEntry[]): readonly DesiredEntry[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  desired.forEach((entry, index) => {
    const at = `desired[${index}]`;
    const checks: Array<[string, () => unknown]> = [
      ["modelName", () => parseModelName(entry.modelName)],
      ["engine", () => parseEngine(entry.engine)],
      ["servedModelName", () => parseServedModelName(entry.servedModelName)],
      ["imageDigest", () => parseDigest(entry.imageDigest)],
      ["endpoint", () => parseEndpoint(entry.endpoint)],
      ["namespace", () => parseNamespace(entry.namespace)],
      ["inferencePool", () => parseInferencePool(entry.inferencePool)],
    ];
    for (const [field, check] of checks) {
      try {
        check();
      } catch (error) {
        problems.push(`${at}.${field}: ${(error as Error).message}`);
      }
    }
    const first = seen.get(entry.modelName);
    if (first !== undefined) problems.push(`${at}.modelName: ${showValue(entry.modelName)} already at desired[${first}]`);
    else seen.set(entry.modelName, index);
  });
  if (problems.length > 0) {
    throw new RegistryError("input", `invalid desired models: ${problems.join("; ")}`);
  }
  return desired;
}
