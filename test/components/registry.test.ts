import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REGISTRY_HEALTH_LABELS } from "../../components/shared/labels.js";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { REGISTRY_JOB_LABELS, REGISTRY_SCRIPTS_NAME, REGISTRY_SECRET_NAME } from "../../components/registry/names.js";
import {
  buildDatabaseObjects,
  buildHealthObjects,
  buildMigrationObjects,
  buildRegistrationObjects,
  buildRegistryObjects,
  REGISTRATION_TTL_SECONDS,
} from "../../components/registry/objects.js";
import { HEALTH_HEARTBEAT, HEALTH_SH } from "../../components/registry/scripts.js";
import { migrationStatus } from "../../registry/migrate.js";
import { readMigrationFiles } from "../../registry/migration-files.js";
import { reconcile } from "../../registry/reconcile.js";
import { parseStackConfig } from "../../config/load.js";
import type { StackConfig } from "../../config/types.js";
import { validateObjects } from "../../synth/validate.js";
import { PG_BIN } from "../helpers/postgres.js";
import { DIGEST, stackValues } from "../helpers/stack-values.js";
import { useTempDirs } from "../helpers/temp-dir.js";
import { desired, snapshotEntries, useRegistryDatabase } from "../registry/support.js";

const tempDir = useTempDirs();

type Json = Record<string, any>;
type Env = "development" | "staging" | "production";
const ENVIRONMENTS: readonly Env[] = ["development", "staging", "production"];
const EXTERNAL = { registry: { mode: "external", url: { secure: "v1:x" } } };
const OTHER_DIGEST = `sha256:${"b".repeat(64)}`;

function stack(env: Env, overrides: Record<string, unknown> = {}): StackConfig {
  return parseStackConfig(stackValues(env, overrides), `Pulumi.${env}.yaml`, env);
}

const byKind = (objects: readonly K8sObject[], kind: string): Json[] => objects.filter((o) => o.kind === kind) as Json[];
const one = (objects: readonly K8sObject[], kind: string): Json => {
  const found = byKind(objects, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0]!;
};
/** Every pod spec in the objects (StatefulSet, Deployment and Job templates). */
const podSpecs = (objects: readonly K8sObject[]): Json[] => (objects as unknown as Json[]).flatMap((o) => (o.spec?.template?.spec ? [o.spec.template.spec] : []));

