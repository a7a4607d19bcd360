#!/usr/bin/env node
// modelfleet model download Job: fills one folder of the model store with exactly one pinned revision — from the
// Hugging Face Hub, or from a ModelPack OCI artifact pinned by digest — verifies every byte, and writes
// modelfleet-manifest.json last. In an offline stack it only verifies what `bundle load` copied in. Runs in a pinned
// node:*-alpine image from a ConfigMap, so it uses node: builtins and the global fetch only (no npm packages, no build).
//
// Environment:  MODELFLEET_REPO      owner/name, e.g. Qwen/Qwen3-0.6B (names the folder; in OCI mode it must equal the
//                                    artifact's dev.modelfleet.model.repo annotation)
//               MODELFLEET_REVISION  the 40-hex commit SHA (branches and tags move; a store must not); in OCI mode it
//                                    must equal the artifact's dev.modelfleet.model.revision annotation
//               MODELFLEET_TARGET    the store root; files go to <root>/<owner>--<name>/<revision>/ (models/layout.ts)
//               MODELFLEET_FILES     optional: comma/newline separated globs (* ? **) selecting files, e.g. *Q8_0.gguf;
//                                    each must match at least one file (exit 2 otherwise). A glob without "/" matches
//                                    a file name in any folder; a leading "/" keeps it to the top level (/*.json)
//               MODELFLEET_FILES_OPTIONAL  optional: more globs, selecting files when present and allowed to match
//                                    nothing (engine defaults such as *.tiktoken); together the two must select a file
//               HF_ENDPOINT          Hub mode: default https://huggingface.co (a mirror or a stand-in in tests)
//               HF_TOKEN             Hub mode: optional bearer token; never printed, never sent to another host
//               MODELFLEET_OCI       OCI mode: <registry>/<repository>@sha256:<64 hex> (a :tag before @ is ignored);
//                                    the bytes come from this ModelPack artifact (bundle/model-artifact.ts packModel)
//               MODELFLEET_OCI_INSECURE   1: plain http to the registry (loopback or lab registries); default https
//               MODELFLEET_OCI_USERNAME, MODELFLEET_OCI_PASSWORD   optional, both or neither: sent (Basic) only to the
//                                    token service a registry's Bearer challenge names; never printed
//               MODELFLEET_OFFLINE   1: offline verify mode — never touch the network; exit 0 when the folder's
//                                    manifest names this repo and revision and every listed file verifies, else exit 1
//                                    saying the files must be copied in with `modelfleet bundle load --models-target`
// Arguments:    --trust-manifest-sizes  the complete-folder check compares sizes only instead of hashing every file
// Exit codes:   0 done or already complete · 1 download or verification failed · 2 bad configuration
//
// Idempotent: when the folder's manifest names this repo and revision and every file it lists verifies, the run ends
// without touching the network, so a re-run during a Hub or registry outage still succeeds. (A changed MODELFLEET_FILES
// is noticed only when a pattern matches no listed file; dropping the filter does not widen an existing folder.) Files
// appear under their final names only once verified; the manifest, written last, is the "complete" mark.
//
// OCI mode, from opencontainers/distribution-spec spec.md @967efdc079b91785ad18c77cc4f8991a47feefbf:
// - "Pulling manifests": GET /v2/<name>/manifests/<digest> with an Accept header naming the manifest types the client
//   supports (we send application/vnd.oci.image.manifest.v1+json only); when pulled by digest, clients SHOULD verify
//   the returned manifest matches it — we require sha256(body bytes) == the pin. <name> follows the grammar
//   [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*; a missing manifest or blob is 404.
// - "Pulling blobs": GET /v2/<name>/blobs/<digest>; clients SHOULD verify the body matches the digest; a registry
//   SHOULD support Range (RFC 9110), which resumes a `.part` exactly as on the Hub path (a 200 reply starts over).
// - "Registries MAY respond to any request with a redirect … clients … MUST NOT forward Authorization headers across
//   host boundaries": blobs often redirect to object storage; our Authorization goes to the registry's origin only.
// - The Bearer token flow (distribution/distribution docs/content/spec/auth/token.md
//   @0d6b721dc3ceacb5d678c25b718b2f40a507c2d8): a 401 carries `WWW-Authenticate: Bearer realm=…,service=…,scope=…`;
//   the client GETs <realm>?service=…&scope=… (one scope parameter per space-separated scope; Basic credentials when
//   it has them, else anonymous) and reads `token` (or `access_token`) from the JSON reply, then retries with
//   `Authorization: Bearer <token>`. Tokens live ≥ 60 s by default, so a later 401 fetches a fresh one once.
// - The artifact (bundle/model-artifact.ts, ModelPack github.com/modelpack/model-spec): artifactType
//   application/vnd.cncf.model.manifest.v1+json, config application/vnd.cncf.model.config.v1+json, one raw layer per
//   file named by org.opencontainers.image.title (= org.cncf.model.filepath), manifest annotations
//   dev.modelfleet.model.repo / dev.modelfleet.model.revision, and modelfleet-manifest.json as its own layer, which
//   must list exactly the other layers (path, bytes, sha256); it is checked before any weight is fetched.
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
const BUNDLE_LOAD_HINT = "an offline stack never downloads: copy the model into the store with `modelfleet bundle load --models-target <the mounted claim>` (docs/offline-deployment.md), then run the Job again";

