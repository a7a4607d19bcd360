import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");

/** docs/architecture.md, "Layers": a folder may import its own rank or lower, never higher. */
const RANK: Record<string, number> = {
  secrets: 0,
  files: 0,
  config: 1,
  registry: 2,
  components: 3,
  policies: 4,
  synth: 5,
  promote: 5,
  bundle: 6,
  ops: 6,
  models: 2,
  cli: 7,
  stacks: 8,
};

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

interface Edge {
  readonly from: string;
  readonly to: string;
}

function importEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const folder of Object.keys(RANK)) {
    for (const file of sources(folder)) {
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const match of text.matchAll(/(?:from|import\()\s*"(\.{1,2}\/[^"]+)"/g)) {
        edges.push({ from: file, to: normalize(join(dirname(file), match[1]!)) });
      }
    }
  }
  return edges;
}

const top = (path: string) => relative(".", path).split("/")[0]!;

describe("layers (docs/architecture.md)", () => {
  const edges = importEdges();

  it("finds the imports it judges", () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges.some((e) => top(e.from) === "cli" && top(e.to) === "bundle")).toBe(true);
  });

  it("every relative import points to the same layer or one below", () => {
    const upward = edges
      .filter((e) => RANK[top(e.to)] !== undefined && RANK[top(e.to)]! > RANK[top(e.from)]!)
      .map((e) => `${e.from} → ${e.to}`);
    expect(upward).toEqual([]);
  });

  it("layers of the same rank do not import each other, and nothing imports the Pulumi program", () => {
    const sideways = edges
      .filter((e) => top(e.from) !== top(e.to) && RANK[top(e.to)] === RANK[top(e.from)])
      .map((e) => `${e.from} → ${e.to}`);
    expect(sideways).toEqual([]);
    expect(edges.filter((e) => top(e.to) === "stacks" && top(e.from) !== "stacks")).toEqual([]);
  });

  it("every folder the build compiles has a layer", () => {
    const include = (ts.readConfigFile(join(ROOT, "tsconfig.build.json"), ts.sys.readFile).config as { include: string[] }).include;
    expect([...include].sort()).toEqual(Object.keys(RANK).sort());
  });

  it("no source imports outside the known folders", () => {
    const unknown = edges.filter((e) => RANK[top(e.to)] === undefined).map((e) => `${e.from} → ${e.to}`);
    expect(unknown).toEqual([]);
  });
});
