import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SynthError } from "../../synth/errors.js";
import { runSynth } from "../../synth/run.js";
import { OWNERSHIP_MARKER, writeSynthFolder } from "../../synth/write.js";
import { cli, makeProject, snapshot, tempRoot } from "./support.js";

// Issue #16: synth deletes only what it wrote. CLI cases run a real process; the rest call runSynth directly.
const root = tempRoot();
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A CLI run on a machine shared with other jobs: starting node can take a while. */
const CLI_TIMEOUT = 240_000;

function synthError(promise: Promise<unknown>): Promise<SynthError> {
  return promise.then(
    () => {
      throw new Error("expected a SynthError, but synth succeeded");
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(SynthError);
      return error as SynthError;
    },
  );
}

/** Changes what synth produces for the development stack (a different max model length for qwen3-small). */
function editStackFile(proj: string): void {
  const file = join(proj, "Pulumi.development.yaml");
  writeFileSync(file, readFileSync(file, "utf8").replace("maxModelLen: 8192", "maxModelLen: 4096"));
}

describe("reproducers of #16, through the CLI", () => {
  it(
    "`synth --stack ..` and `--stack ../../victim` exit 2 in one line before touching the disk",
    async () => {
      // Given a project, and a file outside it that `--stack ../../victim` used to reach from dist/
      const proj = makeProject(root);
      const victim = join(proj, "..", "victim");
      mkdirSync(victim);
      writeFileSync(join(victim, "keep.txt"), "mine\n");
      const before = snapshot(join(proj, ".."));
      // When
      const [dotdot, escape] = await Promise.all([
        cli(["synth", "--stack", ".."], { cwd: proj }),
        cli(["synth", "--stack", "../../victim"], { cwd: proj }),
      ]);
      // Then nothing at all changed: no dist/, src/main.ts and README.md in place, the victim intact
      for (const [result, value] of [[dotdot, ".."], [escape, "../../victim"]] as const) {
        expect(result.exitCode).toBe(2);
        expect(result.stderr.trim().split("\n")).toEqual([`error: --stack: stack name ${JSON.stringify(value)} looks like a path; a stack name is a DNS label (lowercase letters, digits and "-", at most 63 characters), never a path, e.g. development, staging, production`]);
        expect(result.stdout).toBe("");
      }
      expect(snapshot(join(proj, ".."))).toEqual(before);
    },
    CLI_TIMEOUT,
  );

  it(
    "--out at the working directory, under /proc or at a file exits 2 in one line (no spin, no raw Node error)",
    async () => {
      const proj = makeProject(root);
      const before = snapshot(proj);
      const cases = [
        { out: ".", why: "is the working directory itself" },
        { out: "/proc/x", why: "is under /proc, a kernel file system" },
        { out: "README.md", why: "is a file, not a folder" },
      ];
      const results = await Promise.all(cases.map((c) => cli(["synth", "--stack", "development", "--out", c.out], { cwd: proj, timeout: CLI_TIMEOUT - 10_000 })));
      results.forEach((result, i) => {
        const { out, why } = cases[i] as (typeof cases)[number];
        expect(result.timedOut, out).toBe(false);
        expect(result.exitCode, out).toBe(2);
        expect(result.stderr.trim().split("\n"), out).toEqual([`error: --out ${JSON.stringify(out)}: ${why}; pass a folder of its own, e.g. --out ./dist or a new folder outside the project`]);
      });
      expect(snapshot(proj)).toEqual(before);
    },
    CLI_TIMEOUT,
  );

  it(
    "a file synth did not write (gitops/development/sealed-api-key.yaml) is kept and named, exit 1; --prune deletes it and says so",
    async () => {
      // Given earlier output in gitops/ and an operator's SealedSecret next to it
      const proj = makeProject(root);
      await runSynth({ stack: "development", cwd: proj, outDir: "gitops" });
      const sealed = join(proj, "gitops", "development", "sealed-api-key.yaml");
      writeFileSync(sealed, "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n");
      editStackFile(proj);
      const before = snapshot(join(proj, "gitops"));
      // When synth runs again without --prune, then it refuses naming the file, and writes nothing
      const refused = await cli(["synth", "--stack", "development", "--out", "gitops"], { cwd: proj });
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain(`${join(proj, "gitops", "development")} holds 1 file synth did not write (sealed-api-key.yaml); nothing was written.`);
      expect(refused.stderr).toContain("or pass --prune to delete them");
      expect(refused.stderr).not.toContain("    at ");
      expect(refused.stderr.trim().split("\n")).toHaveLength(1);
      expect(snapshot(join(proj, "gitops"))).toEqual(before);
      // When synth runs with --prune, then the file is gone, the new output is in place and the summary says so
      const pruned = await cli(["synth", "--stack", "development", "--out", "gitops", "--prune"], { cwd: proj });
      expect(pruned.exitCode).toBe(0);
      expect(pruned.stdout).toContain("--prune deleted 1 entry synth did not write: sealed-api-key.yaml");
      expect(existsSync(sealed)).toBe(false);
      expect(readFileSync(join(proj, "gitops", "development", "model-qwen3-small.yaml"), "utf8")).toContain("4096");
      expect(readdirSync(join(proj, "gitops"))).toEqual(["development"]);
    },
    CLI_TIMEOUT,
  );

  it(
    "synth and start --help document --prune and the ownership marker",
    async () => {
      const results = await Promise.all(["synth", "start"].map((command) => cli([command, "--help"])));
      for (const result of results) {
        expect(result.exitCode).toBe(0);
        expect(result.stdout).toMatch(/--prune\s+delete files in <dir>\/\S+\/ that synth did not write/);
        expect(result.stdout).toContain(`in ${OWNERSHIP_MARKER} there`);
        expect(result.stdout).toContain("refuses, naming them and writing");
      }
    },
    CLI_TIMEOUT,
  );
});

