/** The day-2 and model-artifact commands as a user runs them: the compiled bin, exit codes, output. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { closeStandIns, standIn } from "../helpers/engine-stand-in.js";
import { writeModelFolder } from "../helpers/model-folder.js";
import { useTempDirs } from "../helpers/temp-dir.js";
import { modelfleet } from "./support.js";

const tempDir = useTempDirs();

afterEach(closeStandIns);
const REVISION = "c1899de289a04d12100db370d81485cdf75e47ca";

function modelFolder(): string {
  const files: Record<string, string> = { "config.json": '{"model_type":"qwen3"}\n', "model.safetensors": "weights".repeat(1000) };
  return writeModelFolder(tempDir("modelfleet-cli-model-"), files, { repo: "Qwen/Qwen3-0.6B", revision: REVISION });
}

describe("modelfleet verify and status", () => {
  it("verify passes a stand-in engine through --endpoint-override and exits 0; a bad --probe-timeout exits 2", async () => {
    const engine = await standIn({ models: ["qwen3-small"] });
    const ok = await modelfleet(["verify", "--stack", "development", "--model", "qwen3-small", "--endpoint-override", engine.url]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("PASS  qwen3-small");
    const bad = await modelfleet(["verify", "--stack", "development", "--probe-timeout", "soon"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("must be a whole number of milliseconds");
  });

  it("status of the development stack with its engines down exits 1 and says so; without a database it says it did not ask", async () => {
    const result = await modelfleet(["status", "--stack", "development", "--endpoint", "qwen3-small=http://127.0.0.1:9", "--endpoint", "qwen25-gguf=http://127.0.0.1:9", "--probe-timeout", "500"], { env: { KUBECONFIG: "/nonexistent" } });
    expect(result.exitCode, result.stderr).toBe(1);
    expect(result.stdout).toContain("registry: not queried (set MODELFLEET_DB_URL)");
    expect(result.stdout).toContain("qwen3-small");
  });
});

describe("modelfleet models", () => {
  it("packs a model folder, prints its digest, unpacks it into the store layout; the same folder packs to the same digest", async () => {
    const dir = modelFolder();
    const work = tempDir("modelfleet-cli-layout-");
    const pack = await modelfleet(["models", "pack", dir, "--layout", join(work, "oci")]);
    expect(pack.exitCode, pack.stderr).toBe(0);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pack.stdout)?.[1];
    expect(digest).toBeDefined();
    const again = await modelfleet(["models", "pack", dir, "--layout", join(work, "oci2")]);
    expect(again.stdout).toContain(`digest: ${digest}`);

    mkdirSync(join(work, "store"));
    const unpack = await modelfleet(["models", "unpack", "--layout", join(work, "oci"), "--target", join(work, "store")]);
    expect(unpack.exitCode, unpack.stderr).toBe(0);
    const folder = join(work, "store", "Qwen--Qwen3-0.6B", REVISION);
    expect(unpack.stdout).toContain(`unpacked: Qwen/Qwen3-0.6B@${REVISION} (${digest}) in ${folder}`);
    expect(readFileSync(join(folder, "model.safetensors"), "utf8")).toBe("weights".repeat(1000));
  });

  it("refuses a folder whose file does not match its manifest, naming the file, exit 1; a pull by tag exits 2", async () => {
    const dir = modelFolder();
    writeFileSync(join(dir, "config.json"), "{}\n");
    const work = tempDir("modelfleet-cli-layout-");
    const pack = await modelfleet(["models", "pack", dir, "--layout", join(work, "oci")]);
    expect(pack.exitCode).not.toBe(0);
    expect(pack.stderr).toContain("config.json");
    const pull = await modelfleet(["models", "pull", "127.0.0.1:9/models/x:latest", "--layout", join(work, "oci"), "--tag", "x"]);
    expect(pull.exitCode).toBe(2);
  });
});
