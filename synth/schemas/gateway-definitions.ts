/**
 * The JSON schemas behind synth/schemas/gateway.ts: `InferencePool` (inference.networking.k8s.io/v1), `HTTPRoute`
 * (gateway.networking.k8s.io/v1), and Istio's `DestinationRule` (networking.istio.io/v1) for the endpoint picker. Which CRDs and versions they follow, and the CEL rules checked in code beside them,
 * is written in gateway.ts's header.
 *
 * Only the generator (synth/schemas/generate.ts, `npm run generate:schemas`) and its freshness test import this file:
 * ajv compiles these schemas ahead of time into gateway-validators.generated.ts, so a process that validates gateway
 * objects never loads the ajv compiler. After editing a schema here, run the generator and commit both files.
 */
import type { SchemaObject } from "ajv";

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

export const inferencePoolSchema: SchemaObject = envelope(
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

/**
 * A rule's filter (HTTPRouteFilter). The type takes the CRD's whole enum, so a misspelt type is told the CRD's values;
 * gateway.ts then refuses every type but URLRewrite, whose configuration is the only one defined here.
 */
const routeFilter = closed(
  {
    type: { enum: ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect", "URLRewrite", "ExtensionRef"] },
    urlRewrite: closed({
      hostname: str(1, 253, DNS_SUBDOMAIN),
      path: closed(
        {
          type: { enum: ["ReplaceFullPath", "ReplacePrefixMatch"] },
          replaceFullPath: { type: "string", maxLength: 1024 },
          replacePrefixMatch: { type: "string", maxLength: 1024 },
        },
        ["type"],
      ),
    }),
  },
  ["type"],
);

const routeRule = closed({
  name: str(1, 253, DNS_SUBDOMAIN),
  matches: { type: "array", maxItems: 64, items: routeMatch },
  filters: { type: "array", maxItems: 16, items: routeFilter },
  backendRefs: { type: "array", maxItems: 16, items: backendRef },
  timeouts: closed({ request: { type: "string", pattern: DURATION }, backendRequest: { type: "string", pattern: DURATION } }),
});

export const httpRouteSchema: SchemaObject = envelope(
  "gateway.networking.k8s.io/v1",
  "HTTPRoute",
  closed({
    parentRefs: { type: "array", maxItems: 32, items: parentRef },
    hostnames: { type: "array", maxItems: 16, items: str(1, 253, "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$") },
    rules: { type: "array", maxItems: 16, items: routeRule },
  }),
);

// --- DestinationRule (Istio) ---------------------------------------------------------------------------------------

/**
 * The one Istio object modelfleet emits (`gateway.provider: istio`): TLS without verification to an endpoint picker,
 * exactly the shape GAIE's Istio conformance setup applies (`conformance/scripts/istio/Makefile` @v1.5.0,
 * `TLS_DESTINATION_RULES`). Only those fields: `host`, and `trafficPolicy.tls` with a ClientTLSSettings `mode` and
 * `insecureSkipVerify` (added in Istio 1.14, istio/api#2040; the v1 API is served from Istio 1.22).
 */
export const destinationRuleSchema: SchemaObject = envelope(
  "networking.istio.io/v1",
  "DestinationRule",
  closed(
    {
      host: str(1, 253, DNS_SUBDOMAIN),
      trafficPolicy: closed({ tls: closed({ mode: { enum: ["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"] }, insecureSkipVerify: { type: "boolean" } }, ["mode"]) }),
    },
    ["host"],
  ),
);
