import { ScaledObject as KedaScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";

/**
 * Strict validation of KEDA `ScaledObject`s (`keda.sh/v1alpha1`), for synth/validate.ts.
 *
 * `@kubernetes-models/keda` 2.0.0 validates types only (it is generated from KEDA v2.19's Go types): it passes unknown
 * keys, `pollingInterval: 0`, `minReplicaCount > maxReplicaCount` and an empty trigger list, all of which the cluster
 * refuses (docs/design/autoscaling-and-gateway.md §1). So `validate()` runs it first, then checks the object against
 * the CRD schema KEDA v2.20.2 installs — `spec` vendored below, with unknown keys refused as the API server's strict
 * field validation does — and the rules the CRD states in CEL or KEDA's admission webhook checks in Go.
 */

/** autoscaling/v2 HPAScalingRules, the same for scaleUp and scaleDown in the CRD. */
const HPA_SCALING_RULES: Schema = {
  properties: {
    policies: {
      items: {
        properties: {
          periodSeconds: { format: "int32", type: "integer" },
          type: { type: "string" },
          value: { format: "int32", type: "integer" },
        },
        required: ["periodSeconds", "type", "value"],
        type: "object",
      },
      type: "array",
    },
    selectPolicy: { type: "string" },
    stabilizationWindowSeconds: { format: "int32", type: "integer" },
    tolerance: {
      anyOf: [{ type: "integer" }, { type: "string" }],
      pattern: "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
      "x-kubernetes-int-or-string": true,
    },
  },
  type: "object",
};

/**
 * `spec.versions[0].schema.openAPIV3Schema.properties.spec` of `config/crd/bases/keda.sh_scaledobjects.yaml` in
 * github.com/kedacore/keda at v2.20.2 (commit 68a5b5028f35b22d50597c69819ab32c4e92f21a, Apache-2.0), converted to
 * JSON with `description` and `x-kubernetes-list-type` left out, and the identical scaleUp/scaleDown rules written once
 * (HPA_SCALING_RULES); nothing else changed.
 */

const SCALED_OBJECT_SPEC_V2_20_2: Schema = {
  properties: {
    advanced: {
      properties: {
        horizontalPodAutoscalerConfig: {
          properties: {
            behavior: {
              properties: {
                scaleDown: HPA_SCALING_RULES,
                scaleUp: HPA_SCALING_RULES,
              },
              type: "object",
            },
            name: { type: "string" },
          },
          type: "object",
        },
        restoreToOriginalReplicaCount: { type: "boolean" },
        scalingModifiers: {
          properties: {
            activationTarget: { type: "string" },
            formula: { type: "string" },
            metricType: { enum: ["AverageValue", "Value"], type: "string" },
            target: { type: "string" },
          },
          type: "object",
        },
      },
      type: "object",
    },
    cooldownPeriod: { format: "int32", minimum: 0, type: "integer" },
    fallback: {
      properties: {
        behavior: {
          default: "static",
          enum: [
            "static",
            "currentReplicas",
            "currentReplicasIfHigher",
            "currentReplicasIfLower",
            "scalingModifiers",
          ],
          type: "string",
        },
        failureThreshold: { format: "int32", minimum: 0, type: "integer" },
        replicas: { format: "int32", minimum: 0, type: "integer" },
      },
      required: ["failureThreshold", "replicas"],
      type: "object",
    },
    idleReplicaCount: { format: "int32", minimum: 0, type: "integer" },
    initialCooldownPeriod: { format: "int32", minimum: 0, type: "integer" },
    maxReplicaCount: { format: "int32", minimum: 1, type: "integer" },
    minReplicaCount: { format: "int32", minimum: 0, type: "integer" },
    pollingInterval: { format: "int32", minimum: 1, type: "integer" },
    scaleTargetRef: {
      properties: {
        apiVersion: { type: "string" },
        envSourceContainerName: { type: "string" },
        kind: { type: "string" },
        name: { minLength: 1, type: "string" },
      },
      required: ["name"],
      type: "object",
    },
    triggers: {
      items: {
        properties: {
          authenticationRef: {
            properties: {
              kind: { enum: ["TriggerAuthentication", "ClusterTriggerAuthentication"], type: "string" },
              name: { type: "string" },
            },
            required: ["name"],
            type: "object",
          },
          metadata: { additionalProperties: { type: "string" }, type: "object" },
          metricType: { type: "string" },
          name: { type: "string" },
          type: { minLength: 1, type: "string" },
          useCachedMetrics: { type: "boolean" },
        },
        required: ["metadata", "type"],
        type: "object",
      },
      minItems: 1,
      type: "array",
    },
  },
  required: ["scaleTargetRef", "triggers"],
  type: "object",
  "x-kubernetes-validations": [
    {
      message: "minReplicaCount must be less than or equal to maxReplicaCount",
      rule: "!has(self.minReplicaCount) || self.minReplicaCount <= (has(self.maxReplicaCount) ? self.maxReplicaCount : 100)",
    },
  ],
};

/** The part of OpenAPI v3 (structural schema) the vendored CRD uses. */
interface Schema {
  readonly type?: "object" | "array" | "string" | "integer" | "boolean" | "number";
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly additionalProperties?: Schema;
  readonly required?: readonly string[];
  readonly items?: Schema;
  readonly enum?: readonly string[];
  readonly minimum?: number;
  readonly minLength?: number;
  readonly minItems?: number;
  readonly pattern?: string;
  readonly format?: string;
  readonly default?: unknown;
  readonly anyOf?: readonly Schema[];
  readonly "x-kubernetes-int-or-string"?: boolean;
  readonly "x-kubernetes-validations"?: readonly { readonly message: string; readonly rule: string }[];
}

/** One problem, in the shape kubernetes-models' validators report (synth/validate.ts reads it). */
export interface KedaSchemaError {
  readonly instancePath: string;
  readonly message: string;
}

/** Thrown by `ScaledObject.validate()`: every problem found, like kubernetes-models' ValidationError. */
export class KedaValidationError extends Error {
  constructor(readonly errors: readonly KedaSchemaError[]) {
    super(errors.map((e) => `${e.instancePath || "/"} ${e.message}`).join("; "));
    this.name = "KedaValidationError";
  }
}

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;
/** KEDA's default `maxReplicaCount` (`defaultHPAMaxReplicas`), which the CRD's CEL rule compares against. */
const DEFAULT_MAX_REPLICA_COUNT = 100;
/** Top-level keys of the CRD's schema; `status` is written by KEDA. */
const TOP_LEVEL_KEYS = ["apiVersion", "kind", "metadata", "spec", "status"];

/**
 * A ScaledObject to validate, used like kubernetes-models' classes: `new ScaledObject(json).validate()` throws a
 * `KedaValidationError` listing every problem, or returns when the object would be accepted by KEDA ≥ 2.20.
 */
export class ScaledObject {
  static readonly apiVersion = "keda.sh/v1alpha1";
  static readonly kind = "ScaledObject";

  constructor(private readonly data: unknown) {}

  validate(): void {
    const errors = scaledObjectErrors(this.data);
    if (errors.length > 0) throw new KedaValidationError(errors);
  }
}

/** Every problem of `data` as a ScaledObject, deduplicated, in a stable order (types first, then the CRD's rules). */
export function scaledObjectErrors(data: unknown): KedaSchemaError[] {
  const errors: KedaSchemaError[] = [];
  try {
    new KedaScaledObject(data as never).validate();
  } catch (error) {
    const found = (error as { errors?: { instancePath?: string; message?: string }[] }).errors;
    if (!found) throw error;
    for (const e of found) errors.push({ instancePath: e.instancePath ?? "", message: e.message ?? "is invalid" });
  }
  if (!isObject(data)) return dedupe([...errors, { instancePath: "", message: "must be object" }]);
  if (data["apiVersion"] !== ScaledObject.apiVersion) errors.push({ instancePath: "/apiVersion", message: `must be "${ScaledObject.apiVersion}"` });
  if (data["kind"] !== ScaledObject.kind) errors.push({ instancePath: "/kind", message: `must be "${ScaledObject.kind}"` });
  for (const key of Object.keys(data)) {
    if (!TOP_LEVEL_KEYS.includes(key)) errors.push({ instancePath: "", message: unknownKey(key, TOP_LEVEL_KEYS) });
  }
  if (!("spec" in data)) errors.push({ instancePath: "", message: "must have required property 'spec'" });
  else {
    walk(data["spec"], SCALED_OBJECT_SPEC_V2_20_2, "/spec", errors);
    if (isObject(data["spec"])) errors.push(...specRules(data["spec"]));
  }
  return dedupe(errors);
}

/** The CEL rule of the v2.20 CRD, and the checks of KEDA's admission webhook (`scaledobject_types.go`@v2.20.2). */
function specRules(spec: Record<string, unknown>): KedaSchemaError[] {
  const out: KedaSchemaError[] = [];
  const min = spec["minReplicaCount"];
  const max = spec["maxReplicaCount"] ?? DEFAULT_MAX_REPLICA_COUNT;
  if (typeof min === "number" && typeof max === "number" && min > max) {
    out.push({
      instancePath: "/spec/minReplicaCount",
      message: `minReplicaCount must be less than or equal to maxReplicaCount (got ${min} > ${max}${spec["maxReplicaCount"] === undefined ? ", the default" : ""})`,
    });
  }
  // CheckFallbackValid: a fallback needs a trigger whose metric KEDA computes itself (not cpu/memory).
  const triggers = Array.isArray(spec["triggers"]) ? spec["triggers"] : [];
  if (spec["fallback"] !== undefined && triggers.length > 0 && triggers.every((t) => isObject(t) && (t["type"] === "cpu" || t["type"] === "memory"))) {
    out.push({ instancePath: "/spec/fallback", message: "must not be set when every trigger is cpu or memory (KEDA cannot compute a fallback for them)" });
  }
  return out;
}

function walk(value: unknown, schema: Schema, path: string, errors: KedaSchemaError[]): void {
  if (schema.anyOf) {
    if (!schema.anyOf.some((s) => matchesType(value, s))) errors.push({ instancePath: path, message: `must be ${schema.anyOf.map((s) => s.type).join(" or ")}` });
    if (schema.pattern && typeof value === "string" && !new RegExp(schema.pattern).test(value)) errors.push({ instancePath: path, message: `must match pattern "${schema.pattern}"` });
    return;
  }
  if (schema.type && !matchesType(value, schema)) {
    errors.push({ instancePath: path, message: `must be ${schema.type}` });
    return;
  }
  if (typeof value === "number") {
    if (schema.format === "int32" && (value < INT32_MIN || value > INT32_MAX)) errors.push({ instancePath: path, message: "must be a 32-bit integer" });
    if (schema.minimum !== undefined && value < schema.minimum) errors.push({ instancePath: path, message: `must be >= ${schema.minimum}` });
  }
  if (typeof value === "string") {
    if (schema.minLength !== undefined && value.length < schema.minLength) errors.push({ instancePath: path, message: `must NOT have fewer than ${schema.minLength} characters` });
    if (schema.enum && !schema.enum.includes(value)) errors.push({ instancePath: path, message: `must be equal to one of the allowed values: ${schema.enum.join(", ")}` });
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) errors.push({ instancePath: path, message: `must match pattern "${schema.pattern}"` });
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push({ instancePath: path, message: `must NOT have fewer than ${schema.minItems} items` });
    if (schema.items) value.forEach((item, i) => walk(item, schema.items as Schema, `${path}/${i}`, errors));
  }
  if (isObject(value)) {
    for (const key of schema.required ?? []) {
      if (!(key in value)) errors.push({ instancePath: path, message: `must have required property '${key}'` });
    }
    const properties = schema.properties ?? {};
    for (const [key, child] of Object.entries(value)) {
      const childPath = `${path}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
      const childSchema = properties[key] ?? schema.additionalProperties;
      if (childSchema) walk(child, childSchema, childPath, errors);
      else errors.push({ instancePath: path, message: unknownKey(key, Object.keys(properties)) });
    }
  }
}

function matchesType(value: unknown, schema: Schema): boolean {
  switch (schema.type) {
    case undefined:
      return true;
    case "object":
      return isObject(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    default: {
      const never: never = schema.type;
      return never;
    }
  }
}

function unknownKey(key: string, allowed: readonly string[]): string {
  return `must NOT have additional property "${key}" (allowed: ${[...allowed].sort().join(", ")}); the KEDA v2.20 CRD has no such field`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function dedupe(errors: readonly KedaSchemaError[]): KedaSchemaError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.instancePath}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
