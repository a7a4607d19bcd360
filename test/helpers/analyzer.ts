/**
 * The CrossGuard pack served the way the Pulumi CLI serves it: `run-policy-pack <engine> .` in policies/ prints
 * its analyzer port, and the engine talks to it over gRPC (GetAnalyzerInfo, Analyze per resource, AnalyzeStack).
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";

const require = createRequire(import.meta.url);
const grpc = require("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
const rpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb.js") as { AnalyzerClient: new (address: string, credentials: unknown) => Record<string, Function> };
export const pb = require("@pulumi/pulumi/proto/analyzer_pb.js") as Record<string, any>;
const { Struct } = require("google-protobuf/google/protobuf/struct_pb.js") as { Struct: { fromJavaScript(value: unknown): unknown } };
export const { Empty } = require("google-protobuf/google/protobuf/empty_pb.js") as { Empty: new () => unknown };

export const PACK_DIR = join(import.meta.dirname, "../../policies");
export const MANDATORY = pb["EnforcementLevel"].MANDATORY as number;

export interface Diagnostic {
  readonly policy: string;
  readonly enforcement: number;
  readonly message: string;
  readonly urn: string;
}

export interface AnalyzedResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly properties: Record<string, unknown>;
}

export interface ServedPack {
  call<T>(method: string, request: unknown): Promise<T>;
  analyze(resource: AnalyzedResource): Promise<Diagnostic[]>;
  analyzeStack(resources: readonly AnalyzedResource[]): Promise<Diagnostic[]>;
  stop(): void;
}

/** Starts the pack with the given process environment (PULUMI_CONFIG carries the stack's config, as the CLI sets it). */
export async function servePack(env: Record<string, string>): Promise<ServedPack> {
  const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack/index.js");
  const pack: ResultPromise = execa("node", [runner, "127.0.0.1:1", "."], { cwd: PACK_DIR, env, reject: false });
  const port = await new Promise<string>((resolve, reject) => {
    pack.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
    void pack.then((r) => reject(new Error(`pack exited ${r.exitCode}: ${r.stderr}`)));
  });
  const client = new rpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = <T>(method: string, request: unknown): Promise<T> =>
    new Promise((resolve, reject) => client[method]!(request, (error: Error | null, response: T) => (error ? reject(error) : resolve(response))));
  const diagnostics = (response: { getDiagnosticsList(): any[] }): Diagnostic[] =>
    response.getDiagnosticsList().map((d) => ({ policy: d.getPolicyname(), enforcement: d.getEnforcementlevel(), message: d.getMessage(), urn: d.getUrn() }));
  const fill = (target: any, r: AnalyzedResource): void => {
    target.setType(r.type);
    target.setUrn(r.urn);
    target.setName(r.name);
    target.setProperties(Struct.fromJavaScript(r.properties));
    target.setOptions(new pb["AnalyzerResourceOptions"]());
  };
  return {
    call,
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
          return entry;
        }),
      );
      return diagnostics(await call("analyzeStack", request));
    },
    stop: () => void pack.kill(),
  };
}
