/**
 * The rollout part of `modelfleet status`, through the real @kubernetes/client-node against a local stub API server
 * that answers with recorded responses (test/fixtures/kube/), and `rolloutFromObjects` on the same fixtures.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { chooseKubeconfig, rolloutFromObjects, type DeploymentLike, type EventLike, type PodLike } from "../../ops/kube.js";
import type { StatusReport } from "../../ops/status.js";
import { runStatus, STATUS_EXIT, type StatusRunOptions } from "../../ops/status-run.js";
import { API_KEY_ENV } from "../../ops/verify-run.js";
import { closeStandIns, KEY, standIn } from "../helpers/engine-stand-in.js";
import { stackValues } from "../helpers/stack-values.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "kube");
const fixture = <T>(name: string): T => JSON.parse(readFileSync(join(FIXTURES, name), "utf8")) as T;
const TOKEN = "kube-bearer-token-do-not-print-0123456789";

const DIR = mkdtempSync(join(tmpdir(), "modelfleet-status-kube-"));
const STACK_FILE = join(DIR, "Pulumi.staging.yaml");
writeFileSync(STACK_FILE, stringify({ config: Object.fromEntries(Object.entries(stackValues("staging")).map(([k, v]) => [`modelfleet:${k}`, v])) }));

/** The recorded healthy Deployment/pods of qwen3, renamed for the stack's other model. */
const asGguf = <T>(value: T): T => JSON.parse(JSON.stringify(value).replaceAll("qwen3-staging", "gguf-staging").replaceAll('"qwen3"', '"gguf"')) as T;

type Answer = { status: number; body: unknown };
let routes: Record<string, Answer> = {};
const seen: string[] = [];
let api: Server;
let apiUrl = "";

beforeAll(async () => {
  api = createServer((req, res) => {
    seen.push(`${req.method} ${decodeURIComponent(req.url ?? "")} ${req.headers.authorization === `Bearer ${TOKEN}` ? "auth" : "no-auth"}`);
    const path = decodeURIComponent(req.url ?? "");
    const answer = routes[path] ?? { status: 404, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `the server could not find the requested resource`, reason: "NotFound", code: 404 } };
    res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});
afterAll(async () => {
  api.closeAllConnections();
  await new Promise((resolve) => api.close(resolve));
  rmSync(DIR, { recursive: true, force: true });
});
afterEach(async () => {
  routes = {};
  seen.length = 0;
  await closeStandIns();
});

function kubeconfig(server = apiUrl): string {
  const file = join(DIR, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(
    file,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      // client-node refuses plain http unless TLS verification is off (as for `kubectl proxy`).
      clusters: [{ name: "stub", cluster: { server, "insecure-skip-tls-verify": true } }],
      users: [{ name: "operator", user: { token: TOKEN } }],
      contexts: [{ name: "stub", context: { cluster: "stub", user: "operator", namespace: "llm-staging" } }],
      "current-context": "stub",
    }),
  );
  return file;
}

const NS = "/api/v1/namespaces/llm-staging";
const DEPLOYMENTS = "/apis/apps/v1/namespaces/llm-staging/deployments";
const podsPath = (model: string) => `${NS}/pods?labelSelector=app.kubernetes.io/instance=${model}-staging,app.kubernetes.io/name=${model}`;
const eventsPath = (pod: string) => `${NS}/events?fieldSelector=involvedObject.kind=Pod,involvedObject.name=${pod}`;
const CRASHING = "qwen3-staging-5b7c9d8f4a-h2n8r";

function healthyRoutes(): Record<string, Answer> {
  const deployment = fixture("deployment-qwen3-healthy.json");
  const pods = fixture("pods-qwen3-healthy.json");
  return {
    [`${DEPLOYMENTS}/qwen3-staging`]: { status: 200, body: deployment },
    [podsPath("qwen3")]: { status: 200, body: pods },
    [`${DEPLOYMENTS}/gguf-staging`]: { status: 200, body: asGguf(deployment) },
    [podsPath("gguf")]: { status: 200, body: asGguf(pods) },
  };
}

async function run(options: Partial<StatusRunOptions>, env: NodeJS.ProcessEnv = {}) {
  const qwen = await standIn({ models: ["qwen3"], requireKey: true });
  const gguf = await standIn({ models: ["gguf"], requireKey: true });
  const out: string[] = [];
  const err: string[] = [];
  const code = await runStatus(
    { stack: "staging", stackFile: STACK_FILE, endpoints: [`qwen3=${qwen.url}`, `gguf=${gguf.url}`], ...options },
    { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: { [API_KEY_ENV]: KEY, ...env }, now: () => new Date("2025-05-02T09:03:00Z") },
  );
  const stdout = out.join("");
  const stderr = err.join("");
  expect(stdout + stderr).not.toContain(TOKEN);
  expect(stdout + stderr).not.toContain(KEY);
  return { code, stdout, stderr };
}

