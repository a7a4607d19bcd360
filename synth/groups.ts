import { APPLICATION_FILE, buildArgoApplication } from "../components/gitops/argo-application.js";
import { buildDashboardConfigMap } from "../components/monitoring/dashboard.js";
import { buildPrometheusRules } from "../components/monitoring/prometheus-rules.js";
import { buildRegistryObjects } from "../components/registry/objects.js";
import type { StackConfig } from "../config/types.js";
import type { ObjectGroup } from "./synthesize.js";

/**
 * Files beyond the namespace and the models: the registry database, monitoring and the Argo CD Application, each
 * built by its component's pure builder from the same config.
 */
export function extraGroups(config: StackConfig): ObjectGroup[] {
  return [
    { path: "registry.yaml", objects: buildRegistryObjects(config, config.models) },
    { path: "monitoring.yaml", objects: [...buildPrometheusRules(config), ...buildDashboardConfigMap(config)] },
    { path: APPLICATION_FILE, objects: buildArgoApplication(config) },
  ];
}
