import type { Chart } from "cdk8s";
import type * as K from "cdk8s-plus-28";
import type { Construct } from "constructs";
import { SERVICE_PORT } from "../../config/resolve.js";
import type { ResolvedModel, StackContext } from "../../config/types.js";
import { cdk8s, constructs, kplus } from "../shared/cdk8s.js";
import { canonical, renderChart } from "../shared/chart.js";
import type { K8sObject } from "../shared/k8s-object.js";
import { monitoringPeer, podsIn } from "../shared/network-peers.js";
import { modelLabels, modelSelector, REGISTRY_HEALTH_LABELS } from "../shared/labels.js";
import { CONTAINER_SECURITY, POD_SECURITY } from "../shared/security.js";
import { serviceAccount } from "../shared/service-account.js";
import { progressDeadlineSeconds, STARTUP_PROBE_PERIOD_SECONDS } from "../../config/startup-budget.js";
import { credentialsSecretName, MOUNTS, SECRET_KEYS, settingsConfigMapName, type EngineContainer } from "./engine-container.js";
import { llamaCppContainer } from "./llamacpp-container.js";
import { MODEL_DELIVERY_ANNOTATION, MODEL_SOURCE_ANNOTATION, modelSourceAnnotation, OFFLINE_LABEL } from "../models/paths.js";
import { buildModelStoreObjects, imageVolume } from "../models/store.js";
import { engineDrain } from "../scaling/drain.js";
import { autoscalerObjects } from "../scaling/autoscaler.js";
import { endpointPickerPodLabels, gatewayIngressPeers, gatewayObjects } from "../gateway/inference-pool.js";
import { contractForBuild } from "../../config/engines/index.js";
import { vllmContainer } from "./vllm-container.js";

export const ENGINE_CONTAINER_NAME = "engine";
export const GPU_RESOURCE = "nvidia.com/gpu";
export const STARTUP_BUDGET_ANNOTATION = "modelfleet.dev/startup-budget-seconds";
const HOME_SIZE_GIB = 1;
const TMP_SIZE_GIB = 4;

export function engineContainer(model: ResolvedModel, ctx: StackContext): EngineContainer {
  return model.engine === "vllm" ? vllmContainer(model, ctx) : llamaCppContainer(model, ctx);
}

/** What one engine pod requests (and is limited to): the one place the Deployment and the namespace quota read it. */
export interface EnginePodRequests {
  readonly cpu: number;
  /** The engine's memory plus its memory-backed /dev/shm, which is charged to the container. */
  readonly memoryGiB: number;
  readonly gpus: number;
}

export function enginePodRequests(model: ResolvedModel, ctx: StackContext, engine = engineContainer(model, ctx)): EnginePodRequests {
  return { cpu: model.cpu, memoryGiB: model.memoryGiB + engine.shmGiB, gpus: model.gpus };
}

/** Where the objects go: the two outputs differ only in who owns an autoscaled model's replica count. */
export interface BuildModelOptions {
  /**
   * `yaml` (synth, GitOps): an autoscaled Deployment has no `spec.replicas`, so applying the YAML never resets what
   * the autoscaler set. `pulumi`: it has `replicas = minReplicas` for the first create, and the component registers it
   * with `ignoreChanges: ["spec.replicas"]`.
   * @default "yaml"
   */
  readonly target?: "yaml" | "pulumi";
}

/**
 * Every Kubernetes object of one model, as plain JSON in a stable order: first its model store objects (claim, the
 * download Job's ServiceAccount and script ConfigMap, the Job, a draft's Job; components/models/store.ts) when its
 * weights are delivered through a store, then ServiceAccount, ConfigMap, Deployment, Service, NetworkPolicy, then
 * PodDisruptionBudget and ServiceMonitor when the environment asks for them. Pure: the same model and context always
 * give the same objects. The credentials Secret is not among them: only the Pulumi component creates it, from Pulumi
 * secrets. A stack's shared store claim is not either: `buildSharedStoreObjects` emits it once per stack.
 */
export function buildModelObjects(model: ResolvedModel, ctx: StackContext, options: BuildModelOptions = {}): K8sObject[] {
  const engine = engineContainer(model, ctx);
  // Only the Deployment and Service need cdk8s-plus; the others are plain JSON, which costs nothing to render.
  const workload = renderChart(ctx.namespace, (chart) => addEngineWorkload(chart, model, ctx, engine));
  const target = options.target ?? "yaml";
  const objects = [
    ...buildModelStoreObjects(model, ctx),
    serviceAccount(metadata(model, ctx)),
    settingsConfigMap(model, ctx, engine),
    ...workload,
    networkPolicy(model, ctx),
    ...(ctx.podDisruptionBudget && model.replicas > 1 ? [disruptionBudget(model, ctx)] : []),
    ...(ctx.monitoring.serviceMonitor ? [serviceMonitor(model, ctx)] : []),
    ...autoscalerObjects(model, ctx),
    ...gatewayObjects(model, ctx),
  ];
  return objects.map((obj) => canonical(obj.kind === "Deployment" ? completeDeployment(obj, model, ctx, target) : obj));
}

