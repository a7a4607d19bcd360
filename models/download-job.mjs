#!/usr/bin/env node
// modelfleet model download Job: fetches exactly one pinned Hugging Face revision into the model store, verifies
// every byte, and writes modelfleet-manifest.json last. Runs in a pinned node:*-alpine image from a ConfigMap, so
// it uses node: builtins and the global fetch only (no npm packages, no build step).
//
// Environment:  MODELFLEET_REPO      owner/name, e.g. Qwen/Qwen3-0.6B
//               MODELFLEET_REVISION  the 40-hex commit SHA to fetch (branches and tags move; a store must not)
//               MODELFLEET_TARGET    the store root; files go to <root>/<owner>--<name>/<revision>/ (models/layout.ts)
//               MODELFLEET_FILES     optional: comma/newline separated globs (* ? **) selecting files, e.g. *Q8_0.gguf
//               HF_ENDPOINT          default https://huggingface.co (a mirror or a stand-in in tests)
//               HF_TOKEN             optional bearer token; never printed, never sent to another host
// Arguments:    --trust-manifest-sizes  the re-run check compares sizes only instead of hashing every file
// Exit codes:   0 done or already complete · 1 download or verification failed · 2 bad configuration
//
// Idempotent: when the folder's manifest names this repo and revision and every file it lists verifies, the run ends
// without touching the network, so a re-run during a Hub outage still succeeds. (A changed MODELFLEET_FILES is noticed
// only when a pattern matches no listed file; dropping the filter does not widen an existing folder.) Files appear
// under their final names only once verified; the manifest, written last, is the "complete" mark.
//
// Hub API facts, from huggingface_hub @ee0a4510f4bc15e26cb722be2efc2bdb01383ca0:
// - constants.py: ENDPOINT = HF_ENDPOINT or https://huggingface.co (trailing / stripped); files are at
//   {endpoint}/{repo_id}/resolve/{revision}/{filename} (HUGGINGFACE_CO_URL_TEMPLATE; file_download.py hf_hub_url
//   quotes the filename keeping "/").
// - hf_api.py list_repo_tree: GET {endpoint}/api/models/{repo_id}/tree/{revision}?recursive=true, paginated by
//   utils/_pagination.py through the GitHub-style `Link: <url>; rel="next"` header (the next URL carries the query).
//   Entries {type: "file"|"directory", path, size, oid, lfs?: {oid, size, pointerSize}}; RepoFile reads `oid` as the
//   git blob id and `lfs.oid` as the sha256 of the content.
// - utils/sha.py git_hash: a blob id is sha1("blob <size>\0" + bytes), so small files are verified by content too.
// - file_download.py (get_hf_file_metadata / _download_to_tmp_and_move): LFS files redirect to a signed CDN URL; the
//   Authorization header is dropped when the redirect leaves the endpoint's host, and kept for same-host (rename)
//   redirects. A partial `.incomplete` file is resumed with `Range: bytes=<size>-`; a 200 reply means the server
//   ignored the range and the file starts over. We do the same, with `<path>.part`.
// - utils/_validators.py validate_repo_id: "--" is forbidden in repo ids, so <owner>--<name> is unambiguous.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat, statfs } from "node:fs/promises";
import { dirname, join } from "node:path";

const MANIFEST_FILE = "modelfleet-manifest.json";
const MANIFEST_SCHEMA = "modelfleet.dev/model-manifest/v1";
const ATTEMPTS = 3; // per file: a cut connection resumes from the .part at once instead of waiting for the Job's backoff
const IDLE_TIMEOUT_MS = 120_000; // a stalled connection fails (and is retried) rather than hanging the Job forever
const PROGRESS_EVERY_MS = 30_000; // a multi-GB file prints a line now and then, so `kubectl logs` shows it moving

// The layout rule, a copy of models/layout.ts modelDir (this file cannot import TypeScript).
const modelDir = (root, repo, revision) => join(root, repo.replace("/", "--"), revision);

class Failure extends Error {
  constructor(message, code = 1) {
    super(message);
    this.code = code;
  }
}

const log = (line) => process.stdout.write(`${line}\n`);
const size = (n) => (n < 1024 ? `${Math.round(n)} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(2)} GiB`);
const percent = (done, total) => `${total === 0 ? 100 : Math.floor((done / total) * 100)}%`;
// URLs in messages lose their query: a CDN redirect's query is a signature.
const shown = (url) => `${url.origin}${url.pathname}`;

