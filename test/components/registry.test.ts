import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REGISTRY_HEALTH_LABELS } from "../../components/shared/labels.js";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { REGISTRY_JOB_LABELS, REGISTRY_SECRET_NAME } from "../../components/registry/names.js";
import { buildRegistrationObjects, buildRegistryObjects } from "../../components/registry/objects.js";
import { parseStackConfig } from "../../stacks/config/load.js";
import type { StackConfig } from "../../stacks/config/types.js";
import { validateObjects } from "../../synth/validate.js";
import { PG_BIN } from "../helpers/postgres.js";
import { DIGEST, stackValues } from "../helpers/stack-values.js";
import { desired, snapshotEntries, useRegistryDatabase } from "../registry/support.js";
import { reconcile } from "../../registry/reconcile.js";

type Json = Record<string, any>;

function stack(env: "development" | "staging" | "production", overrides: Record<string, unknown> = {}): StackConfig {
  return parseStackConfig(stackValues(env, overrides), `Pulumi.${env}.yaml`, env);
}

const byKind = (objects: readonly K8sObject[], kind: string): Json[] => objects.filter((o) => o.kind === kind) as Json[];
const configData = (objects: readonly K8sObject[], name: string): Record<string, string> => {
  const map = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === name) as Json | undefined;
  if (!map) throw new Error(`no ConfigMap ${name}`);
  return map.data;
};

