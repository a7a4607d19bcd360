/**
 * `modelfleet status`: per model of a stack, what the config wants, what the registry holds, what the engine answers
 * and how the Deployment's rollout stands, and every difference between them ("problems"), as a report object and
 * its text and JSON forms. Everything here is pure: ops/status-run.ts gathers the facts and calls `buildReport`.
 */
import type { ResolvedModel, StackConfig } from "../config/types.js";
import type { RegistryEntry } from "../registry/types.js";
import type { RolloutView } from "./kube.js";

/** What the stack config wants for one model. */
export interface DesiredView {
  readonly engine: ResolvedModel["engine"];
  /** The engine image pin as the stack file writes it. */
  readonly image: string;
  /** `sha256:…` of the pin, or null for a tag-only pin (development). */
  readonly digest: string | null;
  readonly replicas: number;
  /** `repo@revision` (`repo@revision:file` for a GGUF file) or `pvc:<claim>[:<path>]`. */
  readonly source: string;
  readonly servedModelName: string;
  /** `host:port` of the model's Service. */
  readonly endpoint: string;
}

/** The model's registry row, or why there is none to show. */
export type RegistryView =
  | { readonly state: "not-queried"; readonly reason: string }
  | { readonly state: "error"; readonly detail: string }
  | { readonly state: "missing" }
  | {
      readonly state: "found";
      readonly status: RegistryEntry["status"];
      readonly disabledBy: RegistryEntry["disabledBy"];
      readonly managedBy: RegistryEntry["managedBy"];
      readonly endpoint: string;
      readonly servedModelName: string;
      readonly imageDigest: string | null;
      /** ISO time of the last health check, null when never checked. */
      readonly lastHealthCheckAt: string | null;
      /** Whole seconds since then, at report time. */
      readonly healthAgeSeconds: number | null;
    };

/** What the engine answered on `/health` and `/v1/models`. */
export interface ProbeView {
  /** Base URL probed: the in-cluster Service, or `--endpoint model=url`. */
  readonly url: string;
  /** Where the URL came from. */
  readonly via: "service" | "--endpoint";
  readonly health: { readonly ok: boolean; readonly detail: string };
  /** `served` lists the `/v1/models` ids; `checked: false` when it was not asked (no key for a guarded stack, or /health failed). */
  readonly models: { readonly checked: boolean; readonly ok: boolean; readonly served: readonly string[]; readonly detail: string };
}

export type ProblemKind = "drift" | "not-ready" | "unknown";

export interface Problem {
  readonly kind: ProblemKind;
  readonly message: string;
}

export interface ModelStatus {
  readonly model: string;
  readonly ok: boolean;
  readonly desired: DesiredView;
  readonly registry: RegistryView;
  readonly probe: ProbeView;
  readonly rollout: RolloutView;
  readonly problems: readonly Problem[];
}

/** A registered, enabled row of the stack's environment whose model is not in the config. */
export interface OrphanRow {
  readonly model: string;
  readonly status: RegistryEntry["status"];
  readonly managedBy: RegistryEntry["managedBy"];
  readonly endpoint: string;
}

export interface StatusReport {
  readonly stack: string;
  readonly environment: string;
  readonly namespace: string;
  /** ISO time the report was made (ages are relative to it). */
  readonly at: string;
  readonly ok: boolean;
  readonly models: readonly ModelStatus[];
  readonly orphans: readonly OrphanRow[];
  /** Every problem, prefixed with its model, in report order. */
  readonly problems: readonly Problem[];
}

export function sourceText(source: ResolvedModel["source"]): string {
  switch (source.kind) {
    case "huggingFace":
      return `${source.repo}@${source.revision}${source.file ? `:${source.file}` : ""}`;
    case "pvc":
      return `pvc:${source.claimName}${source.path ? `:${source.path}` : ""}`;
    default: {
      const never: never = source;
      return never;
    }
  }
}

