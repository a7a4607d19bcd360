import type { K8sObject } from "../../components/shared/k8s-object.js";
import { isRecord } from "../k8s.js";

/**
 * Values @pulumi/policy puts where a property is unknown during preview (its proxy.js; @internal there, so copied
 * here and checked against it by test/policies/pack.test.ts). They are dropped: an unknown value is computed by
 * another resource, never a literal, so there is nothing to judge.
 */
export const UNKNOWN_SENTINELS: ReadonlySet<string> = new Set([
  "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
  "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
  "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
  "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
  "030794c1-ac77-496b-92df-f27374a8bd58",
  "e48ece36-62e2-4504-bad9-02848725956a",
  "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
]);

/** `kubernetes:apps/v1:Deployment` → apps/v1 Deployment; `kubernetes:core/v1:Secret` → v1 Secret. */
const K8S_TYPE = /^kubernetes:([^:]+):([A-Za-z0-9]+)$/;
/** Pulumi resource types that are not objects in the cluster (charts, YAML groups, the provider itself). */
const NOT_OBJECTS = /^kubernetes:(yaml|helm\.sh|kustomize)[^:]*:/;

export interface ConvertedResource {
  readonly object: K8sObject;
  /** A `…Patch` resource: a partial object, judged only by the content rules (secrets, CORS). */
  readonly partial: boolean;
}

/**
 * Turns a CrossGuard resource (`args.type` + `args.props`) into the plain K8sObject the rules read, or undefined for
 * anything that is not a Kubernetes object. The name falls back to the Pulumi resource name (auto-naming).
 */
export function toK8sObject(type: string, props: Record<string, unknown>, resourceName: string): ConvertedResource | undefined {
  if (NOT_OBJECTS.test(type)) return undefined;
  const match = K8S_TYPE.exec(type);
  if (!match) return undefined;
  const [, module, typeKind] = match as unknown as [string, string, string];
  if (typeKind.endsWith("List")) return undefined;
  const plain = plainJson(unwrapProxy(props));
  if (!isRecord(plain)) return undefined;
  const partial = typeKind.endsWith("Patch");
  const derivedKind = partial ? typeKind.slice(0, -"Patch".length) : typeKind;
  const derivedApiVersion = module.startsWith("core/") ? module.slice("core/".length) : module;
  const apiVersion = typeof plain["apiVersion"] === "string" ? plain["apiVersion"] : derivedApiVersion;
  const kind = typeof plain["kind"] === "string" ? plain["kind"] : derivedKind;
  const metadata = isRecord(plain["metadata"]) ? plain["metadata"] : {};
  const name = typeof metadata["name"] === "string" ? metadata["name"] : resourceName;
  return { object: { ...plain, apiVersion, kind, metadata: { ...metadata, name } }, partial };
}

/** @pulumi/policy wraps props in a proxy that throws on unknown values; its raw target is plain data. */
function unwrapProxy(value: unknown): unknown {
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    if (record["__isSpecialProxy"] === true) return record["__getSpecialProxyTarget"];
  }
  return value;
}

function plainJson(value: unknown): unknown {
  if (typeof value === "string") return UNKNOWN_SENTINELS.has(value) ? undefined : value;
  if (Array.isArray(value)) return value.map(plainJson).filter((v) => v !== undefined);
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const plain = plainJson(v);
      if (plain !== undefined) out[k] = plain;
    }
    return out;
  }
  return value;
}
