/**
 * The model store's objects (components/models/store.ts) and how engines read from it, for every delivery mode:
 * a per-model claim, the stack's shared claim, an oci artifact pulled by the Job, an image volume, an offline bundle,
 * and the legacy download at start. Every object is validated against its Kubernetes schema (kubernetes-models 5.1.0,
 * whose PodSpec has the image volume source), and the download Job's script is run for real from the ConfigMap.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { buildModelObjects } from "../../components/engines/model-objects.js";
import { buildSharedStoreObjects, buildStoreScriptObjects, FETCH_SCRIPT_CONFIG_MAP, fetchJobName } from "../../components/models/store.js";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { DEFAULT_NODE_IMAGE } from "../../config/image-ref.js";
import { parseStackConfig } from "../../config/load.js";
import type { StackConfig } from "../../config/types.js";
import { modelDir } from "../../models/layout.js";
import { MANIFEST_FILE, MANIFEST_SCHEMA, serializeManifest } from "../../models/manifest.js";
import { validateObjects } from "../../synth/validate.js";
import { llamaModel, SHA, stackValues, vllmModel } from "../helpers/stack-values.js";

type Json = Record<string, any>;
type Env = "development" | "staging" | "production";

const ROOT = join(import.meta.dirname, "..", "..");
const SCRIPT = readFileSync(join(ROOT, "models", "download-job.mjs"), "utf8");
const OCI = `registry.example/models/qwen3@sha256:${"b".repeat(64)}`;
const OTHER_SHA = "0d51c1e7e7f2a3b1f3a5b6c7d8e9f0a1b2c3d4e5";
const DRAFT = { method: "eagle", huggingFace: "Org/Draft-0.1B", revision: OTHER_SHA, numSpeculativeTokens: 3 };
const ociModel = (overrides: Record<string, unknown> = {}) => vllmModel({ source: { huggingFace: "Qwen/Qwen3-0.6B", revision: SHA, oci: OCI }, ...overrides });
const storeDir = (repo: string, revision = SHA) => modelDir("/models", repo, revision);

function stack(env: Env, overrides: Record<string, unknown> = {}): StackConfig {
  return parseStackConfig(stackValues(env, overrides), `Pulumi.${env}.yaml`, env);
}

function objectsOf(config: StackConfig, index = 0, target?: "yaml" | "pulumi"): K8sObject[] {
  const model = config.models[index];
  if (!model) throw new Error("no model");
  return buildModelObjects(model, config, target ? { target } : {});
}

const all = (objects: readonly K8sObject[], kind: string): Json[] => objects.filter((o) => o.kind === kind) as Json[];
function one(objects: readonly K8sObject[], kind: string, name?: string): Json {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
  return found[0] as Json;
}
const deployment = (objects: readonly K8sObject[]) => one(objects, "Deployment");
const engine = (objects: readonly K8sObject[]) => deployment(objects).spec.template.spec.containers[0];
const fetchContainer = (job: Json) => job.spec.template.spec.containers[0];
const envOf = (job: Json): Record<string, unknown> =>
  Object.fromEntries(fetchContainer(job).env.map((e: Json) => [e.name, e.value ?? e.valueFrom]));
const refs = (objects: readonly K8sObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`);
const jobOf = (config: StackConfig, index = 0) => all(objectsOf(config, index), "Job")[0]!;

describe("per-model store (the default)", () => {
  const config = stack("staging");
  const objects = objectsOf(config);

  it("emits claim, the Job's ServiceAccount, the Job, then the engine's objects; all valid", () => {
    const job = one(objects, "Job");
    expect(job.metadata.name).toMatch(/^qwen3-staging-fetch-[0-9a-f]{8}$/);
    expect(refs(objects).slice(0, 5)).toEqual([
      "PersistentVolumeClaim/qwen3-staging-models",
      "ServiceAccount/qwen3-staging-fetch",
      `Job/${job.metadata.name}`,
      "ServiceAccount/qwen3-staging",
      "ConfigMap/qwen3-staging-settings",
    ]);
    expect(validateObjects(objects)).toEqual([]);
  });

  it("the claim: ReadWriteMany for a 2-replica model, sized by config, in the Job's Argo CD wave", () => {
    const claim = one(objects, "PersistentVolumeClaim");
    expect(claim.spec).toEqual({ accessModes: ["ReadWriteMany"], resources: { requests: { storage: "4Gi" } } });
    // Same wave as its first consumer: an earlier wave would never let a WaitForFirstConsumer claim become healthy.
    expect(claim.metadata.annotations).toEqual({ "argocd.argoproj.io/sync-wave": "-1" });
    const oneReplica = one(objectsOf(stack("staging", { modelStore: { storageClassName: "fast-ssd" }, models: [vllmModel({ replicas: 1 })] })), "PersistentVolumeClaim");
    expect(oneReplica.spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "4Gi" } }, storageClassName: "fast-ssd" });
  });

  it("Argo CD waves: account and script -2, claim and Job -1, the engine in the default wave", () => {
    const waves = Object.fromEntries(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.annotations?.["argocd.argoproj.io/sync-wave"]]));
    expect(waves["ServiceAccount/qwen3-staging-fetch"]).toBe("-2");
    expect(buildStoreScriptObjects(config)[0]?.metadata.annotations).toEqual({ "argocd.argoproj.io/sync-wave": "-2" });
    expect(waves[`Job/${one(objects, "Job").metadata.name}`]).toBe("-1");
    expect(waves["Deployment/qwen3-staging"]).toBeUndefined();
  });

  it("the Job runs the ConfigMap's script in the pinned node image with the pin in its environment, no token", () => {
    const job = one(objects, "Job");
    const c = fetchContainer(job);
    expect(c.image).toBe(DEFAULT_NODE_IMAGE);
    expect(c.command).toEqual(["node", "/fetch/download-job.mjs"]);
    expect(envOf(job)).toEqual({
      HOME: "/tmp",
      MODELFLEET_FILES: "/*.json,/*.safetensors",
      MODELFLEET_FILES_OPTIONAL: "/*.txt,/*.model,/*.tiktoken,/*.jinja,/*.py",
      MODELFLEET_REPO: "Qwen/Qwen3-0.6B",
      MODELFLEET_REVISION: SHA,
      MODELFLEET_TARGET: "/models",
    });
    expect(c.volumeMounts).toEqual([
      { mountPath: "/models", name: "models" },
      { mountPath: "/fetch", name: "script", readOnly: true },
      { mountPath: "/tmp", name: "tmp" },
    ]);
    expect(job.spec.template.spec.volumes[0]).toEqual({ name: "models", persistentVolumeClaim: { claimName: "qwen3-staging-models" } });
  });

  it("one ConfigMap per stack carries models/download-job.mjs byte for byte, and every Job mounts it", () => {
    const scripts = buildStoreScriptObjects(config);
    expect(scripts.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([`ConfigMap/${FETCH_SCRIPT_CONFIG_MAP}`]);
    expect((scripts[0] as Json).data).toEqual({ "download-job.mjs": SCRIPT });
    expect(one(objects, "Job").spec.template.spec.volumes).toContainEqual({ name: "script", configMap: { name: FETCH_SCRIPT_CONFIG_MAP, defaultMode: 0o444 } });
    expect(objects.filter((o) => o.kind === "ConfigMap").map((o) => o.metadata.name)).toEqual(["qwen3-staging-settings"]);
    // No Job, no script: a stack whose models all download at start (or read their own claim).
    expect(buildStoreScriptObjects(stack("development", { modelStore: { mode: "off" }, models: [vllmModel({ replicas: 1 })] }))).toEqual([]);
  });

  it("restricted pod, own ServiceAccount without a token, writable claim via fsGroup, bounded retries and deadline", () => {
    const job = one(objects, "Job");
    const pod = job.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } });
    expect(fetchContainer(job).securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(pod.serviceAccountName).toBe("qwen3-staging-fetch");
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(one(objects, "ServiceAccount", "qwen3-staging-fetch").automountServiceAccountToken).toBe(false);
    expect(pod.restartPolicy).toBe("Never");
    expect(job.spec.backoffLimit).toBe(4);
    // 30 minutes plus the 4 GiB claim at 20 MiB/s, rounded up to a minute.
    expect(job.spec.activeDeadlineSeconds).toBe(2040);
    expect(job.spec.ttlSecondsAfterFinished).toBeUndefined();
    expect(job.spec.podFailurePolicy.rules).toEqual([{ action: "FailJob", onExitCodes: { containerName: "fetch", operator: "In", values: [2] } }]);
    expect(fetchContainer(job).resources).toEqual({ limits: { cpu: "2", memory: "1Gi" }, requests: { cpu: "500m", memory: "256Mi" } });
  });

  it("a bigger model gets a longer deadline (the engine's startup budget counts loading only)", () => {
    const big = jobOf(stack("staging", { models: [vllmModel({ sizeBillions: 70, gpus: 4, vllm: { tensorParallelSize: 4 } })] }));
    expect(big.spec.activeDeadlineSeconds).toBeGreaterThan(jobOf(config).spec.activeDeadlineSeconds);
  });

  it("the Job's pods never carry the engine's selector, so no Service or PDB picks them up", () => {
    const labels = one(objects, "Job").spec.template.metadata.labels;
    const selector = one(objects, "Service").spec.selector as Record<string, string>;
    expect(Object.entries(selector).every(([k, v]) => labels[k] === v)).toBe(false);
    expect(labels["app.kubernetes.io/component"]).toBe("model-fetch");
  });

  it("an hfToken reaches the Job from the credentials Secret; the engine reads the store and gets none", () => {
    const withToken = stack("staging", { hfToken: { secure: "v1:abc" } });
    const objs = objectsOf(withToken);
    expect(envOf(one(objs, "Job"))["HF_TOKEN"]).toEqual({ secretKeyRef: { key: "hf-token", name: "qwen3-staging-credentials" } });
    expect(engine(objs).env.map((e: Json) => e.name)).not.toContain("HF_TOKEN");
  });

  it("engines mount the claim read-only at /models and start offline from the revision's folder", () => {
    const c = engine(objects);
    expect(c.args[0]).toBe(storeDir("Qwen/Qwen3-0.6B"));
    expect(c.args).not.toContain("--revision");
    expect(c.env).toEqual(expect.arrayContaining([{ name: "HF_HUB_OFFLINE", value: "1" }, { name: "TRANSFORMERS_OFFLINE", value: "1" }]));
    expect(c.volumeMounts).toContainEqual({ mountPath: "/models", name: "models", readOnly: true });
    expect(deployment(objects).spec.template.spec.volumes).toContainEqual({ name: "models", persistentVolumeClaim: { claimName: "qwen3-staging-models", readOnly: true } });
    expect(deployment(objects).metadata.annotations).toMatchObject({
      "modelfleet.dev/model-delivery": "store",
      "modelfleet.dev/model-source": `huggingFace:Qwen/Qwen3-0.6B@${SHA}`,
    });
  });

  it("llama.cpp: the GGUF file from the store, --offline, exactly that file fetched", () => {
    const objs = objectsOf(config, 1);
    const args: string[] = engine(objs).args;
    expect(args[args.indexOf("--model") + 1]).toBe(`${storeDir("Qwen/Qwen3-0.6B-GGUF")}/Qwen3-0.6B-Q8_0.gguf`);
    expect(args).toContain("--offline");
    expect(args).not.toContain("--model-url");
    expect(envOf(one(objs, "Job"))).toMatchObject({ MODELFLEET_FILES: "Qwen3-0.6B-Q8_0.gguf", MODELFLEET_REPO: "Qwen/Qwen3-0.6B-GGUF" });
    expect(validateObjects(objs)).toEqual([]);
  });

  it("vLLM GGUF: the file inside the folder", () => {
    const gguf = vllmModel({ source: { huggingFace: "Qwen/Qwen3-0.6B-GGUF", revision: SHA, file: "Qwen3-0.6B-Q8_0.gguf" }, vllm: { quantization: "gguf" } });
    expect(engine(objectsOf(stack("staging", { models: [gguf] }))).args[0]).toBe(`${storeDir("Qwen/Qwen3-0.6B-GGUF")}/Qwen3-0.6B-Q8_0.gguf`);
  });

  it("a speculative draft gets its own Job into the same claim and is read from its folder", () => {
    const objs = objectsOf(stack("staging", { models: [vllmModel({ vllm: { speculative: DRAFT } })] }));
    const jobs = all(objs, "Job");
    expect(jobs.map((j) => j.metadata.name)).toEqual([expect.stringMatching(/^qwen3-staging-fetch-[0-9a-f]{8}$/), expect.stringMatching(/^qwen3-staging-fetch-draft-[0-9a-f]{8}$/)]);
    expect(envOf(jobs[1]!)).toMatchObject({ MODELFLEET_REPO: "Org/Draft-0.1B", MODELFLEET_REVISION: OTHER_SHA, MODELFLEET_FILES: "/*.json,/*.safetensors" });
    expect(jobs[1]!.spec.template.spec.volumes[0].persistentVolumeClaim.claimName).toBe("qwen3-staging-models");
    const args: string[] = engine(objs).args;
    expect(JSON.parse(args[args.indexOf("--speculative-config") + 1]!)).toEqual({ method: "eagle", model: storeDir("Org/Draft-0.1B", OTHER_SHA), num_speculative_tokens: 3 });
    expect(validateObjects(objs)).toEqual([]);
  });
});

describe("Job names follow the pin", () => {
  const nameOf = (model: Record<string, unknown>, overrides: Record<string, unknown> = {}) => jobOf(stack("staging", { models: [model], ...overrides })).metadata.name as string;
  const base = nameOf(vllmModel());

  it.each([
    ["the revision", vllmModel({ source: { huggingFace: "Qwen/Qwen3-0.6B", revision: OTHER_SHA } })],
    ["the repository", vllmModel({ source: { huggingFace: "Qwen/Qwen3-1.7B", revision: SHA } })],
    ["the file selection", vllmModel({ source: { huggingFace: "Qwen/Qwen3-0.6B", revision: SHA, files: ["*.json", "*.safetensors"] } })],
    ["an oci pin", ociModel()],
  ])("a new Job when %s changes", (_what, model) => {
    expect(nameOf(model)).not.toBe(base);
  });

  it.each([
    ["replicas", vllmModel({ replicas: 3 }), { gpu: { pool: { nodes: 2, gpusPerNode: 4 } } }],
    ["engine settings", vllmModel({ vllm: { maxModelLen: 4096, enforceEager: true } }), {}],
    ["resources and budgets", vllmModel({ resources: { memoryGiB: 24 }, startupBudgetSeconds: 1200 }), {}],
  ])("the same Job when only %s change", (_what, model, overrides) => {
    expect(nameOf(model, overrides)).toBe(base);
  });

  it("is deterministic, and a long service name is shortened to fit the 63-character job-name label", () => {
    expect(JSON.stringify(objectsOf(stack("staging")))).toBe(JSON.stringify(objectsOf(stack("staging"))));
    const long = fetchJobName(`${"m".repeat(52)}-production`, "0123abcd", true);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^m+-fetch-draft-0123abcd$/);
    expect(fetchJobName("qwen3-staging", "0123abcd")).toBe("qwen3-staging-fetch-0123abcd");
  });
});

describe("shared store", () => {
  const config = stack("staging", { modelStore: { mode: "shared", storageClassName: "cephfs" } });

  it("one RWX claim for the stack, emitted once; models bring only their Jobs and read the shared claim", () => {
    const shared = buildSharedStoreObjects(config);
    expect(shared).toHaveLength(1);
    expect(shared[0]).toMatchObject({
      kind: "PersistentVolumeClaim",
      metadata: { name: "modelfleet-models-staging", namespace: "llm-staging", annotations: { "argocd.argoproj.io/sync-wave": "-1" } },
      spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "7Gi" } }, storageClassName: "cephfs" },
    });
    for (const index of [0, 1]) {
      const objs = objectsOf(config, index);
      expect(all(objs, "PersistentVolumeClaim")).toEqual([]);
      expect(one(objs, "Job").spec.template.spec.volumes[0]).toEqual({ name: "models", persistentVolumeClaim: { claimName: "modelfleet-models-staging" } });
      expect(deployment(objs).spec.template.spec.volumes).toContainEqual({ name: "models", persistentVolumeClaim: { claimName: "modelfleet-models-staging", readOnly: true } });
      expect(validateObjects([...shared, ...objs])).toEqual([]);
    }
  });

  it("a per-model stack has no shared claim", () => {
    expect(buildSharedStoreObjects(stack("staging"))).toEqual([]);
  });
});

describe("oci artifacts", () => {
  it("before Kubernetes 1.35 the Job pulls the artifact; the engine reads the store as for the Hub", () => {
    const config = stack("production", { hfToken: { secure: "v1:abc" }, models: [ociModel()] });
    const objs = objectsOf(config);
    const env = envOf(one(objs, "Job"));
    expect(env["MODELFLEET_OCI"]).toBe(OCI);
    // The artifact carries the bytes: no Hub token, and never plain http in production.
    expect(env["HF_TOKEN"]).toBeUndefined();
    expect(env["MODELFLEET_OCI_INSECURE"]).toBeUndefined();
    expect(engine(objs).args[0]).toBe(storeDir("Qwen/Qwen3-0.6B"));
    expect(deployment(objs).metadata.annotations["modelfleet.dev/model-source"]).toBe(`oci:${OCI}`);
    expect(validateObjects(objs)).toEqual([]);
  });

  it("from 1.35 the artifact is an image volume at the model's folder: no claim, no Job, the same engine arguments", () => {
    const config = stack("production", { kubernetesVersion: "1.35", models: [ociModel()] });
    const objs = objectsOf(config);
    expect(all(objs, "Job")).toEqual([]);
    expect(all(objs, "PersistentVolumeClaim")).toEqual([]);
    const pod = deployment(objs).spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: "model-image", image: { pullPolicy: "IfNotPresent", reference: OCI } });
    expect(pod.volumes.find((v: Json) => v.name === "models")).toBeUndefined();
    const c = engine(objs);
    expect(c.volumeMounts).toContainEqual({ mountPath: storeDir("Qwen/Qwen3-0.6B"), name: "model-image", readOnly: true });
    expect(c.args[0]).toBe(storeDir("Qwen/Qwen3-0.6B"));
    expect(c.env).toContainEqual({ name: "HF_HUB_OFFLINE", value: "1" });
    expect(deployment(objs).metadata.annotations).toMatchObject({ "modelfleet.dev/model-delivery": "imageVolume", "modelfleet.dev/model-source": `oci:${OCI}` });
    expect(validateObjects(objs)).toEqual([]);
  });

  it("the schema check sees the image volume: a broken one is reported", () => {
    const objs = objectsOf(stack("production", { kubernetesVersion: "1.35", models: [ociModel()] }));
    const broken = structuredClone(objs) as Json[];
    const volume = deployment(broken as K8sObject[]).spec.template.spec.volumes.find((v: Json) => v.name === "model-image");
    volume.image = { reference: 42 };
    expect(validateObjects(broken as K8sObject[]).map((p) => p.message).join("\n")).toMatch(/image\.reference/);
  });
});

describe("offline stacks", () => {
  it("a Hugging Face model comes from the bundle: the Job only verifies (MODELFLEET_OFFLINE=1), from the site's node image", () => {
    const config = stack("staging", { offline: { registry: "registry.local:5000" } });
    const objs = objectsOf(config);
    const job = one(objs, "Job");
    const env = envOf(job);
    expect(env["MODELFLEET_OFFLINE"]).toBe("1");
    expect(env["MODELFLEET_OCI"]).toBeUndefined();
    expect(env["HF_TOKEN"]).toBeUndefined();
    expect(fetchContainer(job).image).toBe(`registry.local:5000/library/node@${DEFAULT_NODE_IMAGE.split("@")[1]}`);
    expect(deployment(objs).metadata.labels["modelfleet.dev/offline"]).toBe("true");
    expect(validateObjects(objs)).toEqual([]);
  });

  it("an oci-pinned model is pulled from the site registry's mirror", () => {
    const objs = objectsOf(stack("staging", { offline: { registry: "registry.local:5000" }, models: [ociModel()] }));
    expect(envOf(one(objs, "Job"))["MODELFLEET_OCI"]).toBe(`registry.local:5000/models/qwen3@sha256:${"b".repeat(64)}`);
  });

  it("online stacks carry no offline label", () => {
    expect(deployment(objectsOf(stack("staging"))).metadata.labels["modelfleet.dev/offline"]).toBeUndefined();
  });
});

describe("modelStore off and pvc sources keep their old behaviour", () => {
  it("off: no store objects, the engine downloads at start", () => {
    const objs = objectsOf(stack("development", { modelStore: { mode: "off" } }));
    expect(objs.map((o) => o.kind)).toEqual(["ServiceAccount", "ConfigMap", "Deployment", "Service", "NetworkPolicy"]);
    expect(engine(objs).args[0]).toBe("Qwen/Qwen3-0.6B");
    expect(deployment(objs).metadata.annotations["modelfleet.dev/model-delivery"]).toBe("download");
  });

  it("pvc: the user's claim, annotated as such", () => {
    const objs = objectsOf(stack("staging", { models: [llamaModel({ source: { pvc: "weights", path: "q.gguf" } })] }));
    expect(all(objs, "Job")).toEqual([]);
    expect(deployment(objs).metadata.annotations).toMatchObject({ "modelfleet.dev/model-delivery": "pvc", "modelfleet.dev/model-source": "pvc:weights/q.gguf" });
  });
});

describe("autoscaled replicas", () => {
  const autoscaled = vllmModel({ replicas: undefined, autoscaling: { minReplicas: 2, maxReplicas: 4, targetQueueDepth: 4 } });
  const config = stack("production", { gpu: { pool: { nodes: 1, gpusPerNode: 8 } }, models: [autoscaled] });

  it("synthesized YAML leaves spec.replicas to the autoscaler; Pulumi's object starts at minReplicas", () => {
    const yaml = deployment(objectsOf(config));
    expect("replicas" in yaml.spec).toBe(false);
    expect(validateObjects(objectsOf(config))).toEqual([]);
    expect(deployment(objectsOf(config, 0, "pulumi")).spec.replicas).toBe(2);
  });

  it("a fixed model keeps its replicas in both outputs", () => {
    expect(deployment(objectsOf(stack("production"))).spec.replicas).toBe(2);
    expect(deployment(objectsOf(stack("production"), 0, "pulumi")).spec.replicas).toBe(2);
  });
});

describe("the Job's script, run for real as the Job runs it", () => {
  const work = mkdtempSync(join(tmpdir(), "modelfleet-store-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** Runs the ConfigMap's script with the Job's environment, the claim being `root`. */
  async function runJob(job: Json, configMap: Json, root: string) {
    const script = join(work, "download-job.mjs");
    writeFileSync(script, configMap.data["download-job.mjs"]);
    const env = { ...(envOf(job) as Record<string, string>), MODELFLEET_TARGET: root, HOME: work };
    return execa("node", [script], { env, extendEnv: false, reject: false });
  }

  it("offline verify mode: exits 0 on a complete copy, 1 naming `bundle load` when the copy is missing or damaged", async () => {
    const offline = stack("staging", { offline: { registry: "registry.local:5000" } });
    const objs = objectsOf(offline);
    const job = one(objs, "Job");
    const configMap = buildStoreScriptObjects(offline)[0] as Json;
    const root = join(work, "claim");
    const dir = modelDir(root, "Qwen/Qwen3-0.6B", SHA);

    const missing = await runJob(job, configMap, root);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("bundle load");

    // What `bundle load` leaves: the files the Job's selection names, and their manifest.
    mkdirSync(dir, { recursive: true });
    const files = { "config.json": Buffer.from('{"architectures":["Qwen3ForCausalLM"]}\n'), "model.safetensors": Buffer.from("weights") };
    for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
    const listed = Object.entries(files).map(([path, content]) => ({ path, bytes: content.length, sha256: createHash("sha256").update(content).digest("hex") }));
    writeFileSync(join(dir, MANIFEST_FILE), serializeManifest({ schema: MANIFEST_SCHEMA, repo: "Qwen/Qwen3-0.6B", revision: SHA, files: listed }));
    const complete = await runJob(job, configMap, root);
    expect(complete.stderr).toBe("");
    expect(complete.exitCode).toBe(0);

    writeFileSync(join(dir, "config.json"), "{}\n");
    const damaged = await runJob(job, configMap, root);
    expect(damaged.exitCode).toBe(1);
    expect(damaged.stderr).toContain("config.json");
  });
});
