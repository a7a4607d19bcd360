import { stringify } from "yaml";
import { contractForBuild, type EngineContract } from "../../config/engines/index.js";
import type { ResolvedModel, StackContext } from "../../config/types.js";
import { engineDrain } from "../scaling/drain.js";
import type { K8sObject } from "../shared/k8s-object.js";
import { stackLabels } from "../shared/labels.js";
import { containerSecurityJson, podSecurityJson } from "../shared/security.js";
import { gatewayPeer, monitoringPeer } from "../shared/network-peers.js";
import { serviceAccount } from "../shared/service-account.js";

/**
 * The endpoint picker (EPP) modelfleet deploys for each model's InferencePool (docs/gateway.md), so a gateway that
 * implements the Gateway API Inference Extension can route from the synthesized output alone. Pure: the same model
 * and context always give the same objects.
 *
 * Every flag, port, probe, RBAC rule and config key below was read in GAIE `kubernetes-sigs/gateway-api-inference-extension`
 * at tag v1.5.0 (commit df9f8909), the release `images.endpointPicker` must pin (config/rules.ts):
 * - flags: `pkg/epp/server/options.go` (`AddFlags`, `NewOptions`, `Validate`);
 * - the Deployment, Service and RBAC: the `inferencepool` chart and its `epplib` library
 *   (`config/charts/epplib/templates/_deployment.yaml`, `_service.yaml`, `_rbac.yaml`,
 *   `config/charts/inferencepool/templates/rbac.yaml`);
 * - health: `cmd/epp/runner/health.go`; the plugin config: `pkg/epp/config/loader/defaults.go` and
 *   `pkg/epp/framework/plugins/datalayer/extractor/metrics/factories.go`.
 * Research notes with line numbers: docs/design/autoscaling-and-gateway.md §8.
 */

/** The ext-proc gRPC port the gateway calls (`--grpc-port`, default 9002). */
export const PICKER_GRPC_PORT = 9002;
/** The gRPC health port (`--grpc-health-port`, default 9003), plaintext even when ext-proc is TLS. */
export const PICKER_HEALTH_PORT = 9003;
/** The picker's own Prometheus endpoint (`--metrics-port`, default 9090). */
export const PICKER_METRICS_PORT = 9090;
/**
 * The uid of the image's base, `gcr.io/distroless/static:nonroot` (the `BASE_IMAGE` of GAIE's Dockerfile at v1.5.0).
 * The chart sets no securityContext; the restricted posture every modelfleet pod has works for a static binary.
 */
export const PICKER_UID = 65532;

/** The picker's container name, and the name of its config file under /config. */
const CONTAINER = "epp";
/** The `app.kubernetes.io/component` of every picker object. */
const COMPONENT = "endpoint-picker";
const CONFIG_DIR = "/config";
const CONFIG_FILE = "endpoint-picker.yaml";
/**
 * The pod label the engines' NetworkPolicy admits (components/gateway/inference-pool.ts `ENDPOINT_PICKER_POD_LABELS`),
 * and the picker's own selector: GAIE's chart labels its picker pods `inferencepool: <release>-epp`.
 */
export const PICKER_SELECTOR_LABEL = "inferencepool";
/**
 * The gRPC health service name the probes ask for. With one replica and no leader election every name answers
 * SERVING once the picker has read its pool (health.go), and the chart uses this one.
 */
const HEALTH_SERVICE = "inference-extension";

/** `<serviceName>-epp`: the picker the model's pool names, as GAIE's chart names the picker of a release. */
export function pickerName(model: Pick<ResolvedModel, "serviceName">): string {
  return `${model.serviceName}-epp`;
}

/**
 * The picker's plugin config (an `EndpointPickerConfig`). The scorers and weights are the EPP's own defaults
 * (queue 2, KV cache 2, prefix cache 3); what is ours is the metric mapping. vLLM uses the built-in `vllm` mapping,
 * whose names the pinned vLLM contract exports. llama.cpp has no built-in mapping, so it gets one from its engine
 * contract: the queue and running gauges, and no KV-cache gauge (an empty spec disables a metric rather than
 * logging it missing). For llama.cpp the KV-cache scorer, which would score every pod the same, gives way to the
 * running-requests scorer.
 */
