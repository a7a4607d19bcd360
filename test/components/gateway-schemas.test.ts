import { describe, expect, it } from "vitest";
import { GatewaySchemaError, HTTPRoute, InferencePool, type GatewaySchemaProblem } from "../../synth/schemas/gateway.js";

type Json = Record<string, any>;

/** An InferencePool as modelfleet builds it. */
function pool(): Json {
  return {
    apiVersion: "inference.networking.k8s.io/v1",
    kind: "InferencePool",
    metadata: { name: "qwen3-staging", namespace: "llm-staging", labels: { "app.kubernetes.io/name": "qwen3" } },
    spec: {
      selector: { matchLabels: { "app.kubernetes.io/instance": "qwen3-staging", "app.kubernetes.io/name": "qwen3" } },
      targetPorts: [{ number: 8000 }],
      endpointPickerRef: { kind: "Service", name: "qwen3-staging-epp", port: { number: 9002 }, failureMode: "FailOpen" },
    },
  };
}

/** An HTTPRoute as modelfleet builds it. */
function route(): Json {
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "qwen3-staging", namespace: "llm-staging" },
    spec: {
      parentRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "inference-gateway", namespace: "gateways" }],
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: "/v1" }, headers: [{ type: "Exact", name: "X-Gateway-Model-Name", value: "Qwen/Qwen3-0.6B" }] }],
          backendRefs: [{ group: "inference.networking.k8s.io", kind: "InferencePool", name: "qwen3-staging" }],
        },
      ],
    },
  };
}

function problems(validate: () => void): GatewaySchemaProblem[] {
  try {
    validate();
  } catch (error) {
    expect(error).toBeInstanceOf(GatewaySchemaError);
    return [...(error as GatewaySchemaError).errors];
  }
  return [];
}

const poolProblems = (obj: Json) => problems(() => new InferencePool(obj).validate());
const routeProblems = (obj: Json) => problems(() => new HTTPRoute(obj).validate());

