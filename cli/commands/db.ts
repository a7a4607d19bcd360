import { dumpDatabase, restoreDatabase } from "../../bundle/db.js";
import { resolveDatabaseUrl } from "../../registry/connection.js";
import { defaultRedactor } from "../../secrets/redact.js";
import { isRegistryError } from "../../registry/errors.js";
import { assertNewFile, assertWritableOutDir } from "../../files/out-dir.js";
import type { DbDumpCliOptions, DbRestoreCliOptions } from "../definitions/db.js";
import type { BundleCliIo } from "../io.js";
import { reportBundleErrors } from "./bundle.js";

export { dbCommand } from "../definitions/db.js";

/** The database URL from the option or the environment, known to the redactor before a child process can echo it. */
function targetUrl(option: string | undefined, io: BundleCliIo): string | undefined {
  try {
    const resolved = resolveDatabaseUrl(option, io.env);
    defaultRedactor.addUrl(resolved);
    return resolved;
  } catch (error) {
    if (!isRegistryError(error)) throw error;
    io.stderr(`error: ${error.message}\n`);
    io.setExitCode(2);
    return undefined;
  }
}

/** `db dump`: the action behind cli/definitions/db.ts. */
export async function runDbDump(o: DbDumpCliOptions, io: BundleCliIo): Promise<void> {
  const target = targetUrl(o.dbUrl, io);
  if (!target) return;
  await reportBundleErrors(io, async () => {
    assertNewFile(o.out, { flag: "--out" });
    const result = await dumpDatabase(target, o.out);
    io.stdout(`Wrote ${result.file} (PostgreSQL ${result.serverVersion}, ${result.pgDumpVersion})\n`);
  });
}

/** `db restore`. */
export async function runDbRestore(source: string, o: DbRestoreCliOptions, io: BundleCliIo): Promise<void> {
  const target = targetUrl(o.dbUrl, io);
  if (!target) return;
  await reportBundleErrors(io, async () => {
    assertWritableOutDir(o.backupDir, { flag: "--backup-dir" });
    const result = await restoreDatabase({ source, url: target, mode: o.dbMode, backupDir: o.backupDir });
    io.stdout(`Backup of the target before the restore: ${result.backup}\n`);
    for (const note of result.notes) io.stderr(`note: ${note}\n`);
    io.stdout(`Restored (${o.dbMode}) a PostgreSQL ${result.dumpVersion} dump into PostgreSQL ${result.targetVersion}.\n`);
    if (o.dbMode === "merge") {
      io.stdout(`${result.inserted.length} row(s) added${result.inserted.length ? `: ${result.inserted.join(", ")}` : ""}\n`);
      if (result.conflicts.length) io.stdout(`${result.conflicts.length} conflict(s) kept as the target has them: ${result.conflicts.join(", ")}\n`);
    }
  });
}