describe("registry builders", () => {
  describe.each(ENVIRONMENTS)("%s", (env) => {
    it.each([
      ["in-cluster", {}, ["ServiceAccount", "StatefulSet", "Service", "Service", "NetworkPolicy", "ServiceAccount", "ConfigMap", "Job", "ServiceAccount", "ConfigMap", "Job", "ConfigMap", "ServiceAccount", "Deployment"]],
      ["external", EXTERNAL, ["ServiceAccount", "ConfigMap", "Job", "ServiceAccount", "ConfigMap", "Job", "ConfigMap", "ServiceAccount", "Deployment"]],
    ] as const)("%s: the expected objects, schema-valid, in the stack's namespace, no Secret", (_mode, overrides, kinds) => {
      const config = stack(env, overrides);
      const objects = buildRegistryObjects(config);
      expect(objects.map((o) => o.kind)).toEqual(kinds);
      expect(validateObjects(objects)).toEqual([]);
      for (const o of objects) expect(o.metadata.namespace, o.metadata.name).toBe(config.namespace);
      // Secrets are referenced by name only, and only the credentials Secret.
      const refs = JSON.stringify(objects).match(/"secretKeyRef":\{[^}]*\}/g) ?? [];
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) expect(ref).toContain(`"name":"${REGISTRY_SECRET_NAME}"`);
    });

    it("every pod runs the pinned postgres image under the restricted Pod Security Standard", () => {
      const config = stack(env);
      const pods = podSpecs(buildRegistryObjects(config));
      expect(pods).toHaveLength(4);
      for (const pod of pods) {
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 70, seccompProfile: { type: "RuntimeDefault" } });
        expect(pod.automountServiceAccountToken).toBe(false);
        for (const c of pod.containers) {
          expect(c.image).toBe(config.images.postgres.reference);
          expect(c.securityContext).toEqual({
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
            privileged: false,
            readOnlyRootFilesystem: true,
            runAsGroup: 70,
            runAsNonRoot: true,
            runAsUser: 70,
            seccompProfile: { type: "RuntimeDefault" },
          });
          expect(c.resources.limits).toBeDefined();
          expect(c.resources.requests).toBeDefined();
        }
      }
    });

    it("the same config gives the same bytes", () => {
      expect(JSON.stringify(buildRegistryObjects(stack(env)))).toBe(JSON.stringify(buildRegistryObjects(stack(env))));
    });
  });

  it("the StatefulSet: pg_isready probes, PGDATA in a subdirectory, writable run and tmp dirs, claims retained", () => {
    const set = one(buildDatabaseObjects(stack("staging")), "StatefulSet");
    const pod = set.spec.template.spec;
    const container = pod.containers[0];
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      expect(container[probe].exec.command.slice(0, 1)).toEqual(["pg_isready"]);
    }
    expect(container.env).toContainEqual({ name: "PGDATA", value: "/var/lib/postgresql/data/pgdata" });
    expect(container.env).toContainEqual({ name: "POSTGRES_PASSWORD", valueFrom: { secretKeyRef: { name: REGISTRY_SECRET_NAME, key: "password" } } });
    expect(container.volumeMounts.map((m: Json) => m.mountPath).sort()).toEqual(["/tmp", "/var/lib/postgresql/data", "/var/run/postgresql"]);
    expect(pod.securityContext.fsGroup).toBe(70);
    expect(set.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
    expect(set.spec.serviceName).toBe("modelfleet-registry-headless");
  });

  it.each([
    ["default storage: 10 GiB, the cluster's default StorageClass", {}, "10Gi", undefined],
    ["can configure the size and the StorageClass", { registry: { storageGiB: 50, storageClassName: "fast-ssd" } }, "50Gi", "fast-ssd"],
  ] as const)("%s", (_name, overrides, storage, storageClassName) => {
    const claim = one(buildDatabaseObjects(stack("production", overrides)), "StatefulSet").spec.volumeClaimTemplates[0];
    expect(claim.spec.resources.requests.storage).toBe(storage);
    expect(claim.spec.storageClassName).toBe(storageClassName);
  });

  it("client and headless Services select the database pods", () => {
    const objects = buildDatabaseObjects(stack("staging"));
    const set = one(objects, "StatefulSet");
    const services = byKind(objects, "Service");
    expect(services.map((s) => [s.metadata.name, s.spec.clusterIP ?? "(allocated)"])).toEqual([
      ["modelfleet-registry", "(allocated)"],
      ["modelfleet-registry-headless", "None"],
    ]);
    for (const s of services) expect(s.spec.selector).toEqual(set.spec.selector.matchLabels);
  });

  it("the database admits only the router, the registry Jobs and the health checker, on 5432", () => {
    const objects = buildRegistryObjects(stack("production", { router: { namespace: "gateway", podLabels: { app: "router" } } }), []);
    const policy = one(objects, "NetworkPolicy");
    expect(policy.spec.podSelector).toEqual(one(objects, "StatefulSet").spec.selector);
    expect(policy.spec.policyTypes).toEqual(["Ingress"]);
    expect(policy.spec.ingress).toHaveLength(1);
    expect(policy.spec.ingress[0].ports).toEqual([{ port: 5432, protocol: "TCP" }]);
    expect(policy.spec.ingress[0].from.map((peer: Json) => [peer.namespaceSelector.matchLabels["kubernetes.io/metadata.name"], peer.podSelector.matchLabels])).toEqual([
      ["gateway", { app: "router" }],
      ["llm-production", REGISTRY_JOB_LABELS],
      ["llm-production", REGISTRY_HEALTH_LABELS],
    ]);
    // …and those are the labels the Jobs' and the health checker's pods carry.
    const jobs = byKind(objects, "Job");
    for (const job of jobs) expect(job.spec.template.metadata.labels).toMatchObject(REGISTRY_JOB_LABELS);
    expect(one(objects, "Deployment").spec.template.metadata.labels).toMatchObject(REGISTRY_HEALTH_LABELS);
  });

  it("each Job runs psql -X -v ON_ERROR_STOP=1 -f on the script of its own immutable ConfigMap, connected by the Secret's URL", () => {
    const config = stack("staging");
    for (const objects of [buildMigrationObjects(config), buildRegistrationObjects(config, config.models)]) {
      const job = one(objects, "Job");
      const map = one(objects, "ConfigMap");
      expect(map.metadata.name).toBe(job.metadata.name);
      expect(map.immutable).toBe(true);
      const pod = job.spec.template.spec;
      const volume = pod.volumes.find((v: Json) => v.configMap);
      expect(volume.configMap.name).toBe(map.metadata.name);
      const [file] = Object.keys(map.data);
      expect(pod.containers[0].command).toEqual(["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", "$(MODELFLEET_DB_URL)", "-f", `/job/${file}`]);
      expect(pod.containers[0].env[0]).toEqual({ name: "MODELFLEET_DB_URL", valueFrom: { secretKeyRef: { name: REGISTRY_SECRET_NAME, key: "url" } } });
      expect(pod.restartPolicy).toBe("Never");
      // A Job that failed is run again by the next `pulumi up` instead of being awaited forever.
      expect(job.metadata.annotations["pulumi.com/replaceUnready"]).toBe("true");
    }
  });

  it("the migration Job is ordered after the database in GitOps and has no TTL (Argo CD would re-create it)", () => {
    const job = one(buildMigrationObjects(stack("staging")), "Job");
    expect(job.metadata.name).toMatch(/^modelfleet-registry-migrate-[0-9a-f]{8}$/);
    expect(job.metadata.annotations["argocd.argoproj.io/sync-wave"]).toBe("1");
    expect(job.spec.ttlSecondsAfterFinished).toBeUndefined();
  });

  it("the registration Job runs after the models in GitOps (PostSync hook) and is deleted a day after it finishes", () => {
    const objects = buildRegistrationObjects(stack("staging"), stack("staging").models);
    const job = one(objects, "Job");
    expect(job.metadata.annotations).toMatchObject({ "argocd.argoproj.io/hook": "PostSync", "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation" });
    expect(job.spec.ttlSecondsAfterFinished).toBe(REGISTRATION_TTL_SECONDS);
    // Its script is an ordinary resource, so Argo CD creates it before the hook and prunes the old ones.
    expect(one(objects, "ConfigMap").metadata.annotations).toBeUndefined();
  });

  it("the registration Job is named by its SQL: same models, same Job; changed models or digests, new Job", () => {
    const config = stack("staging");
    const name = (c: StackConfig, models: StackConfig["models"]) => one(buildRegistrationObjects(c, models), "Job").metadata.name;
    expect(name(config, config.models)).toMatch(/^modelfleet-registry-register-[0-9a-f]{8}$/);
    expect(name(config, config.models)).toBe(name(stack("staging"), stack("staging").models));
    expect(name(config, config.models)).not.toBe(name(config, config.models.slice(1)));
    const newDigest = stack("staging", { images: { ...(stackValues("staging")["images"] as object), vllm: `vllm/vllm-openai:v0.11.0@${OTHER_DIGEST}` } });
    expect(name(config, config.models)).not.toBe(name(newDigest, newDigest.models));
  });

  it("a new postgres pin is a new migration Job (a Job's pod template cannot change in place)", () => {
    const repinned = stack("staging", { images: { ...(stackValues("staging")["images"] as object), postgres: `postgres:16-alpine@${OTHER_DIGEST}` } });
    expect(one(buildMigrationObjects(repinned), "Job").metadata.name).not.toBe(one(buildMigrationObjects(stack("staging")), "Job").metadata.name);
    expect(one(buildMigrationObjects(repinned), "ConfigMap").data).toEqual(one(buildMigrationObjects(stack("staging")), "ConfigMap").data);
  });

  it("the health checker: one long-running replica, never two at once, a heartbeat liveness probe, after the migration in GitOps", () => {
    const objects = buildHealthObjects(stack("production"));
    const checker = one(objects, "Deployment");
    expect(checker.spec.replicas).toBe(1);
    expect(checker.spec.strategy).toEqual({ type: "Recreate" });
    expect(checker.spec.selector.matchLabels).toEqual(REGISTRY_HEALTH_LABELS);
    expect(checker.spec.template.spec.restartPolicy ?? "Always").toBe("Always");
    expect(checker.metadata.annotations["argocd.argoproj.io/sync-wave"]).toBe("2");
    const container = checker.spec.template.spec.containers[0];
    expect(container.livenessProbe.exec.command.join(" ")).toContain(HEALTH_HEARTBEAT);
    expect(container.command).toEqual(["/bin/sh", "/scripts/health.sh"]);
    expect(container.env).toContainEqual({ name: "MODELFLEET_ENVIRONMENT", value: "production" });
    expect(Object.keys(one(objects, "ConfigMap").data).sort()).toEqual(["health-targets.sql", "health.sh", "record-health.sql"]);
    expect(one(objects, "ConfigMap").metadata.name).toBe(REGISTRY_SCRIPTS_NAME);
  });

  it("health.sh calls wget only with flags Alpine's busybox wget has (-q, -T, -O)", () => {
    const calls = HEALTH_SH.split("\n").filter((line) => /\bwget\b/.test(line) && !line.trimStart().startsWith("#"));
    expect(calls).toHaveLength(1);
    expect([...calls[0]!.matchAll(/\s(-{1,2}[A-Za-z-]+)/g)].map((m) => m[1])).toEqual(["-q", "-T", "-O"]);
  });
});