// OCI mode (bundle/model-artifact.ts writes these; distribution-spec and ModelPack facts in the header).
const OCI_MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json";
const MODEL_ARTIFACT_TYPE = "application/vnd.cncf.model.manifest.v1+json";
const MODEL_CONFIG_MEDIA_TYPE = "application/vnd.cncf.model.config.v1+json";
const MODEL_LAYER_MEDIA_TYPES = new Set(["weight", "weight.config", "doc", "code"].map((k) => `application/vnd.cncf.model.${k}.v1.raw`));
const ANNOTATION_TITLE = "org.opencontainers.image.title";
const ANNOTATION_FILEPATH = "org.cncf.model.filepath";
const ANNOTATION_REPO = "dev.modelfleet.model.repo";
const ANNOTATION_REVISION = "dev.modelfleet.model.revision";
const MAX_OCI_MANIFEST_BYTES = 4 << 20;
const MAX_PACKED_MANIFEST_BYTES = 64 << 20;
// <registry>/<repository>[:tag]@sha256:<hex>; the repository grammar is distribution-spec's <name>.
const OCI_REFERENCE = /^((?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?)\/([a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*)(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?@sha256:([0-9a-f]{64})$/;

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
  const globs = (name) => (env[name] ?? "").split(/[,\n]/).map((p) => p.trim()).filter(Boolean);
  const offline = flag(env, "MODELFLEET_OFFLINE");
  const oci = readOci(env);
  if (offline && oci) throw new Failure("MODELFLEET_OFFLINE=1 and MODELFLEET_OCI are both set: an offline Job only verifies files `modelfleet bundle load` copied in, an OCI Job pulls from a registry; set one of them", 2);
  return {
    repo,
    revision,
    root,
    endpoint,
    patterns: globs("MODELFLEET_FILES"),
    optional: globs("MODELFLEET_FILES_OPTIONAL"),
    token: env.HF_TOKEN?.trim() || undefined,
    trustSizes: argv.includes("--trust-manifest-sizes"),
    offline,
    oci,
  };
}

function flag(env, name) {
  const value = (env[name] ?? "").trim().toLowerCase();
  if (value === "" || value === "0" || value === "false") return false;
  if (value === "1" || value === "true") return true;
  throw new Failure(`${name} ${JSON.stringify(env[name])} is not a switch: set it to 1 (or true) to turn it on, or leave it unset`, 2);
}

// MODELFLEET_OCI and its companions, or undefined in Hub mode.
function readOci(env) {
  const reference = env.MODELFLEET_OCI?.trim();
  const username = env.MODELFLEET_OCI_USERNAME?.trim() || undefined;
  const password = env.MODELFLEET_OCI_PASSWORD || undefined; // not trimmed: it is whatever the Secret holds
  if (!reference) {
    if (username || password) throw new Failure("MODELFLEET_OCI_USERNAME/MODELFLEET_OCI_PASSWORD are set without MODELFLEET_OCI: they are registry credentials for OCI mode; set MODELFLEET_OCI or drop them", 2);
    return undefined;
  }
  const m = OCI_REFERENCE.exec(reference);
  const example = "registry.example/models/qwen3-8b@sha256:<64 hex>";
  if (!m) throw new Failure(`MODELFLEET_OCI ${JSON.stringify(reference)} is not a digest-pinned OCI reference: expected <registry>/<repository>@sha256:<64 lower-case hex>, e.g. ${example} (\`modelfleet models pack\` prints it)`, 2);
  const [, registry, repository, hex] = m;
  // As docker's reference rule: the first part names a registry only with a "." or ":", or as localhost.
  if (!/[.:]/.test(registry) && registry !== "localhost") throw new Failure(`MODELFLEET_OCI ${JSON.stringify(reference)} has no registry host ("${registry}" is not one): name the registry, e.g. ${example}`, 2);
  if (Boolean(username) !== Boolean(password)) throw new Failure(`only ${username ? "MODELFLEET_OCI_USERNAME" : "MODELFLEET_OCI_PASSWORD"} is set: registry credentials need both MODELFLEET_OCI_USERNAME and MODELFLEET_OCI_PASSWORD (from a Secret), or neither for anonymous pulls`, 2);
  const insecure = flag(env, "MODELFLEET_OCI_INSECURE");
  return { registry, repository, hex, digest: `sha256:${hex}`, base: new URL(`${insecure ? "http" : "https"}://${registry}`), insecure, username, password, where: `${registry}/${repository}@sha256:${hex}` };
}

// `**` any folders, `*` and `?` within one path segment; a pattern without "/" matches the file name anywhere, and a
// leading "/" anchors it at the top of the revision ("/*.json": config.json, not original/params.json).
function globToRegExp(pattern) {
  const anchored = pattern.startsWith("/");
  const body = (anchored ? pattern.slice(1) : pattern).replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*\/?|\*|\?/g, (m) => (m === "?" ? "[^/]" : m === "*" ? "[^/]*" : "(?:.*/)?"));
  return new RegExp(pattern.includes("/") ? `^${body}$` : `^(?:.*/)?${body}$`);
}

// GET with manual redirects: `auth.value` goes as Authorization only to `auth.origin` (a CDN or object-store URL
// reached by a redirect is already signed, and credentials must not cross host boundaries).
async function request(url, headers = {}, signal, auth) {
  for (let hop = 0; hop < 10; hop++) {
    const authorization = auth && url.origin === auth.origin ? { authorization: auth.value } : {};
    const response = await fetch(url, { headers: { ...headers, ...authorization, "user-agent": "modelfleet-download-job/1" }, redirect: "manual", signal });
    if (![301, 302, 303, 307, 308].includes(response.status)) return { response, url };
    await response.body?.cancel();
    const location = response.headers.get("location");
    if (!location) throw new Failure(`${shown(url)}: HTTP ${response.status} redirect without a Location header`);
    url = new URL(location, url);
  }
  throw new Failure(`${shown(url)}: more than 10 redirects`);
}

const reason = (error) => error.cause?.message ?? error.message;
const hubAuth = (config) => (config.token ? { origin: config.endpoint.origin, value: `Bearer ${config.token}` } : undefined);

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
      const got = await request(url, {}, undefined, hubAuth(config));
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
  return selectFiles(config, files, `${config.repo}@${config.revision}`);
}

