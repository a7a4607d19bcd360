/**
 * The Pulumi program: the running stack's `Pulumi.<stack>.yaml` → components. Pulumi runs its compiled form,
 * build/stacks/index.js (Pulumi.yaml `main`, `typescript: false`; built by `npm ci` / `npm run build`).
 * `pulumi preview --stack production --policy-pack policies` shows every object as its own resource.
 */
import type { StackOutputs } from "./program.js";
import { asRunError, loadPulumiStackConfig, loadStackSecrets, runGuarded } from "./pulumi-config.js";

// The stack config is checked before the components (cdk8s, @pulumi/kubernetes: seconds to load) are imported, so a
// bad stack file is reported as soon as the program starts.
const config = runGuarded(loadPulumiStackConfig);
const { defineStack } = await import("./program.js").catch((error: unknown) => {
  throw asRunError(error);
});
const stack = runGuarded(() => defineStack(config, loadStackSecrets(config)));

/** The stack outputs: `pulumi stack output <name>`. */
export interface StackExports {
  /** Model name → `{model}-{environment}.{namespace}.svc.cluster.local:8000`. */
  readonly endpoints: Record<string, string>;
  readonly environment: string;
  readonly namespace: string;
  /** Offline stacks only: every image (pin, digest, site reference) and model file the site needs — what a bundle carries. */
  readonly offlineImages?: NonNullable<StackOutputs["offline"]>["images"];
}

// One default export (Pulumi's runner then takes it as the outputs), so a stack that is not offline has no
// `offlineImages` key at all rather than an undefined one the runner would warn about on every preview.
const outputs: StackExports = {
  endpoints: stack.endpoints,
  environment: config.environment,
  namespace: config.namespace,
  ...(stack.offline ? { offlineImages: stack.offline.images } : {}),
};
export default outputs;