export function desiredOf(model: ResolvedModel, config: Pick<StackConfig, "pins">): DesiredView {
  const pin = config.pins[model.engine];
  return {
    engine: model.engine,
    image: pin.reference,
    digest: pin.digest ?? null,
    replicas: model.replicas,
    source: sourceText(model.source),
    servedModelName: model.servedModelName,
    endpoint: model.endpoint,
  };
}

export function registryView(entry: RegistryEntry | undefined, now: Date): RegistryView {
  if (!entry) return { state: "missing" };
  const at = entry.lastHealthCheckAt;
  return {
    state: "found",
    status: entry.status,
    disabledBy: entry.disabledBy,
    managedBy: entry.managedBy,
    endpoint: entry.endpoint,
    servedModelName: entry.servedModelName,
    imageDigest: entry.imageDigest,
    lastHealthCheckAt: at ? at.toISOString() : null,
    healthAgeSeconds: at ? Math.max(0, Math.floor((now.getTime() - at.getTime()) / 1000)) : null,
  };
}

/** `42 s`, `5 min`, `3 h 5 min`, `2 d 4 h`. */
export function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ""}`;
  return `${Math.floor(hours / 24)} d${hours % 24 ? ` ${hours % 24} h` : ""}`;
}

const short = (digest: string | null) => digest ?? "none (tag only)";

/** Every difference between config, registry, engine and rollout for one model. */
export function problemsOf(desired: DesiredView, registry: RegistryView, probe: ProbeView, rollout: RolloutView, staleAfterSeconds: number): Problem[] {
  const problems: Problem[] = [];
  const add = (kind: ProblemKind, message: string) => problems.push({ kind, message });

  switch (registry.state) {
    case "not-queried":
      break;
    case "error":
      add("unknown", `registry not read: ${registry.detail}`);
      break;
    case "missing":
      add("drift", "in the config but not registered: the registration Job has not run for this model (run `pulumi up`, or apply the synthesized registry Job)");
      break;
    case "found":
      if (registry.imageDigest !== desired.digest) {
        add("drift", `registry digest ${short(registry.imageDigest)} differs from the config's ${short(desired.digest)}: the deploy of the current pins has not finished or not run`);
      }
      if (registry.endpoint !== desired.endpoint) add("drift", `registry endpoint ${registry.endpoint} differs from the config's ${desired.endpoint}`);
      if (registry.servedModelName !== desired.servedModelName) add("drift", `registry served name "${registry.servedModelName}" differs from the config's "${desired.servedModelName}"`);
      if (registry.status !== "ready") {
        const by = registry.disabledBy ? ` by ${registry.disabledBy}` : "";
        add("not-ready", `registry status is ${registry.status}${by}: the router does not send it traffic${registry.disabledBy === "operator" ? " (`modelfleet registry enable` to undo)" : ""}`);
      } else if (registry.healthAgeSeconds === null) {
        add("not-ready", "registry row was never health-checked: the router waits for the first health run");
      } else if (registry.healthAgeSeconds > staleAfterSeconds) {
        add("not-ready", `last health check ${formatAge(registry.healthAgeSeconds)} ago, older than the stack's staleAfterSeconds (${staleAfterSeconds} s): the router treats the model as stale; is the health checker running?`);
      }
      break;
    default: {
      const never: never = registry;
      return never;
    }
  }

  if (!probe.health.ok) add("not-ready", `engine ${probe.url}/health: ${probe.health.detail}`);
  else if (probe.models.checked && !probe.models.ok) add(probe.models.served.length > 0 ? "drift" : "not-ready", `engine ${probe.url}/v1/models: ${probe.models.detail}`);

  switch (rollout.state) {
    case "not-queried":
      break;
    case "error":
      add("unknown", `rollout not read: ${rollout.detail}`);
      break;
    case "missing":
      add("drift", `Deployment ${rollout.deployment} not found in namespace ${rollout.namespace}: the model is in the config but not deployed`);
      break;
    case "found": {
      if (rollout.specReplicas !== desired.replicas) add("drift", `Deployment runs ${rollout.specReplicas} replica(s), the config wants ${desired.replicas}`);
      if (rollout.ready < desired.replicas) add("not-ready", `${rollout.ready} of ${desired.replicas} replica(s) ready`);
      for (const c of rollout.conditions) {
        const bad = (c.type === "Available" && c.status !== "True") || (c.type === "Progressing" && (c.status === "False" || c.reason === "ProgressDeadlineExceeded")) || (c.type === "ReplicaFailure" && c.status === "True");
        if (bad) add("not-ready", `Deployment condition ${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ""}${c.message ? `: ${c.message}` : ""}`);
      }
      for (const pod of rollout.failingPods) add("not-ready", `pod ${pod.name} ${pod.phase}${pod.reasons.length ? `: ${pod.reasons.join("; ")}` : ""}`);
      break;
    }
    default: {
      const never: never = rollout;
      return never;
    }
  }
  return problems;
}