// Sorted by path (the same order and log on every run), checked for .part clashes, narrowed by the globs.
function selectFiles(config, files, of) {
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const paths = new Set(files.map((f) => f.path));
  const clash = files.find((f) => paths.has(`${f.path}.part`));
  if (clash) throw new Failure(`${of} has both ${clash.path} and ${clash.path}.part; the download's partial-file name would overwrite one with the other`);
  if (config.patterns.length === 0 && config.optional.length === 0) return files;
  const selected = new Set();
  const listing = () => files.map((f) => f.path).join(", ");
  for (const pattern of config.patterns) {
    const re = globToRegExp(pattern);
    const matches = files.filter((f) => re.test(f.path));
    if (matches.length === 0) throw new Failure(`MODELFLEET_FILES pattern ${JSON.stringify(pattern)} matches no file of ${of}; its files are: ${listing()}`, 2);
    for (const f of matches) selected.add(f);
  }
  for (const pattern of config.optional) {
    const re = globToRegExp(pattern);
    for (const f of files) if (re.test(f.path)) selected.add(f);
  }
  if (selected.size === 0) throw new Failure(`MODELFLEET_FILES_OPTIONAL patterns ${config.optional.map((p) => JSON.stringify(p)).join(", ")} select no file of ${of}; its files are: ${listing()}. Name the files to fetch in MODELFLEET_FILES`, 2);
  return files.filter((f) => selected.has(f));
}