function readConfig(argv, env) {
  const unknown = argv.filter((a) => a !== "--trust-manifest-sizes");
  if (unknown.length > 0) throw new Failure(`unknown argument ${JSON.stringify(unknown[0])}: the only argument is --trust-manifest-sizes; settings come from MODELFLEET_* variables`, 2);
  const need = (name, example) => {
    const value = env[name]?.trim();
    if (!value) throw new Failure(`${name} is not set: set it to ${example}`, 2);
    return value;
  };
  const repo = need("MODELFLEET_REPO", 'the Hugging Face repository, e.g. "Qwen/Qwen3-0.6B"');
  // Same rule as models/layout.ts checkRepo, so the folder name maps back to one repository.
  if (!/^[\w.-]{1,96}\/[\w.-]{1,96}$/.test(repo) || /--|\.\.|(^|\/)[.-]|[.-]($|\/)/.test(repo)) {
    throw new Failure(`MODELFLEET_REPO ${JSON.stringify(repo)} is not a Hugging Face repository id: expected "owner/name" (letters, digits, _ - ., no "--" or ".."), e.g. "Qwen/Qwen3-0.6B"`, 2);
  }
  const revision = need("MODELFLEET_REVISION", "the 40-hex commit SHA to fetch");
  if (!/^[0-9a-f]{40}$/.test(revision)) {
    throw new Failure(`MODELFLEET_REVISION ${JSON.stringify(revision)} is not a commit SHA: expected 40 lower-case hex digits; pin the commit, not a branch or tag`, 2);
  }
  const root = need("MODELFLEET_TARGET", "the model store's mount path, e.g. /models");
  let endpoint;
  try {
    endpoint = new URL((env.HF_ENDPOINT?.trim() || "https://huggingface.co").replace(/\/+$/, ""));
  } catch {
    throw new Failure(`HF_ENDPOINT ${JSON.stringify(env.HF_ENDPOINT)} is not a URL: expected e.g. https://huggingface.co`, 2);
  }
  if (endpoint.protocol !== "https:" && endpoint.protocol !== "http:") throw new Failure(`HF_ENDPOINT ${JSON.stringify(env.HF_ENDPOINT)}: expected an http(s) URL`, 2);
  const patterns = (env.MODELFLEET_FILES ?? "").split(/[,\n]/).map((p) => p.trim()).filter(Boolean);
  return { repo, revision, root, endpoint, patterns, token: env.HF_TOKEN?.trim() || undefined, trustSizes: argv.includes("--trust-manifest-sizes") };
}

// `**` any folders, `*` and `?` within one path segment; a pattern without "/" matches the file name anywhere.
function globToRegExp(pattern) {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*\/?|\*|\?/g, (m) => (m === "?" ? "[^/]" : m === "*" ? "[^/]*" : "(?:.*/)?"));
  return new RegExp(pattern.includes("/") ? `^${body}$` : `^(?:.*/)?${body}$`);
}

// GET with manual redirects: the bearer token goes only to the endpoint's own origin (a CDN URL is already signed).
async function request(config, url, headers = {}, signal) {
  for (let hop = 0; hop < 10; hop++) {
    const sameOrigin = url.origin === config.endpoint.origin;
    const auth = config.token && sameOrigin ? { authorization: `Bearer ${config.token}` } : {};
    const response = await fetch(url, { headers: { ...headers, ...auth, "user-agent": "modelfleet-download-job/1" }, redirect: "manual", signal });
    if (![301, 302, 303, 307, 308].includes(response.status)) return { response, url };
    await response.body?.cancel();
    const location = response.headers.get("location");
    if (!location) throw new Failure(`${shown(url)}: HTTP ${response.status} redirect without a Location header`);
    url = new URL(location, url);
  }
  throw new Failure(`${shown(url)}: more than 10 redirects`);
}

const reason = (error) => error.cause?.message ?? error.message;

// Network errors, 429 and 5xx (thrown as plain Errors) are retried; a Failure (404, bad bytes, …) fails at once.
async function retrying(what, fn) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof Failure) throw error;
      if (attempt >= ATTEMPTS) throw new Failure(`${what} failed after ${attempt} attempts: ${reason(error)}`);
      log(`${what} interrupted (${reason(error)}); retrying (attempt ${attempt + 1} of ${ATTEMPTS})`);
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

function httpFailure(what, url, response) {
  if (response.status >= 500 || response.status === 429) return new Error(`HTTP ${response.status} from ${shown(url)}`);
  const hint =
    response.status === 401 || response.status === 403
      ? "the repository is gated or private: give the Job an HF_TOKEN with read access (from a Secret)"
      : response.status === 404
        ? "check MODELFLEET_REPO and MODELFLEET_REVISION (the commit must exist in that repository)"
        : "the Hub or the network failed; the Job retries";
  return new Failure(`${what}: HTTP ${response.status} from ${shown(url)}: ${hint}`);
}

