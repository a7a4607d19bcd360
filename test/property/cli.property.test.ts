/**
 * Property 3: the compiled CLI, run in-process (`main(argv)` of build/cli/main.js, in a worker process: see cli-worker.ts) with
 * random argv for every command — flags with `..`, `/`, very long strings, huge and negative numbers, secrets —
 * in a fresh temp cwd holding (sometimes mutated) copies of the stack files and a FIFO:
 *   - exits 0, 1 or 2 within a time bound, with no stack trace ("    at " lines), no escaped exception and no
 *     JavaScript internal error text;
 *   - prints no injected secret;
 *   - writes nothing outside the temp cwd and the paths the argv names (sentinel files in the parents, compared
 *     before/after).
 * The network cannot be reached: the worker's HTTP(S) proxy and PGHOST/PGPORT point at closed loopback ports,
 * database URLs name closed loopback ports, `bundle create` gets `--source-registry 127.0.0.1:1` and `bundle load`
 * `--registry 127.0.0.1:1`. Replay a failure: see test/property/README.md.
 */
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../../cli/main.js";
import { leakedSecrets, ROOT, secretText, STACKS, stackTextCase, urlWithPassword } from "./arbitraries.js";
import { propertyParams } from "./params.js";

const CASE_TIMEOUT_MS = 30_000;
const base = mkdtempSync(join(tmpdir(), "modelfleet-prop-cli-"));
/** cwd is four levels down, so `..` up to three times stays inside `base`, where the sentinels are. */
const parent = join(base, "a", "b", "c");
const cwd = join(parent, "cwd");
const home = join(base, "home");
const temp = join(base, "tmp");

// ---------------------------------------------------------------------------------------------------------------
// The worker

let worker: ChildProcess | undefined;
let nextId = 0;

async function startWorker(): Promise<ChildProcess> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(PG|MODELFLEET_|https?_proxy|HTTPS?_PROXY|NO_PROXY|no_proxy)/.test(k)) env[k] = v;
  Object.assign(env, {
    HOME: home,
    TMPDIR: temp,
    PGHOST: "127.0.0.1",
    PGPORT: "1",
    HTTP_PROXY: "http://127.0.0.1:9",
    HTTPS_PROXY: "http://127.0.0.1:9",
    http_proxy: "http://127.0.0.1:9",
    https_proxy: "http://127.0.0.1:9",
    NODE_OPTIONS: "",
  });
  const child = fork(join(import.meta.dirname, "cli-worker.ts"), [], { execArgv: ["--import", import.meta.resolve("tsx")], env, cwd: base, stdio: ["ignore", "ignore", "pipe", "ipc"], detached: true });
  await new Promise<void>((ready, fail) => {
    child.once("message", () => ready());
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("exit", (code) => fail(new Error(`CLI worker exited with ${code} before it was ready: ${stderr.slice(0, 500)}`)));
  });
  return child;
}

function stopWorker(): void {
  if (worker?.pid !== undefined) {
    try {
      process.kill(-worker.pid, "SIGKILL"); // the worker and whatever it started (pg_dump, skopeo)
    } catch {
      // already gone
    }
  }
  worker = undefined;
}

interface RunResult {
  readonly code: number | "timeout";
  readonly stdout: string;
  readonly stderr: string;
  readonly crash: string;
  readonly ms: number;
}

