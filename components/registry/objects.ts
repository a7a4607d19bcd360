import { podsIn } from "../shared/network-peers.js";
import type { Chart } from "cdk8s";
import type { ResolvedModel, StackConfig, StackContext } from "../../config/types.js";
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
import { serviceAccount } from "../shared/service-account.js";
import { HEALTH_HEARTBEAT, HEALTH_HEARTBEAT_MAX_AGE_SECONDS, healthScripts, migrationSql, registrationSql, SCRIPTS_MOUNT, shortHash } from "./scripts.js";
import { cdk8s } from "../shared/cdk8s.js";

/**
 * The registry database's objects as pure builders. Groups follow the order Pulumi creates them in: the database
 * (in-cluster mode only), the migration Job, the registration Job (after every model is ready), the health checker Deployment.
 * None holds a secret value: everything reads the `modelfleet-registry-credentials` Secret, which Pulumi creates
 * (or, for GitOps, the operator: docs/registry-deploy.md).
 */

const PGDATA_MOUNT = "/var/lib/postgresql/data";
const RUN_DIR = "/var/run/postgresql";
/** Where a Job mounts its own script ConfigMap. */
const JOB_SCRIPT_MOUNT = "/job";

/** How long a finished registration Job (and its pod's log) stays for inspection before Kubernetes deletes it. */
export const REGISTRATION_TTL_SECONDS = 86_400;

// Pulumi's Kubernetes provider waits for a Job to complete; with this annotation a Job that failed is replaced (run
// again) on the next `pulumi up` instead of being awaited forever.
const PULUMI_REPLACE_UNREADY = { "pulumi.com/replaceUnready": "true" };
// Argo CD: the migration runs after the database is healthy (wave 1), the health checker after the migration
// (wave 2), and the registration after every model is healthy (a PostSync hook), as Pulumi's dependsOn orders them.
const ARGO_AFTER_DATABASE = { "argocd.argoproj.io/sync-wave": "1" };
const ARGO_AFTER_MIGRATION = { "argocd.argoproj.io/sync-wave": "2" };
const ARGO_POST_SYNC = { "argocd.argoproj.io/hook": "PostSync", "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation" };

function labels(ctx: StackContext, extra: Readonly<Record<string, string>>): Record<string, string> {
  return { ...stackLabels(ctx), ...extra };
}

const urlEnv = { name: "MODELFLEET_DB_URL", valueFrom: { secretKeyRef: { name: REGISTRY_SECRET_NAME, key: SECRET_KEYS.url } } };
const tmpVolume = { name: "tmp", emptyDir: { sizeLimit: "64Mi" } };
const smallResources = { limits: { cpu: "200m", memory: "128Mi" }, requests: { cpu: "50m", memory: "64Mi" } };

/** A psql pod from the pinned postgres image, connected through the Secret's URL, with one ConfigMap of scripts. */
function psqlPod(ctx: StackContext, account: string, command: string[], scripts: { configMap: string; mountPath: string }, env: object[] = []): Record<string, unknown> {
  return {
    serviceAccountName: account,
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
        volumeMounts: [
          { name: "tmp", mountPath: "/tmp" },
          { name: "scripts", mountPath: scripts.mountPath, readOnly: true },
        ],
      },
    ],
    volumes: [tmpVolume, { name: "scripts", configMap: { name: scripts.configMap, defaultMode: 0o555 } }],
  };
}

/** The workload's own ServiceAccount (components/shared/service-account.ts): no token, no Role. */
function account(chart: Chart, ctx: StackContext, name: string, workloadLabels: Readonly<Record<string, string>>): void {
  new cdk8s.ApiObject(chart, `${name}-service-account`, serviceAccount({ name, labels: labels(ctx, workloadLabels) }) as never);
}

