/**
 * The Kubernetes side of `modelfleet status`: which kubeconfig to use, and what a model's Deployment, its pods and
 * their events say about the rollout. `@kubernetes/client-node` is loaded only here and only when a kubeconfig is
 * used (it takes seconds to load); the reading of the objects is pure (`rolloutFromObjects`) so tests call it on
 * recorded API responses.
 *
 * Naming (components/engines/model-objects.ts, components/shared/labels.ts): a model's Deployment is named after
 * its Service, `<model>-<environment>`, in the stack's namespace, and its pods carry the selector labels
 * `app.kubernetes.io/name=<model>` and `app.kubernetes.io/instance=<model>-<environment>`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { excerpt } from "./http.js";

/** How many failing pods are shown per model, and how many of each one's latest events. */
export const FAILING_PODS_SHOWN = 3;
export const EVENTS_PER_POD = 5;

/** Where the kubeconfig came from, for the report. */
export type KubeconfigSource = "--kubeconfig" | "KUBECONFIG" | "~/.kube/config";

export interface KubeconfigChoice {
  readonly path: string;
  readonly source: KubeconfigSource;
}

/**
 * The kubeconfig `status` reads: `--kubeconfig`, else the first file of `KUBECONFIG` that exists, else
 * `~/.kube/config` when it exists; undefined when there is none (the rollout is then not queried). A path given
 * with `--kubeconfig` is returned even when missing, so the caller can refuse it.
 */
export function chooseKubeconfig(option: string | undefined, env: NodeJS.ProcessEnv, exists: (path: string) => boolean = existsSync): KubeconfigChoice | undefined {
  if (option !== undefined) return { path: option, source: "--kubeconfig" };
  const fromEnv = (env.KUBECONFIG ?? "").split(":").filter((p) => p !== "").find((p) => exists(p));
  if (fromEnv !== undefined) return { path: fromEnv, source: "KUBECONFIG" };
  const home = env.HOME;
  if (home) {
    const path = join(home, ".kube", "config");
    if (exists(path)) return { path, source: "~/.kube/config" };
  }
  return undefined;
}

/** The fields of a Deployment, Pod and Event that status reads (timestamps arrive as Date from client-node, string from JSON). */
type Time = string | Date | null | undefined;

export interface DeploymentLike {
  readonly metadata?: { readonly name?: string; readonly generation?: number };
  readonly spec?: { readonly replicas?: number };
  readonly status?: {
    readonly observedGeneration?: number;
    readonly replicas?: number;
    readonly readyReplicas?: number;
    readonly updatedReplicas?: number;
    readonly availableReplicas?: number;
    readonly unavailableReplicas?: number;
    readonly conditions?: ReadonlyArray<{ readonly type?: string; readonly status?: string; readonly reason?: string; readonly message?: string }>;
  };
}

interface ContainerStatusLike {
  readonly name?: string;
  readonly ready?: boolean;
  readonly restartCount?: number;
  readonly state?: {
    readonly waiting?: { readonly reason?: string; readonly message?: string };
    readonly terminated?: { readonly reason?: string; readonly exitCode?: number };
  };
  readonly lastState?: { readonly terminated?: { readonly reason?: string; readonly exitCode?: number } };
}

export interface PodLike {
  readonly metadata?: { readonly name?: string; readonly deletionTimestamp?: Time };
  readonly status?: {
    readonly phase?: string;
    readonly reason?: string;
    readonly conditions?: ReadonlyArray<{ readonly type?: string; readonly status?: string; readonly reason?: string; readonly message?: string }>;
    readonly initContainerStatuses?: readonly ContainerStatusLike[];
    readonly containerStatuses?: readonly ContainerStatusLike[];
  };
}

export interface EventLike {
  readonly type?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly count?: number;
  readonly lastTimestamp?: Time;
  readonly eventTime?: Time;
  readonly firstTimestamp?: Time;
  readonly metadata?: { readonly creationTimestamp?: Time };
}

export interface RolloutCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface PodEvent {
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  readonly count: number;
  /** ISO time of the last occurrence, when the event has one. */
  readonly lastSeen?: string;
}

export interface FailingPod {
  readonly name: string;
  readonly phase: string;
  /** Why it is not ready, e.g. `engine: CrashLoopBackOff (restarts 12, last exit 1)`; empty when Kubernetes says nothing. */
  readonly reasons: readonly string[];
  /** Its latest events, newest first. */
  readonly events: readonly PodEvent[];
}

