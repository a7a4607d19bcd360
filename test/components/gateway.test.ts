import { describe, expect, it } from "vitest";
import {
  endpointPickerPodLabels,
  gatewayIngressPeers,
  gatewayObjects,
  inferencePoolName,
  registryInferencePool,
} from "../../components/gateway/inference-pool.js";
import { buildModelObjects } from "../../components/engines/model-objects.js";
import type { StackConfig } from "../../config/types.js";
import { HTTPRoute, InferencePool } from "../../synth/schemas/gateway.js";
import { llamaModel, modelNamed, objectOfKind, parsedStack, vllmModel } from "../helpers/stack-values.js";

type Json = Record<string, any>;

const stack = (overrides: Record<string, unknown> = {}, env: "development" | "staging" | "production" = "staging"): StackConfig => parsedStack(env, overrides);
const model = modelNamed;
const find = objectOfKind;

const WITH_POOL = { gateway: { inferencePool: true } };
const WITH_ROUTE = { gateway: { inferencePool: true, gatewayName: "inference-gateway", gatewayNamespace: "gateways" } };

describe("InferencePool per model", () => {
  it("default: no gateway objects, no registry pool, no extra pod labels or peers without `gateway`", () => {
    const config = stack();
    const qwen = model(config, "qwen3");
    expect(config.gateway).toBeUndefined();
    expect(gatewayObjects(qwen, config)).toEqual([]);
    expect(registryInferencePool(qwen, config)).toBeNull();
    expect(endpointPickerPodLabels(qwen, config)).toEqual({});
    expect(gatewayIngressPeers(qwen, config)).toEqual([]);
  });

  it("selects exactly the Deployment's pods on port 8000 and names the default endpoint picker", () => {
    // Given a stack that publishes pools, without a Gateway name
    const config = stack(WITH_POOL);
    const qwen = model(config, "qwen3");

    // When the gateway objects are built
    const objects = gatewayObjects(qwen, config);

    // Then there is one InferencePool named after the Service, in the stack namespace, with the model's labels,
    // followed by the endpoint picker deployed for it (test/components/endpoint-picker.test.ts)
    expect(objects.map((o) => `${o.apiVersion}/${o.kind}`)).toEqual([
      "inference.networking.k8s.io/v1/InferencePool",
      "v1/ServiceAccount",
      "rbac.authorization.k8s.io/v1/Role",
      "rbac.authorization.k8s.io/v1/RoleBinding",
      "v1/ConfigMap",
      "apps/v1/Deployment",
      "v1/Service",
      "networking.k8s.io/v1/NetworkPolicy",
      "monitoring.coreos.com/v1/ServiceMonitor",
    ]);
    expect(objects.slice(1).every((o) => o.metadata.name === "qwen3-staging-epp")).toBe(true);
    const pool = find(objects, "InferencePool");
    expect(pool.metadata).toEqual({
      name: "qwen3-staging",
      namespace: "llm-staging",
      labels: expect.objectContaining({ "app.kubernetes.io/name": "qwen3", "app.kubernetes.io/instance": "qwen3-staging", "modelfleet.dev/engine": "vllm" }),
    });
    expect(inferencePoolName(qwen)).toBe("qwen3-staging");
    // And its selector is the Deployment's selector, key for key
    const deployment = find(buildModelObjects(qwen, config), "Deployment");
    expect(pool.spec.selector).toEqual({ matchLabels: deployment.spec.selector.matchLabels });
    expect(pool.spec.targetPorts).toEqual([{ number: 8000 }]);
    expect(deployment.spec.template.spec.containers[0].ports[0].containerPort).toBe(8000);
    // And the picker defaults to <serviceName>-epp on 9002, failing open, and no appProtocol (absent before GAIE v1.4)
    expect(pool.spec.endpointPickerRef).toEqual({ kind: "Service", name: "qwen3-staging-epp", port: { number: 9002 }, failureMode: "FailOpen" });
    expect(pool.spec.appProtocol).toBeUndefined();
    expect(registryInferencePool(qwen, config)).toBe("qwen3-staging");
  });

  it("two models get two pools whose selectors do not overlap", () => {
    const config = stack(WITH_POOL);
    const [a, b] = ["qwen3", "gguf"].map((name) => find(gatewayObjects(model(config, name), config), "InferencePool"));
    expect(a?.metadata.name).not.toBe(b?.metadata.name);
    expect(a?.spec.selector.matchLabels["app.kubernetes.io/instance"]).toBe("qwen3-staging");
    expect(b?.spec.selector.matchLabels["app.kubernetes.io/instance"]).toBe("gguf-staging");
  });

  it("can name your own endpoint picker, and then deploys none", () => {
    const config = stack({ gateway: { inferencePool: true, endpointPicker: { name: "shared-epp", port: 9100 } } });
    const objects = gatewayObjects(model(config, "qwen3"), config);
    expect(objects.map((o) => o.kind)).toEqual(["InferencePool"]);
    expect(find(objects, "InferencePool").spec.endpointPickerRef).toEqual({ kind: "Service", name: "shared-epp", port: { number: 9100 }, failureMode: "FailOpen" });
  });

  it("default: no HTTPRoute without a Gateway name; can configure one to route to the pool by served model name", () => {
    // Given a stack with a Gateway in another namespace and a model with its own served name
    const config = stack({ ...WITH_ROUTE, models: [vllmModel({ servedModelName: "Qwen/Qwen3-0.6B" }), llamaModel()] });
    const qwen = model(config, "qwen3");

    // When the gateway objects are built
    const objects = gatewayObjects(qwen, config);

    // Then the pool is followed by an HTTPRoute from that Gateway to the pool (then the picker's objects), matching
    // the model name header, or the model's own path prefix, rewritten to /v1
    expect(objects.map((o) => o.kind).slice(0, 3)).toEqual(["InferencePool", "HTTPRoute", "ServiceAccount"]);
    const route = find(objects, "HTTPRoute");
    expect(route.apiVersion).toBe("gateway.networking.k8s.io/v1");
    expect(route.metadata.name).toBe("qwen3-staging");
    expect(route.metadata.namespace).toBe("llm-staging");
    expect(route.spec).toEqual({
      parentRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "inference-gateway", namespace: "gateways" }],
      rules: [
        {
          backendRefs: [{ group: "inference.networking.k8s.io", kind: "InferencePool", name: "qwen3-staging" }],
          matches: [{ headers: [{ name: "X-Gateway-Model-Name", type: "Exact", value: "Qwen/Qwen3-0.6B" }], path: { type: "PathPrefix", value: "/v1" } }],
        },
        {
          backendRefs: [{ group: "inference.networking.k8s.io", kind: "InferencePool", name: "qwen3-staging" }],
          filters: [{ type: "URLRewrite", urlRewrite: { path: { replacePrefixMatch: "/v1", type: "ReplacePrefixMatch" } } }],
          matches: [{ path: { type: "PathPrefix", value: "/qwen3/v1" } }],
        },
      ],
    });
  });

  it("the Gateway namespace defaults to the stack namespace", () => {
    const config = stack({ gateway: { inferencePool: true, gatewayName: "inference-gateway" } });
    const route = find(gatewayObjects(model(config, "qwen3"), config), "HTTPRoute");
    expect(route.spec.parentRefs[0].namespace).toBe("llm-staging");
  });

  it("emits objects that pass the InferencePool and HTTPRoute schemas, with sorted keys, the same bytes every time", () => {
    const config = stack(WITH_ROUTE);
    for (const m of config.models) {
      const objects = gatewayObjects(m, config);
      expect(() => new InferencePool(find(objects, "InferencePool")).validate()).not.toThrow();
      expect(() => new HTTPRoute(find(objects, "HTTPRoute")).validate()).not.toThrow();
      expect(JSON.stringify(gatewayObjects(m, config))).toBe(JSON.stringify(objects));
      const spec = find(objects, "InferencePool").spec as Json;
      expect(Object.keys(spec)).toEqual([...Object.keys(spec)].sort());
    }
  });
});

