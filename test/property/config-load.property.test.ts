/**
 * Property 1: the config loader (config/load.ts) either returns a StackConfig or throws its ConfigError —
 * never another exception — for any mutation of the shipped stack files, any hostile YAML text and any Pulumi
 * config map; its message never contains an injected secret, stays short, and it answers quickly.
 * Replay a failure: see test/property/README.md (seed and path are printed by fast-check).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { loadStackFile, parseStackConfig, readStackValues, valuesFromPulumiConfig } from "../../config/load.js";
import { ConfigError } from "../../config/problems.js";
import type { StackConfig } from "../../config/types.js";
import { leakedSecrets, SECRET_MARKER, stackTextCase, stackValuesCase } from "./arbitraries.js";
import { propertyParams } from "./params.js";

/** A ConfigError message line longer than this did not truncate a received value. */
const MAX_LINE = 2_000;
/** Parsing one stack config takes milliseconds; allow for a very busy 2-core machine, not for a quadratic blow-up. */
const MAX_MS = 10_000;

const work = mkdtempSync(join(tmpdir(), "modelfleet-prop-config-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Outcome = { kind: "config"; config: StackConfig } | { kind: "error"; error: ConfigError } | { kind: "other"; error: unknown };

function attempt(fn: () => StackConfig): Outcome & { ms: number } {
  const start = performance.now();
  try {
    const config = fn();
    return { kind: "config", config, ms: performance.now() - start };
  } catch (error) {
    const ms = performance.now() - start;
    return error instanceof ConfigError ? { kind: "error", error, ms } : { kind: "other", error, ms };
  }
}

function describeOther(error: unknown): string {
  return error instanceof Error ? `${error.constructor.name}: ${error.message.split("\n")[0]?.slice(0, 200)}` : String(error).slice(0, 200);
}

/** The loader's contract, asserted on one outcome. */
function expectContract(outcome: Outcome & { ms: number }): void {
  if (outcome.kind === "other") expect.fail(`threw ${describeOther(outcome.error)} instead of a ConfigError`);
  expect(outcome.ms, "parse time (ms)").toBeLessThan(MAX_MS);
  if (outcome.kind === "error") {
    const message = outcome.error.message;
    const leak = message.split("\n").find((line) => leakedSecrets(line).length > 0);
    expect(leak?.slice(0, 300), "a ConfigError line echoing an injected secret").toBeUndefined();
    const long = message.split("\n").find((line) => line.length > MAX_LINE);
    expect(long?.slice(0, 120), `a message line over ${MAX_LINE} characters`).toBeUndefined();
    expect(outcome.error.problems.length).toBeGreaterThan(0);
  } else {
    // Injected secrets sit in secret keys (read as "present", never as values) or make the config invalid.
    expect(leakedSecrets(JSON.stringify(outcome.config)), "secret in the parsed StackConfig").toEqual([]);
  }
}

describe("property: config loader returns a config or throws ConfigError, never echoing a secret", () => {
  it("parseStackConfig on mutated modelfleet: maps", () => {
    fc.assert(
      fc.property(stackValuesCase, ({ stack, values }) => {
        expectContract(attempt(() => parseStackConfig(values, `Pulumi.${stack}.yaml`, stack)));
      }),
      propertyParams("config/values", 250),
    );
  });

  it("readStackValues + parseStackConfig (and loadStackFile) on mutated and hostile YAML text", () => {
    fc.assert(
      fc.property(stackTextCase, fc.boolean(), ({ stack, text }, viaFile) => {
        const file = `Pulumi.${stack}.yaml`;
        if (viaFile) {
          const dir = mkdtempSync(join(work, "case-"));
          writeFileSync(join(dir, file), text);
          try {
            expectContract(attempt(() => loadStackFile(join(dir, file))));
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        } else {
          expectContract(attempt(() => parseStackConfig(readStackValues(text, file), file, stack)));
        }
      }),
      propertyParams("config/yaml", 200),
    );
  });

  it("valuesFromPulumiConfig + parseStackConfig on the language host's string map", () => {
    fc.assert(
      fc.property(stackValuesCase, fc.boolean(), ({ stack, values }, markAll) => {
        const all: Record<string, string> = {};
        for (const [key, value] of Object.entries(values)) {
          let text: string;
          try {
            text = typeof value === "string" ? value : (JSON.stringify(value) ?? "null");
          } catch {
            text = `${"[".repeat(5_000)}${"]".repeat(5_000)}`; // too deep for JSON.stringify: hand over deep JSON text
          }
          all[`modelfleet:${key}`] = text;
        }
        // Declared secret keys are always marked secret by Pulumi; sometimes every key is (`pulumi config set --secret`).
        const secretKeys = new Set(["modelfleet:hfToken", "modelfleet:apiKey"]);
        const marked = (key: string): boolean => secretKeys.has(key) || (key === "modelfleet:registry" && all[key]?.includes(SECRET_MARKER) === true) || markAll;
        expectContract(attempt(() => parseStackConfig(valuesFromPulumiConfig(all, marked), "Pulumi.yaml", stack)));
      }),
      propertyParams("config/pulumi", 150),
    );
  });
});
