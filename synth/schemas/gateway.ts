/**
 * Validators for the Gateway API Inference Extension `InferencePool` (inference.networking.k8s.io/v1) and the Gateway
 * API `HTTPRoute` (gateway.networking.k8s.io/v1), with the interface of kubernetes-models classes:
 * `new InferencePool(obj).validate()` throws `{ errors: [{ instancePath, message }] }`.
 *
 * Written from the constraints of the published CRDs (facts, not copied schema text):
 * - InferencePool: GAIE `config/crd/bases/inference.networking.k8s.io_inferencepools.yaml` at v1.6.0 (992e5c29),
 *   and the stricter parts of v1.0.0 (ffea2632) so an object passes on every v1 CRD a cluster may run:
 *   `endpointPickerRef` required (v1.0.0–v1.5.0), at most one target port (v1.0.0), no `appProtocol` (added v1.4.0).
 *   CEL rules as checks: target port numbers unique; `endpointPickerRef.port` required when kind is Service.
 * - HTTPRoute: gateway-api `config/crd/standard/gateway.networking.k8s.io_httproutes.yaml` at v1.4.0 (5e5891a5),
 *   version v1, for the fields modelfleet emits (parentRefs, hostnames, rules with matches, backendRefs and
 *   timeouts); filters, sessionPersistence and retry are refused as unknown. CEL rules as checks: path values for
 *   Exact/PathPrefix, "port required for a core Service backend", duplicate parents need distinct sectionNames,
 *   fewer than 128 matches per route, backendRequest timeout ≤ request timeout.
 * Every object level refuses keys the CRD does not define (a misspelt field would otherwise be pruned silently).
 *
 * ajv is the validator kubernetes-models itself runs (through @kubernetes-models/validate). It is loaded and the
 * schemas compiled on first use (about 0.4 s once), so a synth with no gateway objects does not pay for it.
 */
import { createRequire } from "node:module";
import type { Ajv, ErrorObject, SchemaObject, ValidateFunction } from "ajv";

/** One problem, shaped like ajv's (and kubernetes-models') errors: a JSON pointer and a message. */
export interface GatewaySchemaProblem {
  readonly instancePath: string;
  readonly message: string;
}

/** What `validate()` throws: synth/validate.ts reads `errors`. */
export class GatewaySchemaError extends Error {
  readonly errors: readonly GatewaySchemaProblem[];
  constructor(kind: string, errors: readonly GatewaySchemaProblem[]) {
    super(`${kind} does not match its schema: ${errors.map((e) => `${e.instancePath || "(object)"} ${e.message}`).join("; ")}`);
    this.name = "GatewaySchemaError";
    this.errors = errors;
  }
}

// --- shared pieces -------------------------------------------------------------------------------------------------

const DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
const GROUP = "^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const KIND = "^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$";
const LABEL_VALUE = "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$";
// A label key: optional DNS-subdomain prefix (≤ 253) and "/", then a name of ≤ 63 characters.
const LABEL_KEY = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
const HEADER_NAME = "^[A-Za-z0-9!#$%&'*+\\-.^_`|~]+$";
const DURATION = "^([0-9]{1,5}(h|m|s|ms)){1,4}$";

const str = (min: number, max: number, pattern?: string): SchemaObject => ({
  type: "string",
  minLength: min,
  maxLength: max,
  ...(pattern ? { pattern } : {}),
});
const port: SchemaObject = { type: "integer", minimum: 1, maximum: 65535 };
const closed = (properties: Record<string, SchemaObject>, required: readonly string[] = []): SchemaObject => ({
  type: "object",
  properties,
  ...(required.length > 0 ? { required: [...required] } : {}),
  additionalProperties: false,
});

const labelMap: SchemaObject = {
  type: "object",
  propertyNames: { type: "string", maxLength: 317, pattern: LABEL_KEY },
  additionalProperties: str(0, 63, LABEL_VALUE),
};

/** What modelfleet's builders put in metadata; anything else (uid, managedFields…) has no place in desired state. */
const objectMeta: SchemaObject = closed(
  {
    name: str(1, 253, DNS_SUBDOMAIN),
    namespace: str(1, 63, DNS_LABEL),
    labels: labelMap,
    annotations: { type: "object", additionalProperties: { type: "string" } },
  },
  ["name"],
);

