/**
 * The Pulumi program run the way `pulumi preview` / `pulumi up` run it, minus the Pulumi CLI: Node runs
 * `@pulumi/pulumi/cmd/run` with the arguments and environment the Node.js language host (pulumi-language-nodejs) gives
 * it, and a stand-in engine in this process answers over Pulumi's gRPC protocol (`@pulumi/pulumi/proto`): the
 * ResourceMonitor (RegisterResource, RegisterResourceOutputs, SupportsFeature, SignalAndWaitForShutdown) and the
 * Engine (Log, Get/SetRootResource). What it records — every registration with its time, every log entry — is what a
 * test or a benchmark asserts on.
 *
 * What is taken from Pulumi.yaml, as the engine takes it (pkg/workspace getPwdMain, language host Run):
 * - `main`: a file → the working directory (`--pwd`) is its folder and the entry point its base name; a folder → that
 *   folder and `.`;
 * - `runtime.options.typescript` (default true): `PULUMI_NODEJS_TYPESCRIPT=true` only when on, which makes the runner
 *   register ts-node;
 * - config: `PULUMI_CONFIG` as JSON with keys `project:config:key` (the language host's historical form, which the SDK
 *   accepts), `PULUMI_CONFIG_SECRET_KEYS` as a JSON array of `project:key`.
 */
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { execa } from "execa";
import { parse } from "yaml";
import { readStackValues } from "../../config/load.js";

const require = createRequire(import.meta.url);
const grpc = require("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
const resourceRpc = require("@pulumi/pulumi/proto/resource_grpc_pb.js") as { ResourceMonitorService: import("@grpc/grpc-js").ServiceDefinition };
const engineRpc = require("@pulumi/pulumi/proto/engine_grpc_pb.js") as { EngineService: import("@grpc/grpc-js").ServiceDefinition };
const resourcePb = require("@pulumi/pulumi/proto/resource_pb.js") as Record<string, any>;
const enginePb = require("@pulumi/pulumi/proto/engine_pb.js") as Record<string, any>;
const { Struct } = require("google-protobuf/google/protobuf/struct_pb.js") as {
  Struct: { fromJavaScript(value: unknown): unknown };
};
const { Empty } = require("google-protobuf/google/protobuf/empty_pb.js") as { Empty: new () => unknown };

export const ROOT = join(import.meta.dirname, "..", "..");
export const PROJECT = "modelfleet";
/** The runner the language host starts (its default run path, resolved from the project). */
export const RUNNER = require.resolve("@pulumi/pulumi/cmd/run/index.js");
/** What the stand-in returns as a generated RandomPassword's `result` in an update. */
export const GENERATED_RESULT = "stand-in-generated-password-K3v9";

/** Features the real engine reports and this stand-in honours (others answer false, as an older engine would). */
const FEATURES = new Set(["secrets", "resourceReferences", "outputValues", "deletedWith", "aliasSpecs"]);

export interface EngineResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly parent: string;
  readonly custom: boolean;
  readonly inputs: Record<string, unknown>;
  readonly dependencies: readonly string[];
  /** performance.now() when the registration reached the stand-in. */
  readonly at: number;
}

export interface EngineLog {
  readonly severity: "debug" | "info" | "warning" | "error";
  readonly message: string;
  readonly urn: string;
  /** performance.now() when the entry reached the stand-in. */
  readonly at: number;
}

export interface StandInEngine {
  /** `127.0.0.1:<port>`, for both `--monitor` and `--engine`. */
  readonly address: string;
  readonly resources: EngineResource[];
  readonly logs: EngineLog[];
  /** Outputs registered per URN (the Stack's outputs are the program's exports). */
  readonly outputs: Map<string, Record<string, unknown>>;
  close(): Promise<void>;
}