/**
 * Runs a Job's or CronJob's container command the way the kubelet would: `$(VAR)` expanded from the container's env
 * (the Secret's URL given here), its ConfigMap's files at the mount path (a temp dir here), psql from PostgreSQL 15,
 * `pathPrefix` first on PATH.
 */
function runContainer(objects: readonly K8sObject[], url: string, options: { env?: Record<string, string>; pathPrefix?: string } = {}) {
  const workload = (objects as unknown as Json[]).find((o) => o.kind === "Job" || o.kind === "Deployment")!;
  const pod = workload.spec.template.spec;
  const container = pod.containers[0];
  const volume = pod.volumes.find((v: Json) => v.configMap);
  const mount = container.volumeMounts.find((m: Json) => m.name === volume.name);
  const map = (objects as unknown as Json[]).find((o) => o.kind === "ConfigMap" && o.metadata.name === volume.configMap.name)!;
  const dir = tempDir("modelfleet-job-");
  for (const [file, text] of Object.entries(map.data as Record<string, string>)) writeFileSync(join(dir, file), text);
  const env: Record<string, string> = { MODELFLEET_DB_URL: url };
  for (const e of container.env) if (typeof e.value === "string") env[e.name] = e.value;
  Object.assign(env, { HOME: dir, MODELFLEET_SCRIPTS: dir }, options.env);
  const [command, ...args] = (container.command as string[]).map((arg) =>
    arg.replace(/\$\(([A-Z_]+)\)/g, (_m, v: string) => env[v] ?? "").replace(mount.mountPath, dir),
  );
  const path = [options.pathPrefix, PG_BIN, process.env["PATH"]].filter(Boolean).join(":");
  return execa(command!, args, { env: { ...env, PATH: path }, extendEnv: false, reject: false });
}

