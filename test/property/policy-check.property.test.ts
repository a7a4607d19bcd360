/**
 * Property 2: the policy checker (policies/check.ts) never throws on any parsed YAML value — mutated synth output,
 * arbitrary JSON documents, stack files — and reports violations whose ruleId is a known rule and whose objectRef,
 * fieldPath and message are strings (message one line, never an injected secret). Through files (`checkPaths`, what
 * `modelfleet check` runs) the only exception is PolicyInputError, also for hostile YAML (alias bombs, deep nesting).
 * Property 3: the fast YAML reader (policies/fast-yaml.ts) agrees with the yaml library on every text it takes on:
 * the same documents, values and positions, and no document the library finds an error in.
 * Replay a failure: see test/property/README.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { LineCounter, parseAllDocuments, parseDocument, stringify, type Document } from "yaml";
import { fastParseDocuments } from "../../policies/fast-yaml.js";
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
/** Made in beforeAll, not at import: a run that collects this file but filters out its tests never runs afterAll. */
let work = "";
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "modelfleet-prop-policy-"));
});
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

/** Scalars whose YAML spelling is easy to get wrong: core-schema look-alikes, indicators, quotes, comments. */
const trickyText = fc.constantFrom(
  "", " ", "null", "Null", "NULL", "~", "true", "False", "TRUE", "yes", "1", "-1", "+1", "-0", "007", "0o17", "0o8", "0x1F", "1e3", "1E-2", "-.inf", ".NaN", "1.50",
  "0.", ".5", "1_000", "a: b", "a:b", "a:", ":a", "#x", "a #b", "a#b", "- x", "-x", "-", "[a]", "{a}", "${X}", "$(X)", "'q'", '"d"', "it's", "a\\b", "é",
  "<<", "__proto__", "constructor", "toString", "*a", "&a", "!t", "|", ">", "%x", "@x", "`x", "a,b", "---", "...", "? x", ": x", "a  b", "x\ny",
);
const key = fc.oneof(trickyText, fc.string({ maxLength: 6 }));
const scalarValue = fc.oneof(trickyText, fc.string({ maxLength: 8 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const yamlValue = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof({ depthSize: "small" }, scalarValue, fc.array(tie("node"), { maxLength: 3 }), fc.dictionary(key, tie("node"), { maxKeys: 3 })),
})).node;
/** How the document is written: what generators vary (sequence indentation, quoting, flow or block). */
const writeStyle = fc.record({
  indentSeq: fc.boolean(),
  defaultStringType: fc.constantFrom("PLAIN", "QUOTE_DOUBLE", "QUOTE_SINGLE"),
  defaultKeyType: fc.constantFrom(null, "PLAIN", "QUOTE_DOUBLE"),
  collectionStyle: fc.constantFrom("any", "block", "block", "flow"),
} as const);
/** A character-level edit at a position: the malformed and unusual texts no writer produces. */
const charEdit = fc.tuple(fc.nat(), fc.constantFrom(" ", "  ", "\n", "-", "- ", ":", ": ", "#", " #", "'", '"', "&a ", "*a", "[", "]", "{", "}", ",", "|", "!", "\t", "---\n", "\\"), fc.boolean());

describe("property: the fast YAML reader agrees with the yaml library", () => {
  it("same documents, values and positions wherever it does not hand a document over", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(yamlValue, fc.boolean()), { minLength: 1, maxLength: 3 }), writeStyle, fc.array(charEdit, { maxLength: 2 }), (docs, style, edits) => {
        let text = docs
          .map(([value, comment]) => {
            // A map holding one value twice, so the writer emits anchors and aliases.
            const shared = value !== null && typeof value === "object" ? { first: value, again: value } : value;
            return `${comment ? "# Source: x.yaml\n" : ""}${stringify(shared, { ...style, lineWidth: 0, aliasDuplicateObjects: true })}`;
          })
          .join("---\n");
        for (const [at, insert, remove] of edits) {
          const i = at % (text.length + 1);
          text = remove ? text.slice(0, i) + text.slice(i + insert.length) : text.slice(0, i) + insert + text.slice(i);
        }
        const fast = fastParseDocuments(text);
        if (fast === undefined) return;
        // A document handed over whose text alone has an error sends the whole file to the library (policies/check.ts).
        if (fast.some((doc) => doc.fallback && parseDocument(text.slice(doc.start, doc.end)).errors.length > 0)) return;
        const library = parseAllDocuments(text);
        const libraryDocs: Document[] = Array.isArray(library) ? library : [];
        expect(fast.length, "document count").toBe(libraryDocs.length);
        fast.forEach((doc, i) => {
          const libraryDoc = libraryDocs[i]!;
          if (doc.fallback) return;
          expect(libraryDoc.errors.map((e) => e.message), `errors in document ${i + 1} the fast reader took`).toEqual([]);
          // node:util's comparison (prototypes, -0, NaN), not vitest's, which reads an own `constructor` key as the class.
          const expected: unknown = libraryDoc.toJS();
          expect(isDeepStrictEqual(doc.value, expected), `document ${i + 1}: ${JSON.stringify(doc.value)?.slice(0, 300)} vs ${JSON.stringify(expected)?.slice(0, 300)}`).toBe(true);
          // Its text alone (what a finding is located in) is the same document at the same lines.
          const lineCounter = new LineCounter();
          const alone = parseDocument(text.slice(doc.start, doc.end), { lineCounter });
          expect(isDeepStrictEqual(alone.toJS(), doc.value), "the document's text alone").toBe(true);
          const fileLines = new LineCounter();
          parseAllDocuments(text, { lineCounter: fileLines });
          const start = libraryDoc.contents?.range?.[0];
          const aloneStart = alone.contents?.range?.[0];
          if (start !== undefined && aloneStart !== undefined) expect(lineCounter.linePos(aloneStart).line + doc.firstLine - 1).toBe(fileLines.linePos(start).line);
        });
      }),
      propertyParams("policy/fast-yaml", 400),
    );
  });
});
