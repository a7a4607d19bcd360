/**
 * `modelfleet status` without Kubernetes: the stack config, a real PostgreSQL registry and stand-in engines; each
 * drift, an engine down, JSON output, bad input, and that no key or password is printed.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type pg from "pg";
import { desiredEntries } from "../../components/registry/scripts.js";
import { loadStackFile } from "../../config/load.js";
import type { DesiredEntry } from "../../registry/types.js";
import { formatAge, sourceText, type StatusReport } from "../../ops/status.js";
import { runStatus, STATUS_EXIT, type StatusRunOptions } from "../../ops/status-run.js";
import { API_KEY_ENV } from "../../ops/verify-run.js";
import { closeStandIns, KEY, standIn } from "../helpers/engine-stand-in.js";
import { stackValues } from "../helpers/stack-values.js";
import { reconcile } from "../../registry/reconcile.js";
import { DIGEST_B, useRegistryDatabase } from "../registry/support.js";

const ctx = useRegistryDatabase();
afterEach(closeStandIns);

/** A staging stack (models qwen3 and gguf, two replicas each, a generated API key) in its own folder. */
const DIR = mkdtempSync(join(tmpdir(), "modelfleet-status-"));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));
const STACK_FILE = join(DIR, "Pulumi.staging.yaml");
writeFileSync(STACK_FILE, stringify({ config: Object.fromEntries(Object.entries(stackValues("staging")).map(([k, v]) => [`modelfleet:${k}`, v])) }));
const CONFIG = loadStackFile(STACK_FILE, "staging");
const NOW = new Date("2025-05-02T09:03:00.000Z");

/** What the registration Job writes for the stack, with changes for one test. */
function registered(change: (entries: DesiredEntry[]) => DesiredEntry[] = (e) => e): DesiredEntry[] {
  return change(desiredEntries(CONFIG.models, CONFIG));
}

async function registry(entries: DesiredEntry[], healthCheckedSecondsAgo = 20): Promise<{ name: string; url: string; client: pg.Client }> {
  const { db, client } = await ctx.migratedDb();
  await reconcile(client, entries, "staging");
  await client.query("UPDATE model_registry_entries SET last_health_check_at = $1", [new Date(NOW.getTime() - healthCheckedSecondsAgo * 1000)]);
  return { name: db.name, url: db.url, client };
}

/** Both models answering as healthy stand-ins guarded by the key; `--endpoint` options for them. */
async function healthyEngines(): Promise<string[]> {
  const qwen = await standIn({ models: ["qwen3"], requireKey: true });
  const gguf = await standIn({ models: ["gguf"], requireKey: true });
  return [`qwen3=${qwen.url}`, `gguf=${gguf.url}`];
}

async function run(options: Partial<StatusRunOptions>, env: NodeJS.ProcessEnv = { [API_KEY_ENV]: KEY }) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runStatus({ stack: "staging", stackFile: STACK_FILE, probeTimeoutMs: 2000, ...options }, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env, now: () => NOW });
  return { code, stdout: out.join(""), stderr: err.join("") };
}

/** A loopback URL where nothing listens (a port just released). */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

const json = (stdout: string) => JSON.parse(stdout) as StatusReport;

