import type { ImageRef } from "../config/image-ref.js";
import type { K8sObject } from "../components/shared/k8s-object.js";
import { canonicalFlag, pathNeedsKey } from "../config/engines/flags.js";
import { contractForImage } from "../config/engines/registry.js";
import type { ContractProblem, EngineContract, ValueFormat } from "../config/engines/types.js";

/** The parts of a rendered Kubernetes container the contract speaks about. */
export interface RenderedContainer {
  readonly image?: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly { readonly name: string; readonly value?: string; readonly valueFrom?: unknown }[];
  readonly startupProbe?: { readonly httpGet?: { readonly path?: string } };
  readonly readinessProbe?: { readonly httpGet?: { readonly path?: string } };
  readonly livenessProbe?: { readonly httpGet?: { readonly path?: string } };
}

const MAX_SHOWN = 80;
const show = (value: string): string => JSON.stringify(value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN - 3)}...` : value);

/** Why `value` does not fit `format`, or undefined when it does. */
function formatError(format: ValueFormat, value: string): string | undefined {
  switch (format.kind) {
    case "switch":
      return "takes no value";
    case "int": {
      if (!/^-?\d+$/.test(value)) return "must be an integer";
      return format.min !== undefined && Number(value) < format.min ? `must be ≥ ${format.min}` : undefined;
    }
    case "float": {
      if (!/^-?(\d+\.?\d*|\.\d+)(e-?\d+)?$/i.test(value)) return "must be a number";
      const n = Number(value);
      if (format.min !== undefined && n < format.min) return `must be ≥ ${format.min}`;
      return format.max !== undefined && n > format.max ? `must be ≤ ${format.max}` : undefined;
    }
    case "enum":
      return format.values.includes(value) ? undefined : `must be one of ${format.values.join(", ")}`;
    case "string":
      return value === "" ? "must not be empty" : undefined;
    case "path":
      return value.startsWith("/") ? undefined : "must be an absolute path in the container";
    case "url":
      return /^https?:\/\/[^\s/]+\/\S*$/.test(value) ? undefined : "must be an http(s) URL";
    case "json":
    case "jsonList": {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        return "must be JSON";
      }
      if (format.kind === "json") return typeof parsed === "object" && parsed !== null ? undefined : "must be a JSON object or list";
      return Array.isArray(parsed) && parsed.every((v) => typeof v === "string") ? undefined : "must be a JSON list of strings";
    }
    default: {
      const never: never = format;
      return never;
    }
  }
}

interface ParsedArgv {
  readonly positional: string[];
  readonly flags: Map<string, string[]>;
}

function parseArgv(contract: EngineContract, argv: readonly string[], problems: ContractProblem[]): ParsedArgv {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  const v = contract.version;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? "";
    if (!token.startsWith("-") || token === "-") {
      if (contract.positionalModel && i === 0) positional.push(token);
      else problems.push({ subject: token, message: `argument ${show(token)} at position ${i} is not a flag or a flag's value; ${contract.engine} ${v} would reject or misread it. Fix: remove it or put the flag it belongs to before it.` });
      continue;
    }
    const eq = token.startsWith("--") ? token.indexOf("=") : -1;
    const name = eq > 0 ? token.slice(0, eq) : token;
    if (eq > 0 && !contract.inlineValues) {
      // The value is not shown: it may be a key (`--api-key=…`).
      problems.push({ subject: name, message: `flag written as "${name}=<value>": ${contract.engine} ${v} reads the whole token as a flag name, finds none and exits ("invalid argument"). Fix: pass ${name} and its value as two arguments.` });
      continue;
    }
    const canonical = canonicalFlag(contract, name);
    if (canonical === undefined) {
      problems.push({ subject: name, message: `flag ${name} does not exist in ${contract.engine} ${v} (${contract.source}); the engine exits at start. Fix: remove it or pin an engine version that has it.` });
      continue;
    }
    const spec = contract.flags[canonical]!;
    let value: string | undefined;
    if (spec.value.kind === "switch") {
      if (eq > 0) problems.push({ subject: canonical, message: `flag ${canonical} is a switch and takes no value (got ${show(token.slice(eq + 1))}). Fix: pass ${canonical} alone.` });
      value = "";
    } else if (eq > 0) {
      value = token.slice(eq + 1);
    } else {
      value = argv[i + 1];
      if (value === undefined || (value.startsWith("-") && spec.value.kind !== "int" && spec.value.kind !== "float")) {
        problems.push({ subject: canonical, message: `flag ${canonical} needs a value and has none. Fix: pass ${canonical} <value>.` });
        continue;
      }
      i++;
      const error = formatError(spec.value, value);
      if (error) problems.push({ subject: canonical, message: `flag ${canonical} has value ${show(value)}, which ${error} in ${contract.engine} ${v}. Fix: render a value of that form.` });
    }
    if (eq > 0 && spec.value.kind !== "switch") {
      const error = formatError(spec.value, value);
      if (error) problems.push({ subject: canonical, message: `flag ${canonical} has value ${show(value)}, which ${error} in ${contract.engine} ${v}. Fix: render a value of that form.` });
    }
    flags.set(canonical, [...(flags.get(canonical) ?? []), value]);
  }
  return { positional, flags };
}