describe("InferencePool schema (GAIE v1 CRD, portable to v1.0.0–v1.6.0)", () => {
  it("accepts the pool modelfleet builds, and one naming a non-Service picker without a port", () => {
    expect(poolProblems(pool())).toEqual([]);
    const other = pool();
    other["spec"].endpointPickerRef = { group: "example.com", kind: "Picker", name: "p" };
    expect(poolProblems(other)).toEqual([]);
  });

  it.each<[string, (p: Json) => void, string, RegExp]>([
    ["wrong apiVersion", (p) => (p["apiVersion"] = "inference.networking.x-k8s.io/v1alpha2"), "/apiVersion", /must be "inference.networking.k8s.io\/v1"/],
    ["no spec", (p) => delete p["spec"], "", /must have required property 'spec'/],
    ["no selector", (p) => delete p["spec"].selector, "/spec", /required property 'selector'/],
    ["no targetPorts", (p) => delete p["spec"].targetPorts, "/spec", /required property 'targetPorts'/],
    ["no endpointPickerRef (required up to v1.5.0)", (p) => delete p["spec"].endpointPickerRef, "/spec", /required property 'endpointPickerRef'/],
    ["empty matchLabels", (p) => (p["spec"].selector.matchLabels = {}), "/spec/selector/matchLabels", /must NOT have fewer than 1 properties/],
    ["65 matchLabels", (p) => (p["spec"].selector.matchLabels = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]))), "/spec/selector/matchLabels", /more than 64 properties/],
    ["matchExpressions (matchLabels only)", (p) => (p["spec"].selector.matchExpressions = []), "/spec/selector", /unknown field "matchExpressions" \(allowed: matchLabels\)/],
    ["a label value over 63 characters", (p) => (p["spec"].selector.matchLabels.x = "a".repeat(64)), "/spec/selector/matchLabels/x", /must NOT have more than 63 characters/],
    ["a label value ending in '-'", (p) => (p["spec"].selector.matchLabels.x = "bad-"), "/spec/selector/matchLabels/x", /"bad-" must match/],
    ["a bad label key", (p) => (p["spec"].selector.matchLabels["-x"] = "v"), "/spec/selector/matchLabels", /invalid key "-x"/],
    ["no target port", (p) => (p["spec"].targetPorts = []), "/spec/targetPorts", /fewer than 1 items/],
    ["two target ports (v1.0.0 allows one)", (p) => (p["spec"].targetPorts = [{ number: 8000 }, { number: 8001 }]), "/spec/targetPorts", /more than 1 items/],
    ["port 0", (p) => (p["spec"].targetPorts = [{ number: 0 }]), "/spec/targetPorts/0/number", /must be >= 1 \(got 0\)/],
    ["port 65536", (p) => (p["spec"].targetPorts = [{ number: 65536 }]), "/spec/targetPorts/0/number", /must be <= 65535/],
    ["a port as a string", (p) => (p["spec"].targetPorts = [{ number: "8000" }]), "/spec/targetPorts/0/number", /must be integer/],
    ["a port without number", (p) => (p["spec"].targetPorts = [{ port: 8000 }]), "/spec/targetPorts/0", /required property 'number'/],
    ["appProtocol (absent before v1.4.0)", (p) => (p["spec"].appProtocol = "http"), "/spec", /unknown field "appProtocol"/],
    ["picker without name", (p) => delete p["spec"].endpointPickerRef.name, "/spec/endpointPickerRef", /required property 'name'/],
    ["picker Service without port (CEL)", (p) => delete p["spec"].endpointPickerRef.port, "/spec/endpointPickerRef", /port is required when kind is 'Service' or unspecified/],
    ["picker with default kind and no port (CEL)", (p) => { delete p["spec"].endpointPickerRef.kind; delete p["spec"].endpointPickerRef.port; }, "/spec/endpointPickerRef", /port is required when kind/],
    ["picker port 70000", (p) => (p["spec"].endpointPickerRef.port.number = 70000), "/spec/endpointPickerRef/port/number", /<= 65535/],
    ["failureMode Retry", (p) => (p["spec"].endpointPickerRef.failureMode = "Retry"), "/spec/endpointPickerRef/failureMode", /"Retry" is not one of "FailOpen", "FailClose"/],
    ["picker kind starting with a digit", (p) => (p["spec"].endpointPickerRef.kind = "1Service"), "/spec/endpointPickerRef/kind", /must match/],
    ["picker group with capitals", (p) => (p["spec"].endpointPickerRef.group = "Example.com"), "/spec/endpointPickerRef/group", /must match/],
    ["picker name of 254 characters", (p) => (p["spec"].endpointPickerRef.name = "a".repeat(254)), "/spec/endpointPickerRef/name", /more than 253 characters/],
    ["a misspelt field", (p) => (p["spec"].endpointPickerRef.failuremode = "FailOpen"), "/spec/endpointPickerRef", /unknown field "failuremode" \(allowed: group, kind, name, port, failureMode\)/],
    ["status in desired state", (p) => (p["status"] = {}), "", /unknown field "status"/],
    ["a name that is not a DNS subdomain", (p) => (p["metadata"].name = "Qwen_3"), "/metadata/name", /"Qwen_3" must match/],
    ["a namespace over 63 characters", (p) => (p["metadata"].namespace = "a".repeat(64)), "/metadata/namespace", /more than 63 characters/],
  ])("rejects %s", (_, change, instancePath, message) => {
    const obj = pool();
    change(obj);
    expect(poolProblems(obj)).toContainEqual({ instancePath, message: expect.stringMatching(message) });
  });

  it("rejects duplicate target port numbers (CEL), reported once", () => {
    // The portable schema allows one port; the uniqueness rule is still checked as the CRD's CEL states it.
    const obj = pool();
    obj["spec"].targetPorts = [{ number: 8000 }, { number: 8000 }];
    expect(poolProblems(obj)).toContainEqual({ instancePath: "/spec/targetPorts/1/number", message: "port number must be unique (8000 appears twice)" });
  });

  it("lists every problem of an object at once", () => {
    const obj = pool();
    obj["spec"].targetPorts = [{ number: 0 }];
    obj["spec"].endpointPickerRef.failureMode = "Never";
    expect(poolProblems(obj).map((p) => p.instancePath)).toEqual(["/spec/targetPorts/0/number", "/spec/endpointPickerRef/failureMode"]);
  });

  it("throws an Error whose message names the kind and the fields", () => {
    const obj = pool();
    obj["spec"].targetPorts = [];
    expect(() => new InferencePool(obj).validate()).toThrow(/InferencePool does not match its schema: \/spec\/targetPorts must NOT have fewer than 1 items/);
  });
});

