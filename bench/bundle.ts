/**
 * Bundle benchmark on a generated bundle of ≥ 1 GiB (BENCH_BUNDLE_MIB, default 1024): three real images built with
 * umoci (two sharing a base layer) in a real registry, then in the same run:
 * - verify throughput: `bundle verify` vs `sha256sum -c SHA256SUMS` on the same files (aim ≥ 0.8×)
 * - size: the bundle's OCI layout vs per-image `docker-archive` copies (dedup saving) and vs the unique blob bytes
 *   (aim ≤ 1.01×)
 * - load: `bundle load --skip-verify` vs a plain `skopeo copy` of each image into a fresh registry (aim ≤ 1.3×)
 * Run: node --import tsx bench/bundle.ts
 */
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { createBundle } from "../bundle/create.js";
import { loadBundle } from "../bundle/load.js";
import { verifyBundle } from "../bundle/verify.js";
import { pushTestImages } from "../test/helpers/oci-images.js";
import { startRegistry } from "../test/helpers/oci-registry.js";
import { stackYaml } from "../test/bundle/support.js";

const TOTAL_MIB = Number(process.env["BENCH_BUNDLE_MIB"] ?? 1024);
// Four layers (base, vllm, llamacpp, postgres) of random data: compressed size ≈ raw size.
const LAYER_BYTES = Math.ceil((TOTAL_MIB * 1024 * 1024) / 4);

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const work = await mkdtemp(join(tmpdir(), "modelfleet-bench-bundle-"));
const registries = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
const [source, siteA, siteB] = registries as [Awaited<ReturnType<typeof startRegistry>>, Awaited<ReturnType<typeof startRegistry>>, Awaited<ReturnType<typeof startRegistry>>];
try {
  console.log(`building images: 4 layers of ${mib(LAYER_BYTES)} …`);
  const images = await pushTestImages(source.host, LAYER_BYTES);
  const modelsDir = join(work, "models");
  await execa("mkdir", ["-p", join(modelsDir, "qwen3-0.6b"), join(modelsDir, "gguf")]);
  await writeFile(join(modelsDir, "qwen3-0.6b", "config.json"), "{}\n");
  await writeFile(join(modelsDir, "gguf", "qwen3-0.6b-q8_0.gguf"), "GGUF");
  const stackFile = join(work, "Pulumi.site.yaml");
  await writeFile(stackFile, stackYaml(images, siteA.host));
  const created = await timed(() => createBundle({ stackFile, out: join(work, "bundle"), modelsDir, insecure: true }));
  const dir = created.value.dir;
  const bytes = created.value.manifest.files.reduce((sum, f) => sum + f.size, 0);
  console.log(`bundle: ${mib(bytes)} in ${created.value.manifest.files.length} files, created in ${(created.ms / 1000).toFixed(1)} s`);

  // Verify: warm both once (page cache), then measure.
  await verifyBundle(dir);
  await execa("sha256sum", ["-c", "--quiet", "SHA256SUMS"], { cwd: dir });
  const ours = await timed(() => verifyBundle(dir));
  if (!ours.value.ok) throw new Error("the generated bundle does not verify");
  const baseline = await timed(() => execa("sha256sum", ["-c", "--quiet", "SHA256SUMS"], { cwd: dir }));
  const oursRate = bytes / (ours.ms / 1000);
  const baseRate = bytes / (baseline.ms / 1000);

  // Size: the shared layout vs one docker-archive per image, and vs the unique blobs it must hold.
  let archives = 0;
  for (const image of Object.values(images)) {
    const file = join(work, `${image.repository.split("/").pop()}.tar`);
    await execa("skopeo", ["copy", "--src-tls-verify=false", `docker://${image.repository}@${image.digest}`, `docker-archive:${file}`]);
    archives += (await stat(file)).size;
    await rm(file);
  }
  const blobsDir = join(dir, "images/blobs/sha256");
  let unique = 0;
  for (const blob of await readdir(blobsDir)) unique += (await stat(join(blobsDir, blob))).size;
  let layout = 0;
  for (const f of created.value.manifest.files) if (f.path.startsWith("images/")) layout += f.size;

  // Load: ours without verification (measured above) vs plain skopeo copies, each into a fresh registry.
  const load = await timed(() => loadBundle({ source: dir, registry: siteA.host, insecure: true, skipVerify: true }));
  const plain = await timed(async () => {
    for (const image of created.value.manifest.images) {
      await execa("skopeo", ["copy", "--all", "--preserve-digests", "--dest-tls-verify=false", `oci:${join(dir, "images")}:${image.layoutRef}`, `docker://${siteB.host}/${image.repository}:${image.tag}`]);
    }
  });
  if (!load.value.images.every((i) => i.verified)) throw new Error("load did not verify every image");

  console.log("");
  console.log(`verify:  ours ${mib(oursRate)}/s, sha256sum -c ${mib(baseRate)}/s, ratio ${(oursRate / baseRate).toFixed(2)} (aim ≥ 0.8)`);
  console.log(`size:    layout ${mib(layout)}, per-image docker-archive ${mib(archives)} (dedup saves ${(100 * (1 - layout / archives)).toFixed(1)} %), unique blobs ${mib(unique)}, ratio ${(layout / unique).toFixed(4)} (aim ≤ 1.01)`);
  console.log(`load:    ours ${(load.ms / 1000).toFixed(2)} s, plain skopeo copy ${(plain.ms / 1000).toFixed(2)} s, ratio ${(load.ms / plain.ms).toFixed(2)} (aim ≤ 1.3)`);
} finally {
  await Promise.all(registries.map((r) => r.stop()));
  await rm(work, { recursive: true, force: true });
}
