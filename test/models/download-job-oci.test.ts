/**
 * models/download-job.mjs in OCI mode (issue #14), run for real with `node` against a real registry: a model folder is
 * packed with packModel (bundle/model-artifact.ts) and pushed with pushModel (skopeo) to a loopback docker-registry
 * (test/helpers/oci-registry.ts). Faults the real registry cannot produce come from the stand-ins of
 * test/helpers/oci-stand-ins.ts: a proxy in front of the registry (flips a byte of a blob, cuts a blob mid-way,
 * demands a Bearer token, redirects blobs to another origin), a token service, and an "object store" origin that
 * blob redirects lead to. Hand-made artifacts (unsafe layer titles, a packed manifest that lies) are pushed to the
 * real registry through its own upload API.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { modelDir } from "../../models/layout.js";
import { MANIFEST_FILE, readManifest, verifyAgainstManifest } from "../../models/manifest.js";
import { writeModelFolder } from "../helpers/model-folder.js";
import { startRegistry, type OciRegistry } from "../helpers/oci-registry.js";
import { handMadeModelArtifact, pushModelFolder, pushRawArtifact, startOciStandIns, type OciBehaviour, type OciRequest, type OciStandIns } from "../helpers/oci-stand-ins.js";
import { useTempDirs } from "../helpers/temp-dir.js";

const SCRIPT = join(import.meta.dirname, "..", "..", "models", "download-job.mjs");
const REPO = "Qwen/Qwen3-0.6B";
const REVISION = "c1899de289a04d12100db370d81485cdf75e47ca";
const OTHER_REVISION = "0d51c1e7e7f2a3b1f3a5b6c7d8e9f0a1b2c3d4e5";
const REPOSITORY = "models/qwen3-0.6b";
const USERNAME = "puller";
const PASSWORD = "standInRegistryPassword-0123456789";
const ISSUED = "standInIssuedBearerToken.abcdef0123456789";
const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

const WEIGHTS = randomBytes(1 << 20);
const FILES: Record<string, Buffer> = {
  "model.safetensors": WEIGHTS,
  "config.json": Buffer.from('{"architectures":["Qwen3ForCausalLM"]}\n'),
  "tokenizer/tokenizer.json": Buffer.from('{"version":"1.0"}\n'),
};

const tempDir = useTempDirs();
const temp = (what: string) => tempDir(`modelfleet-oci-job-${what}-`);

/** A model folder as the download Job leaves it, packed and pushed; returns the folder and `host/repo@sha256:…`. */
async function packAndPush(host: string, repository: string, files: Record<string, Buffer>, repo = REPO, revision = REVISION): Promise<{ dir: string; pinned: string }> {
  const dir = writeModelFolder(temp("model"), files, { repo, revision });
  const { pinned } = await pushModelFolder(dir, join(temp("layout"), "oci"), `${host}/${repository}:r1`);
  return { dir, pinned };
}

let registry: OciRegistry;
let standIns: OciStandIns;
/** What the stand-ins do wrong or demand, reset before each test. */
let behaviour: OciBehaviour;
let requests: OciRequest[];
let proxy = "";
let tokenService = "";
let source: { dir: string; pinned: string };
let digest = "";

beforeAll(async () => {
  registry = await startRegistry();
  source = await packAndPush(registry.host, REPOSITORY, FILES);
  digest = source.pinned.slice(source.pinned.indexOf("@") + 1);
  standIns = await startOciStandIns({ registryHost: registry.host, repository: REPOSITORY, issuedToken: ISSUED });
  ({ behaviour, requests, proxy, tokenService } = standIns);
});
afterAll(async () => {
  await standIns?.close();
  await registry?.stop();
});
beforeEach(() => standIns.reset());