async function runCli(argv: readonly string[]): Promise<RunResult> {
  worker ??= await startWorker();
  const child = worker;
  const id = nextId++;
  const start = performance.now();
  return new Promise((done) => {
    const timer = setTimeout(() => {
      child.off("message", onMessage);
      stopWorker();
      done({ code: "timeout", stdout: "", stderr: "", crash: "", ms: performance.now() - start });
    }, CASE_TIMEOUT_MS);
    const onMessage = (m: { id?: number; code: number; stdout: string; stderr: string; crash: string }): void => {
      if (m.id !== id) return;
      clearTimeout(timer);
      child.off("message", onMessage);
      done({ code: m.code, stdout: m.stdout, stderr: m.stderr, crash: m.crash, ms: performance.now() - start });
    };
    child.on("message", onMessage);
    child.send({ id, argv, cwd });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The file system: a fresh cwd per case, sentinels around it

const SENTINELS = [join(base, "sentinel.txt"), join(base, "a", "sentinel.txt"), join(base, "a", "b", "sentinel.txt"), join(parent, "sentinel.txt"), join(parent, "Pulumi.production.yaml"), join(base, "a", "dist", "sentinel.txt")];

function freshCwd(stackText: { stack: string; text: string } | undefined, fifo: boolean): void {
  rmSync(cwd, { recursive: true, force: true });
  mkdirSync(cwd, { recursive: true });
  for (const stack of STACKS) copyFileSync(join(ROOT, `Pulumi.${stack}.yaml`), join(cwd, `Pulumi.${stack}.yaml`));
  copyFileSync(join(ROOT, "Pulumi.yaml"), join(cwd, "Pulumi.yaml"));
  if (stackText) writeFileSync(join(cwd, `Pulumi.${stackText.stack}.yaml`), stackText.text);
  mkdirSync(join(cwd, "manifests"));
  writeFileSync(join(cwd, "manifests", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\n");
  if (fifo) execFileSync("mkfifo", [join(cwd, "pipe.yaml")]);
}

/** path → type and content hash, for everything under `base` except the cwd, HOME and TMPDIR of the worker. */
function snapshot(): Map<string, string> {
  const out = new Map<string, string>();
  const skip = new Set([cwd, home, temp]);
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (skip.has(path)) continue;
      const info = lstatSync(path);
      if (info.isDirectory()) {
        out.set(path, "dir");
        walk(path);
      } else if (info.isFile()) {
        out.set(path, createHash("sha256").update(readFileSync(path)).digest("hex"));
      } else {
        out.set(path, info.isSymbolicLink() ? "link" : "other");
      }
    }
  };
  walk(base);
  return out;
}

function changesOutside(before: Map<string, string>, after: Map<string, string>, allowed: readonly string[]): string[] {
  // A named path covers itself, what is under it and its siblings by suffix (`<out>.partial`, `<out>.tar`).
  const inAllowed = (path: string): boolean => allowed.some((root) => path.startsWith(root));
  const changed: string[] = [];
  for (const [path, hash] of after) if (before.get(path) !== hash && !inAllowed(path)) changed.push(`${before.has(path) ? "changed" : "created"} ${path.slice(base.length)}`);
  for (const path of before.keys()) if (!after.has(path) && !inAllowed(path)) changed.push(`removed ${path.slice(base.length)}`);
  return changed;
}

// ---------------------------------------------------------------------------------------------------------------
// argv for every command, from the program itself (so a new command or flag is covered without editing this file)

interface Leaf {
  readonly path: readonly string[];
  readonly options: readonly { readonly flag: string; readonly takesValue: boolean; readonly name: string }[];
  readonly args: number;
}

function leaves(command: Command, path: readonly string[] = []): Leaf[] {
  const here = path.length === 0 ? [] : [{ path, args: command.registeredArguments.length, options: command.options.map((o) => ({ flag: o.long ?? o.short ?? "", takesValue: o.required || o.optional, name: o.attributeName() })) }];
  return [...here, ...command.commands.flatMap((sub) => leaves(sub, [...path, sub.name()]))];
}

/** Options whose values name things (stacks, modes, hosts), not paths the command may write to. */
const NAME_OPTIONS = new Set(["stack", "from", "to", "env", "only", "mode", "dbMode", "registry", "sourceRegistry", "dbUrl", "splitSize", "staleAfter", "model", "environment", "status", "engine", "endpoint"]);

const flagValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...STACKS, "", "..", "../..", "../../..", "../../../evil", "/", ".", "dist", "out/x", "manifests", "pipe.yaml", "Pulumi.production.yaml", "a/../../../b", "-1", "0", "1", "-9007199254740993", "99999999999999999999999", "1e309", "NaN", "Infinity", "1.5", "4GiB", "700", "10K", "merge", "replace", "production", "\u0000", "--help", "-h"),
  fc.string({ maxLength: 20 }),
  fc.integer({ min: 1, max: 20_000 }).map((n) => "x".repeat(n)),
  fc.integer({ min: 1, max: 50 }).map((n) => "../".repeat(n)),
  fc.integer().map(String),
  fc.double().map(String),
  secretText,
  urlWithPassword,
);

/** Database URLs only ever name closed loopback ports (or none: PGHOST/PGPORT are closed too). */
const safeDbUrl = fc.oneof(
  secretText.map((s) => `postgresql://modelfleet:${encodeURIComponent(s)}@127.0.0.1:1/registry`),
  secretText.map((s) => `postgres://u:${s}@localhost:1/db?sslmode=disable`),
  fc.constantFrom("", "not a url", "postgresql://", "postgresql://127.0.0.1:1/db", "mysql://u:p@127.0.0.1:1/x"),
);

const argvCase = (all: readonly Leaf[]) =>
  fc
    .record({
      // Every command, with extra weight on the ones that run their whole logic here (no database, no registry).
      leaf: fc.oneof(fc.constantFrom(...all), fc.constantFrom(...all.filter((l) => ["start", "synth", "check", "promote"].includes(l.path[0] ?? "")))),
      picks: fc.array(fc.tuple(fc.nat(), flagValue), { maxLength: 6 }),
      positionals: fc.array(fc.oneof(flagValue, fc.constantFrom(".", "manifests", "pipe.yaml", "Pulumi.staging.yaml", "missing.yaml")), { maxLength: 3 }),
      dbUrl: safeDbUrl,
      garbage: fc.option(fc.constantFrom("--no-such-flag", "-z", "extra", "--", "--help"), { nil: undefined }),
    })
    .map(({ leaf, picks, positionals, dbUrl, garbage }) => {
      const argv: string[] = [...leaf.path];
      const allowed: string[] = [];
      const options = leaf.options.filter((o) => o.flag !== "" && o.flag !== "--help");
      for (const [index, value] of picks) {
        const option = options[index % Math.max(1, options.length)];
        if (!option) continue;
        if (!option.takesValue) {
          argv.push(option.flag);
          continue;
        }
        const v = option.name === "dbUrl" ? dbUrl : value;
        argv.push(option.flag, v);
        if (!NAME_OPTIONS.has(option.name)) allowed.push(resolve(cwd, v));
      }
      const args = positionals.slice(0, Math.max(leaf.args, 0) + (leaf.args > 0 ? 2 : 0));
      argv.push(...args);
      if (garbage) argv.push(garbage);
      // Never the network: fixed loopback targets win over the random ones (commander keeps the last value).
      const key = leaf.path.join(" ");
      if (key === "bundle create") argv.push("--source-registry", "127.0.0.1:1", "--insecure");
      if (key === "bundle load") argv.push("--registry", "127.0.0.1:1", "--insecure");
      if (options.some((o) => o.name === "dbUrl") && argv.includes("--db-url")) argv.push("--db-url", "postgresql://u:x@127.0.0.1:1/db");
      return { argv, allowed };
    });

// ---------------------------------------------------------------------------------------------------------------

/** Text an uncaught JavaScript error leaves when a command prints it as `error: <message>`. */
const INTERNAL_ERROR = /Maximum call stack|Cannot read propert|is not a function|is not iterable|Excessive alias count|Converting circular structure|Invalid string length|Unexpected token|\b(TypeError|RangeError|ReferenceError|SyntaxError)\b/;

let leafList: Leaf[] = [];
beforeAll(() => {
  mkdirSync(cwd, { recursive: true });
  mkdirSync(home, { recursive: true });
  mkdirSync(temp, { recursive: true });
  mkdirSync(join(base, "a", "dist"), { recursive: true });
  for (const file of SENTINELS) writeFileSync(file, `sentinel ${file}\n`);
  leafList = leaves(buildProgram());
});
afterAll(() => {
  stopWorker();
  rmSync(base, { recursive: true, force: true });
});

describe("property: the CLI exits 0/1/2 quickly, without a stack trace or a secret, writing only where told", () => {
  it("covers every command modelfleet --help lists", () => {
    const top = new Set(leafList.map((l) => l.path[0]));
    for (const name of ["start", "synth", "check", "registry", "promote", "bundle", "db", "pins"]) expect(top).toContain(name);
  });

  it("random argv for every command, in a fresh cwd", { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(argvCase(leafList), fc.option(stackTextCase, { freq: 3, nil: undefined }), fc.boolean(), async ({ argv, allowed }, stackText, fifo) => {
        freshCwd(stackText, fifo);
        const before = snapshot();
        const result = await runCli(argv);
        const after = snapshot();
        const output = `${result.stdout}\n${result.stderr}`;
        const shown = (text: string) => text.slice(0, 400);
        expect(result.code, `exit code (stderr: ${shown(result.stderr)})`).toSatisfy((c: unknown) => c === 0 || c === 1 || c === 2);
        expect(result.crash === "" ? undefined : shown(result.crash), "an exception escaped main()").toBeUndefined();
        const trace = output.split("\n").find((line) => /^\s+at .+/.test(line));
        expect(trace, "a stack-trace line in the output").toBeUndefined();
        const internal = INTERNAL_ERROR.exec(result.stderr)?.[0];
        expect(internal === undefined ? undefined : shown(result.stderr), "JavaScript internal error text on stderr").toBeUndefined();
        // A value the operator typed as an argument (a path, a name) is theirs to see again; only a secret's
        // place (the database URL's password) must never come back. Such values are blanked before the search.
        const typed = argv.filter((arg, i) => argv[i - 1] !== "--db-url" && !arg.startsWith("-") && arg.length > 0);
        const blank = (line: string) => typed.reduce((text, arg) => text.split(arg).join(""), line);
        const leak = output.split("\n").find((line) => leakedSecrets(blank(line)).length > 0);
        expect(leak === undefined ? undefined : shown(leak), "an injected secret in the output").toBeUndefined();
        expect(changesOutside(before, after, allowed), "files changed outside the cwd and the paths named by argv").toEqual([]);
      }),
      propertyParams("cli/argv", 60, 40_000),
    );
  });
});
