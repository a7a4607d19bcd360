import { Command, Option } from "commander";
import { bundleIo, type BundleCliIo } from "../io.js";
import { addAlias } from "./alias.js";
import { dbModeOption } from "./bundle.js";
import { DB_URL_ENV } from "./constants.js";

export type RestoreModeName = "replace" | "merge";

export interface DbDumpCliOptions {
  readonly out: string;
  readonly dbUrl?: string;
}

export interface DbRestoreCliOptions {
  readonly dbUrl?: string;
  readonly dbMode: RestoreModeName;
  readonly backupDir: string;
}

/** pg_dump / pg_restore and the bundle reader load only when a db command runs. */
const implementation = () => import("../commands/db.js");

export function dbCommand(io: BundleCliIo = bundleIo()): Command {
  const db = new Command("db").description("Dump and restore the model registry database").configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  db.command("dump")
    .description("pg_dump -Fc of the registry database")
    .requiredOption("--out <file>", "dump file to write")
    .option("--db-url <url>", `database (default: $${DB_URL_ENV}, preferred: an option is visible in ps); never printed`)
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (o: DbDumpCliOptions) => (await implementation()).runDbDump(o, io));

  const restore = db
    .command("restore")
    .description("Restore the registry's rows from a custom-format dump (never runs anything from it) in one transaction, after backing up the target")
    .argument("<source>", "bundle (folder, .tar or .tar.parts; its dump is checked against bundle.json) or a custom-format dump (pg_dump -Fc); plain SQL is refused")
    .option("--db-url <url>", `target database (default: $${DB_URL_ENV}, preferred: an option is visible in ps); never printed`)
    .addOption(dbModeOption("replace: the registry rows become the dump's; merge: add only rows missing from the target, report conflicts (required; alias: --mode)"))
    .option("--backup-dir <dir>", "where the backup of the target goes", "modelfleet-backups")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (source: string, o: DbRestoreCliOptions) => (await implementation()).runDbRestore(source, o, io));
  addAlias(restore, "--db-mode", new Option("--mode <mode>", "old spelling of --db-mode").choices(["replace", "merge"]), { required: true });
  return db;
}