describe("registry builders", () => {
  it("in-cluster: database, migration, registration and health objects, all schema-valid, no Secret", () => {
    const objects = buildRegistryObjects(stack("staging"), stack("staging").models);
    expect(objects.map((o) => o.kind)).toEqual(["StatefulSet", "Service", "Service", "NetworkPolicy", "ConfigMap", "Job", "ConfigMap", "Job", "CronJob"]);
    expect(validateObjects(objects)).toEqual([]);
    expect(JSON.stringify(objects)).toContain(`postgres:16-alpine@${DIGEST}`);
    const set = byKind(objects, "StatefulSet")[0]!;
    expect(set.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe("10Gi");
    expect(set.spec.template.spec.containers[0].securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    expect(set.spec.template.spec.containers[0].readinessProbe.exec.command[0]).toBe("pg_isready");
    expect(set.spec.template.spec.containers[0].env).toContainEqual({ name: "POSTGRES_PASSWORD", valueFrom: { secretKeyRef: { name: REGISTRY_SECRET_NAME, key: "password" } } });
  });

  it("external mode has no database objects", () => {
    const config = stack("staging", { registry: { mode: "external", url: { secure: "v1:x" } } });
    expect(buildRegistryObjects(config, config.models).map((o) => o.kind)).toEqual(["ConfigMap", "Job", "ConfigMap", "Job", "CronJob"]);
  });

  it("the database admits only the router, the registry Jobs and the health checker", () => {
    const policy = byKind(buildRegistryObjects(stack("production", { router: { namespace: "gateway", podLabels: { app: "router" } } }), []), "NetworkPolicy")[0]!;
    expect(policy.spec.ingress[0].from.map((peer: Json) => [peer.namespaceSelector.matchLabels["kubernetes.io/metadata.name"], peer.podSelector.matchLabels])).toEqual([
      ["gateway", { app: "router" }],
      ["llm-production", REGISTRY_JOB_LABELS],
      ["llm-production", REGISTRY_HEALTH_LABELS],
    ]);
  });

  it("the health checker's pods carry the labels the engines' NetworkPolicies admit", () => {
    const cron = byKind(buildRegistryObjects(stack("production"), []), "CronJob")[0]!;
    expect(cron.spec.schedule).toBe("* * * * *");
    expect(cron.spec.concurrencyPolicy).toBe("Forbid");
    expect(cron.spec.jobTemplate.spec.template.metadata.labels).toMatchObject(REGISTRY_HEALTH_LABELS);
  });

  it("the registration Job is named by its SQL: same models, same Job; changed models, new Job", () => {
    const config = stack("staging");
    const name = (models: StackConfig["models"]) => byKind(buildRegistrationObjects(config, models), "Job")[0]!.metadata.name;
    expect(name(config.models)).toBe(name(config.models));
    expect(name(config.models)).not.toBe(name(config.models.slice(1)));
    expect(name(config.models)).toMatch(/^modelfleet-registry-register-[0-9a-f]{8}$/);
  });
});

describe("the Jobs' scripts against a real PostgreSQL", () => {
  const ctx = useRegistryDatabase();
  const scripts = mkdtempSync(join(tmpdir(), "modelfleet-registry-scripts-"));
  const env = { PATH: `${PG_BIN}:${process.env["PATH"] ?? ""}`, MODELFLEET_SCRIPTS: scripts };
  let healthy: Server;
  let failing: Server;
  const listen = (status: number): Promise<Server> =>
    new Promise((resolve) => {
      const server = createServer((req, res) => {
        res.statusCode = req.url === "/health" ? status : 404;
        res.end();
      });
      server.listen(0, "127.0.0.1", () => resolve(server));
    });
  const endpointOf = (server: Server) => `127.0.0.1:${(server.address() as AddressInfo).port}`;

  beforeAll(async () => {
    [healthy, failing] = await Promise.all([listen(200), listen(503)]);
    const config = stack("staging");
    const objects = buildRegistryObjects(config, config.models);
    for (const [file, text] of Object.entries(configData(objects, "modelfleet-registry-scripts"))) writeFileSync(join(scripts, file), text);
    const registration = byKind(objects, "ConfigMap").find((c) => c.metadata.name.startsWith("modelfleet-registry-register-"))!;
    writeFileSync(join(scripts, "reconcile.sql"), registration.data["reconcile.sql"]);
  });
  afterAll(() => {
    healthy?.close();
    failing?.close();
  });

  const psqlFile = (url: string, file: string) => execa("psql", ["-X", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", join(scripts, file)], { env, reject: false });

  it("migrate.sql creates the schema once; running it again changes nothing", async () => {
    const { db, client } = await ctx.emptyDb();
    const first = await psqlFile(db.url, "migrate.sql");
    expect(first.exitCode, first.stderr).toBe(0);
    const again = await psqlFile(db.url, "migrate.sql");
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain("already applied");
    const { rows } = await client.query("SELECT count(*)::int AS n FROM pgmigrations");
    expect(rows[0].n).toBe(1);
    expect((await client.query("SELECT to_regclass('model_registry_entries') IS NOT NULL AS ok")).rows[0].ok).toBe(true);
  });

  it("the registration SQL registers the stack's models as ready, and disables a model that left", async () => {
    const { db, client } = await ctx.migratedDb();
    await reconcile(client, [desired("retired", "staging", { namespace: "llm-staging" })], "staging");
    const run = await psqlFile(db.url, "reconcile.sql");
    expect(run.exitCode, run.stderr).toBe(0);
    const rows = await snapshotEntries(client);
    expect(rows.map((r) => [r["model_name"], r["deployment_status"]])).toEqual([
      ["gguf", "ready"],
      ["qwen3", "ready"],
      ["retired", "disabled"],
    ]);
    expect(rows[1]).toMatchObject({ deployment_endpoint: "qwen3-staging.llm-staging.svc.cluster.local:8000", image_digest: DIGEST, deployment_namespace: "llm-staging" });
  });

  it("health.sh records ready for a 200 and degraded for a 503, with a fresh timestamp", async () => {
    const { db, client } = await ctx.migratedDb();
    await reconcile(client, [desired("up", "staging", { endpoint: endpointOf(healthy) }), desired("down", "staging", { endpoint: endpointOf(failing) })], "staging");
    await client.query("UPDATE model_registry_entries SET last_health_check_at = now() - interval '1 hour'");
    const run = await execa("sh", [join(scripts, "health.sh")], { env: { ...env, MODELFLEET_DB_URL: db.url, MODELFLEET_ENVIRONMENT: "staging" }, reject: false });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain("down (staging): ready -> degraded");
    const { rows } = await client.query("SELECT model_name, deployment_status, last_health_check_at > now() - interval '1 minute' AS fresh FROM model_registry_entries ORDER BY model_name");
    expect(rows).toEqual([
      { model_name: "down", deployment_status: "degraded", fresh: true },
      { model_name: "up", deployment_status: "ready", fresh: true },
    ]);
  });
});