/** The rollout of one model's Deployment, as status shows it. */
export type RolloutView =
  | { readonly state: "not-queried"; readonly reason: string }
  | { readonly state: "error"; readonly detail: string }
  | { readonly state: "missing"; readonly deployment: string; readonly namespace: string }
  | {
      readonly state: "found";
      readonly deployment: string;
      readonly namespace: string;
      /** `spec.replicas` of the Deployment. */
      readonly specReplicas: number;
      readonly ready: number;
      readonly updated: number;
      readonly available: number;
      /** `observedGeneration` < `generation`: the controller has not yet acted on the latest spec. */
      readonly stale: boolean;
      readonly conditions: readonly RolloutCondition[];
      readonly failingPods: readonly FailingPod[];
      /** Failing pods beyond those shown. */
      readonly moreFailingPods: number;
    };

const iso = (time: Time): string | undefined => {
  if (time === null || time === undefined || time === "") return undefined;
  const date = time instanceof Date ? time : new Date(time);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
};

/** Why a pod is not ready, one entry per container that says so (waiting/terminated reasons, restarts). */
function podReasons(pod: PodLike): string[] {
  const reasons: string[] = [];
  if (pod.status?.reason) reasons.push(pod.status.reason);
  for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = c.state?.waiting?.reason;
    const terminated = c.state?.terminated?.reason;
    const why = waiting ?? (terminated && terminated !== "Completed" ? terminated : c.ready === false && !terminated ? "not ready" : undefined);
    if (why === undefined) continue;
    const last = c.lastState?.terminated;
    const extra = [
      c.restartCount ? `restarts ${c.restartCount}` : "",
      last ? `last exit ${last.exitCode ?? "?"}${last.reason ? ` ${last.reason}` : ""}` : "",
    ].filter((s) => s !== "");
    reasons.push(`${c.name ?? "?"}: ${why}${extra.length ? ` (${extra.join(", ")})` : ""}`);
  }
  if (reasons.length === 0) {
    const unscheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
    if (unscheduled) reasons.push(`unschedulable: ${excerpt(unscheduled.message ?? unscheduled.reason ?? "")}`);
  }
  return reasons;
}

/** A pod is failing when it is not Running-and-Ready (and not being deleted, not Succeeded). */
export function isFailing(pod: PodLike): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  if (pod.status?.phase === "Succeeded") return false;
  const ready = pod.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
  return !(pod.status?.phase === "Running" && ready);
}

function eventTime(event: EventLike): string | undefined {
  return iso(event.lastTimestamp) ?? iso(event.eventTime) ?? iso(event.firstTimestamp) ?? iso(event.metadata?.creationTimestamp);
}

/** The latest `limit` events, newest first (ties kept in API order). */
export function latestEvents(events: readonly EventLike[], limit = EVENTS_PER_POD): PodEvent[] {
  return events
    .map((e, index) => ({ e, index, at: eventTime(e) }))
    .sort((a, b) => (a.at === b.at ? a.index - b.index : (b.at ?? "") < (a.at ?? "") ? -1 : 1))
    .slice(0, limit)
    .map(({ e, at }) => ({
      type: e.type ?? "Normal",
      reason: e.reason ?? "",
      message: excerpt(e.message),
      count: e.count ?? 1,
      ...(at === undefined ? {} : { lastSeen: at }),
    }));
}

/**
 * The rollout view of a Deployment and its pods: replica counts, conditions, and the failing pods (sorted by name,
 * at most FAILING_PODS_SHOWN) with their latest events from `eventsOf(podName)`.
 */
export function rolloutFromObjects(
  namespace: string,
  deployment: DeploymentLike,
  pods: readonly PodLike[],
  eventsOf: (pod: string) => readonly EventLike[],
): RolloutView & { state: "found" } {
  const status = deployment.status ?? {};
  const failing = pods
    .filter(isFailing)
    .map((p) => p.metadata?.name ?? "")
    .sort();
  const shown = failing.slice(0, FAILING_PODS_SHOWN);
  const byName = new Map(pods.map((p) => [p.metadata?.name ?? "", p]));
  return {
    state: "found",
    deployment: deployment.metadata?.name ?? "",
    namespace,
    specReplicas: deployment.spec?.replicas ?? 1,
    ready: status.readyReplicas ?? 0,
    updated: status.updatedReplicas ?? 0,
    available: status.availableReplicas ?? 0,
    stale: (status.observedGeneration ?? 0) < (deployment.metadata?.generation ?? 0),
    conditions: (status.conditions ?? [])
      .map((c) => ({
        type: c.type ?? "",
        status: c.status ?? "Unknown",
        ...(c.reason ? { reason: c.reason } : {}),
        ...(c.message ? { message: excerpt(c.message) } : {}),
      }))
      .sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0)),
    failingPods: shown.map((name) => {
      const pod = byName.get(name) ?? {};
      return { name, phase: pod.status?.phase ?? "Unknown", reasons: podReasons(pod), events: latestEvents(eventsOf(name)) };
    }),
    moreFailingPods: failing.length - shown.length,
  };
}

