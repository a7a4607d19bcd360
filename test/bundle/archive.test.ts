/**
 * Reading bundle archives safely (#11.3, #16): parts lists confined to their folder, one-line errors, temp folders
 * always removed and never next to the archive, sizes bounded by bundle.json, compressed archives refused, and the
 * writer's order and refusal of links. Real bundles (docker-registry, skopeo, umoci), real tar files (node-tar and
 * GNU tar), a real read-only bind mount and a real tmpfs.
 */
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { archiveParts, openBundle, unpackBase, writeArchive } from "../../bundle/archive.js";
import { BUNDLE_SIG } from "../../bundle/manifest.js";
import { BundleError } from "../../bundle/errors.js";
import { loadBundle } from "../../bundle/load.js";
import { verifyArchive } from "../../bundle/verify.js";
import { useBundleFixture } from "./support.js";
import { createBundle } from "../../bundle/create.js";

const fixture = useBundleFixture();
const BIN = join(import.meta.dirname, "../../bin/modelfleet.js");
let counter = 0;
const fresh = (name: string) => join(fixture().work, `${name}-${++counter}`);

/** Every test unpacks into its own $TMPDIR, so leftovers are visible. */
let temp = "";
beforeEach(() => {
  temp = fresh("tmpdir");
  mkdirSync(temp);
  process.env["TMPDIR"] = temp;
});
/** What is left in $TMPDIR, but for tsx's compile cache (child processes run through tsx). */
const leftovers = () => readdirSync(temp).filter((name) => !name.startsWith("tsx-"));

/** One real bundle (folder, .tar and split parts) shared by the tests that only read it. */
let shared: Promise<{ dir: string; tar: string; parts: string }> | undefined;
function bundle() {
  shared ??= (async () => {
    const f = fixture();
    const out = join(f.work, "shared-bundle");
    await createBundle({ stackFile: f.stackFile, out, modelsDir: f.modelsDir, insecure: true });
    const [tar] = await writeArchive(out, `${out}.tar`);
    mkdirSync(join(f.work, "split"));
    const parts = (await writeArchive(out, join(f.work, "split", "shared.tar"), 150_000)).at(-1)!;
    return { dir: out, tar: tar!, parts };
  })();
  return shared;
}

/** A copy of the split archive in its own folder, the list changed by `edit` (lines without the final newline). */
async function editedParts(edit: (lines: string[], folder: string) => string[]): Promise<string> {
  const { parts } = await bundle();
  const folder = fresh("parts");
  mkdirSync(folder);
  for (const name of readdirSync(dirname(parts))) cpSync(join(dirname(parts), name), join(folder, name));
  const list = join(folder, basename(parts));
  const lines = readFileSync(list, "utf8").trimEnd().split("\n");
  writeFileSync(list, `${edit(lines, folder).join("\n")}\n`);
  return list;
}

const errorOf = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BundleError);
  return error as BundleError;
};

const sha = (line: string) => line.slice(0, 64);

