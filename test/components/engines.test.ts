import { describe, expect, it } from "vitest";
import { buildModelObjects } from "../../components/engines/model-objects.js";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { buildNamespaceObjects } from "../../components/stack/stack-objects.js";
import { parseStackConfig } from "../../config/load.js";
import type { StackConfig } from "../../config/types.js";
import { validateObjects } from "../../synth/validate.js";
import { DIGEST, llamaModel, SHA, stackValues, vllmModel } from "../helpers/stack-values.js";

type Json = Record<string, any>;

function stack(env: "development" | "staging" | "production", overrides: Record<string, unknown> = {}): StackConfig {
  return parseStackConfig(stackValues(env, overrides), `Pulumi.${env}.yaml`, env);
}

function objectsOf(config: StackConfig, index = 0): K8sObject[] {
  const model = config.models[index];
  if (!model) throw new Error("no model");
  return buildModelObjects(model, config);
}

function find(objects: readonly K8sObject[], kind: string): Json {
  const obj = objects.find((o) => o.kind === kind);
  if (!obj) throw new Error(`no ${kind}`);
  return obj as Json;
}

const container = (objects: readonly K8sObject[]): Json => find(objects, "Deployment").spec.template.spec.containers[0];
const settings = (objects: readonly K8sObject[]): Json => objects.find((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("-settings")) as Json;
/** Whether any value anywhere in `node` is null (text that merely contains the word, like the download script, is fine). */
const hasNull = (node: unknown): boolean =>
  node === null || (typeof node === "object" && Object.values(node as Record<string, unknown>).some(hasNull));
/** The folder the model store (or an image volume) holds a revision in, as the engines read it. */
const storeDir = (repo: string) => `/models/${repo.replace("/", "--")}/${SHA}`;
/** `modelStore.mode: off`: the engine downloads at start, as before the store existed. */
const DOWNLOAD = { modelStore: { mode: "off" } };
const argValue = (args: string[], flag: string): string | undefined => args[args.indexOf(flag) + 1];

describe("startup budget from model size", () => {
  it.each([
    ["production", 0.6, 300],
    ["production", 8, 600],
    ["production", 32, 900],
    ["production", 70, 1500],
    ["production", 405, 2400],
    ["development", 0.6, 450],
    ["development", 8, 900],
  ] as const)("%s, %sB → %ss", (env, size, budget) => {
    const objects = objectsOf(stack(env, { models: [vllmModel({ sizeBillions: size })] }));
    const deployment = find(objects, "Deployment");
    const probe = container(objects).startupProbe;
    expect(probe.periodSeconds * probe.failureThreshold).toBe(budget);
    expect(probe.httpGet.path).toBe("/health");
    expect(deployment.spec.progressDeadlineSeconds).toBeGreaterThan(budget);
    expect(deployment.metadata.annotations["modelfleet.dev/startup-budget-seconds"]).toBe(String(budget));
  });

  it("an explicit startupBudgetSeconds wins", () => {
    const probe = container(objectsOf(stack("staging", { models: [vllmModel({ startupBudgetSeconds: 1800 })] }))).startupProbe;
    expect(probe.failureThreshold).toBe(180);
  });
});

describe("GPU scheduling and memory", () => {
  it.each([
    [1, 1, 1, 1],
    [2, 2, 1, 4],
    [4, 2, 2, 8],
    [8, 8, 1, 16],
  ])("%i GPUs (tp %i × pp %i) → nvidia.com/gpu %i..., /dev/shm %i GiB", (gpus, tp, pp, shmGiB) => {
    const objects = objectsOf(stack("staging", { models: [vllmModel({ gpus, vllm: { tensorParallelSize: tp, pipelineParallelSize: pp }, resources: { memoryGiB: 20 } })] }));
    const c = container(objects);
    expect(c.resources.limits["nvidia.com/gpu"]).toBe(String(gpus));
    expect(c.resources.requests["nvidia.com/gpu"]).toBe(String(gpus));
    const pod = find(objects, "Deployment").spec.template.spec;
    const shm = pod.volumes.find((v: Json) => v.name === "dshm");
    expect(shm.emptyDir).toEqual({ medium: "Memory", sizeLimit: `${shmGiB * 1024}Mi` });
    // /dev/shm is charged to the container: the limit is the engine's memory plus the shm size.
    expect(c.resources.limits.memory).toBe(`${(20 + shmGiB) * 1024}Mi`);
    expect(argValue(c.args, "--tensor-parallel-size")).toBe(String(tp));
  });

  it("places GPU pods with nodeSelector, tolerations and runtimeClassName; never a null quantity", () => {
    const objects = objectsOf(stack("production", { gpu: { nodeSelector: { pool: "a100" }, tolerations: [{ key: "gpu", operator: "Exists", effect: "NoSchedule" }], runtimeClassName: "nvidia" } }));
    const pod = find(objects, "Deployment").spec.template.spec;
    expect(pod.nodeSelector).toEqual({ pool: "a100" });
    expect(pod.tolerations).toEqual([{ effect: "NoSchedule", key: "gpu", operator: "Exists" }]);
    expect(pod.runtimeClassName).toBe("nvidia");
    expect(hasNull(objects)).toBe(false);
  });

  it("a CPU-only llama.cpp model asks for no GPU and is not pinned to GPU nodes", () => {
    const objects = objectsOf(stack("development", { models: [llamaModel({ gpus: 0 })] }));
    const c = container(objects);
    expect(c.resources.limits["nvidia.com/gpu"]).toBeUndefined();
    expect(argValue(c.args, "--n-gpu-layers")).toBe("0");
    const pod = find(objects, "Deployment").spec.template.spec;
    expect(pod.nodeSelector).toBeUndefined();
    expect(pod.tolerations).toBeUndefined();
  });
});

describe("vLLM container", () => {
  it("always passes --allowed-origins from config, serves the store's folder of the pinned revision, and the served name", () => {
    // vLLM only: a llama.cpp model in the stack allows one origin (config rule, test/config/engine-rules.test.ts).
    const c = container(objectsOf(stack("staging", { cors: { allowedOrigins: ["https://b.example.com", "https://a.example.com"] }, models: [vllmModel()] })));
    expect(c.command).toEqual(["vllm", "serve"]);
    expect(c.args[0]).toBe(storeDir("Qwen/Qwen3-0.6B"));
    expect(c.args).not.toContain("--revision");
    expect(argValue(c.args, "--allowed-origins")).toBe('["https://a.example.com","https://b.example.com"]');
    expect(argValue(c.args, "--served-model-name")).toBe("qwen3");
    expect(argValue(c.args, "--host")).toBe("0.0.0.0");
    expect(argValue(c.args, "--port")).toBe("8000");
  });

  it("an empty origin list still passes the flag (vLLM's default is *)", () => {
    const c = container(objectsOf(stack("development", { cors: { allowedOrigins: [] } })));
    expect(argValue(c.args, "--allowed-origins")).toBe("[]");
  });

  it("sets USER and LOGNAME: the image has no passwd entry for our uid and torch's getpass.getuser() needs one", () => {
    const c = container(objectsOf(stack("staging")));
    expect(c.env).toContainEqual({ name: "USER", value: "modelfleet" });
    expect(c.env).toContainEqual({ name: "LOGNAME", value: "modelfleet" });
  });

  it("takes the API key from the Secret, never a literal, and probes readiness on /health when /v1 is guarded", () => {
    const c = container(objectsOf(stack("production")));
    expect(c.env).toContainEqual({ name: "VLLM_API_KEY", valueFrom: { secretKeyRef: { key: "api-key", name: "qwen3-production-credentials" } } });
    expect(c.args).not.toContain("--api-key");
    expect(c.readinessProbe.httpGet.path).toBe("/health");
    expect(c.livenessProbe.httpGet.path).toBe("/health");
  });

  it("without an API key (development) readiness is /v1/models, which answers once the model is served", () => {
    const c = container(objectsOf(stack("development")));
    expect(c.readinessProbe.httpGet.path).toBe("/v1/models");
    expect(c.env.find((e: Json) => e.name === "VLLM_API_KEY")).toBeUndefined();
  });

  it.each([
    [{ maxModelLen: 8192 }, "--max-model-len", "8192"],
    [{ dtype: "bfloat16" }, "--dtype", "bfloat16"],
    [{ quantization: "awq" }, "--quantization", "awq"],
    [{ gpuMemoryUtilization: 0.8 }, "--gpu-memory-utilization", "0.8"],
  ])("setting %j → %s %s", (vllm, flag, value) => {
    expect(argValue(container(objectsOf(stack("staging", { models: [vllmModel({ vllm })] }))).args, flag)).toBe(value);
  });

  it("enforceEager and a speculative draft model", () => {
    const c = container(
      objectsOf(stack("staging", { models: [vllmModel({ vllm: { enforceEager: true, speculative: { method: "eagle", huggingFace: "Qwen/Qwen3-0.6B", revision: SHA, numSpeculativeTokens: 3 } } })] })),
    );
    expect(c.args).toContain("--enforce-eager");
    // The draft comes from the store too (its own Job), so it is a local folder without a revision.
    expect(JSON.parse(argValue(c.args, "--speculative-config") ?? "")).toEqual({ method: "eagle", model: storeDir("Qwen/Qwen3-0.6B"), num_speculative_tokens: 3 });
  });

  it("modelStore off: the repo id with --revision and a draft by repo and revision, downloaded at start (legacy)", () => {
    const c = container(
      objectsOf(stack("staging", { ...DOWNLOAD, models: [vllmModel({ vllm: { speculative: { method: "eagle", huggingFace: "Qwen/Qwen3-0.6B", revision: SHA, numSpeculativeTokens: 3 } } })] })),
    );
    expect(c.args[0]).toBe("Qwen/Qwen3-0.6B");
    expect(argValue(c.args, "--revision")).toBe(SHA);
    expect(JSON.parse(argValue(c.args, "--speculative-config") ?? "")).toEqual({ method: "eagle", model: "Qwen/Qwen3-0.6B", num_speculative_tokens: 3, revision: SHA });
    expect(c.env.find((e: Json) => e.name === "HF_HUB_OFFLINE")).toBeUndefined();
  });

  it("a model on a PVC is mounted read-only and served from its path", () => {
    const objects = objectsOf(stack("staging", { models: [vllmModel({ source: { pvc: "weights", path: "qwen3" } })] }));
    const c = container(objects);
    expect(c.args[0]).toBe("/models/qwen3");
    expect(c.args).not.toContain("--revision");
    expect(c.volumeMounts).toContainEqual({ mountPath: "/models", name: "models", readOnly: true });
    const pod = find(objects, "Deployment").spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: "models", persistentVolumeClaim: { claimName: "weights", readOnly: true } });
  });
});