/** The stack file's `modelfleet:` keys as Pulumi's config map: `project:key` → string (JSON for structured values). */
export function configMap(stack: string, extra: Record<string, unknown> = {}): Record<string, string> {
  const values = { ...readStackValues(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8"), `Pulumi.${stack}.yaml`), ...extra };
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`modelfleet:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}

const SEVERITY = ["debug", "info", "warning", "error"] as const;

function urnOf(stack: string, type: string, name: string, parentUrn: string): string {
  const parentChain = parentUrn ? parentUrn.split("::")[2] : "";
  // The Stack resource is not part of its children's type chain.
  const chain = parentChain && parentChain !== "pulumi:pulumi:Stack" ? `${parentChain}$${type}` : type;
  return `urn:pulumi:${stack}::${PROJECT}::${chain}::${name}`;
}

/** Starts the stand-in engine on a free loopback port. `dryRun` decides what RegisterResource returns. */
export async function startStandInEngine(stack: string, dryRun: boolean): Promise<StandInEngine> {
  const resources: EngineResource[] = [];
  const logs: EngineLog[] = [];
  const outputs = new Map<string, Record<string, unknown>>();
  let rootUrn = "";
  const server = new grpc.Server();

  server.addService(resourceRpc.ResourceMonitorService, {
    supportsFeature: (call: any, done: any) => {
      const response = new resourcePb["SupportsFeatureResponse"]();
      response.setHassupport(FEATURES.has(call.request.getId()));
      done(null, response);
    },
    registerResource: (call: any, done: any) => {
      const req = call.request;
      const at = performance.now();
      const type: string = req.getType();
      const name: string = req.getName();
      const parent: string = req.getParent();
      const custom: boolean = req.getCustom();
      const inputs = (req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
      const urn = urnOf(stack, type, name, parent);
      resources.push({ type, name, urn, parent, custom, inputs, dependencies: req.getDependenciesList(), at });
      // A preview plans creates: outputs are the inputs (the provider's computed fields stay unknown). An update
      // "creates" each resource: an id, and for a RandomPassword its result.
      const state = type === "random:index/randomPassword:RandomPassword" && !dryRun ? { ...inputs, result: GENERATED_RESULT } : inputs;
      const response = new resourcePb["RegisterResourceResponse"]();
      response.setUrn(urn);
      if (custom) response.setId(dryRun ? "" : `${name}-id`);
      response.setObject(Struct.fromJavaScript(state));
      done(null, response);
    },
    registerResourceOutputs: (call: any, done: any) => {
      outputs.set(call.request.getUrn(), (call.request.getOutputs()?.toJavaScript() ?? {}) as Record<string, unknown>);
      done(null, new Empty());
    },
    signalAndWaitForShutdown: (_call: any, done: any) => done(null, new Empty()),
  });
  server.addService(engineRpc.EngineService, {
    log: (call: any, done: any) => {
      logs.push({
        severity: SEVERITY[call.request.getSeverity() as number] ?? "error",
        message: call.request.getMessage(),
        urn: call.request.getUrn(),
        at: performance.now(),
      });
      done(null, new Empty());
    },
    getRootResource: (_call: any, done: any) => {
      const response = new enginePb["GetRootResourceResponse"]();
      response.setUrn(rootUrn);
      done(null, response);
    },
    setRootResource: (call: any, done: any) => {
      rootUrn = call.request.getUrn();
      done(null, new enginePb["SetRootResourceResponse"]());
    },
  });
  const port = await new Promise<number>((done, fail) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? fail(error) : done(bound))),
  );
  return {
    address: `127.0.0.1:${port}`,
    resources,
    logs,
    outputs,
    close: () => new Promise<void>((done) => server.tryShutdown(() => done())),
  };
}

/** What the engine reads from Pulumi.yaml to start the program. */
export interface ProjectEntry {
  /** Folder the language host runs the program in (`--pwd`), absolute. */
  readonly pwd: string;
  /** The program argument, relative to `pwd` (`.` for a folder). */
  readonly entryPoint: string;
  /** `runtime.options.typescript` (Pulumi's default: true). */
  readonly typescript: boolean;
  /** `runtime.options.nodeargs`, split on spaces as the language host splits them. */
  readonly nodeargs: readonly string[];
}

export function projectEntry(root = ROOT): ProjectEntry {
  const project = parse(readFileSync(join(root, "Pulumi.yaml"), "utf8")) as {
    main?: string;
    runtime: string | { name: string; options?: { typescript?: boolean; nodeargs?: string } };
  };
  const options = typeof project.runtime === "string" ? {} : (project.runtime.options ?? {});
  const main = project.main ? resolve(root, project.main) : root;
  const isFile = project.main !== undefined && /\.[cm]?[jt]s$/.test(main);
  return {
    pwd: isFile ? dirname(main) : main,
    entryPoint: isFile ? basename(main) : ".",
    typescript: options.typescript ?? true,
    nodeargs: options.nodeargs ? options.nodeargs.split(/\s+/).filter(Boolean) : [],
  };
}

export interface PulumiRunOptions {
  readonly stack: string;
  /** `pulumi preview` (true) or `pulumi up` (false). */
  readonly dryRun: boolean;
  /** `project:key` → value (structured values as JSON), secrets decrypted, as the engine passes them. */
  readonly config: Record<string, string>;
  /** Keys of `config` (`project:key`) that are secrets. */
  readonly secretKeys?: readonly string[];
  /** Kill the program after this long. @default 120 s */
  readonly timeoutMs?: number;
  /** What to run. @default what Pulumi.yaml says (projectEntry()) */
  readonly entry?: ProjectEntry;
}

export interface PulumiRun {
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly resources: readonly EngineResource[];
  readonly logs: readonly EngineLog[];
  /** The program's exports, as registered on the Stack resource. */
  readonly stackOutputs: Record<string, unknown> | undefined;
  /**
   * Milliseconds from spawning node to: the Stack resource (the runner has loaded the SDK and starts the program), the
   * program's first own resource, the first error logged, the process exit.
   */
  readonly times: { readonly stack?: number; readonly firstResource?: number; readonly firstError?: number; readonly exit: number };
}

/** The language host's environment for the program: its own, plus config and the TypeScript switch. */
export function languageHostEnv(entry: ProjectEntry, options: PulumiRunOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    // Whatever loaders the test runner put in NODE_OPTIONS are not in the operator's environment.
    if (value !== undefined && key !== "NODE_OPTIONS" && !key.startsWith("VITEST") && !key.startsWith("PULUMI_")) env[key] = value;
  }
  env["PULUMI_CONFIG"] = JSON.stringify(
    Object.fromEntries(Object.entries(options.config).map(([key, value]) => [key.replace(/^([^:]+):/, "$1:config:"), value])),
  );
  env["PULUMI_CONFIG_SECRET_KEYS"] = JSON.stringify(options.secretKeys ?? []);
  if (entry.typescript) env["PULUMI_NODEJS_TYPESCRIPT"] = "true";
  return env;
}

/** Runs the program for one stack under Pulumi's runner against a fresh stand-in engine, to its exit. */
export async function runUnderPulumi(options: PulumiRunOptions): Promise<PulumiRun> {
  const entry = options.entry ?? projectEntry();
  const engine = await startStandInEngine(options.stack, options.dryRun);
  try {
    const args = [
      ...entry.nodeargs,
      RUNNER,
      `--monitor=${engine.address}`,
      `--engine=${engine.address}`,
      "--organization=organization",
      `--project=${PROJECT}`,
      `--stack=${options.stack}`,
      `--pwd=${entry.pwd}`,
      ...(options.dryRun ? ["--dry-run"] : []),
      "--parallel=16",
      `--root-directory=${ROOT}`,
      entry.entryPoint,
    ];
    const started = performance.now();
    const result = await execa(process.execPath, args, {
      cwd: entry.pwd,
      env: languageHostEnv(entry, options),
      extendEnv: false,
      reject: false,
      timeout: options.timeoutMs ?? 120_000,
    });
    const exit = performance.now() - started;
    const stackResource = engine.resources.find((r) => r.type === "pulumi:pulumi:Stack");
    const firstOwn = engine.resources.find((r) => r.type !== "pulumi:pulumi:Stack");
    const firstError = engine.logs.find((l) => l.severity === "error");
    return {
      exitCode: result.exitCode,
      stdout: String(result.stdout),
      stderr: String(result.stderr),
      resources: [...engine.resources],
      logs: [...engine.logs],
      stackOutputs: stackResource ? engine.outputs.get(stackResource.urn) : undefined,
      times: {
        ...(stackResource ? { stack: stackResource.at - started } : {}),
        ...(firstOwn ? { firstResource: firstOwn.at - started } : {}),
        ...(firstError ? { firstError: firstError.at - started } : {}),
        exit,
      },
    };
  } finally {
    await engine.close();
  }
}