function corsProblems(contract: EngineContract, flags: Map<string, string[]>): ContractProblem[] {
  const { cors } = contract;
  const values = flags.get(cors.originsFlag);
  const out: ContractProblem[] = [];
  const fix = "Fix: set modelfleet:cors.allowedOrigins to the one origin that calls this model (https://chat.example.com).";
  if (values === undefined) {
    out.push({ subject: cors.originsFlag, message: `no ${cors.originsFlag}: ${contract.engine} ${contract.version} then allows origin ${cors.defaultOrigins}${cors.defaultCredentials ? " with credentials" : ""}. ${fix}` });
  } else {
    for (const value of values) {
      if (cors.originsFormat === "jsonList") {
        let origins: unknown;
        try {
          origins = JSON.parse(value);
        } catch {
          continue; // reported as a format problem already
        }
        if (Array.isArray(origins) && origins.includes("*")) out.push({ subject: cors.originsFlag, message: `${cors.originsFlag} ${show(value)} contains "*", which lets any web page call the model. ${fix}` });
      } else if (value.trim() === "*") {
        out.push({ subject: cors.originsFlag, message: `${cors.originsFlag} is "*": ${contract.engine} ${contract.version} then echoes any Origin back. ${fix}` });
      } else if (/[,\s]/.test(value.trim())) {
        out.push({ subject: cors.originsFlag, message: `${cors.originsFlag} ${show(value)} lists more than one origin, but ${contract.engine} ${contract.version} writes the value verbatim into Access-Control-Allow-Origin, so no browser accepts it. Fix: pass exactly one origin.` });
      }
    }
  }
  if (cors.defaultCredentials && cors.credentialsOffFlag !== undefined && !flags.has(cors.credentialsOffFlag)) {
    out.push({ subject: cors.credentialsOffFlag, message: `credentials are on (the ${contract.engine} ${contract.version} default) because ${cors.credentialsOffFlag} is missing. Fix: pass ${cors.credentialsOffFlag}.` });
  }
  return out;
}

function speculativeProblems(contract: EngineContract, flags: Map<string, string[]>): ContractProblem[] {
  const methods = contract.speculativeMethods;
  const value = flags.get("--speculative-config")?.[0];
  if (methods === undefined || value === undefined) return [];
  let config: unknown;
  try {
    config = JSON.parse(value);
  } catch {
    return [];
  }
  const method = typeof config === "object" && config !== null ? (config as Record<string, unknown>)["method"] : undefined;
  if (typeof method === "string" && methods.includes(method)) return [];
  const got = method === undefined ? "has no method, so vLLM infers one from the draft and falls back to draft_model, which raises NotImplementedError" : `has method ${show(String(method))}, which does not run`;
  return [{ subject: "--speculative-config", message: `--speculative-config ${got} in vLLM ${contract.version}. Fix: set vllm.speculative.method to one of ${methods.join(", ")}.` }];
}

/**
 * Parses a rendered engine container back against its contract: command, every flag and its value's format, the
 * env vars the pod must set, probes on paths that need the API key, CORS left open, and the engine-specific traps
 * (llama.cpp without `-m` runs as a router; vLLM GGUF without a file; speculative decoding without a method).
 */
