import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { useBundleFixture } from "./support.js";

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
    const loaded = await cli(["bundle", "load", out, "--registry", f.site.host, "--insecure"]);
    expect(loaded.exitCode, loaded.stderr).toBe(0);
    expect(loaded.stdout).toMatch(/^ok {2}vllm +(pushed|present) +127\.0\.0\.1:\d+\/modelfleet-test\/vllm@sha256:/m);
    const again = await cli(["bundle", "create", "--stack", "site", "--stack-file", f.stackFile, "--out", out, "--insecure"]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain("already exists");
  });

  it("db commands: a missing URL exits 2; an unreachable database is one line without the password", async () => {
    const noUrl = await cli(["db", "dump", "--out", "/tmp/x.dump"]);
    expect(noUrl.exitCode).toBe(2);
    expect(noUrl.stderr).toContain("no database URL: pass --db-url <url> or set MODELFLEET_DB_URL");
    const down = await cli(["db", "dump", "--out", "/tmp/x.dump"], { MODELFLEET_DB_URL: "postgres://admin:s3cr3t-pw@127.0.0.1:1/registry" });
    expect(down.exitCode).toBe(1);
    expect(down.stderr.trim().split("\n")).toHaveLength(1);
    expect(down.stderr).not.toContain("s3cr3t-pw");
    const noMode = await cli(["db", "restore", "x.dump", "--db-url", "postgres://a:b@127.0.0.1:1/c"]);
    expect(noMode.exitCode).toBe(2);
    expect(noMode.stderr).toContain("required option '--mode <mode>' not specified");
  });

  it("pins resolve --dry-run reports and writes nothing", async () => {
    const f = fixture();
    const result = await cli(["pins", "resolve", "--stack", "site", "--stack-file", f.stackFile, "--insecure", "--dry-run"]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain("Every pin already matches its tag's current digest.");
  });
});
