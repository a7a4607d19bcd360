import { ApiObject, type Chart } from "cdk8s";
import type { ResolvedModel, StackContext } from "../../stacks/config/types.js";
import { canonical, renderChart } from "../shared/chart.js";
import type { K8sObject } from "../shared/k8s-object.js";
import { REGISTRY_HEALTH_LABELS, stackLabels } from "../shared/labels.js";
import { containerSecurityJson, podSecurityJson } from "../shared/security.js";
import {
  DATABASE,
  DATABASE_USER,
  POSTGRES_PORT,
  POSTGRES_UID,
  REGISTRY_DB_LABELS,
  REGISTRY_HEADLESS_NAME,
  REGISTRY_HEALTH_NAME,
  REGISTRY_JOB_LABELS,
  REGISTRY_NAME,
  REGISTRY_SCRIPTS_NAME,
  REGISTRY_SECRET_NAME,
  SECRET_KEYS,
} from "./names.js";
import { registrationSql, registryScripts, SCRIPTS_MOUNT, shortHash } from "./scripts.js";

/**
 * The registry database's objects as pure builders. Groups follow the order Pulumi creates them in: the database
 * (in-cluster mode only), the scripts and migration Job, the registration Job (after every model is ready), the
 * health CronJob. None holds a secret value: everything reads the `modelfleet-registry-credentials` Secret.
 */

const PGDATA_MOUNT = "/var/lib/postgresql/data";
const RUN_DIR = "/var/run/postgresql";
// Argo CD runs the registration after the models are healthy, as Pulumi does with dependsOn.
const ARGO_POST_SYNC = { "argocd.argoproj.io/hook": "PostSync", "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation" };

function labels(ctx: StackContext, extra: Readonly<Record<string, string>>): Record<string, string> {
  return { ...stackLabels(ctx), ...extra };
}

const urlEnv = { name: "MODELFLEET_DB_URL", valueFrom: { secretKeyRef: { name: REGISTRY_SECRET_NAME, key: SECRET_KEYS.url } } };
const tmpVolume = { name: "tmp", emptyDir: { sizeLimit: "64Mi" } };
const scriptsVolume = { name: "scripts", configMap: { name: REGISTRY_SCRIPTS_NAME, defaultMode: 0o555 } };
const smallResources = { limits: { cpu: "200m", memory: "128Mi" }, requests: { cpu: "50m", memory: "64Mi" } };

/** A psql pod from the pinned postgres image, connected through the Secret's URL. */
function psqlPod(ctx: StackContext, command: string[], extraVolumes: object[] = [], extraMounts: object[] = [], env: object[] = []): Record<string, unknown> {
  return {
    automountServiceAccountToken: false,
    restartPolicy: "Never",
    securityContext: podSecurityJson(POSTGRES_UID),
    containers: [
      {
        name: "psql",
        image: ctx.images.postgres.reference,
        imagePullPolicy: "IfNotPresent",
        command,
        env: [urlEnv, { name: "HOME", value: "/tmp" }, ...env],
        resources: smallResources,
        securityContext: containerSecurityJson(POSTGRES_UID),
        volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, { name: "scripts", mountPath: SCRIPTS_MOUNT, readOnly: true }, ...extraMounts],
      },
    ],
    volumes: [tmpVolume, scriptsVolume, ...extraVolumes],
  };
}

function database(chart: Chart, ctx: StackContext): void {
  const selector = { matchLabels: { ...REGISTRY_DB_LABELS } };
  const isReady = { exec: { command: ["pg_isready", "-h", "127.0.0.1", "-p", String(POSTGRES_PORT), "-U", DATABASE_USER, "-d", DATABASE] } };
  new ApiObject(chart, "statefulset", {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: REGISTRY_NAME, labels: labels(ctx, REGISTRY_DB_LABELS) },
    spec: {
      serviceName: REGISTRY_HEADLESS_NAME,
      replicas: 1,
      selector,
      template: {
        metadata: { labels: labels(ctx, REGISTRY_DB_LABELS) },
        spec: {
          automountServiceAccountToken: false,
          securityContext: podSecurityJson(POSTGRES_UID),
          terminationGracePeriodSeconds: 60,
          containers: [
            {
              name: "postgres",
              image: ctx.images.postgres.reference,
              imagePullPolicy: "IfNotPresent",
              ports: [{ name: "postgres", containerPort: POSTGRES_PORT }],
              env: [
                { name: "POSTGRES_DB", value: DATABASE },
                { name: "POSTGRES_USER", value: DATABASE_USER },
                { name: "POSTGRES_PASSWORD", valueFrom: { secretKeyRef: { name: REGISTRY_SECRET_NAME, key: SECRET_KEYS.password } } },
                // A subdirectory: the volume's root may hold lost+found, which initdb refuses.
                { name: "PGDATA", value: `${PGDATA_MOUNT}/pgdata` },
              ],
              resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "250m", memory: "512Mi" } },
              securityContext: containerSecurityJson(POSTGRES_UID),
              startupProbe: { ...isReady, periodSeconds: 5, failureThreshold: 60 },
              readinessProbe: { ...isReady, periodSeconds: 10, timeoutSeconds: 5 },
              livenessProbe: { ...isReady, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 4 },
              volumeMounts: [
                { name: "data", mountPath: PGDATA_MOUNT },
                { name: "run", mountPath: RUN_DIR },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volumes: [{ name: "run", emptyDir: { sizeLimit: "16Mi" } }, tmpVolume],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: "data", labels: labels(ctx, REGISTRY_DB_LABELS) },
          spec: {
            accessModes: ["ReadWriteOnce"],
            resources: { requests: { storage: `${ctx.registry.storageGiB}Gi` } },
            ...(ctx.registry.storageClassName ? { storageClassName: ctx.registry.storageClassName } : {}),
          },
        },
      ],
    },
  });
  const service = (id: string, name: string, headless: boolean): void => {
    new ApiObject(chart, id, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, labels: labels(ctx, REGISTRY_DB_LABELS) },
      spec: {
        type: "ClusterIP",
        ...(headless ? { clusterIP: "None", publishNotReadyAddresses: true } : {}),
        selector: { ...REGISTRY_DB_LABELS },
        ports: [{ name: "postgres", port: POSTGRES_PORT, targetPort: POSTGRES_PORT, protocol: "TCP" }],
      },
    });
  };
  service("service", REGISTRY_NAME, false);
  service("headless", REGISTRY_HEADLESS_NAME, true);
  const inNamespace = (podLabels: Readonly<Record<string, string>>, namespace = ctx.namespace) => ({
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
    podSelector: { matchLabels: { ...podLabels } },
  });
  new ApiObject(chart, "network-policy", {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: REGISTRY_NAME, labels: labels(ctx, REGISTRY_DB_LABELS) },
    spec: {
      podSelector: selector,
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [inNamespace(ctx.router.podLabels, ctx.router.namespace), inNamespace(REGISTRY_JOB_LABELS), inNamespace(REGISTRY_HEALTH_LABELS)],
          ports: [{ port: POSTGRES_PORT, protocol: "TCP" }],
        },
      ],
    },
  });
}