const envelope = (apiVersion: string, kind: string, spec: SchemaObject): SchemaObject =>
  closed({ apiVersion: { const: apiVersion }, kind: { const: kind }, metadata: objectMeta, spec }, ["apiVersion", "kind", "metadata", "spec"]);

// --- InferencePool -------------------------------------------------------------------------------------------------

const portNumber = closed({ number: port }, ["number"]);

const inferencePoolSchema = envelope(
  "inference.networking.k8s.io/v1",
  "InferencePool",
  closed(
    {
      selector: closed(
        { matchLabels: { ...labelMap, minProperties: 1, maxProperties: 64 } },
        ["matchLabels"],
      ),
      // v1.6.0 allows 8; v1.0.0 allowed one.
      targetPorts: { type: "array", minItems: 1, maxItems: 1, items: portNumber },
      endpointPickerRef: closed(
        {
          group: str(0, 253, GROUP),
          kind: str(1, 63, KIND),
          name: str(1, 253),
          port: portNumber,
          failureMode: { enum: ["FailOpen", "FailClose"] },
        },
        ["name"],
      ),
    },
    ["selector", "targetPorts", "endpointPickerRef"],
  ),
);

function inferencePoolRules(obj: Record<string, unknown>): GatewaySchemaProblem[] {
  const problems: GatewaySchemaProblem[] = [];
  const spec = (obj["spec"] ?? {}) as Record<string, unknown>;
  const ports = Array.isArray(spec["targetPorts"]) ? (spec["targetPorts"] as Array<{ number?: unknown }>) : [];
  const seen = new Set<unknown>();
  ports.forEach((p, i) => {
    if (seen.has(p?.number)) problems.push({ instancePath: `/spec/targetPorts/${i}/number`, message: `port number must be unique (${String(p?.number)} appears twice)` });
    seen.add(p?.number);
  });
  const ref = spec["endpointPickerRef"] as Record<string, unknown> | undefined;
  if (ref && typeof ref === "object" && (ref["kind"] ?? "Service") === "Service" && ref["port"] === undefined) {
    problems.push({ instancePath: "/spec/endpointPickerRef", message: "port is required when kind is 'Service' or unspecified (defaults to 'Service')" });
  }
  return problems;
}

// --- HTTPRoute -----------------------------------------------------------------------------------------------------

const parentRef = closed(
  {
    group: str(0, 253, GROUP),
    kind: str(1, 63, KIND),
    name: str(1, 253),
    namespace: str(1, 63, DNS_LABEL),
    sectionName: str(1, 253, DNS_SUBDOMAIN),
    port,
  },
  ["name"],
);

const headerMatch = closed(
  { type: { enum: ["Exact", "RegularExpression"] }, name: str(1, 256, HEADER_NAME), value: str(1, 4096) },
  ["name", "value"],
);
const queryParamMatch = closed(
  { type: { enum: ["Exact", "RegularExpression"] }, name: str(1, 256, HEADER_NAME), value: str(1, 1024) },
  ["name", "value"],
);

