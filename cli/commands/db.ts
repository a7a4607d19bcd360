import { Command, Option } from "commander";
import { dumpDatabase, restoreDatabase, type RestoreMode } from "../../bundle/db.js";
import { DB_URL_ENV, resolveDatabaseUrl } from "../../registry/connection.js";
import { defaultRedactor } from "../../secrets/redact.js";
import { isRegistryError } from "../../registry/errors.js";
import { assertNewFile, assertWritableOutDir } from "../../files/out-dir.js";
import { bundleIo, reportBundleErrors, type BundleCliIo } from "./bundle.js";

export function dbCommand(io: BundleCliIo = bundleIo()): Command {
  const db = new Command("db").description("Dump and restore the model registry database").configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  const url = (option: string | undefined): string | undefined => {
    try {
      const resolved = resolveDatabaseUrl(option, io.env);
      // Known to the redactor before anything can print what a child process said about it.
      defaultRedactor.addUrl(resolved);
      return resolved;
    } catch (error) {
      if (!isRegistryError(error)) throw error;
      io.stderr(`error: ${error.message}\n`);
      io.setExitCode(2);
      return undefined;
    }
  };

  db.command("dump")
    .description("pg_dump -Fc of the registry database")
    .requiredOption("--out <file>", "dump file to write")
    .option("--db-url <url>", `database (default: $${DB_URL_ENV}, preferred: an option is visible in ps); never printed`)
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (o: { out: string; dbUrl?: string }) => {
      const target = url(o.dbUrl);
      if (!target) return;
      await reportBundleErrors(io, async () => {
        assertNewFile(o.out, { flag: "--out" });
        const result = await dumpDatabase(target, o.out);
        io.stdout(`Wrote ${result.file} (PostgreSQL ${result.serverVersion}, ${result.pgDumpVersion})\n`);
      });
    });

  db.command("restore")
    .description("Restore the registry's rows from a custom-format dump (never runs anything from it) in one transaction, after backing up the target")
    .argument("<source>", "bundle (folder, .tar or .tar.parts; its dump is checked against bundle.json) or a custom-format dump (pg_dump -Fc); plain SQL is refused")
    .option("--db-url <url>", `target database (default: $${DB_URL_ENV}, preferred: an option is visible in ps); never printed`)
    .addOption(new Option("--mode <mode>", "replace: the registry rows become the dump's; merge: add only rows missing from the target, report conflicts").choices(["replace", "merge"]).makeOptionMandatory())
    .option("--backup-dir <dir>", "where the backup of the target goes", "modelfleet-backups")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (source: string, o: { dbUrl?: string; mode: RestoreMode; backupDir: string }) => {
      const target = url(o.dbUrl);
      if (!target) return;
      await reportBundleErrors(io, async () => {
        assertWritableOutDir(o.backupDir, { flag: "--backup-dir" });
        const result = await restoreDatabase({ source, url: target, mode: o.mode, backupDir: o.backupDir });
        io.stdout(`Backup of the target before the restore: ${result.backup}\n`);
        for (const note of result.notes) io.stderr(`note: ${note}\n`);
        io.stdout(`Restored (${o.mode}) a PostgreSQL ${result.dumpVersion} dump into PostgreSQL ${result.targetVersion}.\n`);
        if (o.mode === "merge") {
          io.stdout(`${result.inserted.length} row(s) added${result.inserted.length ? `: ${result.inserted.join(", ")}` : ""}\n`);
          if (result.conflicts.length) io.stdout(`${result.conflicts.length} conflict(s) kept as the target has them: ${result.conflicts.join(", ")}\n`);
        }
      });
    });
  return db;
}