describe("llama.cpp container", () => {
  it("listens on 0.0.0.0:8000 with metrics, reads its key from a mounted Secret file, downloads a pinned file (store off)", () => {
    const objects = objectsOf(stack("staging", DOWNLOAD), 1);
    const c = container(objects);
    expect(c.command).toEqual(["/app/llama-server"]);
    expect(argValue(c.args, "--host")).toBe("0.0.0.0");
    expect(argValue(c.args, "--port")).toBe("8000");
    expect(c.args).toContain("--metrics");
    expect(argValue(c.args, "--api-key-file")).toBe("/run/secrets/modelfleet/api-key");
    expect(argValue(c.args, "--model-url")).toBe(`https://huggingface.co/Qwen/Qwen3-0.6B-GGUF/resolve/${SHA}/Qwen3-0.6B-Q8_0.gguf`);
    expect(c.readinessProbe.httpGet.path).toBe("/health");
    const pod = find(objects, "Deployment").spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: "credentials", secret: { defaultMode: 0o440, items: [{ key: "api-key", path: "api-key" }], secretName: "gguf-staging-credentials" } });
  });

  it("store off: a Hugging Face source downloads to a local -m path (without -m llama-server runs as a router and serves nothing)", () => {
    const c = container(objectsOf(stack("staging", DOWNLOAD), 1));
    expect(argValue(c.args, "--model")).toBe("/cache/Qwen3-0.6B-Q8_0.gguf");
    expect(c.args.indexOf("--model")).toBeLessThan(c.args.indexOf("--model-url"));
    expect(c.args).not.toContain("--offline");
  });

  it("by default reads the GGUF file from the store's folder, offline, with no --model-url", () => {
    const c = container(objectsOf(stack("staging"), 1));
    expect(argValue(c.args, "--model")).toBe(`${storeDir("Qwen/Qwen3-0.6B-GGUF")}/Qwen3-0.6B-Q8_0.gguf`);
    expect(c.args).not.toContain("--model-url");
    expect(c.args).toContain("--offline");
    expect(c.volumeMounts).toContainEqual({ mountPath: "/models", name: "models", readOnly: true });
  });

  it("a model on a PVC is read from its path, with no download", () => {
    const c = container(objectsOf(stack("staging", { models: [llamaModel({ source: { pvc: "weights", path: "q.gguf" } })] })));
    expect(argValue(c.args, "--model")).toBe("/models/q.gguf");
    expect(c.args).not.toContain("--model-url");
  });

  it("ctxSize is per request: --ctx-size is ctxSize × parallel, and the ConfigMap shows both", () => {
    const objects = objectsOf(stack("staging", { models: [llamaModel({ llamacpp: { ctxSize: 4096, parallel: 3 } })] }));
    expect(argValue(container(objects).args, "--ctx-size")).toBe("12288");
    expect(settings(objects).data).toMatchObject({ ctxSize: "4096", ctxSizeTotal: "12288", parallel: "3", engineVersion: "b11206" });
  });

  it("CORS: the stack's origin in --cors-origins and credentials off (llama-server's defaults are * with credentials)", () => {
    const c = container(objectsOf(stack("staging"), 1));
    expect(argValue(c.args, "--cors-origins")).toBe("https://chat.example.com");
    expect(c.args).toContain("--no-cors-credentials");
    expect(c.args).not.toContain("--cors-credentials");
  });

  it("its ServiceMonitor authenticates, since llama.cpp guards /metrics with the key", () => {
    const monitor = find(objectsOf(stack("staging"), 1), "ServiceMonitor");
    expect(monitor.spec.endpoints[0].authorization).toEqual({ type: "Bearer", credentials: { name: "gguf-staging-credentials", key: "api-key" } });
  });
});