describe("runStatus: healthy", () => {
  it("exits 0 with one table per model when registry, engines and config agree", async () => {
    const db = await registry(registered());
    const result = await run({ dbUrl: db.url, endpoints: await healthyEngines() });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(STATUS_EXIT.ok);
    const text = result.stdout;
    expect(text).toMatch(/^stack staging \(staging, namespace llm-staging\) at 2025-05-02T09:03:00.000Z\n/);
    expect(text).toContain("qwen3  vllm  OK\n");
    expect(text).toContain("gguf  llamacpp  OK\n");
    expect(text).toContain(`  desired   image     vllm/vllm-openai:v0.11.0@${CONFIG.pins.vllm.digest}\n`);
    expect(text).toContain(`            source    Qwen/Qwen3-0.6B@c1899de289a04d12100db370d81485cdf75e47ca\n`);
    expect(text).toContain("            endpoint  qwen3-staging.llm-staging.svc.cluster.local:8000\n");
    expect(text).toContain("  registry  status    ready, stack\n");
    expect(text).toContain("            health    2025-05-02T09:02:40.000Z (20 s ago)\n");
    expect(text).toContain('            served    "qwen3"\n');
    expect(text).toContain("  rollout   -         no kubeconfig (pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config)\n");
    expect(text.trimEnd().split("\n").at(-1)).toBe("2 model(s): all ready, no drift");
  });

  it("says the registry was not queried when no database URL is given, and still probes the engines", async () => {
    const result = await run({ endpoints: await healthyEngines() });
    expect(result.code).toBe(STATUS_EXIT.ok);
    expect(result.stdout).toContain("  registry  -         registry: not queried (set MODELFLEET_DB_URL)\n");
  });

  it("reads the database URL from MODELFLEET_DB_URL", async () => {
    const db = await registry(registered((e) => e.filter((x) => x.modelName === "qwen3")));
    const result = await run({ endpoints: await healthyEngines() }, { [API_KEY_ENV]: KEY, MODELFLEET_DB_URL: db.url });
    expect(result.code).toBe(STATUS_EXIT.problems);
    expect(result.stdout).toContain("  registry  -         not registered\n");
    expect(result.stdout).toContain("  problems  drift     in the config but not registered");
  });
});

describe("runStatus: drift", () => {
  it.each<[string, (e: DesiredEntry[]) => DesiredEntry[], string]>([
    [
      "registry digest differs from the config's",
      (e) => e.map((x) => (x.modelName === "qwen3" ? { ...x, imageDigest: DIGEST_B } : x)),
      `qwen3: registry digest ${DIGEST_B} differs from the config's ${CONFIG.pins.vllm.digest}: the deploy of the current pins has not finished or not run`,
    ],
    [
      "a model in the config is not registered",
      (e) => e.filter((x) => x.modelName !== "gguf"),
      "gguf: in the config but not registered: the registration Job has not run for this model",
    ],
    [
      "a registered, enabled model is no longer in the config",
      (e) => [...e, { ...e[0]!, modelName: "retired", endpoint: "retired-staging.llm-staging.svc.cluster.local:8000" }],
      "retired: registered (ready, stack) but no longer in ",
    ],
    [
      "the registry endpoint differs",
      (e) => e.map((x) => (x.modelName === "gguf" ? { ...x, endpoint: "10.0.0.9:8000" } : x)),
      "gguf: registry endpoint 10.0.0.9:8000 differs from the config's gguf-staging.llm-staging.svc.cluster.local:8000",
    ],
  ])("exits 1 when %s", async (_name, change, message) => {
    const db = await registry(registered(change));
    const result = await run({ dbUrl: db.url, endpoints: await healthyEngines(), json: true });
    expect(result.code).toBe(STATUS_EXIT.problems);
    const report = json(result.stdout);
    expect(report.ok).toBe(false);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]!.kind).toBe("drift");
    expect(report.problems[0]!.message).toContain(message);
  });

  it("does not report a model that left the stack once reconcile has disabled it", async () => {
    const db = await registry([...registered(), { ...registered()[0]!, modelName: "retired" }]);
    await db.client.query("UPDATE model_registry_entries SET deployment_status = 'disabled', disabled_by = 'reconcile' WHERE model_name = 'retired'");
    const result = await run({ dbUrl: db.url, endpoints: await healthyEngines(), json: true });
    expect(result.code).toBe(STATUS_EXIT.ok);
    expect(json(result.stdout).orphans).toEqual([]);
  });

  it("shows an operator-disabled model and a stale health check as not ready", async () => {
    const db = await registry(registered(), 600);
    await db.client.query("UPDATE model_registry_entries SET deployment_status = 'disabled', disabled_by = 'operator' WHERE model_name = 'gguf'");
    const result = await run({ dbUrl: db.url, endpoints: await healthyEngines() });
    expect(result.code).toBe(STATUS_EXIT.problems);
    expect(result.stdout).toContain("gguf  llamacpp  PROBLEMS\n");
    expect(result.stdout).toContain("registry status is disabled by operator: the router does not send it traffic (`modelfleet registry enable` to undo)");
    expect(result.stdout).toContain("last health check 10 min ago, older than the stack's staleAfterSeconds (30 s)");
  });

  it("reports an engine that serves another model as drift", async () => {
    const db = await registry(registered());
    const other = await standIn({ models: ["qwen2"], requireKey: true });
    const [, gguf] = await healthyEngines();
    const result = await run({ dbUrl: db.url, endpoints: [`qwen3=${other.url}`, gguf!], json: true });
    expect(result.code).toBe(STATUS_EXIT.problems);
    expect(json(result.stdout).problems).toEqual([
      { kind: "drift", message: `qwen3: engine ${other.url}/v1/models: does not list "qwen3" (it lists "qwen2"); the engine serves another model or none` },
    ]);
  });
});

