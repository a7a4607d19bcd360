/**
 * Regression: a YAML alias inside the node it names (`data: &d {again: *d}`) parses to a map that contains itself.
 * The secret scanner (no-hardcoded-secrets) and the CORS document walk (no-wildcard-cors) followed every child and
 * never ended on such a value: `modelfleet check` span at 100% CPU on a few lines of YAML, and the policy property
 * test hung on an object its mutations had made cyclic. The checks run in a child process / worker thread with a
 * deadline, so a hang fails the test in seconds instead of stalling the run.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { loadStackFile } from "../../config/load.js";
import { yamlDocumentObject } from "../../policies/documents.js";
import { extraGroups } from "../../synth/groups.js";
import { synthesizeStack } from "../../synth/synthesize.js";

const ROOT = join(import.meta.dirname, "..", "..");
const DEADLINE_MS = 10_000;
const work = mkdtempSync(join(tmpdir(), "mf-recursive-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The stack's one download-script ConfigMap (about 45 KB of JavaScript in `download-job.mjs`). */
function fetchScriptConfigMap(): K8sObject {
  const config = loadStackFile(join(ROOT, "Pulumi.development.yaml"));
  const found = synthesizeStack(config, extraGroups(config)).objects.find((o) => o.metadata.name === "modelfleet-fetch-script");
  if (!found) throw new Error("synth output has no modelfleet-fetch-script ConfigMap");
  return found;
}

interface Reported {
  ruleId: string;
  objectRef: string;
  fieldPath: string;
  line?: number;
}

/** checkObjects (compiled, build/) in a worker thread: the objects travel by structured clone, cycles included. */
function checkInWorker(objects: unknown[]): Promise<Reported[]> {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    import(workerData.check).then(({ checkObjects }) => {
      const violations = checkObjects(workerData.objects, "production");
      parentPort.postMessage(violations.map(({ ruleId, objectRef, fieldPath }) => ({ ruleId, objectRef, fieldPath })));
    });`;
  const check = new URL("../../build/policies/check.js", import.meta.url).href;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: { check, objects } });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`checkObjects did not finish within ${DEADLINE_MS} ms (a walk that never ends?)`));
    }, DEADLINE_MS);
    worker.once("message", (message: Reported[]) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(message);
    });
    worker.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

const secretFindings = (violations: readonly Reported[]) => violations.filter((v) => v.ruleId === "no-hardcoded-secrets").map((v) => `${v.objectRef} ${v.fieldPath}`);

describe("policies on values that contain themselves", () => {
  it("checkObjects finishes on the 45 KB fetch-script ConfigMap, a Deployment and a values document holding cycles, reporting each finding once", async () => {
    const configMap = fetchScriptConfigMap() as K8sObject & { data: Record<string, unknown> };
    const script = configMap.data["download-job.mjs"];
    expect(typeof script === "string" && script.length > 40_000, "the fetch script is the ~45 KB value").toBe(true);
    const extra: Record<string, unknown> = { url: "https://fetch:pa55word-literal@db.internal/app" };
    extra["again"] = [configMap.data, extra];
    configMap.data["extra"] = extra;

    const deployment: Record<string, unknown> = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "loop", namespace: "inference" },
      spec: { template: { metadata: { labels: { app: "loop" } }, spec: { containers: [{ name: "c", image: "busybox@sha256:" + "a".repeat(64) }] } } },
    };
    (deployment["spec"] as Record<string, unknown>)["self"] = deployment["spec"];

    const values: Record<string, unknown> = { auth: { password: "literal-Pa55word", cors: { allowedOrigins: ["*"] } } };
    (values["auth"] as Record<string, unknown>)["again"] = [values];
    const document = yamlDocumentObject("values.yaml", values);

    const violations = await checkInWorker([configMap, deployment, document]);
    expect(secretFindings(violations)).toEqual([
      "ConfigMap/modelfleet-dev/modelfleet-fetch-script data.extra.url",
      "YamlDocument/-/values.yaml auth.password",
    ]);
    expect(violations.filter((v) => v.ruleId === "no-wildcard-cors").map((v) => v.fieldPath)).toEqual(["auth.cors.allowedOrigins[0]"]);
  }, 30_000);

  it("a value shared by two aliases (not a cycle) is still reported at each place it appears", async () => {
    const shared = { password: "literal-Pa55word" };
    const document = yamlDocumentObject("values.yaml", { a: shared, b: [shared] });
    expect(secretFindings(await checkInWorker([document]))).toEqual(["YamlDocument/-/values.yaml a.password", "YamlDocument/-/values.yaml b[0].password"]);
  }, 30_000);

  it("`modelfleet check` finishes on YAML with recursive aliases next to the 45 KB script and reports the findings at their lines", async () => {
    const script = fetchScriptConfigMap() as K8sObject & { data: Record<string, string> };
    const body = script.data["download-job.mjs"]!.split("\n").map((line) => (line === "" ? "" : `    ${line}`)).join("\n");
    const yaml =
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: modelfleet-fetch-script\n  namespace: modelfleet-dev\ndata: &data\n" +
      "  extra:\n    url: https://fetch:pa55word-literal@db.internal/app\n    again: [*data]\n" +
      `  download-job.mjs: |\n${body}\n` +
      "---\nauth: &auth\n  password: literal-Pa55word\n  cors:\n    allowedOrigins: ['*']\n  again: [*auth]\n";
    const file = join(work, "recursive.yaml");
    writeFileSync(file, yaml);
    const result = await execa("node", [join(ROOT, "bin", "modelfleet.js"), "check", "--json", file], { reject: false, timeout: DEADLINE_MS });
    expect(result.timedOut, "modelfleet check ran past its deadline (a walk that never ends?)").toBe(false);
    expect(result.exitCode, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as { violations: Reported[] };
    const docLine = yaml.split("\n").indexOf("auth: &auth") + 1;
    expect(report.violations.filter((v) => v.ruleId !== "no-wildcard-cors" || v.fieldPath.startsWith("auth")).map((v) => `${v.ruleId} ${v.fieldPath} ${v.line}`)).toEqual([
      "no-hardcoded-secrets data.extra.url 8",
      `no-hardcoded-secrets auth.password ${docLine + 1}`,
      `no-wildcard-cors auth.cors.allowedOrigins[0] ${docLine + 3}`,
    ]);
  }, 30_000);
});