describe("stack names and output folders are checked before anything else", () => {
  it.each([
    { stack: "..", message: 'stack name ".." looks like a path' },
    { stack: "a/b", message: 'stack name "a/b" looks like a path' },
    { stack: "Prod", message: 'stack name "Prod" is not a DNS label' },
    { stack: "x".repeat(64), message: "is longer than 63 characters" },
  ])("rejects --stack $stack (usage error)", async ({ stack, message }) => {
    const proj = makeProject(root);
    const before = snapshot(proj);
    const error = await synthError(runSynth({ stack, cwd: proj }));
    expect(error.kind).toBe("usage");
    expect(error.message).toContain(message);
    expect(snapshot(proj)).toEqual(before);
  });

  it("rejects a bad stack name that came with --config-file", async () => {
    const proj = makeProject(root);
    const error = await synthError(runSynth({ stack: "../x", configFile: "Pulumi.development.yaml", cwd: proj }));
    expect(error.kind).toBe("usage");
    expect(error.message).toContain('stack name "../x" looks like a path');
    expect(existsSync(join(proj, "dist"))).toBe(false);
  });

  it.each([
    { out: ".", why: "is the working directory itself" },
    { out: "..", why: "is a parent of the working directory" },
    { out: "/", why: "is the file system root" },
    { out: homedir(), why: "is your home folder" },
    { out: "/sys/x", why: "is under /sys, a kernel file system" },
    { out: "README.md", why: "is a file, not a folder" },
    { out: "link-out", why: "leads through a symlink to" },
  ])("rejects --out $out (usage error), writing nothing", async ({ out, why }) => {
    const proj = makeProject(root);
    mkdirSync(join(proj, "..", "elsewhere"));
    symlinkSync(join(proj, "..", "elsewhere"), join(proj, "link-out"));
    const before = snapshot(join(proj, ".."));
    const error = await synthError(runSynth({ stack: "development", cwd: proj, outDir: out }));
    expect(error.kind).toBe("usage");
    expect(error.message).toContain(`--out ${JSON.stringify(out)}: ${why}`);
    expect(snapshot(join(proj, ".."))).toEqual(before);
  });
});

