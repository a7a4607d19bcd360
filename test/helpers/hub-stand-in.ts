/**
 * A STAND-IN for the Hugging Face Hub, for tests of models/download-job.mjs (which is run for real with `node` and
 * pointed at it through HF_ENDPOINT). Two small HTTP servers on 127.0.0.1: the "Hub" serves one repository's revision
 * trees (`/api/models/<repo>/tree/<sha>?recursive=true`, paginated with a `Link: rel="next"` header) and small files
 * (`/<repo>/resolve/<sha>/<path>`); LFS files are redirected (302, with a signed-looking query) to the "CDN", the
 * second server on another port, as huggingface.co does. Both honour `Range: bytes=N-`.
 *
 * It is not the Hub: it implements only what the download script uses, and it can misbehave on demand (through
 * `behaviour`): wrong bytes, a connection cut mid-file, no Range support, a gated repository, 503s, or refusing
 * every request (to prove a run that must stay offline made none). Every request is recorded in `requests`.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One file of a revision. */
export interface HubFile {
  readonly path: string;
  readonly content: Buffer;
  /** Served from the CDN behind a redirect, published with its sha256 (else with its git blob id). */
  readonly lfs: boolean;
}

/** One request either server received, with the status it answered. */
export interface HubRequest {
  readonly server: "hub" | "cdn";
  /** The request target: path and query. */
  readonly path: string;
  readonly authorization: string | undefined;
  readonly range: string | undefined;
  status?: number;
}

/** What the stand-in does wrong or demands; `reset()` restores these defaults. */
export interface HubBehaviour {
  /** Paths whose bytes are served flipped (same length). */
  corrupt: Set<string>;
  /** Paths whose every response sends half the bytes asked for, then ends (see `cutBy`). */
  cut: Set<string>;
  /** How `cut` ends a response: drop the connection, or end it cleanly (chunked, no Content-Length) short of the file. */
  cutBy: "drop" | "short end";
  /** Honour `Range` and send `Accept-Ranges`. */
  ranges: boolean;
  /** The Hub answers 401 unless `Authorization: Bearer <token>`. */
  token: string | undefined;
  /** Tree entries per listing page. */
  pageSize: number;
  /** How many of the next Hub requests get 503 Service Unavailable. */
  unavailable: number;
  /** When set, the Hub answers every request with 500 and this text (after recording it). */
  refuse: string | undefined;
}

export interface HubStandInOptions {
  /** The one repository it serves, `owner/name`. */
  readonly repo: string;
  /** Revisions (40-hex commit SHAs) listed and served. */
  readonly revisions?: Readonly<Record<string, readonly HubFile[]>>;
  /** Revisions listed with these raw tree entries but never served (e.g. a file too large for any volume). */
  readonly listedOnly?: Readonly<Record<string, readonly object[]>>;
}

export interface HubStandIn {
  /** `http://127.0.0.1:<port>`, for HF_ENDPOINT. */
  readonly hub: string;
  /** `http://127.0.0.1:<port>` of the CDN that LFS downloads are redirected to. */
  readonly cdn: string;
  readonly behaviour: HubBehaviour;
  readonly requests: HubRequest[];
  /** Restores the default behaviour and clears the request log. */
  reset(): void;
  close(): Promise<void>;
}

const defaults = (): HubBehaviour => ({ corrupt: new Set(), cut: new Set(), cutBy: "drop", ranges: true, token: undefined, pageSize: 2, unavailable: 0, refuse: undefined });

export const sha256Hex = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
/** The id git gives a blob: what the Hub publishes as `oid` of a non-LFS file. */
export const gitBlobId = (b: Buffer): string => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");

/** The Hub's tree entries for `files`: their directories, then the files (LFS ones with their sha256). */
function treeEntries(files: readonly HubFile[]): object[] {
  const dirs = [...new Set(files.flatMap((f) => (f.path.includes("/") ? [f.path.slice(0, f.path.lastIndexOf("/"))] : [])))];
  return [
    ...dirs.map((path) => ({ type: "directory", oid: "f".repeat(40), size: 0, path })),
    ...files.map((f) => ({
      type: "file",
      oid: f.lfs ? "e".repeat(40) : gitBlobId(f.content),
      size: f.content.length,
      path: f.path,
      ...(f.lfs ? { lfs: { oid: sha256Hex(f.content), size: f.content.length, pointerSize: 134 } } : {}),
    })),
  ];
}