describe("runStatus: engine down", () => {
  it("exits 1 naming an engine that refuses connections and one that answers 503", async () => {
    const db = await registry(registered());
    const loading = await standIn({ health: (res) => res.writeHead(503, { "content-type": "application/json" }).end('{"error":"Loading model"}') });
    const down = await closedPortUrl();
    const result = await run({ dbUrl: db.url, endpoints: [`qwen3=${down}`, `gguf=${loading.url}`] });
    expect(result.code).toBe(STATUS_EXIT.problems);
    expect(result.stdout).toContain(`  problems  not-ready engine ${down}/health: request failed: connect ECONNREFUSED`);
    expect(result.stdout).toContain(`  problems  not-ready engine ${loading.url}/health: HTTP 503 (still loading, or unhealthy) {"error":"Loading model"}`);
    expect(result.stdout).toContain("            served    not asked: /health failed\n");
    expect(result.stdout.trimEnd().split("\n").at(-1)).toBe("2 of 2 model(s) with problems; 0 drift, 2 not ready, 0 unknown");
  });

  it("probes the in-cluster Service when no --endpoint is given (unresolvable here: not ready)", async () => {
    const result = await run({ probeTimeoutMs: 500, json: true });
    expect(result.code).toBe(STATUS_EXIT.problems);
    const report = json(result.stdout);
    expect(report.models.map((m) => [m.probe.url, m.probe.via, m.probe.health.ok])).toEqual([
      ["http://qwen3-staging.llm-staging.svc.cluster.local:8000", "service", false],
      ["http://gguf-staging.llm-staging.svc.cluster.local:8000", "service", false],
    ]);
  });

  it("does not ask /v1/models without a key for a guarded stack, and says which variable to set", async () => {
    const result = await run({ endpoints: await healthyEngines() }, {});
    expect(result.code).toBe(STATUS_EXIT.ok);
    expect(result.stdout).toContain(`            served    not asked: the stack's engines need an API key; set ${API_KEY_ENV}\n`);
  });
});

describe("runStatus: JSON and secrets", () => {
  it("prints the whole report as JSON", async () => {
    const db = await registry(registered());
    const result = await run({ dbUrl: db.url, endpoints: await healthyEngines(), json: true });
    expect(result.code).toBe(STATUS_EXIT.ok);
    const report = json(result.stdout);
    expect(report).toMatchObject({ stack: "staging", environment: "staging", namespace: "llm-staging", at: NOW.toISOString(), ok: true, orphans: [], problems: [] });
    expect(report.models[0]).toMatchObject({
      model: "qwen3",
      ok: true,
      desired: { engine: "vllm", image: CONFIG.pins.vllm.reference, digest: CONFIG.pins.vllm.digest, replicas: 2, servedModelName: "qwen3", endpoint: "qwen3-staging.llm-staging.svc.cluster.local:8000" },
      registry: { state: "found", status: "ready", imageDigest: CONFIG.pins.vllm.digest, lastHealthCheckAt: "2025-05-02T09:02:40.000Z", healthAgeSeconds: 20 },
      probe: { via: "--endpoint", health: { ok: true }, models: { checked: true, ok: true, served: ["qwen3"] } },
      rollout: { state: "not-queried" },
      problems: [],
    });
  });

  it("never prints the API key or the database password, even when the engine echoes the key and the login fails", async () => {
    const db = await registry(registered());
    const echo = await standIn({ health: (res) => res.writeHead(500).end(`bad key ${KEY}`) });
    const badUrl = ctx.server().url(db.name, "wrong-password-0123456789");
    for (const dbUrl of [db.url, badUrl]) {
      for (const json of [false, true]) {
        const result = await run({ dbUrl, endpoints: [`qwen3=${echo.url}`], json });
        const all = result.stdout + result.stderr;
        expect(result.code).toBe(STATUS_EXIT.problems);
        expect(all).toContain("bad key ***");
        expect(all).not.toContain(KEY);
        expect(all).not.toContain(ctx.server().password);
        expect(all).not.toContain("wrong-password-0123456789");
      }
    }
    const failed = await run({ dbUrl: badUrl, endpoints: await healthyEngines() });
    expect(failed.stdout).toContain('registry not read: cannot connect to PostgreSQL at 127.0.0.1:');
    expect(failed.stdout).toContain('password authentication failed for user "modelfleet"');
  });
});