describe("the Jobs' scripts against a real PostgreSQL", () => {
  const ctx = useRegistryDatabase();

  it("the migration Job creates the schema, in step with the CLI's node-pg-migrate; running it again changes nothing", async () => {
    const { db, client } = await ctx.emptyDb();
    const objects = buildMigrationObjects(stack("production"));
    const first = await runContainer(objects, db.url);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toContain("applying");
    const again = await runContainer(objects, db.url);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain("already applied");
    expect((await migrationStatus(client)).map((m) => [m.known, m.appliedAt !== null])).toEqual(readMigrationFiles().map(() => [true, true]));
    expect((await client.query("SELECT count(*)::int AS n FROM pgmigrations")).rows[0].n).toBe((await migrationStatus(client)).length);
    expect((await client.query("SELECT to_regclass('model_registry_entries') IS NOT NULL AS ok")).rows[0].ok).toBe(true);
  });

  it.each(ENVIRONMENTS)("%s: the registration Job registers the stack's models as ready, idempotently", async (env) => {
    const { db, client } = await ctx.migratedDb();
    const config = stack(env);
    const objects = buildRegistrationObjects(config, config.models);
    const run = await runContainer(objects, db.url);
    expect(run.exitCode, run.stderr).toBe(0);
    const rows = await snapshotEntries(client);
    expect(rows).toEqual(
      [...config.models]
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map((m) => ({
          deployment_environment: env,
          model_name: m.name,
          engine: m.engine,
          served_model_name: m.servedModelName,
          image_digest: DIGEST,
          deployment_endpoint: `${m.name}-${env}.llm-${env}.svc.cluster.local:8000`,
          deployment_namespace: `llm-${env}`,
          deployment_status: "ready",
          managed_by: "stack",
          disabled_by: null,
        })),
    );
    const before = (await client.query("SELECT model_name, updated_at FROM model_registry_entries ORDER BY model_name")).rows;
    const again = await runContainer(objects, db.url);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await client.query("SELECT model_name, updated_at FROM model_registry_entries ORDER BY model_name")).rows).toEqual(before);
  });

  it("a tag-only development pin registers no digest", async () => {
    const { db, client } = await ctx.migratedDb();
    const images = { vllm: "vllm/vllm-openai:v0.11.0", llamacpp: "ghcr.io/ggml-org/llama.cpp:server-cuda-b11206", postgres: "postgres:16-alpine" };
    const config = stack("development", { images });
    const run = await runContainer(buildRegistrationObjects(config, config.models), db.url);
    expect(run.exitCode, run.stderr).toBe(0);
    expect((await client.query("SELECT DISTINCT image_digest FROM model_registry_entries")).rows).toEqual([{ image_digest: null }]);
  });

  it("a changed model set: the removed model is disabled, a new digest recorded, other environments and manual entries untouched", async () => {
    const { db, client } = await ctx.migratedDb();
    await reconcile(client, [desired("qwen3", "production")], "production");
    const config = stack("staging");
    expect((await runContainer(buildRegistrationObjects(config, config.models), db.url)).exitCode).toBe(0);
    await client.query("INSERT INTO model_registry_entries (model_name, engine, served_model_name, deployment_endpoint, deployment_status, deployment_environment, deployment_namespace, managed_by) VALUES ('hand', 'vllm', 'hand', 'hand.example:8000', 'ready', 'staging', 'other', 'manual')");
    const repinned = stack("staging", { images: { ...(stackValues("staging")["images"] as object), vllm: `vllm/vllm-openai:v0.11.0@${OTHER_DIGEST}` }, models: (stackValues("staging")["models"] as unknown[]).slice(0, 1) });
    const run = await runContainer(buildRegistrationObjects(repinned, repinned.models), db.url);
    expect(run.exitCode, run.stderr).toBe(0);
    const rows = await snapshotEntries(client);
    expect(rows.map((r) => [r["deployment_environment"], r["model_name"], r["deployment_status"], r["disabled_by"], r["image_digest"]])).toEqual([
      ["production", "qwen3", "ready", null, desired("qwen3", "production").imageDigest],
      ["staging", "gguf", "disabled", "reconcile", DIGEST],
      ["staging", "hand", "ready", null, null],
      ["staging", "qwen3", "ready", null, OTHER_DIGEST],
    ]);
  });

  it("two registration Jobs at once (two `pulumi up`s) serialize on the registry lock; both succeed", async () => {
    const { db, client } = await ctx.migratedDb();
    const staging = stack("staging");
    const production = stack("production");
    const runs = await Promise.all([
      runContainer(buildRegistrationObjects(staging, staging.models), db.url),
      runContainer(buildRegistrationObjects(staging, staging.models), db.url),
      runContainer(buildRegistrationObjects(production, production.models), db.url),
    ]);
    for (const run of runs) expect(run.exitCode, run.stderr).toBe(0);
    expect((await client.query("SELECT deployment_environment, count(*)::int AS n FROM model_registry_entries GROUP BY 1 ORDER BY 1")).rows).toEqual([
      { deployment_environment: "production", n: production.models.length },
      { deployment_environment: "staging", n: staging.models.length },
    ]);
  });

  describe("the health CronJob's script", () => {
    const servers: Server[] = [];
    let wrapperDir = "";
    const listen = (handler: (res: import("node:http").ServerResponse) => void): Promise<string> =>
      new Promise((resolve) => {
        const server = createServer((req, res) => {
          if (req.url !== "/health") {
            res.statusCode = 404;
            res.end();
            return;
          }
          handler(res);
        });
        servers.push(server);
        server.listen(0, "127.0.0.1", () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`));
      });
    const answer = (status: number, delayMs = 0) => (res: import("node:http").ServerResponse) => {
      setTimeout(() => {
        res.statusCode = status;
        res.end();
      }, delayMs);
    };

    beforeAll(() => {
      // The image's busybox wget tries once; GNU wget here retries a timed-out read 20 times unless told not to.
      wrapperDir = tempDir("modelfleet-wget-");
      writeFileSync(join(wrapperDir, "wget"), '#!/bin/sh\nexec /usr/bin/wget --tries=1 "$@"\n');
      chmodSync(join(wrapperDir, "wget"), 0o755);
    });
    afterAll(() => {
      for (const server of servers) server.closeAllConnections();
      for (const server of servers) server.close();
    });

    /** One round of the checker's container (what `registry health` does), with the wget stand-in first on PATH. */
    const execHealth = (url: string, env: Record<string, string> = {}) =>
      runContainer(buildHealthObjects(stack("staging")), url, { env: { MODELFLEET_HEALTH_ONCE: "1", MODELFLEET_HEALTH_MISSES: "1", ...env }, pathPrefix: wrapperDir });

    it("records ready for a 200, degraded for a 503, a refused connection and no answer; leaves disabled and other environments alone", async () => {
      const { db, client } = await ctx.migratedDb();
      const up = await listen(answer(200));
      const failing = await listen(answer(503));
      const hanging = await listen(() => undefined);
      const refused = "127.0.0.1:9"; // discard port: nothing listens on loopback
      await reconcile(
        client,
        [desired("up", "staging", { endpoint: up }), desired("failing", "staging", { endpoint: failing }), desired("hanging", "staging", { endpoint: hanging }), desired("refused", "staging", { endpoint: refused }), desired("off", "staging", { endpoint: up })],
        "staging",
      );
      await client.query("UPDATE model_registry_entries SET deployment_status = 'disabled', disabled_by = 'operator' WHERE model_name = 'off'");
      await reconcile(client, [desired("elsewhere", "production", { endpoint: failing })], "production");
      await client.query("UPDATE model_registry_entries SET last_health_check_at = now() - interval '1 hour'");

      const run = await execHealth(db.url, { MODELFLEET_HEALTH_TIMEOUT_SECONDS: "1" });
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout.split("\n").sort()).toEqual(["failing (staging): ready -> degraded", "hanging (staging): ready -> degraded", "refused (staging): ready -> degraded", "up (staging): ready -> ready"]);
      const { rows } = await client.query(
        "SELECT model_name, deployment_status, last_health_check_at > now() - interval '1 minute' AS fresh FROM model_registry_entries ORDER BY model_name",
      );
      expect(rows).toEqual([
        { model_name: "elsewhere", deployment_status: "ready", fresh: false },
        { model_name: "failing", deployment_status: "degraded", fresh: true },
        { model_name: "hanging", deployment_status: "degraded", fresh: true },
        { model_name: "off", deployment_status: "disabled", fresh: false },
        { model_name: "refused", deployment_status: "degraded", fresh: true },
        { model_name: "up", deployment_status: "ready", fresh: true },
      ]);

      // A degraded model that answers again is ready again.
      await client.query("UPDATE model_registry_entries SET deployment_endpoint = $1 WHERE model_name = 'failing'", [up]);
      const second = await execHealth(db.url, { MODELFLEET_HEALTH_TIMEOUT_SECONDS: "1" });
      expect(second.stdout).toContain("failing (staging): degraded -> ready");
    });

    it("probes concurrently: slow endpoints do not add up toward the Job's deadline", async () => {
      const { db, client } = await ctx.migratedDb();
      const slow = await Promise.all([1, 2, 3, 4, 5, 6].map(() => listen(answer(200, 1500))));
      await reconcile(client, slow.map((endpoint, i) => desired(`slow${i}`, "staging", { endpoint })), "staging");
      const started = Date.now();
      const run = await execHealth(db.url, { MODELFLEET_HEALTH_CONCURRENCY: "8" });
      const elapsed = Date.now() - started;
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout.split("\n")).toHaveLength(6);
      // One after another would take 9 s.
      expect(elapsed).toBeLessThan(6000);
    });

    it("fails (non-zero) when the database cannot be reached, without printing the URL's password", async () => {
      const url = ctx.server().url("postgres", "wrong-password-Qx7");
      const run = await execHealth(url);
      expect(run.exitCode).not.toBe(0);
      expect(run.stdout + run.stderr).not.toContain("wrong-password-Qx7");
    });

    it("as a long-running loop: one missed probe records nothing, the second records degraded; heartbeats only while recording", async () => {
      // Given a ready model whose engine answers, and the checker running with 1 s rounds (10 s in the cluster)
      const { db, client } = await ctx.migratedDb();
      let healthy = true;
      const endpoint = await listen((res) => (healthy ? answer(200)(res) : answer(503)(res)));
      await reconcile(client, [desired("live", "staging", { endpoint })], "staging");
      const heartbeat = join(tempDir("modelfleet-heartbeat-"), "beat");
      const loop = runContainer(buildHealthObjects(stack("staging")), db.url, {
        env: { MODELFLEET_HEALTH_INTERVAL_SECONDS: "1", MODELFLEET_HEALTH_TIMEOUT_SECONDS: "1", MODELFLEET_HEALTH_HEARTBEAT: heartbeat },
        pathPrefix: wrapperDir,
      });
      let output = "";
      loop.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const waitFor = async (what: string, done: () => boolean | Promise<boolean>) => {
        for (let i = 0; i < 150; i++) {
          if (await done()) return;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`timed out waiting for ${what}; checker output:\n${output}`);
      };
      const status = async () => (await client.query("SELECT deployment_status FROM model_registry_entries WHERE model_name = 'live'")).rows[0].deployment_status as string;
      try {
        await waitFor("a first round", () => output.includes("live (staging): ready -> ready"));
        await waitFor("a heartbeat", () => existsSync(heartbeat));
        expect(Math.abs(Number(readFileSync(heartbeat, "utf8")) - Date.now() / 1000)).toBeLessThan(5);

        // When the engine stops answering 2xx
        healthy = false;
        await waitFor("a first miss", () => output.includes("live (staging): ready, probe missed (1 of 2)"));
        // Then one miss leaves the model ready (a lost probe does not drop a model)…
        expect(await status()).toBe("ready");
        // …and the second records degraded, which `route` refuses
        await waitFor("degraded", async () => (await status()) === "degraded");
        expect(output).toContain("live (staging): ready -> degraded");

        // And an answering engine is ready again at the next round
        healthy = true;
        await waitFor("ready again", async () => (await status()) === "ready");
      } finally {
        loop.kill("SIGTERM");
        await loop.catch(() => undefined);
      }
      // SIGTERM ends the loop cleanly (the kubelet's stop).
      expect((await loop).exitCode).toBe(0);
    });
  });
});