const RELATIVE = /^(?!\/)(?!.*(^|\/)\.\.?(\/|$))(?!.*\/\/)[^\0\\]+$/; // as models/manifest.ts: stays inside the folder

async function listFiles(config) {
  const base = `${config.endpoint.href.replace(/\/$/, "")}/api/models/${config.repo}/tree/${config.revision}?recursive=true`;
  let url = new URL(base);
  const files = [];
  for (let page = 0; url; page++) {
    if (page >= 10_000) throw new Failure(`${shown(url)}: more than 10000 pages of files`);
    const what = `listing ${config.repo}@${config.revision}`;
    const { got, entries } = await retrying(what, async () => {
      const got = await request(config, url);
      if (!got.response.ok) throw httpFailure(what, got.url, got.response);
      return { got, entries: await got.response.json() };
    });
    if (!Array.isArray(entries)) throw new Failure(`${shown(got.url)}: expected a JSON array of tree entries`);
    for (const e of entries) {
      if (e?.type !== "file") continue;
      const lfs = e.lfs ? { sha256: e.lfs.oid, size: e.lfs.size } : undefined;
      const valid = typeof e.path === "string" && RELATIVE.test(e.path) && e.path !== MANIFEST_FILE && Number.isSafeInteger(e.size) && e.size >= 0 && /^[0-9a-f]{40}$/.test(e.oid ?? "");
      if (!valid || (lfs && (!/^[0-9a-f]{64}$/.test(lfs.sha256 ?? "") || lfs.size !== e.size))) {
        throw new Failure(`${shown(got.url)}: tree entry ${JSON.stringify(e.path)} is not a file entry we can verify (path, size, oid, lfs.oid)`);
      }
      files.push({ path: e.path, bytes: e.size, sha256: lfs?.sha256, blob: lfs ? undefined : e.oid });
    }
    const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(got.response.headers.get("link") ?? "")?.[1];
    url = next ? new URL(next, got.url) : undefined;
    // The token follows the listing: a next page on another host would receive it.
    if (url && url.origin !== config.endpoint.origin) throw new Failure(`${shown(got.url)}: the next page is on another host (${url.origin}); refusing to follow`);
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)); // the same order (and log) on every run
  const paths = new Set(files.map((f) => f.path));
  const clash = files.find((f) => paths.has(`${f.path}.part`));
  if (clash) throw new Failure(`${config.repo}@${config.revision} has both ${clash.path} and ${clash.path}.part; the download's partial-file name would overwrite one with the other`);
  if (config.patterns.length === 0) return files;
  const selected = new Set();
  for (const pattern of config.patterns) {
    const re = globToRegExp(pattern);
    const matches = files.filter((f) => re.test(f.path));
    if (matches.length === 0) {
      throw new Failure(`MODELFLEET_FILES pattern ${JSON.stringify(pattern)} matches no file of ${config.repo}@${config.revision}; its files are: ${files.map((f) => f.path).join(", ")}`, 2);
    }
    for (const f of matches) selected.add(f);
  }
  return files.filter((f) => selected.has(f));
}

// Hashes as the Hub publishes them: sha256 always (the manifest's), plus the git blob sha1 for non-LFS files.
function hashers(file) {
  const sha256 = createHash("sha256");
  const sha1 = file.blob ? createHash("sha1").update(`blob ${file.bytes}\0`) : undefined;
  return { update: (b) => (sha256.update(b), sha1?.update(b)), digest: () => ({ sha256: sha256.digest("hex"), blob: sha1?.digest("hex") }) };
}

async function hashFile(path, h) {
  let n = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    h.update(chunk);
    n += chunk.length;
  }
  return n;
}

// What is wrong with these bytes for this file, or undefined when they are the published ones.
function mismatch(file, bytes, digest) {
  if (bytes !== file.bytes) return `${bytes} bytes, the Hub lists ${file.bytes}`;
  if (file.sha256 && digest.sha256 !== file.sha256) return `sha256 ${digest.sha256}, the Hub publishes ${file.sha256}`;
  if (file.blob && digest.blob !== file.blob) return `git blob id ${digest.blob}, the Hub publishes ${file.blob}`;
  return undefined;
}