/** Starts the Hub and the CDN on free loopback ports. */
export async function startHubStandIn(options: HubStandInOptions): Promise<HubStandIn> {
  const revisions = options.revisions ?? {};
  const listedOnly = options.listedOnly ?? {};
  const behaviour = defaults();
  const requests: HubRequest[] = [];
  const servers: Server[] = [];
  let hub = "";
  let cdn = "";

  const lengthHeader = (file: HubFile, length: number) => (behaviour.cut.has(file.path) && behaviour.cutBy === "short end" ? {} : { "content-length": length });

  /** Serves `content` (or wrong bytes of the same length) honouring Range, maybe cutting the connection halfway. */
  function serveBytes(req: IncomingMessage, res: ServerResponse, file: HubFile, entry: HubRequest): void {
    const content = behaviour.corrupt.has(file.path) ? Buffer.from(file.content.map((b) => b ^ 0xff)) : file.content;
    let start = 0;
    const range = behaviour.ranges ? /^bytes=(\d+)-$/.exec(req.headers.range ?? "") : null;
    if (range) {
      start = Number(range[1]);
      if (start >= content.length) return void res.writeHead((entry.status = 416), { "content-range": `bytes */${content.length}` }).end();
      res.writeHead((entry.status = 206), { ...lengthHeader(file, content.length - start), "content-range": `bytes ${start}-${content.length - 1}/${content.length}`, "accept-ranges": "bytes" });
    } else {
      res.writeHead((entry.status = 200), { ...lengthHeader(file, content.length), ...(behaviour.ranges ? { "accept-ranges": "bytes" } : {}) });
    }
    const body = content.subarray(start);
    if (behaviour.cut.has(file.path) && behaviour.cutBy === "short end") {
      return void res.end(body.subarray(0, Math.floor(body.length / 2)));
    }
    if (behaviour.cut.has(file.path)) {
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => req.socket.destroy(), 50));
      return;
    }
    res.end(body);
  }

  function hubHandler(req: IncomingMessage, res: ServerResponse, entry: HubRequest): void {
    if (behaviour.refuse !== undefined) return void res.writeHead((entry.status = 500)).end(behaviour.refuse);
    const url = new URL(req.url ?? "/", hub);
    if (behaviour.unavailable > 0 && behaviour.unavailable--) return void res.writeHead((entry.status = 503)).end("busy");
    if (behaviour.token && req.headers.authorization !== `Bearer ${behaviour.token}`) return void res.writeHead((entry.status = 401)).end("gated");
    const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([0-9a-f]{40})$/.exec(url.pathname);
    if (tree && tree[1] === options.repo && (revisions[tree[2]!] || listedOnly[tree[2]!]) && url.searchParams.get("recursive") === "true") {
      const all = listedOnly[tree[2]!] ?? treeEntries(revisions[tree[2]!]!);
      const cursor = Number(url.searchParams.get("cursor") ?? 0);
      const next = cursor + behaviour.pageSize;
      const link = next < all.length ? { link: `<${hub}${url.pathname}?recursive=true&cursor=${next}>; rel="next"` } : {};
      res.writeHead((entry.status = 200), { "content-type": "application/json", ...link });
      return void res.end(JSON.stringify(all.slice(cursor, next)));
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([0-9a-f]{40})\/(.+)$/.exec(url.pathname);
    const file = resolve && resolve[1] === options.repo ? revisions[resolve[2]!]?.find((f) => f.path === decodeURIComponent(resolve[3]!)) : undefined;
    if (!file) return void res.writeHead((entry.status = 404)).end("not found");
    // LFS content lives on the CDN, behind a signed URL (as huggingface.co does); small files come from the Hub itself.
    if (file.lfs) return void res.writeHead((entry.status = 302), { location: `${cdn}/blobs/${sha256Hex(file.content)}?X-Signature=signed` }).end();
    serveBytes(req, res, file, entry);
  }

  function cdnHandler(req: IncomingMessage, res: ServerResponse, entry: HubRequest): void {
    const sha = /^\/blobs\/([0-9a-f]{64})$/.exec(new URL(req.url ?? "/", cdn).pathname)?.[1];
    const file = Object.values(revisions).flat().find((f) => f.lfs && sha256Hex(f.content) === sha);
    if (!file) return void res.writeHead((entry.status = 404)).end();
    serveBytes(req, res, file, entry);
  }

  function listen(name: HubRequest["server"], handle: (req: IncomingMessage, res: ServerResponse, entry: HubRequest) => void): Promise<string> {
    const server = createServer((req, res) => {
      const entry: HubRequest = { server: name, path: req.url ?? "", authorization: req.headers.authorization, range: req.headers.range };
      requests.push(entry);
      handle(req, res, entry);
    });
    servers.push(server);
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
  }

  hub = await listen("hub", hubHandler);
  cdn = await listen("cdn", cdnHandler);
  return {
    hub,
    cdn,
    behaviour,
    requests,
    reset: () => {
      Object.assign(behaviour, defaults());
      requests.length = 0;
    },
    close: () => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))).then(() => undefined),
  };
}