describe("status rollout through a kubeconfig", () => {
  it("shows a rolled-out Deployment and exits 0, asking only for the model's Deployment and pods", async () => {
    routes = healthyRoutes();
    const result = await run({ kubeconfig: kubeconfig() });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(STATUS_EXIT.ok);
    expect(result.stdout).toContain("  rollout   replicas  2 ready, 2 updated, 2 available of 2\n");
    expect(result.stdout).toContain("            condition Available=True MinimumReplicasAvailable: Deployment has minimum availability.\n");
    expect([...seen].sort()).toEqual(
      [
        `GET ${DEPLOYMENTS}/gguf-staging auth`,
        `GET ${DEPLOYMENTS}/qwen3-staging auth`,
        `GET ${podsPath("gguf")} auth`,
        `GET ${podsPath("qwen3")} auth`,
      ].sort(),
    );
  });

  it("shows unavailable replicas, the CrashLoopBackOff pod and its latest events, and exits 1", async () => {
    routes = {
      ...healthyRoutes(),
      [`${DEPLOYMENTS}/qwen3-staging`]: { status: 200, body: fixture("deployment-qwen3-unavailable.json") },
      [podsPath("qwen3")]: { status: 200, body: fixture("pods-qwen3-crashloop.json") },
      [eventsPath(CRASHING)]: { status: 200, body: fixture("events-qwen3-crashloop.json") },
    };
    const result = await run({ kubeconfig: kubeconfig() });
    expect(result.code).toBe(STATUS_EXIT.problems);
    const text = result.stdout;
    expect(text).toContain("qwen3  vllm  PROBLEMS\n");
    expect(text).toContain("  rollout   replicas  1 ready, 2 updated, 1 available of 2\n");
    expect(text).toContain(`            pod       ${CRASHING} Running: engine: CrashLoopBackOff (restarts 12, last exit 1 Error)\n`);
    expect(text).toContain("              event   2025-05-02T09:02:13.000Z Warning BackOff (x88): Back-off restarting failed container engine in pod");
    expect(text).toContain('              event   2025-05-02T09:01:50.000Z Warning Unhealthy (x37): Startup probe failed: Get "http://10.244.3.31:8000/health"');
    expect(text).toContain("  problems  not-ready 1 of 2 replica(s) ready\n");
    expect(text).toContain("            not-ready Deployment condition Available=False (MinimumReplicasUnavailable): Deployment does not have minimum availability.\n");
    expect(text).toContain("gguf  llamacpp  OK\n");
    expect(seen).toContain(`GET ${eventsPath(CRASHING)} auth`);
    // The newest event first; the oldest (Scheduled) beyond the five shown is left out.
    const events = text.split("\n").filter((l) => l.includes(" event "));
    expect(events.map((l) => /Z (?:Normal|Warning) (\w+)/.exec(l)?.[1])).toEqual(["BackOff", "Unhealthy", "Pulled", "Started", "Scheduled"]);
  });

  it("reports a missing Deployment as drift", async () => {
    routes = healthyRoutes();
    delete routes[`${DEPLOYMENTS}/gguf-staging`];
    const result = await run({ kubeconfig: kubeconfig(), json: true });
    expect(result.code).toBe(STATUS_EXIT.problems);
    const report = JSON.parse(result.stdout) as StatusReport;
    expect(report.models[1]!.rollout).toEqual({ state: "missing", deployment: "gguf-staging", namespace: "llm-staging" });
    expect(report.problems).toEqual([{ kind: "drift", message: "gguf: Deployment gguf-staging not found in namespace llm-staging: the model is in the config but not deployed" }]);
  });

  it("reports a refused API call with its HTTP code and message, never the token", async () => {
    routes = healthyRoutes();
    routes[`${DEPLOYMENTS}/qwen3-staging`] = {
      status: 403,
      body: { kind: "Status", apiVersion: "v1", status: "Failure", reason: "Forbidden", code: 403, message: 'deployments.apps "qwen3-staging" is forbidden: User "operator" cannot get resource "deployments" in API group "apps" in the namespace "llm-staging"' },
    };
    const result = await run({ kubeconfig: kubeconfig() });
    expect(result.code).toBe(STATUS_EXIT.problems);
    expect(result.stdout).toContain(`  problems  unknown   rollout not read: Kubernetes API ${apiUrl} answered HTTP 403 (the kubeconfig's user may not read Deployments, Pods or Events in this namespace): deployments.apps "qwen3-staging" is forbidden`);
  });

  it("reports an unreachable API server as unknown and exits 1", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await run({ kubeconfig: kubeconfig(`http://127.0.0.1:${port}`), json: true });
    expect(result.code).toBe(STATUS_EXIT.problems);
    const report = JSON.parse(result.stdout) as StatusReport;
    expect(report.models.map((m) => m.rollout.state)).toEqual(["error", "error"]);
    expect(report.problems[0]!.message).toMatch(new RegExp(`^qwen3: rollout not read: cannot reach the Kubernetes API at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
  });

  it("uses KUBECONFIG when no --kubeconfig is given", async () => {
    routes = healthyRoutes();
    const result = await run({}, { KUBECONFIG: `/nonexistent/a:${kubeconfig()}` });
    expect(result.code).toBe(STATUS_EXIT.ok);
    expect(seen).toHaveLength(4);
  });
});

describe("chooseKubeconfig", () => {
  const exists = (paths: string[]) => (p: string) => paths.includes(p);
  it.each<[string, string | undefined, NodeJS.ProcessEnv, string[], ReturnType<typeof chooseKubeconfig>]>([
    ["--kubeconfig wins, even when missing", "/k/flag", { KUBECONFIG: "/k/env" }, ["/k/env"], { path: "/k/flag", source: "--kubeconfig" }],
    ["the first existing file of KUBECONFIG", undefined, { KUBECONFIG: "/k/missing:/k/b:/k/c", HOME: "/h" }, ["/k/b", "/k/c", "/h/.kube/config"], { path: "/k/b", source: "KUBECONFIG" }],
    ["~/.kube/config when it exists", undefined, { HOME: "/h" }, ["/h/.kube/config"], { path: "/h/.kube/config", source: "~/.kube/config" }],
    ["none: the rollout is not queried", undefined, { HOME: "/h" }, [], undefined],
  ])("%s", (_name, option, env, files, expected) => {
    expect(chooseKubeconfig(option, env, exists(files))).toEqual(expected);
  });
});

describe("rolloutFromObjects", () => {
  it("reads the recorded crash-looping rollout", () => {
    const view = rolloutFromObjects(
      "llm-staging",
      fixture<DeploymentLike>("deployment-qwen3-unavailable.json"),
      fixture<{ items: PodLike[] }>("pods-qwen3-crashloop.json").items,
      (pod) => (pod === CRASHING ? fixture<{ items: EventLike[] }>("events-qwen3-crashloop.json").items : []),
    );
    expect(view).toMatchObject({ deployment: "qwen3-staging", specReplicas: 2, ready: 1, updated: 2, available: 1, stale: false, moreFailingPods: 0 });
    expect(view.conditions.map((c) => `${c.type}=${c.status} ${c.reason}`)).toEqual(["Available=False MinimumReplicasUnavailable", "Progressing=True ReplicaSetUpdated"]);
    expect(view.failingPods).toHaveLength(1);
    expect(view.failingPods[0]).toMatchObject({ name: CRASHING, phase: "Running", reasons: ["engine: CrashLoopBackOff (restarts 12, last exit 1 Error)"] });
    expect(view.failingPods[0]!.events[0]).toEqual({
      type: "Warning",
      reason: "BackOff",
      message: expect.stringMatching(/^Back-off restarting failed container engine in pod/),
      count: 88,
      lastSeen: "2025-05-02T09:02:13.000Z",
    });
  });

  it("shows at most three failing pods and counts the rest; a pending unschedulable pod says why", () => {
    const pending = (name: string): PodLike => ({
      metadata: { name },
      status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes are available: 3 Insufficient nvidia.com/gpu." }] },
    });
    const view = rolloutFromObjects("ns", { metadata: { name: "d", generation: 4 }, spec: { replicas: 5 }, status: { observedGeneration: 3 } }, ["e", "d", "c", "b", "a"].map(pending), () => []);
    expect(view.failingPods.map((p) => p.name)).toEqual(["a", "b", "c"]);
    expect(view.moreFailingPods).toBe(2);
    expect(view.stale).toBe(true);
    expect(view.failingPods[0]!.reasons).toEqual(["unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu."]);
  });
});