describe("HTTPRoute schema (gateway-api v1.4.0 standard CRD, v1)", () => {
  it("accepts the route modelfleet builds, and the CRD's other fields modelfleet may use", () => {
    expect(routeProblems(route())).toEqual([]);
    const full = route();
    full["spec"].hostnames = ["models.example.com", "*.example.com"];
    full["spec"].rules[0].timeouts = { request: "300s", backendRequest: "5m" };
    full["spec"].rules[0].matches[0].method = "POST";
    full["spec"].rules[0].backendRefs.push({ name: "svc", port: 8000, weight: 0 });
    expect(routeProblems(full)).toEqual([]);
  });

  it.each<[string, (r: Json) => void, string, RegExp]>([
    ["wrong kind", (r) => (r["kind"] = "GRPCRoute"), "/kind", /must be "HTTPRoute", got "GRPCRoute"/],
    ["no metadata name", (r) => delete r["metadata"].name, "/metadata", /required property 'name'/],
    ["a parentRef without name", (r) => delete r["spec"].parentRefs[0].name, "/spec/parentRefs/0", /required property 'name'/],
    ["33 parentRefs", (r) => (r["spec"].parentRefs = Array.from({ length: 33 }, (_, i) => ({ name: "gw", sectionName: `s${i}` }))), "/spec/parentRefs", /more than 32 items/],
    ["a parentRef namespace with capitals", (r) => (r["spec"].parentRefs[0].namespace = "Gateways"), "/spec/parentRefs/0/namespace", /must match/],
    ["a parentRef port 0", (r) => (r["spec"].parentRefs[0].port = 0), "/spec/parentRefs/0/port", />= 1/],
    ["the same parent twice without sectionName (CEL)", (r) => r["spec"].parentRefs.push({ ...r["spec"].parentRefs[0] }), "/spec/parentRefs/1", /sectionName must be specified when parentRefs includes 2 or more references to the same parent/],
    ["the same parent and section twice (CEL)", (r) => { r["spec"].parentRefs[0].sectionName = "http"; r["spec"].parentRefs.push({ ...r["spec"].parentRefs[0] }); }, "/spec/parentRefs/1", /sectionName must be unique/],
    ["17 hostnames", (r) => (r["spec"].hostnames = Array.from({ length: 17 }, (_, i) => `h${i}.example.com`)), "/spec/hostnames", /more than 16 items/],
    ["a hostname with a port", (r) => (r["spec"].hostnames = ["example.com:443"]), "/spec/hostnames/0", /must match/],
    ["17 rules", (r) => (r["spec"].rules = Array.from({ length: 17 }, () => ({}))), "/spec/rules", /more than 16 items/],
    ["65 matches in a rule", (r) => (r["spec"].rules[0].matches = Array.from({ length: 65 }, () => ({}))), "/spec/rules/0/matches", /more than 64 items/],
    ["128 matches in a route (CEL)", (r) => (r["spec"].rules = Array.from({ length: 2 }, () => ({ matches: Array.from({ length: 64 }, () => ({})) }))), "/spec/rules", /total number of matches across all rules in a route must be less than 128 \(got 128\)/],
    ["path type Prefix", (r) => (r["spec"].rules[0].matches[0].path.type = "Prefix"), "/spec/rules/0/matches/0/path/type", /"Prefix" is not one of "Exact", "PathPrefix", "RegularExpression"/],
    ["a relative path (CEL)", (r) => (r["spec"].rules[0].matches[0].path.value = "v1"), "/spec/rules/0/matches/0/path", /must be an absolute path and start with '\/'/],
    ["a path with '//' (CEL)", (r) => (r["spec"].rules[0].matches[0].path.value = "/v1//x"), "/spec/rules/0/matches/0/path", /must not contain '\/\/'/],
    ["a path with '%2F' (CEL)", (r) => (r["spec"].rules[0].matches[0].path.value = "/v1%2Fx"), "/spec/rules/0/matches/0/path", /must not contain '%2F'/],
    ["a path ending in '/..' (CEL)", (r) => (r["spec"].rules[0].matches[0].path.value = "/v1/.."), "/spec/rules/0/matches/0/path", /must not end with '\/\.\.'/],
    ["a path with a space (CEL)", (r) => (r["spec"].rules[0].matches[0].path.value = "/v1 x"), "/spec/rules/0/matches/0/path", /must only contain valid characters/],
    ["a path over 1024 characters", (r) => (r["spec"].rules[0].matches[0].path.value = `/${"a".repeat(1024)}`), "/spec/rules/0/matches/0/path/value", /more than 1024 characters/],
    ["header type Prefix", (r) => (r["spec"].rules[0].matches[0].headers[0].type = "Prefix"), "/spec/rules/0/matches/0/headers/0/type", /is not one of "Exact", "RegularExpression"/],
    ["a header name with a space", (r) => (r["spec"].rules[0].matches[0].headers[0].name = "X Model"), "/spec/rules/0/matches/0/headers/0/name", /must match/],
    ["an empty header value", (r) => (r["spec"].rules[0].matches[0].headers[0].value = ""), "/spec/rules/0/matches/0/headers/0/value", /fewer than 1 characters/],
    ["a header value over 4096 characters", (r) => (r["spec"].rules[0].matches[0].headers[0].value = "a".repeat(4097)), "/spec/rules/0/matches/0/headers/0/value", /more than 4096 characters/],
    ["the same header twice in one match (list map)", (r) => r["spec"].rules[0].matches[0].headers.push({ name: "x-gateway-model-name", value: "b" }), "/spec/rules/0/matches/0/headers/1/name", /duplicate header name/],
    ["17 headers", (r) => (r["spec"].rules[0].matches[0].headers = Array.from({ length: 17 }, (_, i) => ({ name: `h${i}`, value: "v" }))), "/spec/rules/0/matches/0/headers", /more than 16 items/],
    ["method FETCH", (r) => (r["spec"].rules[0].matches[0].method = "FETCH"), "/spec/rules/0/matches/0/method", /is not one of "GET"/],
    ["a backendRef without name", (r) => delete r["spec"].rules[0].backendRefs[0].name, "/spec/rules/0/backendRefs/0", /required property 'name'/],
    ["a Service backend without port (CEL)", (r) => (r["spec"].rules[0].backendRefs = [{ name: "svc" }]), "/spec/rules/0/backendRefs/0", /Must have port for Service reference/],
    ["17 backendRefs", (r) => (r["spec"].rules[0].backendRefs = Array.from({ length: 17 }, () => ({ name: "svc", port: 80 }))), "/spec/rules/0/backendRefs", /more than 16 items/],
    ["weight over 1,000,000", (r) => (r["spec"].rules[0].backendRefs[0].weight = 1_000_001), "/spec/rules/0/backendRefs/0/weight", /<= 1000000/],
    ["a backendRef kind with '_'", (r) => (r["spec"].rules[0].backendRefs[0].kind = "Inference_Pool"), "/spec/rules/0/backendRefs/0/kind", /must match/],
    ["filters on a backendRef (not emitted by modelfleet)", (r) => (r["spec"].rules[0].backendRefs[0].filters = []), "/spec/rules/0/backendRefs/0", /unknown field "filters" \(allowed: group, kind, name, namespace, port, weight\)/],
    ["a timeout of 5 minutes written '5min'", (r) => (r["spec"].rules[0].timeouts = { request: "5min" }), "/spec/rules/0/timeouts/request", /must match/],
    ["backendRequest longer than request (CEL)", (r) => (r["spec"].rules[0].timeouts = { request: "1m", backendRequest: "61s" }), "/spec/rules/0/timeouts", /backendRequest timeout cannot be longer than request timeout/],
    ["a misspelt parentRefs", (r) => (r["spec"].parentRef = r["spec"].parentRefs), "/spec", /unknown field "parentRef" \(allowed: parentRefs, hostnames, rules\)/],
  ])("rejects %s", (_, change, instancePath, message) => {
    const obj = route();
    change(obj);
    expect(routeProblems(obj)).toContainEqual({ instancePath, message: expect.stringMatching(message) });
  });

  it("a request timeout of 0s disables the backendRequest bound (CEL)", () => {
    const obj = route();
    obj["spec"].rules[0].timeouts = { request: "0s", backendRequest: "10m" };
    expect(routeProblems(obj)).toEqual([]);
  });
});

