import { execFileSync } from "node:child_process";
import { closeSync, openSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { loadStackFile, parseStackConfig } from "../../config/load.js";
import { STACK_FILE_MAX_BYTES, STACK_FILE_MAX_DEPTH } from "../../config/limits.js";
import { ConfigError, renderValue } from "../../config/problems.js";
import { problemsOf, stackValues, vllmModel, llamaModel } from "../helpers/stack-values.js";
import { useTempDirs } from "../helpers/temp-dir.js";

const tempDir = useTempDirs();

const FILE = "Pulumi.test.yaml";
const PASSWORD = "S3cr3t-Pa55word";
const DB_URL = `postgresql://reg:${PASSWORD}@db.internal:5432/registry`;


/** The ConfigError loadStackFile throws for `text` written to a fresh Pulumi.test.yaml, and how long it took. */
function loadError(text: string | Buffer): { message: string; ms: number } {
  const dir = tempDir("mf-limits-");
  const file = join(dir, FILE);
  writeFileSync(file, text);
  return loadErrorOf(file);
}

function loadErrorOf(file: string, stack = "test"): { message: string; ms: number } {
  const start = performance.now();
  try {
    loadStackFile(file, stack);
  } catch (error) {
    const ms = performance.now() - start;
    expect(error).toBeInstanceOf(ConfigError);
    return { message: (error as Error).message, ms };
  }
  throw new Error(`${file} loaded, but a ConfigError was expected`);
}

const stackText = (values: Record<string, unknown>): string =>
  stringify({ config: Object.fromEntries(Object.entries(values).map(([k, v]) => [`modelfleet:${k}`, v])) });

describe("config errors never echo a credential", () => {
  it.each([
    ["a URL where the registry object belongs", { registry: DB_URL }, "registry"],
    ["a URL typed into registry.mode", { registry: { mode: DB_URL } }, "registry.mode"],
    ["a URL inside a nested object where a string belongs", { namespace: { url: DB_URL } }, "namespace"],
    ["a URL inside an array where a string belongs", { environment: ["x", { deep: [DB_URL] }] }, "environment"],
    ["a token where an image belongs", { images: { vllm: "hf_abcdefghijklmnopqrstuvwxyz0123", llamacpp: "x/y:1", postgres: "postgres:16" } }, "images.vllm"],
    ["an image reference with userinfo", { images: { vllm: `https://reg:${PASSWORD}@registry.example.com/vllm:1`, llamacpp: "x/y:1", postgres: "postgres:16" } }, "images.vllm"],
  ])("%s", (_name, overrides, path) => {
    const problems = problemsOf(stackValues("development", overrides));
    const message = new ConfigError(FILE, problems).message;
    expect(problems.map((p) => p.path)).toContain(path);
    expect(problems.find((p) => p.path === path)?.received).toMatch(/not shown: it looks like a credential or a URL with userinfo$/);
    expect(message).not.toContain(PASSWORD);
    expect(message).not.toContain("hf_abcdefghij");
  });

  it("does not show an unknown key that looks like a credential", () => {
    const problems = problemsOf(stackValues("development", { gpu: { [DB_URL]: 1 } }));
    expect(problems.map((p) => p.path)).toContain("gpu.<key not shown: looks like a credential>");
    expect(JSON.stringify(problems)).not.toContain(PASSWORD);
  });

  it("still shows ordinary values, cut at 80 characters with their length", () => {
    expect(renderValue("tgi")).toBe('"tgi"');
    expect(renderValue("x".repeat(200))).toBe(`"${"x".repeat(79)}…(202 chars)`);
    expect(renderValue({ a: 1 })).toBe('{"a":1}');
  });
});

describe("bounded values in the schema", () => {
  it.each([
    ["../model.gguf", "has a '..' segment, which leaves the model's folder"],
    ["a/../../b.gguf", "has a '..' segment, which leaves the model's folder"],
    ["/etc/passwd.gguf", "is absolute"],
    ["C:/models/x.gguf", "is absolute"],
    ["dir\\x.gguf", "holds a backslash (separate folders with /)"],
    ["x\u0000.gguf", "holds a NUL character"],
    ["a//b.gguf", "has an empty segment (a leading, trailing or doubled /)"],
    ["dir/", "has an empty segment (a leading, trailing or doubled /)"],
    ["", "is empty"],
    [`${"a".repeat(256)}.gguf`, "is longer than 255 characters"],
  ])("source.file %j is refused: %s", (file, why) => {
    const problems = problemsOf(stackValues("development", { models: [llamaModel({ source: { huggingFace: "Qwen/Qwen3-0.6B-GGUF", revision: "c1899de289a04d12100db370d81485cdf75e47ca", file } })] }));
    const found = problems.find((p) => p.path === "models[0].source.file");
    expect(found?.message).toBe(`must be a plain relative path inside the model's folder, e.g. models/qwen3-0.6b-q8_0.gguf; this one ${why}`);
    expect(found?.received).toBe(renderValue(file));
  });

  it.each(["qwen3-0.6b-q8_0.gguf", "sub/dir/model.Q4_K_M.gguf", "with space.gguf"])("source.file %j is accepted", (file) => {
    const problems = problemsOf(stackValues("development", { models: [llamaModel({ source: { huggingFace: "Qwen/Qwen3-0.6B-GGUF", revision: "c1899de289a04d12100db370d81485cdf75e47ca", file } })] }));
    expect(problems.filter((p) => p.path.startsWith("models[0].source"))).toEqual([]);
  });

  it("refuses a pvc path and a gitops path that leave their folder", () => {
    const problems = problemsOf(
      stackValues("development", { models: [vllmModel({ source: { pvc: "models", path: "/abs/qwen" } })], gitops: { repoURL: "https://git.example.com/x.git", path: "../other" } }),
    );
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual(
      expect.arrayContaining([
        "models[0].source.path: must be a plain relative path inside the model's folder, e.g. models/qwen3-0.6b-q8_0.gguf; this one is absolute",
        "gitops.path: must be a plain relative path inside the model's folder, e.g. models/qwen3-0.6b-q8_0.gguf; this one has a '..' segment, which leaves the model's folder",
      ]),
    );
  });

  it.each([
    ["models[0].replicas", { models: [vllmModel({ replicas: 3_000_000_000 })] }, "at most 1000"],
    ["models[0].startupBudgetSeconds", { models: [vllmModel({ startupBudgetSeconds: 3_000_000_000 })] }, "at most 86400"],
    ["models[0].gpus", { models: [vllmModel({ gpus: 65 })] }, "at most 64"],
    ["models[0].vllm.maxModelLen", { models: [vllmModel({ vllm: { maxModelLen: 2 ** 40 } })] }, "at most 100000000"],
    ["registry.staleAfterSeconds", { registry: { staleAfterSeconds: 3_000_000_000 } }, "at most 86400"],
    ["registry.storageGiB", { registry: { storageGiB: 2 ** 31 } }, "at most 65536"],
  ])("bounds %s", (path, overrides, message) => {
    const problems = problemsOf(stackValues("development", overrides));
    expect(problems.find((p) => p.path === path)?.message).toBe(message);
  });

  it("refuses a 100 kB model name with a short message", () => {
    const problems = problemsOf(stackValues("development", { models: [vllmModel({ name: "a".repeat(100_000) })] }));
    const found = problems.find((p) => p.path === "models[0].name");
    expect(found?.message).toBe("must be at most 63 characters (a DNS label)");
    expect(found?.received).toBe(`"${"a".repeat(79)}…(100002 chars)`);
    expect(new ConfigError(FILE, problems).message.length).toBeLessThan(1_000);
  });

  it("refuses a 100 kB image reference without repeating it", () => {
    const problems = problemsOf(stackValues("development", { images: { vllm: `x/${"a".repeat(100_000)}:1`, llamacpp: "x/y:1", postgres: "postgres:16" } }));
    expect(problems.find((p) => p.path === "images.vllm")?.message).toBe("must be at most 2048 characters");
    expect(new ConfigError(FILE, problems).message.length).toBeLessThan(1_000);
  });
});

describe("the stack file loader refuses hostile files quickly", () => {
  it(`refuses a file over ${STACK_FILE_MAX_BYTES} bytes before reading it (a sparse 60 MB file, in milliseconds)`, () => {
    const dir = tempDir("mf-limits-");
    const file = join(dir, FILE);
    writeFileSync(file, "");
    truncateSync(file, 60 * 1024 * 1024);
    const { message, ms } = loadErrorOf(file);
    expect(message).toContain(`${FILE}: (top level): ${file}: 62914560 bytes (60 MiB), more than the 1 MiB allowed; a stack file holds settings, not data`);
    expect(ms).toBeLessThan(100);
  });

  it("refuses a billion-laughs alias bomb in well under a second", () => {
    const lines = ['  modelfleet:a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) lines.push(`  modelfleet:a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(",")}]`);
    const { message, ms } = loadError(`config:\n${lines.join("\n")}\n`);
    expect(message).toContain("YAML aliases expand to more than 100 nodes (an alias bomb?); write the values out");
    expect(ms).toBeLessThan(250);
  });

  it("refuses more alias nodes than allowed even when each expands little", () => {
    const refs = Array.from({ length: 101 }, (_, i) => `  modelfleet:k${i}: *a`).join("\n");
    const { message } = loadError(`config:\n  modelfleet:x: &a 1\n${refs}\n`);
    expect(message).toContain("more than 100 YAML aliases (*name); write the values out");
  });

  it(`refuses nesting deeper than ${STACK_FILE_MAX_DEPTH} levels (block and flow)`, () => {
    let block = "config:\n";
    for (let i = 1; i <= 40; i++) block += `${"  ".repeat(i)}k${i}:\n`;
    expect(loadError(`${block}${"  ".repeat(41)}v: 1\n`).message).toContain(`nested deeper than ${STACK_FILE_MAX_DEPTH} levels`);
    const flow = loadError(`config: {modelfleet:x: ${"[".repeat(5_000)}${"]".repeat(5_000)}}\n`);
    expect(flow.message).toContain(`nested deeper than ${STACK_FILE_MAX_DEPTH} levels`);
    // The parser's own depth guard answers; a 5,000-deep flow is refused in about 0.2 s on an idle machine.
    expect(flow.ms).toBeLessThan(3_000);
  });

  it("refuses binary files: NUL bytes and invalid UTF-8", () => {
    expect(loadError(Buffer.from("config:\n  modelfleet:environment: dev\u0000elopment\n")).message).toContain("binary content (a NUL byte at offset 37); YAML is UTF-8 text");
    expect(loadError(Buffer.concat([Buffer.from("config:\n  modelfleet:namespace: "), Buffer.from([0xc3, 0x28]), Buffer.from("\n")])).message).toContain("not valid UTF-8 text");
  });

  it("refuses several documents", () => {
    expect(loadError("config: {}\n---\nconfig: {}\n---\n").message).toContain("holds several YAML documents (---); a stack file is one document");
  });

  it("refuses a FIFO without blocking, and a symlink to one", () => {
    const dir = tempDir("mf-limits-");
    const fifo = join(dir, FILE);
    execFileSync("mkfifo", [fifo]);
    const { message, ms } = loadErrorOf(fifo);
    expect(message).toContain(`${fifo}: a FIFO (named pipe), not a regular file; only regular files are read (a symlink must point to one)`);
    expect(ms).toBeLessThan(1_000);
    const link = join(dir, "Pulumi.link.yaml");
    symlinkSync(fifo, link);
    expect(loadErrorOf(link).message).toContain("a FIFO (named pipe), not a regular file");
  });

  it("refuses a directory and a device", () => {
    const dir = tempDir("mf-limits-");
    expect(loadErrorOf(dir).message).toContain(`${dir}: a directory, not a regular file`);
    expect(loadErrorOf("/dev/zero").message).toContain("/dev/zero: a character device, not a regular file");
  });

  it("follows a symlink to a regular file", () => {
    const dir = tempDir("mf-limits-");
    const real = join(dir, "real.yaml");
    writeFileSync(real, stackText(stackValues("development")));
    const link = join(dir, "Pulumi.development.yaml");
    symlinkSync(real, link);
    expect(loadStackFile(link).environment).toBe("development");
  });

  it("accepts a file of exactly the limit's size in bytes", () => {
    const dir = tempDir("mf-limits-");
    const file = join(dir, "Pulumi.development.yaml");
    const text = stackText(stackValues("development"));
    writeFileSync(file, `${text}#${"x".repeat(STACK_FILE_MAX_BYTES - text.length - 2)}\n`);
    const fd = openSync(file, "r");
    closeSync(fd);
    expect(loadStackFile(file).environment).toBe("development");
  });
});

describe("parseStackConfig bounds values from any source (file or Pulumi config)", () => {
  it("refuses values nested 20,000 deep with a ConfigError, not a stack overflow", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(() => parseStackConfig(stackValues("development", { models: deep }), FILE, "test")).toThrow(
      `${FILE}: (top level): nested deeper than ${STACK_FILE_MAX_DEPTH} levels; a stack file's settings are a few levels deep`,
    );
  });

  it("refuses more than 100,000 values", () => {
    expect(() => parseStackConfig(stackValues("development", { cors: { allowedOrigins: Array.from({ length: 100_001 }, () => "https://a.example.com") } }), FILE, "test")).toThrow(
      `${FILE}: (top level): more than 100000 values; a stack config holds settings, not data`,
    );
  });
});