const routeMatch = closed({
  path: closed({ type: { enum: ["Exact", "PathPrefix", "RegularExpression"] }, value: { type: "string", maxLength: 1024 } }),
  headers: { type: "array", maxItems: 16, items: headerMatch },
  queryParams: { type: "array", maxItems: 16, items: queryParamMatch },
  method: { enum: ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"] },
});

const backendRef = closed(
  {
    group: str(0, 253, GROUP),
    kind: str(1, 63, KIND),
    name: str(1, 253),
    namespace: str(1, 63, DNS_LABEL),
    port,
    weight: { type: "integer", minimum: 0, maximum: 1_000_000 },
  },
  ["name"],
);

const routeRule = closed({
  name: str(1, 253, DNS_SUBDOMAIN),
  matches: { type: "array", maxItems: 64, items: routeMatch },
  backendRefs: { type: "array", maxItems: 16, items: backendRef },
  timeouts: closed({ request: { type: "string", pattern: DURATION }, backendRequest: { type: "string", pattern: DURATION } }),
});

const httpRouteSchema = envelope(
  "gateway.networking.k8s.io/v1",
  "HTTPRoute",
  closed({
    parentRefs: { type: "array", maxItems: 32, items: parentRef },
    hostnames: { type: "array", maxItems: 16, items: str(1, 253, "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$") },
    rules: { type: "array", maxItems: 16, items: routeRule },
  }),
);

const PATH_CHARACTERS = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/;
const PATH_RULES: ReadonlyArray<[(value: string) => boolean, string]> = [
  [(v) => v.startsWith("/"), "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']"],
  ...(["//", "/./", "/../", "%2f", "%2F", "#"] as const).map(
    (part): [(value: string) => boolean, string] => [(v) => !v.includes(part), `must not contain '${part}' when type one of ['Exact', 'PathPrefix']`],
  ),
  ...(["/..", "/."] as const).map(
    (end): [(value: string) => boolean, string] => [(v) => !v.endsWith(end), `must not end with '${end}' when type one of ['Exact', 'PathPrefix']`],
  ),
  [(v) => PATH_CHARACTERS.test(v), `must only contain valid characters (matching ${PATH_CHARACTERS.source}) for types ['Exact', 'PathPrefix']`],
];

/** Go's time.ParseDuration on the CRD's duration pattern, in ms (the CRD compares `duration(...)` values). */
function durationMs(text: string): number {
  const factor: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/([0-9]+)(ms|h|m|s)/g)) total += Number(amount) * (factor[unit ?? ""] ?? 0);
  return total;
}

function httpRouteRules(obj: Record<string, unknown>): GatewaySchemaProblem[] {
  const problems: GatewaySchemaProblem[] = [];
  const spec = (obj["spec"] ?? {}) as Record<string, unknown>;
  const list = (value: unknown): Array<Record<string, unknown>> => (Array.isArray(value) ? (value as Array<Record<string, unknown>>) : []);

  // Two references to the same parent must both name a section, and different ones.
  const parents = list(spec["parentRefs"]);
  const parentKey = (p: Record<string, unknown>): string =>
    JSON.stringify([p["group"] ?? "gateway.networking.k8s.io", p["kind"] ?? "Gateway", p["name"], p["namespace"] || ""]);
  parents.forEach((p, i) => {
    parents.slice(0, i).forEach((q) => {
      if (parentKey(p) !== parentKey(q)) return;
      const a = (p["sectionName"] as string | undefined) || "";
      const b = (q["sectionName"] as string | undefined) || "";
      if (a === "" || b === "") problems.push({ instancePath: `/spec/parentRefs/${i}`, message: "sectionName must be specified when parentRefs includes 2 or more references to the same parent" });
      else if (a === b) problems.push({ instancePath: `/spec/parentRefs/${i}`, message: "sectionName must be unique when parentRefs includes 2 or more references to the same parent" });
    });
  });

  const rules = list(spec["rules"]);
  // A rule without matches defaults to one match (PathPrefix /).
  const totalMatches = rules.reduce((sum, rule) => sum + (Array.isArray(rule["matches"]) ? (rule["matches"] as unknown[]).length : 1), 0);
  if (totalMatches >= 128) {
    problems.push({ instancePath: "/spec/rules", message: `While 16 rules and 64 matches per rule are allowed, the total number of matches across all rules in a route must be less than 128 (got ${totalMatches})` });
  }
  rules.forEach((rule, r) => {
    list(rule["matches"]).forEach((match, m) => {
      const path = match["path"] as Record<string, unknown> | undefined;
      if (path && typeof path === "object") {
        const type = (path["type"] as string | undefined) ?? "PathPrefix";
        const value = typeof path["value"] === "string" ? path["value"] : "/";
        if (type === "Exact" || type === "PathPrefix") {
          for (const [ok, message] of PATH_RULES) if (!ok(value)) problems.push({ instancePath: `/spec/rules/${r}/matches/${m}/path`, message });
        }
      }
      const names = new Set<string>();
      list(match["headers"]).forEach((header, h) => {
        const name = String(header["name"]).toLowerCase();
        if (names.has(name)) problems.push({ instancePath: `/spec/rules/${r}/matches/${m}/headers/${h}/name`, message: `duplicate header name ${JSON.stringify(header["name"])} (header names are case-insensitive and must be unique in a match)` });
        names.add(name);
      });
    });
    list(rule["backendRefs"]).forEach((ref, b) => {
      const group = (ref["group"] as string | undefined) ?? "";
      const kind = (ref["kind"] as string | undefined) ?? "Service";
      if (group === "" && kind === "Service" && ref["port"] === undefined) {
        problems.push({ instancePath: `/spec/rules/${r}/backendRefs/${b}`, message: "Must have port for Service reference" });
      }
    });
    const timeouts = rule["timeouts"] as Record<string, unknown> | undefined;
    if (timeouts && typeof timeouts["request"] === "string" && typeof timeouts["backendRequest"] === "string") {
      const request = durationMs(timeouts["request"]);
      if (request !== 0 && durationMs(timeouts["backendRequest"]) > request) {
        problems.push({ instancePath: `/spec/rules/${r}/timeouts`, message: "backendRequest timeout cannot be longer than request timeout" });
      }
    }
  });
  return problems;
}