/** The second rule modelfleet adds per model: `/<model>/v1` rewritten to `/v1`, so no body-based router is needed. */
function rewriteRoute(): Json {
  const obj = route();
  obj["spec"].rules.push({
    matches: [{ path: { type: "PathPrefix", value: "/qwen3/v1" } }],
    filters: [{ type: "URLRewrite", urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/v1" } } }],
    backendRefs: [{ group: "inference.networking.k8s.io", kind: "InferencePool", name: "qwen3-staging" }],
  });
  return obj;
}

describe("HTTPRoute URLRewrite filters (gateway-api v1.4.0 standard CRD, v1)", () => {
  it("accepts the model-prefix rewrite modelfleet builds", () => {
    expect(routeProblems(rewriteRoute())).toEqual([]);
  });

  it.each<[string, (rule: Json) => void]>([
    ["a hostname rewrite", (rule) => (rule["filters"][0].urlRewrite = { hostname: "models.internal.example.com" })],
    ["a full-path rewrite on an Exact match", (rule) => {
      rule["matches"] = [{ path: { type: "Exact", value: "/qwen3/v1/models" } }];
      rule["filters"][0].urlRewrite.path = { type: "ReplaceFullPath", replaceFullPath: "/v1/models" };
    }],
    ["a prefix rewrite on a rule without matches (defaults to one PathPrefix '/')", (rule) => delete rule["matches"]],
    ["a prefix rewrite on a match without path (defaults to PathPrefix '/')", (rule) => (rule["matches"] = [{ method: "POST" }])],
    ["a prefix rewrite on a path without type (defaults to PathPrefix)", (rule) => delete rule["matches"][0].path.type],
    ["an empty filter list", (rule) => (rule["filters"] = [])],
  ])("accepts %s", (_, change) => {
    const obj = rewriteRoute();
    change(obj["spec"].rules[1]);
    expect(routeProblems(obj)).toEqual([]);
  });

  it.each<[string, (rule: Json) => void, string, RegExp]>([
    ["17 filters", (rule) => (rule["filters"] = Array.from({ length: 17 }, () => ({ type: "URLRewrite", urlRewrite: {} }))), "/spec/rules/1/filters", /must NOT have more than 16 items/],
    ["a filter without type", (rule) => delete rule["filters"][0].type, "/spec/rules/1/filters/0", /must have required property 'type'/],
    ["a filter type outside the CRD's enum", (rule) => (rule["filters"][0].type = "Rewrite"), "/spec/rules/1/filters/0/type", /^"Rewrite" is not one of "RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect", "URLRewrite", "ExtensionRef"$/],
    ["a filter field other than urlRewrite", (rule) => (rule["filters"][0].requestRedirect = { statusCode: 301 }), "/spec/rules/1/filters/0", /unknown field "requestRedirect" \(allowed: type, urlRewrite\)/],
    ["an unknown urlRewrite field", (rule) => (rule["filters"][0].urlRewrite.prefix = "/v1"), "/spec/rules/1/filters/0/urlRewrite", /unknown field "prefix" \(allowed: hostname, path\)/],
    ["an empty hostname", (rule) => (rule["filters"][0].urlRewrite.hostname = ""), "/spec/rules/1/filters/0/urlRewrite/hostname", /must NOT have fewer than 1 characters/],
    ["a hostname of 254 characters", (rule) => (rule["filters"][0].urlRewrite.hostname = `${"a.".repeat(126)}ab`), "/spec/rules/1/filters/0/urlRewrite/hostname", /must NOT have more than 253 characters/],
    ["a hostname with capitals", (rule) => (rule["filters"][0].urlRewrite.hostname = "Models.example.com"), "/spec/rules/1/filters/0/urlRewrite/hostname", /^"Models.example.com" must match \^\[a-z0-9\]/],
    ["a wildcard hostname (allowed in hostnames, not in a rewrite)", (rule) => (rule["filters"][0].urlRewrite.hostname = "*.example.com"), "/spec/rules/1/filters/0/urlRewrite/hostname", /must match/],
    ["a path modifier without type", (rule) => delete rule["filters"][0].urlRewrite.path.type, "/spec/rules/1/filters/0/urlRewrite/path", /must have required property 'type'/],
    ["path modifier type ReplacePrefix", (rule) => (rule["filters"][0].urlRewrite.path.type = "ReplacePrefix"), "/spec/rules/1/filters/0/urlRewrite/path/type", /^"ReplacePrefix" is not one of "ReplaceFullPath", "ReplacePrefixMatch"$/],
    ["replacePrefixMatch over 1024 characters", (rule) => (rule["filters"][0].urlRewrite.path.replacePrefixMatch = `/${"a".repeat(1024)}`), "/spec/rules/1/filters/0/urlRewrite/path/replacePrefixMatch", /must NOT have more than 1024 characters/],
    ["replaceFullPath over 1024 characters", (rule) => (rule["filters"][0].urlRewrite.path = { type: "ReplaceFullPath", replaceFullPath: `/${"a".repeat(1024)}` }), "/spec/rules/1/filters/0/urlRewrite/path/replaceFullPath", /must NOT have more than 1024 characters/],
    ["an unknown path modifier field", (rule) => (rule["filters"][0].urlRewrite.path.replacePrefix = "/v1"), "/spec/rules/1/filters/0/urlRewrite/path", /unknown field "replacePrefix" \(allowed: type, replaceFullPath, replacePrefixMatch\)/],
  ])("rejects %s", (_, change, instancePath, message) => {
    const obj = rewriteRoute();
    change(obj["spec"].rules[1]);
    expect(routeProblems(obj)).toContainEqual({ instancePath, message: expect.stringMatching(message) });
  });

  // The CRD's CEL rules, each with its message as the API server states it (plus what was received).
  it.each<[string, (rule: Json) => void, string, string]>([
    ["a RequestHeaderModifier filter (only URLRewrite is supported)", (rule) => rule["filters"].push({ type: "RequestHeaderModifier" }), "/spec/rules/1/filters/1/type",
      'filter type "RequestHeaderModifier" is not supported by modelfleet\'s HTTPRoute schema (allowed: "URLRewrite"); remove the filter, or add its fields to synth/schemas/gateway-definitions.ts from the gateway-api v1.4.0 CRD'],
    ["urlRewrite on a filter of another type", (rule) => (rule["filters"][0].type = "RequestMirror"), "/spec/rules/1/filters/0", 'filter.urlRewrite must be nil if the filter.type is not URLRewrite (got type "RequestMirror")'],
    ["a URLRewrite filter without urlRewrite", (rule) => (rule["filters"] = [{ type: "URLRewrite" }]), "/spec/rules/1/filters/0", "filter.urlRewrite must be specified for URLRewrite filter.type"],
    ["two URLRewrite filters in a rule", (rule) => rule["filters"].push({ type: "URLRewrite", urlRewrite: { hostname: "a.example.com" } }), "/spec/rules/1/filters", "URLRewrite filter cannot be repeated (got 2)"],
    ["a URLRewrite and a RequestRedirect filter in a rule", (rule) => rule["filters"].push({ type: "RequestRedirect" }), "/spec/rules/1/filters", "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both"],
    ["type ReplacePrefixMatch without replacePrefixMatch", (rule) => delete rule["filters"][0].urlRewrite.path.replacePrefixMatch, "/spec/rules/1/filters/0/urlRewrite/path", "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'"],
    ["type ReplaceFullPath without replaceFullPath", (rule) => (rule["filters"][0].urlRewrite.path = { type: "ReplaceFullPath" }), "/spec/rules/1/filters/0/urlRewrite/path", "replaceFullPath must be specified when type is set to 'ReplaceFullPath'"],
    ["replaceFullPath with type ReplacePrefixMatch", (rule) => (rule["filters"][0].urlRewrite.path.replaceFullPath = "/v1"), "/spec/rules/1/filters/0/urlRewrite/path", 'type must be \'ReplaceFullPath\' when replaceFullPath is set (got type "ReplacePrefixMatch")'],
    ["replacePrefixMatch with type ReplaceFullPath", (rule) => (rule["filters"][0].urlRewrite.path = { type: "ReplaceFullPath", replaceFullPath: "/v1", replacePrefixMatch: "/v1" }), "/spec/rules/1/filters/0/urlRewrite/path", 'type must be \'ReplacePrefixMatch\' when replacePrefixMatch is set (got type "ReplaceFullPath")'],
    ["a prefix rewrite on an Exact match", (rule) => (rule["matches"][0].path.type = "Exact"), "/spec/rules/1",
      'When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified (got one match of type "Exact"); split the rule so each prefix has its own'],
    ["a prefix rewrite on a RegularExpression match", (rule) => (rule["matches"][0].path = { type: "RegularExpression", value: "/qwen3/v1.*" }), "/spec/rules/1",
      'When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified (got one match of type "RegularExpression"); split the rule so each prefix has its own'],
    ["a prefix rewrite on a rule with two matches", (rule) => rule["matches"].push({ path: { type: "PathPrefix", value: "/qwen/v1" } }), "/spec/rules/1",
      "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified (got 2 matches); split the rule so each prefix has its own"],
    ["a prefix rewrite on a rule with an empty match list", (rule) => (rule["matches"] = []), "/spec/rules/1",
      "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified (got 0 matches); split the rule so each prefix has its own"],
  ])("rejects %s (CEL)", (_, change, instancePath, message) => {
    const obj = rewriteRoute();
    change(obj["spec"].rules[1]);
    expect(routeProblems(obj)).toContainEqual({ instancePath, message });
  });
});
