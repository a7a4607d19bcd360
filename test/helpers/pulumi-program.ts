/**
 * Runs the real Pulumi program for one stack under Pulumi's official mocks (`pulumi.runtime.setMocks`): the stack
 * file's `modelfleet:` keys become the runtime config, exactly as the language host passes them, and every
 * resource registration is captured.
 */
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { configMap } from "../program/stand-in-engine.js";
import { defineStack, type StackOutputs } from "../../stacks/program.js";
import { loadPulumiStackConfig, loadStackSecrets } from "../../stacks/pulumi-config.js";
import type { StackConfig } from "../../config/types.js";

export const ROOT = join(import.meta.dirname, "..", "..");
/** What the mocked RandomPassword returns, so tests can find it where it must (and must not) appear. */
export const GENERATED_PASSWORD = "generated-by-random-Zq8v2Lm4Xw7N";
/** Pulumi's marker for a secret value in serialized inputs. */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";

export interface RegisteredResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>;
  /** URNs of the resources it waits for (dependsOn and input dependencies), as the engine receives them. */
  dependencies: string[];
  /** Its parent's URN ("" for the stack). */
  parent: string;
}

export interface ProgramRun {
  readonly config: StackConfig;
  readonly outputs: StackOutputs;
  readonly resources: readonly RegisteredResource[];
  /** URN of every resource a model component registered, by Pulumi resource name. */
  readonly modelUrns: ReadonlyMap<string, string>;
}

/** The stack file's `modelfleet:` keys as Pulumi's config map (defined beside the stand-in engine, which needs it too). */
export { configMap } from "../program/stand-in-engine.js";

export interface RunOptions {
  /** Extra or replaced `modelfleet:` keys, as decrypted values. */
  readonly extra?: Record<string, unknown>;
  /** Keys (without the namespace) the language host would mark secret. */
  readonly secretKeys?: readonly string[];
}

export async function installMocks(stack: string, options: RunOptions = {}): Promise<RegisteredResource[]> {
  const resources: RegisteredResource[] = [];
  pulumi.runtime.setAllConfig(configMap(stack, options.extra), (options.secretKeys ?? []).map((k) => `modelfleet:${k}`));
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const state = args.type === "random:index/randomPassword:RandomPassword" ? { ...args.inputs, result: GENERATED_PASSWORD } : args.inputs;
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, dependencies: [], parent: "" });
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "modelfleet",
    stack,
    false,
  );
  // The mock monitor receives the engine's RegisterResource requests; read what mocks do not pass on (parent and
  // dependencies), then hand the request on unchanged.
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: any, callback: unknown): Promise<void> };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: unknown) => {
    const name: string = req.getName();
    const deps: string[] = req.getDependenciesList();
    const parent: string = req.getParent();
    const settle = register(req, callback);
    const captured = resources.find((r) => r.name === name && r.type === req.getType());
    if (captured) Object.assign(captured, { dependencies: deps, parent });
    return settle;
  };
  return resources;
}

export function resolve<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((done) => output.apply(done));
}

/** Runs the program body (what stacks/index.ts does) and waits for every registration to reach the mocks. */
export async function runProgram(stack: string, options: RunOptions = {}): Promise<ProgramRun> {
  const captured = await installMocks(stack, options);
  const config = loadPulumiStackConfig();
  const outputs = defineStack(config, loadStackSecrets(config));
  // URNs carry the parent chain (`...::modelfleet:inference:VllmModel$kubernetes:apps/v1:Deployment::name`).
  const modelUrns = new Map<string, string>();
  for (const component of outputs.models.values()) {
    for (const resource of component.resources.values()) {
      const urn = await resolve(resource.urn);
      modelUrns.set(urn.slice(urn.lastIndexOf("::") + 2), urn);
    }
  }
  // Waits for every outstanding registration to reach the mocks.
  await pulumi.runtime.disconnect();
  return { config, outputs, resources: captured, modelUrns };
}