describe("rollout strategy", () => {
  it("one replica: Recreate (its GPUs are freed before the new pod needs them)", () => {
    expect(find(objectsOf(stack("staging", { models: [vllmModel({ replicas: 1 })] })), "Deployment").spec.strategy).toEqual({ type: "Recreate" });
  });
  it("several replicas: RollingUpdate without surge", () => {
    expect(find(objectsOf(stack("production")), "Deployment").spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } });
  });
});

describe("security and images", () => {
  it("runs non-root, drops all capabilities, RuntimeDefault seccomp, read-only root with writable mounts", () => {
    const objects = objectsOf(stack("production"));
    const c = container(objects);
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(c.volumeMounts.map((m: Json) => m.mountPath)).toEqual(expect.arrayContaining(["/cache", "/home/modelfleet", "/tmp", "/dev/shm"]));
    expect(c.image).toBe(`vllm/vllm-openai:v0.11.0@${DIGEST}`);
    expect(c.imagePullPolicy).toBe("IfNotPresent");
  });

  it("offline stacks use the site registry by digest and switch the engines offline", () => {
    const config = stack("staging", {
      offline: { registry: "registry.local:5000" },
      models: [vllmModel({ source: { pvc: "weights", path: "qwen3" } }), llamaModel({ source: { pvc: "weights", path: "q.gguf" } })],
    });
    const v = container(objectsOf(config, 0));
    const l = container(objectsOf(config, 1));
    expect(v.image).toBe(`registry.local:5000/vllm/vllm-openai@${DIGEST}`);
    expect(l.image).toBe(`registry.local:5000/ggml-org/llama.cpp@${DIGEST}`);
    expect(v.env).toContainEqual({ name: "HF_HUB_OFFLINE", value: "1" });
    expect(l.args).toContain("--offline");
  });
});

