import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolvePins } from "../../bundle/pins.js";
import { pinsCommand } from "../../cli/commands/pins.js";
import { rewriteFileLocked } from "../../files/stack-file-write.js";
import { pushTestImages, type TestImage, type TestImageName } from "../helpers/oci-images.js";
import { startRegistry, type OciRegistry } from "../helpers/oci-registry.js";
import { stackYaml } from "./support.js";

let registry: OciRegistry;
let images: Record<TestImageName, TestImage>;
const work = mkdtempSync(join(tmpdir(), "modelfleet-pins-"));

beforeAll(async () => {
  registry = await startRegistry();
  images = await pushTestImages(registry.host);
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** A stack file whose vLLM pin is tag-only (`repo:tag`): `pins resolve` has exactly one line to change. */
function unpinned(): string {
  return stackYaml(images, "registry.local:5000", { vllm: `${images.vllm.repository}:${images.vllm.tag}` });
}

function folder(): string {
  return mkdtempSync(join(work, "case-"));
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { code: 0, stdout: "", stderr: "" };
  const io = { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t), setExitCode: (c: number) => void (out.code = c), env: {}, isTty: false };
  const program = new Command("modelfleet").exitOverride().addCommand(pinsCommand(io).exitOverride());
  try {
    await program.parseAsync(["pins", ...args], { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    out.code = error.exitCode;
  }
  return out;
}

describe("pins resolve writes the stack file safely", () => {
  it("through a symlink: the link stays a link, the real file is pinned, its mode 600 is kept", async () => {
    const dir = folder();
    const real = join(dir, "site-stack.yaml");
    writeFileSync(real, unpinned());
    chmodSync(real, 0o600);
    symlinkSync("site-stack.yaml", join(dir, "Pulumi.site.yaml"));
    const out = await cli(["resolve", "--stack", "site", "--stack-file", join(dir, "Pulumi.site.yaml"), "--insecure"]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(`~ images.vllm: ${images.vllm.repository}:${images.vllm.tag} → ${images.vllm.pinned}`);
    expect(lstatSync(join(dir, "Pulumi.site.yaml")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dir, "Pulumi.site.yaml"))).toBe("site-stack.yaml");
    expect(readFileSync(real, "utf8")).toBe(unpinned().replace(`vllm: ${images.vllm.repository}:${images.vllm.tag}\n`, `vllm: ${images.vllm.pinned}\n`));
    expect(statSync(real).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(["Pulumi.site.yaml", "site-stack.yaml"]);
  });

  it("keeps CRLF line endings, the missing final newline and every untouched line byte for byte", async () => {
    const file = join(folder(), "Pulumi.site.yaml");
    const before = unpinned().replace(/\n$/, "").replace(/\n/g, "\r\n").replace("source: { pvc: models, path: qwen3-0.6b }", "source: {pvc: models,   path: qwen3-0.6b}   # flow, spaced");
    writeFileSync(file, before);
    const changes = await resolvePins(file, { insecure: true, write: true });
    expect(changes).toEqual([{ name: "vllm", from: `${images.vllm.repository}:${images.vllm.tag}`, to: images.vllm.pinned }]);
    expect(readFileSync(file, "utf8")).toBe(before.replace(`vllm: ${images.vllm.repository}:${images.vllm.tag}\r\n`, `vllm: ${images.vllm.pinned}\r\n`));
  });

  it("pins the download Job's node image too, when the stack file names it by tag", async () => {
    const file = join(folder(), "Pulumi.site.yaml");
    const before = stackYaml(images, "registry.local:5000").replace(`node: ${images.node.pinned}\n`, `node: ${images.node.repository}:${images.node.tag}\n`);
    expect(before).toContain(`node: ${images.node.repository}:${images.node.tag}\n`);
    writeFileSync(file, before);
    const changes = await resolvePins(file, { insecure: true, write: true });
    expect(changes).toEqual([{ name: "node", from: `${images.node.repository}:${images.node.tag}`, to: images.node.pinned }]);
    expect(readFileSync(file, "utf8")).toBe(before.replace(`node: ${images.node.repository}:${images.node.tag}\n`, `node: ${images.node.pinned}\n`));
  });

  it("waits for a writer holding the lock and pins the text that writer left, losing neither change", async () => {
    const file = join(folder(), "Pulumi.site.yaml");
    writeFileSync(file, unpinned());
    let pinning: Promise<unknown> | undefined;
    await rewriteFileLocked(file, async (text) => {
      // While this edit holds the lock, pins resolve starts; it must wait, then re-read.
      pinning = resolvePins(file, { insecure: true, write: true });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      return text.replace("# An air-gapped site's stack.", "# An air-gapped site's stack.\n# Edited by hand meanwhile.");
    });
    await pinning;
    const text = readFileSync(file, "utf8");
    expect(text).toContain("# Edited by hand meanwhile.\n");
    expect(text).toContain(`vllm: ${images.vllm.pinned}\n`);
  });

  it("a missing stack file is one line and exit 2; nothing is created", async () => {
    const dir = folder();
    const out = await cli(["resolve", "--stack", "site", "--stack-file", join(dir, "Pulumi.site.yaml"), "--insecure"]);
    expect(out.code).toBe(2);
    expect(out.stderr).toBe(`error: ${join(dir, "Pulumi.site.yaml")} does not exist; name an existing stack file (--stack or --stack-file)\n`);
    expect(readdirSync(dir)).toEqual([]);
  });
});
