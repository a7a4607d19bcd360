import { describe, expect, it } from "vitest";
import { findSecretLikeValues } from "../helpers/secret-scan.js";
import { GENERATED_PASSWORD, runProgram, SECRET_SIG, type ProgramRun } from "../helpers/pulumi-program.js";
import { operatorSecrets } from "../helpers/stack-values.js";

const K8S = "kubernetes:";
const isRegistry = (name: string) => name.startsWith("registry-") || name === "registry";
const isMonitoring = (name: string) => name.startsWith("monitoring-");
/** Resources of `type` outside the registry and monitoring (counted on their own below). */
const count = (run: ProgramRun, type: string) => run.resources.filter((r) => r.type === type && !isRegistry(r.name) && !isMonitoring(r.name)).length;
const HF_TOKEN = "hf_modelfleetTestToken0123456789abcd";

describe.each([
  // stack, models (vllm, llamacpp), PDBs, ServiceMonitors, default-deny, Secrets, ScaledObjects, pools (+ routes)
  ["development", 1, 1, 0, 0, 0, 0, 0, 0],
  ["staging", 2, 1, 1, 3, 1, 3, 1, 3],
  ["production", 2, 0, 2, 2, 1, 2, 1, 2],
] as const)("the program under mocks: %s", (stack, vllm, llamacpp, pdbs, monitors, defaultDeny, secrets, scaled, pools) => {
  let run: ProgramRun;
  const models = vllm + llamacpp;

  it("registers the components and every object as its own typed resource", async () => {
    run = await runProgram(stack, operatorSecrets(stack));
    expect(count(run, "modelfleet:inference:VllmModel")).toBe(vllm);
    expect(count(run, "modelfleet:inference:LlamaCppModel")).toBe(llamacpp);
    // Each pool has its endpoint picker: a Deployment, Service, config, NetworkPolicy, Role and binding of its own.
    expect(count(run, `${K8S}apps/v1:Deployment`)).toBe(models + pools);
    expect(count(run, `${K8S}core/v1:Service`)).toBe(models + pools);
    expect(count(run, `${K8S}rbac.authorization.k8s.io/v1:Role`)).toBe(pools);
    expect(count(run, `${K8S}rbac.authorization.k8s.io/v1:RoleBinding`)).toBe(pools);
    // The engines' settings, the stack's one download script and the pickers' configs; the store's claim and Job.
    expect(count(run, `${K8S}core/v1:ConfigMap`)).toBe(models + 1 + pools);
    expect(count(run, `${K8S}core/v1:PersistentVolumeClaim`)).toBe(models);
    expect(count(run, `${K8S}batch/v1:Job`)).toBe(models);
    expect(count(run, `${K8S}keda.sh/v1alpha1:ScaledObject`)).toBe(scaled);
    expect(count(run, `${K8S}inference.networking.k8s.io/v1:InferencePool`)).toBe(pools);
    expect(count(run, `${K8S}gateway.networking.k8s.io/v1:HTTPRoute`)).toBe(pools);
    expect(count(run, `${K8S}networking.k8s.io/v1:NetworkPolicy`)).toBe(models + pools + defaultDeny);
    expect(count(run, `${K8S}policy/v1:PodDisruptionBudget`)).toBe(pdbs);
    // One per engine, and one per endpoint picker where the environment monitors
    expect(count(run, `${K8S}monitoring.coreos.com/v1:ServiceMonitor`)).toBe(monitors + (monitors > 0 ? pools : 0));
    expect(count(run, `${K8S}core/v1:Secret`)).toBe(secrets);
    expect(count(run, `${K8S}core/v1:Namespace`)).toBe(1);
  });

  it("registers the alerts and the dashboard where the environment monitors", () => {
    const monitoring = run.resources.filter((r) => isMonitoring(r.name)).map((r) => r.type).sort();
    expect(monitoring).toEqual(monitors > 0 ? [`${K8S}core/v1:ConfigMap`, `${K8S}monitoring.coreos.com/v1:PrometheusRule`] : []);
  });

  it("adds the registry database: in-cluster server, migration and registration Jobs, health checker Deployment, each with its script ConfigMap", () => {
    const registry = run.resources.filter((r) => isRegistry(r.name));
    expect(registry.map((r) => r.type.split(":").pop()).sort()).toEqual(
      ["RegistryDatabase", "RandomPassword", "Secret", "StatefulSet", "Service", "Service", "NetworkPolicy", "ConfigMap", "Job", "ConfigMap", "Job", "ConfigMap", "Deployment", "ServiceAccount", "ServiceAccount", "ServiceAccount", "ServiceAccount"].sort(),
    );
    const secret = registry.find((r) => r.type === `${K8S}core/v1:Secret`)!;
    expect(secret.inputs["stringData"][SECRET_SIG]).toBeDefined();
    expect(secret.inputs["stringData"].value).toEqual({
      password: GENERATED_PASSWORD,
      url: `postgres://modelfleet:${GENERATED_PASSWORD}@modelfleet-registry.${run.config.namespace}.svc.cluster.local:5432/modelfleet`,
    });
  });

  it("registration waits for every model's Deployment and the migration; everything is parented on RegistryDatabase", () => {
    const job = run.resources.find((r) => r.name.startsWith("registry-register-") && r.type === `${K8S}batch/v1:Job`)!;
    for (const model of run.config.models) {
      expect(job.dependencies).toContain(run.modelUrns.get(`${model.name}-deployment`));
    }
    expect(job.dependencies.some((urn) => /::registry-migrate-job$/.test(urn))).toBe(true);
    for (const r of run.resources.filter((r) => r.name.startsWith("registry-"))) {
      expect(r.parent, r.name).toMatch(/::modelfleet:registry:RegistryDatabase::registry$/);
    }
  });

  it("exports endpoints {model}-{environment}.{namespace}.svc.cluster.local:8000", () => {
    expect(Object.keys(run.outputs.endpoints).sort()).toEqual(run.config.models.map((m) => m.name).sort());
    for (const model of run.config.models) {
      expect(run.outputs.endpoints[model.name]).toBe(`${model.name}-${stack}.${run.config.namespace}.svc.cluster.local:8000`);
    }
  });

  it("Secret values come only from Pulumi secrets; no literal secret in any other input", () => {
    for (const secret of run.resources.filter((r) => r.type === `${K8S}core/v1:Secret`)) {
      // A Pulumi secret reaches the provider wrapped in the secret signature.
      expect(secret.inputs["stringData"][SECRET_SIG]).toBeDefined();
      if (!isRegistry(secret.name)) expect(secret.inputs["stringData"].value["api-key"]).toBe(GENERATED_PASSWORD);
    }
    const others = run.resources.filter((r) => r.type !== `${K8S}core/v1:Secret` && !r.type.startsWith("random:"));
    expect(JSON.stringify(others)).not.toContain(GENERATED_PASSWORD);
    expect(findSecretLikeValues(others.map((r) => r.inputs))).toEqual([]);
  });
});