describe("synth replaces only what it wrote", () => {
  it("a file changed by hand is refused and named; --prune overwrites it", async () => {
    const proj = makeProject(root);
    await runSynth({ stack: "development", cwd: proj });
    const file = join(proj, "dist", "development", "namespace.yaml");
    writeFileSync(file, `${readFileSync(file, "utf8")}# hotfix\n`);
    const before = snapshot(join(proj, "dist"));
    const error = await synthError(runSynth({ stack: "development", cwd: proj }));
    expect(error.kind).toBe("ownership");
    expect(error.message).toContain("holds 1 file changed by hand since synth wrote it (namespace.yaml); nothing was written.");
    expect(error.message).toContain("pass --prune to delete them and overwrite the changed ones");
    expect(snapshot(join(proj, "dist"))).toEqual(before);
    const summary = await runSynth({ stack: "development", cwd: proj, prune: true });
    expect(summary.edited).toEqual(["namespace.yaml"]);
    expect(summary.pruned).toEqual([]);
    expect(readFileSync(file, "utf8")).not.toContain("# hotfix");
  });

  it("a folder with files but no marker is refused (an older synth's output needs --prune once); an empty one is fine", async () => {
    const proj = makeProject(root);
    mkdirSync(join(proj, "dist", "development"), { recursive: true });
    await runSynth({ stack: "development", cwd: proj });
    rmSync(join(proj, "dist", "development", OWNERSHIP_MARKER));
    const error = await synthError(runSynth({ stack: "development", cwd: proj }));
    expect(error.kind).toBe("ownership");
    expect(error.message).toMatch(/development is not empty and has no \.modelfleet-synth\.json, so synth cannot tell its files from yours \(argocd-application\.yaml, kustomization\.yaml, .*\); nothing was written/);
    await runSynth({ stack: "development", cwd: proj, prune: true });
    expect(existsSync(join(proj, "dist", "development", OWNERSHIP_MARKER))).toBe(true);
  });

  it("a marker synth did not write is refused", async () => {
    const proj = makeProject(root);
    await runSynth({ stack: "development", cwd: proj });
    writeFileSync(join(proj, "dist", "development", OWNERSHIP_MARKER), '{"files": {"namespace.yaml": "x"}}\n');
    const error = await synthError(runSynth({ stack: "development", cwd: proj }));
    expect(error.message).toContain("has a .modelfleet-synth.json synth did not write (unreadable or changed)");
  });

  it("folders and symlinks inside the output folder are foreign too", async () => {
    const proj = makeProject(root);
    await runSynth({ stack: "development", cwd: proj });
    const dir = join(proj, "dist", "development");
    mkdirSync(join(dir, "secrets", "empty"), { recursive: true });
    writeFileSync(join(dir, "secrets", "sealed.yaml"), "kind: SealedSecret\n");
    symlinkSync("/etc/hostname", join(dir, "link.yaml"));
    const error = await synthError(runSynth({ stack: "development", cwd: proj }));
    expect(error.message).toContain("holds 3 files synth did not write (link.yaml, secrets/empty/, secrets/sealed.yaml)");
    const summary = await runSynth({ stack: "development", cwd: proj, prune: true });
    expect(summary.pruned).toEqual(["link.yaml", "secrets/empty/", "secrets/sealed.yaml"]);
    expect(readdirSync(dir).sort()).toEqual([OWNERSHIP_MARKER, ...summary.result.files.map((f) => f.path)].sort());
    expect(existsSync("/etc/hostname")).toBe(true);
  });

  it("a file no longer produced is removed, and the rest of --out is never touched", async () => {
    const proj = makeProject(root);
    mkdirSync(join(proj, "gitops", "staging"), { recursive: true });
    writeFileSync(join(proj, "gitops", "staging", "app.yaml"), "kind: ConfigMap\n");
    writeFileSync(join(proj, "gitops", "NOTES.md"), "notes\n");
    await runSynth({ stack: "development", cwd: proj, outDir: "gitops" });
    expect(readdirSync(join(proj, "gitops", "development"))).toContain("model-qwen25-gguf.yaml");
    const stackFile = join(proj, "Pulumi.development.yaml");
    const text = readFileSync(stackFile, "utf8");
    writeFileSync(stackFile, text.slice(0, text.indexOf("    - name: qwen25-gguf")));
    await runSynth({ stack: "development", cwd: proj, outDir: "gitops" });
    expect(readdirSync(join(proj, "gitops", "development"))).not.toContain("model-qwen25-gguf.yaml");
    const marker = JSON.parse(readFileSync(join(proj, "gitops", "development", OWNERSHIP_MARKER), "utf8")) as { files: Record<string, string> };
    expect(Object.keys(marker.files)).not.toContain("model-qwen25-gguf.yaml");
    expect(readdirSync(join(proj, "gitops")).sort()).toEqual(["NOTES.md", "development", "staging"]);
    expect(readFileSync(join(proj, "gitops", "staging", "app.yaml"), "utf8")).toBe("kind: ConfigMap\n");
  });

  it("the output folder being a file or a symlink is refused", async () => {
    const proj = makeProject(root);
    mkdirSync(join(proj, "dist"));
    writeFileSync(join(proj, "dist", "development"), "a file\n");
    expect((await synthError(runSynth({ stack: "development", cwd: proj }))).message).toContain("development is a file, not a folder");
    rmSync(join(proj, "dist", "development"));
    mkdirSync(join(proj, "real"));
    symlinkSync(join(proj, "real"), join(proj, "dist", "development"));
    expect((await synthError(runSynth({ stack: "development", cwd: proj }))).message).toContain("development is a symlink; synth writes a real folder there");
    expect(readdirSync(join(proj, "real"))).toEqual([]);
  });
});

