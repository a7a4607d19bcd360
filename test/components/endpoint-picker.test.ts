/**
 * The endpoint picker deployed per InferencePool (#15: "a gateway can route to every model from the synthesized output
 * alone"). What each object must hold was read in GAIE v1.5.0 (components/gateway/endpoint-picker.ts names the files).
 */
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { endpointPickerObjects, pickerConfig } from "../../components/gateway/endpoint-picker.js";
import { gatewayIngressPeers, gatewayObjects } from "../../components/gateway/inference-pool.js";
import { buildModelObjects } from "../../components/engines/model-objects.js";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { quotaObjects } from "../../components/stack/quota.js";
import { contractForBuild } from "../../config/engines/index.js";
import type { StackConfig } from "../../config/types.js";
import { validateObjects } from "../../synth/validate.js";
import { DIGEST, llamaModel, modelNamed, objectOfKind, parsedStack, problemsOf, stackValues, vllmModel } from "../helpers/stack-values.js";

type Json = Record<string, any>;
type Env = "development" | "staging" | "production";

const POOLS = { gateway: { inferencePool: true } };

const stack = (overrides: Record<string, unknown> = POOLS, env: Env = "staging"): StackConfig => parsedStack(env, overrides);
const model = modelNamed;
const find = objectOfKind;