describe("secrets from config", () => {
  it("the scan used above does find literal secrets", () => {
    expect(findSecretLikeValues([{ env: [{ name: "POSTGRES_PASSWORD", value: "lstm_password" }], args: [`--token=${HF_TOKEN}`] }])).toEqual([
      "$[0].env[0]: POSTGRES_PASSWORD has a literal value",
      "$[0].args[0]: a Hugging Face token (hf_…)",
    ]);
  });

  it("staging's gated model: without the hfToken secret the Pulumi path stops, naming the command that sets it", async () => {
    await expect(runProgram("staging")).rejects.toThrow(/Missing required configuration variable 'modelfleet:hfToken'\n\tplease set a value using the command `pulumi config set --secret modelfleet:hfToken <value>`/);
  });

  it("hfToken and apiKey given as Pulumi secrets land only in the Secrets, wrapped as secrets", async () => {
    const run = await runProgram("staging", { extra: { hfToken: HF_TOKEN, apiKey: "config-api-key-0123456789" }, secretKeys: ["hfToken", "apiKey"] });
    const secrets = run.resources.filter((r) => r.type === `${K8S}core/v1:Secret` && !isRegistry(r.name));
    expect(secrets).toHaveLength(3);
    for (const s of secrets) expect(s.inputs["stringData"]).toEqual({ [SECRET_SIG]: "1b47061264138c4ac30d75fd1eb44270", value: { "api-key": "config-api-key-0123456789", "hf-token": HF_TOKEN } });
    expect(run.resources.filter((r) => r.type.startsWith("random:")).map((r) => r.name)).toEqual(["registry-password"]);
    const others = JSON.stringify(run.resources.filter((r) => r.type !== `${K8S}core/v1:Secret`));
    expect(others).not.toContain(HF_TOKEN);
    expect(others).not.toContain("config-api-key");
  });

  it("an external registry database: no server, its URL secret only in the registry Secret", async () => {
    const url = "postgres://router:db-pass-123@db.example.com:5432/registry";
    const run = await runProgram("production", { extra: { registry: { mode: "external", url } }, secretKeys: ["registry"] });
    const registry = run.resources.filter((r) => isRegistry(r.name));
    expect(registry.some((r) => r.type.endsWith("StatefulSet"))).toBe(false);
    const secret = registry.find((r) => r.type === `${K8S}core/v1:Secret`)!;
    expect(secret.inputs["stringData"]).toEqual({ [SECRET_SIG]: "1b47061264138c4ac30d75fd1eb44270", value: { url } });
    expect(JSON.stringify(run.resources.filter((r) => r !== secret))).not.toContain("db-pass-123");
  });
});