describe("runStatus: bad input exits 2 before any request", () => {
  it.each<[string, Partial<StatusRunOptions>, string]>([
    ["an --endpoint without =", { endpoints: ["http://127.0.0.1:8000"] }, "--endpoint must be <model>=<url>"],
    ["an --endpoint for an unknown model", { endpoints: ["nope=http://127.0.0.1:8000"] }, '--endpoint: no model "nope" in the stack; its models are qwen3, gguf'],
    ["an --endpoint given twice", { endpoints: ["qwen3=http://127.0.0.1:1", "qwen3=http://127.0.0.1:2"] }, 'model "qwen3" given twice'],
    ["an --endpoint with credentials", { endpoints: ["qwen3=http://user:s3cret-pw@127.0.0.1:1"] }, "must not hold credentials"],
    ["an --endpoint that is not http", { endpoints: ["qwen3=ftp://127.0.0.1/"] }, "must be an http(s) URL"],
    ["a database URL that is not postgres", { dbUrl: "mysql://u:s3cret-pw@h/db" }, '--db-url: database URL scheme "mysql:" is not postgres: or postgresql:'],
    ["a stack name that is a path", { stack: "../etc" }, "--stack: stack name"],
    ["a missing --kubeconfig", { kubeconfig: "/nonexistent/kubeconfig" }, '--kubeconfig: kubeconfig "/nonexistent/kubeconfig" does not exist'],
    ["a probe timeout out of range", { probeTimeoutMs: 5 }, "--probe-timeout must be a whole number of ms from 100 to 120000 (received 5)"],
  ])("%s", async (_name, options, message) => {
    const result = await run(options);
    expect(result.code).toBe(STATUS_EXIT.usage);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toContain("s3cret-pw");
    expect(result.stderr.split("\n")).toHaveLength(2);
  });

  it("exits 2 with the config's problems for a broken stack file", async () => {
    const file = join(DIR, "Pulumi.broken.yaml");
    writeFileSync(file, stringify({ config: { "modelfleet:environment": "staging", "modelfleet:models": [{ name: "x" }] } }));
    const result = await run({ stack: "broken", stackFile: file });
    expect(result.code).toBe(STATUS_EXIT.usage);
    expect(result.stderr).toContain("Pulumi.broken.yaml");
  });
});

describe("formatting helpers", () => {
  it.each([[0, "0 s"], [119, "119 s"], [120, "2 min"], [3600, "1 h"], [3900, "1 h 5 min"], [172800, "2 d"], [180000, "2 d 2 h"]])("formatAge(%i) = %s", (s, text) => {
    expect(formatAge(s)).toBe(text);
  });

  it("writes a source as repo@revision[:file] or pvc:claim[:path]", () => {
    expect(sourceText({ kind: "huggingFace", repo: "Qwen/Qwen3-0.6B-GGUF", revision: "abc", file: "q.gguf", files: ["q.gguf"], optionalFiles: [] })).toBe("Qwen/Qwen3-0.6B-GGUF@abc:q.gguf");
    expect(sourceText({ kind: "pvc", claimName: "weights", path: "llama/8b" })).toBe("pvc:weights:llama/8b");
    expect(sourceText({ kind: "pvc", claimName: "weights", path: "" })).toBe("pvc:weights");
  });
});
