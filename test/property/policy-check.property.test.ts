/**
 * Property 2: the policy checker (policies/check.ts) never throws on any parsed YAML value — mutated synth output,
 * arbitrary JSON documents, stack files — and reports violations whose ruleId is a known rule and whose objectRef,
 * fieldPath and message are strings (message one line, never an injected secret). Through files (`checkPaths`, what
 * `modelfleet check` runs) the only exception is PolicyInputError, also for hostile YAML (alias bombs, deep nesting).
 * Replay a failure: see test/property/README.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { checkObjects, checkPaths, isPolicyInputError, type CheckedViolation } from "../../policies/check.js";
import { yamlDocumentObject } from "../../policies/documents.js";
import { RULE_IDS, type Violation } from "../../policies/types.js";
import { loadStackFile } from "../../config/load.js";
import { ENVIRONMENTS } from "../../config/environments.js";
import { extraGroups } from "../../synth/groups.js";
import { synthesizeStack } from "../../synth/synthesize.js";
import { applyMutations, leakedSecrets, mutation, ROOT, STACKS, stackTextCase, textEdit, toYaml, type TextEdit } from "./arbitraries.js";
import { propertyParams } from "./params.js";

/** Generous: the machine is a busy 2-core box; a quadratic blow-up or a hang still exceeds it. */
const MAX_MS = 15_000;
let synthesized: Record<string, readonly K8sObject[]> = {};
const work = mkdtempSync(join(tmpdir(), "modelfleet-prop-policy-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(() => {
  synthesized = Object.fromEntries(
    STACKS.map((stack) => {
      const config = loadStackFile(join(ROOT, `Pulumi.${stack}.yaml`));
      return [stack, synthesizeStack(config, extraGroups(config)).objects];
    }),
  );
});

/** The synth output of one shipped stack, each object possibly mutated, plus arbitrary extra documents. */
const objectsCase = fc.record({
  stack: fc.constantFrom(...STACKS),
  environment: fc.constantFrom(...ENVIRONMENTS),
  mutations: fc.array(fc.tuple(fc.nat(), fc.array(mutation(), { minLength: 1, maxLength: 4 })), { maxLength: 5 }),
  extra: fc.array(fc.jsonValue({ maxDepth: 4 }), { maxLength: 3 }),
});

function build({ stack, mutations, extra }: { stack: string; mutations: [number, Parameters<typeof applyMutations>[1]][]; extra: unknown[] }): unknown[] {
  const objects: unknown[] = structuredClone([...(synthesized[stack] ?? [])]);
  for (const [index, edits] of mutations) {
    const i = index % objects.length;
    objects[i] = applyMutations({ object: objects[i] }, edits)["object"];
  }
  return [...objects, ...extra];
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** What the YAML loader hands the rules: Kubernetes-shaped documents as objects, other maps as YamlDocument. */
function asLoaded(values: readonly unknown[]): K8sObject[] {
  return values.flatMap((value, i): K8sObject[] => {
    if (isRecord(value) && typeof value["apiVersion"] === "string" && typeof value["kind"] === "string" && isRecord(value["metadata"] ?? {})) {
      const metadata = (value["metadata"] ?? {}) as Record<string, unknown>;
      return [{ ...value, metadata: typeof metadata["name"] === "string" ? metadata : { ...metadata, name: "(unnamed)" } } as K8sObject];
    }
    return isRecord(value) ? [yamlDocumentObject(`doc#${i}`, value)] : [];
  });
}

function expectViolation(v: Pick<Violation | CheckedViolation, "ruleId" | "objectRef" | "fieldPath" | "message">): void {
  expect(RULE_IDS).toContain(v.ruleId);
  expect(typeof v.objectRef).toBe("string");
  expect(typeof v.fieldPath).toBe("string");
  expect(typeof v.message).toBe("string");
  expect(v.message, "a violation message on one line").not.toContain("\n");
  expect(leakedSecrets(v.message).length === 0 ? undefined : v.message.slice(0, 300), "a violation message echoing an injected secret").toBeUndefined();
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.constructor.name}: ${error.message.split("\n")[0]?.slice(0, 200)}` : String(error).slice(0, 200);
}

describe("property: the policy checker never throws and reports well-formed violations", () => {
  it("checkObjects on mutated synth output and arbitrary documents, in every environment", () => {
    fc.assert(
      fc.property(objectsCase, (input) => {
        const objects = asLoaded(build(input));
        let violations: Violation[] = [];
        const start = performance.now();
        try {
          violations = checkObjects(objects, input.environment);
        } catch (error) {
          expect.fail(`checkObjects threw ${describeError(error)}`);
        }
        expect(performance.now() - start).toBeLessThan(MAX_MS);
        violations.forEach(expectViolation);
      }),
      propertyParams("policy/objects", 150),
    );
  });

  let caseNo = 0;
  it("checkPaths over files: a report or a PolicyInputError, also for hostile YAML and stack files", async () => {
    await fc.assert(
      fc.asyncProperty(objectsCase, fc.array(textEdit, { maxLength: 1 }), stackTextCase, async (input, edits, stackCase) => {
        const dir = join(work, `case-${caseNo++}`);
        mkdirSync(dir, { recursive: true });
        try {
          const text = build(input).map((o) => toYaml(o)).join("---\n");
          // The stack-file text edits apply to any YAML: prepend `config:` so the alias and nesting edits land.
          const hostile = edits.reduce((t: string, edit: TextEdit) => edit(t), "config:\n  x: 1\n");
          writeFileSync(join(dir, "objects.yaml"), text);
          writeFileSync(join(dir, "hostile.yaml"), hostile);
          writeFileSync(join(dir, `Pulumi.${stackCase.stack}.yaml`), stackCase.text);
          const start = performance.now();
          let violations: readonly CheckedViolation[] = [];
          try {
            violations = (await checkPaths([dir], { environment: input.environment })).violations;
          } catch (error) {
            if (!isPolicyInputError(error)) expect.fail(`checkPaths threw ${describeError(error)}`);
            expect(error.message, "a PolicyInputError on one line").not.toContain("\n");
            expect(leakedSecrets(error.message).length === 0 ? undefined : error.message.slice(0, 300), "a PolicyInputError echoing an injected secret").toBeUndefined();
          }
          expect(performance.now() - start).toBeLessThan(MAX_MS);
          for (const v of violations) {
            expectViolation(v);
            expect(Number.isInteger(v.line) && v.line >= 1, `line ${v.line}`).toBe(true);
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      propertyParams("policy/files", 80),
    );
  });
});
