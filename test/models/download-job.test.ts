/**
 * models/download-job.mjs run for real with `node`, against a stand-in Hugging Face Hub (test/helpers/hub-stand-in.ts):
 * a small HTTP server that serves this file's revision trees (paginated, with an LFS file and small files), redirects
 * LFS downloads to a second "CDN" server on another port, supports Range, and can serve wrong bytes or cut a
 * connection mid-file.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { modelDir } from "../../models/layout.js";
import { MANIFEST_FILE, readManifest, serializeManifest, verifyAgainstManifest } from "../../models/manifest.js";
import { startHubStandIn, type HubBehaviour, type HubFile, type HubRequest, type HubStandIn } from "../helpers/hub-stand-in.js";
import { useTempDirs } from "../helpers/temp-dir.js";

const SCRIPT = join(import.meta.dirname, "..", "..", "models", "download-job.mjs");
const REPO = "Org.x/Model_1.5B-Instruct";
const REV_A = "c1899de289a04d12100db370d81485cdf75e47ca";
const REV_B = "0d51c1e7e7f2a3b1f3a5b6c7d8e9f0a1b2c3d4e5";
const REV_CLASH = "ba0d0ba0d0ba0d0ba0d0ba0d0ba0d0ba0d0ba0d0";
const REV_HUGE = "9999999999999999999999999999999999999999";
const TOKEN = "hf_standInSecretToken0123456789";
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const tempDir = useTempDirs();

const revisions: Record<string, HubFile[]> = {
  [REV_A]: [
    { path: ".gitattributes", content: Buffer.from("*.safetensors filter=lfs diff=lfs merge=lfs -text\n"), lfs: false },
    { path: "config.json", content: Buffer.from('{"architectures":["Qwen3ForCausalLM"]}\n'), lfs: false },
    { path: "tokenizer/tokenizer.json", content: Buffer.from('{"version":"1.0"}\n'), lfs: false },
    { path: "model.safetensors", content: randomBytes(1 << 20), lfs: true },
  ],
  [REV_CLASH]: [
    { path: "weights.bin", content: Buffer.from("w"), lfs: false },
    { path: "weights.bin.part", content: Buffer.from("p"), lfs: false },
  ],
  [REV_B]: [
    { path: "config.json", content: Buffer.from('{"architectures":["Qwen3ForCausalLM"],"b":true}\n'), lfs: false },
    { path: "model.safetensors", content: randomBytes(300_000), lfs: true },
  ],
};

/** A revision listing a 1 PiB file (never served): no volume here has room for it. */
const HUGE = { path: "huge.safetensors", bytes: 2 ** 50 };

let standIn: HubStandIn;
/** What the stand-in does wrong, reset before each test. */
let behaviour: HubBehaviour;
let requests: HubRequest[];
let hub = "";

beforeAll(async () => {
  standIn = await startHubStandIn({
    repo: REPO,
    revisions,
    listedOnly: { [REV_HUGE]: [{ type: "file", oid: "e".repeat(40), size: HUGE.bytes, path: HUGE.path, lfs: { oid: "a".repeat(64), size: HUGE.bytes, pointerSize: 134 } }] },
  });
  ({ behaviour, requests, hub } = standIn);
});
afterAll(() => standIn?.close());
beforeEach(() => standIn.reset());

