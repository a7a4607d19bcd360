/**
 * Pulumi program load benchmark: the program run as `pulumi preview` runs it (Pulumi's Node runner with the language
 * host's arguments and environment, loading what Pulumi.yaml names, against the stand-in engine of
 * test/program/stand-in-engine.ts), timed from spawning node to the first resource the program registers; also to
 * the runner's Stack resource (SDK loaded) and to exit. Median of RUNS runs after a warm-up, each figure with its
 * ratio to `node -e 0` measured in the same run. A bad stack config is timed too (spawn → exit, and from the Stack to
 * exit: the Node 20 inspect loop made this 30-600 s).
 * Run: node --import tsx bench/program.ts [--runs N] [--ts-node]
 *   --ts-node also times, once, the former entry (stacks/index.ts through ts-node, type-checked) for comparison.
 * Aim: program load to first registered resource ≤ 3 s.
 */
import { execa } from "execa";
import { join } from "node:path";
import { configMap, projectEntry, ROOT, runUnderPulumi, type ProjectEntry, type PulumiRun } from "../test/program/stand-in-engine.js";

const args = process.argv.slice(2);
const RUNS = Math.max(3, Number(args[args.indexOf("--runs") + 1]) || 3);
const AIM_FIRST_RESOURCE_MS = 3_000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

async function nodeBaseline(): Promise<number> {
  const started = performance.now();
  await execa(process.execPath, ["-e", "0"]);
  return performance.now() - started;
}

async function run(stack: string, extra: Record<string, unknown> = {}, entry?: ProjectEntry): Promise<PulumiRun> {
  const secretKeys = stack === "staging" && !("hfToken" in extra) ? ["modelfleet:hfToken"] : [];
  const config = configMap(stack, stack === "staging" && !("hfToken" in extra) ? { hfToken: "hf-bench-token", ...extra } : extra);
  return runUnderPulumi({ stack, dryRun: true, config, secretKeys, ...(entry ? { entry } : {}) });
}

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`bench/program: ${what} was not observed; the run failed (see the figures above).`);
  return value;
}

const entry = projectEntry();
console.log(`Pulumi.yaml: main → ${join(entry.pwd, entry.entryPoint).replace(`${ROOT}/`, "")}, typescript: ${entry.typescript}`);
console.log(`warm-up, then ${RUNS} runs each (2-core machine; other work on it inflates every figure alike)\n`);

await nodeBaseline();
await run("development");

const baseline: number[] = [];
const stackAt: number[] = [];
const first: number[] = [];
const exit: number[] = [];
const badExit: number[] = [];
const badAfterStack: number[] = [];
for (let i = 0; i < RUNS; i++) {
  baseline.push(await nodeBaseline());
  const good = await run("production");
  if (good.exitCode !== 0) throw new Error(`bench/program: production run exited ${good.exitCode}: ${good.stderr || JSON.stringify(good.logs)}`);
  stackAt.push(must(good.times.stack, "the Stack resource"));
  first.push(must(good.times.firstResource, "a first resource"));
  exit.push(good.times.exit);
  const bad = await run("production", { cors: { allowedOrigins: ["*"] } });
  if (bad.exitCode !== 32) throw new Error(`bench/program: the bad config run exited ${bad.exitCode}, expected 32`);
  badExit.push(bad.times.exit);
  badAfterStack.push(bad.times.exit - must(bad.times.stack, "the Stack resource"));
}

const base = median(baseline);
const row = (label: string, ms: number): void => console.log(`${label.padEnd(58)} ${sec(ms).padStart(8)}  ${(ms / base).toFixed(1).padStart(5)}× node -e 0`);
row("node -e 0", base);
row("production preview: spawn → Stack resource (SDK loaded)", median(stackAt));
row("production preview: spawn → first program resource", median(first));
row("production preview: spawn → exit (all registered)", median(exit));
row("bad config: spawn → exit (one error logged)", median(badExit));
row("bad config: Stack resource → exit", median(badAfterStack));

if (args.includes("--ts-node")) {
  const tsEntry: ProjectEntry = { pwd: ROOT, entryPoint: "stacks/index.ts", typescript: true, nodeargs: [] };
  const former = await run("production", {}, tsEntry);
  row("former entry (stacks/index.ts via ts-node), 1 run: → first", must(former.times.firstResource, "a first resource (ts-node)"));
}

const firstMedian = median(first);
console.log(
  `\naim: first registered resource ≤ ${sec(AIM_FIRST_RESOURCE_MS)}: ${firstMedian <= AIM_FIRST_RESOURCE_MS ? "met" : `NOT met (${sec(firstMedian)})`}`,
);
