import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { Command, Option } from "commander";
import { createBundle } from "../../bundle/create.js";
import { BundleError } from "../../bundle/errors.js";
import { loadBundle } from "../../bundle/load.js";
import { barProgress, human, jsonProgress, silentProgress, type Progress } from "../../bundle/progress.js";
import { formatProblems, verifyArchive, verifyBundle } from "../../bundle/verify.js";
import { DB_URL_ENV } from "../../registry/connection.js";
import { stackFileName } from "../../stacks/config/load.js";
import { processIo as baseIo, type CliIo } from "../io.js";

export interface BundleCliIo extends CliIo {
  readonly env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (progress bars) — false in tests and pipes. */
  readonly isTty: boolean;
}

export function bundleIo(): BundleCliIo {
  return { ...baseIo(), env: process.env, isTty: process.stderr.isTTY === true };
}

function progressFor(io: BundleCliIo, json: boolean | undefined): Progress {
  if (json) return jsonProgress(io.stdout);
  return io.isTty ? barProgress(process.stderr) : silentProgress;
}

/** Runs an action; a BundleError becomes one message and exit 1 (2 for bad input). */
export async function reportBundleErrors(io: CliIo, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (!(error instanceof BundleError)) throw error;
    io.stderr(`error: ${error.message}\n`);
    io.setExitCode(error.kind === "input" ? 2 : 1);
  }
}