/** In-cluster mode: StatefulSet, client and headless Services, NetworkPolicy. External mode: nothing. */
export function buildDatabaseObjects(ctx: StackContext): K8sObject[] {
  if (ctx.registry.mode === "external") return [];
  return renderChart(ctx.namespace, (chart) => database(chart, ctx)).map(canonical);
}

/** The scripts ConfigMap and the migration Job (named by the script's hash). */
export function buildMigrationObjects(ctx: StackContext): K8sObject[] {
  const scripts = registryScripts();
  const migrate = scripts["migrate.sql"] ?? "";
  return renderChart(ctx.namespace, (chart) => {
    new ApiObject(chart, "scripts", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: REGISTRY_SCRIPTS_NAME, labels: labels(ctx, REGISTRY_JOB_LABELS) },
      data: scripts,
    });
    new ApiObject(chart, "migrate", {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: `${REGISTRY_NAME}-migrate-${shortHash(migrate)}`,
        labels: labels(ctx, REGISTRY_JOB_LABELS),
        annotations: { "argocd.argoproj.io/sync-wave": "1" },
      },
      spec: {
        // The database may still be starting; each retry waits longer.
        backoffLimit: 6,
        template: {
          metadata: { labels: labels(ctx, REGISTRY_JOB_LABELS) },
          spec: psqlPod(ctx, ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", "$(MODELFLEET_DB_URL)", "-f", `${SCRIPTS_MOUNT}/migrate.sql`]),
        },
      },
    });
  }).map(canonical);
}

/**
 * The registration Job: reconciles the stack's models into `model_registry_entries` for this environment
 * (ready with endpoint, namespace and digest; models gone from the stack disabled). Named by the SQL's hash, so a
 * changed model set runs again and an unchanged one does not.
 */
export function buildRegistrationObjects(ctx: StackContext, models: readonly ResolvedModel[]): K8sObject[] {
  const sql = registrationSql(models, ctx);
  const name = `${REGISTRY_NAME}-register-${shortHash(sql)}`;
  return renderChart(ctx.namespace, (chart) => {
    new ApiObject(chart, "reconcile-sql", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, labels: labels(ctx, REGISTRY_JOB_LABELS), annotations: ARGO_POST_SYNC },
      data: { "reconcile.sql": sql },
    });
    new ApiObject(chart, "register", {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name, labels: labels(ctx, REGISTRY_JOB_LABELS), annotations: ARGO_POST_SYNC },
      spec: {
        backoffLimit: 4,
        template: {
          metadata: { labels: labels(ctx, REGISTRY_JOB_LABELS) },
          spec: psqlPod(
            ctx,
            ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", "$(MODELFLEET_DB_URL)", "-f", "/reconcile/reconcile.sql"],
            [{ name: "reconcile", configMap: { name } }],
            [{ name: "reconcile", mountPath: "/reconcile", readOnly: true }],
          ),
        },
      },
    });
  }).map(canonical);
}

/** Every minute: probe each ready/degraded model's /health and record ready or degraded. */
export function buildHealthObjects(ctx: StackContext): K8sObject[] {
  return renderChart(ctx.namespace, (chart) => {
    new ApiObject(chart, "health", {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: REGISTRY_HEALTH_NAME, labels: labels(ctx, REGISTRY_HEALTH_LABELS) },
      spec: {
        schedule: "* * * * *",
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: 30,
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          spec: {
            activeDeadlineSeconds: 55,
            backoffLimit: 0,
            template: {
              metadata: { labels: labels(ctx, REGISTRY_HEALTH_LABELS) },
              spec: psqlPod(ctx, ["/bin/sh", `${SCRIPTS_MOUNT}/health.sh`], [], [], [{ name: "MODELFLEET_ENVIRONMENT", value: ctx.environment }]),
            },
          },
        },
      },
    });
  }).map(canonical);
}

/** Everything synth writes for the registry (the credentials Secret is supplied by Pulumi or the operator). */
export function buildRegistryObjects(ctx: StackContext, models: readonly ResolvedModel[]): K8sObject[] {
  return [...buildDatabaseObjects(ctx), ...buildMigrationObjects(ctx), ...buildRegistrationObjects(ctx, models), ...buildHealthObjects(ctx)];
}
