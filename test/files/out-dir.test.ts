import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertWritableOutDir, OutDirError, outDirProblem } from "../../files/out-dir.js";

// Given a repository (`.git`) with a working directory at its root, a sub-folder, a file, symlinks in and out of it,
// and another project elsewhere
const root = mkdtempSync(join(tmpdir(), "modelfleet-out-dir-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const repo = join(root, "repo");
mkdirSync(join(repo, ".git"), { recursive: true });
mkdirSync(join(repo, "src"));
mkdirSync(join(repo, "gitops"));
writeFileSync(join(repo, "README.md"), "# repo\n");
mkdirSync(join(root, "outside"));
mkdirSync(join(root, "other-project"));
writeFileSync(join(root, "other-project", "Pulumi.yaml"), "name: other\n");
symlinkSync(join(root, "outside"), join(repo, "link-out"));
symlinkSync(join(repo, "gitops"), join(repo, "link-in"));
symlinkSync("/proc/self", join(repo, "link-proc"));
symlinkSync(repo, join(root, "link-to-repo"));

// The home folder is $HOME; point it into the temp tree so "a parent of home" is not simply "/".
const homeRoot = mkdtempSync(join(tmpdir(), "modelfleet-out-dir-home-"));
afterAll(() => rmSync(homeRoot, { recursive: true, force: true }));
const HOME = join(homeRoot, "me");
mkdirSync(HOME);
const savedHome = process.env["HOME"];
beforeAll(() => {
  process.env["HOME"] = HOME;
});
afterAll(() => {
  if (savedHome === undefined) delete process.env["HOME"];
  else process.env["HOME"] = savedHome;
});

const FIX = "pass a folder of its own, e.g. --out ./dist or a new folder outside the project";

describe("outDirProblem", () => {
  it.each([
    { path: "dist", why: "a new folder in the project" },
    { path: "gitops/staging/deep", why: "a new folder below an existing one" },
    { path: "gitops", why: "an existing folder" },
    { path: "link-in", why: "a symlink that stays in the working tree" },
    { path: join(root, "outside", "dist"), why: "an absolute folder outside the project" },
  ])("accepts $path ($why)", ({ path }) => {
    expect(outDirProblem(path, { cwd: repo })).toBeUndefined();
  });

  it.each([
    { path: "", why: "is empty" },
    { path: "a\0b", why: "holds a NUL character" },
    { path: ".", why: "is the working directory itself" },
    { path: "./", why: "is the working directory itself" },
    { path: "..", why: `is a parent of the working directory ${repo}` },
    { path: "/", why: "is the file system root" },
    { path: HOME, why: "is your home folder" },
    { path: dirname(HOME), why: `holds your home folder ${HOME}` },
    { path: "/proc/x", why: "is under /proc, a kernel file system" },
    { path: "/sys", why: "is under /sys, a kernel file system" },
    { path: "/dev/shm/out", why: "is under /dev, a kernel file system" },
    { path: ".git/out", why: "is inside a .git folder" },
    { path: join(root, "other-project"), why: "is a project root (it holds Pulumi.yaml)" },
    { path: "README.md", why: "is a file, not a folder" },
    { path: "README.md/out", why: `lies below ${join(repo, "README.md")}, which is a file, not a folder` },
    { path: "link-out", why: `leads through a symlink to ${join(root, "outside")}, outside the working tree ${repo}` },
    { path: "link-out/dist", why: `leads through a symlink to ${join(root, "outside", "dist")}, outside the working tree ${repo}` },
    { path: "link-proc/x", why: "is under /proc, a kernel file system (through a symlink, it is /proc/" },
    { path: join(root, "link-to-repo"), why: "is a project root (it holds .git)" },
  ])("rejects $path: $why", ({ path, why }) => {
    const problem = outDirProblem(path, { cwd: repo });
    expect(problem).toContain(`--out ${JSON.stringify(path)}: ${why}`);
    expect(problem).toContain(FIX);
    expect(problem?.split("\n")).toHaveLength(1);
  });

  it("a command that writes only its own sub-folder (synth) may use another repository's root, never this one's", () => {
    expect(outDirProblem(join(root, "other-project"), { cwd: repo, ownSubfolderOnly: true })).toBeUndefined();
    expect(outDirProblem(".", { cwd: repo, ownSubfolderOnly: true })).toContain("is the working directory itself");
    expect(outDirProblem(join(root, "link-to-repo"), { cwd: join(repo, "src"), ownSubfolderOnly: true })).toContain(`is a parent of the working directory`);
  });

  it("reads the home folder from $HOME", () => {
    expect(homedir()).toBe(HOME);
  });

  it("refuses the repository root from a sub-folder, as a parent of the working directory", () => {
    expect(outDirProblem("..", { cwd: join(repo, "src") })).toBe(`--out "..": is a parent of the working directory ${join(repo, "src")}; ${FIX}`);
    expect(outDirProblem(repo, { cwd: join(repo, "src") })).toContain("is a parent of the working directory");
  });

  it("names the flag it is given and cuts long values", () => {
    const long = `/proc/${"x".repeat(200)}`;
    const problem = outDirProblem(long, { cwd: repo, flag: "--backup-dir" }) ?? "";
    expect(problem).toMatch(/^--backup-dir "\/proc\/x{74}"…\(206 chars\): is under \/proc, a kernel file system; pass a folder of its own, e.g. --backup-dir \.\/dist/);
  });
});

describe("assertWritableOutDir", () => {
  it("returns the absolute folder, symlinks kept as given", () => {
    expect(assertWritableOutDir("link-in/x", { cwd: repo })).toBe(join(repo, "link-in", "x"));
  });

  it("throws an OutDirError carrying the flag, the value and the one-line message", () => {
    let error: unknown;
    try {
      assertWritableOutDir("..", { cwd: repo, flag: "--out" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OutDirError);
    expect(error).toMatchObject({ flag: "--out", value: "..", message: `--out "..": is a parent of the working directory ${repo}; ${FIX}` });
  });
});
