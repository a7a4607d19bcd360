import { SERVICE_PORT } from "../../config/resolve.js";
import type { Engine, ResolvedModel, StackContext } from "../../config/types.js";
import { canonical } from "../shared/chart.js";
import type { K8sObject } from "../shared/k8s-object.js";
import { modelLabels, modelSelector } from "../shared/labels.js";
import { gatewayPeer, podsIn } from "../shared/network-peers.js";
import { endpointPickerObjects, PICKER_GRPC_PORT, PICKER_SELECTOR_LABEL, pickerName } from "./endpoint-picker.js";

/**
 * Gateway API Inference Extension objects per model (docs/gateway.md): an `InferencePool` that selects exactly the
 * model's pods on the engine port, and, when the stack names a Gateway, an `HTTPRoute` from that Gateway to the pool.
 * Pure: the same model and context always give the same objects. The endpoint picker (EPP) each pool names is
 * deployed per pool (components/gateway/endpoint-picker.ts) unless the stack names its own.
 */

export const INFERENCE_POOL_API_VERSION = "inference.networking.k8s.io/v1";
export const HTTP_ROUTE_API_VERSION = "gateway.networking.k8s.io/v1";


/**
 * The request header a body-based router (GAIE's BBR `body-field-to-header` plugin, now in llm-d's payload
 * processor) fills with the request body's `model` field. Each model's HTTPRoute matches it exactly against the
 * served model name, so several models can share one Gateway and one URL.
 */
export const MODEL_NAME_HEADER = "X-Gateway-Model-Name";

/** Only the OpenAI-compatible API goes through the Gateway; /health and /metrics stay inside the cluster. */
export const ROUTE_PATH_PREFIX = "/v1";

/** The path a client without a body-based router uses for the model: `/<model name>/v1` (a DNS label, URL-safe). */
export function modelPathPrefix(model: Pick<ResolvedModel, "name">): string {
  return `/${model.name}${ROUTE_PATH_PREFIX}`;
}

/**
 * What an endpoint picker does while it is not answering. `FailOpen` (the GAIE and llm-d-router charts' default):
 * the gateway keeps sending requests to the pool's pods without the picker's choice; the CRD's own default,
 * `FailClose`, would turn a picker restart into an outage of the model.
 */
export const ENDPOINT_PICKER_FAILURE_MODE = "FailOpen";

/**
 * Pod labels that tell an endpoint picker which metric names the pod exports: llm-d-router reads
 * `llm-d.ai/engine-type` (and, deprecated, the GAIE key). Values are modelfleet's engine names; `llamacpp` needs an
 * `engineConfigs` entry in the picker's configuration (docs/gateway.md), `vllm` is built in.
 */
export const ENGINE_TYPE_LABELS = ["llm-d.ai/engine-type", "inference.networking.k8s.io/engine-type"] as const;


/**
 * Pod labels the EPP charts put on the picker's pods, whose value is the picker's name (`<release>-epp`): GAIE's
 * `inferencepool` chart (up to v1.5) and llm-d-router's `llm-d-router-gateway` chart.
 */
export const ENDPOINT_PICKER_POD_LABELS = [PICKER_SELECTOR_LABEL, "llm-d-router-gateway"] as const;


type Model = Pick<ResolvedModel, "name" | "serviceName" | "engine" | "servedModelName">;

/** The model's InferencePool name: its Service name (`<model>-<environment>`), unique in the namespace. */
export function inferencePoolName(model: Pick<ResolvedModel, "serviceName">): string {
  return model.serviceName;
}

/** What the registry records for the model: the pool's name when the stack publishes pools, else null. */
export function registryInferencePool(model: Pick<ResolvedModel, "serviceName">, ctx: Pick<StackContext, "gateway">): string | null {
  return ctx.gateway ? inferencePoolName(model) : null;
}

/** The endpoint picker the model's pool names: the stack's `gateway.endpointPicker`, else `<serviceName>-epp` on 9002. */
export function endpointPickerFor(model: Pick<ResolvedModel, "serviceName">, ctx: Pick<StackContext, "gateway">): { name: string; port: number } {
  const configured = ctx.gateway?.endpointPicker;
  if (configured && !configured.deploy) return { name: configured.name ?? pickerName(model), port: configured.port };
  return { name: pickerName(model), port: PICKER_GRPC_PORT };
}

/**
 * Every gateway object of one model, in a stable order (InferencePool, HTTPRoute, then the endpoint picker's objects
 * when the stack deploys pickers); [] unless the stack has `gateway`.
 */