export function pickerConfig(
  model: Pick<ResolvedModel, "engine">,
  ctx: Pick<StackContext, "pins">,
  contract: EngineContract = contractForBuild(model.engine, ctx.pins[model.engine]),
): Record<string, unknown> {
  const engine = model.engine;
  const loadScorer = engine === "vllm" ? "kv-cache-utilization-scorer" : "running-requests-size-scorer";
  const extractor =
    engine === "vllm"
      ? { type: "core-metrics-extractor", parameters: { defaultEngine: "vllm" } }
      : {
          type: "core-metrics-extractor",
          parameters: {
            defaultEngine: engine,
            engineConfigs: [{ name: engine, queuedRequestsSpec: contract.queueMetric, runningRequestsSpec: contract.runningMetric, kvUsageSpec: "", loraSpec: "", cacheInfoSpec: "" }],
          },
        };
  return {
    apiVersion: "inference.networking.x-k8s.io/v1alpha1",
    kind: "EndpointPickerConfig",
    plugins: [
      { type: "queue-scorer" },
      { type: loadScorer },
      { type: "prefix-cache-scorer" },
      // The engines serve /metrics over plain HTTP on the pool's target port.
      { type: "metrics-data-source", parameters: { scheme: "http", path: contract.metrics.path } },
      extractor,
    ],
    schedulingProfiles: [
      {
        name: "default",
        plugins: [
          { pluginRef: "queue-scorer", weight: 2 },
          { pluginRef: loadScorer, weight: engine === "vllm" ? 2 : 1 },
          { pluginRef: "prefix-cache-scorer", weight: 3 },
        ],
      },
    ],
  };
}

/**
 * The picker's arguments. Left at their defaults: TLS on the ext-proc port with a self-signed certificate
 * (`--secure-serving`, what gateways are tested against), the ports. Turned off: tracing (no collector is
 * configured), pprof (it would serve /debug/pprof on the metrics port) and the metrics endpoint's TokenReview
 * authentication (it needs a ClusterRole per picker; the NetworkPolicy admits only the monitoring namespace instead).
 * No `--*-metric` flag: v1.5.0 refuses them at start-up.
 */
function pickerArgs(model: Pick<ResolvedModel, "serviceName">, ctx: Pick<StackContext, "namespace">): string[] {
  return [
    "--pool-name",
    model.serviceName,
    "--pool-namespace",
    ctx.namespace,
    "--pool-group",
    "inference.networking.k8s.io",
    "--config-file",
    `${CONFIG_DIR}/${CONFIG_FILE}`,
    "--zap-encoder",
    "json",
    "--v",
    "1",
    "--tracing=false",
    "--enable-pprof=false",
    "--metrics-endpoint-auth=false",
  ];
}

function labels(model: ResolvedModel, ctx: StackContext): Record<string, string> {
  // Never the engine's selector labels (name + instance): the model's Service, PDB and pool must not pick it up.
  return { ...stackLabels(ctx), ...serviceSelector(pickerName(model)), "app.kubernetes.io/name": model.name };
}

/** The labels that pick the picker's own objects (its ServiceMonitor selects its Service by them). */
function serviceSelector(name: string): Record<string, string> {
  return { "app.kubernetes.io/component": COMPONENT, "app.kubernetes.io/instance": name };
}


/**
 * The picker of one model's pool: ServiceAccount, Role and RoleBinding (read its pool, the pool's pods, and the
 * optional InferenceObjective/InferenceModelRewrite kinds, which it watches when their CRDs exist and crashes on
 * when forbidden), its config, Deployment, Service and NetworkPolicy. [] unless the stack deploys pickers.
 */