const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe("endpoint picker per pool", () => {
  it("one picker per pool, named as the pool's endpointPickerRef, schema-valid, the same bytes every time", () => {
    const config = stack();
    const qwen = model(config, "qwen3");
    const objects = endpointPickerObjects(qwen, config);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(
      ["ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Deployment", "Service", "NetworkPolicy", "ServiceMonitor"].map((k) => `${k}/qwen3-staging-epp`),
    );
    expect(objects.every((o) => o.metadata.namespace === "llm-staging")).toBe(true);
    expect(validateObjects(gatewayObjects(qwen, config))).toEqual([]);
    expect(JSON.stringify(endpointPickerObjects(qwen, stack()))).toBe(JSON.stringify(objects));

    // The pool calls the Service's ext-proc port, and the Service selects exactly the picker's pods
    const pool = find(gatewayObjects(qwen, config), "InferencePool");
    const service = find(objects, "Service");
    const deployment = find(objects, "Deployment");
    expect(pool.spec.endpointPickerRef).toMatchObject({ name: service.metadata.name, port: { number: 9002 } });
    expect(service.spec.ports.map((p: Json) => [p.name, p.port, p.targetPort])).toEqual([
      ["grpc-ext-proc", 9002, 9002],
      ["http-metrics", 9090, 9090],
    ]);
    expect(service.spec.ports[0].appProtocol).toBeUndefined(); // ext-proc is TLS; h2c would say cleartext
    expect(deployment.spec.selector.matchLabels).toEqual(service.spec.selector);
    expect(matches(service.spec.selector, deployment.spec.template.metadata.labels)).toBe(true);
  });

  it("is scraped where the environment monitors: a ServiceMonitor on the Service's metrics port, selecting only it", () => {
    const config = stack();
    expect(config.monitoring.serviceMonitor).toBe(true);
    const objects = endpointPickerObjects(model(config, "qwen3"), config);
    const monitor = find(objects, "ServiceMonitor");
    const service = find(objects, "Service");
    expect(monitor.spec.endpoints).toEqual([{ port: "http-metrics", path: "/metrics", interval: "30s" }]);
    expect(service.spec.ports.map((p: Json) => p.name)).toContain("http-metrics");
    expect(matches(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    const engineService = find(buildModelObjects(model(config, "qwen3"), config), "Service");
    expect(matches(monitor.spec.selector.matchLabels, engineService.metadata.labels)).toBe(false);
    const other = find(endpointPickerObjects(model(config, "gguf"), config), "Service");
    expect(matches(monitor.spec.selector.matchLabels, other.metadata.labels)).toBe(false);
    const development = stack(POOLS, "development");
    expect(endpointPickerObjects(model(development, "qwen3"), development).map((o) => o.kind)).not.toContain("ServiceMonitor");
  });

  it("the picker's pods are let in by the engines' NetworkPolicy, and are never selected as the model's own pods", () => {
    const config = stack();
    const qwen = model(config, "qwen3");
    const podLabels = find(endpointPickerObjects(qwen, config), "Deployment").spec.template.metadata.labels;
    const peers = gatewayIngressPeers(qwen, config);
    expect(peers.some((peer) => matches((peer as Json).podSelector.matchLabels, podLabels))).toBe(true);
    const engine = buildModelObjects(qwen, config);
    expect(matches(find(engine, "Service").spec.selector, podLabels)).toBe(false);
    expect(matches(find(gatewayObjects(qwen, config), "InferencePool").spec.selector.matchLabels, podLabels)).toBe(false);
  });

  it("runs the pinned picker with the v1.5.0 flags for its own pool, and none of the metric flags v1.5.0 refuses", () => {
    const config = stack();
    const container = find(endpointPickerObjects(model(config, "qwen3"), config), "Deployment").spec.template.spec.containers[0];
    expect(container.image).toBe(config.images.endpointPicker.reference);
    expect(container.image).toMatch(/^registry\.k8s\.io\/gateway-api-inference-extension\/epp:v1\.5\.0@sha256:[0-9a-f]{64}$/);
    expect(container.args).toEqual([
      "--pool-name", "qwen3-staging",
      "--pool-namespace", "llm-staging",
      "--pool-group", "inference.networking.k8s.io",
      "--config-file", "/config/endpoint-picker.yaml",
      "--zap-encoder", "json",
      "--v", "1",
      "--tracing=false",
      "--enable-pprof=false",
      "--metrics-endpoint-auth=false",
    ]);
    expect(container.args.filter((a: string) => /-metric$/.test(a))).toEqual([]);
    expect(container.readinessProbe.grpc).toEqual({ port: 9003, service: "inference-extension" });
    expect(container.livenessProbe.grpc).toEqual({ port: 9003, service: "inference-extension" });
    expect(container.volumeMounts).toContainEqual({ name: "config", mountPath: "/config", readOnly: true });
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  });

  it("an offline stack runs the picker from the site registry", () => {
    const config = stack({ ...POOLS, offline: { registry: "registry.site.local:5000" }, models: [vllmModel({ source: { pvc: "models", path: "qwen3" } })] });
    const container = find(endpointPickerObjects(model(config, "qwen3"), config), "Deployment").spec.template.spec.containers[0];
    expect(container.image).toMatch(/^registry\.site\.local:5000\/gateway-api-inference-extension\/epp@sha256:/);
  });

  it("may read its pool, the pool's pods and the optional objective kinds, nothing else, and keeps the pool's grace period", () => {
    const config = stack();
    const qwen = model(config, "qwen3");
    const objects = endpointPickerObjects(qwen, config);
    // The engine's grace period also offline, where images are mirrored and tagless (the contract comes from the pin)
    const offline = stack({ ...POOLS, offline: { registry: "registry.site.local:5000" }, models: [vllmModel({ source: { pvc: "models", path: "qwen3" } })] });
    const offlineQwen = model(offline, "qwen3");
    expect(find(endpointPickerObjects(offlineQwen, offline), "Deployment").spec.template.spec.terminationGracePeriodSeconds).toBe(
      find(buildModelObjects(offlineQwen, offline), "Deployment").spec.template.spec.terminationGracePeriodSeconds,
    );
    expect(find(objects, "Role").rules).toEqual([
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["inference.networking.k8s.io"], resources: ["inferencepools"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["inference.networking.x-k8s.io"], resources: ["inferenceobjectives", "inferencemodelrewrites"], verbs: ["get", "list", "watch"] },
    ]);
    expect(find(objects, "RoleBinding")).toMatchObject({ roleRef: { kind: "Role", name: "qwen3-staging-epp" }, subjects: [{ kind: "ServiceAccount", name: "qwen3-staging-epp", namespace: "llm-staging" }] });
    const pod = find(objects, "Deployment").spec.template.spec;
    expect(pod.serviceAccountName).toBe("qwen3-staging-epp");
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(pod.terminationGracePeriodSeconds).toBe(find(buildModelObjects(qwen, config), "Deployment").spec.template.spec.terminationGracePeriodSeconds);
  });

  it("vLLM pools use the built-in vllm mapping, whose names the pinned vLLM exports", () => {
    const config = stack();
    const text = find(endpointPickerObjects(model(config, "qwen3"), config), "ConfigMap").data["endpoint-picker.yaml"];
    const parsed = parse(text);
    expect(parsed).toEqual(pickerConfig({ engine: "vllm" }, config));
    expect(parsed.plugins.find((p: Json) => p.type === "core-metrics-extractor").parameters).toEqual({ defaultEngine: "vllm" });
    expect(parsed.schedulingProfiles[0].plugins.map((p: Json) => [p.pluginRef, p.weight])).toEqual([
      ["queue-scorer", 2],
      ["kv-cache-utilization-scorer", 2],
      ["prefix-cache-scorer", 3],
    ]);
    // GAIE v1.5.0's built-in vllm mapping (extractor/metrics/factories.go): queue, running and KV-cache gauges
    const names = contractForBuild("vllm", config.pins.vllm).metrics.names;
    for (const builtIn of ["vllm:num_requests_waiting", "vllm:num_requests_running", "vllm:kv_cache_usage_perc"]) expect(names).toContain(builtIn);
  });

  it("llama.cpp pools get a mapping from the engine contract: queue and running gauges, no KV-cache metric", () => {
    const config = stack();
    const parsed = parse(find(endpointPickerObjects(model(config, "gguf"), config), "ConfigMap").data["endpoint-picker.yaml"]);
    const contract = contractForBuild("llamacpp", config.pins.llamacpp);
    const extractor = parsed.plugins.find((p: Json) => p.type === "core-metrics-extractor");
    expect(extractor.parameters).toEqual({
      defaultEngine: "llamacpp",
      engineConfigs: [{ name: "llamacpp", queuedRequestsSpec: "llamacpp:requests_deferred", runningRequestsSpec: "llamacpp:requests_processing", kvUsageSpec: "", loraSpec: "", cacheInfoSpec: "" }],
    });
    for (const spec of [extractor.parameters.engineConfigs[0].queuedRequestsSpec, extractor.parameters.engineConfigs[0].runningRequestsSpec]) expect(contract.metrics.names).toContain(spec);
    // The KV-cache scorer would score every llama.cpp pod alike; the running-requests scorer replaces it
    expect(parsed.schedulingProfiles[0].plugins.map((p: Json) => p.pluginRef)).toEqual(["queue-scorer", "running-requests-size-scorer", "prefix-cache-scorer"]);
    expect(parsed.plugins.map((p: Json) => p.type)).not.toContain("kv-cache-utilization-scorer");
    expect(parsed.plugins.find((p: Json) => p.type === "metrics-data-source").parameters).toEqual({ scheme: "http", path: contract.metrics.path });
  });

  it("default requests are the GAIE chart's (4 CPU, 8 GiB, memory limit 16 GiB); can size them; the quota counts them", () => {
    const defaults = stack();
    const resources = (config: StackConfig) => find(endpointPickerObjects(model(config, "qwen3"), config), "Deployment").spec.template.spec.containers[0].resources;
    expect(resources(defaults)).toEqual({ requests: { cpu: "4", memory: "8Gi" }, limits: { memory: "16Gi" } });
    const sized = stack({ gateway: { inferencePool: true, endpointPicker: { cpu: 0.5, memoryGiB: 1.5 } } });
    expect(resources(sized)).toEqual({ requests: { cpu: "500m", memory: "1536Mi" }, limits: { memory: "3Gi" } });

    const hard = (config: StackConfig) => (quotaObjects(config)[0] as Json).spec.hard;
    const without = hard(stack({}));
    const millicores = (text: string) => Number(text.replace(/m$/, ""));
    const mebibytes = (text: string) => Number(text.replace(/Mi$/, ""));
    // Two models, two pickers, with the quota's 10 % headroom (rounded up)
    expect(millicores(hard(defaults)["requests.cpu"]) - millicores(without["requests.cpu"])).toBeCloseTo(2 * 4000 * 1.1, -1);
    expect(mebibytes(hard(defaults)["requests.memory"]) - mebibytes(without["requests.memory"])).toBeCloseTo(2 * 8192 * 1.1, -1);
    expect(hard(defaults)["requests.nvidia.com/gpu"]).toBe(without["requests.nvidia.com/gpu"]);
  });

  it("admits the named Gateway's pods on the ext-proc port, any namespace without a name, and monitoring on metrics", () => {
    const named = stack({ gateway: { inferencePool: true, gatewayName: "inference-gateway", gatewayNamespace: "gateways" } });
    const policy = (config: StackConfig) => find(endpointPickerObjects(model(config, "qwen3"), config), "NetworkPolicy").spec;
    expect(policy(named).ingress[0]).toEqual({
      from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "gateways" } }, podSelector: { matchLabels: { "gateway.networking.k8s.io/gateway-name": "inference-gateway" } } }],
      ports: [{ port: 9002, protocol: "TCP" }],
    });
    expect(policy(stack()).ingress[0].from).toEqual([{ namespaceSelector: {} }]);
    expect(policy(stack()).ingress[1].ports).toEqual([{ port: 9090, protocol: "TCP" }]);
    expect(policy(stack()).ingress[1].from[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"]).toBe(named.monitoring.namespace);
  });
});