describe("a .tar.parts list names only parts in its own folder", () => {
  it.each([
    ["../secret", (folder: string) => writeFileSync(join(folder, "..", "secret"), "not a part"), 'shared.tar.parts: line 1 names "../secret"; a part must be a file in the same folder named shared.tar.NNN'],
    ["/etc/passwd", () => undefined, 'shared.tar.parts: line 1 names "/etc/passwd"; a part must be a file in the same folder named shared.tar.NNN'],
    ["/dev/zero", () => undefined, 'shared.tar.parts: line 1 names "/dev/zero"; a part must be a file in the same folder named shared.tar.NNN'],
    ["sub/shared.tar.000", () => undefined, 'shared.tar.parts: line 1 names "sub/shared.tar.000"; a part must be a file in the same folder named shared.tar.NNN'],
    ["shared.tar.0", () => undefined, 'shared.tar.parts: line 1 names "shared.tar.0"; a part must be a file in the same folder named shared.tar.NNN'],
  ])("rejects a line naming %s, before opening anything", async (name, setUp, message) => {
    const list = await editedParts((lines, folder) => {
      setUp(folder);
      return [`${sha(lines[0]!)}  ${name}`, ...lines.slice(1)];
    });
    const error = await errorOf(openBundle(list));
    expect(error.message).toBe(`${message}; bring the parts bundle create wrote, or write the archive again (bundle create --split-size)`);
    expect(leftovers()).toEqual([]);
    await expect(verifyArchive(list)).rejects.toThrow(message);
  });

  it.each([
    ["a symlink to /dev/zero", (part: string) => symlinkSync("/dev/zero", part), "a symlink"],
    ["a symlink to another part", (part: string) => symlinkSync(`${basename(part).slice(0, -3)}001`, part), "a symlink"],
    ["a FIFO", (part: string) => execa("mkfifo", [part]), "a FIFO"],
    ["a folder", (part: string) => mkdirSync(part), "a folder"],
  ])("rejects a part that is %s (lstat), naming its line", async (_what, make, kind) => {
    const list = await editedParts((lines) => lines);
    const part = join(dirname(list), "shared.tar.000");
    rmSync(part);
    await make(part);
    const error = await errorOf(openBundle(list));
    expect(error.message).toBe(`shared.tar.parts: archive part shared.tar.000 (line 1) is ${kind}, not a regular file; bring the parts bundle create wrote, or write the archive again (bundle create --split-size)`);
    expect(leftovers()).toEqual([]);
  });

  it("a dropped first line or a missing first part: one line on the CLI, exit 1, no stack trace, no temp folder left", async () => {
    const dropped = await editedParts((lines) => lines.slice(1));
    const missing = await editedParts((lines) => lines);
    rmSync(join(dirname(missing), "shared.tar.000"));
    for (const [command, list, message] of [
      ["load", dropped, "error: shared.tar.parts: part shared.tar.000 not listed (parts are numbered from 000 without gaps); bring the parts"],
      ["verify", missing, "error: shared.tar.parts: archive part shared.tar.000 (line 1) is missing; bring the parts"],
    ] as const) {
      const args = command === "load" ? ["--registry", fixture().site.host, "--insecure"] : [];
      const run = await execa("node", [BIN, "bundle", command, list, ...args, "--allow-unsigned"], { reject: false, env: { TMPDIR: temp } });
      expect(run.exitCode, run.stderr).toBe(1);
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(run.stderr).toContain(message);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(readdirSync(dirname(list)).filter((n) => n.includes("unpack"))).toEqual([]);
    }
    expect(leftovers()).toEqual([]);
  }, 240_000);

  it("an untouched list opens, and its parts are read from its own folder", async () => {
    const list = await editedParts((lines) => lines);
    expect((await archiveParts(list)).map((p) => basename(p.file))).toEqual(readdirSync(dirname(list)).filter((n) => /\.\d{3}$/.test(n)).sort());
    const opened = await openBundle(list);
    expect(existsSync(join(opened.dir, "bundle.json"))).toBe(true);
    await opened.cleanup();
    expect(leftovers()).toEqual([]);
  });
});

