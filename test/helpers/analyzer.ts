/**
 * The CrossGuard pack served the way the Pulumi CLI serves it: `run-policy-pack <engine> .` in policies/ prints
 * its analyzer port, and the engine talks to it over gRPC. What the engine does, and so what this helper does
 * (pulumi/pulumi sdk/go/common/resource/plugin/analyzer_plugin.go):
 * - starts the pack with the stack's config in `PULUMI_CONFIG` (JSON, secrets decrypted) and the stack, project and
 *   dry-run flag in `PULUMI_STACK`/`PULUMI_PROJECT`/`PULUMI_DRY_RUN` (plus the `PULUMI_NODEJS_*` twins for Node.js);
 * - calls ConfigureStack, then Configure with `--policy-pack-config` when one is given;
 * - sends each resource's inputs to Analyze and every resource to AnalyzeStack, with its URN, parent and
 *   dependencies, secrets still wrapped in Pulumi's secret envelope and unknown values as their sentinels
 *   (`KeepSecrets`, `KeepUnknowns`).
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import type { RegisteredResource } from "./pulumi-program.js";

const require = createRequire(import.meta.url);
const grpc = require("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
const rpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb.js") as { AnalyzerClient: new (address: string, credentials: unknown) => Record<string, Function> };
export const pb = require("@pulumi/pulumi/proto/analyzer_pb.js") as Record<string, any>;
const { Struct } = require("google-protobuf/google/protobuf/struct_pb.js") as { Struct: { fromJavaScript(value: unknown): unknown } };
export const { Empty } = require("google-protobuf/google/protobuf/empty_pb.js") as { Empty: new () => unknown };

export const PACK_DIR = join(import.meta.dirname, "../../policies");
export const PROJECT = "modelfleet";

export type Enforcement = "advisory" | "mandatory" | "remediate" | "disabled";
export const MANDATORY: Enforcement = "mandatory";
const ENFORCEMENT: Record<number, Enforcement> = Object.fromEntries(
  (["advisory", "mandatory", "remediate", "disabled"] as const).map((name) => [pb["EnforcementLevel"][name.toUpperCase()] as number, name]),
);

export interface Diagnostic {
  readonly policy: string;
  readonly enforcement: Enforcement;
  readonly message: string;
  readonly urn: string;
}

export interface AnalyzedResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly properties: Record<string, unknown>;
  /** The parent's URN; "" (or absent) for a resource at the stack's top level. */
  readonly parent?: string;
  /** URNs the resource depends on (AnalyzeStack only, as in the engine). */
  readonly dependencies?: readonly string[];
}

/** What the engine knows of the stack when it starts a pack. */
export interface PackStack {
  /** Stack name, e.g. `production`. @default none (as for `pulumi policy publish`) */
  readonly stack?: string;
  /** `project:key` → value, secrets decrypted, as `PULUMI_CONFIG` carries them. @default none */
  readonly config?: Record<string, string>;
  /** Keys of `config` that are secrets. @default none */
  readonly secretKeys?: readonly string[];
  /** A preview (`pulumi preview`) rather than an update. @default true */
  readonly dryRun?: boolean;
}

/** One policy's `--policy-pack-config` entry: its enforcement level and its own properties. */
export type PolicyConfig = { readonly enforcementLevel?: Enforcement } & Record<string, unknown>;

export interface ServedPack {
  call<T>(method: string, request: unknown): Promise<T>;
  /** Sends `--policy-pack-config` (the engine's Configure call); replaces any earlier configuration. */
  configure(config: Record<string, PolicyConfig>): Promise<void>;
  analyze(resource: AnalyzedResource): Promise<Diagnostic[]>;
  analyzeStack(resources: readonly AnalyzedResource[]): Promise<Diagnostic[]>;
  stop(): void;
}

/** The environment the engine gives a Node.js policy pack process (constructEnv). */
function engineEnv(target: PackStack): Record<string, string> {
  const env: Record<string, string> = {};
  if (target.config && Object.keys(target.config).length > 0) env["PULUMI_CONFIG"] = JSON.stringify(target.config);
  const dryRun = String(target.dryRun ?? true);
  if (target.stack) {
    for (const prefix of ["PULUMI_NODEJS_", "PULUMI_"]) {
      env[`${prefix}PROJECT`] = PROJECT;
      env[`${prefix}STACK`] = target.stack;
      env[`${prefix}DRY_RUN`] = dryRun;
    }
  }
  return env;
}

