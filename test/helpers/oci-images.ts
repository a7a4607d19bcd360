/**
 * Small real OCI images built offline with umoci and pushed with skopeo: two share a base layer (to prove a bundle
 * stores shared blobs once), a third stands alone.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";

export interface TestImage {
  /** `127.0.0.1:<port>/modelfleet-test/<name>` */
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
  /** `repository:tag@digest`, as a stack pins it. */
  readonly pinned: string;
}

async function umoci(args: string[]): Promise<void> {
  await execa("umoci", args);
}

async function addLayer(layout: string, from: string, to: string, file: string, bytes: number): Promise<void> {
  const bundle = await mkdtemp(join(tmpdir(), "modelfleet-umoci-"));
  await rm(bundle, { recursive: true });
  const rootless = process.getuid?.() === 0 ? [] : ["--rootless"];
  try {
    await umoci(["unpack", ...rootless, "--image", `${layout}:${from}`, bundle]);
    await writeFile(join(bundle, "rootfs", file), randomBytes(bytes));
    await umoci(["repack", "--image", `${layout}:${to}`, bundle]);
  } finally {
    await rm(bundle, { recursive: true, force: true });
  }
}

/** Engine images are tagged as releases that have an engine contract (docs/engines.md): a stack pinning them validates. */
export const TEST_IMAGE_TAGS = { vllm: "v0.11.0", llamacpp: "server-cuda-b11206", postgres: "16", node: "22-alpine" } as const;

export type TestImageName = keyof typeof TEST_IMAGE_TAGS;

/** Builds `vllm`, `llamacpp` (sharing a base layer), `postgres` and `node` (the download Job's runtime), and pushes them to `registry`. */
export async function pushTestImages(registry: string, layerBytes = 64 * 1024): Promise<Record<TestImageName, TestImage>> {
  const layout = await mkdtemp(join(tmpdir(), "modelfleet-oci-"));
  await rm(layout, { recursive: true });
  try {
    return await buildAndPush(layout, registry, layerBytes);
  } finally {
    await rm(layout, { recursive: true, force: true });
  }
}

async function buildAndPush(layout: string, registry: string, layerBytes: number): Promise<Record<TestImageName, TestImage>> {
  await umoci(["init", "--layout", layout]);
  await umoci(["new", "--image", `${layout}:empty`]);
  await addLayer(layout, "empty", "base", "base.bin", layerBytes);
  await addLayer(layout, "base", "vllm", "vllm.bin", layerBytes);
  await addLayer(layout, "base", "llamacpp", "llamacpp.bin", layerBytes);
  await addLayer(layout, "empty", "postgres", "postgres.bin", layerBytes);
  await addLayer(layout, "empty", "node", "node.bin", layerBytes);
  const out = {} as Record<TestImageName, TestImage>;
  for (const name of ["vllm", "llamacpp", "postgres", "node"] as const) {
    const repository = `${registry}/modelfleet-test/${name}`;
    const tag = TEST_IMAGE_TAGS[name];
    await execa("skopeo", ["copy", "--dest-tls-verify=false", `oci:${layout}:${name}`, `docker://${repository}:${tag}`]);
    const raw = await execa("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${repository}:${tag}`], { encoding: "buffer", stripFinalNewline: false });
    const digest = `sha256:${createHash("sha256").update(Buffer.from(raw.stdout)).digest("hex")}`;
    out[name] = { repository, tag, digest, pinned: `${repository}:${tag}@${digest}` };
  }
  return out;
}