describe("unpacking is bounded by bundle.json", () => {
  it("bundle.json is the archive's first entry, then its signature and SHA256SUMS", async () => {
    const { dir } = await bundle();
    const signed = fresh("signed");
    cpSync(dir, signed, { recursive: true });
    writeFileSync(join(signed, BUNDLE_SIG), Buffer.alloc(64, 1));
    const [tar] = await writeArchive(signed, `${signed}.tar`);
    const { stdout } = await execa("tar", ["-tf", tar!]);
    expect(stdout.split("\n").slice(0, 3)).toEqual(["bundle.json", "bundle.json.sig", "SHA256SUMS"]);
  });

  it("refuses an entry larger than bundle.json lists, and stops reading there; nothing is left", async () => {
    const { dir } = await bundle();
    const copy = fresh("grown");
    cpSync(dir, copy, { recursive: true });
    const gguf = "models/gguf/qwen3-0.6b-q8_0.gguf";
    appendFileSync(join(copy, gguf), Buffer.alloc(8 * 1024 ** 2));
    // bundle.json first, as create writes it; the grown file right after, then everything else.
    const tar = `${copy}.tar`;
    await execa("tar", ["-cf", tar, "-C", copy, "bundle.json", gguf, "SHA256SUMS", "images", "manifests", "models/qwen3-0.6b"]);
    const error = await errorOf(openBundle(tar));
    expect(error.message).toBe(`archive ${tar} does not match its bundle.json, nothing unpacked: ${gguf} (${100_004 + 8 * 1024 ** 2} bytes; bundle.json lists 100004); stopped reading`);
    expect(leftovers()).toEqual([]);
  });

  it("refuses an entry bundle.json does not list, even in GNU tar's order with bundle.json not first", async () => {
    const { dir } = await bundle();
    const copy = fresh("unlisted");
    cpSync(dir, copy, { recursive: true });
    writeFileSync(join(copy, "models", "payload.bin"), Buffer.alloc(1024, 9));
    const tar = `${copy}.tar`;
    // models twice (GNU tar would store the second copies as hard links without --hard-dereference).
    await execa("tar", ["--hard-dereference", "-cf", tar, "-C", copy, "models", "."]);
    const error = await errorOf(openBundle(tar));
    expect(error.message).toMatch(new RegExp(`^archive ${tar.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} does not match its bundle\\.json, nothing unpacked:\\n {2}- models/payload\\.bin \\(not listed in bundle\\.json\\)\\n {2}- models/\\S+ \\(stored twice\\)`));
    expect(leftovers()).toEqual([]);
  });

  it("opens a GNU tar of an untouched bundle (bundle.json anywhere), the same files as the folder", async () => {
    const { dir } = await bundle();
    const tar = `${fresh("gnu")}.tar`;
    await execa("tar", ["-cf", tar, "-C", dir, "."]);
    const opened = await openBundle(tar);
    const { stdout } = await execa("find", [".", "-type", "f"], { cwd: opened.dir });
    const { stdout: original } = await execa("find", [".", "-type", "f"], { cwd: dir });
    expect(stdout.split("\n").sort()).toEqual(original.split("\n").sort());
    await opened.cleanup();
    expect(leftovers()).toEqual([]);
  });

  it("refuses a gzip bomb before unpacking a byte (open, verify and the CLI)", async () => {
    const bomb = fresh("bomb");
    mkdirSync(bomb);
    writeFileSync(join(bomb, "bundle.json"), JSON.stringify({ files: [{ path: "zeros", size: 1, sha256: "0".repeat(64) }] }));
    writeFileSync(join(bomb, "zeros"), Buffer.alloc(16 * 1024 ** 2));
    const tar = `${bomb}.tar`;
    await execa("tar", ["-czf", tar, "-C", bomb, "bundle.json", "zeros"]);
    rmSync(bomb, { recursive: true });
    const message = `${tar} is gzip-compressed; bundle archives are plain tar (as bundle create --archive writes them) and compressed ones are refused, since they can expand without bound before any check`;
    expect((await errorOf(openBundle(tar))).message).toBe(message);
    expect((await errorOf(verifyArchive(tar))).message).toBe(message);
    const run = await execa("node", [BIN, "bundle", "verify", tar, "--allow-unsigned"], { reject: false, env: { TMPDIR: temp } });
    expect(run.stderr.trim()).toBe(`error: ${message}`);
    expect(run.exitCode).toBe(2);
    expect(leftovers()).toEqual([]);
  });
});

