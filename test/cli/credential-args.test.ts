// A stack name that looks like a credential (pasted into the wrong flag) is refused without being echoed, by every
// command that takes one; the rejection messages of config/ would otherwise quote its first 40 characters.
import { describe, expect, it } from "vitest";
import { mapLimited, modelfleet } from "./support.js";

const SECRET = `sk-${"Zq9".repeat(12)}`;

describe("a credential-shaped stack name", () => {
  it("is refused (exit 2) and never shown, by synth, bundle create, pins resolve and promote", async () => {
    const cases = [
      { argv: ["synth", "--stack", SECRET, "--out", "dist"], flag: "--stack" },
      { argv: ["bundle", "create", "--stack", SECRET, "--out", "/tmp/modelfleet-never-created"], flag: "--stack" },
      { argv: ["pins", "resolve", "--stack", SECRET, "--dry-run"], flag: "--stack" },
      { argv: ["promote", "--from", SECRET, "--to", "production"], flag: "--from" },
    ];
    const runs = await mapLimited(cases, 2, async (c) => ({ c, run: await modelfleet(c.argv) }));
    for (const { c, run } of runs) {
      const label = c.argv.slice(0, 2).join(" ");
      expect(run.exitCode, `${label}: ${run.stderr}`).toBe(2);
      expect(run.stderr, label).toBe(
        `error: ${c.flag}: the value looks like a credential (not shown); ${c.flag} takes a stack name, a DNS label such as development, staging or production. If a secret was pasted here by mistake, rotate it: it may be in your shell history.\n`,
      );
      expect(`${run.stdout}${run.stderr}`, label).not.toContain(SECRET.slice(0, 12));
    }
  });
});