describe("objects per environment", () => {
  // The model store (default perModel): claim, the Job's ServiceAccount and script, the Job; then the engine's objects.
  const STORE = ["PersistentVolumeClaim", "ServiceAccount", "Job"];
  it.each([
    ["development", [...STORE, "ServiceAccount", "ConfigMap", "Deployment", "Service", "NetworkPolicy"]],
    ["staging", [...STORE, "ServiceAccount", "ConfigMap", "Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget", "ServiceMonitor"]],
    ["production", [...STORE, "ServiceAccount", "ConfigMap", "Deployment", "Service", "NetworkPolicy", "PodDisruptionBudget", "ServiceMonitor"]],
  ] as const)("%s", (env, kinds) => {
    const objects = objectsOf(stack(env));
    expect(objects.map((o) => o.kind)).toEqual(kinds);
    expect(validateObjects(objects)).toEqual([]);
  });

  it("no PodDisruptionBudget for a single replica", () => {
    expect(objectsOf(stack("staging", { models: [vllmModel({ replicas: 1 })] })).map((o) => o.kind)).not.toContain("PodDisruptionBudget");
  });

  it("Service is {model}-{environment} on port 8000, selecting exactly the model's pods", () => {
    const objects = objectsOf(stack("production"));
    const service = find(objects, "Service");
    expect(service.metadata.name).toBe("qwen3-production");
    expect(service.spec.ports).toEqual([{ name: "http", port: 8000, protocol: "TCP", targetPort: 8000 }]);
    expect(service.spec.selector).toEqual(find(objects, "Deployment").spec.selector.matchLabels);
    expect(JSON.stringify(objects)).not.toContain("cdk8s.io/");
  });

  it("NetworkPolicy admits only the router, the registry health checker and monitoring", () => {
    const policy = find(objectsOf(stack("production", { router: { namespace: "gateway", podLabels: { app: "router" } } })), "NetworkPolicy");
    expect(policy.spec.policyTypes).toEqual(["Ingress"]);
    expect(policy.spec.ingress[0].from).toEqual([
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "gateway" } }, podSelector: { matchLabels: { app: "router" } } },
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "llm-production" } }, podSelector: { matchLabels: { "app.kubernetes.io/component": "registry-health", "app.kubernetes.io/part-of": "modelfleet" } } },
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } },
    ]);
  });

  it("namespace objects: quota and limit range always, default-deny where the profile says", () => {
    expect(buildNamespaceObjects(stack("development")).map((o) => o.kind)).toEqual(["Namespace", "ResourceQuota", "LimitRange", "ConfigMap"]);
    const prod = buildNamespaceObjects(stack("production"));
    expect(prod.map((o) => o.kind)).toEqual(["Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "ConfigMap"]);
    expect((prod[1] as Json).spec).toEqual({ podSelector: {}, policyTypes: ["Ingress"] });
    expect(validateObjects(prod)).toEqual([]);
  });

  it("is deterministic", () => {
    expect(JSON.stringify(objectsOf(stack("production")))).toBe(JSON.stringify(objectsOf(stack("production"))));
  });
});