function database(chart: Chart, ctx: StackContext): void {
  account(chart, ctx, REGISTRY_NAME, REGISTRY_DB_LABELS);
  const selector = { matchLabels: { ...REGISTRY_DB_LABELS } };
  const isReady = { exec: { command: ["pg_isready", "-h", "127.0.0.1", "-p", String(POSTGRES_PORT), "-U", DATABASE_USER, "-d", DATABASE] } };
  new cdk8s.ApiObject(chart, "statefulset", {
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
          serviceAccountName: REGISTRY_NAME,
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
      // The data outlives the StatefulSet: deleting or scaling it never deletes the claim (Kubernetes' default,
      // stated because the registry holds what operators put in it).
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
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
    new cdk8s.ApiObject(chart, id, {
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
  new cdk8s.ApiObject(chart, "network-policy", {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: REGISTRY_NAME, labels: labels(ctx, REGISTRY_DB_LABELS) },
    spec: {
      podSelector: selector,
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [podsIn(ctx.router.namespace, ctx.router.podLabels), podsIn(ctx.namespace, REGISTRY_JOB_LABELS), podsIn(ctx.namespace, REGISTRY_HEALTH_LABELS)],
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

interface ScriptJob {
  /** Name prefix; the objects are `<base>-<hash>`. */
  readonly base: string;
  /** The psql script and its file name in the ConfigMap. */
  readonly file: string;
  readonly sql: string;
  readonly backoffLimit: number;
  readonly ttlSecondsAfterFinished?: number;
  readonly jobAnnotations: Readonly<Record<string, string>>;
}

/**
 * A Job running `psql -X -v ON_ERROR_STOP=1 -f <script>` and the immutable ConfigMap holding the script, both named
 * by a hash of the script and the Job's spec: changed SQL or a changed pod (a new postgres pin) is a new Job that
 * runs, an unchanged one is the same Job that does not, and a Job never reads a script other than its own.
 */
function scriptJob(chart: Chart, ctx: StackContext, job: ScriptJob): void {
  const spec = (configMap: string) => ({
    backoffLimit: job.backoffLimit,
    ...(job.ttlSecondsAfterFinished === undefined ? {} : { ttlSecondsAfterFinished: job.ttlSecondsAfterFinished }),
    template: {
      metadata: { labels: labels(ctx, REGISTRY_JOB_LABELS) },
      spec: psqlPod(ctx, job.base, ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", "$(MODELFLEET_DB_URL)", "-f", `${JOB_SCRIPT_MOUNT}/${job.file}`], {
        configMap,
        mountPath: JOB_SCRIPT_MOUNT,
      }),
    },
  });
  const name = `${job.base}-${shortHash(JSON.stringify([job.sql, spec("")]))}`;
  account(chart, ctx, job.base, REGISTRY_JOB_LABELS);
  new cdk8s.ApiObject(chart, `${job.base}-script`, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, labels: labels(ctx, REGISTRY_JOB_LABELS) },
    immutable: true,
    data: { [job.file]: job.sql },
  });
  new cdk8s.ApiObject(chart, `${job.base}-job`, {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, labels: labels(ctx, REGISTRY_JOB_LABELS), annotations: { ...PULUMI_REPLACE_UNREADY, ...job.jobAnnotations } },
    spec: spec(name),
  });
}

/**
 * The migration: a ConfigMap with `migrationPsqlScript(readMigrationFiles())` and a Job applying it. No TTL: in GitOps
 * the Job is an ordinary resource, and Argo CD would re-create one that Kubernetes deleted.
 */
export function buildMigrationObjects(ctx: StackContext): K8sObject[] {
  return renderChart(ctx.namespace, (chart) =>
    // The database may still be starting: retries wait 10 s, 20 s, 40 s, 80 s (inside Pulumi's 10-minute Job await).
    scriptJob(chart, ctx, { base: `${REGISTRY_NAME}-migrate`, file: "migrate.sql", sql: migrationSql(), backoffLimit: 4, jobAnnotations: ARGO_AFTER_DATABASE }),
  ).map(canonical);
}

/**
 * The registration: reconciles the stack's models into `model_registry_entries` for this environment (ready with
 * endpoint, namespace and digest; models gone from the stack disabled). A ConfigMap with `reconcileSql(...)` and a
 * Job, named by the SQL's hash, so a changed model set runs again and an unchanged one does not. The finished Job is
 * deleted after `REGISTRATION_TTL_SECONDS`.
 */
export function buildRegistrationObjects(ctx: StackContext, models: readonly ResolvedModel[]): K8sObject[] {
  return renderChart(ctx.namespace, (chart) =>
    scriptJob(chart, ctx, {
      base: `${REGISTRY_NAME}-register`,
      file: "reconcile.sql",
      sql: registrationSql(models, ctx),
      backoffLimit: 4,
      ttlSecondsAfterFinished: REGISTRATION_TTL_SECONDS,
      jobAnnotations: ARGO_POST_SYNC,
    }),
  ).map(canonical);
}

/**
 * The health checker (`HEALTH_SH`): one long-running replica that probes every ready/degraded model's /health every
 * `HEALTH_INTERVAL_SECONDS` and records ready, or degraded after `HEALTH_MISSES` misses, so a dead engine leaves
 * routing within ~25 s (a per-minute CronJob took up to 2 minutes and started 1,440 pods a day). The scripts
 * ConfigMap and the Deployment; its pods carry the labels the engines' NetworkPolicies admit. Its liveness probe
 * restarts a loop that stopped touching its heartbeat file.
 */
export function buildHealthObjects(ctx: StackContext): K8sObject[] {
  return renderChart(ctx.namespace, (chart) => {
    new cdk8s.ApiObject(chart, "scripts", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: REGISTRY_SCRIPTS_NAME, labels: labels(ctx, REGISTRY_HEALTH_LABELS) },
      data: healthScripts(),
    });
    account(chart, ctx, REGISTRY_HEALTH_NAME, REGISTRY_HEALTH_LABELS);
    const pod = psqlPod(ctx, REGISTRY_HEALTH_NAME, ["/bin/sh", `${SCRIPTS_MOUNT}/health.sh`], { configMap: REGISTRY_SCRIPTS_NAME, mountPath: SCRIPTS_MOUNT }, [
      { name: "MODELFLEET_ENVIRONMENT", value: ctx.environment },
    ]);
    const [container] = pod["containers"] as Record<string, unknown>[];
    // The first heartbeat comes after the first round: give it one interval and a round's worth of probe timeouts.
    container!["livenessProbe"] = {
      // The loop writes the epoch second of its last round; only sh arithmetic, cat and busybox date are needed.
      exec: { command: ["/bin/sh", "-c", `test $(( $(date +%s) - $(cat ${HEALTH_HEARTBEAT} 2>/dev/null || echo 0) )) -lt ${HEALTH_HEARTBEAT_MAX_AGE_SECONDS}`] },
      initialDelaySeconds: HEALTH_HEARTBEAT_MAX_AGE_SECONDS,
      periodSeconds: 30,
      timeoutSeconds: 5,
      failureThreshold: 2,
    };
    new cdk8s.ApiObject(chart, "health", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: REGISTRY_HEALTH_NAME, labels: labels(ctx, REGISTRY_HEALTH_LABELS), annotations: ARGO_AFTER_MIGRATION },
      spec: {
        replicas: 1,
        // Two checkers at once would only double the probes; one stops before the next starts.
        strategy: { type: "Recreate" },
        selector: { matchLabels: { ...REGISTRY_HEALTH_LABELS } },
        template: {
          metadata: { labels: labels(ctx, REGISTRY_HEALTH_LABELS) },
          spec: { ...pod, restartPolicy: "Always", terminationGracePeriodSeconds: 10 },
        },
      },
    });
  }).map(canonical);
}

/**
 * Everything synth writes for the registry: database (in-cluster mode), migration, registration of `models`
 * (default: the stack's), health check. The credentials Secret is not among them: Pulumi creates it, or the operator
 * (docs/registry-deploy.md).
 */
export function buildRegistryObjects(config: StackConfig, models: readonly ResolvedModel[] = config.models): K8sObject[] {
  return [...buildDatabaseObjects(config), ...buildMigrationObjects(config), ...buildRegistrationObjects(config, models), ...buildHealthObjects(config)];
}