// --- running them --------------------------------------------------------------------------------------------------

let ajv: Ajv | undefined;
const compiled = new Map<SchemaObject, ValidateFunction>();

function compile(schema: SchemaObject): ValidateFunction {
  // verbose: errors carry the received value and the schema, which the messages quote.
  ajv ??= new (createRequire(import.meta.url)("ajv") as typeof import("ajv")).Ajv({ allErrors: true, strict: true, verbose: true });
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

/** ajv's message, made to say which key or value was received and what is allowed. */
function explain(error: ErrorObject): GatewaySchemaProblem {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties": {
      const allowed = Object.keys((error.parentSchema?.["properties"] as Record<string, unknown> | undefined) ?? {}).join(", ");
      return { instancePath: error.instancePath, message: `has unknown field ${JSON.stringify(params["additionalProperty"])} (allowed: ${allowed})` };
    }
    case "enum":
      return { instancePath: error.instancePath, message: `${JSON.stringify(error.data)} is not one of ${(params["allowedValues"] as unknown[]).map((v) => JSON.stringify(v)).join(", ")}` };
    case "const":
      return { instancePath: error.instancePath, message: `must be ${JSON.stringify(params["allowedValue"])}, got ${JSON.stringify(error.data)}` };
    case "pattern":
      return { instancePath: error.instancePath, message: `${JSON.stringify(error.data)} must match ${String(params["pattern"])}` };
    case "propertyNames":
      return { instancePath: error.instancePath, message: `has invalid key ${JSON.stringify(params["propertyName"])} (a label key: [prefix/]name, name ≤ 63 characters)` };
    default:
      return { instancePath: error.instancePath, message: `${error.message ?? "is invalid"}${typeof error.data === "object" ? "" : ` (got ${JSON.stringify(error.data)})`}` };
  }
}

function run(kind: string, schema: SchemaObject, rules: (obj: Record<string, unknown>) => GatewaySchemaProblem[], data: unknown): void {
  const validate = compile(schema);
  const problems: GatewaySchemaProblem[] = [];
  if (!validate(data)) {
    // A pattern failure inside propertyNames also reports the pattern itself; keep the one that names the key.
    problems.push(...(validate.errors ?? []).filter((e) => !e.propertyName).map(explain));
  }
  if (data !== null && typeof data === "object") problems.push(...rules(data as Record<string, unknown>));
  if (problems.length > 0) throw new GatewaySchemaError(kind, problems);
}

/** `inference.networking.k8s.io/v1` InferencePool. */
export class InferencePool {
  readonly #data: unknown;
  constructor(data: unknown) {
    this.#data = data;
  }
  /** @throws GatewaySchemaError listing every problem. */
  validate(): void {
    run("InferencePool", inferencePoolSchema, inferencePoolRules, this.#data);
  }
}

/** `gateway.networking.k8s.io/v1` HTTPRoute (the fields modelfleet emits; others are refused as unknown). */
export class HTTPRoute {
  readonly #data: unknown;
  constructor(data: unknown) {
    this.#data = data;
  }
  /** @throws GatewaySchemaError listing every problem. */
  validate(): void {
    run("HTTPRoute", httpRouteSchema, httpRouteRules, this.#data);
  }
}