async function runJob(root: string, env: Record<string, string> = {}, args: string[] = []) {
  const result = await execa(process.execPath, [SCRIPT, ...args], {
    reject: false,
    extendEnv: false,
    env: { PATH: process.env["PATH"] ?? "", MODELFLEET_REPO: REPO, MODELFLEET_REVISION: REV_A, MODELFLEET_TARGET: root, HF_ENDPOINT: hub, ...env },
  });
  return { code: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

const freshRoot = () => tempDir("modelfleet-download-");
const fileRequests = () => requests.filter((r) => r.server === "cdn" || r.path.includes("/resolve/"));

describe("download Job script (models/download-job.mjs) against a stand-in Hub", () => {
  it("downloads a fresh revision into modelDir(root, repo, revision) with a manifest models/manifest.ts accepts", async () => {
    const root = freshRoot();
    const run = await runJob(root);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const dir = modelDir(root, REPO, REV_A);
    expect(dir).toBe(join(root, "Org.x--Model_1.5B-Instruct", REV_A));
    const manifest = await readManifest(dir);
    expect(manifest.repo).toBe(REPO);
    expect(manifest.revision).toBe(REV_A);
    expect(manifest.files).toEqual(
      revisions[REV_A]!.map((f) => ({ path: f.path, bytes: f.content.length, sha256: sha256(f.content) })).sort((a, b) => (a.path < b.path ? -1 : 1)),
    );
    expect(readFileSync(join(dir, MANIFEST_FILE), "utf8")).toBe(serializeManifest(manifest));
    expect(await verifyAgainstManifest(dir, manifest)).toEqual([]);
    // Pagination: 1 directory + 4 files at 2 per page = 3 pages, every one recursive.
    const pages = requests.filter((r) => r.path.startsWith("/api/"));
    expect(pages.map((r) => new URL(r.path, hub).searchParams.get("cursor"))).toEqual([null, "2", "4"]);
    expect(pages.every((r) => new URL(r.path, hub).searchParams.get("recursive") === "true")).toBe(true);
    // The LFS file came through the redirect to the CDN; one progress line per file, with bytes and %.
    expect(requests.filter((r) => r.server === "cdn").map((r) => r.status)).toEqual([200]);
    expect(run.stdout.split("\n").filter((l) => l.startsWith("["))).toEqual([
      expect.stringMatching(/^\[1\/4\] \.gitattributes: 50 B verified \(git blob id\), \S+ \S+\/s; total 50 B of 1\.0 MiB \(0%\)$/),
      expect.stringMatching(/^\[2\/4\] config\.json: 39 B verified \(git blob id\), .*; total 89 B of 1\.0 MiB \(0%\)$/),
      expect.stringMatching(/^\[3\/4\] model\.safetensors: 1\.0 MiB verified \(sha256\), .*; total 1\.0 MiB of 1\.0 MiB \(99%\)$/),
      expect.stringMatching(/^\[4\/4\] tokenizer\/tokenizer\.json: 18 B verified \(git blob id\), .*; total 1\.0 MiB of 1\.0 MiB \(100%\)$/),
    ]);
    expect(readdirNoPart(dir)).toBe(true);
  });

  it.each([[[]], [["--trust-manifest-sizes"]]])("a re-run over a complete folder (args %j) makes no request and succeeds", async (args) => {
    const root = freshRoot();
    expect((await runJob(root)).code).toBe(0);
    const before = readFileSync(join(modelDir(root, REPO, REV_A), MANIFEST_FILE), "utf8");
    requests.length = 0;
    const again = await runJob(root, {}, args);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already complete .*4 files verified.*nothing to do/);
    expect(requests).toEqual([]);
    expect(readFileSync(join(modelDir(root, REPO, REV_A), MANIFEST_FILE), "utf8")).toBe(before);
  });

  it("a re-run over a folder with a damaged file downloads that file alone, then verifies", async () => {
    const root = freshRoot();
    expect((await runJob(root)).code).toBe(0);
    const dir = modelDir(root, REPO, REV_A);
    writeFileSync(join(dir, "config.json"), '{"architectures":["Qwen3ForCausalLM"]}X'); // same size, one byte differs
    requests.length = 0;
    const again = await runJob(root);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/config\.json: sha256 [0-9a-f]{64}, the manifest says/);
    expect(fileRequests().map((r) => r.path)).toEqual([`/${REPO}/resolve/${REV_A}/config.json`]);
    expect(await verifyAgainstManifest(dir, await readManifest(dir))).toEqual([]);
  });

  it.each([
    ["an LFS file (sha256)", "model.safetensors", /model\.safetensors: downloaded bytes do not match the revision: sha256 [0-9a-f]{64}, the Hub publishes [0-9a-f]{64}/],
    ["a small file (git blob id)", "config.json", /config\.json: downloaded bytes do not match the revision: git blob id [0-9a-f]{40}, the Hub publishes [0-9a-f]{40}/],
  ])("refuses corrupted bytes of %s: exit 1 naming the file, no final file, no manifest", async (_name, path, message) => {
    const root = freshRoot();
    behaviour.corrupt.add(path);
    const run = await runJob(root);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const dir = modelDir(root, REPO, REV_A);
    expect(existsSync(join(dir, path))).toBe(false);
    expect(existsSync(join(dir, `${path}.part`))).toBe(false);
    expect(existsSync(join(dir, MANIFEST_FILE))).toBe(false);
  });

  it.each([
    ["drops the connection", "drop", "other side closed"],
    ["ends the response early", "short end", "the connection closed at 896\\.0 KiB of 1\\.0 MiB"],
  ] as const)("an interrupted download (the server %s) leaves only a .part; the re-run resumes it with Range and completes", async (_name, cutBy, why) => {
    const root = freshRoot();
    behaviour.cutBy = cutBy;
    const dir = modelDir(root, REPO, REV_A);
    const total = revisions[REV_A]!.find((f) => f.path === "model.safetensors")!.content.length;
    behaviour.cut.add("model.safetensors");
    const cut = await runJob(root);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(new RegExp(`model\\.safetensors: download failed after 3 attempts: ${why}`));
    expect(cut.stdout).toMatch(/model\.safetensors: download interrupted \(.+\); retrying \(attempt 2 of 3\)\n\[3\/4\] model\.safetensors: resuming at 512\.0 KiB \(50%\)/);
    // Within the run, each retry resumed where the last stopped.
    const cdnRanges = requests.filter((r) => r.server === "cdn").map((r) => r.range);
    expect(cdnRanges).toEqual([undefined, `bytes=${total / 2}-`, `bytes=${(total * 3) / 4}-`]);
    const partial = statSync(join(dir, "model.safetensors.part")).size;
    expect(partial).toBe((total * 7) / 8);
    expect(existsSync(join(dir, "model.safetensors"))).toBe(false);
    expect(existsSync(join(dir, MANIFEST_FILE))).toBe(false);

    behaviour.cut.clear();
    requests.length = 0;
    const resumed = await runJob(root);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/model\.safetensors: resuming at 896\.0 KiB \(87%\)/);
    expect(requests.filter((r) => r.server === "cdn").map((r) => [r.range, r.status])).toEqual([[`bytes=${partial}-`, 206]]);
    // Files already complete from the first run were kept, not fetched again.
    expect(fileRequests().filter((r) => r.server === "hub").map((r) => r.path)).toEqual([
      `/${REPO}/resolve/${REV_A}/model.safetensors`, // the redirect to the CDN
      `/${REPO}/resolve/${REV_A}/tokenizer/tokenizer.json`, // after the cut file, in path order
    ]);
    expect(await verifyAgainstManifest(dir, await readManifest(dir))).toEqual([]);
    expect(readdirNoPart(dir)).toBe(true);
  });

  it("a .part the server will not resume (no Range support) is downloaded again from the start", async () => {
    const root = freshRoot();
    const dir = modelDir(root, REPO, REV_A);
    behaviour.cut.add("model.safetensors");
    expect((await runJob(root)).code).toBe(1);
    Object.assign(behaviour, { cut: new Set(), ranges: false });
    requests.length = 0;
    const run = await runJob(root);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/model\.safetensors: the server ignored the range request; starting over/);
    expect(requests.filter((r) => r.server === "cdn").map((r) => r.status)).toEqual([200]);
    expect(await verifyAgainstManifest(dir, await readManifest(dir))).toEqual([]);
  });

  it("retries the listing while the Hub answers 503, and fails naming it after 3 attempts", async () => {
    const root = freshRoot();
    behaviour.unavailable = 1;
    behaviour.pageSize = 10;
    requests.length = 0;
    const run = await runJob(root);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/listing .* interrupted \(HTTP 503 from .*\); retrying \(attempt 2 of 3\)/);
    expect(requests.slice(0, 2).map((r) => [r.path.startsWith("/api/"), r.status])).toEqual([[true, 503], [true, 200]]);

    behaviour.unavailable = 3;
    const gone = await runJob(freshRoot());
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/listing .* failed after 3 attempts: HTTP 503 from http:\/\/127\.0\.0\.1:\d+\/api\/models\//);
  });

  it("refuses a revision larger than the volume's free space before downloading anything", async () => {
    const root = freshRoot();
    const run = await runJob(root, { MODELFLEET_REVISION: REV_HUGE });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`${modelDir(root, REPO, REV_HUGE)}: the revision needs 1048576\\.00 GiB more and the volume has [\\d.]+ \\w+ free; make the model store's claim larger`));
    expect(fileRequests()).toEqual([]);
  });

  it("refuses a revision holding both <file> and <file>.part, whose partial-file names would collide", async () => {
    const run = await runJob(freshRoot(), { MODELFLEET_REVISION: REV_CLASH });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/has both weights\.bin and weights\.bin\.part; the download's partial-file name would overwrite one with the other/);
    expect(fileRequests()).toEqual([]);
  });

  it("a second revision gets its own folder and leaves the first one as it was", async () => {
    const root = freshRoot();
    expect((await runJob(root)).code).toBe(0);
    const dirA = modelDir(root, REPO, REV_A);
    const manifestA = readFileSync(join(dirA, MANIFEST_FILE), "utf8");
    const run = await runJob(root, { MODELFLEET_REVISION: REV_B });
    expect(run.code).toBe(0);
    const dirB = modelDir(root, REPO, REV_B);
    expect((await readManifest(dirB)).revision).toBe(REV_B);
    expect(await verifyAgainstManifest(dirB, await readManifest(dirB))).toEqual([]);
    expect(readFileSync(join(dirA, MANIFEST_FILE), "utf8")).toBe(manifestA);
    expect(await verifyAgainstManifest(dirA, await readManifest(dirA))).toEqual([]);
  });

  it("sends HF_TOKEN to the Hub only, never to the CDN host, and never prints it", async () => {
    const root = freshRoot();
    behaviour.token = TOKEN;
    const run = await runJob(root, { HF_TOKEN: TOKEN });
    expect(run.code).toBe(0);
    expect(requests.filter((r) => r.server === "hub").every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(requests.filter((r) => r.server === "cdn")).not.toHaveLength(0);
    expect(requests.filter((r) => r.server === "cdn").map((r) => r.authorization)).toEqual([undefined]);
    expect(`${run.stdout}${run.stderr}`).not.toContain(TOKEN);
    expect(`${run.stdout}${run.stderr}`).not.toContain("X-Signature");
  });

  it("a gated repository without HF_TOKEN fails naming the status and the fix", async () => {
    behaviour.token = TOKEN;
    const run = await runJob(freshRoot());
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `modelfleet download: listing ${REPO}@${REV_A}: HTTP 401 from ${hub}/api/models/${REPO}/tree/${REV_A}: the repository is gated or private: give the Job an HF_TOKEN with read access (from a Secret)`,
    );
  });

  it("MODELFLEET_FILES selects files (one .gguf-style pick); a pattern matching nothing exits 2 naming it", async () => {
    const root = freshRoot();
    const run = await runJob(root, { MODELFLEET_FILES: "*.safetensors" });
    expect(run.code).toBe(0);
    const manifest = await readManifest(modelDir(root, REPO, REV_A));
    expect(manifest.files.map((f) => f.path)).toEqual(["model.safetensors"]);
    expect(fileRequests().filter((r) => r.server === "hub").map((r) => r.path)).toEqual([`/${REPO}/resolve/${REV_A}/model.safetensors`]);

    const none = await runJob(freshRoot(), { MODELFLEET_FILES: "config.json, *.gguf" });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/MODELFLEET_FILES pattern "\*\.gguf" matches no file of .*; its files are: \.gitattributes, config\.json/);
  });

  it.each([
    ["a missing revision", { MODELFLEET_REVISION: "" }, /MODELFLEET_REVISION is not set: set it to the 40-hex commit SHA/],
    ["a branch for a revision", { MODELFLEET_REVISION: "main" }, /MODELFLEET_REVISION "main" is not a commit SHA: expected 40 lower-case hex digits; pin the commit/],
    ["a repository without owner", { MODELFLEET_REPO: "gpt2" }, /MODELFLEET_REPO "gpt2" is not a Hugging Face repository id: expected "owner\/name"/],
    ["a repository with --", { MODELFLEET_REPO: "a--b/c" }, /MODELFLEET_REPO "a--b\/c" is not a Hugging Face repository id/],
    ["a bad endpoint", { HF_ENDPOINT: "ftp://mirror" }, /HF_ENDPOINT "ftp:\/\/mirror": expected an http\(s\) URL/],
  ])("rejects %s with exit 2 and the fix", async (_name, env, message) => {
    const run = await runJob(freshRoot(), env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(requests).toEqual([]);
  });

  it("rejects an unknown argument with exit 2", async () => {
    const run = await runJob(freshRoot(), {}, ["--force"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown argument "--force": the only argument is --trust-manifest-sizes/);
  });
});

describe("model store layout (models/layout.ts)", () => {
  it("is <root>/<owner>--<name>/<revision>, as the script writes it (checked above)", () => {
    expect(modelDir("/models", "Qwen/Qwen3-0.6B", REV_A)).toBe(`/models/Qwen--Qwen3-0.6B/${REV_A}`);
  });

  it.each([
    ["gpt2", /model repository "gpt2" is not a Hugging Face repository id: expected "owner\/name"/],
    ["a--b/c", /not a Hugging Face repository id/],
    ["a/../b", /not a Hugging Face repository id/],
    ["-a/b", /not a Hugging Face repository id/],
  ])("refuses repository %j", (repo, message) => {
    expect(() => modelDir("/models", repo, REV_A)).toThrow(message);
  });

  it("refuses a revision that is not a commit SHA", () => {
    expect(() => modelDir("/models", "Qwen/Qwen3-0.6B", "main")).toThrow(/model revision "main" is not a commit SHA: expected 40 lower-case hex digits/);
  });
});

/** No `.part` file and no temporary manifest left anywhere under `dir`. */
function readdirNoPart(dir: string): boolean {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).every((p) => !p.endsWith(".part") && !p.endsWith(".tmp"));
}