describe("what the engines need when a stack publishes pools", () => {
  it("labels pods with their engine type for the endpoint picker, in the llm-d and the deprecated GAIE key", () => {
    const config = stack(WITH_POOL);
    expect(endpointPickerPodLabels(model(config, "qwen3"), config)).toEqual({ "llm-d.ai/engine-type": "vllm", "inference.networking.k8s.io/engine-type": "vllm" });
    expect(endpointPickerPodLabels(model(config, "gguf"), config)).toEqual({ "llm-d.ai/engine-type": "llamacpp", "inference.networking.k8s.io/engine-type": "llamacpp" });
  });

  it("admits the endpoint picker's pods, and the named Gateway's pods in its namespace", () => {
    // Given a stack without a Gateway name: only the picker's pods (both charts' labels) in the stack namespace
    const poolOnly = stack(WITH_POOL);
    const ns = { matchLabels: { "kubernetes.io/metadata.name": "llm-staging" } };
    expect(gatewayIngressPeers(model(poolOnly, "qwen3"), poolOnly)).toEqual([
      { namespaceSelector: ns, podSelector: { matchLabels: { inferencepool: "qwen3-staging-epp" } } },
      { namespaceSelector: ns, podSelector: { matchLabels: { "llm-d-router-gateway": "qwen3-staging-epp" } } },
    ]);
    // And with a Gateway: also that Gateway's data-plane pods in the Gateway's namespace
    const withRoute = stack(WITH_ROUTE);
    expect(gatewayIngressPeers(model(withRoute, "qwen3"), withRoute)[2]).toEqual({
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "gateways" } },
      podSelector: { matchLabels: { "gateway.networking.k8s.io/gateway-name": "inference-gateway" } },
    });
  });
});