/** Starts the pack for `target` as the engine does (environment, then ConfigureStack). */
export async function servePack(target: PackStack = {}): Promise<ServedPack> {
  const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack/index.js");
  const pack: ResultPromise = execa("node", [runner, "127.0.0.1:1", "."], { cwd: PACK_DIR, env: engineEnv(target), reject: false });
  const port = await new Promise<string>((resolve, reject) => {
    pack.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    void pack.then((r) => reject(new Error(`pack exited ${r.exitCode}: ${r.stderr}`)));
  });
  const client = new rpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = <T>(method: string, request: unknown): Promise<T> =>
    new Promise((resolve, reject) => client[method]!(request, (error: Error | null, response: T) => (error ? reject(error) : resolve(response))));
  const diagnostics = (response: { getDiagnosticsList(): any[] }): Diagnostic[] =>
    response.getDiagnosticsList().map((d) => ({
      policy: d.getPolicyname(),
      enforcement: ENFORCEMENT[d.getEnforcementlevel()] ?? d.getEnforcementlevel(),
      message: d.getMessage(),
      urn: d.getUrn(),
    }));
  const fill = (target: any, r: AnalyzedResource): void => {
    target.setType(r.type);
    target.setUrn(r.urn);
    target.setName(r.name);
    target.setProperties(Struct.fromJavaScript(r.properties));
    const options = new pb["AnalyzerResourceOptions"]();
    options.setParent(r.parent ?? "");
    target.setOptions(options);
  };

  if (target.stack) {
    const request = new pb["AnalyzerStackConfigureRequest"]();
    request.setStack(target.stack);
    request.setProject(PROJECT);
    request.setDryRun(target.dryRun ?? true);
    request.setConfigSecretKeysList([...(target.secretKeys ?? [])]);
    const config = request.getConfigMap();
    for (const [key, value] of Object.entries(target.config ?? {})) config.set(key, value);
    await call("configureStack", request);
  }

  return {
    call,
    configure: async (config) => {
      const request = new pb["ConfigureAnalyzerRequest"]();
      const map = request.getPolicyconfigMap();
      for (const [policy, { enforcementLevel, ...properties }] of Object.entries(config)) {
        const entry = new pb["PolicyConfig"]();
        entry.setEnforcementlevel(pb["EnforcementLevel"][(enforcementLevel ?? "advisory").toUpperCase()]);
        entry.setProperties(Struct.fromJavaScript(properties));
        map.set(policy, entry);
      }
      await call("configure", request);
    },
    analyze: async (resource) => {
      const request = new pb["AnalyzeRequest"]();
      fill(request, resource);
      return diagnostics(await call("analyze", request));
    },
    analyzeStack: async (resources) => {
      const request = new pb["AnalyzeStackRequest"]();
      request.setResourcesList(
        resources.map((r) => {
          const entry = new pb["AnalyzerResource"]();
          fill(entry, r);
          entry.setParent(r.parent ?? "");
          entry.setDependenciesList([...(r.dependencies ?? [])]);
          return entry;
        }),
      );
      return diagnostics(await call("analyzeStack", request));
    },
    stop: () => void pack.kill(),
  };
}

/**
 * The engine's URN for a resource: `urn:pulumi:<stack>::<project>::<type chain>::<name>`, where the type chain is the
 * parent's chain, `$`, then the resource's own type (the root Stack resource is not part of any chain).
 */
export function engineUrn(stack: string, type: string, name: string, parentUrn = ""): string {
  const chain = parentUrn ? `${parentUrn.split("::")[2]}$${type}` : type;
  return `urn:pulumi:${stack}::${PROJECT}::${chain}::${name}`;
}

/**
 * Every resource a program run registered, as the engine hands it to a pack: inputs unchanged (Pulumi secrets stay
 * in their envelope; @pulumi/policy unwraps them), the engine's URN, parent and dependencies.
 */
export function analyzerResources(stack: string, registered: readonly RegisteredResource[]): AnalyzedResource[] {
  return registered.map((r) => ({
    type: r.type,
    name: r.name,
    urn: engineUrn(stack, r.type, r.name, r.parent),
    properties: r.inputs,
    parent: r.parent,
    dependencies: r.dependencies,
  }));
}
