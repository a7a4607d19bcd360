/**
 * STAND-INS around a real OCI registry (test/helpers/oci-registry.ts starts the real docker-registry), for faults
 * and services the real registry cannot produce here. Each is a small HTTP server on 127.0.0.1, named as what it
 * stands in for:
 * - `proxy`: a registry front that forwards GETs (Accept and Range only) to the real registry and, on demand (through
 *   `behaviour`), flips a byte of a blob, cuts a blob mid-way, alters a manifest's bytes, demands a Bearer token (401
 *   with a `WWW-Authenticate` challenge naming the token service), or redirects blobs to the "object store";
 * - `tokenService`: a registry token service issuing one fixed token, optionally only for given Basic credentials;
 * - `store`: an "object store" on another origin that blob redirects lead to; it serves the real registry's blobs.
 * Every request any of them receives is recorded in `requests`.
 *
 * Also here, real (not stand-in) artifact helpers: pack a model folder and push it with skopeo (`pushModelFolder`),
 * and push a hand-made ModelPack artifact through the registry's own upload API (`handMadeModelArtifact`,
 * `pushRawArtifact`), for artifacts packModel would never make.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "vitest";
import { packModel, pushModel } from "../../bundle/model-artifact.js";
import { MANIFEST_FILE, MANIFEST_SCHEMA, serializeManifest } from "../../models/manifest.js";

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** One request a stand-in received, with the status it answered. */
export interface OciRequest {
  readonly server: "proxy" | "token" | "store";
  /** The request target: path and query. */
  readonly path: string;
  readonly authorization: string | undefined;
  readonly range: string | undefined;
  readonly accept: string | undefined;
  status?: number;
}

/** What the stand-ins do wrong or demand; `reset()` restores these defaults. */
export interface OciBehaviour {
  /** Blob hex digests whose bytes the proxy flips (the last byte). */
  corrupt: Set<string>;
  /** Blob hex digests whose every response carries half of what was asked, then the connection drops. */
  cut: Set<string>;
  /** The proxy answers 401 + a Bearer challenge unless the request carries the issued token. */
  bearer: boolean;
  /** The token service demands these Basic credentials, `user:password` (undefined: anonymous tokens). */
  credentials: string | undefined;
  /** Blob requests are redirected (307) to the stand-in object store on another origin. */
  redirectBlobs: boolean;
  /** The proxy adds a trailing newline to manifests: still valid JSON, no longer the pinned bytes. */
  alterManifests: boolean;
}

export interface OciStandInOptions {
  /** The real registry behind the proxy and the store, `host:port`. */
  readonly registryHost: string;
  /** The repository named in the Bearer challenge's scope. */
  readonly repository: string;
  /** The token the token service issues and the proxy accepts. */
  readonly issuedToken: string;
}

export interface OciStandIns {
  /** `127.0.0.1:<port>` of the registry proxy. */
  readonly proxy: string;
  /** `127.0.0.1:<port>` of the token service (realm `http://<it>/token`, service "stand-in-registry"). */
  readonly tokenService: string;
  /** `127.0.0.1:<port>` of the object store. */
  readonly store: string;
  readonly behaviour: OciBehaviour;
  readonly requests: OciRequest[];
  /** Restores the default behaviour and clears the request log. */
  reset(): void;
  close(): Promise<void>;
}

const defaults = (): OciBehaviour => ({ corrupt: new Set(), cut: new Set(), bearer: false, credentials: undefined, redirectBlobs: false, alterManifests: false });

