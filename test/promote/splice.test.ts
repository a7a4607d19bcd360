import { describe, expect, it } from "vitest";
import { parseDocument, type Document } from "yaml";
import { applyChanges } from "../../promote/apply.js";
import { detectStyle, spliceDocument } from "../../promote/splice.js";

/** Given a file and an in-place edit of its Document, the spliced text (or undefined when splicing declines). */
function splice(text: string, edit: (doc: Document) => void): string | undefined {
  const doc = parseDocument(text);
  edit(doc);
  const out = spliceDocument(text, doc);
  if (out !== undefined) expect(parseDocument(out).toJS()).toEqual(doc.toJS());
  return out;
}

const changed = (before: string, after: string) => {
  const a = before.split("\n");
  const b = after.split("\n");
  return { removed: a.filter((l) => !b.includes(l)), added: b.filter((l) => !a.includes(l)) };
};

// Deliberately unlike what the yaml writer prints: wide comment gaps, flow collections without padding, unindented
// sequences, quoted scalars, a folded scalar, blank lines.
const STYLED = `# Production.
config:
  modelfleet:environment: production    # never promoted

  modelfleet:namespace: 'llm-prod'
  modelfleet:images:
    vllm: "vllm/vllm-openai:v0.10.2@sha256:${"a".repeat(64)}"   # pinned
    llamacpp: ghcr.io/ggml-org/llama.cpp:server-cuda-b11206@sha256:${"b".repeat(64)}
  modelfleet:cors:
    allowedOrigins: [https://chat.example.com,https://ops.example.com]
  other:note: >-
    a folded
    paragraph
  modelfleet:models:
  # The main model.
  - name: qwen3-8b
    engine: vllm
    source: {huggingFace: Qwen/Qwen3-8B, revision: abc}
    replicas: 3

    vllm:
      maxModelLen: 16384   # raised in staging first
  # Going away.
  - name: old
    engine: vllm
    source:
      huggingFace: Qwen/Qwen2.5-7B-Instruct
      revision: def
`;

describe("spliceDocument keeps every untouched line byte-identical", () => {
  it("replaces a scalar in its own quoting style and keeps the comment after it", () => {
    const out = splice(STYLED, (doc) => applyChanges(doc, [{ kind: "set", path: ["modelfleet:images", "vllm"], key: "images.vllm", from: "", to: "vllm/vllm-openai:v0.11.0" }]));
    expect(changed(STYLED, out!)).toEqual({
      removed: [`    vllm: "vllm/vllm-openai:v0.10.2@sha256:${"a".repeat(64)}"   # pinned`],
      added: [`    vllm: "vllm/vllm-openai:v0.11.0"   # pinned`],
    });
  });

  it("re-prints a flow map whole, in flow style, when one of its keys changes", () => {
    const out = splice(STYLED, (doc) => doc.setIn(["config", "modelfleet:models", 0, "source", "revision"], "fff"));
    expect(changed(STYLED, out!)).toEqual({
      removed: ["    source: {huggingFace: Qwen/Qwen3-8B, revision: abc}"],
      added: ["    source: { huggingFace: Qwen/Qwen3-8B, revision: fff }"],
    });
  });

  it("adds keys at the end of a block map, at its indentation", () => {
    const out = splice(STYLED, (doc) => {
      doc.setIn(["config", "modelfleet:models", 0, "vllm", "gpuMemoryUtilization"], 0.92);
      doc.setIn(["config", "modelfleet:models", 0, "servedModelName"], "qwen3");
    });
    expect(out).toContain("      maxModelLen: 16384   # raised in staging first\n      gpuMemoryUtilization: 0.92\n    servedModelName: qwen3\n  # Going away.\n");
    expect(changed(STYLED, out!).removed).toEqual([]);
  });

  it("removes a key with its lines, and a sequence item with the comment above it", () => {
    const out = splice(STYLED, (doc) => {
      doc.deleteIn(["config", "modelfleet:models", 0, "vllm"]);
      doc.deleteIn(["config", "modelfleet:models", 1]);
    });
    expect(out).toBe(STYLED.replace("    vllm:\n      maxModelLen: 16384   # raised in staging first\n", "").replace(/  # Going away\.\n[\s\S]*$/, ""));
  });

  it("appends a sequence item in the file's (unindented) sequence style", () => {
    const out = splice(STYLED, (doc) => applyChanges(doc, [{ kind: "add-model", model: "gguf", value: { name: "gguf", engine: "llamacpp", source: { huggingFace: "Qwen/Qwen3-0.6B-GGUF", revision: "123", file: "q.gguf" }, llamacpp: { ctxSize: 8192 } } }]));
    expect(out!.endsWith("      revision: def\n  - name: gguf\n    engine: llamacpp\n    source:\n      huggingFace: Qwen/Qwen3-0.6B-GGUF\n      revision: \"123\"\n      file: q.gguf\n    llamacpp:\n      ctxSize: 8192\n")).toBe(true);
    expect(changed(STYLED, out!).removed).toEqual([]);
  });

  it("keeps CRLF line endings and a missing final newline", () => {
    const text = "config:\r\n  modelfleet:images:\r\n    vllm: a\r\n  modelfleet:models:\r\n    - name: m\r\n      gpus: 1";
    const out = splice(text, (doc) => {
      doc.setIn(["config", "modelfleet:images", "vllm"], "b");
      doc.setIn(["config", "modelfleet:models", 0, "sizeBillions"], 8);
    });
    expect(out).toBe("config:\r\n  modelfleet:images:\r\n    vllm: b\r\n  modelfleet:models:\r\n    - name: m\r\n      gpus: 1\r\n      sizeBillions: 8\r\n");
  });

  it("re-prints a whole sequence item when the key sharing the dash's line changes", () => {
    expect(splice("config:\n  m:\n    - name: a\n      x: 1\n", (doc) => doc.deleteIn(["config", "m", 0, "name"]))).toBe("config:\n  m:\n    - x: 1\n");
  });

  it("splices a document whose root is a sequence", () => {
    const doc = parseDocument("- a\n");
    doc.setIn([0], "b");
    expect(spliceDocument("- a\n", doc)).toBe("- b\n");
  });
});

describe("detectStyle", () => {
  it.each([
    ["config:\n  k:\n    - a\n", { indent: 2, indentSeq: true, newline: "\n" }],
    ["config:\n    k:\n    - a\n", { indent: 4, indentSeq: false, newline: "\n" }],
    ["config:\r\n  k: 1\r\n", { indent: 2, indentSeq: true, newline: "\r\n" }],
  ] as const)("%j", (text, style) => {
    expect(detectStyle(text)).toEqual(style);
  });
});
