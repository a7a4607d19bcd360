import { ENVIRONMENTS, isEnvironment } from "../stacks/config/environments.js";
import { RegistryError } from "./errors.js";
import { DEPLOYMENT_STATUSES, ENGINES } from "./types.js";
import type { DeploymentStatus, DesiredEntry, Engine, Environment } from "./types.js";

// RFC 1123 label, as Kubernetes names Services and namespaces. Model names become part of Service names.
const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
// `host:port`: a DNS name or IPv4 address, or a bracketed IPv6 address, then a port. No scheme, no path.
const ENDPOINT = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9.]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$/;

/** Shows a received value in a message: quoted, shortened, control characters escaped. */
export function showValue(value: unknown): string {
  const text = typeof value === "string" ? value : String(value);
  const short = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  return JSON.stringify(short);
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
  if (typeof value === "string" && DNS_LABEL.test(value)) return value;
  throw new RegistryError(
    "input",
    `model name ${showValue(value)} is not a DNS label (lower-case letters, digits and "-", at most 63 characters)`,
  );
}

export function parseNamespace(value: unknown): string {
  if (typeof value === "string" && DNS_LABEL.test(value)) return value;
  throw new RegistryError("input", `namespace ${showValue(value)} is not a DNS label`);
}

export function parseDigest(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" && DIGEST.test(value)) return value;
  throw new RegistryError("input", `image digest ${showValue(value)} is not sha256:<64 lower-case hex>`);
}

export function parseEndpoint(value: unknown): string {
  if (typeof value === "string" && ENDPOINT.test(value)) {
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
  if (typeof value === "string" && value.length > 0 && value.length <= 512 && !value.includes("\u0000")) return value;
  throw new RegistryError("input", `served model name ${showValue(value)} must be 1 to 512 characters without NUL`);
}

export function parseStaleAfterSeconds(value: unknown): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n === "number" && Number.isFinite(n) && n > 0 && n <= 86_400) return n;
  throw new RegistryError("input", `stale-after ${showValue(value)} must be a number of seconds between 0 and 86400`);
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