/** Metadata of a plain-JSON object of the model: its name, the stack's namespace, the model's labels. */
function metadata(model: ResolvedModel, ctx: StackContext, name = model.serviceName): K8sObject["metadata"] {
  return { name, ...(ctx.namespace ? { namespace: ctx.namespace } : {}), labels: modelLabels(model, ctx) };
}

/**
 * The model's Deployment and Service as cdk8s-plus constructs in `chart`, ids prefixed so several models can
 * share a chart (the synth benchmark's bare-cdk8s baseline does).
 */
export function addEngineWorkload(chart: Chart, model: ResolvedModel, ctx: StackContext, engine = engineContainer(model, ctx)): void {
  const scope = new constructs.Construct(chart, model.name);
  engineDeployment(scope, model, ctx, engine);
  engineService(scope, model, ctx);
}

function settingsConfigMap(model: ResolvedModel, ctx: StackContext, engine: EngineContainer): K8sObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: metadata(model, ctx, settingsConfigMapName(model.serviceName)),
    ...(Object.keys(engine.settings).length > 0 ? { data: { ...engine.settings } } : {}),
  };
}

function engineDeployment(chart: Construct, model: ResolvedModel, ctx: StackContext, engine: EngineContainer): K.Deployment {
  const labels = modelLabels(model, ctx);
  const selector = modelSelector(model);
  const credentials = kplus.Secret.fromSecretName(chart, "credentials", credentialsSecretName(model.serviceName));
  const envVariables: Record<string, K.EnvValue> = {};
  for (const [name, value] of Object.entries(engine.env)) envVariables[name] = kplus.EnvValue.fromValue(value);
  for (const [name, key] of Object.entries(engine.secretEnv)) {
    envVariables[name] = kplus.EnvValue.fromSecretValue({ secret: credentials, key });
  }
  const probe = (path: string, options: K.HttpGetProbeOptions): K.Probe =>
    kplus.Probe.fromHttpGet(path, { port: SERVICE_PORT, timeoutSeconds: cdk8s.Duration.seconds(5), ...options });

  const requests = enginePodRequests(model, ctx, engine);
  const deployment = new kplus.Deployment(chart, "deployment", {
    metadata: {
      name: model.serviceName,
      labels,
      annotations: {
        [STARTUP_BUDGET_ANNOTATION]: String(model.startupBudgetSeconds),
        [MODEL_SOURCE_ANNOTATION]: modelSourceAnnotation(model),
        [MODEL_DELIVERY_ANNOTATION]: model.delivery.kind,
      },
    },
    replicas: model.replicas,
    select: false,
    // The endpoint picker reads the engine type from the pods (empty without a gateway, so no rollout then).
    podMetadata: { labels: { ...labels, ...endpointPickerPodLabels(model, ctx) } },
    strategy:
      model.strategy === "Recreate"
        ? kplus.DeploymentStrategy.recreate()
        : kplus.DeploymentStrategy.rollingUpdate({
            // No surge: a new pod would need GPUs that the old one still holds.
            maxSurge: kplus.PercentOrAbsolute.absolute(0),
            maxUnavailable: kplus.PercentOrAbsolute.absolute(1),
          }),
    progressDeadline: cdk8s.Duration.seconds(progressDeadlineSeconds(model.startupBudgetSeconds)),
    securityContext: POD_SECURITY,
    // Its own ServiceAccount (no token, no Role): the engine never calls the Kubernetes API.
    serviceAccount: kplus.ServiceAccount.fromServiceAccountName(chart, "service-account", model.serviceName),
    automountServiceAccountToken: false,
    // terminationGracePeriodSeconds and the preStop hook come from the engine's drain (completeDeployment).
    containers: [
      {
        name: ENGINE_CONTAINER_NAME,
        image: imageFor(model, ctx),
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: [...engine.command],
        args: [...engine.args],
        portNumber: SERVICE_PORT,
        envVariables,
        resources: {
          cpu: { request: kplus.Cpu.units(requests.cpu), limit: kplus.Cpu.units(requests.cpu) },
          memory: { request: cdk8s.Size.gibibytes(requests.memoryGiB), limit: cdk8s.Size.gibibytes(requests.memoryGiB) },
        },
        securityContext: CONTAINER_SECURITY,
        startup: probe(engine.livenessPath, {
          periodSeconds: cdk8s.Duration.seconds(STARTUP_PROBE_PERIOD_SECONDS),
          failureThreshold: Math.ceil(model.startupBudgetSeconds / STARTUP_PROBE_PERIOD_SECONDS),
        }),
        liveness: probe(engine.livenessPath, { periodSeconds: cdk8s.Duration.seconds(10), failureThreshold: 3 }),
        readiness: probe(engine.readinessPath, { periodSeconds: cdk8s.Duration.seconds(5), failureThreshold: 3 }),
      },
    ],
  });
  deployment.select(kplus.LabelSelector.of({ labels: selector }));
  const container = deployment.containers[0];
  if (!container) throw new Error("cdk8s-plus Deployment lost its container");

  const emptyDir = (id: string, name: string, sizeGiB: number, medium?: K.EmptyDirMedium): K.Volume =>
    kplus.Volume.fromEmptyDir(chart, id, name, { sizeLimit: cdk8s.Size.gibibytes(sizeGiB), ...(medium ? { medium } : {}) });
  container.mount(MOUNTS.cache, model.cache.kind === "pvc"
    ? kplus.Volume.fromPersistentVolumeClaim(chart, "cache-volume", kplus.PersistentVolumeClaim.fromClaimName(chart, "cache-claim", model.cache.claimName), { name: "cache" })
    : emptyDir("cache-volume", "cache", model.cache.sizeGiB));
  container.mount(MOUNTS.home, emptyDir("home-volume", "home", HOME_SIZE_GIB));
  container.mount(MOUNTS.tmp, emptyDir("tmp-volume", "tmp", TMP_SIZE_GIB));
  container.mount(MOUNTS.shm, emptyDir("shm-volume", "dshm", engine.shmGiB, kplus.EmptyDirMedium.MEMORY));
  // The weights: the user's claim, or the model store's claim (filled by the download Job), read-only at /models. An
  // image volume is added on the rendered JSON (completeDeployment): cdk8s-plus-28 has no image volume source.
  const modelsClaim = model.source.kind === "pvc" ? model.source.claimName : model.delivery.kind === "store" ? model.delivery.claimName : undefined;
  if (modelsClaim !== undefined) {
    const claim = kplus.PersistentVolumeClaim.fromClaimName(chart, "models-claim", modelsClaim);
    container.mount(MOUNTS.models, kplus.Volume.fromPersistentVolumeClaim(chart, "models-volume", claim, { name: "models", readOnly: true }), { readOnly: true });
  }
  if (engine.apiKeyFile !== undefined) {
    const secretVolume = kplus.Volume.fromSecret(chart, "credentials-volume", credentials, {
      name: "credentials",
      items: { [SECRET_KEYS.apiKey]: { path: SECRET_KEYS.apiKey } },
      defaultMode: 0o440,
    });
    container.mount(MOUNTS.secrets, secretVolume, { readOnly: true });
  }
  return deployment;
}

