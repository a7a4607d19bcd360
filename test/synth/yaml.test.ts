import fc from "fast-check";
import { parse, parseAllDocuments, stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { emitYaml } from "../../synth/yaml.js";

/** Strings that stress the emitter: YAML indicators, look-alikes of other types, line breaks, odd characters. */
const tricky = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: fc.constantFrom("a", " ", "-", ":", "#", "'", '"', "\n", "\t", "\\", "|", ">", "{", "}", "[", "]", ",", "&", "*", "!", "%", "@", "`", "?", "~", ".", "0", "1", "e", "x", "\r", "\u0085", "\u2028", "\u00a0", "\ufeff", "\u007f") }),
  fc.constantFrom("", "yes", "No", "ON", "off", "y", "N", "true", "False", "null", "NULL", "~", "<<", "=", "0", "-1", "0755", "0x1F", "0o17", "1_000", "1:20", "1.5e3", ".inf", "-.Inf", ".nan", "2001-12-14", "1.2.3", "0.0.0.0", "--flag", "- x", "---", "...", "a: b", "a #b", "a:", " lead", "trail ", "\n", "a\n", "a\n\n", "a\nb", "\tx", "x\n  y\n", "line\n\n  indented\n"),
);
const key = fc.oneof(fc.string({ maxLength: 20 }), tricky.filter((s) => s.length <= 200));
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: "small" }, tie("scalar"), tie("array"), tie("object")),
  scalar: fc.oneof(tricky, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)),
  array: fc.array(tie("node"), { maxLength: 5 }),
  object: fc.dictionary(key, tie("node"), { maxKeys: 5 }),
})).node;

/** What a JSON round trip gives: the value synth means to write. */
const asJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe("emitYaml", () => {
  it("writes YAML that parses back to the same value, for arbitrary JSON-like values", () => {
    fc.assert(
      fc.property(value, (v) => {
        const text = emitYaml(v);
        expect(parse(text, { version: "1.2" })).toEqual(asJson(v));
        // And as a YAML 1.1 reader (kubectl's go-yaml) would read it: no string turns into a bool, number or date.
        expect(parse(text, { version: "1.1" })).toEqual(asJson(v));
        expect(emitYaml(v)).toBe(text);
      }),
      { numRuns: 3000 },
    );
  });

  it("keeps multi-document files separate and whole", () => {
    fc.assert(
      fc.property(fc.array(fc.dictionary(key, value, { minKeys: 1, maxKeys: 4 }), { minLength: 1, maxLength: 4 }), (docs) => {
        const text = docs.map((d) => `---\n${emitYaml(d)}`).join("");
        expect(parseAllDocuments(text).map((d) => d.toJS())).toEqual(docs.map(asJson));
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ["a plain name", { name: "qwen3-8b" }, "name: qwen3-8b\n"],
    ["a number-like string, quoted", { port: "8000" }, 'port: "8000"\n'],
    ["a YAML 1.1 boolean word, quoted", { a: "yes" }, 'a: "yes"\n'],
    ["a string holding double quotes, single-quoted", { o: '["https://x"]' }, "o: '[\"https://x\"]'\n"],
    ["a script, as a literal block", { s: "set -eu\necho hi\n" }, "s: |\n  set -eu\n  echo hi\n"],
    ["no final newline", { s: "a\nb" }, "s: |-\n  a\n  b\n"],
    ["sequences indented under their key", { args: ["--port", "8000"] }, 'args:\n  - --port\n  - "8000"\n'],
    ["maps in sequences", { env: [{ name: "A", value: "1" }] }, 'env:\n  - name: A\n    value: "1"\n'],
    ["empty collections", { a: {}, b: [] }, "a: {}\nb: []\n"],
  ])("writes %s as a hand-written chart would", (_, input, expected) => {
    expect(emitYaml(input)).toBe(expected);
  });

  it("writes what the yaml library wrote for synth's objects, byte for byte, where both are plain", () => {
    const obj = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", labels: { "app.kubernetes.io/name": "x" } }, data: { "health.sh": "#!/bin/sh\nset -eu\n", num: "16384", j: '["a"]' } };
    expect(emitYaml(obj)).toBe(stringify(obj, { lineWidth: 0, minContentWidth: 0 }));
  });

  it("rejects what JSON cannot carry, saying what it got", () => {
    expect(() => emitYaml({ a: Number.POSITIVE_INFINITY })).toThrow("cannot write Infinity as YAML: JSON has no non-finite numbers");
    expect(() => emitYaml({ a: new Date(0) })).toThrow("cannot write [object Date] as YAML: only plain objects, arrays and scalars");
  });
});