async function runJob(root: string, env: Record<string, string> = {}) {
  const result = await execa(process.execPath, [SCRIPT], {
    reject: false,
    extendEnv: false,
    env: { PATH: process.env["PATH"] ?? "", MODELFLEET_REPO: REPO, MODELFLEET_REVISION: REVISION, MODELFLEET_TARGET: root, MODELFLEET_OCI: `${proxy}/${REPOSITORY}@${digest}`, MODELFLEET_OCI_INSECURE: "1", ...env },
  });
  return { code: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

const blobRequests = () => requests.filter((r) => r.path.includes("/blobs/"));
const noPartials = (dir: string) => readdirSync(dir, { recursive: true, encoding: "utf8" }).every((p) => !p.endsWith(".part") && !p.endsWith(".tmp"));

describe("download Job script in OCI mode (MODELFLEET_OCI) against a real registry", () => {
  it("pulls the pinned artifact into modelDir(root, repo, revision): files byte-identical, the packed manifest written last", async () => {
    const root = temp("root");
    const run = await runJob(root);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const dir = modelDir(root, REPO, REVISION);
    for (const [path, bytes] of Object.entries(FILES)) expect(readFileSync(join(dir, path)).equals(bytes)).toBe(true);
    // The folder's manifest is the one the artifact carries, byte for byte, and models/manifest.ts accepts it.
    expect(readFileSync(join(dir, MANIFEST_FILE), "utf8")).toBe(readFileSync(join(source.dir, MANIFEST_FILE), "utf8"));
    expect(await verifyAgainstManifest(dir, await readManifest(dir))).toEqual([]);
    expect(noPartials(dir)).toBe(true);
    // Manifest by digest with the OCI Accept header, then the packed manifest, then one GET per file, in path order.
    expect(requests[0]).toMatchObject({ path: `/v2/${REPOSITORY}/manifests/${digest}`, accept: "application/vnd.oci.image.manifest.v1+json", status: 200 });
    const manifestLayer = sha256(readFileSync(join(source.dir, MANIFEST_FILE)));
    expect(blobRequests().map((r) => r.path)).toEqual(
      [manifestLayer, sha256(FILES["config.json"]!), sha256(WEIGHTS), sha256(FILES["tokenizer/tokenizer.json"]!)].map((hex) => `/v2/${REPOSITORY}/blobs/sha256:${hex}`),
    );
    expect(run.stdout).toMatch(new RegExp(`${REPO}@${REVISION}: 3 files, 1\\.0 MiB, from ${proxy}/${REPOSITORY}@${digest} into `));
    expect(run.stdout).toMatch(/\[2\/3\] model\.safetensors: 1\.0 MiB verified \(sha256\)/);
  });

  it("a re-run over the complete folder needs no registry: stopped, the re-run still succeeds", async () => {
    const own = await startRegistry();
    const root = temp("root");
    let pinned = "";
    try {
      pinned = (await packAndPush(own.host, "models/alone", FILES)).pinned;
      expect((await runJob(root, { MODELFLEET_OCI: pinned })).code).toBe(0);
    } finally {
      await own.stop();
    }
    expect(await fetch(`http://${own.host}/v2/`).then(() => "up", () => "down")).toBe("down");
    const again = await runJob(root, { MODELFLEET_OCI: pinned });
    expect(again.stderr).toBe("");
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already complete .*3 files verified.*nothing to do/);
  });

  it.each([
    ["repository", { MODELFLEET_REPO: "Qwen/Qwen3-8B" }, `annotation dev\\.modelfleet\\.model\\.repo is "Qwen/Qwen3-0\\.6B", but MODELFLEET_REPO is "Qwen/Qwen3-8B"`],
    ["revision", { MODELFLEET_REVISION: OTHER_REVISION }, `annotation dev\\.modelfleet\\.model\\.revision is "${REVISION}", but MODELFLEET_REVISION is "${OTHER_REVISION}"`],
  ])("refuses an artifact whose %s annotation differs from the config, before fetching any file", async (_what, env, message) => {
    const root = temp("root");
    const run = await runJob(root, env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^modelfleet download: manifest ${proxy}/${REPOSITORY}@${digest}: ${message}; the pin and the model's repo/revision must name the same model`));
    expect(blobRequests()).toEqual([]);
  });

  it("fails naming a digest the registry does not have", async () => {
    const missing = `sha256:${"0".repeat(64)}`;
    const run = await runJob(temp("root"), { MODELFLEET_OCI: `${proxy}/${REPOSITORY}@${missing}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `modelfleet download: manifest ${proxy}/${REPOSITORY}@${missing}: HTTP 404 from http://${proxy}/v2/${REPOSITORY}/manifests/${missing}: the registry has no such manifest in ${REPOSITORY}; check MODELFLEET_OCI (push the artifact with \`modelfleet models pack\`, or mirror it into this registry)`,
    );
  });

  it("refuses a manifest whose bytes do not hash to the pinned digest, before fetching any file", async () => {
    behaviour.alterManifests = true;
    const root = temp("root");
    const run = await runJob(root);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^modelfleet download: manifest ${proxy}/${REPOSITORY}@${digest}: the registry served a manifest with sha256:[0-9a-f]{64}, not the pinned digest; refusing it`));
    expect(blobRequests()).toEqual([]);
    expect(readdirSync(root)).toEqual([]);
  });

  it("refuses a corrupted blob naming the file: no final file, no .part, no manifest", async () => {
    behaviour.corrupt.add(sha256(WEIGHTS));
    const root = temp("root");
    const run = await runJob(root);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^modelfleet download: model\\.safetensors: downloaded bytes do not match the artifact: sha256 [0-9a-f]{64}, the artifact publishes ${sha256(WEIGHTS)}; removed the partial file`));
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const dir = modelDir(root, REPO, REVISION);
    expect(existsSync(join(dir, "model.safetensors"))).toBe(false);
    expect(existsSync(join(dir, "model.safetensors.part"))).toBe(false);
    expect(existsSync(join(dir, MANIFEST_FILE))).toBe(false);
  });

  it("an interrupted blob download leaves only a .part; the re-run resumes it with Range and completes", async () => {
    const hex = sha256(WEIGHTS);
    behaviour.cut.add(hex);
    const root = temp("root");
    const dir = modelDir(root, REPO, REVISION);
    const cut = await runJob(root);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(/model\.safetensors: download failed after 3 attempts/);
    const ranges = () => requests.filter((r) => r.path.endsWith(hex)).map((r) => [r.range, r.status]);
    // Each retry within the run resumed where the last one stopped, and the real registry honoured the Range.
    expect(ranges()).toEqual([[undefined, 200], [`bytes=${WEIGHTS.length / 2}-`, 206], [`bytes=${(WEIGHTS.length * 3) / 4}-`, 206]]);
    const partial = statSync(join(dir, "model.safetensors.part")).size;
    expect(partial).toBe((WEIGHTS.length * 7) / 8);
    expect(existsSync(join(dir, MANIFEST_FILE))).toBe(false);

    behaviour.cut.clear();
    requests.length = 0;
    const resumed = await runJob(root);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/model\.safetensors: resuming at 896\.0 KiB \(87%\)/);
    expect(ranges()).toEqual([[`bytes=${partial}-`, 206]]);
    // config.json was complete from the first run: kept, not fetched again.
    expect(blobRequests().some((r) => r.path.endsWith(sha256(FILES["config.json"]!)))).toBe(false);
    expect(readFileSync(join(dir, "model.safetensors")).equals(WEIGHTS)).toBe(true);
    expect(await verifyAgainstManifest(dir, await readManifest(dir))).toEqual([]);
    expect(noPartials(dir)).toBe(true);
  });

  it("Bearer token flow: credentials go to the token service only, the token to the registry only, neither across a redirect nor into the log", async () => {
    Object.assign(behaviour, { bearer: true, credentials: `${USERNAME}:${PASSWORD}`, redirectBlobs: true });
    const root = temp("root");
    const run = await runJob(root, { MODELFLEET_OCI_USERNAME: USERNAME, MODELFLEET_OCI_PASSWORD: PASSWORD });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const basic = `Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString("base64")}`;
    const tokens = requests.filter((r) => r.server === "token");
    expect(tokens).toHaveLength(1);
    expect(tokens[0]!.authorization).toBe(basic);
    expect(Object.fromEntries(new URL(tokens[0]!.path, "http://x").searchParams)).toEqual({ service: "stand-in-registry", scope: `repository:${REPOSITORY}:pull` });
    const registryCalls = requests.filter((r) => r.server === "proxy");
    expect(registryCalls[0]).toMatchObject({ authorization: undefined, status: 401 });
    expect(registryCalls.slice(1).every((r) => r.authorization === `Bearer ${ISSUED}`)).toBe(true);
    const stored = requests.filter((r) => r.server === "store");
    expect(stored).toHaveLength(4);
    expect(stored.map((r) => r.authorization)).toEqual([undefined, undefined, undefined, undefined]);
    const output = `${run.stdout}${run.stderr}`;
    for (const secret of [PASSWORD, ISSUED, basic.slice(6), "X-Amz-Signature"]) expect(output).not.toContain(secret);
    expect(await verifyAgainstManifest(modelDir(root, REPO, REVISION), await readManifest(modelDir(root, REPO, REVISION)))).toEqual([]);
  });

  it("Bearer token flow without credentials: an anonymous token works; wrong credentials fail naming the fix, never the password", async () => {
    behaviour.bearer = true;
    expect((await runJob(temp("root"))).code).toBe(0);
    expect(requests.filter((r) => r.server === "token").map((r) => r.authorization)).toEqual([undefined]);

    behaviour.credentials = `${USERNAME}:${PASSWORD}`;
    const wrong = await runJob(temp("root"), { MODELFLEET_OCI_USERNAME: USERNAME, MODELFLEET_OCI_PASSWORD: "not-the-password" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(
      `modelfleet download: token for ${REPOSITORY} from http://${tokenService}/token: HTTP 401: the token service refused MODELFLEET_OCI_USERNAME/MODELFLEET_OCI_PASSWORD; check the Secret`,
    );
    const anonymous = await runJob(temp("root"));
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/HTTP 401: the registry allows no anonymous pulls: give the Job MODELFLEET_OCI_USERNAME and MODELFLEET_OCI_PASSWORD \(from a Secret\)$/);
  });

  it("MODELFLEET_FILES selects layers (must match); MODELFLEET_FILES_OPTIONAL adds those present and may match nothing; a leading / keeps a glob to the top level", async () => {
    const root = temp("root");
    const run = await runJob(root, { MODELFLEET_FILES: "*.safetensors", MODELFLEET_FILES_OPTIONAL: "*.tiktoken, /*.json" });
    expect(run.code).toBe(0);
    expect((await readManifest(modelDir(root, REPO, REVISION))).files.map((f) => f.path)).toEqual(["config.json", "model.safetensors"]);
    expect(existsSync(join(modelDir(root, REPO, REVISION), "tokenizer"))).toBe(false);
    requests.length = 0;
    expect((await runJob(root, { MODELFLEET_FILES: "*.safetensors", MODELFLEET_FILES_OPTIONAL: "*.tiktoken, /*.json" })).stdout).toMatch(/already complete/);
    expect(requests).toEqual([]);

    const none = await runJob(temp("root"), { MODELFLEET_FILES_OPTIONAL: "*.tiktoken" });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/MODELFLEET_FILES_OPTIONAL patterns "\*\.tiktoken" select no file of .*; its files are: config\.json, model\.safetensors, tokenizer\/tokenizer\.json\. Name the files to fetch in MODELFLEET_FILES/);
  });

  it.each([
    ["a tag-only reference", { MODELFLEET_OCI: "registry.example/models/qwen:v1" }, /MODELFLEET_OCI "registry\.example\/models\/qwen:v1" is not a digest-pinned OCI reference: expected <registry>\/<repository>@sha256:<64 lower-case hex>/],
    ["a reference without a registry host", { MODELFLEET_OCI: `models/qwen@sha256:${"a".repeat(64)}` }, /has no registry host \("models" is not one\): name the registry/],
    ["an upper-case repository", { MODELFLEET_OCI: `registry.example/Models/Qwen@sha256:${"a".repeat(64)}` }, /is not a digest-pinned OCI reference/],
    ["offline and OCI together", { MODELFLEET_OFFLINE: "1" }, /MODELFLEET_OFFLINE=1 and MODELFLEET_OCI are both set: .*; set one of them/],
    ["a username without a password", { MODELFLEET_OCI_USERNAME: USERNAME }, /only MODELFLEET_OCI_USERNAME is set: registry credentials need both/],
    ["a switch that is not one", { MODELFLEET_OCI_INSECURE: "yes" }, /MODELFLEET_OCI_INSECURE "yes" is not a switch: set it to 1 \(or true\)/],
  ])("rejects %s with exit 2 and the fix, before any request", async (_name, env, message) => {
    const run = await runJob(temp("root"), env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(requests).toEqual([]);
  });
});

describe("download Job script in OCI mode: hand-made artifacts on the real registry", () => {
  const a = Buffer.from("a\n");
  const b = Buffer.from("b\n");
  it.each([
    ["a .. segment", "../escape.json", /title "\.\.\/escape\.json" contains a \.\. segment; refusing it: nothing is written outside the model folder/],
    ["an absolute path", "/etc/escape.json", /title "\/etc\/escape\.json" is absolute/],
    ["a backslash", "dir\\escape.json", /title "dir\\\\escape\.json" contains a backslash/],
    ["a control character", "bad\u0007name.json", /title "bad\?name\.json" contains a control character/],
  ])("refuses a layer title with %s, writing nothing", async (_what, title, message) => {
    const { blobs, manifest } = handMadeModelArtifact(REPO, REVISION, [{ title: "config.json", bytes: a }, { title, bytes: b }]);
    const pinned = await pushRawArtifact(registry.host, "models/unsafe", blobs, manifest);
    const root = temp("root");
    const run = await runJob(root, { MODELFLEET_OCI: `${proxy}/models/unsafe@${pinned}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(readdirSync(root)).toEqual([]);
  });

  it("refuses two layers with the same title", async () => {
    const { blobs, manifest } = handMadeModelArtifact(REPO, REVISION, [{ title: "config.json", bytes: a }, { title: "config.json", bytes: b }], [{ path: "config.json", bytes: a }]);
    const pinned = await pushRawArtifact(registry.host, "models/twice", blobs, manifest);
    const run = await runJob(temp("root"), { MODELFLEET_OCI: `${proxy}/models/twice@${pinned}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/layers\[1\]: "config\.json" is the title of two layers; refusing an ambiguous artifact/);
  });

  it("refuses an artifact whose packed modelfleet-manifest.json does not list exactly its layers, before fetching any file", async () => {
    const { blobs, manifest } = handMadeModelArtifact(REPO, REVISION, [{ title: "config.json", bytes: a }, { title: "extra.py", bytes: b }], [{ path: "config.json", bytes: a }]);
    const pinned = await pushRawArtifact(registry.host, "models/lying", blobs, manifest);
    const root = temp("root");
    const run = await runJob(root, { MODELFLEET_OCI: `${proxy}/models/lying@${pinned}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/its modelfleet-manifest\.json \(sha256:[0-9a-f]{64}\) does not list exactly the artifact's layers: layer "extra\.py" is not listed in it; the artifact was altered after packing/);
    expect(blobRequests().map((r) => r.path)).toEqual([`/v2/models/lying/blobs/sha256:${sha256(blobs.at(-1)!)}`]);
    expect(readdirSync(root)).toEqual([]);
  });

  it("refuses an image (not a ModelPack artifact) by its types", async () => {
    const { blobs, manifest } = handMadeModelArtifact(REPO, REVISION, [{ title: "config.json", bytes: a }]);
    const image = { ...manifest, artifactType: undefined, config: { ...manifest.config, mediaType: "application/vnd.oci.image.config.v1+json" } };
    const pinned = await pushRawArtifact(registry.host, "models/image", blobs, image);
    const run = await runJob(temp("root"), { MODELFLEET_OCI: `${proxy}/models/image@${pinned}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/artifactType \(missing\) with config "application\/vnd\.oci\.image\.config\.v1\+json" is not a ModelPack model/);
  });
});
