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
 *   version v1, for the fields modelfleet emits (parentRefs, hostnames, rules with matches, filters, backendRefs and
 *   timeouts); sessionPersistence, retry and backendRefs[].filters are refused as unknown. Of the filter types only
 *   URLRewrite is accepted (a model's `/<model>/v1` prefix rewritten to `/v1`); the others are refused by name.
 *   CEL rules as checks: path values for Exact/PathPrefix, "port required for a core Service backend", duplicate
 *   parents need distinct sectionNames, fewer than 128 matches per route, backendRequest timeout ≤ request timeout;
 *   for filters: the filter's type matches its field (urlRewrite set exactly when type is URLRewrite), at most one
 *   URLRewrite per rule and not with a RequestRedirect, the path modifier's type matches its field
 *   (replaceFullPath / replacePrefixMatch), and a replacePrefixMatch rewrite only on a rule with exactly one match,
 *   of type PathPrefix.
 * Every object level refuses keys the CRD does not define (a misspelt field would otherwise be pruned silently).
 *
 * The schemas live in gateway-definitions.ts. ajv (the validator kubernetes-models itself runs) compiles them ahead of
 * time, in its standalone mode, into gateway-validators.generated.ts (`npm run generate:schemas`; a test fails while
 * that file is stale), so validating loads the generated functions and ajv's runtime helpers, not the ajv compiler.
 */
import type { ErrorObject, ValidateFunction } from "ajv";
import { validateDestinationRule, validateHTTPRoute, validateInferencePool } from "./gateway-validators.generated.js";

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

// --- InferencePool -------------------------------------------------------------------------------------------------

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

/** The filter types of the CRD's enum that this validator has no schema for (their fields are refused as unknown). */
const UNSUPPORTED_FILTER_TYPES = new Set(["RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect", "ExtensionRef"]);

/** The CEL rules on `rules[r].filters`, its items and their URLRewrite path, and the rule's own rewrite/match rule. */
function filterRules(
  rule: Record<string, unknown>,
  r: number,
  list: (value: unknown) => Array<Record<string, unknown>>,
): GatewaySchemaProblem[] {
  const problems: GatewaySchemaProblem[] = [];
  const filters = list(rule["filters"]);
  const at = `/spec/rules/${r}/filters`;
  filters.forEach((filter, f) => {
    const type = filter["type"];
    if (typeof type === "string" && UNSUPPORTED_FILTER_TYPES.has(type)) {
      problems.push({
        instancePath: `${at}/${f}/type`,
        message: `filter type ${JSON.stringify(type)} is not supported by modelfleet's HTTPRoute schema (allowed: "URLRewrite"); remove the filter, or add its fields to synth/schemas/gateway-definitions.ts from the gateway-api v1.4.0 CRD`,
      });
    }
    const rewrite = filter["urlRewrite"];
    if (rewrite !== undefined && type !== "URLRewrite") {
      problems.push({ instancePath: `${at}/${f}`, message: `filter.urlRewrite must be nil if the filter.type is not URLRewrite (got type ${JSON.stringify(type)})` });
    }
    if (rewrite === undefined && type === "URLRewrite") {
      problems.push({ instancePath: `${at}/${f}`, message: "filter.urlRewrite must be specified for URLRewrite filter.type" });
    }
    const path = rewrite !== null && typeof rewrite === "object" ? (rewrite as Record<string, unknown>)["path"] : undefined;
    if (path !== null && typeof path === "object") {
      const p = path as Record<string, unknown>;
      for (const field of ["replaceFullPath", "replacePrefixMatch"] as const) {
        const fieldType = field === "replaceFullPath" ? "ReplaceFullPath" : "ReplacePrefixMatch";
        if (p["type"] === fieldType && p[field] === undefined) {
          problems.push({ instancePath: `${at}/${f}/urlRewrite/path`, message: `${field} must be specified when type is set to '${fieldType}'` });
        }
        if (p[field] !== undefined && p["type"] !== fieldType) {
          problems.push({ instancePath: `${at}/${f}/urlRewrite/path`, message: `type must be '${fieldType}' when ${field} is set (got type ${JSON.stringify(p["type"])})` });
        }
      }
    }
  });
  const count = (type: string): number => filters.filter((filter) => filter["type"] === type).length;
  if (count("URLRewrite") > 1) problems.push({ instancePath: at, message: `URLRewrite filter cannot be repeated (got ${count("URLRewrite")})` });
  if (count("URLRewrite") > 0 && count("RequestRedirect") > 0) {
    problems.push({ instancePath: at, message: "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both" });
  }
  // A prefix can only be replaced when the rule matches exactly one prefix. The API server defaults an absent
  // `matches` to one PathPrefix "/" match, and an absent path or path type to PathPrefix, before it runs this rule.
  const prefixRewrite = filters.some((filter) => {
    const rewrite = filter["urlRewrite"] as Record<string, unknown> | undefined;
    const path = rewrite !== null && typeof rewrite === "object" ? (rewrite["path"] as Record<string, unknown> | undefined) : undefined;
    return path !== null && typeof path === "object" && path["type"] === "ReplacePrefixMatch" && path["replacePrefixMatch"] !== undefined;
  });
  if (prefixRewrite) {
    const matches = Array.isArray(rule["matches"]) ? (rule["matches"] as Array<Record<string, unknown> | undefined>) : [{}];
    const path = matches[0]?.["path"] as Record<string, unknown> | undefined;
    const pathType = path !== null && typeof path === "object" ? (path["type"] ?? "PathPrefix") : "PathPrefix";
    if (matches.length !== 1 || pathType !== "PathPrefix") {
      const got = matches.length !== 1 ? `${matches.length} matches` : `one match of type ${JSON.stringify(pathType)}`;
      problems.push({ instancePath: `/spec/rules/${r}`, message: `When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified (got ${got}); split the rule so each prefix has its own` });
    }
  }
  return problems;
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
    problems.push(...filterRules(rule, r, list));
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

// Generated without types (`@ts-nocheck`): ajv's standalone functions have the ValidateFunction interface.
const VALIDATORS = {
  InferencePool: validateInferencePool as unknown as ValidateFunction,
  HTTPRoute: validateHTTPRoute as unknown as ValidateFunction,
  DestinationRule: validateDestinationRule as unknown as ValidateFunction,
} as const;

function run(kind: keyof typeof VALIDATORS, rules: (obj: Record<string, unknown>) => GatewaySchemaProblem[], data: unknown): void {
  const validate = VALIDATORS[kind];
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
    run("InferencePool", inferencePoolRules, this.#data);
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
    run("HTTPRoute", httpRouteRules, this.#data);
  }
}

/** Istio's `networking.istio.io/v1` DestinationRule, as modelfleet emits it for an endpoint picker (no CEL rules). */
export class DestinationRule {
  readonly #data: unknown;
  constructor(data: unknown) {
    this.#data = data;
  }
  /** @throws GatewaySchemaError listing every problem. */
  validate(): void {
    run("DestinationRule", () => [], this.#data);
  }
}