describe("leftovers of an interrupted synth", () => {
  it("are removed when their names are synth's own; anything else beside them is kept", async () => {
    const dir = join(makeProject(root), "out");
    await writeSynthFolder(join(dir, "development"), [{ path: "a.yaml", content: "a\n" }]);
    // pid 4194305 is above Linux's highest possible pid, so no such process runs
    for (const name of [".modelfleet-tmp-development-4194305", ".modelfleet-old-development-4194305", ".modelfleet-tmp-staging-4194305"]) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, "x.yaml"), "x\n");
    }
    for (const name of ["development.old-123", ".modelfleet-tmp-development-notes", ".modelfleet-tmp-development-4194305.bak"]) mkdirSync(join(dir, name));
    const result = await writeSynthFolder(join(dir, "development"), [{ path: "b.yaml", content: "b\n" }]);
    expect(result.restored).toBe(false);
    expect(readdirSync(dir).sort()).toEqual([".modelfleet-tmp-development-4194305.bak", ".modelfleet-tmp-development-notes", ".modelfleet-tmp-staging-4194305", "development", "development.old-123"]);
    expect(readdirSync(join(dir, "development")).sort()).toEqual([OWNERSHIP_MARKER, "b.yaml"]);
  });

  it("whose writer still runs stop the run, naming the pid", async () => {
    const dir = join(makeProject(root), "out");
    const sleeper = spawn("sleep", ["60"]);
    try {
      const pid = sleeper.pid as number;
      mkdirSync(join(dir, `.modelfleet-tmp-development-${pid}`), { recursive: true });
      const error = await synthError(writeSynthFolder(join(dir, "development"), [{ path: "a.yaml", content: "a\n" }]));
      expect(error.kind).toBe("io");
      expect(error.message).toContain(`another modelfleet synth (pid ${pid}) is writing ${join(dir, "development")}`);
      expect(existsSync(join(dir, "development"))).toBe(false);
    } finally {
      sleeper.kill("SIGKILL");
    }
  });
});
