/**
 * Verify throughput on a generated bundle of ≥ 1 GiB (BENCH_VERIFY_MIB, default 1024), no registry needed: files of
 * random bytes shaped like a bundle (a few large blobs, many small files), their bundle.json and SHA256SUMS, and the
 * same bundle as one tar. In the same run, page cache warm for both sides:
 * - `bundle verify <folder>` (parallel, one stream per core) vs `sha256sum -c SHA256SUMS` on the same files (aim ≥ 0.8×)
 * - `bundle verify <bundle>.tar` (one streaming pass, nothing unpacked) vs `sha256sum <bundle>.tar` (aim ≥ 0.8×)
 * Run: node --import tsx bench/verify.ts
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { writeArchive } from "../bundle/archive.js";
import { formatSha256Sums } from "../files/hash.js";
import { BUNDLE_SCHEMA_VERSION, type BundleManifest } from "../bundle/manifest.js";
import { verifyArchive, verifyBundle } from "../bundle/verify.js";

const TOTAL = Number(process.env["BENCH_VERIFY_MIB"] ?? 1024) * 1024 * 1024;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}

/** 90 % in eight blobs, the rest in 200 small files, like layers plus manifests and model configs. */
function shape(total: number): { path: string; size: number }[] {
  const big = Array.from({ length: 8 }, (_, i) => ({ path: `images/blobs/sha256/big-${i}`, size: Math.floor((total * 0.9) / 8) }));
  const small = Array.from({ length: 200 }, (_, i) => ({ path: `models/m${i % 4}/file-${i}.bin`, size: Math.floor((total * 0.1) / 200) }));
  return [...big, ...small];
}

const work = await mkdtemp(join(tmpdir(), "modelfleet-bench-verify-"));
try {
  const dir = join(work, "bundle");
  const chunk = randomBytes(16 * 1024 * 1024);
  const files: { path: string; sha256: string; size: number }[] = [];
  for (const { path, size } of shape(TOTAL)) {
    // Blob-like names: the content's sha256 (verify checks OCI blobs against their names).
    const parts: Buffer[] = [];
    for (let left = size; left > 0; left -= chunk.length) parts.push(chunk.subarray(0, Math.min(left, chunk.length)));
    const content = Buffer.concat([...parts, Buffer.from(path)]);
    const sha256 = createHash("sha256").update(content).digest("hex");
    const name = path.startsWith("images/blobs/sha256/") ? `images/blobs/sha256/${sha256}` : path;
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
    files.push({ path: name, sha256, size: content.length });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  const manifest: BundleManifest = {
    schemaVersion: BUNDLE_SCHEMA_VERSION,
    stack: "bench",
    environment: "staging",
    createdAt: new Date().toISOString(),
    sourceCommit: null,
    files,
    images: [],
    models: [],
    database: null,
    tools: {},
  };
  const json = `${JSON.stringify(manifest, null, 2)}\n`;
  await writeFile(join(dir, "bundle.json"), json);
  const own = createHash("sha256").update(json).digest("hex");
  await writeFile(join(dir, "SHA256SUMS"), formatSha256Sums([...files, { path: "bundle.json", sha256: own, size: json.length }].sort((a, b) => (a.path < b.path ? -1 : 1))));
  const [tarFile] = await writeArchive(dir, `${dir}.tar`);
  const bytes = files.reduce((sum, f) => sum + f.size, 0);
  console.log(`bundle: ${mib(bytes)} in ${files.length} files; tar ${tarFile}`);

  // Warm the page cache for both sides, then measure.
  await verifyBundle(dir);
  await execa("sha256sum", ["-c", "--quiet", "SHA256SUMS"], { cwd: dir });
  const folder = await timed(() => verifyBundle(dir));
  if (!folder.value.ok) throw new Error("the generated bundle does not verify");
  const folderBase = await timed(() => execa("sha256sum", ["-c", "--quiet", "SHA256SUMS"], { cwd: dir }));
  const archive = await timed(() => verifyArchive(tarFile as string));
  if (!archive.value.ok) throw new Error("the generated archive does not verify");
  const archiveBase = await timed(() => execa("sha256sum", [tarFile as string]));

  const rate = (seconds: number) => bytes / seconds;
  console.log("");
  console.log(`folder:  ours ${mib(rate(folder.seconds))}/s, sha256sum -c ${mib(rate(folderBase.seconds))}/s, ratio ${(folderBase.seconds / folder.seconds).toFixed(2)} (aim ≥ 0.8)`);
  console.log(`archive: ours ${mib(rate(archive.seconds))}/s, sha256sum of the tar ${mib(rate(archiveBase.seconds))}/s, ratio ${(archiveBase.seconds / archive.seconds).toFixed(2)} (aim ≥ 0.8)`);
} finally {
  await rm(work, { recursive: true, force: true });
}