export function gatewayObjects(model: ResolvedModel, ctx: StackContext): K8sObject[] {
  if (!ctx.gateway) return [];
  return [
    inferencePool(model, ctx),
    ...(ctx.gateway.gatewayName ? [httpRoute(model, ctx, ctx.gateway.gatewayName, ctx.gateway.gatewayNamespace)] : []),
    ...endpointPickerObjects(model, ctx),
  ].map(
    (obj) => canonical(obj),
  );
}

/**
 * Labels to add to the engine's pod template (not to its selector) when the stack publishes pools, so an endpoint
 * picker reads the right metric names; {} otherwise (no rollout for stacks without a gateway).
 */
export function endpointPickerPodLabels(model: Pick<ResolvedModel, "engine">, ctx: Pick<StackContext, "gateway">): Record<string, string> {
  if (!ctx.gateway) return {};
  const value: Engine = model.engine;
  return Object.fromEntries(ENGINE_TYPE_LABELS.map((key) => [key, value]));
}

/**
 * NetworkPolicy ingress peers the engine pods must admit on port 8000 when the stack publishes pools: the endpoint
 * picker's pods (it scrapes `/metrics` on every pod of the pool), and, when the stack names a Gateway, that
 * Gateway's data-plane pods in its namespace. [] without `gateway`.
 */
export function gatewayIngressPeers(model: Pick<ResolvedModel, "serviceName">, ctx: Pick<StackContext, "gateway" | "namespace">): Record<string, unknown>[] {
  const gateway = ctx.gateway;
  if (!gateway) return [];
  const picker = endpointPickerFor(model, ctx);
  return [
    ...ENDPOINT_PICKER_POD_LABELS.map((label) => podsIn(ctx.namespace, { [label]: picker.name })),
    ...(gateway.gatewayName ? [gatewayPeer(gateway.gatewayName, gateway.gatewayNamespace)] : []),
  ];
}

function metadata(model: Model, ctx: StackContext): K8sObject["metadata"] {
  return {
    name: inferencePoolName(model),
    ...(ctx.namespace ? { namespace: ctx.namespace } : {}),
    labels: modelLabels(model, ctx),
  };
}

/**
 * The pool: exactly the Deployment's selector, the engine port, and always an `endpointPickerRef` (required by the
 * v1 CRD up to GAIE v1.5.0, and by gateways that implement no built-in picker). No `appProtocol`: HTTP/1.1 is the
 * default, and CRDs before GAIE v1.4.0 have no such field.
 */
function inferencePool(model: Model, ctx: StackContext): K8sObject {
  const picker = endpointPickerFor(model, ctx);
  return {
    apiVersion: INFERENCE_POOL_API_VERSION,
    kind: "InferencePool",
    metadata: metadata(model, ctx),
    spec: {
      selector: { matchLabels: modelSelector(model) },
      targetPorts: [{ number: SERVICE_PORT }],
      endpointPickerRef: { kind: "Service", name: picker.name, port: { number: picker.port }, failureMode: ENDPOINT_PICKER_FAILURE_MODE },
    },
  };
}

/**
 * Routes the Gateway's requests for this model to its pool, two ways: requests under /v1 whose `X-Gateway-Model-Name`
 * header (set by a body-based router from the body's `model`) is exactly the served model name; and requests under
 * `/<model>/v1`, rewritten to `/v1`, which need no body-based router (a client's base URL names the model). The
 * endpoint picker sees the path before the rewrite and reads the API from its end (`/chat/completions`, ...), so both
 * reach it alike. A cross-namespace Gateway must allow routes from the stack's namespace
 * (`listeners[].allowedRoutes.namespaces`).
 */
function httpRoute(model: Model, ctx: StackContext, gatewayName: string, gatewayNamespace: string): K8sObject {
  const backend = { group: "inference.networking.k8s.io", kind: "InferencePool", name: inferencePoolName(model) };
  return {
    apiVersion: HTTP_ROUTE_API_VERSION,
    kind: "HTTPRoute",
    metadata: metadata(model, ctx),
    spec: {
      parentRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: gatewayName, namespace: gatewayNamespace }],
      rules: [
        {
          matches: [
            {
              path: { type: "PathPrefix", value: ROUTE_PATH_PREFIX },
              headers: [{ type: "Exact", name: MODEL_NAME_HEADER, value: model.servedModelName }],
            },
          ],
          backendRefs: [backend],
        },
        {
          // Without a body-based router: the model's own prefix, removed before the request reaches the engine.
          matches: [{ path: { type: "PathPrefix", value: modelPathPrefix(model) } }],
          filters: [{ type: "URLRewrite", urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: ROUTE_PATH_PREFIX } } }],
          backendRefs: [backend],
        },
      ],
    },
  };
}