export function checkEngineContainer(contract: EngineContract, container: RenderedContainer): ContractProblem[] {
  const problems: ContractProblem[] = [];
  const command = container.command ?? [];
  const argv = [...command, ...(container.args ?? [])];
  const head = argv.slice(0, contract.command.length);
  if (head.join(" ") !== contract.command.join(" ")) {
    problems.push({ subject: "command", message: `command is ${show(head.join(" "))}; ${contract.engine} ${contract.version} is started as ${show(contract.command.join(" "))}. Fix: render that command.` });
  }
  const { positional, flags } = parseArgv(contract, argv.slice(contract.command.length), problems);

  if (contract.positionalModel && positional.length === 0) {
    problems.push({ subject: "model", message: `no model argument: ${contract.command.join(" ")} needs the model first. Fix: render the repository id or model path as the first argument.` });
  }
  if (contract.engine === "llamacpp" && !flags.has("--model")) {
    const why = flags.has("--model-url") ? "--model-url alone leaves the model path empty" : "with no model path";
    problems.push({ subject: "--model", message: `no -m/--model: ${why}, llama-server ${contract.version} starts in router mode, loads no model, passes /health and answers every completion with an error. Fix: always pass -m <local path> (with --model-url it downloads to that path).` });
  }
  if (flags.get("--quantization")?.[0] === "gguf" && !(positional[0] ?? "").endsWith(".gguf")) {
    problems.push({ subject: "--quantization", message: `--quantization gguf with model ${show(positional[0] ?? "")}: vLLM's GGUF loader needs a .gguf file (a local path, a URL or <repo>/<file>.gguf) and raises at start. Fix: set source.file to the .gguf file.` });
  }
  problems.push(...corsProblems(contract, flags), ...speculativeProblems(contract, flags));

  const env = new Map((container.env ?? []).map((e) => [e.name, e]));
  for (const group of contract.requiredEnv) {
    if (!group.some((name) => env.has(name))) {
      problems.push({ subject: group.join("/"), message: `none of ${group.join(", ")} is set: ${contract.engine} ${contract.version} calls getpass.getuser(), which fails for our uid (no /etc/passwd entry). Fix: set ${group[0]} in the container env.` });
    }
  }
  const keyed = contract.apiKey.flags.some((f) => flags.has(f)) || contract.apiKey.env.some((name) => env.has(name));
  if (keyed) {
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"] as const) {
      const path = container[probe]?.httpGet?.path;
      if (path !== undefined && pathNeedsKey(contract, path)) {
        problems.push({ subject: probe, message: `${probe} GETs ${show(path)}, which needs the API key in ${contract.engine} ${contract.version}, so the kubelet gets 401 and the pod never turns ready. Fix: probe ${contract.readiness.ready}.` });
      }
    }
  }
  return problems;
}

/** Metric names a PromQL expression reads (`vllm:…`, `llamacpp:…`). */
export function metricNamesIn(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b(?:vllm|llamacpp):[a-zA-Z_][a-zA-Z0-9_]*/g)].map((m) => m[0]))].sort();
}

/** Names the engine does not export (histogram and counter suffixes `_bucket`, `_sum`, `_count`, `_created` allowed). */
export function checkMetricNames(contract: EngineContract, names: readonly string[]): ContractProblem[] {
  const known = new Set(contract.metrics.names);
  return names
    .filter((name) => !known.has(name) && !known.has(name.replace(/_(bucket|sum|count|created)$/, "")))
    .map((name) => ({ subject: name, message: `metric ${name} is not exported by ${contract.engine} ${contract.version} (${contract.metrics.path}); a query on it is always empty. Fix: use one of the engine's names (config/engines/).` }));
}

export interface ObjectProblem extends ContractProblem {
  /** `Kind/name` of the object. */
  readonly object: string;
}

/**
 * Every engine container in rendered objects (Deployments' containers running vLLM or llama-server), checked against
 * the contract of its image's tag — or of `pins` when given: an offline stack's site references carry only digests.
 */
export function checkModelObjects(objects: readonly K8sObject[], pins?: Partial<Record<"vllm" | "llamacpp", string | ImageRef>>): ObjectProblem[] {
  const out: ObjectProblem[] = [];
  for (const object of objects) {
    if (object.kind !== "Deployment") continue;
    const ref = `${object.kind}/${object.metadata.name}`;
    const spec = (object as unknown as { spec?: { template?: { spec?: { containers?: RenderedContainer[] } } } }).spec;
    for (const container of spec?.template?.spec?.containers ?? []) {
      const line = [...(container.command ?? []), ...(container.args ?? [])].join(" ");
      const engine = line.includes("llama-server") ? "llamacpp" : line.startsWith("vllm serve") ? "vllm" : undefined;
      if (engine === undefined) continue;
      const found = contractForImage(engine, pins?.[engine] ?? container.image ?? "");
      if ("error" in found) {
        out.push({ object: ref, subject: "image", message: found.error });
        continue;
      }
      out.push(...checkEngineContainer(found.contract, container).map((p) => ({ object: ref, ...p })));
    }
  }
  return out;
}
