import { cpSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { BundleError } from "../../bundle/errors.js";
import { parseSize } from "../../cli/commands/bundle.js";
import { useTempDirs } from "../helpers/temp-dir.js";
import { useBundleFixture } from "./support.js";

const tempDir = useTempDirs();

const BIN = join(import.meta.dirname, "../../bin/modelfleet.js");
const cli = (args: string[], env: Record<string, string> = {}) => execa("node", [BIN, ...args], { reject: false, env });
const fixture = useBundleFixture();

describe("modelfleet bundle / db / pins (the CLI wiring)", () => {
  it("bundle create --json prints progress lines and a result; bundle load reports each image", async () => {
    const f = fixture();
    const out = join(f.work, "cli-bundle");
    const created = await cli(["bundle", "create", "--stack", "site", "--stack-file", f.stackFile, "--out", out, "--models-dir", f.modelsDir, "--insecure", "--json"]);
    expect(created.exitCode, created.stderr).toBe(0);
    const lines = created.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l["phase"] === "checksums" && typeof l["bytesPerSecond"] === "number")).toBe(true);
    expect(lines.at(-1)).toMatchObject({ result: { dir: out } });
    const loaded = await cli(["bundle", "load", out, "--registry", f.site.host, "--insecure", "--allow-unsigned"]);
    expect(loaded.exitCode, loaded.stderr).toBe(0);
    expect(loaded.stdout).toMatch(/^ok {2}vllm +(pushed|present) +127\.0\.0\.1:\d+\/modelfleet-test\/vllm@sha256:/m);
    expect(loaded.stdout).toMatch(/^verified: signature NOT checked$/m);
    expect(loaded.stderr).toMatch(/^WARNING: --allow-unsigned: this bundle is NOT signed/m);
    const again = await cli(["bundle", "create", "--stack", "site", "--stack-file", f.stackFile, "--out", out, "--insecure"]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain("already exists");
  });

  it("db commands: a missing URL exits 2; an unreachable database is one line without the password", async () => {
    const out = join(tempDir("modelfleet-dbcli-"), "x.dump");
    const noUrl = await cli(["db", "dump", "--out", out]);
    expect(noUrl.exitCode).toBe(2);
    expect(noUrl.stderr).toContain("no database URL: pass --db-url <url> or set MODELFLEET_DB_URL");
    const down = await cli(["db", "dump", "--out", out], { MODELFLEET_DB_URL: "postgres://admin:s3cr3t-pw@127.0.0.1:1/registry" });
    expect(down.exitCode).toBe(1);
    expect(down.stderr.trim().split("\n")).toHaveLength(1);
    expect(down.stderr).not.toContain("s3cr3t-pw");
    writeFileSync(out, "someone else's file\n");
    const exists = await cli(["db", "dump", "--out", out], { MODELFLEET_DB_URL: "postgres://admin:s3cr3t-pw@127.0.0.1:1/registry" });
    expect(exists.exitCode).toBe(2);
    expect(exists.stderr).toContain("already exists; nothing is overwritten");
    expect(readFileSync(out, "utf8")).toBe("someone else's file\n");
    const noMode = await cli(["db", "restore", "x.dump", "--db-url", "postgres://a:b@127.0.0.1:1/c"]);
    expect(noMode.exitCode).toBe(2);
    expect(noMode.stderr).toContain("required option '--db-mode <mode>' not specified");
  });

  it("pins resolve --dry-run reports and writes nothing", async () => {
    const f = fixture();
    const result = await cli(["pins", "resolve", "--stack", "site", "--stack-file", f.stackFile, "--insecure", "--dry-run"]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain("Every pin already matches its tag's current digest.");
  });
});

/** stderr of a failed command: `error: ` lines and `  - ` problem lines only; never a stack trace. */
const expectCleanFailure = (stderr: string) => {
  expect(stderr).not.toMatch(/^\s+at /m);
  for (const line of stderr.trim().split("\n")) expect(line).toMatch(/^(error: |  - )/);
};

describe("signed bundles at the CLI (#11.1)", () => {
  it("keys generate → create --sign-key --archive → verify and load with --trust-key; openssl checks the same signature", async () => {
    const f = fixture();
    const keysDir = mkdtempSync(join(f.work, "cli-keys-"));
    const prefix = join(keysDir, "release");
    const generated = await cli(["keys", "generate", "--out", prefix]);
    expect(generated.exitCode, generated.stderr).toBe(0);
    expect(generated.stdout).toMatch(/^public key: {2}.*release\.public\.pem \(key ed25519:[0-9a-f]{16}; sites check with: bundle verify --trust-key /m);
    expect(statSync(`${prefix}.private.pem`).mode & 0o777).toBe(0o600);
    const again = await cli(["keys", "generate", "--out", prefix]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toBe(`error: ${prefix}.private.pem already exists; keys are never overwritten: choose another --out prefix, or move the old pair away first`);

    const out = join(f.work, "cli-signed");
    const created = await cli(["bundle", "create", "--stack", "site", "--stack-file", f.stackFile, "--out", out, "--models-dir", f.modelsDir, "--insecure", "--archive", "--sign-key", `${prefix}.private.pem`]);
    expect(created.exitCode, created.stderr).toBe(0);
    expect((await execa("tar", ["-tf", `${out}.tar`])).stdout.split("\n")).toContain("bundle.json.sig");
    const openssl = await execa("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", `${prefix}.public.pem`, "-rawin", "-in", join(out, "bundle.json"), "-sigfile", join(out, "bundle.json.sig")], { reject: false });
    expect(openssl.stdout).toContain("Signature Verified Successfully");
    for (const target of [out, `${out}.tar`]) {
      const verified = await cli(["bundle", "verify", target, "--trust-key", `${prefix}.public.pem`]);
      expect(verified.exitCode, verified.stderr).toBe(0);
      expect(verified.stdout).toMatch(new RegExp(`^OK: .*; signed by trusted key ed25519:[0-9a-f]{16} \\(${prefix}\\.public\\.pem\\)$`));
    }
    const loaded = await cli(["bundle", "load", `${out}.tar`, "--registry", f.site.host, "--insecure", "--trust-key", `${prefix}.public.pem`]);
    expect(loaded.exitCode, loaded.stderr).toBe(0);
    expect(loaded.stdout).toMatch(/^verified: signed by trusted key ed25519:/m);

    // Trust is never implied: no --trust-key and no --allow-unsigned is a usage error, before any hashing.
    for (const command of [["verify", out], ["load", out, "--registry", f.site.host]]) {
      const bare = await cli(["bundle", ...command]);
      expect(bare.exitCode).toBe(2);
      expect(bare.stderr).toBe(`error: bundle ${command[0]}: no --trust-key given; pass --trust-key <signer.public.pem> (repeatable) to require the bundle's signature, or --allow-unsigned to accept a bundle without proof of origin`);
    }
    const wrongKey = await cli(["bundle", "verify", out, "--trust-key", `${prefix}.private.pem`]);
    expect(wrongKey.exitCode).toBe(2);
    expect(wrongKey.stderr).toMatch(/^error: --trust-key .*release\.private\.pem: this is a private key; give the \.public\.pem file \(the private key stays with whoever signs\)$/);
    expect(wrongKey.stderr).not.toContain("BEGIN");
  }, 300_000);

  it("verify's failures: exit 1, a readable list, no stack trace; sha256sum -c fails on the same copy", async () => {
    const f = fixture();
    const out = join(f.work, "cli-plain");
    expect((await cli(["bundle", "create", "--stack", "site", "--stack-file", f.stackFile, "--out", out, "--models-dir", f.modelsDir, "--insecure"])).exitCode).toBe(0);
    const schema = join(f.work, "cli-schema");
    cpSync(out, schema, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(schema, "bundle.json"), "utf8"));
    manifest.schemaVersion = 2;
    manifest.files[0].size = -1;
    writeFileSync(join(schema, "bundle.json"), JSON.stringify(manifest));
    const bad = await cli(["bundle", "verify", schema, "--allow-unsigned"]);
    expect(bad.exitCode).toBe(1);
    expectCleanFailure(bad.stderr);
    expect(bad.stderr).toContain("  - bundle.json: manifest: not a valid bundle.json: schemaVersion: ");
    expect(bad.stderr).toContain("  - bundle.json: manifest: not a valid bundle.json: files[0].size: ");
    expect(bad.stderr).not.toContain("[\n");

    const dup = join(f.work, "cli-dup");
    cpSync(out, dup, { recursive: true });
    writeFileSync(join(dup, "SHA256SUMS"), `${readFileSync(join(dup, "SHA256SUMS"), "utf8")}${"1".repeat(64)}  manifests/model-qwen3.yaml\n`);
    const sums = await execa("sha256sum", ["-c", "--quiet", "SHA256SUMS"], { cwd: dup, reject: false });
    expect(sums.exitCode).toBe(1);
    const verified = await cli(["bundle", "verify", dup, "--allow-unsigned"]);
    expect(verified.exitCode).toBe(1);
    expectCleanFailure(verified.stderr.replace(/^WARNING: .*\n/m, ""));
    expect(verified.stderr).toMatch(/^WARNING: --allow-unsigned: this bundle is NOT signed/m);
    expect(verified.stderr).toContain("  - manifests/model-qwen3.yaml: duplicate: listed twice in SHA256SUMS");
  }, 180_000);

  it("load --dry-run prints the plan and changes nothing; a missing site prerequisite exits 1", async () => {
    const f = fixture();
    const out = join(f.work, "cli-plain");
    const target = join(f.work, "cli-no-such-pvc");
    const plan = await cli(["bundle", "load", out, "--registry", f.site.host, "--insecure", "--allow-unsigned", "--dry-run", "--models-target", target]);
    expect(plan.exitCode, plan.stderr).toBe(1);
    expect(plan.stdout).toMatch(/^dry run: nothing was changed\. .* verifies; signature NOT checked$/m);
    expect(plan.stdout).toMatch(/^(would push|present {3}) {2}vllm {6}127\.0\.0\.1:\d+\/modelfleet-test\/vllm@sha256:[0-9a-f]{64}$/m);
    expect(plan.stdout).toContain(`missing: --models-target ${target} does not exist; mount the model volume there`);
    expect(existsSync(target)).toBe(false);
  }, 120_000);
});

describe("bundle create's usage checks", () => {
  it.each([
    ["4", "--split-size 4: give a unit, e.g. 4GiB; at least 1MiB"],
    ["512KiB", "--split-size 512KiB: below 1MiB; give a unit, e.g. 4GiB; at least 1MiB"],
    ["2TiB", "--split-size 2TiB: above 1TiB, the largest part size; give e.g. 4GiB"],
    ["4GB-ish", "--split-size 4GB-ish: not a size; give a unit, e.g. 4GiB; at least 1MiB, at most 1TiB"],
  ])("rejects --split-size %s", (text, message) => {
    const error = (() => {
      try {
        return parseSize(text);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).kind).toBe("input");
    expect((error as Error).message).toBe(message);
  });

  it.each([
    ["1MiB", 1024 ** 2],
    ["700M", 700 * 1024 ** 2],
    ["4GiB", 4 * 1024 ** 3],
    ["1.5g", 1.5 * 1024 ** 3],
    ["1TiB", 1024 ** 4],
  ])("accepts --split-size %s", (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it("exits 2 with one line, before any work, for --split-size 4 and for an --out whose folder is missing", async () => {
    const f = fixture();
    const base = ["bundle", "create", "--stack", "site", "--stack-file", f.stackFile, "--insecure"];
    const split = await cli([...base, "--out", join(f.work, "cli-split"), "--split-size", "4"]);
    expect(split.exitCode).toBe(2);
    expect(split.stderr).toBe("error: --split-size 4: give a unit, e.g. 4GiB; at least 1MiB");
    const missing = join(f.work, "no-such-folder");
    const out = await cli([...base, "--out", join(missing, "x")]);
    expect(out.exitCode).toBe(2);
    expect(out.stderr).toBe(`error: --out ${join(missing, "x")}: folder ${missing} does not exist; create it first (mkdir -p ${missing}) or choose another --out`);
    expect(existsSync(missing)).toBe(false);
  }, 120_000);
});