// ---- OCI mode ----

// The registry's Bearer token for this run (never printed); fetched on the first 401, refreshed once on a later one.
const registryAuth = { token: undefined };

// GET from the registry: anonymous first; a 401 from the registry's own origin runs the Bearer token flow and retries.
async function registryGet(config, url, headers = {}, signal) {
  const { origin } = config.oci.base;
  for (let round = 0; ; round++) {
    const auth = registryAuth.token ? { origin, value: `Bearer ${registryAuth.token}` } : undefined;
    const got = await request(url, headers, signal, auth);
    if (got.response.status !== 401 || got.url.origin !== origin) return got;
    await got.response.body?.cancel();
    if (round > 0) {
      throw new Failure(
        `${shown(got.url)}: HTTP 401 again with the token the registry's token service issued: ${config.oci.username ? `the account in MODELFLEET_OCI_USERNAME has no pull access to ${config.oci.repository}; grant it` : `${config.oci.repository} is not public: give the Job MODELFLEET_OCI_USERNAME and MODELFLEET_OCI_PASSWORD (from a Secret) with pull access`}`,
      );
    }
    registryAuth.token = await fetchToken(config, got.response.headers.get("www-authenticate") ?? "", got.url);
  }
}

// `Bearer realm="…",service="…",scope="…"` → { scheme: "bearer", params: { realm, service, scope } }.
function parseChallenge(header) {
  const m = /^\s*([A-Za-z][\w-]*)(?:\s+(.*))?$/s.exec(header);
  const params = {};
  for (const p of (m?.[2] ?? "").matchAll(/([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3];
  return { scheme: m?.[1].toLowerCase() ?? "", params };
}

async function fetchToken(config, header, url) {
  const { scheme, params } = parseChallenge(header);
  const oci = config.oci;
  if (scheme !== "bearer" || !params.realm) {
    throw new Failure(`${shown(url)}: HTTP 401 asking for ${scheme ? `${scheme} authentication` : "authentication without a WWW-Authenticate challenge"}; the download Job pulls anonymously or through the Bearer token flow (WWW-Authenticate: Bearer realm=…). Use a registry or mirror that issues Bearer tokens`);
  }
  let realm;
  try {
    realm = new URL(params.realm);
  } catch {
    throw new Failure(`${shown(url)}: the Bearer challenge's realm ${JSON.stringify(params.realm.slice(0, 200))} is not a URL; the registry's token service is misconfigured`);
  }
  if (realm.protocol !== "https:" && realm.protocol !== "http:") throw new Failure(`${shown(url)}: the Bearer challenge's realm ${shown(realm)} is not an http(s) URL`);
  if (realm.protocol === "http:" && oci.username && !oci.insecure) {
    throw new Failure(`${shown(url)}: the token service ${shown(realm)} is plain http; refusing to send MODELFLEET_OCI_USERNAME/PASSWORD in clear. Serve it over https (or set MODELFLEET_OCI_INSECURE=1 for a lab registry)`);
  }
  if (params.service) realm.searchParams.append("service", params.service);
  const scopes = (params.scope ?? "").split(" ").filter(Boolean);
  for (const scope of scopes.length > 0 ? scopes : [`repository:${oci.repository}:pull`]) realm.searchParams.append("scope", scope);
  const basic = oci.username ? { origin: realm.origin, value: `Basic ${Buffer.from(`${oci.username}:${oci.password}`).toString("base64")}` } : undefined;
  const got = await request(realm, { accept: "application/json" }, undefined, basic);
  const what = `token for ${oci.repository} from ${shown(got.url)}`;
  if (got.response.status === 401 || got.response.status === 403) {
    await got.response.body?.cancel();
    throw new Failure(`${what}: HTTP ${got.response.status}: ${oci.username ? "the token service refused MODELFLEET_OCI_USERNAME/MODELFLEET_OCI_PASSWORD; check the Secret" : "the registry allows no anonymous pulls: give the Job MODELFLEET_OCI_USERNAME and MODELFLEET_OCI_PASSWORD (from a Secret)"}`);
  }
  if (!got.response.ok) {
    await got.response.body?.cancel();
    if (got.response.status >= 500 || got.response.status === 429) throw new Error(`HTTP ${got.response.status} from ${shown(got.url)}`);
    throw new Failure(`${what}: HTTP ${got.response.status}; the registry's token service refused the request`);
  }
  const body = await got.response.json().catch(() => undefined);
  const token = body?.token || body?.access_token;
  if (typeof token !== "string" || token === "") throw new Failure(`${what}: the reply has no "token" (or "access_token") string`);
  return token;
}

function registryFailure(config, what, url, response, kind) {
  if (response.status >= 500 || response.status === 429) return new Error(`HTTP ${response.status} from ${shown(url)}`);
  const hint =
    response.status === 404
      ? `the registry has no such ${kind} in ${config.oci.repository}; check MODELFLEET_OCI (push the artifact with \`modelfleet models pack\`, or mirror it into this registry)`
      : response.status === 403
        ? `the registry refuses ${config.oci.repository}; give the Job MODELFLEET_OCI_USERNAME/MODELFLEET_OCI_PASSWORD with pull access`
        : "the registry or the network failed";
  return new Failure(`${what}: HTTP ${response.status} from ${shown(url)}: ${hint}`);
}

// The whole body of a small document, refusing more than `limit` bytes (a registry must not fill our memory).
async function readSmall(response, limit, what) {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > limit) throw new Failure(`${what}: ${declared} bytes, more than the ${limit} a model artifact's document may have`);
  const chunks = [];
  let n = 0;
  for await (const chunk of response.body) {
    n += chunk.length;
    if (n > limit) throw new Failure(`${what}: more than the ${limit} bytes a model artifact's document may have`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function fetchDocument(config, url, headers, limit, what, kind) {
  return retrying(what, async () => {
    const got = await registryGet(config, url, headers);
    if (!got.response.ok) {
      await got.response.body?.cancel();
      throw registryFailure(config, what, got.url, got.response, kind);
    }
    return readSmall(got.response, limit, what);
  });
}

// Why a layer title is not a plain file name inside the model folder, or undefined (as bundle/confine.ts).
function unsafePath(path) {
  if (path === "") return "is empty";
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) return "is absolute";
  if (path.includes("\\")) return "contains a backslash";
  if (/[\u0000-\u001f\u007f]/.test(path)) return "contains a control character";
  const parts = path.split("/");
  if (parts.includes("..")) return "contains a .. segment";
  if (parts.includes(".")) return "contains a . segment";
  if (parts.includes("")) return "has an empty segment";
  if (path.length > 1024) return "is longer than 1024 characters";
  return undefined;
}

const quoted = (value) => (value === undefined ? "(missing)" : JSON.stringify(String(value).replace(/[\u0000-\u001f\u007f]/g, "?").slice(0, 120)));
const sha256Hex = (bytes) => createHash("sha256").update(bytes).digest("hex");

// The artifact's files ({ path, bytes, sha256 }), after checking the manifest against the pin, its type, its
// annotations against MODELFLEET_REPO/REVISION, every layer's name and digest, and the packed modelfleet-manifest.json
// against the layers. Only small documents are fetched here; no weight is downloaded before all of it holds.
async function listArtifact(config) {
  const oci = config.oci;
  const what = `manifest ${oci.where}`;
  const bytes = await fetchDocument(config, new URL(`${oci.base.origin}/v2/${oci.repository}/manifests/${oci.digest}`), { accept: OCI_MANIFEST_MEDIA_TYPE }, MAX_OCI_MANIFEST_BYTES, what, "manifest");
  const actual = sha256Hex(bytes);
  if (actual !== oci.hex) throw new Failure(`${what}: the registry served a manifest with sha256:${actual}, not the pinned digest; refusing it (the registry or a proxy altered it)`);
  let doc;
  try {
    doc = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new Failure(`${what}: not JSON (${error.message})`);
  }
  if (doc?.schemaVersion !== 2 || doc.mediaType !== OCI_MANIFEST_MEDIA_TYPE) throw new Failure(`${what}: mediaType ${quoted(doc?.mediaType)} is not an OCI image manifest (${OCI_MANIFEST_MEDIA_TYPE}); pin the model artifact's manifest digest, not an index`);
  if (doc.artifactType !== MODEL_ARTIFACT_TYPE || doc.config?.mediaType !== MODEL_CONFIG_MEDIA_TYPE) {
    throw new Failure(`${what}: artifactType ${quoted(doc.artifactType)} with config ${quoted(doc.config?.mediaType)} is not a ModelPack model (${MODEL_ARTIFACT_TYPE}, config ${MODEL_CONFIG_MEDIA_TYPE}); is this an image? Pack the model with \`modelfleet models pack\``);
  }
  const annotations = doc.annotations ?? {};
  for (const [key, want, name] of [[ANNOTATION_REPO, config.repo, "MODELFLEET_REPO"], [ANNOTATION_REVISION, config.revision, "MODELFLEET_REVISION"]]) {
    if (annotations[key] !== want) {
      throw new Failure(`${what}: annotation ${key} is ${annotations[key] === undefined ? "missing" : quoted(annotations[key])}, but ${name} is ${JSON.stringify(want)}; the pin and the model's repo/revision must name the same model: fix source.oci or source.huggingFace/revision`);
    }
  }
  const layers = [];
  const seen = new Set();
  for (const [i, layer] of (Array.isArray(doc.layers) ? doc.layers : []).entries()) {
    const title = layer?.annotations?.[ANNOTATION_TITLE];
    const filepath = layer?.annotations?.[ANNOTATION_FILEPATH];
    const path = title ?? filepath;
    const at = `${what}: layers[${i}]`;
    if (typeof path !== "string") throw new Failure(`${at} has no ${ANNOTATION_TITLE} annotation; every layer of a model artifact is one named file`);
    if (filepath !== undefined && title !== undefined && filepath !== title) throw new Failure(`${at} is titled ${quoted(title)} but its ${ANNOTATION_FILEPATH} is ${quoted(filepath)}; a layer names one file`);
    const unsafe = unsafePath(path);
    if (unsafe) throw new Failure(`${at} title ${quoted(path)} ${unsafe}; refusing it: nothing is written outside the model folder`);
    if (seen.has(path)) throw new Failure(`${at}: ${quoted(path)} is the title of two layers; refusing an ambiguous artifact`);
    seen.add(path);
    if (!MODEL_LAYER_MEDIA_TYPES.has(layer.mediaType)) throw new Failure(`${at} (${quoted(path)}) has media type ${quoted(layer.mediaType)}; only raw ModelPack layers are supported (${[...MODEL_LAYER_MEDIA_TYPES].join(", ")})`);
    const hex = /^sha256:([0-9a-f]{64})$/.exec(String(layer.digest))?.[1];
    if (!hex || !Number.isSafeInteger(layer.size) || layer.size < 0) throw new Failure(`${at} (${quoted(path)}) has digest ${quoted(layer.digest)} and size ${quoted(layer.size)}; expected sha256:<64 hex> and a byte count`);
    layers.push({ path, bytes: layer.size, sha256: hex });
  }
  const packed = layers.find((l) => l.path === MANIFEST_FILE);
  if (!packed) throw new Failure(`${what}: has no ${MANIFEST_FILE} layer; pack the model with \`modelfleet models pack\``);
  const files = layers.filter((l) => l !== packed);
  if (files.length === 0) throw new Failure(`${what}: holds no file besides ${MANIFEST_FILE}`);

  const manifestWhat = `${what}: its ${MANIFEST_FILE} (sha256:${packed.sha256})`;
  const text = await fetchDocument(config, new URL(`${oci.base.origin}/v2/${oci.repository}/blobs/sha256:${packed.sha256}`), {}, MAX_PACKED_MANIFEST_BYTES, manifestWhat, "blob");
  if (text.length !== packed.bytes || sha256Hex(text) !== packed.sha256) throw new Failure(`${manifestWhat}: the registry served ${text.length} bytes with sha256 ${sha256Hex(text)}; expected ${packed.bytes} bytes with the layer's digest`);
  let listed;
  try {
    listed = JSON.parse(text.toString("utf8"));
  } catch (error) {
    throw new Failure(`${manifestWhat}: not JSON (${error.message})`);
  }
  if (listed?.schema !== MANIFEST_SCHEMA || listed.repo !== config.repo || listed.revision !== config.revision || !Array.isArray(listed.files)) {
    throw new Failure(`${manifestWhat}: not a ${MANIFEST_SCHEMA} manifest of ${config.repo}@${config.revision}; the artifact was altered after packing`);
  }
  const byPath = new Map(files.map((f) => [f.path, f]));
  const problems = [];
  for (const f of listed.files) {
    const layer = byPath.get(f?.path);
    if (!layer) problems.push(`it lists ${quoted(f?.path)}, which is no layer`);
    else if (layer.bytes !== f.bytes || layer.sha256 !== f.sha256) problems.push(`it lists ${quoted(f.path)} as ${quoted(f.bytes)} bytes with sha256 ${quoted(f.sha256)}, the layer has ${layer.bytes} bytes with sha256 ${layer.sha256}`);
    byPath.delete(f?.path);
  }
  for (const path of byPath.keys()) problems.push(`layer ${quoted(path)} is not listed in it`);
  if (problems.length > 0 || listed.files.length !== files.length) {
    throw new Failure(`${manifestWhat} does not list exactly the artifact's layers: ${problems.slice(0, 10).join("; ") || "a file is listed twice"}; the artifact was altered after packing`);
  }
  return selectFiles(config, files, oci.where);
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
function mismatch(source, file, bytes, digest) {
  if (bytes !== file.bytes) return `${bytes} bytes, ${source.publisher} lists ${file.bytes}`;
  if (file.sha256 && digest.sha256 !== file.sha256) return `sha256 ${digest.sha256}, ${source.publisher} publishes ${file.sha256}`;
  if (file.blob && digest.blob !== file.blob) return `git blob id ${digest.blob}, ${source.publisher} publishes ${file.blob}`;
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
async function fetchFile(source, dir, file, label) {
  const final = join(dir, file.path);
  const part = `${final}.part`;
  await mkdir(dirname(final), { recursive: true });
  if ((await exists(final))?.isFile()) {
    const h = hashers(file);
    const n = await hashFile(final, h);
    const digest = h.digest();
    if (!mismatch(source, file, n, digest)) return { ...digest, reused: true };
    await rm(final); // wrong bytes under the final name must not survive, even if the download below fails
  }
  const url = source.fileUrl(file);
  const { n, digest } = await retrying(`${file.path}: download`, () => download(source, url, part, file, label)); // each attempt resumes the .part
  const problem = mismatch(source, file, n, digest);
  if (problem) {
    await rm(part, { force: true }); // a bad .part would be resumed into another bad file
    throw new Failure(`${file.path}: downloaded bytes do not match ${source.what}: ${problem}; removed the partial file, the next run downloads it again`);
  }
  await rename(part, final);
  await syncDir(dirname(final));
  return { ...digest, reused: false };
}

// Streams the file into the .part, hashing as it writes (one pass over a multi-GB file, not two); a resumed .part's
// first bytes are hashed from disk first. Returns the size and digests for the caller to check.
async function download(source, url, part, file, label) {
  const have = (await exists(part))?.size ?? 0;
  let h = hashers(file);
  if (have === file.bytes) return { n: await hashFile(part, h), digest: h.digest() }; // complete but unverified
  if (have > file.bytes) await rm(part);
  const from = have < file.bytes ? have : 0;
  if (from > 0) await hashFile(part, h); // before the request: hashing a large .part must not trip the idle timeout
  const idle = new AbortController();
  let timer = setTimeout(() => idle.abort(new Error(`no data for ${IDLE_TIMEOUT_MS / 1000} s`)), IDLE_TIMEOUT_MS);
  try {
    const got = await source.get(url, from > 0 ? { range: `bytes=${from}-` } : {}, idle.signal);
    const { response } = got;
    let offset = 0;
    if (response.status === 206 && from > 0) {
      offset = Number(/^bytes (\d+)-/.exec(response.headers.get("content-range") ?? "")?.[1]);
      if (offset !== from) throw new Failure(`${file.path}: asked for bytes from ${from}, ${shown(got.url)} answered ${response.headers.get("content-range")}`);
    } else if (response.status !== 200) {
      if (response.status === 416) await rm(part, { force: true }); // our .part no longer fits the file: start over
      throw response.status === 416 ? new Error("HTTP 416, the partial file was dropped") : source.failure(file.path, got.url, response);
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
        if (done > file.bytes) throw new Failure(`${file.path}: the server sent more than the ${file.bytes} bytes ${source.publisher} lists`);
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

// The manifest already there, if it names this revision and every file it lists checks out: { manifest }; else
// { problems } saying why not (none when there is no manifest at all). Online the first problem is enough (the
// download re-checks every file); offline every file is checked, so the message names all that is missing or wrong.
async function completeManifest(dir, config) {
  let manifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), "utf8"));
  } catch (error) {
    if (error.code === "ENOENT") return { problems: [], absent: true };
    return { problems: [`${MANIFEST_FILE}: unreadable (${error.message})`] };
  }
  if (manifest?.schema !== MANIFEST_SCHEMA || !Array.isArray(manifest.files) || manifest.files.length === 0) {
    return { problems: [`${MANIFEST_FILE}: not a ${MANIFEST_SCHEMA} manifest of ${config.repo}@${config.revision}`] };
  }
  if (manifest.repo !== config.repo || manifest.revision !== config.revision) {
    return { problems: [`${MANIFEST_FILE}: names ${String(manifest.repo).slice(0, 200)}@${String(manifest.revision).slice(0, 40)}, not ${config.repo}@${config.revision}`] };
  }
  // A changed MODELFLEET_FILES selection for the same revision is a new download, not a no-op.
  const missing = config.patterns.find((p) => !manifest.files.some((f) => globToRegExp(p).test(String(f.path))));
  if (missing) return { problems: [`${MANIFEST_FILE}: lists no file matching MODELFLEET_FILES pattern ${JSON.stringify(missing)}`] };
  const problems = [];
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
      problems.push(`${path}: ${problem}`);
      if (!config.offline) break;
    }
  }
  return problems.length > 0 ? { problems } : { manifest };
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

const SOURCES = {
  hub: (config) => ({
    what: "the revision",
    publisher: "the Hub",
    get: (url, headers, signal) => request(url, headers, signal, hubAuth(config)),
    fileUrl: (file) => new URL(`${config.endpoint.href.replace(/\/$/, "")}/${config.repo}/resolve/${config.revision}/${file.path.split("/").map(encodeURIComponent).join("/")}`),
    failure: httpFailure,
  }),
  oci: (config) => ({
    what: "the artifact",
    publisher: "the artifact",
    get: (url, headers, signal) => registryGet(config, url, headers, signal),
    fileUrl: (file) => new URL(`${config.oci.base.origin}/v2/${config.oci.repository}/blobs/sha256:${file.sha256}`),
    failure: (what, url, response) => registryFailure(config, what, url, response, "blob"),
  }),
};

async function main() {
  const config = readConfig(process.argv.slice(2), process.env);
  const dir = modelDir(config.root, config.repo, config.revision);
  const where = `${config.repo}@${config.revision}`;
  const check = await completeManifest(dir, config);
  if (check.manifest) {
    log(`${where}: already complete in ${dir} (${check.manifest.files.length} files verified${config.trustSizes ? " by size" : ""}); nothing to do`);
    return;
  }
  if (config.offline) {
    const listed = check.problems.slice(0, 20).join("; ") + (check.problems.length > 20 ? `; and ${check.problems.length - 20} more` : "");
    throw new Failure(`${where} is not complete in ${dir} (offline): ${check.absent ? `there is no ${MANIFEST_FILE}, so the model was never copied in (or the copy did not finish)` : listed}; ${BUNDLE_LOAD_HINT}`);
  }
  for (const problem of check.problems) log(`${problem}; downloading again`);
  // Files are about to change: the manifest is the "complete" mark, so it goes first and comes back last.
  await rm(join(dir, MANIFEST_FILE), { force: true });
  const source = config.oci ? SOURCES.oci(config) : SOURCES.hub(config);
  const files = config.oci ? await listArtifact(config, source) : await listFiles(config);
  const total = files.reduce((sum, f) => sum + f.bytes, 0);
  log(`${where}: ${files.length} files, ${size(total)}, ${config.oci ? `from ${config.oci.where} ` : ""}into ${dir}`);
  await mkdir(dir, { recursive: true });
  await checkSpace(dir, files);
  const written = [];
  let done = 0;
  for (const [i, file] of files.entries()) {
    const label = `[${i + 1}/${files.length}]`;
    const started = Date.now();
    const result = await fetchFile(source, dir, file, label);
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