function imageFor(model: ResolvedModel, ctx: StackContext): string {
  return ctx.images[model.engine].reference;
}

function engineService(chart: Construct, model: ResolvedModel, ctx: StackContext): void {
  new kplus.Service(chart, "service", {
    metadata: { name: model.serviceName, labels: modelLabels(model, ctx) },
    type: kplus.ServiceType.CLUSTER_IP,
    selector: kplus.Pods.select(chart, "service-pods", { labels: modelSelector(model) }),
    ports: [{ name: "http", port: SERVICE_PORT, targetPort: SERVICE_PORT, protocol: kplus.Protocol.TCP }],
  });
}

/** Ingress only from the router, the registry's health checker and the monitoring namespace, on port 8000. */
function networkPolicy(model: ResolvedModel, ctx: StackContext): K8sObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: metadata(model, ctx),
    spec: {
      podSelector: { matchLabels: modelSelector(model) },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [
            podsIn(ctx.router.namespace, ctx.router.podLabels),
            podsIn(ctx.namespace, REGISTRY_HEALTH_LABELS),
            monitoringPeer(ctx),
            // The Gateway and its endpoint picker, when the model is published as an InferencePool.
            ...gatewayIngressPeers(model, ctx),
          ],
          ports: [{ port: SERVICE_PORT, protocol: "TCP" }],
        },
      ],
    },
  };
}

/** One pod at a time may be evicted, so a drain never takes a replicated model fully down. */
function disruptionBudget(model: ResolvedModel, ctx: StackContext): K8sObject {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: metadata(model, ctx),
    spec: { maxUnavailable: 1, selector: { matchLabels: modelSelector(model) } },
  };
}

