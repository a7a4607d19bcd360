/**
 * Policy check benchmark: `checkPaths` (what `modelfleet check` runs) over 10,000 Kubernetes objects written as YAML
 * (2,500 models × Deployment, Service, NetworkPolicy, PodDisruptionBudget, in 100 multi-document files), against
 * only parsing the same files with the `yaml` library in the same run. Run: node --import tsx bench/check.ts
 *
 * The parse baseline is the fastest correct way the `yaml` library offers to read multi-document YAML into plain
 * data, measured here among its ways (parseAllDocuments + toJS, with and without a LineCounter; Parser + Composer
 * streaming), so the ratio is not flattered by a slow baseline. The checker itself reads generated YAML with its own
 * fast reader (policies/fast-yaml.ts) and uses the library only to locate findings and for what the reader hands over.
 * Aims (issue #12): check ≥ 10,000 objects/s on this corpus, and check/parse ≤ 1.5.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadavg } from "node:os";
import { Composer, LineCounter, parseAllDocuments, Parser, stringify, type Document } from "yaml";
import { checkPaths } from "../policies/check.js";

const MODELS = 2_500;
const FILES = 100;
const RUNS = 5;
const DIGEST = `sha256:${"d".repeat(64)}`;

function model(i: number): object[] {
  const name = `m${String(i).padStart(5, "0")}`;
  const labels = { app: name };
  const probe = { httpGet: { path: "/health", port: 8000 }, periodSeconds: 10 };
  return [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace: "inference", labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 1000 },
            containers: [
              {
                name: "vllm",
                image: `vllm/vllm-openai@${DIGEST}`,
                args: ["--model", `org/${name}`, "--allowed-origins", '["https://chat.example.com"]', "--api-key", "$(VLLM_API_KEY)"],
                env: [
                  { name: "VLLM_API_KEY", valueFrom: { secretKeyRef: { name: "api-key", key: "key" } } },
                  { name: "TOKENIZERS_PARALLELISM", value: "false" },
                  // every 50th model carries a hardcoded password, so the report path is exercised too
                  ...(i % 50 === 0 ? [{ name: "POSTGRES_PASSWORD", value: "lstm_password" }] : []),
                ],
                resources: { requests: { cpu: "4", memory: "16Gi" }, limits: { cpu: "4", memory: "16Gi", "nvidia.com/gpu": "1" } },
                securityContext: { allowPrivilegeEscalation: false },
                startupProbe: { ...probe, failureThreshold: 60 },
                readinessProbe: probe,
                livenessProbe: probe,
              },
            ],
          },
        },
      },
    },
    { apiVersion: "v1", kind: "Service", metadata: { name, namespace: "inference" }, spec: { selector: labels, ports: [{ port: 8000 }] } },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name, namespace: "inference" },
      spec: { podSelector: { matchLabels: labels }, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: { matchLabels: { app: "router" } } }] }] },
    },
    { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name, namespace: "inference" }, spec: { maxUnavailable: 1, selector: { matchLabels: labels } } },
  ];
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** parseAllDocuments' documents (it returns an EmptyStream for a text without any). */
const documents = (parsed: ReturnType<typeof parseAllDocuments>): Document[] => (Array.isArray(parsed) ? parsed : []);

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const dir = await mkdtemp(join(tmpdir(), "modelfleet-bench-check-"));
try {
  const perFile = MODELS / FILES;
  for (let f = 0; f < FILES; f++) {
    const docs = [];
    for (let i = f * perFile; i < (f + 1) * perFile; i++) docs.push(...model(i));
    await writeFile(join(dir, `models-${String(f).padStart(3, "0")}.yaml`), docs.map((d) => `# Source: bench/templates/model.yaml\n${stringify(d)}`).join("---\n"));
  }
  const objects = MODELS * 4;
  const files = (await readdir(dir)).sort().map((name) => join(dir, name));

  /** The yaml library's ways of reading every document of every file to plain data; the fastest is the baseline. */
  const parseWays: Record<string, (text: string) => unknown[]> = {
    "parseAllDocuments + toJS": (text) => documents(parseAllDocuments(text)).map((doc) => doc.toJS()),
    "parseAllDocuments (LineCounter) + toJS": (text) => documents(parseAllDocuments(text, { lineCounter: new LineCounter() })).map((doc) => doc.toJS()),
    "Parser + Composer + toJS": (text) => [...new Composer().compose(new Parser().parse(text))].map((doc) => doc.toJS()),
  };
  const parseWith = (way: (text: string) => unknown[]) => async (): Promise<void> => {
    let count = 0;
    for (const file of files) for (const value of way(await readFile(file, "utf8"))) if (value) count++;
    if (count !== objects) throw new Error(`parsed ${count} objects, expected ${objects}`);
  };
  let violations = 0;
  const check = async (): Promise<void> => {
    const report = await checkPaths([dir], { environment: "production" });
    if (report.objectCount !== objects) throw new Error(`checked ${report.objectCount} objects, expected ${objects}`);
    violations = report.violations.length;
  };

  // Warm-up: JIT and file cache for every path.
  for (const way of Object.values(parseWays)) await parseWith(way)();
  await check();
  const parseMs: Record<string, number[]> = Object.fromEntries(Object.keys(parseWays).map((name) => [name, []]));
  const checkMs: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    // Interleaved, so a busy machine slows every path alike.
    for (const [name, way] of Object.entries(parseWays)) parseMs[name]!.push(await timed(parseWith(way)));
    checkMs.push(await timed(check));
  }
  const rate = (ms: number): string => `${Math.round((objects / ms) * 1000)} objects/s`;
  console.log(`objects: ${objects} in ${FILES} files; violations found: ${violations}; median of ${RUNS} runs; load average ${loadavg()[0]!.toFixed(1)}`);
  const parseMedians = Object.entries(parseMs).map(([name, ms]) => [name, median(ms)] as const);
  for (const [name, ms] of parseMedians) console.log(`parse only, ${name}: ${ms.toFixed(1)} ms (${rate(ms)})`);
  const [baselineName, parse] = parseMedians.reduce((best, next) => (next[1] < best[1] ? next : best));
  const full = median(checkMs);
  console.log(`parse baseline (fastest above, ${baselineName}): ${parse.toFixed(1)} ms (${rate(parse)})`);
  console.log(`check: ${full.toFixed(1)} ms (${rate(full)})`);
  const ratio = full / parse;
  const perSecond = (objects / full) * 1000;
  console.log(`ratio check/parse: ${ratio.toFixed(2)} (aim ≤ 1.5: ${ratio <= 1.5 ? "met" : "NOT MET"})`);
  console.log(`check speed: ${Math.round(perSecond)} objects/s (aim ≥ 10,000: ${perSecond >= 10_000 ? "met" : "NOT MET"}${loadavg()[0]! > 2 ? "; the machine was busy, so absolute figures are pessimistic" : ""})`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
