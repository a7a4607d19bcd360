import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MANIFEST_SCHEMA, parseManifest, serializeManifest, verifyAgainstManifest, type ModelManifest } from "../../models/manifest.js";
import { useTempDirs } from "../helpers/temp-dir.js";

const tempDir = useTempDirs();

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const REVISION = "c1899de289a04d12100db370d81485cdf75e47ca";

function folder(files: Record<string, string>): { dir: string; manifest: ModelManifest } {
  const dir = tempDir("modelfleet-manifest-");
  for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
  const entries = Object.entries(files).map(([path, text]) => ({ path, bytes: Buffer.byteLength(text), sha256: sha(text) }));
  return { dir, manifest: { schema: MANIFEST_SCHEMA, repo: "Qwen/Qwen3-0.6B", revision: REVISION, files: entries } };
}

describe("model manifest", () => {
  it("serializes sorted and byte-stable, and parses back to the same manifest", () => {
    const { manifest } = folder({ "z.safetensors": "zz", "config.json": "{}" });
    const text = serializeManifest(manifest);
    expect(text).toBe(serializeManifest({ ...manifest, files: [...manifest.files].reverse() }));
    expect(JSON.parse(text).files.map((f: { path: string }) => f.path)).toEqual(["config.json", "z.safetensors"]);
    expect(serializeManifest(parseManifest(text, "m.json"))).toBe(text);
  });

  it.each([
    ["a path leaving the folder", "../etc/passwd", /files\.0\.path: must be a relative path/],
    ["an absolute path", "/etc/passwd", /files\.0\.path: must be a relative path/],
    ["a dot segment", "a/./b", /files\.0\.path: must be a relative path/],
  ])("refuses %s", (_name, path, message) => {
    const text = JSON.stringify({ schema: MANIFEST_SCHEMA, repo: "r/m", revision: REVISION, files: [{ path, bytes: 1, sha256: sha("x") }] });
    expect(() => parseManifest(text, "m.json")).toThrow(message);
  });

  it("refuses a duplicate, a listed manifest, a short revision and unknown keys, naming each", () => {
    const file = { path: "a", bytes: 1, sha256: sha("a") };
    const base = { schema: MANIFEST_SCHEMA, repo: "r/m", revision: REVISION };
    expect(() => parseManifest(JSON.stringify({ ...base, files: [file, file] }), "m.json")).toThrow("m.json: files lists a twice");
    expect(() => parseManifest(JSON.stringify({ ...base, files: [{ ...file, path: "modelfleet-manifest.json" }] }), "m.json")).toThrow("lists modelfleet-manifest.json itself");
    expect(() => parseManifest(JSON.stringify({ ...base, revision: "main", files: [file], extra: 1 }), "m.json")).toThrow(/revision: must be a 40-hex commit SHA.*Unrecognized key/);
  });

  it("verifies a folder: intact, then a changed byte, a truncated file and a missing file each named", async () => {
    const { dir, manifest } = folder({ "config.json": '{"a":1}', "model.safetensors": "weights-weights", "tokenizer.json": "tok" });
    expect(await verifyAgainstManifest(dir, manifest)).toEqual([]);
    writeFileSync(join(dir, "config.json"), '{"a":2}');
    writeFileSync(join(dir, "model.safetensors"), "weights");
    const { rmSync } = await import("node:fs");
    rmSync(join(dir, "tokenizer.json"));
    expect(await verifyAgainstManifest(dir, manifest)).toEqual([
      { path: "config.json", problem: `sha256 ${sha('{"a":2}')}, the manifest says ${sha('{"a":1}')}` },
      { path: "model.safetensors", problem: "7 bytes, the manifest says 15" },
      { path: "tokenizer.json", problem: "missing" },
    ]);
  });
});