/** What to read for one model. */
export interface RolloutTarget {
  readonly namespace: string;
  /** Deployment name: the model's `serviceName`. */
  readonly deployment: string;
  /** The Deployment's pod selector labels. */
  readonly selector: Readonly<Record<string, string>>;
}

/** Reads rollouts through one kubeconfig. */
export interface RolloutReader {
  read(target: RolloutTarget): Promise<RolloutView>;
}

interface ApiErrorLike {
  readonly code?: unknown;
  readonly body?: unknown;
  readonly message?: unknown;
  readonly cause?: unknown;
}

/** One line for an API or network error: the HTTP code and the API's own message, never headers or credentials. */
export function describeKubeError(error: unknown, server: string): string {
  const e = (error ?? {}) as ApiErrorLike;
  if (typeof e.code === "number") {
    let body: unknown = e.body;
    if (typeof body === "string") {
      try {
        body = JSON.parse(body);
      } catch {
        // keep the text
      }
    }
    const message = typeof body === "object" && body !== null && typeof (body as { message?: unknown }).message === "string" ? (body as { message: string }).message : typeof body === "string" ? body : "";
    const hint = e.code === 401 ? " (the kubeconfig's credentials were refused)" : e.code === 403 ? " (the kubeconfig's user may not read Deployments, Pods or Events in this namespace)" : "";
    return `Kubernetes API ${server} answered HTTP ${e.code}${hint}${message ? `: ${excerpt(message)}` : ""}`;
  }
  const cause = e.cause instanceof Error ? e.cause.message : "";
  const code = typeof (e as { code?: unknown }).code === "string" ? String((e as { code?: unknown }).code) : "";
  const text = cause || code || (typeof e.message === "string" ? e.message.split("\n")[0] : String(error));
  return `cannot reach the Kubernetes API at ${server}: ${excerpt(text)}`;
}

/** The kubeconfig could not be read or used; a bad-input error (exit 2). */
export class KubeconfigError extends Error {
  override name = "KubeconfigError";
}

/**
 * Loads `@kubernetes/client-node` and the kubeconfig, and returns a reader. @throws KubeconfigError when the file
 * is missing, unreadable or has no current cluster.
 */
export async function openRolloutReader(choice: KubeconfigChoice): Promise<RolloutReader & { readonly server: string }> {
  if (!existsSync(choice.path)) {
    throw new KubeconfigError(`${choice.source}: kubeconfig ${JSON.stringify(choice.path)} does not exist; pass an existing file, or leave it out to skip the rollout`);
  }
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromFile(choice.path);
  } catch (error) {
    const why = error instanceof Error ? error.message.split("\n")[0] ?? "" : String(error);
    throw new KubeconfigError(`${choice.source}: kubeconfig ${JSON.stringify(choice.path)} could not be read: ${excerpt(why)}`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new KubeconfigError(`${choice.source}: kubeconfig ${JSON.stringify(choice.path)} has no current cluster (current-context ${JSON.stringify(kc.getCurrentContext())}); set current-context or pass another file`);
  }
  const server = cluster.server;
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  return {
    server,
    async read(target) {
      try {
        let deployment: DeploymentLike;
        try {
          deployment = await apps.readNamespacedDeployment({ name: target.deployment, namespace: target.namespace });
        } catch (error) {
          if ((error as ApiErrorLike)?.code === 404) return { state: "missing", deployment: target.deployment, namespace: target.namespace };
          throw error;
        }
        const labelSelector = Object.entries(target.selector)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, v]) => `${k}=${v}`)
          .join(",");
        const pods = (await core.listNamespacedPod({ namespace: target.namespace, labelSelector })).items;
        const failing = pods.filter(isFailing).map((p) => p.metadata?.name ?? "").sort().slice(0, FAILING_PODS_SHOWN);
        const events = new Map<string, readonly EventLike[]>();
        for (const name of failing) {
          const list = await core.listNamespacedEvent({ namespace: target.namespace, fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${name}` });
          events.set(name, list.items);
        }
        return rolloutFromObjects(target.namespace, deployment, pods, (name) => events.get(name) ?? []);
      } catch (error) {
        return { state: "error", detail: describeKubeError(error, server) };
      }
    },
  };
}
