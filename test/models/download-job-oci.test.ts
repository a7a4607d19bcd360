/**
 * models/download-job.mjs in OCI mode (issue #14), run for real with `node` against a real registry: a model folder is
 * packed with packModel (bundle/model-artifact.ts) and pushed with pushModel (skopeo) to a loopback docker-registry
 * (test/helpers/oci-registry.ts). Faults the real registry cannot produce come from stand-ins in this file, named as
 * such: a stand-in proxy in front of the registry (flips a byte of a blob, cuts a blob mid-way, demands a Bearer
 * token, redirects blobs to another origin), a stand-in token service, and a stand-in "object store" origin that
 * blob redirects lead to. Hand-made artifacts (unsafe layer titles, a packed manifest that lies) are pushed to the
 * real registry through its own upload API.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { packModel, pushModel } from "../../bundle/model-artifact.js";
import { modelDir } from "../../models/layout.js";
import { MANIFEST_FILE, MANIFEST_SCHEMA, readManifest, serializeManifest, verifyAgainstManifest } from "../../models/manifest.js";
import { startRegistry, type OciRegistry } from "../helpers/oci-registry.js";

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

const made: string[] = [];
const temp = (what: string) => {
  made.push(mkdtempSync(join(tmpdir(), `modelfleet-oci-job-${what}-`)));
  return made.at(-1) as string;
};

/** A model folder as the download Job leaves it, packed and pushed; returns the folder and `host/repo@sha256:…`. */
async function packAndPush(host: string, repository: string, files: Record<string, Buffer>, repo = REPO, revision = REVISION): Promise<{ dir: string; pinned: string }> {
  const dir = temp("model");
  for (const [path, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  }
  const entries = Object.entries(files).map(([path, bytes]) => ({ path, bytes: bytes.length, sha256: sha256(bytes) }));
  writeFileSync(join(dir, MANIFEST_FILE), serializeManifest({ schema: MANIFEST_SCHEMA, repo, revision, files: entries }));
  const layout = join(temp("layout"), "oci");
  const packed = await packModel(dir, layout);
  const { pinned } = await pushModel(layout, packed.tag, `${host}/${repository}:r1`, { insecure: true });
  return { dir, pinned };
}

interface Logged {
  readonly server: "proxy" | "token" | "store";
  readonly path: string;
  readonly authorization: string | undefined;
  readonly range: string | undefined;
  readonly accept: string | undefined;
  status?: number;
}

/** What the stand-ins do wrong or demand, reset before each test. */
const behaviour = {
  /** Blob hex digests whose bytes the proxy flips. */
  corrupt: new Set<string>(),
  /** Blob hex digests whose every response carries half of what was asked, then the connection drops. */
  cut: new Set<string>(),
  /** The proxy answers 401 + a Bearer challenge unless the request carries the issued token. */
  bearer: false,
  /** The token service demands these Basic credentials (undefined: anonymous tokens). */
  credentials: undefined as string | undefined,
  /** Blob requests are redirected (307) to the stand-in object store on another origin. */
  redirectBlobs: false,
  /** The proxy adds a trailing newline to manifests: still valid JSON, no longer the pinned bytes. */
  alterManifests: false,
};
const requests: Logged[] = [];
const servers: Server[] = [];
let registry: OciRegistry;
let proxy = "";
let tokenService = "";
let store = "";
let source: { dir: string; pinned: string };
let digest = "";

function listen(name: Logged["server"], handle: (req: IncomingMessage, res: ServerResponse, entry: Logged) => Promise<void> | void): Promise<string> {
  const server = createServer((req, res) => {
    const entry: Logged = { server: name, path: req.url ?? "", authorization: req.headers.authorization, range: req.headers.range, accept: req.headers.accept };
    requests.push(entry);
    Promise.resolve(handle(req, res, entry)).catch((error: Error) => res.writeHead(502).end(error.message));
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

/** Forwards a GET to the real registry (Accept and Range only), then applies `behaviour` to a blob's bytes. */
async function forward(req: IncomingMessage, res: ServerResponse, entry: Logged): Promise<void> {
  const headers: Record<string, string> = {};
  if (req.headers.accept) headers["accept"] = req.headers.accept;
  if (req.headers.range) headers["range"] = req.headers.range;
  const upstream = await fetch(`http://${registry.host}${req.url ?? "/"}`, { headers, redirect: "manual" });
  let body = Buffer.from(await upstream.arrayBuffer());
  const blob = /\/blobs\/sha256:([0-9a-f]{64})$/.exec(req.url ?? "")?.[1] ?? "";
  if (behaviour.alterManifests && /\/manifests\//.test(req.url ?? "")) body = Buffer.concat([body, Buffer.from("\n")]);
  if (behaviour.corrupt.has(blob) && body.length > 0) body = Buffer.from(body.map((b, i) => (i === body.length - 1 ? b ^ 0xff : b)));
  const out: Record<string, string | number> = { "content-length": body.length };
  for (const h of ["content-type", "content-range", "accept-ranges", "docker-content-digest"]) {
    const value = upstream.headers.get(h);
    if (value) out[h] = value;
  }
  res.writeHead((entry.status = upstream.status), out);
  if (behaviour.cut.has(blob)) {
    res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => req.socket.destroy(), 50));
    return;
  }
  res.end(body);
}

async function proxyHandler(req: IncomingMessage, res: ServerResponse, entry: Logged): Promise<void> {
  if (behaviour.bearer && req.headers.authorization !== `Bearer ${ISSUED}`) {
    res.writeHead((entry.status = 401), {
      "content-type": "application/json",
      "www-authenticate": `Bearer realm="http://${tokenService}/token",service="stand-in-registry",scope="repository:${REPOSITORY}:pull"`,
    });
    return void res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
  }
  if (behaviour.redirectBlobs && /\/blobs\/sha256:/.test(req.url ?? "")) {
    return void res.writeHead((entry.status = 307), { location: `http://${store}${req.url}?X-Amz-Signature=signed` }).end();
  }
  await forward(req, res, entry);
}

function tokenHandler(req: IncomingMessage, res: ServerResponse, entry: Logged): void {
  const expected = behaviour.credentials ? `Basic ${Buffer.from(behaviour.credentials).toString("base64")}` : undefined;
  if (expected && req.headers.authorization !== expected) return void res.writeHead((entry.status = 401)).end('{"details":"incorrect username or password"}');
  res.writeHead((entry.status = 200), { "content-type": "application/json" });
  res.end(JSON.stringify({ token: ISSUED, expires_in: 300 }));
}

async function storeHandler(req: IncomingMessage, res: ServerResponse, entry: Logged): Promise<void> {
  req.url = (req.url ?? "").replace(/\?.*$/, "");
  await forward(req, res, entry);
}

beforeAll(async () => {
  registry = await startRegistry();
  source = await packAndPush(registry.host, REPOSITORY, FILES);
  digest = source.pinned.slice(source.pinned.indexOf("@") + 1);
  proxy = await listen("proxy", proxyHandler);
  tokenService = await listen("token", tokenHandler);
  store = await listen("store", storeHandler);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await registry?.stop();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  Object.assign(behaviour, { corrupt: new Set(), cut: new Set(), bearer: false, credentials: undefined, redirectBlobs: false, alterManifests: false });
  requests.length = 0;
});

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

/** Pushes blobs and a hand-made manifest to the real registry through its upload API; returns the manifest digest. */
async function pushRaw(repository: string, blobs: Buffer[], manifest: object): Promise<string> {
  for (const blob of blobs) {
    const start = await fetch(`http://${registry.host}/v2/${repository}/blobs/uploads/`, { method: "POST" });
    expect(start.status).toBe(202);
    const location = new URL(start.headers.get("location") ?? "", `http://${registry.host}`);
    location.searchParams.set("digest", `sha256:${sha256(blob)}`);
    const put = await fetch(location, { method: "PUT", body: blob, headers: { "content-type": "application/octet-stream" } });
    expect(put.status).toBe(201);
  }
  const bytes = Buffer.from(JSON.stringify(manifest));
  const put = await fetch(`http://${registry.host}/v2/${repository}/manifests/sha256:${sha256(bytes)}`, { method: "PUT", body: bytes, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
  expect(put.status, await put.text()).toBe(201);
  return `sha256:${sha256(bytes)}`;
}

/** A model artifact in packModel's form, with the layer titles and packed manifest a test chooses. */
function handMade(layers: { title: string; bytes: Buffer }[], listed: { path: string; bytes: Buffer }[] = layers.map((l) => ({ path: l.title, bytes: l.bytes }))) {
  const packedManifest = Buffer.from(serializeManifest({ schema: MANIFEST_SCHEMA, repo: REPO, revision: REVISION, files: listed.map((f) => ({ path: f.path, bytes: f.bytes.length, sha256: sha256(f.bytes) })) }));
  const config = Buffer.from(JSON.stringify({ descriptor: { name: REPO, revision: REVISION }, config: {}, modelfs: { type: "layers", diffIds: [] } }));
  const all = [...layers, { title: MANIFEST_FILE, bytes: packedManifest }];
  const descriptor = (b: Buffer) => ({ digest: `sha256:${sha256(b)}`, size: b.length });
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    artifactType: "application/vnd.cncf.model.manifest.v1+json",
    config: { mediaType: "application/vnd.cncf.model.config.v1+json", ...descriptor(config) },
    layers: all.map((l) => ({ mediaType: "application/vnd.cncf.model.weight.config.v1.raw", ...descriptor(l.bytes), annotations: { "org.opencontainers.image.title": l.title } })),
    annotations: { "dev.modelfleet.model.repo": REPO, "dev.modelfleet.model.revision": REVISION },
  };
  return { blobs: [config, ...all.map((l) => l.bytes)], manifest };
}

describe("download Job script in OCI mode: hand-made artifacts on the real registry", () => {
  const a = Buffer.from("a\n");
  const b = Buffer.from("b\n");
  it.each([
    ["a .. segment", "../escape.json", /title "\.\.\/escape\.json" contains a \.\. segment; refusing it: nothing is written outside the model folder/],
    ["an absolute path", "/etc/escape.json", /title "\/etc\/escape\.json" is absolute/],
    ["a backslash", "dir\\escape.json", /title "dir\\\\escape\.json" contains a backslash/],
    ["a control character", "bad\u0007name.json", /title "bad\?name\.json" contains a control character/],
  ])("refuses a layer title with %s, writing nothing", async (_what, title, message) => {
    const { blobs, manifest } = handMade([{ title: "config.json", bytes: a }, { title, bytes: b }]);
    const pinned = await pushRaw("models/unsafe", blobs, manifest);
    const root = temp("root");
    const run = await runJob(root, { MODELFLEET_OCI: `${proxy}/models/unsafe@${pinned}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(readdirSync(root)).toEqual([]);
  });

  it("refuses two layers with the same title", async () => {
    const { blobs, manifest } = handMade([{ title: "config.json", bytes: a }, { title: "config.json", bytes: b }], [{ path: "config.json", bytes: a }]);
    const pinned = await pushRaw("models/twice", blobs, manifest);
    const run = await runJob(temp("root"), { MODELFLEET_OCI: `${proxy}/models/twice@${pinned}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/layers\[1\]: "config\.json" is the title of two layers; refusing an ambiguous artifact/);
  });

  it("refuses an artifact whose packed modelfleet-manifest.json does not list exactly its layers, before fetching any file", async () => {
    const { blobs, manifest } = handMade([{ title: "config.json", bytes: a }, { title: "extra.py", bytes: b }], [{ path: "config.json", bytes: a }]);
    const pinned = await pushRaw("models/lying", blobs, manifest);
    const root = temp("root");
    const run = await runJob(root, { MODELFLEET_OCI: `${proxy}/models/lying@${pinned}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/its modelfleet-manifest\.json \(sha256:[0-9a-f]{64}\) does not list exactly the artifact's layers: layer "extra\.py" is not listed in it; the artifact was altered after packing/);
    expect(blobRequests().map((r) => r.path)).toEqual([`/v2/models/lying/blobs/sha256:${sha256(blobs.at(-1)!)}`]);
    expect(readdirSync(root)).toEqual([]);
  });

  it("refuses an image (not a ModelPack artifact) by its types", async () => {
    const { blobs, manifest } = handMade([{ title: "config.json", bytes: a }]);
    const image = { ...manifest, artifactType: undefined, config: { ...manifest.config, mediaType: "application/vnd.oci.image.config.v1+json" } };
    const pinned = await pushRaw("models/image", blobs, image);
    const run = await runJob(temp("root"), { MODELFLEET_OCI: `${proxy}/models/image@${pinned}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/artifactType \(missing\) with config "application\/vnd\.oci\.image\.config\.v1\+json" is not a ModelPack model/);
  });
});