describe("gateway.provider: istio", () => {
  it("adds a DestinationRule per deployed picker: TLS to its self-signed certificate, as GAIE's Istio conformance setup", () => {
    const config = stack({ gateway: { inferencePool: true, provider: "istio" } });
    const objects = endpointPickerObjects(model(config, "qwen3"), config);
    const rule = find(objects, "DestinationRule");
    expect(rule).toEqual({
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: expect.objectContaining({ name: "qwen3-staging-epp", namespace: "llm-staging" }),
      spec: { host: "qwen3-staging-epp.llm-staging.svc.cluster.local", trafficPolicy: { tls: { mode: "SIMPLE", insecureSkipVerify: true } } },
    });
    expect(rule.spec.host.split(".")[0]).toBe(find(objects, "Service").metadata.name);
    expect(validateObjects(objects)).toEqual([]);
    // None without the provider, and none for your own picker
    expect(endpointPickerObjects(model(stack(), "qwen3"), stack()).map((o) => o.kind)).not.toContain("DestinationRule");
    const own = stack({ gateway: { inferencePool: true, provider: "istio", endpointPicker: { name: "shared-epp" } } });
    expect(gatewayObjects(model(own, "qwen3"), own).map((o) => o.kind)).toEqual(["InferencePool"]);
  });

  it("the DestinationRule validator refuses what Istio's API does not define", () => {
    const config = stack({ gateway: { inferencePool: true, provider: "istio" } });
    const rule = find(endpointPickerObjects(model(config, "qwen3"), config), "DestinationRule");
    const broken = structuredClone(rule);
    broken.spec.trafficPolicy.tls.mode = "STRICT";
    broken.spec.trafficPolicy.tls.insecureSkipVerification = true;
    delete broken.spec.host;
    const messages = validateObjects([broken as K8sObject]).map((p) => p.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringContaining('"STRICT" is not one of "DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"'),
        expect.stringContaining('has unknown field "insecureSkipVerification"'),
        expect.stringContaining("host"),
      ]),
    );
  });

  it("is refused without pools, and any other provider is refused naming the allowed one", () => {
    expect(problemsOf(stackValues("staging", { gateway: { inferencePool: false, provider: "istio" } })).map((p) => p.path)).toEqual(["gateway.inferencePool"]);
    const [other] = problemsOf(stackValues("staging", { gateway: { inferencePool: true, provider: "envoy" } }));
    expect(other!.path).toBe("gateway.provider");
    expect(other!.message).toContain("istio");
  });
});

