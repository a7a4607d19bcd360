/**
 * CLI start-up benchmark: whole-process wall time of the shipped `node bin/modelfleet.js …` (the compiled build/;
 * run `npm run build` first), median of RUNS runs after a warm-up, each printed with its ratio to `node -e 0`
 * measured in the same run (before and after the commands, interleaved, so load changes hit both):
 *   --help                                   aim ≤ 3× node and ≤ 0.3 s
 *   check <one synthesized file>             aim ≤ 4× node
 *   synth --stack production --out <temp>    aim ≤ 1.0 s
 *   registry route <model> --env staging     aim ≤ 0.5 s, against a local PostgreSQL 15 started here
 *                                            (test/helpers/postgres.ts), migrated, with one ready entry
 * Run: node --import tsx bench/cli.ts   (RUNS=<n> for more runs; at least 5)
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { migrateUp } from "../registry/migrate.js";
import { startPostgres } from "../test/helpers/postgres.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin", "modelfleet.js");
const RUNS = Math.max(5, Number(process.env["RUNS"] ?? 7) || 7);

interface Case {
  readonly label: string;
  readonly argv: readonly string[];
  /** The exit code a correct run has; anything else aborts the benchmark (a fast failure is no result). */
  readonly exitCode: number;
  readonly env?: Record<string, string>;
}

/** One whole process, in milliseconds of wall time. */
function once(c: Case): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, c.argv, { cwd: ROOT, env: { ...process.env, MODELFLEET_DB_URL: "", ...c.env }, encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== c.exitCode) {
    throw new Error(`${c.label}: exit ${String(result.status)} (expected ${c.exitCode}); stderr: ${result.stderr.slice(0, 800)}`);
  }
  return ms;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const work = mkdtempSync(join(tmpdir(), "modelfleet-bench-cli-"));
const server = await startPostgres();
try {
  try {
    statSync(join(ROOT, "build", "cli", "main.js"));
  } catch {
    throw new Error("build/cli/main.js is missing: run `npm run build` first");
  }

  // The registry: migrated, one ready entry with a fresh health check (route would say "stale" after 90 s, so
  // --stale-after covers the whole benchmark).
  const db = await server.createDatabase({ name: "cli_bench" });
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await migrateUp(client);
  await client.query(
    `INSERT INTO model_registry_entries
       (model_name, deployment_environment, engine, served_model_name, image_digest, deployment_endpoint,
        deployment_namespace, deployment_status, managed_by, last_health_check_at)
     VALUES ('qwen3', 'staging', 'vllm', 'Qwen/Qwen3-0.6B', $1, 'qwen3-staging.inference.svc.cluster.local:8000',
             'inference', 'ready', 'stack', now())`,
    [`sha256:${"a".repeat(64)}`],
  );
  await client.end();

  // One synthesized file to check: of the YAML files synth writes for production, the one nearest 200 lines (the
  // size the issue measured).
  const synthOnce = join(work, "check-source");
  once({ label: "synth (setup)", argv: [BIN, "synth", "--stack", "production", "--out", synthOnce], exitCode: 0 });
  const candidates = readdirSync(join(synthOnce, "production"))
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => ({ file: join(synthOnce, "production", f), lines: readFileSync(join(synthOnce, "production", f), "utf8").split("\n").length }))
    .sort((a, b) => Math.abs(a.lines - 200) - Math.abs(b.lines - 200) || a.file.localeCompare(b.file));
  const chosen = candidates[0];
  if (!chosen) throw new Error("synth wrote no YAML file to check");
  const checkFile = chosen.file;
  const checkLines = chosen.lines;

  let synthRun = 0;
  const node: Case = { label: "node -e 0", argv: ["-e", "0"], exitCode: 0 };
  const cases: { c: Case | (() => Case); aim: (ms: number, base: number) => string }[] = [
    { c: { label: "--help", argv: [BIN, "--help"], exitCode: 0 }, aim: (ms, base) => verdict(ms / base <= 3 && ms <= 300, "≤ 3× node and ≤ 0.3 s") },
    { c: { label: `check (one file, ${checkLines} lines)`, argv: [BIN, "check", checkFile], exitCode: 0 }, aim: (ms, base) => verdict(ms / base <= 4, "≤ 4× node") },
    {
      // A fresh --out each run, as a first synth into a folder is the slowest case.
      c: () => ({ label: "synth --stack production", argv: [BIN, "synth", "--stack", "production", "--out", join(work, `synth-${synthRun++}`)], exitCode: 0 }),
      aim: (ms) => verdict(ms <= 1000, "≤ 1.0 s"),
    },
    {
      c: { label: "registry route (local PostgreSQL)", argv: [BIN, "registry", "route", "qwen3", "--env", "staging", "--stale-after", "86400", "--db-url", db.url], exitCode: 0 },
      aim: (ms) => verdict(ms <= 500, "≤ 0.5 s"),
    },
  ];
  const caseOf = (c: Case | (() => Case)): Case => (typeof c === "function" ? c() : c);

  // Warm-up: one run of each (file system cache, compiled-code cache).
  once(node);
  for (const { c } of cases) once(caseOf(c));

  // Interleaved rounds: node, then every command, RUNS times.
  const baseline: number[] = [];
  const times = cases.map(() => [] as number[]);
  for (let round = 0; round < RUNS; round++) {
    baseline.push(once(node));
    cases.forEach(({ c }, i) => times[i]?.push(once(caseOf(c))));
  }
  const base = median(baseline);

  console.log(`CLI benchmark: whole-process wall time, median of ${RUNS} runs after a warm-up (node ${process.version}, ${process.platform}/${process.arch})`);
  console.log(`  ${"node -e 0".padEnd(38)} ${base.toFixed(0).padStart(6)} ms   1.00×  (baseline)`);
  const unmet: string[] = [];
  cases.forEach(({ c, aim }, i) => {
    const label = caseOf(c).label;
    const ms = median(times[i] ?? []);
    const result = aim(ms, base);
    if (result.startsWith("NOT")) unmet.push(`${label} (${ms.toFixed(0)} ms, ${(ms / base).toFixed(2)}×)`);
    console.log(`  ${label.padEnd(38)} ${ms.toFixed(0).padStart(6)} ms  ${(ms / base).toFixed(2).padStart(5)}×  ${result}`);
  });
  console.log(unmet.length === 0 ? "All aims met." : `Aims NOT met: ${unmet.join("; ")}.`);
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}

function verdict(met: boolean, aim: string): string {
  return `${met ? "met" : "NOT met"} (aim ${aim})`;
}