export interface ReportInput {
  readonly config: StackConfig;
  readonly now: Date;
  /** The environment's registry rows, or why there are none. */
  readonly registry: { readonly state: "rows"; readonly rows: readonly RegistryEntry[] } | { readonly state: "not-queried"; readonly reason: string } | { readonly state: "error"; readonly detail: string };
  /** Probe per model name. */
  readonly probes: ReadonlyMap<string, ProbeView>;
  /** Rollout per model name; absent entries are `notQueried`. */
  readonly rollouts: ReadonlyMap<string, RolloutView>;
  /** Why rollouts were not read, when they were not. */
  readonly rolloutNotQueried: string;
}

export function buildReport(input: ReportInput): StatusReport {
  const { config, now } = input;
  const rows = input.registry.state === "rows" ? input.registry.rows.filter((r) => r.environment === config.environment) : [];
  const byModel = new Map(rows.map((r) => [r.modelName, r]));
  const models = config.models.map((model): ModelStatus => {
    const desired = desiredOf(model, config);
    const registry: RegistryView =
      input.registry.state === "rows" ? registryView(byModel.get(model.name), now) : input.registry.state === "error" ? { state: "error", detail: input.registry.detail } : { state: "not-queried", reason: input.registry.reason };
    const probe = input.probes.get(model.name) ?? {
      url: `http://${model.endpoint}`,
      via: "service" as const,
      health: { ok: false, detail: "not probed" },
      models: { checked: false, ok: false, served: [], detail: "not probed" },
    };
    const rollout = input.rollouts.get(model.name) ?? { state: "not-queried" as const, reason: input.rolloutNotQueried };
    const problems = problemsOf(desired, registry, probe, rollout, config.registry.staleAfterSeconds);
    return { model: model.name, ok: problems.length === 0, desired, registry, probe, rollout, problems };
  });
  const inConfig = new Set(config.models.map((m) => m.name));
  const orphans = rows
    .filter((r) => !inConfig.has(r.modelName) && r.status !== "disabled")
    .map((r) => ({ model: r.modelName, status: r.status, managedBy: r.managedBy, endpoint: r.endpoint }));
  const problems: Problem[] = [
    ...models.flatMap((m) => m.problems.map((p) => ({ kind: p.kind, message: `${m.model}: ${p.message}` }))),
    ...orphans.map((o) => ({
      kind: "drift" as const,
      message: `${o.model}: registered (${o.status}, ${o.managedBy}) but no longer in ${config.file}; the router still sends it traffic (\`modelfleet registry disable ${o.model} --env ${config.environment}\`, or deploy the stack so reconcile disables it)`,
    })),
  ];
  return {
    stack: config.stack,
    environment: config.environment,
    namespace: config.namespace,
    at: now.toISOString(),
    ok: problems.length === 0,
    models,
    orphans,
    problems,
  };
}

function section(lines: string[], title: string, rows: ReadonlyArray<readonly [string, string]>): void {
  rows.forEach(([key, value], i) => lines.push(`  ${(i === 0 ? title : "").padEnd(9)} ${key.padEnd(9)} ${value}`.trimEnd()));
}

