import type { K8sObject } from "../../components/shared/k8s-object.js";
import { walkOnce } from "../cycle-guard.js";
import { isPseudoDocument } from "../documents.js";
import { safeObjectRef, shown, shownPath } from "../display.js";
import { embeddedSettings } from "../embedded-config.js";
import type { PathSegment } from "../field-path.js";
import {
  asArray,
  asRecord,
  asString,
  commandTokens,
  engineContainers,
  isNonEmptySelector,
  isRecord,
  namespaceOf,
  objectsIn,
  podTemplate,
  containersOf,
  engineOf,
  selectorMatches,
  serviceSelects,
  type ContainerRef,
  type PodTemplate,
} from "../k8s.js";
import { hasWildcardOrigin, isCorsName, originList } from "../secret-patterns.js";
import { defineRule, type Finding } from "../types.js";

const ORIGINS_FIX = 'list the exact origins that call this endpoint, e.g. ["https://chat.example.com"] (set modelfleet:cors.allowedOrigins in the stack file)';
const NGINX = "nginx.ingress.kubernetes.io/";

/**
 * no-wildcard-cors: no endpoint answers browsers from any origin. vLLM allows every origin unless
 * `--allowed-origins` says otherwise; llama-server (since b10010) allows every origin, echoed back with credentials,
 * unless `--cors-origins` names one (config/engines/llamacpp-b11206.ts), and one without a restricting
 * `--cors-origins` must at least sit behind an origin-restricting front (see checkLlamaCppFront); ingress-nginx,
 * Gateway API, Istio, env and ConfigMap CORS settings must not contain `*`.
 */
export const noWildcardCors = defineRule({
  id: "no-wildcard-cors",
  description: "No wildcard CORS origins: vLLM needs --allowed-origins, llama-server needs --cors-origins with one origin, and no CORS setting may allow \"*\".",
  severity: "high",
  enforcement: { development: "mandatory", staging: "mandatory", production: "mandatory" },
  waivable: false,
  remediation: `Replace "*" with an explicit origin list: ${ORIGINS_FIX}.`,
  checkObject: (object) => {
    const findings: Finding[] = [];
    const add = (path: readonly PathSegment[], message: string, embeddedLine?: number): void => {
      findings.push({ object, path, message, ...(embeddedLine === undefined ? {} : { embeddedLine }) });
    };
    if (isPseudoDocument(object)) documentTree(object["content"], [], false, add);
    else if (object.kind === "ConfigMap") configMap(object, add);
    else if (object.kind === "Ingress") nginxIngress(object, add);
    else if (object.kind === "HTTPRoute") httpRoute(object, add);
    else if (object.kind === "VirtualService") istio(object, add);
    const template = podTemplate(object);
    if (template) for (const ref of containersOf(template)) container(ref, add);
    return findings;
  },
  checkStack: (objects) => objects.flatMap((object) => checkLlamaCppFront(object, objects)),
});

type Add = (path: readonly PathSegment[], message: string, embeddedLine?: number) => void;

function container(ref: ContainerRef, add: Add): void {
  asArray(ref.container["env"]).forEach((entry, index) => {
    if (!isRecord(entry)) return;
    const name = asString(entry["name"]) ?? "";
    const value = entry["value"];
    if (isCorsName(name) && typeof value === "string" && hasWildcardOrigin(value)) {
      add([...ref.path, "env", index, "value"], `container ${shown(ref.name)} env ${shown(name)} is ${shown(value)}, which allows every origin. Fix: ${ORIGINS_FIX}.`);
    }
  });
  if (!ref.init && engineOf(ref) === "llamacpp") {
    llamaCppOrigins(ref, add);
    return;
  }
  if (!isVllm(ref)) return;
  const tokens = commandTokens(ref);
  let found = false;
  tokens.forEach(({ token, path }, index) => {
    let value: string | undefined;
    let valuePath = path;
    if (token.startsWith("--allowed-origins=")) value = token.slice("--allowed-origins=".length);
    else if (token === "--allowed-origins") {
      const next = tokens[index + 1];
      value = next?.token;
      valuePath = next?.path ?? path;
    } else return;
    found = true;
    if (value === undefined) {
      add(path, `vLLM container ${shown(ref.name)} has --allowed-origins without a value. Fix: --allowed-origins='["https://chat.example.com"]' — ${ORIGINS_FIX}.`);
      return;
    }
    const resolved = resolveEnvReference(ref, value);
    if (resolved !== undefined && hasWildcardOrigin(resolved)) {
      add(valuePath, `vLLM container ${shown(ref.name)} has --allowed-origins ${shownOrigins(resolved)}, which contains "*" and lets any web page call the model. Fix: ${ORIGINS_FIX}.`);
    }
  });
  if (!found) {
    const field = ref.container["args"] !== undefined ? "args" : "command";
    add(
      [...ref.path, field],
      `vLLM container ${shown(ref.name)} has no --allowed-origins, so vLLM allows every origin ("*", its default). ` +
        `Fix: add --allowed-origins='["https://chat.example.com"]' (a JSON list; [] allows none) — ${ORIGINS_FIX}.`,
    );
  }
}