async function syncDir(dir) {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(path) {
  return stat(path).then((s) => s, () => undefined);
}

// One file: keep it if the final name already verifies, else stream into <path>.part (resuming it), verify, rename.
async function fetchFile(config, dir, file, label) {
  const final = join(dir, file.path);
  const part = `${final}.part`;
  await mkdir(dirname(final), { recursive: true });
  if ((await exists(final))?.isFile()) {
    const h = hashers(file);
    const n = await hashFile(final, h);
    const digest = h.digest();
    if (!mismatch(file, n, digest)) return { ...digest, reused: true };
    await rm(final); // wrong bytes under the final name must not survive, even if the download below fails
  }
  const url = new URL(`${config.endpoint.href.replace(/\/$/, "")}/${config.repo}/resolve/${config.revision}/${file.path.split("/").map(encodeURIComponent).join("/")}`);
  const { n, digest } = await retrying(`${file.path}: download`, () => download(config, url, part, file, label)); // each attempt resumes the .part
  const problem = mismatch(file, n, digest);
  if (problem) {
    await rm(part, { force: true }); // a bad .part would be resumed into another bad file
    throw new Failure(`${file.path}: downloaded bytes do not match the revision: ${problem}; removed the partial file, the next run downloads it again`);
  }
  await rename(part, final);
  await syncDir(dirname(final));
  return { ...digest, reused: false };
}

// Streams the file into the .part, hashing as it writes (one pass over a multi-GB file, not two); a resumed .part's
// first bytes are hashed from disk first. Returns the size and digests for the caller to check.
async function download(config, url, part, file, label) {
  const have = (await exists(part))?.size ?? 0;
  let h = hashers(file);
  if (have === file.bytes) return { n: await hashFile(part, h), digest: h.digest() }; // complete but unverified
  if (have > file.bytes) await rm(part);
  const from = have < file.bytes ? have : 0;
  if (from > 0) await hashFile(part, h); // before the request: hashing a large .part must not trip the idle timeout
  const idle = new AbortController();
  let timer = setTimeout(() => idle.abort(new Error(`no data for ${IDLE_TIMEOUT_MS / 1000} s`)), IDLE_TIMEOUT_MS);
  try {
    const got = await request(config, url, from > 0 ? { range: `bytes=${from}-` } : {}, idle.signal);
    const { response } = got;
    let offset = 0;
    if (response.status === 206 && from > 0) {
      offset = Number(/^bytes (\d+)-/.exec(response.headers.get("content-range") ?? "")?.[1]);
      if (offset !== from) throw new Failure(`${file.path}: asked for bytes from ${from}, ${shown(got.url)} answered ${response.headers.get("content-range")}`);
    } else if (response.status !== 200) {
      if (response.status === 416) await rm(part, { force: true }); // our .part no longer fits the file: start over
      throw response.status === 416 ? new Error("HTTP 416, the partial file was dropped") : httpFailure(file.path, got.url, response);
    }
    if (from > 0) log(`${label} ${file.path}: ${offset > 0 ? `resuming at ${size(offset)} (${percent(offset, file.bytes)})` : "the server ignored the range request; starting over"}`);
    if (offset === 0) h = hashers(file);
    const handle = await open(part, offset > 0 ? "a" : "w");
    try {
      let done = offset;
      let last = Date.now();
      for await (const chunk of response.body) {
        clearTimeout(timer);
        timer = setTimeout(() => idle.abort(new Error(`no data for ${IDLE_TIMEOUT_MS / 1000} s`)), IDLE_TIMEOUT_MS);
        await handle.write(chunk);
        h.update(chunk);
        done += chunk.length;
        if (done > file.bytes) throw new Failure(`${file.path}: the server sent more than the ${file.bytes} bytes the Hub lists`);
        if (Date.now() - last >= PROGRESS_EVERY_MS) {
          last = Date.now();
          log(`${label} ${file.path}: ${size(done)} of ${size(file.bytes)} (${percent(done, file.bytes)})`);
        }
      }
      // A clean close short of the length (no Content-Length) is an interruption too: keep the .part, resume it.
      if (done < file.bytes) throw new Error(`the connection closed at ${size(done)} of ${size(file.bytes)}`);
      await handle.sync(); // the bytes are on disk before the rename makes them look complete
      return { n: done, digest: h.digest() };
    } finally {
      await handle.close();
    }
  } finally {
    clearTimeout(timer);
  }
}

// The manifest already there, if it names this revision and every file it lists checks out.
async function completeManifest(dir, config) {
  let manifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), "utf8"));
  } catch (error) {
    if (error.code === "ENOENT") return undefined;
    log(`${MANIFEST_FILE}: unreadable (${error.message}); downloading again`);
    return undefined;
  }
  if (manifest?.schema !== MANIFEST_SCHEMA || manifest.repo !== config.repo || manifest.revision !== config.revision || !Array.isArray(manifest.files) || manifest.files.length === 0) {
    log(`${MANIFEST_FILE}: not a manifest of ${config.repo}@${config.revision}; downloading again`);
    return undefined;
  }
  // A changed MODELFLEET_FILES selection for the same revision is a new download, not a no-op.
  const missing = config.patterns.find((p) => !manifest.files.some((f) => globToRegExp(p).test(String(f.path))));
  if (missing) {
    log(`${MANIFEST_FILE}: lists no file matching MODELFLEET_FILES pattern ${JSON.stringify(missing)}; downloading`);
    return undefined;
  }
  for (const f of manifest.files) {
    const path = String(f.path);
    const s = RELATIVE.test(path) ? await exists(join(dir, path)) : undefined;
    let problem = !s?.isFile() ? "missing" : s.size !== f.bytes ? `${s.size} bytes, the manifest says ${f.bytes}` : undefined;
    if (!problem && !config.trustSizes) {
      const h = hashers({ bytes: f.bytes });
      await hashFile(join(dir, path), h);
      const { sha256 } = h.digest();
      if (sha256 !== f.sha256) problem = `sha256 ${sha256}, the manifest says ${f.sha256}`;
    }
    if (problem) {
      log(`${path}: ${problem}; downloading again`);
      return undefined;
    }
  }
  return manifest;
}

