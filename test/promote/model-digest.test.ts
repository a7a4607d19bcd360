/**
 * Issue #14: a model pinned by digest (`source.oci`) is promoted like an image pin — the reviewed diff carries the
 * digest, and the promoted production stack loads it from the artifact.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { rmSync } from "node:fs";
import { loadStackFile } from "../../config/load.js";
import { promote } from "../../promote/promote.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "promote");
const ARTIFACT = `registry.example/models/qwen3-8b@sha256:${"c".repeat(64)}`;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("promote carries a model's OCI digest", () => {
  it("the diff names source.oci, --write puts it into production, and production then fetches from the artifact", async () => {
    const dir = mkdtempSync(join(tmpdir(), "modelfleet-promote-oci-"));
    dirs.push(dir);
    copyFileSync(join(FIXTURES, "Pulumi.production.yaml"), join(dir, "Pulumi.production.yaml"));
    const staging = readFileSync(join(FIXTURES, "Pulumi.staging.yaml"), "utf8");
    // qwen3-8b's source in staging gains the artifact pin of the same revision.
    const withOci = staging.replace(/(huggingFace: Qwen\/Qwen3-8B\n(\s+)revision: ([0-9a-f]{40})\n)/, `$1$2oci: ${ARTIFACT}\n`);
    expect(withOci).not.toBe(staging);
    writeFileSync(join(dir, "Pulumi.staging.yaml"), withOci);

    const result = await promote({ from: "staging", to: "production", dir, write: true });
    const change = result.changes.find((c) => c.kind === "set" && c.model === "qwen3-8b" && c.key === "source");
    expect(change).toBeDefined();
    expect(JSON.stringify(change)).toContain(ARTIFACT);
    const production = readFileSync(join(dir, "Pulumi.production.yaml"), "utf8");
    expect(production).toContain(`oci: ${ARTIFACT}`);
    const loaded = loadStackFile(join(dir, "Pulumi.production.yaml"), "production");
    const model = loaded.models.find((m) => m.name === "qwen3-8b");
    expect(model?.delivery).toMatchObject({ kind: "store", from: "oci", oci: { reference: ARTIFACT } });
  });
});