const LLAMA_CORS_FLAG = "--cors-origins";
const LLAMA_CORS_ENV = "LLAMA_ARG_CORS_ORIGINS";

/** llama-server's `--cors-origins` (or its env twin): the value and where it is, or undefined when absent. */
function llamaCppCorsSetting(ref: ContainerRef): { value: string | undefined; path: readonly PathSegment[] } | undefined {
  const tokens = commandTokens(ref);
  for (let i = 0; i < tokens.length; i++) {
    const { token, path } = tokens[i]!;
    if (token.startsWith(`${LLAMA_CORS_FLAG}=`)) return { value: resolveEnvReference(ref, token.slice(LLAMA_CORS_FLAG.length + 1)), path };
    if (token === LLAMA_CORS_FLAG) {
      const next = tokens[i + 1];
      return { value: next === undefined ? undefined : resolveEnvReference(ref, next.token), path: next?.path ?? path };
    }
  }
  let found: { value: string | undefined; path: readonly PathSegment[] } | undefined;
  asArray(ref.container["env"]).forEach((entry, index) => {
    if (isRecord(entry) && entry["name"] === LLAMA_CORS_ENV) {
      const value = entry["value"];
      found = { value: typeof value === "string" ? value : undefined, path: [...ref.path, "env", index] };
    }
  });
  return found;
}

/** Whether llama-server is told to allow only named origins (not `*`, which it echoes back for any page). */
function llamaCppRestrictsOrigins(ref: ContainerRef): boolean {
  const setting = llamaCppCorsSetting(ref);
  return setting?.value !== undefined && setting.value.trim() !== "" && !hasWildcardOrigin(setting.value);
}

function llamaCppOrigins(ref: ContainerRef, add: Add): void {
  const setting = llamaCppCorsSetting(ref);
  const fix = "add --cors-origins https://chat.example.com (exactly one origin: llama-server writes the value verbatim into Access-Control-Allow-Origin) and --no-cors-credentials";
  if (setting === undefined) {
    const field = ref.container["args"] !== undefined ? "args" : "command";
    add(
      [...ref.path, field],
      `llama-server container ${shown(ref.name)} has no --cors-origins, so llama.cpp allows every origin ("*", its default, echoing any Origin back with credentials). Fix: ${fix}.`,
    );
  } else if (setting.value !== undefined && (setting.value.trim() === "" || hasWildcardOrigin(setting.value))) {
    add(setting.path, `llama-server container ${shown(ref.name)} has --cors-origins ${shown(setting.value)}, which lets any web page call the model. Fix: ${fix}.`);
  }
}

function isVllm(ref: ContainerRef): boolean {
  const image = (asString(ref.container["image"]) ?? "").toLowerCase();
  const line = commandTokens(ref).map((t) => t.token).join(" ");
  return !ref.init && (image.includes("vllm") || line.includes("vllm serve") || line.includes("vllm.entrypoints.openai.api_server"));
}