export function endpointPickerObjects(model: ResolvedModel, ctx: StackContext): K8sObject[] {
  const picker = ctx.gateway?.endpointPicker;
  if (!picker?.deploy) return [];
  const name = pickerName(model);
  const meta = { name, namespace: ctx.namespace, labels: labels(model, ctx) };
  const selector = { [PICKER_SELECTOR_LABEL]: name };
  const read = ["get", "list", "watch"];
  const role = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: meta,
    rules: [
      { apiGroups: [""], resources: ["pods"], verbs: read },
      { apiGroups: ["inference.networking.k8s.io"], resources: ["inferencepools"], verbs: read },
      { apiGroups: ["inference.networking.x-k8s.io"], resources: ["inferenceobjectives", "inferencemodelrewrites"], verbs: read },
    ],
  };
  const binding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: meta,
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
    subjects: [{ kind: "ServiceAccount", name, namespace: ctx.namespace }],
  };
  // The pinned engine's contract (not the offline site's mirrored, tagless reference): metric names and grace period.
  const contract = contractForBuild(model.engine, ctx.pins[model.engine]);
  const config = { apiVersion: "v1", kind: "ConfigMap", metadata: meta, data: { [CONFIG_FILE]: stringify(pickerConfig(model, ctx, contract)) } };
  const health = { grpc: { port: PICKER_HEALTH_PORT, service: HEALTH_SERVICE } };
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta,
    spec: {
      // One picker per pool without leader election (the chart's default); Recreate so two never run at once.
      replicas: 1,
      strategy: { type: "Recreate" },
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...meta.labels, ...selector } },
        spec: {
          serviceAccountName: name,
          // It is a Kubernetes client: it watches its pool and the pool's pods.
          automountServiceAccountToken: true,
          // As long as the longest grace period in the pool (the chart's advice): streams it routed may still run.
          terminationGracePeriodSeconds: engineDrain(model, ctx, contract).terminationGracePeriodSeconds,
          securityContext: podSecurityJson(PICKER_UID),
          containers: [
            {
              name: CONTAINER,
              image: ctx.images.endpointPicker.reference,
              imagePullPolicy: "IfNotPresent",
              args: pickerArgs(model, ctx),
              env: [
                { name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              ],
              ports: [
                { name: "grpc", containerPort: PICKER_GRPC_PORT, protocol: "TCP" },
                { name: "grpc-health", containerPort: PICKER_HEALTH_PORT, protocol: "TCP" },
                { name: "metrics", containerPort: PICKER_METRICS_PORT, protocol: "TCP" },
              ],
              livenessProbe: { ...health, initialDelaySeconds: 5, periodSeconds: 10 },
              readinessProbe: { ...health, periodSeconds: 2 },
              resources: {
                requests: { cpu: cpuText(picker.cpu), memory: `${gibText(picker.memoryGiB)}` },
                limits: { memory: gibText(picker.memoryGiB * 2) },
              },
              securityContext: containerSecurityJson(PICKER_UID),
              volumeMounts: [
                { name: "config", mountPath: CONFIG_DIR, readOnly: true },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volumes: [
            { name: "config", configMap: { name } },
            { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
          ],
        },
      },
    },
  };
  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta,
    spec: {
      type: "ClusterIP",
      selector,
      ports: [
        // gRPC over TLS with a self-signed certificate; no appProtocol, as in the chart (`kubernetes.io/h2c` would say cleartext).
        { name: "grpc-ext-proc", port: PICKER_GRPC_PORT, targetPort: PICKER_GRPC_PORT, protocol: "TCP" },
        { name: "http-metrics", port: PICKER_METRICS_PORT, targetPort: PICKER_METRICS_PORT, protocol: "TCP" },
      ],
    },
  };
  const gatewayName = ctx.gateway?.gatewayName;
  const networkPolicy = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta,
    spec: {
      podSelector: { matchLabels: selector },
      policyTypes: ["Ingress"],
      ingress: [
        {
          // The named Gateway's data plane (GEP-1762 label); without a name, any namespace: which pods a gateway
          // implementation calls the picker from is its own choice.
          from: gatewayName ? [gatewayPeer(gatewayName, ctx.gateway!.gatewayNamespace)] : [{ namespaceSelector: {} }],
          ports: [{ port: PICKER_GRPC_PORT, protocol: "TCP" }],
        },
        { from: [monitoringPeer(ctx)], ports: [{ port: PICKER_METRICS_PORT, protocol: "TCP" }] },
      ],
    },
  };
  // The picker serves TLS with a self-signed certificate; GAIE's Istio conformance setup applies this rule for each
  // picker so Istio's gateway speaks TLS to it without verifying the certificate.
  const istio = ctx.gateway?.provider === "istio"
    ? [{ apiVersion: "networking.istio.io/v1", kind: "DestinationRule", metadata: meta, spec: { host: `${name}.${ctx.namespace}.svc.cluster.local`, trafficPolicy: { tls: { mode: "SIMPLE", insecureSkipVerify: true } } } }]
    : [];
  // Scraped like the engines where the environment runs the Prometheus operator (no auth: --metrics-endpoint-auth=false).
  const monitor = ctx.monitoring.serviceMonitor
    ? [
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "ServiceMonitor",
          metadata: meta,
          spec: { selector: { matchLabels: serviceSelector(name) }, endpoints: [{ port: "http-metrics", path: "/metrics", interval: "30s" }] },
        },
      ]
    : [];
  // The account itself mounts no token (as every modelfleet account); only the picker's pod asks for one.
  return [serviceAccount(meta), role, binding, config, deployment, service, networkPolicy, ...monitor, ...istio] as K8sObject[];
}

/** What one deployed picker requests, for the namespace quota (components/stack/quota.ts). */
export function pickerRequests(ctx: Pick<StackContext, "gateway">): { cpu: number; memoryGiB: number } | undefined {
  const picker = ctx.gateway?.endpointPicker;
  return picker?.deploy ? { cpu: picker.cpu, memoryGiB: picker.memoryGiB } : undefined;
}

const cpuText = (cores: number) => (Number.isInteger(cores) ? String(cores) : `${Math.round(cores * 1000)}m`);
const gibText = (gib: number) => (Number.isInteger(gib) ? `${gib}Gi` : `${Math.round(gib * 1024)}Mi`);