describe("endpoint picker settings", () => {
  it("refuses a picker release other than v1.5.x, one with no tag, and a tag-only pin in production", () => {
    const withImage = (endpointPicker: string, env: Env = "staging") => {
      const values = stackValues(env, POOLS);
      return problemsOf({ ...values, images: { ...(values["images"] as object), endpointPicker } });
    };
    const [tag] = withImage(`registry.k8s.io/gateway-api-inference-extension/epp:v1.6.0@${DIGEST}`);
    expect(tag).toMatchObject({ path: "images.endpointPicker" });
    expect(tag!.message).toContain("tag v1.6.0, but the picker modelfleet deploys is written for GAIE's EPP v1.5.x");
    expect(withImage(`registry.k8s.io/gateway-api-inference-extension/epp@${DIGEST}`)[0]!.message).toContain("no tag, but the picker");
    expect(withImage("registry.k8s.io/gateway-api-inference-extension/epp:v1.5.1", "production")[0]!.message).toContain("tag-only reference; production requires a digest");
    expect(withImage(`registry.k8s.io/gateway-api-inference-extension/epp:v1.5.1@${DIGEST}`)).toEqual([]);
    // With your own picker, modelfleet runs none, so any release is yours to choose
    const own = stackValues("staging", { gateway: { inferencePool: true, endpointPicker: { name: "shared-epp" } } });
    expect(problemsOf({ ...own, images: { ...(own["images"] as object), endpointPicker: `example.com/epp:v9@${DIGEST}` } })).toEqual([]);
  });

  it("deploy: false keeps every pool naming its own <serviceName>-epp and deploys none (one chart release per model)", () => {
    const config = stack({ gateway: { inferencePool: true, endpointPicker: { deploy: false } } });
    expect(config.gateway?.endpointPicker).toEqual({ deploy: false, port: 9002 });
    for (const name of ["qwen3", "gguf"]) {
      const objects = gatewayObjects(model(config, name), config);
      expect(objects.map((o) => o.kind)).toEqual(["InferencePool"]);
      expect((objects[0] as Json).spec.endpointPickerRef).toMatchObject({ name: `${name}-staging-epp`, port: { number: 9002 } });
    }
    // No picker image is needed then: any release, or none pinned by digest, is yours
    const values = stackValues("production", { gateway: { inferencePool: true, endpointPicker: { deploy: false } }, models: [vllmModel({ replicas: 2 })] });
    expect(problemsOf({ ...values, images: { ...(values["images"] as object), endpointPicker: "example.com/epp:v9" } }).filter((p) => p.path.startsWith("images."))).toEqual([]);
    const [both] = problemsOf(stackValues("staging", { gateway: { inferencePool: true, endpointPicker: { deploy: true, name: "shared-epp" } } }));
    expect(both).toMatchObject({ path: "gateway.endpointPicker.deploy" });
  });

  it("counts the -epp suffix in the longest model name a stack with pickers allows", () => {
    const name = (length: number) => `m${"x".repeat(length - 1)}`;
    const longest = 63 - "staging".length - 1 - "-epp".length;
    const [tooLong] = problemsOf(stackValues("staging", { ...POOLS, models: [vllmModel({ name: name(longest + 1) })] }));
    expect(tooLong).toMatchObject({ path: "models[0].name" });
    expect(tooLong!.message).toContain(`"${name(longest + 1)}-staging-epp" must fit in 63 characters, so at most ${longest} here`);
    expect(problemsOf(stackValues("staging", { ...POOLS, models: [vllmModel({ name: name(longest) })] }))).toEqual([]);
    const config = stack({ ...POOLS, models: [vllmModel({ name: name(longest) })] });
    expect(find(endpointPickerObjects(config.models[0]!, config), "Service").metadata.name).toHaveLength(63);
    // Without pickers the Service alone counts
    expect(problemsOf(stackValues("staging", { models: [vllmModel({ name: name(longest + 4) })] }))).toEqual([]);
  });

  it("refuses sizes next to your own picker's name, and a port without one", () => {
    const problems = problemsOf(stackValues("staging", { gateway: { inferencePool: true, endpointPicker: { name: "shared-epp", cpu: 1, memoryGiB: 2 } } }));
    expect(problems.map((p) => p.path)).toEqual(["gateway.endpointPicker.cpu", "gateway.endpointPicker.memoryGiB"]);
    expect(problems[0]!.message).toContain("endpointPicker.name (shared-epp) says you run your own");
    const [port] = problemsOf(stackValues("staging", { gateway: { inferencePool: true, endpointPicker: { port: 9100 } } }));
    expect(port).toMatchObject({ path: "gateway.endpointPicker.port", received: "9100" });
    const [tiny] = problemsOf(stackValues("staging", { gateway: { inferencePool: true, endpointPicker: { cpu: 0.0001 } } }));
    expect(tiny).toMatchObject({ path: "gateway.endpointPicker.cpu" });
    expect(tiny!.message).toContain("at least 0.001");
  });

  it("no picker objects without pools", () => {
    const config = stack({});
    expect(endpointPickerObjects(model(config, "qwen3"), config)).toEqual([]);
    expect(model(stack({ models: [llamaModel()] }), "gguf").engine).toBe("llamacpp");
  });
});
