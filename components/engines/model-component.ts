import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedModel, StackContext } from "../../config/types.js";
import type { K8sObject } from "../shared/k8s-object.js";
import { modelLabels } from "../shared/labels.js";
import { registerObjects } from "../shared/register.js";
import { progressDeadlineSeconds } from "../../config/startup-budget.js";
import { credentialsSecretName, SECRET_KEYS } from "./engine-container.js";
import { pickerName } from "../gateway/endpoint-picker.js";
import { buildModelObjects } from "./model-objects.js";
import { fetchDeadlineSeconds, fetchServiceAccountName } from "../models/store.js";

/** Minutes Pulumi waits for a download Job: its own deadline plus scheduling and image pull. */
function fetchTimeoutMinutes(model: ResolvedModel): string {
  return `${Math.ceil(fetchDeadlineSeconds(model) / 60) + 10}m`;
}

/** What both engine components take; each narrows `model` to its engine. */
export interface ModelArgs<M extends ResolvedModel> {
  /** The model, parsed and defaulted from the stack config (config). */
  readonly model: M;
  /** The stack around it: namespace, images, origins, profile switches. */
  readonly stack: StackContext;
  /**
   * The engine API key, a Pulumi secret (from `modelfleet:apiKey` or a RandomPassword). Required unless
   * `stack.apiKey` is `"none"`.
   * @default none
   */
  readonly apiKey?: pulumi.Input<string>;
  /**
   * The Hugging Face token, a Pulumi secret from `modelfleet:hfToken`, for gated repositories.
   * @default none
   */
  readonly hfToken?: pulumi.Input<string>;
  /**
   * Resources the model's objects wait for, e.g. the Namespace.
   * @default none
   */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * The body both engine components share: build the objects, create the credentials Secret from Pulumi secrets,
 * register every object as its own resource under the component. Returns the Deployment so callers can wait on it.
 */
export function registerModel<M extends ResolvedModel>(
  component: pulumi.ComponentResource,
  name: string,
  args: ModelArgs<M>,
): { deployment: pulumi.CustomResource; resources: Map<string, pulumi.CustomResource>; objects: K8sObject[] } {
  const { model, stack } = args;
  if (stack.apiKey !== "none" && args.apiKey === undefined) {
    throw new Error(`model ${model.name}: the ${stack.environment} stack requires an API key, but none was passed to the component`);
  }
  const objects = buildModelObjects(model, stack, { target: "pulumi" });
  const secretData: Record<string, pulumi.Input<string>> = {};
  if (stack.apiKey !== "none" && args.apiKey !== undefined) secretData[SECRET_KEYS.apiKey] = pulumi.secret(args.apiKey);
  if (args.hfToken !== undefined) secretData[SECRET_KEYS.hfToken] = pulumi.secret(args.hfToken);
  const secrets: pulumi.CustomResource[] = [];
  if (Object.keys(secretData).length > 0) {
    secrets.push(
      new k8s.core.v1.Secret(
        `${name}-credentials`,
        {
          metadata: { name: credentialsSecretName(model.serviceName), namespace: stack.namespace, labels: modelLabels(model, stack) },
          type: "Opaque",
          stringData: secretData,
        },
        { parent: component, deleteBeforeReplace: true, ...(args.dependsOn ? { dependsOn: args.dependsOn } : {}) },
      ),
    );
  }
  const base = { parent: component, dependsOn: [...(args.dependsOn ?? []), ...secrets] };
  // The model store's objects get their own name prefixes, so adding a store leaves the engine's resource names (and
  // so their URNs) unchanged: `<name>-store-*` for the claim and ServiceAccount, `<name>-fetch-job` and
  // `<name>-fetch-draft-job` for the Jobs (a new pin renames the Kubernetes Job, which Pulumi replaces in place).
  const fetchName = fetchServiceAccountName(model.serviceName);
  const isSetup = (o: K8sObject) =>
    o.kind === "PersistentVolumeClaim" || (o.kind === "ServiceAccount" && o.metadata.name === fetchName);
  const jobs = objects.filter((o) => o.kind === "Job");
  const setup = registerObjects(objects.filter(isSetup), { ...base, prefix: `${name}-store` });
  const registered = new Map(setup);
  const jobResources: pulumi.CustomResource[] = [];
  for (const job of jobs) {
    const draft = job.metadata.name.includes("-fetch-draft-");
    // The Job waits for its ServiceAccount (its script ConfigMap is the stack's, which every model waits for), not for
    // the claim: Pulumi's claim await can wait for Bound, and
    // a WaitForFirstConsumer claim is bound only once this Job's pod uses it.
    const done = registerObjects([job], {
      ...base,
      dependsOn: [...base.dependsOn, ...[...setup].filter(([key]) => !key.startsWith("PersistentVolumeClaim/")).map(([, r]) => r)],
      prefix: `${name}-fetch${draft ? "-draft" : ""}`,
      // The provider waits for a Job to complete (10 minutes unless told): as long as the Job may run.
      customTimeouts: () => ({ create: fetchTimeoutMinutes(model), update: fetchTimeoutMinutes(model) }),
    });
    for (const [key, resource] of done) {
      registered.set(key, resource);
      jobResources.push(resource);
    }
  }
  // The pool's endpoint picker is a workload of its own: its own prefix (adding it leaves the engine's resource names
  // alone), no wait for the weights, and its replicas always Pulumi's.
  const isPicker = (o: K8sObject) => o.metadata.name === pickerName(model);
  for (const [key, resource] of registerObjects(objects.filter(isPicker), { ...base, prefix: `${name}-picker` })) registered.set(key, resource);
  const engine = registerObjects(
    objects.filter((o) => !isSetup(o) && o.kind !== "Job" && !isPicker(o)),
    {
      ...base,
      prefix: name,
      // A rollout may take the whole startup budget plus scheduling before Kubernetes calls it failed.
      customTimeouts: (obj) => {
        if (obj.kind !== "Deployment") return undefined;
        const minutes = `${Math.ceil(progressDeadlineSeconds(model.startupBudgetSeconds) / 60) + 5}m`;
        return { create: minutes, update: minutes };
      },
      // The engine starts only once its weights are in the store; an autoscaler owns an autoscaled model's replicas.
      perObject: (obj) =>
        obj.kind !== "Deployment" ? undefined : { dependsOn: jobResources, ...(model.autoscaling ? { ignoreChanges: ["spec.replicas"] } : {}) },
    },
  );
  for (const [key, resource] of engine) registered.set(key, resource);
  const deployment = registered.get(`Deployment/${model.serviceName}`);
  if (!deployment) throw new Error(`model ${model.name}: no Deployment was built`);
  const resources = new Map(registered);
  for (const secret of secrets) resources.set(`Secret/${credentialsSecretName(model.serviceName)}`, secret);
  return { deployment, resources, objects };
}

/** The component both engines are: one model's objects, its endpoint, and its Deployment to wait on. */
export abstract class ModelComponent<M extends ResolvedModel> extends pulumi.ComponentResource {
  /** `{model}-{environment}.{namespace}.svc.cluster.local:8000` */
  readonly endpoint: pulumi.Output<string>;
  /** The engine's Deployment; the registry's registration waits for it to be ready. */
  readonly deployment: pulumi.CustomResource;
  /** Every Kubernetes resource of the model (Secret included), keyed by `Kind/name`. */
  readonly resources: ReadonlyMap<string, pulumi.CustomResource>;

  protected constructor(type: string, name: string, args: ModelArgs<M>, opts?: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
    const registered = registerModel(this, name, args);
    this.deployment = registered.deployment;
    this.resources = registered.resources;
    this.endpoint = pulumi.output(args.model.endpoint);
    this.registerOutputs({ endpoint: this.endpoint });
  }
}
