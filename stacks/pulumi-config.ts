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
 * The running stack's config, through the same parser synth uses. A bad config stops the program with the
 * problem list only (RunError: no stack trace, no program source in the output).
 */
export function loadPulumiStackConfig(): StackConfig {
  const stack = pulumi.getStack();
  try {
    return parseStackConfig(valuesFromPulumiConfig(pulumi.runtime.allConfig(), isConfigSecret), stackFileName(stack), stack);
  } catch (error) {
    if (error instanceof ConfigError) throw new pulumi.RunError(error.message);
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