/** `$(VAR)` in args is expanded by Kubernetes from the container's env; a literal env value is judged, anything else passes. */
function resolveEnvReference(ref: ContainerRef, value: string): string | undefined {
  const match = /^\$\(([A-Za-z_][\w.-]*)\)$/.exec(value.trim());
  if (!match) return value;
  const entry = asArray(ref.container["env"]).find((e) => isRecord(e) && e["name"] === match[1]);
  return isRecord(entry) && typeof entry["value"] === "string" ? entry["value"] : undefined;
}

function configMap(object: K8sObject, add: Add): void {
  const data = asRecord(object["data"]);
  if (!data) return;
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== "string") continue;
    if (isCorsName(key) && hasWildcardOrigin(value)) {
      add(["data", key], `ConfigMap key ${shown(key)} is ${shown(value)}, which allows every origin. Fix: ${ORIGINS_FIX}.`);
      continue;
    }
    if (!value.includes("\n") && !/\.(ya?ml|json|env|py|toml|ini|conf|cfg|properties)$/i.test(key)) continue;
    for (const setting of embeddedSettings(key, value)) {
      if (!isCorsName(setting.key) || !hasWildcardOrigin(setting.value)) continue;
      add(
        ["data", key],
        `ConfigMap file ${shown(key)} line ${setting.line}: ${shown(setting.key)} allows every origin (${shownOrigins(setting.value)}). Fix: ${ORIGINS_FIX}.`,
        setting.line,
      );
    }
  }
}

/**
 * CORS settings anywhere in a plain YAML document or stack file, walked by `walkOnce` (no recursion, and a map or
 * list that contains itself is entered once); a node's path is built only when it is reported.
 */
function documentTree(root: unknown, rootPath: readonly PathSegment[], rootInCors: boolean, add: Add): void {
  interface Step {
    readonly value: unknown;
    readonly key: PathSegment | undefined;
    readonly parent: Step | undefined;
    readonly inCors: boolean;
  }
  const pathOf = (step: Step): PathSegment[] => {
    const keys: PathSegment[] = [];
    for (let s: Step | undefined = step; s?.key !== undefined; s = s.parent) keys.push(s.key);
    return [...rootPath, ...keys.reverse()];
  };
  walkOnce<Step>({ value: root, key: undefined, parent: undefined, inCors: rootInCors }, (step, push) => {
    const { value, key, inCors } = step;
    const corsKey = typeof key === "string" && (isCorsName(key) || (inCors && key.toLowerCase().includes("origin")));
    if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index--) {
        const item: unknown = value[index];
        if (corsKey && item === "*") {
          const path = pathOf(step);
          add([...path, index], `${shownPath(path)} contains "*", which allows every origin. Fix: ${ORIGINS_FIX}.`);
        } else {
          push({ value: item, key: index, parent: step, inCors });
        }
      }
    } else if (isRecord(value)) {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) push({ value: entries[i]![1], key: entries[i]![0], parent: step, inCors: inCors || corsKey });
    } else if (typeof value === "string" && corsKey && hasWildcardOrigin(value)) {
      const path = pathOf(step);
      add(path, `${shownPath(path)} is ${shown(value)}, which allows every origin. Fix: ${ORIGINS_FIX}.`);
    }
  });
}

/** The origins of a setting for a message: each through `shown`, at most 10. */
function shownOrigins(value: unknown): string {
  const origins = originList(value);
  const parts = origins.slice(0, 10).map((origin) => shown(origin));
  if (origins.length > 10) parts.push(`…(${origins.length - 10} more)`);
  return `[${parts.join(",")}]`;
}

function nginxIngress(object: K8sObject, add: Add): void {
  const annotations = object.metadata.annotations ?? {};
  if ((asString(annotations[`${NGINX}enable-cors`]) ?? "").toLowerCase() !== "true") return;
  const origins = annotations[`${NGINX}cors-allow-origin`];
  if (origins === undefined) {
    add(
      ["metadata", "annotations", `${NGINX}enable-cors`],
      `Ingress enables CORS without ${NGINX}cors-allow-origin, and ingress-nginx then allows every origin ("*"). Fix: set ${NGINX}cors-allow-origin to the allowed origins, comma-separated (https://chat.example.com).`,
    );
  } else if (hasWildcardOrigin(origins)) {
    add(
      ["metadata", "annotations", `${NGINX}cors-allow-origin`],
      `Ingress ${NGINX}cors-allow-origin is ${shown(origins)}, which allows every origin. Fix: list the allowed origins, comma-separated (https://chat.example.com).`,
    );
  }
}