async function writeManifest(dir, config, files) {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  // The exact bytes of models/manifest.ts serializeManifest: same files, same manifest.
  const text = `${JSON.stringify({ schema: MANIFEST_SCHEMA, repo: config.repo, revision: config.revision, files: sorted.map((f) => ({ path: f.path, bytes: f.bytes, sha256: f.sha256 })) }, null, 2)}\n`;
  const temporary = join(dir, `.${MANIFEST_FILE}.${process.pid}.tmp`);
  const handle = await open(temporary, "w");
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, join(dir, MANIFEST_FILE));
  await syncDir(dir);
}

// A claim too small for the revision fails now, naming both sizes, rather than hours later with ENOSPC.
async function checkSpace(dir, files) {
  let need = 0;
  for (const f of files) {
    const have = Math.max((await exists(join(dir, f.path)))?.size ?? 0, (await exists(join(dir, `${f.path}.part`)))?.size ?? 0);
    need += Math.max(0, f.bytes - have);
  }
  const { bavail, bsize } = await statfs(dir);
  if (need > bavail * bsize) {
    throw new Failure(`${dir}: the revision needs ${size(need)} more and the volume has ${size(bavail * bsize)} free; make the model store's claim larger`);
  }
}

async function main() {
  const config = readConfig(process.argv.slice(2), process.env);
  const dir = modelDir(config.root, config.repo, config.revision);
  const where = `${config.repo}@${config.revision}`;
  const ready = await completeManifest(dir, config);
  if (ready) {
    log(`${where}: already complete in ${dir} (${ready.files.length} files verified${config.trustSizes ? " by size" : ""}); nothing to do`);
    return;
  }
  // Files are about to change: the manifest is the "complete" mark, so it goes first and comes back last.
  await rm(join(dir, MANIFEST_FILE), { force: true });
  const files = await listFiles(config);
  const total = files.reduce((sum, f) => sum + f.bytes, 0);
  log(`${where}: ${files.length} files, ${size(total)}, into ${dir}`);
  await mkdir(dir, { recursive: true });
  await checkSpace(dir, files);
  const written = [];
  let done = 0;
  for (const [i, file] of files.entries()) {
    const label = `[${i + 1}/${files.length}]`;
    const started = Date.now();
    const result = await fetchFile(config, dir, file, label);
    done += file.bytes;
    const rate = result.reused ? "already present" : `${size(file.bytes / Math.max((Date.now() - started) / 1000, 0.001))}/s`;
    log(`${label} ${file.path}: ${size(file.bytes)} verified (${file.sha256 ? "sha256" : "git blob id"}), ${rate}; total ${size(done)} of ${size(total)} (${percent(done, total)})`);
    written.push({ path: file.path, bytes: file.bytes, sha256: result.sha256 });
  }
  await writeManifest(dir, config, written);
  log(`${where}: complete, ${MANIFEST_FILE} written`);
}

try {
  await main();
} catch (error) {
  // Expected failures carry their message and code; anything else is a bug or an I/O error: message, no stack.
  const message = error instanceof Failure ? error.message : `${error.code ? `${error.code}: ` : ""}${error.message}`;
  process.stderr.write(`modelfleet download: ${message}\n`);
  process.exitCode = error instanceof Failure ? error.code : 1;
}
