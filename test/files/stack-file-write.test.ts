import { chmodSync, chownSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { keepLayout, lockPathFor, rewriteFileLocked, StackFileWriteError } from "../../files/stack-file-write.js";
import { useTempDirs } from "../helpers/temp-dir.js";

const tempDir = useTempDirs();

const MODULE = pathToFileURL(join(import.meta.dirname, "..", "..", "files", "stack-file-write.ts")).href;

function folder(): string {
  return tempDir("modelfleet-write-");
}

/** A child process script: `append <file> <label> <count>` appends lines one locked rewrite at a time;
 *  `hold <file>` takes the lock and never lets go; `big <file> <bytes>` writes a large new content. */
function childScript(dir: string): string {
  const script = join(dir, "writer.mts");
  writeFileSync(
    script,
    `import { rewriteFileLocked } from ${JSON.stringify(MODULE)};
const [mode, file, a, b] = process.argv.slice(2);
if (mode === "append") {
  for (let i = 0; i < Number(b); i++) await rewriteFileLocked(file, (text) => text + a + "-" + i + "\\n");
} else if (mode === "hold") {
  await rewriteFileLocked(file, () => { process.stdout.write("locked\\n"); return new Promise(() => undefined); });
} else if (mode === "big") {
  await rewriteFileLocked(file, () => "x".repeat(Number(a) - 1) + "\\n");
}
`,
  );
  return script;
}

const runChild = (script: string, args: string[]) => execa("node", ["--import", "tsx", script, ...args], { reject: false, cwd: join(import.meta.dirname, "..", "..") });

/** A pid that belonged to a process which has exited. */
async function deadPid(): Promise<number> {
  const child = await execa("node", ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(child.stdout);
}

describe("rewriteFileLocked", () => {
  it("follows a symlink: the link stays a link and the real file gets the new text", async () => {
    const dir = folder();
    const real = join(dir, "real.yaml");
    writeFileSync(real, "a: 1\n");
    symlinkSync("real.yaml", join(dir, "Pulumi.production.yaml"));
    const result = await rewriteFileLocked(join(dir, "Pulumi.production.yaml"), (text) => text.replace("1", "2"));
    expect(result).toEqual({ path: real, written: true });
    expect(lstatSync(join(dir, "Pulumi.production.yaml")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dir, "Pulumi.production.yaml"))).toBe("real.yaml");
    expect(readFileSync(real, "utf8")).toBe("a: 2\n");
    expect(readdirSync(dir).sort()).toEqual(["Pulumi.production.yaml", "real.yaml"]);
  });

  it.each([0o600, 0o640, 0o644])("keeps mode %o", async (mode) => {
    const file = join(folder(), "Pulumi.x.yaml");
    writeFileSync(file, "a: 1\n");
    chmodSync(file, mode);
    await rewriteFileLocked(file, () => "a: 2\n");
    expect(statSync(file).mode & 0o7777).toBe(mode);
  });

  it("keeps the owner (running as root here, so the chown is permitted)", async () => {
    const file = join(folder(), "Pulumi.x.yaml");
    writeFileSync(file, "a: 1\n");
    chownSync(file, 4321, 4322);
    await rewriteFileLocked(file, () => "a: 2\n");
    expect([statSync(file).uid, statSync(file).gid]).toEqual([4321, 4322]);
  });

  it.each([
    ["CRLF stays CRLF", "a: 1\r\nb: 2\r\n", (t: string) => t.replace("1", "3").replace(/\r\n/g, "\n") + "c: 4\n", "a: 3\r\nb: 2\r\nc: 4\r\n"],
    ["no final newline stays absent", "a: 1\nb: 2", () => "a: 1\nb: 3\n", "a: 1\nb: 3"],
    ["a final newline stays", "a: 1\n", () => "a: 2", "a: 2\n"],
    ["CRLF without final newline", "a: 1\r\nb: 2", () => "a: 1\nb: 3\n", "a: 1\r\nb: 3"],
    ["LF stays LF", "a: 1\n", () => "a: 2\r\nb: 3\r\n", "a: 2\nb: 3\n"],
  ])("%s", async (_, before, edit, after) => {
    const file = join(folder(), "Pulumi.x.yaml");
    writeFileSync(file, before);
    await rewriteFileLocked(file, edit);
    expect(readFileSync(file, "utf8")).toBe(after);
  });

  it("a file mixing CRLF and LF is written as the edit made it", () => {
    expect(keepLayout("a: 1\r\nb: 2\n", "a: 1\r\nb: 3\n")).toBe("a: 1\r\nb: 3\n");
  });

  it("an edit returning undefined or the same text writes nothing; a throwing edit leaves the file and no lock", async () => {
    const dir = folder();
    const file = join(dir, "Pulumi.x.yaml");
    writeFileSync(file, "a: 1\n");
    const mtime = statSync(file).mtimeMs;
    expect(await rewriteFileLocked(file, () => undefined)).toEqual({ path: file, written: false });
    expect(await rewriteFileLocked(file, (t) => t)).toEqual({ path: file, written: false });
    await expect(rewriteFileLocked(file, () => Promise.reject(new Error("refused by a rule")))).rejects.toThrow("refused by a rule");
    expect(statSync(file).mtimeMs).toBe(mtime);
    expect(readdirSync(dir)).toEqual(["Pulumi.x.yaml"]);
  });

  it("rejects a missing file and a dangling symlink as input errors, creating nothing", async () => {
    const dir = folder();
    symlinkSync("gone.yaml", join(dir, "Pulumi.x.yaml"));
    for (const path of [join(dir, "Pulumi.y.yaml"), join(dir, "Pulumi.x.yaml")]) {
      const error = await rewriteFileLocked(path, () => "a: 1\n").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StackFileWriteError);
      expect((error as StackFileWriteError).kind).toBe("input");
      expect((error as Error).message).toBe(`${path} does not exist (or is a symlink to a missing file)`);
    }
    expect(readdirSync(dir)).toEqual(["Pulumi.x.yaml"]);
  });

  it("serializes two async writers: the second edits the text the first wrote", async () => {
    const file = join(folder(), "Pulumi.x.yaml");
    writeFileSync(file, "start\n");
    let firstInside!: () => void;
    const inside = new Promise<void>((resolve) => (firstInside = resolve));
    const seenBySecond: string[] = [];
    const first = rewriteFileLocked(file, async (text) => {
      firstInside();
      // Barrier: the second writer is started while the first holds the lock, and given time to try.
      await new Promise((resolve) => setTimeout(resolve, 300));
      return `${text}first\n`;
    });
    await inside;
    const second = rewriteFileLocked(file, (text) => {
      seenBySecond.push(text);
      return `${text}second\n`;
    });
    await Promise.all([first, second]);
    expect(seenBySecond).toEqual(["start\nfirst\n"]);
    expect(readFileSync(file, "utf8")).toBe("start\nfirst\nsecond\n");
  });

  it("serializes two real processes: no appended line is lost", async () => {
    const dir = folder();
    const file = join(dir, "Pulumi.x.yaml");
    writeFileSync(file, "");
    const script = childScript(dir);
    const [a, b] = await Promise.all([runChild(script, ["append", file, "a", "15"]), runChild(script, ["append", file, "b", "15"])]);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(b.exitCode, b.stderr).toBe(0);
    const lines = readFileSync(file, "utf8").trim().split("\n");
    expect(lines).toHaveLength(30);
    expect(lines.filter((l) => l.startsWith("a-"))).toEqual([...Array(15).keys()].map((i) => `a-${i}`));
    expect(lines.filter((l) => l.startsWith("b-"))).toEqual([...Array(15).keys()].map((i) => `b-${i}`));
    expect(readdirSync(dir).sort()).toEqual(["Pulumi.x.yaml", "writer.mts"]);
  });

  it("takes over a lock left by a dead process on this host", async () => {
    const dir = folder();
    const file = join(dir, "Pulumi.x.yaml");
    writeFileSync(file, "a: 1\n");
    writeFileSync(lockPathFor(file), JSON.stringify({ pid: await deadPid(), hostname: hostname(), createdAt: "2026-01-01T00:00:00.000Z", token: "old" }));
    const started = Date.now();
    await rewriteFileLocked(file, () => "a: 2\n", { lockTimeoutSeconds: 5 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(readFileSync(file, "utf8")).toBe("a: 2\n");
    expect(readdirSync(dir)).toEqual(["Pulumi.x.yaml"]);
  });

  it.each([
    ["a live process on this host", () => ({ pid: process.pid, hostname: hostname() }), `pid ${process.pid} on ${hostname()}`],
    ["another host (its pid cannot be checked)", () => ({ pid: 1, hostname: "build-server-7" }), "pid 1 on build-server-7"],
  ])("waits for a lock held by %s, then fails in one line naming the lock file", async (_, owner, described) => {
    const dir = folder();
    const file = join(dir, "Pulumi.x.yaml");
    writeFileSync(file, "a: 1\n");
    writeFileSync(lockPathFor(file), JSON.stringify({ ...owner(), createdAt: "2026-01-01T00:00:00.000Z", token: "held" }));
    const started = Date.now();
    const error = await rewriteFileLocked(file, () => "a: 2\n", { lockTimeoutSeconds: 1 }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(error).toBeInstanceOf(StackFileWriteError);
    expect((error as StackFileWriteError).kind).toBe("locked");
    expect((error as Error).message).toBe(
      `Pulumi.x.yaml is being written by another modelfleet (${described} since 2026-01-01T00:00:00.000Z): lock file ${lockPathFor(file)} still held after 1s. Wait and retry; if no modelfleet is running there, delete the lock file.`,
    );
    expect(readFileSync(file, "utf8")).toBe("a: 1\n");
    expect(existsSync(lockPathFor(file))).toBe(true);
  });

  it("a writer SIGKILLed while holding the lock: the next writer takes over and succeeds", async () => {
    const dir = folder();
    const file = join(dir, "Pulumi.x.yaml");
    writeFileSync(file, "a: 1\n");
    const child = execa("node", ["--import", "tsx", childScript(dir), "hold", file], { reject: false, cwd: join(import.meta.dirname, "..", "..") });
    await new Promise<void>((resolve) => child.stdout?.on("data", (chunk: Buffer) => chunk.toString().includes("locked") && resolve()));
    expect(existsSync(lockPathFor(file))).toBe(true);
    child.kill("SIGKILL");
    await child;
    await rewriteFileLocked(file, (t) => t.replace("1", "2"), { lockTimeoutSeconds: 5 });
    expect(readFileSync(file, "utf8")).toBe("a: 2\n");
    expect(readdirSync(dir).sort()).toEqual(["Pulumi.x.yaml", "writer.mts"]);
  });

  it("a writer SIGKILLed mid-write leaves the old or the new content; the next run removes its temp file and lock", async () => {
    const dir = folder();
    const file = join(dir, "Pulumi.x.yaml");
    const old = "a: 1\n";
    const size = 64 * 1024 * 1024;
    writeFileSync(file, old);
    const child = execa("node", ["--import", "tsx", childScript(dir), "big", file, String(size)], { reject: false, cwd: join(import.meta.dirname, "..", "..") });
    // Kill as soon as the temp file appears, i.e. while it is being written.
    const deadline = Date.now() + 30_000;
    while (!readdirSync(dir).some((n) => n.includes(".modelfleet-tmp-")) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    child.kill("SIGKILL");
    const killed = await child;
    expect(killed.signal).toBe("SIGKILL");
    const content = readFileSync(file, "utf8");
    expect(content === old || content.length === size).toBe(true);
    expect(readdirSync(dir).some((n) => n.includes(".modelfleet-tmp-"))).toBe(true);
    await rewriteFileLocked(file, () => "a: 3\n", { lockTimeoutSeconds: 5 });
    expect(readFileSync(file, "utf8")).toBe("a: 3\n");
    expect(readdirSync(dir).sort()).toEqual(["Pulumi.x.yaml", "writer.mts"]);
  });
});