function httpRoute(object: K8sObject, add: Add): void {
  asArray(asRecord(object["spec"])?.["rules"]).forEach((rule, r) => {
    if (!isRecord(rule)) return;
    const filterLists: [readonly PathSegment[], unknown][] = [[["spec", "rules", r, "filters"], rule["filters"]]];
    asArray(rule["backendRefs"]).forEach((ref, b) => {
      if (isRecord(ref)) filterLists.push([["spec", "rules", r, "backendRefs", b, "filters"], ref["filters"]]);
    });
    for (const [base, filters] of filterLists) {
      asArray(filters).forEach((filter, f) => {
        if (!isRecord(filter) || filter["type"] !== "CORS") return;
        asArray(asRecord(filter["cors"])?.["allowOrigins"]).forEach((origin, o) => {
          if (origin === "*") {
            add([...base, f, "cors", "allowOrigins", o], `HTTPRoute CORS filter allows origin "*". Fix: list the exact origins in cors.allowOrigins (https://chat.example.com).`);
          }
        });
      });
    }
  });
}

const MATCH_ALL_REGEX = new Set([".*", ".+", "^.*$", "^.+$", "*", "(.*)"]);
const MATCH_ALL_PREFIX = new Set(["", "http", "https", "http:", "https:", "http://", "https://"]);

function istio(object: K8sObject, add: Add): void {
  asArray(asRecord(object["spec"])?.["http"]).forEach((route, h) => {
    const cors = asRecord(isRecord(route) ? route["corsPolicy"] : undefined);
    if (!cors) return;
    asArray(cors["allowOrigins"]).forEach((match, m) => {
      if (!isRecord(match)) return;
      const path = ["spec", "http", h, "corsPolicy", "allowOrigins", m];
      if (match["exact"] === "*") add([...path, "exact"], `VirtualService corsPolicy allows exact origin "*". Fix: list exact origins (exact: https://chat.example.com).`);
      if (typeof match["regex"] === "string" && MATCH_ALL_REGEX.has(match["regex"])) {
        add([...path, "regex"], `VirtualService corsPolicy origin regex ${shown(match["regex"])} matches every origin. Fix: list exact origins (exact: https://chat.example.com).`);
      }
      if (typeof match["prefix"] === "string" && MATCH_ALL_PREFIX.has(match["prefix"])) {
        add([...path, "prefix"], `VirtualService corsPolicy origin prefix ${shown(match["prefix"])} matches every origin. Fix: list exact origins (exact: https://chat.example.com).`);
      }
    });
    asArray(cors["allowOrigin"]).forEach((origin, o) => {
      if (origin === "*") add(["spec", "http", h, "corsPolicy", "allowOrigin", o], `VirtualService corsPolicy.allowOrigin contains "*". Fix: use allowOrigins with exact origins.`);
    });
  });
}

/**
 * A llama.cpp server without a restricting `--cors-origins` answers any Origin, so it is compliant only behind an
 * origin-restricting front, which here means all of:
 * 1. a NetworkPolicy in its namespace selects its pods for Ingress, and every ingress rule of every policy selecting
 *    them allows only pod/namespace selectors that name labels (no ipBlock, no empty `from`, no rule without `from`,
 *    no `{}`-only peer) — so only named in-cluster callers (the router, which enforces CORS) reach it;
 * 2. no Service selecting its pods is of type LoadBalancer or NodePort;
 * 3. no Ingress or HTTPRoute sends traffic straight to a Service selecting its pods.
 */
