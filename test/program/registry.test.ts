/**
 * The RegistryDatabase component under Pulumi's mocks, through the real program (`defineStack`) for each stack: what
 * it registers, that the password is a Pulumi secret from RandomPassword, the order Pulumi creates things in (read
 * from the engine's RegisterResource requests: dependsOn and input dependencies), and that it applies exactly what
 * synth writes.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { buildRegistryObjects } from "../../components/registry/objects.js";
import { RegistryDatabase } from "../../components/registry/registry-database.js";
import { GENERATED_PASSWORD, installMocks, resolve, runProgram, SECRET_SIG, type ProgramRun, type RegisteredResource } from "../helpers/pulumi-program.js";
import { parseStackConfig } from "../../config/load.js";
import { operatorSecrets, stackValues } from "../helpers/stack-values.js";

const K8S = "kubernetes:";
const SECRET_TYPE = `${K8S}core/v1:Secret`;
const EXTERNAL_URL = "postgres://router:db-pass-5150@db.example.com:5432/registry";

/** The registry's resources by Pulumi name, with their URNs as dependencies name them. */
function registryOf(run: ProgramRun, component = "registry") {
  const resources = run.resources.filter((r) => r.name === component || r.name.startsWith(`${component}-`));
  const byName = new Map(resources.map((r) => [r.name, r]));
  const get = (name: string): RegisteredResource => {
    const found = byName.get(name);
    if (!found) throw new Error(`no resource ${name}; have ${[...byName.keys()].join(", ")}`);
    return found;
  };
  /** The names (registry ones, or model Deployments) a resource waits for. */
  const waitsFor = (name: string): string[] => get(name).dependencies.map((urn) => urn.slice(urn.lastIndexOf("::") + 2)).sort();
  return { resources, get, waitsFor };
}

describe.each(["development", "staging", "production"] as const)("RegistryDatabase under mocks: %s (in-cluster)", (stack) => {
  let run: ProgramRun;
  let registry: ReturnType<typeof registryOf>;
  beforeAll(async () => {
    run = await runProgram(stack, operatorSecrets(stack));
    registry = registryOf(run);
  });

  it("registers the component and, parented on it, the password, the Secret and every registry object", () => {
    expect(registry.get("registry").type).toBe("modelfleet:registry:RegistryDatabase");
    expect(registry.resources.map((r) => `${r.name} ${r.type}`).sort()).toEqual(
      [
        "registry modelfleet:registry:RegistryDatabase",
        "registry-credentials kubernetes:core/v1:Secret",
        "registry-health-config-map kubernetes:core/v1:ConfigMap",
        "registry-health-deployment kubernetes:apps/v1:Deployment",
        "registry-health-service-account kubernetes:core/v1:ServiceAccount",
        "registry-migrate-config-map kubernetes:core/v1:ConfigMap",
        "registry-migrate-job kubernetes:batch/v1:Job",
        "registry-migrate-service-account kubernetes:core/v1:ServiceAccount",
        "registry-network-policy kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "registry-password random:index/randomPassword:RandomPassword",
        "registry-register-config-map kubernetes:core/v1:ConfigMap",
        "registry-register-job kubernetes:batch/v1:Job",
        "registry-register-service-account kubernetes:core/v1:ServiceAccount",
        "registry-service-account kubernetes:core/v1:ServiceAccount",
        "registry-service-modelfleet-registry kubernetes:core/v1:Service",
        "registry-service-modelfleet-registry-headless kubernetes:core/v1:Service",
        "registry-stateful-set kubernetes:apps/v1:StatefulSet",
      ].sort(),
    );
    for (const r of registry.resources.filter((r) => r.name !== "registry")) {
      expect(r.parent, r.name).toMatch(/::modelfleet:registry:RegistryDatabase::registry$/);
    }
  });

  it("the password is a RandomPassword (letters and digits, 32) kept as a Pulumi secret, only in the credentials Secret", () => {
    expect(registry.get("registry-password").inputs).toMatchObject({ length: 32, special: false });
    const secret = registry.get("registry-credentials");
    expect(secret.inputs["metadata"]).toMatchObject({ name: "modelfleet-registry-credentials", namespace: run.config.namespace });
    expect(secret.inputs["stringData"][SECRET_SIG]).toBeDefined();
    expect(secret.inputs["stringData"].value).toEqual({
      password: GENERATED_PASSWORD,
      url: `postgres://modelfleet:${GENERATED_PASSWORD}@modelfleet-registry.${run.config.namespace}.svc.cluster.local:5432/modelfleet`,
    });
    expect(registry.waitsFor("registry-credentials")).toContain("registry-password");
    const elsewhere = run.resources.filter((r) => r !== secret && !r.type.startsWith("random:") && r.type !== SECRET_TYPE);
    expect(JSON.stringify(elsewhere)).not.toContain(GENERATED_PASSWORD);
  });

  it("the database waits for the namespace and the Secret; the migration for the database and its script", () => {
    const namespace = `${run.config.namespace}-namespace`;
    for (const name of ["registry-stateful-set", "registry-service-modelfleet-registry", "registry-network-policy"]) {
      expect(registry.waitsFor(name)).toEqual(expect.arrayContaining([namespace, "registry-credentials"]));
    }
    expect(registry.waitsFor("registry-migrate-job")).toEqual(
      expect.arrayContaining([
        "registry-credentials",
        "registry-stateful-set",
        "registry-service-modelfleet-registry",
        "registry-service-modelfleet-registry-headless",
        "registry-network-policy",
        "registry-migrate-config-map",
      ]),
    );
  });

  it("registration waits for every model's Deployment, the migration and its script; nothing else waits for the models", () => {
    const deployments = run.config.models.map((m) => `${m.name}-deployment`);
    expect(deployments.length).toBeGreaterThan(0);
    for (const d of deployments) expect(run.modelUrns.has(d), d).toBe(true);
    expect(registry.waitsFor("registry-register-job")).toEqual(expect.arrayContaining([...deployments, "registry-migrate-job", "registry-register-config-map", "registry-register-service-account"]));
    for (const r of registry.resources.filter((r) => r.name !== "registry-register-job")) {
      for (const d of deployments) expect(registry.waitsFor(r.name), r.name).not.toContain(d);
    }
  });

  it("the health checker starts after the migration, with its scripts", () => {
    expect(registry.waitsFor("registry-health-deployment")).toEqual(expect.arrayContaining(["registry-migrate-job", "registry-health-config-map"]));
  });

  it("applies exactly the objects synth writes (no drift between `pulumi up` and GitOps)", () => {
    const applied = registry.resources.filter((r) => r.type.startsWith(K8S) && r.type !== SECRET_TYPE).map((r) => r.inputs);
    const written = buildRegistryObjects(run.config);
    const key = (o: { kind?: unknown; metadata?: { name?: unknown } }) => `${String(o.kind)}/${String(o.metadata?.name)}`;
    expect(applied.map(key).sort()).toEqual(written.map(key).sort());
    for (const object of written) {
      expect(applied.find((a) => key(a) === key(object)), key(object)).toEqual(JSON.parse(JSON.stringify(object)));
    }
  });

  it("outputs the Secret's name and the client Service's host", async () => {
    const component = run.outputs.registry;
    expect(await resolve(component.connectionSecretName)).toBe("modelfleet-registry-credentials");
    expect(await resolve(component.serviceHost)).toBe(`modelfleet-registry.${run.config.namespace}.svc.cluster.local`);
  });
});

