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
  await umoci(["unpack", ...rootless, "--image", `${layout}:${from}`, bundle]);
  await writeFile(join(bundle, "rootfs", file), randomBytes(bytes));
  await umoci(["repack", "--image", `${layout}:${to}`, bundle]);
  await rm(bundle, { recursive: true, force: true });
}

/** Engine images are tagged as releases that have an engine contract (docs/engines.md): a stack pinning them validates. */
export const TEST_IMAGE_TAGS = { vllm: "v0.11.0", llamacpp: "server-cuda-b11206", postgres: "16" } as const;

/** Builds `vllm`, `llamacpp` (sharing a base layer) and `postgres`, and pushes them to `registry`. */
export async function pushTestImages(registry: string, layerBytes = 64 * 1024): Promise<Record<"vllm" | "llamacpp" | "postgres", TestImage>> {
  const layout = await mkdtemp(join(tmpdir(), "modelfleet-oci-"));
  await rm(layout, { recursive: true });
  await umoci(["init", "--layout", layout]);
  await umoci(["new", "--image", `${layout}:empty`]);
  await addLayer(layout, "empty", "base", "base.bin", layerBytes);
  await addLayer(layout, "base", "vllm", "vllm.bin", layerBytes);
  await addLayer(layout, "base", "llamacpp", "llamacpp.bin", layerBytes);
  await addLayer(layout, "empty", "postgres", "postgres.bin", layerBytes);
  const out = {} as Record<"vllm" | "llamacpp" | "postgres", TestImage>;
  for (const name of ["vllm", "llamacpp", "postgres"] as const) {
    const repository = `${registry}/modelfleet-test/${name}`;
    const tag = TEST_IMAGE_TAGS[name];
    await execa("skopeo", ["copy", "--dest-tls-verify=false", `oci:${layout}:${name}`, `docker://${repository}:${tag}`]);
    const raw = await execa("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${repository}:${tag}`], { encoding: "buffer", stripFinalNewline: false });
    const digest = `sha256:${createHash("sha256").update(Buffer.from(raw.stdout)).digest("hex")}`;
    out[name] = { repository, tag, digest, pinned: `${repository}:${tag}@${digest}` };
  }
  await rm(layout, { recursive: true, force: true });
  return out;
}