export function checkLlamaCppFront(object: K8sObject, objects: readonly K8sObject[]): Finding[] {
  const llama = engineContainers(object).find((c) => c.engine === "llamacpp");
  if (!llama || llamaCppRestrictsOrigins(llama.ref)) return [];
  const { template } = llama;
  const ns = namespaceOf(object);
  const sameNs = objectsIn(objects, ns);
  const findings: Finding[] = [];
  const what = `llama.cpp (${safeObjectRef(object.kind, object.metadata?.namespace, object.metadata?.name)}) has no restricting --cors-origins, so it reflects any Origin`;

  const policies = sameNs.filter((o) => o.kind === "NetworkPolicy" && selectsForIngress(o, template));
  if (policies.length === 0) {
    findings.push({
      object,
      path: template.labelsPath,
      message: `${what}, and no NetworkPolicy in namespace ${ns ? shown(ns) : '"-"'} restricts ingress to its pods. Fix: add a NetworkPolicy selecting these pod labels that allows ingress only from the router's pod/namespace selectors.`,
    });
  }
  for (const policy of policies) {
    asArray(asRecord(policy["spec"])?.["ingress"]).forEach((rule, index) => {
      const from = isRecord(rule) ? asArray(rule["from"]) : [];
      const broad = from.length === 0 || from.some((peer) => !isRecord(peer) || peer["ipBlock"] !== undefined || (!isNonEmptySelector(peer["podSelector"]) && !isNonEmptySelector(peer["namespaceSelector"])));
      if (!broad) return;
      findings.push({
        object: policy,
        path: ["spec", "ingress", index, ...(from.length === 0 ? [] : ["from"])],
        message: `${what}; this NetworkPolicy selects it and lets ${from.length === 0 ? "any source" : "an ipBlock or an unlabelled selector"} in, so browsers can reach it through any proxy. Fix: allow only named pod/namespace selectors (the router).`,
      });
    });
  }
  const services = sameNs.filter((o) => o.kind === "Service" && serviceSelects(o, template.labels));
  for (const service of services) {
    const type = asString(asRecord(service["spec"])?.["type"]);
    if (type === "LoadBalancer" || type === "NodePort") {
      findings.push({
        object: service,
        path: ["spec", "type"],
        message: `${what}; Service type ${type} exposes it outside the cluster. Fix: use type ClusterIP and reach it through the router.`,
      });
    }
  }
  const serviceNames = new Set(services.map((s) => s.metadata.name));
  for (const route of sameNs) {
    for (const [path, name] of backendServices(route)) {
      if (!serviceNames.has(name)) continue;
      findings.push({
        object: route,
        path,
        message: `${what}; this ${shown(route.kind)} routes to Service ${shown(name)} directly. Fix: route to the router (which enforces CORS), not to the llama.cpp Service.`,
      });
    }
  }
  return findings;
}

function selectsForIngress(policy: K8sObject, template: PodTemplate): boolean {
  const spec = asRecord(policy["spec"]);
  if (!spec || !selectorMatches(spec["podSelector"] ?? {}, template.labels)) return false;
  const types = asArray(spec["policyTypes"]);
  return types.length === 0 || types.includes("Ingress");
}

/** Services an Ingress or HTTPRoute sends traffic to, with where. */
function backendServices(route: K8sObject): [readonly PathSegment[], string][] {
  const out: [readonly PathSegment[], string][] = [];
  const spec = asRecord(route["spec"]);
  if (!spec) return out;
  if (route.kind === "Ingress") {
    const def = asString(asRecord(asRecord(spec["defaultBackend"])?.["service"])?.["name"]);
    if (def) out.push([["spec", "defaultBackend", "service", "name"], def]);
    asArray(spec["rules"]).forEach((rule, r) => {
      asArray(asRecord(asRecord(rule)?.["http"])?.["paths"]).forEach((p, i) => {
        const name = asString(asRecord(asRecord(asRecord(p)?.["backend"])?.["service"])?.["name"]);
        if (name) out.push([["spec", "rules", r, "http", "paths", i, "backend", "service", "name"], name]);
      });
    });
  } else if (route.kind === "HTTPRoute") {
    asArray(spec["rules"]).forEach((rule, r) => {
      asArray(asRecord(rule)?.["backendRefs"]).forEach((ref, b) => {
        const record = asRecord(ref);
        const kind = asString(record?.["kind"]) ?? "Service";
        const name = asString(record?.["name"]);
        if (name && kind === "Service") out.push([["spec", "rules", r, "backendRefs", b, "name"], name]);
      });
    });
  }
  return out;
}
