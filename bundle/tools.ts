import { execa } from "execa";
import { BundleError } from "./errors.js";

/** External tools, the trusted standard for their job; missing ones are named with the package to install. */
export const TOOLS = {
  skopeo: { command: "skopeo", debianPackage: "skopeo", versionArgs: ["--version"] },
  pg_dump: { command: "pg_dump", debianPackage: "postgresql-client-15", versionArgs: ["--version"] },
  pg_restore: { command: "pg_restore", debianPackage: "postgresql-client-15", versionArgs: ["--version"] },
  psql: { command: "psql", debianPackage: "postgresql-client-15", versionArgs: ["--version"] },
} as const;

export type ToolName = keyof typeof TOOLS;

/** The PostgreSQL client binaries of the newest installed major, else whatever is on PATH. */
const PG_BIN_DIRS = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"];

export function toolPath(name: ToolName): string {
  return TOOLS[name].command;
}

export function toolEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: [...PG_BIN_DIRS, process.env["PATH"] ?? ""].join(":") };
}

export interface RunOptions {
  readonly input?: string;
  /** @default true - a non-zero exit throws */
  readonly reject?: boolean;
  /**
   * Extra environment variables for the child, e.g. libpq's PGHOST/PGPASSWORD: a connection's secrets go here,
   * never in `args` (every local user can read a process's argument list).
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Called with the child's pid once it is spawned. */
  readonly onSpawn?: (pid: number) => void;
}

/** Runs a tool; a missing binary becomes one clear error naming the package. */
export async function run(name: ToolName, args: readonly string[], options: RunOptions = {}) {
  try {
    const child = execa(toolPath(name), [...args], {
      env: { ...toolEnv(), ...options.env },
      reject: options.reject ?? true,
      ...(options.input === undefined ? {} : { input: options.input }),
    });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    return await child;
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") {
      throw new BundleError("tool", `${name} is not installed; install it with: apt-get install -y ${TOOLS[name].debianPackage}`);
    }
    throw error;
  }
}

/** `skopeo version 1.9.3` → recorded in bundle.json. */
export async function toolVersion(name: ToolName): Promise<string> {
  const result = await run(name, TOOLS[name].versionArgs);
  return result.stdout.trim().split("\n")[0] ?? "";
}
