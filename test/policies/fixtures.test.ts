import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkPaths } from "../../policies/check.js";
import { RULE_IDS, type RuleId } from "../../policies/types.js";
import { isEnvironment, type Environment } from "../../config/environments.js";

/**
 * Table-driven over test/fixtures/policies/<rule>/{pass,fail}/*.yaml: one case per file, so adding a fixture adds a
 * case. A fixture states what it expects in header comments:
 *   # env: development            (default: production)
 *   # expect: <field path>        (one line per violation of <rule> the fixture must produce; fail fixtures only)
 * Only the rule named by the folder is asserted; a fixture may trip other rules (a minimal object often does).
 */
const ROOT = join(import.meta.dirname, "../fixtures/policies");

interface Case {
  readonly rule: RuleId;
  readonly file: string;
  readonly name: string;
  readonly environment: Environment;
  readonly expected: string[];
}

function cases(outcome: "pass" | "fail"): Case[] {
  return RULE_IDS.flatMap((rule) => {
    const dir = join(ROOT, rule, outcome);
    return readdirSync(dir)
      .filter((name) => name.endsWith(".yaml"))
      .sort()
      .map((name) => {
        const text = readFileSync(join(dir, name), "utf8");
        const env = /^# env: (\S+)$/m.exec(text)?.[1] ?? "production";
        if (!isEnvironment(env)) throw new Error(`${name}: # env: ${env} is not an environment`);
        const expected = [...text.matchAll(/^# expect: (\S+)$/gm)].map((m) => m[1]!).sort();
        return { rule, file: join(dir, name), name: `${rule}/${outcome}/${name}`, environment: env, expected };
      });
  });
}

async function unwaivedFieldPaths(c: Case): Promise<string[]> {
  const report = await checkPaths([c.file], { environment: c.environment });
  return report.violations.filter((v) => v.ruleId === c.rule && !v.waived).map((v) => v.fieldPath).sort();
}

describe("policy fixtures", () => {
  it("has pass and fail fixtures for every rule", () => {
    for (const rule of RULE_IDS) {
      expect(cases("pass").filter((c) => c.rule === rule).length, `${rule} pass fixtures`).toBeGreaterThan(0);
      expect(cases("fail").filter((c) => c.rule === rule).length, `${rule} fail fixtures`).toBeGreaterThan(0);
    }
  });

  it.each(cases("fail").map((c) => [c.name, c] as const))("rejects %s", async (_name, c) => {
    expect(c.expected.length, "a fail fixture needs # expect: lines").toBeGreaterThan(0);
    expect(await unwaivedFieldPaths(c)).toEqual(c.expected);
  });

  it.each(cases("pass").map((c) => [c.name, c] as const))("accepts %s", async (_name, c) => {
    expect(c.expected).toEqual([]);
    expect(await unwaivedFieldPaths(c)).toEqual([]);
  });
});