/** Starts the proxy, the token service and the object store on free loopback ports. */
export async function startOciStandIns(options: OciStandInOptions): Promise<OciStandIns> {
  const behaviour = defaults();
  const requests: OciRequest[] = [];
  const servers: Server[] = [];
  let tokenService = "";
  let store = "";

  function listen(name: OciRequest["server"], handle: (req: IncomingMessage, res: ServerResponse, entry: OciRequest) => Promise<void> | void): Promise<string> {
    const server = createServer((req, res) => {
      const entry: OciRequest = { server: name, path: req.url ?? "", authorization: req.headers.authorization, range: req.headers.range, accept: req.headers.accept };
      requests.push(entry);
      Promise.resolve(handle(req, res, entry)).catch((error: Error) => res.writeHead(502).end(error.message));
    });
    servers.push(server);
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)));
  }

  /** Forwards a GET to the real registry (Accept and Range only), then applies `behaviour` to a blob's bytes. */
  async function forward(req: IncomingMessage, res: ServerResponse, entry: OciRequest): Promise<void> {
    const headers: Record<string, string> = {};
    if (req.headers.accept) headers["accept"] = req.headers.accept;
    if (req.headers.range) headers["range"] = req.headers.range;
    const upstream = await fetch(`http://${options.registryHost}${req.url ?? "/"}`, { headers, redirect: "manual" });
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

  async function proxyHandler(req: IncomingMessage, res: ServerResponse, entry: OciRequest): Promise<void> {
    if (behaviour.bearer && req.headers.authorization !== `Bearer ${options.issuedToken}`) {
      res.writeHead((entry.status = 401), {
        "content-type": "application/json",
        "www-authenticate": `Bearer realm="http://${tokenService}/token",service="stand-in-registry",scope="repository:${options.repository}:pull"`,
      });
      return void res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    }
    if (behaviour.redirectBlobs && /\/blobs\/sha256:/.test(req.url ?? "")) {
      return void res.writeHead((entry.status = 307), { location: `http://${store}${req.url}?X-Amz-Signature=signed` }).end();
    }
    await forward(req, res, entry);
  }

  function tokenHandler(req: IncomingMessage, res: ServerResponse, entry: OciRequest): void {
    const expected = behaviour.credentials ? `Basic ${Buffer.from(behaviour.credentials).toString("base64")}` : undefined;
    if (expected && req.headers.authorization !== expected) return void res.writeHead((entry.status = 401)).end('{"details":"incorrect username or password"}');
    res.writeHead((entry.status = 200), { "content-type": "application/json" });
    res.end(JSON.stringify({ token: options.issuedToken, expires_in: 300 }));
  }

  async function storeHandler(req: IncomingMessage, res: ServerResponse, entry: OciRequest): Promise<void> {
    req.url = (req.url ?? "").replace(/\?.*$/, "");
    await forward(req, res, entry);
  }

  const proxy = await listen("proxy", proxyHandler);
  tokenService = await listen("token", tokenHandler);
  store = await listen("store", storeHandler);
  return {
    proxy,
    tokenService,
    store,
    behaviour,
    requests,
    reset: () => {
      Object.assign(behaviour, defaults());
      requests.length = 0;
    },
    close: () => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))).then(() => undefined),
  };
}

/**
 * Packs the model folder `dir` (with its manifest) into the OCI layout `layoutDir` (under `options.tag`, default
 * packModel's) and pushes it with skopeo to `destination` (`host/repository:tag`, plain HTTP); returns the pin
 * `host/repository@sha256:…` and the digest.
 */
export async function pushModelFolder(dir: string, layoutDir: string, destination: string, options: { readonly tag?: string } = {}): Promise<{ pinned: string; digest: string }> {
  const packed = await packModel(dir, layoutDir, options.tag === undefined ? {} : { tag: options.tag });
  return pushModel(layoutDir, packed.tag, destination, { insecure: true });
}

/** Pushes blobs and a hand-made manifest to the real registry at `registryHost` through its upload API; returns the manifest digest. */
export async function pushRawArtifact(registryHost: string, repository: string, blobs: readonly Buffer[], manifest: object): Promise<string> {
  for (const blob of blobs) {
    const start = await fetch(`http://${registryHost}/v2/${repository}/blobs/uploads/`, { method: "POST" });
    expect(start.status).toBe(202);
    const location = new URL(start.headers.get("location") ?? "", `http://${registryHost}`);
    location.searchParams.set("digest", `sha256:${sha256(blob)}`);
    const put = await fetch(location, { method: "PUT", body: blob, headers: { "content-type": "application/octet-stream" } });
    expect(put.status).toBe(201);
  }
  const bytes = Buffer.from(JSON.stringify(manifest));
  const put = await fetch(`http://${registryHost}/v2/${repository}/manifests/sha256:${sha256(bytes)}`, { method: "PUT", body: bytes, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
  expect(put.status, await put.text()).toBe(201);
  return `sha256:${sha256(bytes)}`;
}

/**
 * A model artifact in packModel's form for `repo`@`revision`, with the layer titles and the packed manifest's list
 * (`listed`, default: the layers) a test chooses; returns the blobs to push (config first) and the image manifest.
 */
export function handMadeModelArtifact(
  repo: string,
  revision: string,
  layers: readonly { title: string; bytes: Buffer }[],
  listed: readonly { path: string; bytes: Buffer }[] = layers.map((l) => ({ path: l.title, bytes: l.bytes })),
) {
  const packedManifest = Buffer.from(serializeManifest({ schema: MANIFEST_SCHEMA, repo, revision, files: listed.map((f) => ({ path: f.path, bytes: f.bytes.length, sha256: sha256(f.bytes) })) }));
  const config = Buffer.from(JSON.stringify({ descriptor: { name: repo, revision }, config: {}, modelfs: { type: "layers", diffIds: [] } }));
  const all = [...layers, { title: MANIFEST_FILE, bytes: packedManifest }];
  const descriptor = (b: Buffer) => ({ digest: `sha256:${sha256(b)}`, size: b.length });
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    artifactType: "application/vnd.cncf.model.manifest.v1+json",
    config: { mediaType: "application/vnd.cncf.model.config.v1+json", ...descriptor(config) },
    layers: all.map((l) => ({ mediaType: "application/vnd.cncf.model.weight.config.v1.raw", ...descriptor(l.bytes), annotations: { "org.opencontainers.image.title": l.title } })),
    annotations: { "dev.modelfleet.model.repo": repo, "dev.modelfleet.model.revision": revision },
  };
  return { blobs: [config, ...all.map((l) => l.bytes)], manifest };
}
