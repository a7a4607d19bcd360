import type { StackConfig } from "../stacks/config/types.js";
import type { ObjectGroup } from "./synthesize.js";

/**
 * Files beyond the namespace and the models: the registry database, monitoring and GitOps objects, each built by
 * its component's pure builder from the same config.
 */
export function extraGroups(_config: StackConfig, _stackOutDir: string): ObjectGroup[] {
  return [];
}