function parseSize(text: string): number {
  const match = /^(\d+)([KMG]i?B?)?$/i.exec(text.trim());
  if (!match) throw new BundleError("input", `--split-size "${text}" is not a size; write e.g. 4GiB, 700MiB, 1048576`);
  const unit = (match[2] ?? "").toUpperCase().replace(/I?B$/, "");
  return Number(match[1]) * ({ "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as Record<string, number>)[unit]!;
}

const insecureOption = () => new Option("--insecure", "talk plain HTTP / skip TLS verification to the registry (lab and loopback registries)");

export function bundleCommand(io: BundleCliIo = bundleIo()): Command {
  const bundle = new Command("bundle").description("Ship a stack to an air-gapped site: pinned images, manifests, models, database — verified").configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  bundle
    .command("create")
    .description("Create a bundle for a stack: images by digest in one OCI layout, manifests, model files, a database dump, checksums")
    .requiredOption("--stack <name>", "stack to bundle (Pulumi.<name>.yaml)")
    .requiredOption("--out <dir>", "bundle folder to create (must not exist)")
    .option("--stack-file <path>", "stack file to read instead of Pulumi.<stack>.yaml")
    .option("--models-dir <dir>", "folder holding the stack's model files (docs/offline-deployment.md)")
    .option("--db-url <url>", `registry database to dump (default: $${DB_URL_ENV} if set); never printed`)
    .option("--source-registry <host:port>", "pull the images from this mirror instead of their own registries")
    .addOption(insecureOption())
    .option("--archive", "also write <out>.tar")
    .option("--split-size <size>", "with --archive: parts of this size (e.g. 4GiB), listed in <out>.tar.parts")
    .option("--json", "JSON progress lines and a JSON result on stdout")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (o: { stack: string; out: string; stackFile?: string; modelsDir?: string; dbUrl?: string; sourceRegistry?: string; insecure?: boolean; archive?: boolean; splitSize?: string; json?: boolean }) =>
      reportBundleErrors(io, async () => {
        const dbUrl = o.dbUrl ?? io.env[DB_URL_ENV];
        const result = await createBundle({
          stackFile: o.stackFile ?? resolve(stackFileName(o.stack)),
          stack: o.stack,
          out: o.out,
          ...(o.modelsDir ? { modelsDir: o.modelsDir } : {}),
          ...(dbUrl ? { dbUrl } : {}),
          ...(o.sourceRegistry ? { sourceRegistry: o.sourceRegistry } : {}),
          insecure: o.insecure === true,
          archive: o.archive === true || o.splitSize !== undefined,
          ...(o.splitSize ? { splitBytes: parseSize(o.splitSize) } : {}),
          progress: progressFor(io, o.json),
        });
        const bytes = result.manifest.files.reduce((sum, f) => sum + f.size, 0);
        if (o.json) io.stdout(`${JSON.stringify({ result: { dir: result.dir, files: result.manifest.files.length, bytes, images: result.manifest.images, archive: result.archive } })}\n`);
        else io.stdout(`Created ${result.dir}: ${result.manifest.images.length} images, ${result.manifest.models.length} models, ${result.manifest.database ? "a database dump, " : ""}${result.manifest.files.length} files, ${human(bytes)}${result.archive.length ? `; archive: ${result.archive.join(", ")}` : ""}\n`);
      }),
    );

  bundle
    .command("verify")
    .description("Re-hash every file of a bundle (folder, .tar or .tar.parts) and check it against bundle.json, SHA256SUMS and the OCI layout")
    .argument("<bundle>", "bundle folder, <bundle>.tar or <bundle>.tar.parts")
    .option("--json", "print the report as JSON")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (path: string, o: { json?: boolean }) =>
      reportBundleErrors(io, async () => {
        const info = await stat(path).catch(() => undefined);
        if (!info) throw new BundleError("input", `no bundle at ${path}`);
        // JSON mode keeps stdout for the report; the bar goes to a terminal's stderr only.
        const progress = o.json ? silentProgress : progressFor(io, false);
        const hooks = { onTotal: (bytes: number) => progress.phase("verify", bytes), onBytes: (n: number) => progress.advance(n) };
        // A folder is hashed in parallel; an archive is read as it streams, without unpacking.
        const report = info.isDirectory() ? await verifyBundle(path, hooks) : await verifyArchive(path, hooks);
        progress.done();
        if (o.json) io.stdout(`${JSON.stringify({ ok: report.ok, files: report.files, bytes: report.bytes, problems: report.problems }, null, 2)}\n`);
        else if (report.ok) io.stdout(`OK: ${path}: ${report.files} files, ${human(report.bytes)} verified\n`);
        else io.stderr(`error: ${path} does not verify (${report.problems.length} problem(s)):\n${formatProblems(report.problems)}\n`);
        if (!report.ok) io.setExitCode(1);
      }),
    );

  bundle
    .command("load")
    .description("Verify a bundle, push its images to the site registry by digest, copy model files, restore the database")
    .argument("<bundle>", "bundle folder, <bundle>.tar or <bundle>.tar.parts")
    .requiredOption("--registry <host:port>", "the site registry")
    .addOption(insecureOption())
    .option("--skip-verify", "load without verifying first (loudly reported; never do this with a bundle you did not just verify)")
    .option("--models-target <dir>", "copy the model files here (e.g. a mounted model PVC) and re-check them")
    .option("--db-url <url>", "restore the bundle's database dump into this database; never printed")
    .addOption(new Option("--db-mode <mode>", "restore mode").choices(["merge", "replace"]).default("merge"))
    .option("--backup-dir <dir>", "where the pre-restore backup goes", "modelfleet-backups")
    .option("--json", "print the result as JSON")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (path: string, o: { registry: string; insecure?: boolean; skipVerify?: boolean; modelsTarget?: string; dbUrl?: string; dbMode: "merge" | "replace"; backupDir: string; json?: boolean }) =>
      reportBundleErrors(io, async () => {
        const result = await loadBundle(
          {
            source: path,
            registry: o.registry,
            insecure: o.insecure === true,
            skipVerify: o.skipVerify === true,
            ...(o.modelsTarget ? { modelsTarget: o.modelsTarget } : {}),
            ...(o.dbUrl ? { dbUrl: o.dbUrl, dbMode: o.dbMode, backupDir: o.backupDir } : {}),
            progress: progressFor(io, o.json),
          },
          (text) => io.stderr(`${text}\n`),
        );
        if (o.json) {
          io.stdout(`${JSON.stringify(result, null, 2)}\n`);
          return;
        }
        for (const image of result.images) io.stdout(`${image.verified ? "ok" : "MISSING"}  ${image.name.padEnd(9)} ${image.action.padEnd(8)} ${image.target}\n`);
        if (result.models.length) io.stdout(`models: ${result.models.length} files copied to ${o.modelsTarget} and re-checked\n`);
        if (result.database) {
          io.stdout(`database: restored (${o.dbMode}); backup of the previous state: ${result.database.backup}\n`);
          if (o.dbMode === "merge") io.stdout(`database: ${result.database.inserted.length} row(s) added, ${result.database.conflicts.length} conflict(s) kept as the target has them${result.database.conflicts.length ? `: ${result.database.conflicts.join(", ")}` : ""}\n`);
          for (const note of result.database.notes) io.stderr(`note: ${note}\n`);
        }
      }),
    );
  return bundle;
}
