import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { markerText, OWNERSHIP_MARKER, writeSynthFolder, type WriteStep } from "../../synth/write.js";
import { ROOT, snapshot, tempRoot } from "./support.js";

// A synth killed (SIGKILL) at any point between its steps leaves the old set or the new set complete, and the next
// synth puts things right and removes only its own leftovers.
const root = tempRoot();
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TSX = pathToFileURL(join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;
const OLD = [
  { path: "a.yaml", content: "a: old\n" },
  { path: "b.yaml", content: "b: same\n" },
  { path: "c.yaml", content: "c: dropped in the new set\n" },
];
const NEW = [
  { path: "a.yaml", content: "a: new\n" },
  { path: "b.yaml", content: "b: same\n" },
  { path: "d.yaml", content: "d: added\n" },
];

type FileSet = readonly { path: string; content: string }[];

/** What a complete folder holding `files` looks like: the files and the marker listing each with its sha256. */
function complete(files: FileSet): Record<string, string> {
  return { ...Object.fromEntries(files.map((f) => [f.path, f.content])), [OWNERSHIP_MARKER]: markerText(files) };
}

const KILL_POINTS: readonly { step: WriteStep; nth: number }[] = [
  { step: "staging-created", nth: 1 },
  { step: "file-written", nth: 1 },
  { step: "file-written", nth: 3 },
  { step: "staged", nth: 1 },
  { step: "moved-aside", nth: 1 },
  { step: "swapped", nth: 1 },
  { step: "cleaned", nth: 1 },
];

describe("a synth killed while writing", () => {
  it(
    "leaves a complete set at every step, and the next synth restores or finishes it, leaving no leftovers",
    async () => {
      const marker = JSON.parse(markerText(NEW)) as { files: Record<string, string> };
      expect(marker.files).toEqual(Object.fromEntries(NEW.map((f) => [f.path, `sha256:${createHash("sha256").update(f.content).digest("hex")}`])));
      const oldTree = complete(OLD);
      const newTree = complete(NEW);
      writeFileSync(join(root, "new.json"), JSON.stringify(NEW));

      // Given the old set in out/development beside a file and a folder synth did not write, for every kill point
      const outs = KILL_POINTS.map((_, i) => join(root, `case-${i}`, "out"));
      for (const out of outs) {
        await writeSynthFolder(join(out, "development"), OLD);
        writeFileSync(join(out, "NOTES.md"), "keep\n");
        mkdirSync(join(out, "staging"));
      }
      // When a real process writing the new set is killed at that point
      const runs = await Promise.all(
        KILL_POINTS.map(({ step, nth }, i) => execa("node", ["--import", TSX, join(import.meta.dirname, "kill-writer.ts"), join(outs[i] as string, "development"), join(root, "new.json"), step, String(nth)], { reject: false })),
      );
      for (const [i, { step, nth }] of KILL_POINTS.entries()) {
        const label = `${step} #${nth}`;
        const out = outs[i] as string;
        const run = runs[i];
        expect(run?.signal, `${label}: ${run?.stderr}`).toBe("SIGKILL");
        // Then the folder holds the old or the new set, complete; only between the two renames is it missing, and then
        // the old set is complete under synth's own moved-aside name
        const dir = join(out, "development");
        const leftovers = readdirSync(out).filter((n) => n.startsWith(".modelfleet-"));
        if (["staging-created", "file-written", "staged"].includes(step)) {
          expect(leftovers, label).toHaveLength(1);
          expect(leftovers[0], label).toMatch(/^\.modelfleet-tmp-development-\d+$/);
        }
        if (existsSync(dir)) {
          expect([oldTree, newTree], label).toContainEqual(snapshot(dir));
        } else {
          expect(step, label).toBe("moved-aside");
          const aside = readdirSync(out).filter((n) => n.startsWith(".modelfleet-old-development-"));
          expect(aside, label).toHaveLength(1);
          expect(snapshot(join(out, aside[0] as string)), label).toEqual(oldTree);
        }
        // When synth runs again, then the folder holds the new set, and nothing but its own leftovers was removed
        const again = await writeSynthFolder(dir, NEW);
        expect(again.restored, label).toBe(step === "moved-aside");
        expect(snapshot(dir), label).toEqual(newTree);
        expect(readdirSync(out).sort(), label).toEqual(["NOTES.md", "development", "staging"]);
      }
    },
    300_000,
  );
});
