/**
 * Shared set-up for the bundle tests: a source and a site registry (Debian docker-registry on loopback), three small
 * images built with umoci and pushed to the source, a stack file pinning them (an offline stack rendering the site
 * registry) and a models folder.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { writeModelFolder } from "../helpers/model-folder.js";
import { pushTestImages, type TestImage, type TestImageName } from "../helpers/oci-images.js";
import { startRegistry, type OciRegistry } from "../helpers/oci-registry.js";
import { modelDir } from "../../models/layout.js";

/**
 * Writes a model store folder `<root>/<owner>--<name>/<revision>/` as the download Job leaves it: the files and a
 * `modelfleet-manifest.json` listing each with its size and sha256. Returns the folder.
 */
export function writeStoreFolder(root: string, repo: string, revision: string, files: Readonly<Record<string, Buffer | string>>): string {
  return writeModelFolder(modelDir(root, repo, revision), files, { repo, revision });
}

export interface BundleFixture {
  readonly work: string;
  readonly source: OciRegistry;
  readonly site: OciRegistry;
  readonly images: Record<TestImageName, TestImage>;
  readonly stackFile: string;
  readonly modelsDir: string;
}

export function stackYaml(images: BundleFixture["images"], site: string, pins: Partial<Record<"vllm" | "llamacpp" | "postgres", string>> = {}): string {
  return `# An air-gapped site's stack.
config:
  modelfleet:environment: staging
  modelfleet:namespace: llm-site
  modelfleet:images:
    vllm: ${pins.vllm ?? images.vllm.pinned}
    llamacpp: ${pins.llamacpp ?? images.llamacpp.pinned}
    postgres: ${pins.postgres ?? images.postgres.pinned}
    node: ${images.node.pinned}
  modelfleet:offline:
    registry: ${site}
  modelfleet:models:
    - name: qwen3
      engine: vllm
      source: { pvc: models, path: qwen3-0.6b }
      sizeBillions: 0.6
    - name: gguf
      engine: llamacpp
      source: { pvc: models, path: gguf/qwen3-0.6b-q8_0.gguf }
      sizeBillions: 0.6
`;
}

export function useBundleFixture(): () => BundleFixture {
  let fixture: BundleFixture | undefined;
  beforeAll(async () => {
    const work = mkdtempSync(join(tmpdir(), "modelfleet-bundle-"));
    const [source, site] = await Promise.all([startRegistry(), startRegistry()]);
    const images = await pushTestImages(source.host);
    const modelsDir = join(work, "models");
    mkdirSync(join(modelsDir, "qwen3-0.6b"), { recursive: true });
    writeFileSync(join(modelsDir, "qwen3-0.6b", "config.json"), '{"architectures":["Qwen3ForCausalLM"]}\n');
    writeFileSync(join(modelsDir, "qwen3-0.6b", "model.safetensors"), Buffer.alloc(200_000, 7));
    mkdirSync(join(modelsDir, "gguf"), { recursive: true });
    writeFileSync(join(modelsDir, "gguf", "qwen3-0.6b-q8_0.gguf"), Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(100_000, 3)]));
    const stackFile = join(work, "Pulumi.site.yaml");
    writeFileSync(stackFile, stackYaml(images, site.host));
    fixture = { work, source, site, images, stackFile, modelsDir };
  }, 120_000);
  afterAll(async () => {
    await fixture?.source.stop();
    await fixture?.site.stop();
    if (fixture) rmSync(fixture.work, { recursive: true, force: true });
  });
  return () => {
    if (!fixture) throw new Error("bundle fixture not ready");
    return fixture;
  };
}
