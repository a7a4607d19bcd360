/**
 * models/download-job.mjs in offline verify mode (MODELFLEET_OFFLINE=1, issue #14), run for real with `node`: it must
 * never touch the network. HF_ENDPOINT points at the stand-in Hub (test/helpers/hub-stand-in.ts), set to answer every
 * request with 500 and record it, so "no network" is proven by an empty request log, not assumed.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { modelDir } from "../../models/layout.js";
import { MANIFEST_FILE } from "../../models/manifest.js";
import { startHubStandIn, type HubRequest, type HubStandIn } from "../helpers/hub-stand-in.js";
import { writeModelFolder } from "../helpers/model-folder.js";
import { useTempDirs } from "../helpers/temp-dir.js";

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

const tempDir = useTempDirs();
let standIn: HubStandIn;
let requests: HubRequest[];
let hub = "";

beforeAll(async () => {
  standIn = await startHubStandIn({ repo: REPO });
  ({ requests, hub } = standIn);
});
afterAll(() => standIn?.close());
beforeEach(() => {
  standIn.reset();
  standIn.behaviour.refuse = "the offline Job must not call this stand-in Hub";
});

/** A store root holding the model folder as `bundle load --models-target` leaves it (files + manifest). */
function loadedStore(files: Record<string, Buffer> = FILES, revision = REVISION): { root: string; dir: string } {
  const root = tempDir("modelfleet-offline-job-");
  const dir = modelDir(root, REPO, revision);
  writeModelFolder(dir, files, { repo: REPO, revision, listed: FILES });
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
    const root = tempDir("modelfleet-offline-job-");
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
