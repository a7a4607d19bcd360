/**
 * models/download-job.mjs in offline verify mode (MODELFLEET_OFFLINE=1, issue #14), run for real with `node`: it must
 * never touch the network. HF_ENDPOINT points at a stand-in Hub in this file that answers every request and records
 * it, so "no network" is proven by an empty request log, not assumed.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { modelDir } from "../../models/layout.js";
import { MANIFEST_FILE, MANIFEST_SCHEMA, serializeManifest } from "../../models/manifest.js";

const SCRIPT = join(import.meta.dirname, "..", "..", "models", "download-job.mjs");
const REPO = "Qwen/Qwen3-0.6B";
const REVISION = "c1899de289a04d12100db370d81485cdf75e47ca";
const OTHER_REVISION = "0d51c1e7e7f2a3b1f3a5b6c7d8e9f0a1b2c3d4e5";
const HINT = "an offline stack never downloads: copy the model into the store with `modelfleet bundle load --models-target <the mounted claim>` (docs/offline-deployment.md), then run the Job again";
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

const FILES: Record<string, Buffer> = {
  "model.safetensors": randomBytes(256 * 1024),
  "config.json": Buffer.from('{"architectures":["Qwen3ForCausalLM"]}\n'),
  "tokenizer/tokenizer.json": Buffer.from('{"version":"1.0"}\n'),
};

const requests: string[] = [];
let hub = "";
let server: Server;
const made: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? "");
    res.writeHead(500).end("the offline Job must not call this stand-in Hub");
  });
  hub = await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  requests.length = 0;
});

/** A store root holding the model folder as `bundle load --models-target` leaves it (files + manifest). */
function loadedStore(files: Record<string, Buffer> = FILES, revision = REVISION): { root: string; dir: string } {
  made.push(mkdtempSync(join(tmpdir(), "modelfleet-offline-job-")));
  const root = made.at(-1) as string;
  const dir = modelDir(root, REPO, revision);
  for (const [path, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  }
  const entries = Object.entries(FILES).map(([path, bytes]) => ({ path, bytes: bytes.length, sha256: sha256(bytes) }));
  writeFileSync(join(dir, MANIFEST_FILE), serializeManifest({ schema: MANIFEST_SCHEMA, repo: REPO, revision, files: entries }));
  return { root, dir };
}

async function runJob(root: string, env: Record<string, string> = {}, args: string[] = []) {
  const result = await execa(process.execPath, [SCRIPT, ...args], {
    reject: false,
    extendEnv: false,
    env: { PATH: process.env["PATH"] ?? "", MODELFLEET_REPO: REPO, MODELFLEET_REVISION: REVISION, MODELFLEET_TARGET: root, MODELFLEET_OFFLINE: "1", HF_ENDPOINT: hub, ...env },
  });
  return { code: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

const listing = (dir: string) => readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();

describe("download Job script in offline verify mode (MODELFLEET_OFFLINE=1)", () => {
  it.each([[[]], [["--trust-manifest-sizes"]]])("a complete folder (args %j) exits 0 without any request", async (args) => {
    const { root } = loadedStore();
    const run = await runJob(root, {}, args);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`${REPO}@${REVISION}: already complete in .* \\(3 files verified${args.length > 0 ? " by size" : ""}\\); nothing to do`));
    expect(requests).toEqual([]);
  });

  it("missing files exit 1 naming each of them and the bundle load hint; nothing is downloaded or deleted", async () => {
    const { root, dir } = loadedStore({ "config.json": FILES["config.json"]! });
    const before = listing(dir);
    const run = await runJob(root);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`modelfleet download: ${REPO}@${REVISION} is not complete in ${dir} (offline): model.safetensors: missing; tokenizer/tokenizer.json: missing; ${HINT}`);
    expect(requests).toEqual([]);
    expect(listing(dir)).toEqual(before);
    expect(readFileSync(join(dir, MANIFEST_FILE), "utf8")).toContain(REVISION); // the manifest is left as it was
  });

  it("a damaged file exits 1 naming it and its digest; --trust-manifest-sizes still catches a wrong size", async () => {
    const damaged = Buffer.from(FILES["model.safetensors"]!);
    damaged[100] = (damaged[100] ?? 0) ^ 0xff;
    const { root } = loadedStore({ ...FILES, "model.safetensors": damaged });
    const run = await runJob(root);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`\\(offline\\): model\\.safetensors: sha256 ${sha256(damaged)}, the manifest says ${sha256(FILES["model.safetensors"]!)}; an offline stack never downloads`));

    const short = loadedStore({ ...FILES, "config.json": Buffer.from("{}") });
    const bySize = await runJob(short.root, {}, ["--trust-manifest-sizes"]);
    expect(bySize.code).toBe(1);
    expect(bySize.stderr).toMatch(/\(offline\): config\.json: 2 bytes, the manifest says 39; an offline stack never downloads/);
    expect(requests).toEqual([]);
  });

  it("no manifest exits 1 saying the model was never copied in, with the bundle load hint", async () => {
    const { root, dir } = loadedStore();
    rmSync(join(dir, MANIFEST_FILE));
    const run = await runJob(root);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`modelfleet download: ${REPO}@${REVISION} is not complete in ${dir} (offline): there is no ${MANIFEST_FILE}, so the model was never copied in (or the copy did not finish); ${HINT}`);
    expect(requests).toEqual([]);
  });

  it("an empty store (no folder at all) exits 1 the same way, creating nothing", async () => {
    made.push(mkdtempSync(join(tmpdir(), "modelfleet-offline-job-")));
    const root = made.at(-1) as string;
    const run = await runJob(root);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/there is no modelfleet-manifest\.json, so the model was never copied in/);
    expect(readdirSync(root)).toEqual([]);
  });

  it("a manifest of another revision in the folder exits 1 naming both", async () => {
    const { root, dir } = loadedStore();
    const text = readFileSync(join(dir, MANIFEST_FILE), "utf8").replace(REVISION, OTHER_REVISION);
    writeFileSync(join(dir, MANIFEST_FILE), text);
    const run = await runJob(root);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`\\(offline\\): modelfleet-manifest\\.json: names ${REPO}@${OTHER_REVISION}, not ${REPO}@${REVISION}; an offline stack never downloads`));
  });
});
