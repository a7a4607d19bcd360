import { buildRegistryObjects } from "../components/registry/objects.js";
import type { StackConfig } from "../stacks/config/types.js";
import type { ObjectGroup } from "./synthesize.js";

/**
 * Files beyond the namespace and the models: the registry database, monitoring and GitOps objects, each built by
 * its component's pure builder from the same config.
 */
export function extraGroups(config: StackConfig, _stackOutDir: string): ObjectGroup[] {
  return [{ path: "registry.yaml", objects: buildRegistryObjects(config, config.models) }];
}