describe("RegistryDatabase under mocks: external database", () => {
  let run: ProgramRun;
  let registry: ReturnType<typeof registryOf>;
  beforeAll(async () => {
    run = await runProgram("production", { extra: { registry: { mode: "external", url: EXTERNAL_URL } }, secretKeys: ["registry"] });
    registry = registryOf(run);
  });

  it("no server, no password: the Secret holds only the URL, as a Pulumi secret", () => {
    expect(registry.resources.map((r) => r.type.split(":").pop()).sort()).toEqual(["ConfigMap", "ConfigMap", "ConfigMap", "Deployment", "Job", "Job", "RegistryDatabase", "Secret", "ServiceAccount", "ServiceAccount", "ServiceAccount"]);
    const secret = registry.get("registry-credentials");
    expect(secret.inputs["stringData"][SECRET_SIG]).toBeDefined();
    expect(secret.inputs["stringData"].value).toEqual({ url: EXTERNAL_URL });
    expect(JSON.stringify(run.resources.filter((r) => r !== secret))).not.toContain("db-pass-5150");
  });

  it("the migration waits for the Secret; registration still waits for every model", () => {
    expect(registry.waitsFor("registry-migrate-job")).toEqual(expect.arrayContaining(["registry-credentials", "registry-migrate-config-map"]));
    expect(registry.waitsFor("registry-register-job")).toEqual(expect.arrayContaining([...run.config.models.map((m) => `${m.name}-deployment`), "registry-migrate-job"]));
  });

  it("has no service host", async () => {
    expect(await resolve(run.outputs.registry.serviceHost)).toBeUndefined();
  });
});

describe("RegistryDatabase used on its own", () => {
  it("names every child from the component's name", async () => {
    const resources = await installMocks("staging");
    const config = parseStackConfig(stackValues("staging"), "Pulumi.staging.yaml", "staging");
    new RegistryDatabase("models-db", { stack: config, models: config.models, deployments: [] });
    await pulumi.runtime.disconnect();
    const names = resources.map((r) => r.name);
    expect(names).toContain("models-db-password");
    expect(names).toContain("models-db-credentials");
    expect(names.filter((n) => n !== "models-db" && !n.startsWith("models-db-"))).toEqual([]);
  });

  it("rejects external mode without a URL", async () => {
    await installMocks("staging");
    const config = parseStackConfig(stackValues("staging", { registry: { mode: "external", url: { secure: "v1:x" } } }), "Pulumi.staging.yaml", "staging");
    expect(() => new RegistryDatabase("db", { stack: config, models: [], deployments: [] })).toThrow(
      "registry.mode is external, but no registry.url secret was passed to RegistryDatabase",
    );
    await pulumi.runtime.disconnect();
  });
});
