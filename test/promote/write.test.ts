import { chmodSync, copyFileSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { lockPathFor } from "../../files/stack-file-write.js";
import { readStackValues } from "../../config/load.js";
import { promote, PromoteError } from "../../promote/promote.js";
import { useTempDirs } from "../helpers/temp-dir.js";
import { promoteCli } from "./support.js";

const tempDir = useTempDirs();

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "promote");
const BIN = join(import.meta.dirname, "..", "..", "bin", "modelfleet.js");

function workspace(fixtures = FIXTURES, production = join(fixtures, "Pulumi.production.yaml")): { dir: string; file: string; production: () => string } {
  const dir = tempDir("modelfleet-promote-write-");
  copyFileSync(join(fixtures, "Pulumi.staging.yaml"), join(dir, "Pulumi.staging.yaml"));
  copyFileSync(production, join(dir, "Pulumi.production.yaml"));
  const file = join(dir, "Pulumi.production.yaml");
  return { dir, file, production: () => readFileSync(file, "utf8") };
}

const cli = promoteCli;

const models = (text: string) => readStackValues(text, "Pulumi.production.yaml")["models"] as Record<string, unknown>[];

describe("promote --write on the file as it is kept", () => {
  it("a symlinked target: the link stays a link and the real file is promoted", async () => {
    const ws = workspace();
    const real = join(ws.dir, "production.yaml");
    copyFileSync(ws.file, real);
    const before = readFileSync(real, "utf8");
    rmSync(ws.file);
    symlinkSync("production.yaml", ws.file);
    const result = await promote({ from: "staging", to: "production", dir: ws.dir, write: true });
    expect(result.written).toBe(true);
    expect(lstatSync(ws.file).isSymbolicLink()).toBe(true);
    expect(readlinkSync(ws.file)).toBe("production.yaml");
    const after = readFileSync(real, "utf8");
    expect(after).not.toBe(before);
    expect(models(after).map((m) => m["name"])).toEqual(["qwen3-8b", "qwen3-small-gguf"]);
    expect(readdirSync(ws.dir).sort()).toEqual(["Pulumi.production.yaml", "Pulumi.staging.yaml", "production.yaml"]);
  });

  it("a target that is a symlink to the source is refused as the same file", async () => {
    const ws = workspace();
    rmSync(ws.file);
    symlinkSync("Pulumi.staging.yaml", ws.file);
    const error = await promote({ from: "staging", to: "production", dir: ws.dir, write: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PromoteError);
    expect((error as PromoteError).kind).toBe("input");
    expect((error as Error).message).toBe("--from and --to both name Pulumi.staging.yaml and Pulumi.production.yaml (the same file through a symlink); promote from one stack to another");
  });

  it("mode 600 stays 600", async () => {
    const ws = workspace();
    chmodSync(ws.file, 0o600);
    await promote({ from: "staging", to: "production", dir: ws.dir, write: true });
    expect(statSync(ws.file).mode & 0o777).toBe(0o600);
  });

  it("CRLF stays CRLF, on changed and added lines too, and the lines match an LF promotion's", async () => {
    const lf = workspace(FIXTURES, join(FIXTURES, "styled", "Pulumi.production.yaml"));
    const crlf = workspace(FIXTURES, join(FIXTURES, "styled", "Pulumi.production.yaml"));
    writeFileSync(crlf.file, lf.production().replace(/\n/g, "\r\n"));
    await promote({ from: "staging", to: "production", dir: lf.dir, write: true });
    await promote({ from: "staging", to: "production", dir: crlf.dir, write: true });
    const text = crlf.production();
    expect(text.replace(/\r\n/g, "")).not.toContain("\n");
    expect(text).toBe(lf.production().replace(/\n/g, "\r\n"));
  });
});

describe("concurrent promotes on one target", () => {
  it("the second waits for the first's lock and promotes on top of its change", async () => {
    const ws = workspace();
    const seen: string[] = [];
    let firstInGate!: () => void;
    const inGate = new Promise<void>((resolve) => (firstInGate = resolve));
    const first = promote({
      from: "staging",
      to: "production",
      dir: ws.dir,
      write: true,
      only: ["qwen3-8b"],
      // The gate runs under the lock, after the diff: a slow registry holds the second writer back.
      gate: async () => {
        firstInGate();
        await new Promise((resolve) => setTimeout(resolve, 500));
        return [];
      },
    });
    await inGate;
    const second = promote({
      from: "staging",
      to: "production",
      dir: ws.dir,
      write: true,
      only: ["qwen3-small-gguf"],
      gate: async (_, names) => {
        seen.push(...names);
        return [];
      },
    });
    const [a, b] = await Promise.all([first, second]);
    expect([a.written, b.written]).toEqual([true, true]);
    expect(seen).toEqual(["qwen3-small-gguf"]);
    const result = models(ws.production());
    expect(result.map((m) => m["name"])).toEqual(["qwen3-8b", "retired-model", "qwen3-small-gguf"]);
    expect((result[0]?.["vllm"] as Record<string, unknown>)["maxModelLen"]).toBe(32768);
  });

  // Two CLI start-ups on a busy 2-core machine can take most of a minute.
  it("two CLI processes at once: both print Wrote and both changes are in the file", { timeout: 180_000 }, async () => {
    const ws = workspace();
    const run = (only: string) => execa("node", [BIN, "promote", "--from", "staging", "--to", "production", "--dir", ws.dir, "--only", only, "--write"], { reject: false });
    const [a, b] = await Promise.all([run("qwen3-8b"), run("qwen3-small-gguf")]);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(b.exitCode, b.stderr).toBe(0);
    expect(a.stdout).toContain("Wrote Pulumi.production.yaml");
    expect(b.stdout).toContain("Wrote Pulumi.production.yaml");
    const result = models(ws.production());
    expect(result.map((m) => m["name"])).toEqual(["qwen3-8b", "retired-model", "qwen3-small-gguf"]);
    expect((result[0]?.["source"] as Record<string, unknown>)["revision"]).toBe("b968826d9c46dd6066d109eabc6255188de91218");
    expect(readdirSync(ws.dir).sort()).toEqual(["Pulumi.production.yaml", "Pulumi.staging.yaml"]);
  });

  it("a lock held by another live writer: waits, then refuses in one line naming the lock file; nothing written", async () => {
    const ws = workspace();
    const before = ws.production();
    writeFileSync(lockPathFor(ws.file), JSON.stringify({ pid: process.pid, hostname: hostname(), createdAt: "2026-12-02T10:00:00.000Z", token: "t" }));
    const error = await promote({ from: "staging", to: "production", dir: ws.dir, write: true, lockTimeoutSeconds: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PromoteError);
    expect((error as PromoteError).kind).toBe("refused");
    expect((error as Error).message).toBe(
      `Pulumi.production.yaml is being written by another modelfleet (pid ${process.pid} on ${hostname()} since 2026-12-02T10:00:00.000Z): lock file ${lockPathFor(ws.file)} still held after 1s. Wait and retry; if no modelfleet is running there, delete the lock file.`,
    );
    expect(ws.production()).toBe(before);
  });
});

describe("a YAML anchor shared by two models", () => {
  const ANCHORS = join(FIXTURES, "anchors");

  it("--only model-a changes model-a alone: model-b's alias is written out with the values it had", async () => {
    const ws = workspace(ANCHORS);
    const before = ws.production();
    const out = await cli(["--from", "staging", "--to", "production", "--dir", ws.dir, "--only", "model-a", "--write"]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('~ models[model-a].vllm: {"maxModelLen":16384,"gpuMemoryUtilization":0.9} → {"maxModelLen":32768,"gpuMemoryUtilization":0.9}');
    expect(out.stdout).toContain("Note: models[model-b].vllm used the YAML anchor &common, which this promotion changes; it is written out in full so its values stay as they are.");
    const [a, b] = models(ws.production());
    const [oldA, oldB] = models(before);
    expect(a?.["vllm"]).toEqual({ maxModelLen: 32768, gpuMemoryUtilization: 0.9 });
    expect(b).toEqual(oldB);
    expect({ ...a, vllm: undefined }).toEqual({ ...oldA, vllm: undefined });
    expect(ws.production()).toBe(
      before.replace("        maxModelLen: 16384\n", "        maxModelLen: 32768\n").replace("      vllm: *common\n", "      vllm:\n        maxModelLen: 16384\n        gpuMemoryUtilization: 0.9\n"),
    );
  });

  it("a change under model-b's alias applies to model-b alone, and the diff shows it", async () => {
    const ws = workspace(ANCHORS);
    const staging = join(ws.dir, "Pulumi.staging.yaml");
    writeFileSync(staging, readFileSync(staging, "utf8").replace("        maxModelLen: 16384\n", "        maxModelLen: 8192\n"));
    const before = ws.production();
    const result = await promote({ from: "staging", to: "production", dir: ws.dir, write: true, only: ["model-b"] });
    expect(result.expanded).toEqual([{ at: "models[model-b].vllm", anchor: "common", reason: "edited" }]);
    const [a, b] = models(ws.production());
    expect(a).toEqual(models(before)[0]);
    expect(b?.["vllm"]).toEqual({ maxModelLen: 8192, gpuMemoryUtilization: 0.9 });
  });

  it("--json lists the expansions", async () => {
    const ws = workspace(ANCHORS);
    const out = await cli(["--from", "staging", "--to", "production", "--dir", ws.dir, "--json"]);
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout).expanded).toEqual([{ at: "models[model-b].vllm", anchor: "common", reason: "kept" }]);
  });
});

describe("a YAML anchor and models added or removed", () => {
  const ANCHORS = join(FIXTURES, "anchors");
  const MODEL_C = "    - name: model-c\n      engine: vllm\n      source:\n        huggingFace: Qwen/Qwen3-0.6B\n        revision: c1899de289a04d12100db370d81485cdf75e47ca\n      sizeBillions: 0.6\n      gpus: 1\n";

  it("adding a model leaves the shared anchor and its alias alone", async () => {
    const ws = workspace(ANCHORS);
    const staging = join(ws.dir, "Pulumi.staging.yaml");
    writeFileSync(staging, `${readFileSync(staging, "utf8")}${MODEL_C}`);
    const before = ws.production();
    const result = await promote({ from: "staging", to: "production", dir: ws.dir, write: true, only: ["model-c"] });
    expect(result.expanded).toEqual([]);
    expect(ws.production()).toBe(`${before}${MODEL_C}`);
  });

  it("removing the model that holds the anchor writes the alias out, so the kept model keeps its values", async () => {
    const ws = workspace(ANCHORS);
    const staging = join(ws.dir, "Pulumi.staging.yaml");
    const text = readFileSync(staging, "utf8");
    writeFileSync(staging, text.slice(0, text.indexOf("    - name: model-a")) + text.slice(text.indexOf("    - name: model-b")));
    const before = models(ws.production());
    const result = await promote({ from: "staging", to: "production", dir: ws.dir, write: true });
    expect(result.changes.map((c) => c.kind)).toEqual(["remove-model"]);
    expect(result.expanded).toEqual([{ at: "models[model-b].vllm", anchor: "common", reason: "kept" }]);
    expect(models(ws.production())).toEqual([before[1]]);
    expect(ws.production()).not.toContain("*common");
  });
});
