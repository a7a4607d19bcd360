import type * as pulumi from "@pulumi/pulumi";
import { LlamaCppModel } from "../components/engines/llamacpp-model.js";
import type { ModelComponent } from "../components/engines/model-component.js";
import { VllmModel } from "../components/engines/vllm-model.js";
import { buildDashboardConfigMap } from "../components/monitoring/dashboard.js";
import { buildPrometheusRules } from "../components/monitoring/prometheus-rules.js";
import { OfflineBundle } from "../components/offline/offline-bundle.js";
import { RegistryDatabase } from "../components/registry/registry-database.js";
import { registerObjects } from "../components/shared/register.js";
import { buildNamespaceObjects } from "../components/stack/stack-objects.js";
import { buildSharedStoreObjects } from "../components/models/store.js";
import type { ResolvedModel, StackConfig } from "../config/types.js";
import type { StackSecrets } from "./pulumi-config.js";

export interface StackOutputs {
  /** Model name → in-cluster endpoint, what the router and the registry use. */
  readonly endpoints: Record<string, string>;
  /** The model components, by model name. */
  readonly models: ReadonlyMap<string, ModelComponent<ResolvedModel>>;
  /** The registry database the router reads, kept in step with the models by the deploy. */
  readonly registry: RegistryDatabase;
  /** For an offline stack: the images and model files its site needs. */
  readonly offline?: OfflineBundle;
}

/**
 * Composes the components for one stack: the namespace objects, one component per model (each waiting for the
 * namespace), and the registry database, whose registration waits for every model's Deployment. Called by stacks/index.ts with the running stack's config, and by tests under mocks.
 */
export function defineStack(config: StackConfig, secrets: StackSecrets): StackOutputs {
  // The Namespace first; its quota, limit range and default-deny policy are created inside it, so they wait for it.
  const namespaceObjects = buildNamespaceObjects(config);
  const namespace = [...registerObjects(namespaceObjects.filter((o) => o.kind === "Namespace"), { prefix: config.namespace }).values()];
  const inNamespace = [...registerObjects(namespaceObjects.filter((o) => o.kind !== "Namespace"), { prefix: config.namespace, dependsOn: namespace }).values()];
  const namespaceResources = [...namespace, ...inNamespace];
  const dependsOn: pulumi.Resource[] = namespaceResources;
  // The shared model claim: nothing waits for it, because a WaitForFirstConsumer claim binds only once the download
  // Jobs that mount it exist (docs/model-initialization.md).
  registerObjects(buildSharedStoreObjects(config), { prefix: config.namespace, dependsOn: namespace });
  const models = new Map<string, ModelComponent<ResolvedModel>>();
  for (const model of config.models) {
    const common = {
      stack: config,
      dependsOn,
      ...(secrets.apiKey ? { apiKey: secrets.apiKey } : {}),
      ...(secrets.hfToken ? { hfToken: secrets.hfToken } : {}),
    };
    models.set(model.name, model.engine === "vllm" ? new VllmModel(model.name, { ...common, model }) : new LlamaCppModel(model.name, { ...common, model }));
  }
  const registry = new RegistryDatabase("registry", {
    stack: config,
    models: config.models,
    deployments: [...models.values()].map((m) => m.deployment),
    dependsOn,
    ...(secrets.registryUrl ? { externalUrl: secrets.registryUrl } : {}),
  });
  // Alerts and the dashboard: the same objects synth writes to monitoring.yaml.
  registerObjects([...buildPrometheusRules(config), ...buildDashboardConfigMap(config)], { prefix: "monitoring", dependsOn });
  const offline = config.offline ? new OfflineBundle("offline-bundle", { stack: config }) : undefined;
  const endpoints = Object.fromEntries(config.models.map((m) => [m.name, m.endpoint]));
  return { endpoints, models, registry, ...(offline ? { offline } : {}) };
}