function registryRows(view: RegistryView): Array<[string, string]> {
  switch (view.state) {
    case "not-queried":
      return [["-", view.reason]];
    case "error":
      return [["error", view.detail]];
    case "missing":
      return [["-", "not registered"]];
    case "found":
      return [
        ["status", `${view.status}${view.disabledBy ? ` (by ${view.disabledBy})` : ""}, ${view.managedBy}`],
        ["endpoint", view.endpoint],
        ["digest", short(view.imageDigest)],
        ["health", view.lastHealthCheckAt === null ? "never checked" : `${view.lastHealthCheckAt} (${formatAge(view.healthAgeSeconds ?? 0)} ago)`],
      ];
    default: {
      const never: never = view;
      return never;
    }
  }
}

function rolloutRows(view: RolloutView): Array<[string, string]> {
  switch (view.state) {
    case "not-queried":
      return [["-", view.reason]];
    case "error":
      return [["error", view.detail]];
    case "missing":
      return [["-", `Deployment ${view.deployment} not found in ${view.namespace}`]];
    case "found": {
      const rows: Array<[string, string]> = [
        ["replicas", `${view.ready} ready, ${view.updated} updated, ${view.available} available of ${view.specReplicas}${view.stale ? " (controller has not seen the latest spec yet)" : ""}`],
      ];
      for (const c of view.conditions) rows.push(["condition", `${c.type}=${c.status}${c.reason ? ` ${c.reason}` : ""}${c.message ? `: ${c.message}` : ""}`]);
      for (const pod of view.failingPods) {
        rows.push(["pod", `${pod.name} ${pod.phase}${pod.reasons.length ? `: ${pod.reasons.join("; ")}` : ""}`]);
        for (const e of pod.events) rows.push(["  event", `${e.lastSeen ?? "-"} ${e.type} ${e.reason}${e.count > 1 ? ` (x${e.count})` : ""}: ${e.message}`]);
      }
      if (view.moreFailingPods > 0) rows.push(["pod", `… and ${view.moreFailingPods} more failing pod(s)`]);
      return rows;
    }
    default: {
      const never: never = view;
      return never;
    }
  }
}

/** The report as text: one table per model, then orphaned registry rows, then a summary line. */
export function formatReport(report: StatusReport): string {
  const lines: string[] = [`stack ${report.stack} (${report.environment}, namespace ${report.namespace}) at ${report.at}`, ""];
  for (const m of report.models) {
    lines.push(`${m.model}  ${m.desired.engine}  ${m.ok ? "OK" : "PROBLEMS"}`);
    const d = m.desired;
    section(lines, "desired", [
      ["image", d.image],
      ["digest", short(d.digest)],
      ["replicas", String(d.replicas)],
      ["source", d.source],
      ["served", d.servedModelName],
      ["endpoint", d.endpoint],
    ]);
    section(lines, "registry", registryRows(m.registry));
    const p = m.probe;
    section(lines, "engine", [
      ["url", `${p.url}${p.via === "--endpoint" ? " (--endpoint)" : ""}`],
      ["/health", p.health.detail],
      ["served", p.models.detail],
    ]);
    section(lines, "rollout", rolloutRows(m.rollout));
    section(
      lines,
      "problems",
      m.problems.length === 0 ? [["-", "none"]] : m.problems.map((x) => [x.kind, x.message] as [string, string]),
    );
    lines.push("");
  }
  if (report.orphans.length > 0) {
    lines.push("registered but not in the config:");
    for (const o of report.orphans) lines.push(`  ${o.model}  ${o.status}, ${o.managedBy}  ${o.endpoint}`);
    lines.push("");
  }
  const counts = (kind: ProblemKind) => report.problems.filter((p) => p.kind === kind).length;
  lines.push(
    report.ok
      ? `${report.models.length} model(s): all ready, no drift`
      : `${report.models.filter((m) => !m.ok).length} of ${report.models.length} model(s) with problems; ${counts("drift")} drift, ${counts("not-ready")} not ready, ${counts("unknown")} unknown${report.orphans.length ? `; ${report.orphans.length} registered model(s) not in the config` : ""}`,
  );
  return `${lines.join("\n")}\n`;
}

/** The report as JSON (keys in a fixed order, as built). */
export function reportJson(report: StatusReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
