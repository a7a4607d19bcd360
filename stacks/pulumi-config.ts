import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { CONFIG_NAMESPACE, parseStackConfig, stackFileName, valuesFromPulumiConfig } from "../config/load.js";
import { ConfigError } from "../config/problems.js";
import type { StackConfig } from "../config/types.js";

/** Secret values exist only here, on the Pulumi path, as Pulumi secrets; synth never sees them. */
export interface StackSecrets {
  /** The engines' API key: `modelfleet:apiKey`, else generated when the environment requires one. */
  readonly apiKey?: pulumi.Output<string>;
  /** `modelfleet:hfToken`, for gated Hugging Face repositories. */
  readonly hfToken?: pulumi.Output<string>;
  /** `modelfleet:registry.url`, the external registry database's connection URL. */
  readonly registryUrl?: pulumi.Output<string>;
}

// The language host marks secret keys; the check is internal to @pulumi/pulumi, so it is looked up defensively.
function isConfigSecret(key: string): boolean {
  const check = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
  return check ? check(key) : false;
}

/**
 * A RunError that carries only `message`, with no stack. Pulumi's runner logs a RunError's message alone, and then
 * (cmd/run/run.js) formats every uncaught error once more with `util.inspect` for its tracing span. On Node 20 that
 * inspect loops for 30-600 s over a stack frame mapped through the SDK's source maps (nodejs/node#64011); an error
 * without a stack is formatted as its message, so the program stops as soon as the message is logged.
 */
export function stacklessRunError(message: string): pulumi.RunError {
  const error = new pulumi.RunError(message);
  error.stack = undefined;
  return error;
}

/**
 * Any error of the program as the error it stops with: ONE message, exit code 32 ("already reported"), within
 * moments. A config error keeps its problem list only; anything else becomes its stack trace as text (see
 * stacklessRunError for why the runner must not get the Error object itself).
 */
export function asRunError(error: unknown): pulumi.RunError {
  if (pulumi.RunError.isInstance(error) && error.stack === undefined) return error;
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return stacklessRunError(`The modelfleet program failed while defining the stack's resources:\n${text}`);
}

/** Runs a step of the program body, any error it throws turned into asRunError's. */
export function runGuarded<T>(body: () => T): T {
  try {
    return body();
  } catch (error) {
    throw asRunError(error);
  }
}

/**
 * The running stack's config, through the same parser synth uses. A bad config stops the program with the
 * problem list only (a stackless RunError: no stack trace, no program source in the output).
 */
export function loadPulumiStackConfig(): StackConfig {
  const stack = pulumi.getStack();
  try {
    return parseStackConfig(valuesFromPulumiConfig(pulumi.runtime.allConfig(), isConfigSecret), stackFileName(stack), stack);
  } catch (error) {
    if (error instanceof ConfigError) throw stacklessRunError(error.message);
    throw error;
  }
}

export function loadStackSecrets(config: StackConfig): StackSecrets {
  const cfg = new pulumi.Config(CONFIG_NAMESPACE);
  const apiKey =
    config.apiKey === "config"
      ? cfg.requireSecret("apiKey")
      : config.apiKey === "generated"
        ? new random.RandomPassword("engine-api-key", { length: 48, special: false }).result
        : undefined;
  const registryUrl =
    config.registry.mode === "external"
      ? cfg.requireSecretObject<{ url: string }>("registry").apply((r) => r.url)
      : undefined;
  return {
    ...(apiKey ? { apiKey } : {}),
    ...(config.hfToken ? { hfToken: cfg.requireSecret("hfToken") } : {}),
    ...(registryUrl ? { registryUrl } : {}),
  };
}
