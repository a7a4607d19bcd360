import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GENERATED_FILE, gatewayValidatorsSource } from "../../synth/schemas/generate.js";

const ROOT = join(import.meta.dirname, "..", "..");

describe("precompiled gateway validators (synth/schemas/gateway-validators.generated.ts)", () => {
  it("the committed file is what the generator produces from gateway-definitions.ts (run `npm run generate:schemas`)", () => {
    // Given the schemas as they are now, when they are compiled again in memory, then the committed code is identical.
    const expected = gatewayValidatorsSource();
    expect(readFileSync(GENERATED_FILE, "utf8") === expected, "gateway-validators.generated.ts is stale: run `npm run generate:schemas` and commit it").toBe(true);
  });

  it("generates the same bytes on every run", () => {
    expect(gatewayValidatorsSource()).toBe(gatewayValidatorsSource());
  });

  it("a process that validates gateway objects loads ajv's runtime helpers, not its compiler", () => {
    // Given the compiled build/ (test/setup/build.ts keeps it current), when a fresh Node process validates a valid
    // HTTPRoute and an invalid InferencePool, then it reports the problem and ajv/dist/compile was never loaded.
    const script = `
      import { createRequire } from "node:module";
      const { HTTPRoute, InferencePool } = await import(${JSON.stringify(join(ROOT, "build", "synth", "schemas", "gateway.js"))});
      new HTTPRoute({ apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", metadata: { name: "r" }, spec: { rules: [{ backendRefs: [{ name: "s", port: 80 }] }] } }).validate();
      let message = "";
      try {
        new InferencePool({ apiVersion: "inference.networking.k8s.io/v1", kind: "InferencePool", metadata: { name: "p" }, spec: {} }).validate();
      } catch (error) {
        message = error.message;
      }
      const ajv = Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes("/node_modules/ajv/")).map((p) => p.slice(p.indexOf("/node_modules/ajv/") + 14));
      process.stdout.write(JSON.stringify({ message, ajv }));
    `;
    const out = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8" })) as { message: string; ajv: string[] };
    expect(out.message).toMatch(/^InferencePool does not match its schema: \/spec must have required property 'selector'/);
    expect(out.ajv).toContain("ajv/dist/runtime/ucs2length.js");
    expect(out.ajv.filter((p) => p.startsWith("ajv/dist/compile/") || p === "ajv/dist/ajv.js" || p === "ajv/dist/core.js")).toEqual([]);
  });
});