function serviceMonitor(model: ResolvedModel, ctx: StackContext): K8sObject {
  // llama.cpp guards /metrics with its API key; vLLM's /metrics is outside the /v1 routes it guards.
  const needsKey = model.engine === "llamacpp" && ctx.apiKey !== "none";
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "ServiceMonitor",
    metadata: metadata(model, ctx),
    spec: {
      selector: { matchLabels: modelSelector(model) },
      endpoints: [
        {
          port: "http",
          path: "/metrics",
          interval: "30s",
          ...(needsKey
            ? { authorization: { type: "Bearer", credentials: { name: credentialsSecretName(model.serviceName), key: SECRET_KEYS.apiKey } } }
            : {}),
        },
      ],
    },
  };
}

type RenderedDeployment = K8sObject & {
  metadata: { labels?: Record<string, string> };
  spec: {
    replicas?: number;
    template: {
      spec: Record<string, unknown> & {
        containers: Array<{ name: string; lifecycle?: Record<string, unknown>; volumeMounts?: Array<Record<string, unknown>> }>;
        terminationGracePeriodSeconds?: number;
        volumes?: Array<Record<string, unknown>>;
      };
    };
  };
};

/**
 * What cdk8s-plus cannot express, set on the rendered Deployment (fresh from renderChart and owned here, so completed
 * in place): GPU scheduling, an image volume, the offline label, and an autoscaled model's replica count.
 */
function completeDeployment(obj: K8sObject, model: ResolvedModel, ctx: StackContext, target: "yaml" | "pulumi"): K8sObject {
  const deployment = withGpuScheduling(obj, model, ctx) as RenderedDeployment;
  // Drain before stop (components/scaling/drain.ts): a preStop that keeps serving while endpoints update and streams
  // finish, inside a grace period above it. The contract is the pinned build's (an offline stack's mirrored images
  // keep the digest but not the tag the contract is found by).
  const drain = engineDrain(model, ctx, contractForBuild(model.engine, ctx.pins[model.engine]));
  deployment.spec.template.spec.terminationGracePeriodSeconds = drain.terminationGracePeriodSeconds;
  for (const container of deployment.spec.template.spec.containers) {
    if (container.name === ENGINE_CONTAINER_NAME) container.lifecycle = { preStop: structuredClone(drain.preStop) };
  }
  const image = imageVolume(model);
  if (image !== undefined) {
    const pod = deployment.spec.template.spec;
    pod.volumes = [...(pod.volumes ?? []), image.volume];
    for (const container of pod.containers) {
      if (container.name !== ENGINE_CONTAINER_NAME) continue;
      container.volumeMounts = [...(container.volumeMounts ?? []), { mountPath: image.mountPath, name: image.volume["name"], readOnly: true }];
    }
  }
  if (ctx.offline !== undefined) deployment.metadata.labels = { ...deployment.metadata.labels, [OFFLINE_LABEL]: "true" };
  if (model.autoscaling !== undefined && target === "yaml") delete deployment.spec.replicas;
  return deployment;
}

/**
 * GPU scheduling on the rendered Deployment. cdk8s-plus-28 has no field for extended resources (its JSON patch on
 * resources renders `nvidia.com/gpu: null`), nor for nodeSelector or runtimeClassName, so they are set here, on
 * plain JSON, where the result can be checked.
 */
function withGpuScheduling(obj: K8sObject, model: ResolvedModel, ctx: StackContext): K8sObject {
  if (model.gpus < 1) return obj;
  // The object is fresh from renderChart and owned here, so it is completed in place.
  const copy = obj as K8sObject & { spec: { template: { spec: Record<string, unknown> & { containers: Array<{ name: string; resources: { limits: Record<string, string>; requests: Record<string, string> } }> } } } };
  const pod = copy.spec.template.spec;
  for (const container of pod.containers) {
    if (container.name !== ENGINE_CONTAINER_NAME) continue;
    container.resources.limits[GPU_RESOURCE] = String(model.gpus);
    container.resources.requests[GPU_RESOURCE] = String(model.gpus);
  }
  if (Object.keys(ctx.gpu.nodeSelector).length > 0) pod["nodeSelector"] = { ...ctx.gpu.nodeSelector };
  if (ctx.gpu.tolerations.length > 0) pod["tolerations"] = ctx.gpu.tolerations.map((t) => ({ ...t }));
  if (ctx.gpu.runtimeClassName) pod["runtimeClassName"] = ctx.gpu.runtimeClassName;
  return copy;
}
