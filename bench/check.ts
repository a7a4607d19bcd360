/**
 * Policy check benchmark: `checkPaths` (what `modelfleet check` runs) over 10,000 Kubernetes objects written as YAML
 * (2,500 models × Deployment, Service, NetworkPolicy, PodDisruptionBudget, in 100 multi-document files), against
 * only parsing the same files with the same parser in the same run. Run: node --import tsx bench/check.ts
 * Aim: check/parse ratio ≤ 3.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LineCounter, parseAllDocuments, stringify } from "yaml";
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

  // Parse only: read and parse the same files the same way the checker does (documents with line positions, to JS).
  const parseOnly = async (): Promise<void> => {
    let count = 0;
    for (const file of files) {
      const lineCounter = new LineCounter();
      for (const doc of parseAllDocuments(await readFile(file, "utf8"), { lineCounter }) as ReturnType<typeof parseAllDocuments> & unknown[]) {
        if (doc.toJS()) count++;
      }
    }
    if (count !== objects) throw new Error(`parsed ${count} objects, expected ${objects}`);
  };
  let violations = 0;
  const check = async (): Promise<void> => {
    const report = await checkPaths([dir], { environment: "production" });
    if (report.objectCount !== objects) throw new Error(`checked ${report.objectCount} objects, expected ${objects}`);
    violations = report.violations.length;
  };

  await parseOnly(); // warm-up: JIT and file cache for both paths
  await check();
  const parseMs: number[] = [];
  const checkMs: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    parseMs.push(await timed(parseOnly));
    checkMs.push(await timed(check));
  }
  const parse = median(parseMs);
  const full = median(checkMs);
  console.log(`objects: ${objects} in ${FILES} files; violations found: ${violations}; median of ${RUNS} runs`);
  console.log(`parse only: ${parse.toFixed(1)} ms (${Math.round((objects / parse) * 1000)} objects/s)`);
  console.log(`check:      ${full.toFixed(1)} ms (${Math.round((objects / full) * 1000)} objects/s)`);
  console.log(`ratio check/parse: ${(full / parse).toFixed(2)} (aim ≤ 3)`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