describe("where archives are unpacked (#16)", () => {
  const mounts: string[] = [];
  afterAll(async () => {
    for (const mount of mounts) await execa("umount", [mount], { reject: false });
  });

  /** A read-only bind mount of a folder holding the bundle's .tar and split parts: writes fail with EROFS, even for root. */
  async function readOnlyMedia(): Promise<{ media: string; tar: string; parts: string }> {
    const { tar, parts } = await bundle();
    const source = fresh("media-src");
    mkdirSync(source);
    cpSync(tar, join(source, basename(tar)));
    for (const name of readdirSync(dirname(parts))) cpSync(join(dirname(parts), name), join(source, name));
    const media = fresh("media");
    mkdirSync(media);
    await execa("mount", ["--bind", source, media]);
    mounts.push(media);
    await execa("mount", ["-o", "remount,ro,bind", media]);
    expect(() => writeFileSync(join(media, "probe"), "x")).toThrow(/EROFS/);
    return { media, tar: join(media, basename(tar)), parts: join(media, basename(parts)) };
  }

  it("load of a .tar or .tar.parts on read-only media unpack under $TMPDIR and clean up", async () => {
    const f = fixture();
    const { tar, parts } = await readOnlyMedia();
    for (const archive of [tar, parts]) {
      const opened = await openBundle(archive);
      expect(dirname(opened.dir)).toBe(temp);
      expect(unpackBase()).toBe(temp);
      await opened.cleanup();
      const loaded = await loadBundle({ source: archive, registry: f.site.host, insecure: true, modelsTarget: fresh("pvc") });
      expect(loaded.images.every((i) => i.verified)).toBe(true);
    }
    expect(leftovers()).toEqual([]);
  });

  it("the free-space check is made in $TMPDIR, naming it", async () => {
    const { tar } = await bundle();
    const small = fresh("small-tmp");
    mkdirSync(small);
    await execa("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", small]);
    mounts.push(small);
    process.env["TMPDIR"] = small;
    const error = await errorOf(openBundle(tar));
    expect(error.kind).toBe("space");
    expect(error.message).toMatch(new RegExp(`^not enough disk space in ${small} to unpack ${basename(tar)}: needs [\\d.]+ KiB, [\\d.]+ KiB available; set TMPDIR to a folder on a larger disk, or unpack it yourself and pass the folder$`));
    expect(readdirSync(small)).toEqual([]);
  });

  it("a process killed (SIGTERM, SIGINT) while a bundle is open leaves no temp folder", async () => {
    const { tar } = await bundle();
    const script = join(fresh("script"), "hold.mts");
    mkdirSync(dirname(script));
    writeFileSync(script, `import { openBundle } from ${JSON.stringify(join(import.meta.dirname, "../../bundle/archive.ts"))};\nconst opened = await openBundle(process.argv[2]);\nconsole.log(opened.dir);\nsetInterval(() => undefined, 1000);\n`);
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const child = execa("node", ["--import", "tsx", script, tar], { reject: false, env: { TMPDIR: temp }, cwd: join(import.meta.dirname, "../..") });
      const dir = await new Promise<string>((resolve) => child.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString().trim())));
      expect(dirname(dir)).toBe(temp);
      expect(existsSync(join(dir, "bundle.json"))).toBe(true);
      child.kill(signal);
      const result = await child;
      expect(result.signal).toBe(signal);
      expect(leftovers()).toEqual([]);
    }
  });
});

describe("the archive writer", () => {
  it("refuses a folder holding a symlink, naming it, and leaves no archive", async () => {
    const { dir } = await bundle();
    const copy = fresh("linked");
    cpSync(dir, copy, { recursive: true });
    symlinkSync("/etc/passwd", join(copy, "models", "passwd"));
    const error = await errorOf(writeArchive(copy, `${copy}.tar`, 100_000));
    expect(error.message).toBe(`cannot archive ${copy}: models/passwd is not a regular file or folder (symlink, device, FIFO or socket); a bundle holds regular files only: replace links by the files' content`);
    expect(readdirSync(dirname(copy)).filter((n) => n.startsWith(`${basename(copy)}.`))).toEqual([]);
    expect(tmpdir()).toBe(temp);
  });
});
