/**
 * `modelfleet models fetch`: a stack's oci-pinned model fetched with the download Job's own script from a real
 * loopback docker-registry, into the one layout `bundle create --models-dir` reads; a re-run is verified and left.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelDir } from "../../models/layout.js";
import { MANIFEST_FILE } from "../../models/manifest.js";
import { writeModelFolder } from "../helpers/model-folder.js";
import { pushModelFolder } from "../helpers/oci-stand-ins.js";
import { startRegistry, type OciRegistry } from "../helpers/oci-registry.js";
import { DIGEST, SHA } from "../helpers/stack-values.js";
import { modelfleet } from "./support.js";

const REPO = "Qwen/Qwen3-0.6B";
const FILES: Record<string, Buffer> = { "model.safetensors": randomBytes(256 * 1024), "config.json": Buffer.from('{"architectures":["Qwen3ForCausalLM"]}\n') };

let registry: OciRegistry;
let work: string;
let pinned: string;

beforeAll(async () => {
  registry = await startRegistry();
  work = mkdtempSync(join(tmpdir(), "modelfleet-models-fetch-"));
  const folder = writeModelFolder(join(work, "source"), FILES, { repo: REPO, revision: SHA });
  ({ pinned } = await pushModelFolder(folder, join(work, "oci"), `${registry.host}/models/qwen3:${SHA.slice(0, 7)}`));
  writeFileSync(
    join(work, "Pulumi.staging.yaml"),
    [
      "config:",
      "  modelfleet:environment: staging",
      "  modelfleet:namespace: llm-staging",
      "  modelfleet:images:",
      `    vllm: vllm/vllm-openai:v0.11.0@${DIGEST}`,
      `    llamacpp: ghcr.io/ggml-org/llama.cpp:server-cuda-b11206@${DIGEST}`,
      `    postgres: postgres:16-alpine@${DIGEST}`,
      "  modelfleet:models:",
      "    - name: qwen3",
      "      engine: vllm",
      "      source:",
      `        huggingFace: ${REPO}`,
      `        revision: ${SHA}`,
      `        oci: ${pinned}`,
      "      sizeBillions: 0.6",
      "",
    ].join("\n"),
  );
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("models fetch", () => {
  it("fills <to>/<owner>--<name>/<revision>/ from the pinned artifact, byte for byte, and a re-run is a verified no-op", async () => {
    const to = join(work, "store");
    const run = await modelfleet(["models", "fetch", "--stack", "staging", "--stack-file", join(work, "Pulumi.staging.yaml"), "--to", to, "--insecure"]);
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain(`qwen3: ${REPO}@${SHA} from ${pinned}`);
    const folder = modelDir(to, REPO, SHA);
    for (const [path, bytes] of Object.entries(FILES)) expect(readFileSync(join(folder, path)).equals(bytes)).toBe(true);
    expect(readFileSync(join(folder, MANIFEST_FILE), "utf8")).toBe(readFileSync(join(work, "source", MANIFEST_FILE), "utf8"));

    await registry.stop();
    const again = await modelfleet(["models", "fetch", "--stack", "staging", "--stack-file", join(work, "Pulumi.staging.yaml"), "--to", to, "--insecure"]);
    expect(again.exitCode).toBe(0);
    registry = await startRegistry();
  }, 120_000);

  it("an unknown --only model is refused naming the stack's models, exit 2", async () => {
    const run = await modelfleet(["models", "fetch", "--stack", "staging", "--stack-file", join(work, "Pulumi.staging.yaml"), "--to", join(work, "x"), "--only", "nope"]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("--only nope: no such model in");
    expect(run.stderr).toContain("its models are qwen3");
  });
});
