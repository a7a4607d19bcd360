import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { Command, Option } from "commander";
import { createBundle, type CreateOptions } from "../../bundle/create.js";
import { BundleError } from "../../bundle/errors.js";
import { loadBundle, planLoad, type LoadPlan } from "../../bundle/load.js";
import { barProgress, human, jsonProgress, silentProgress, type Progress } from "../../bundle/progress.js";
import { readPrivateKey, readTrustedKey, signBundleJson } from "../../bundle/sign.js";
import { formatProblems, verifyArchive, verifyBundle, type SignatureStatus, type TrustPolicy } from "../../bundle/verify.js";
import { assertWritableOutDir, OutDirError } from "../../files/out-dir.js";
import { DB_URL_ENV } from "../../registry/connection.js";
import { defaultRedactor, redact } from "../../secrets/redact.js";
import { stackFileName } from "../../config/load.js";
import { ConfigError } from "../../config/problems.js";
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

/**
 * Runs an action; a BundleError becomes one message and exit 1 (2 for bad input), a refused output folder or stack
 * name exit 2.
 * Every message passes the run's redactor: it may quote what a child process said about a credential.
 */
export async function reportBundleErrors(io: CliIo, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (error instanceof OutDirError || error instanceof ConfigError) {
      io.stderr(`error: ${redact(error.message)}\n`);
      io.setExitCode(2);
      return;
    }
    if (!(error instanceof BundleError)) throw error;
    io.stderr(`error: ${redact(error.message)}\n`);
    io.setExitCode(error.kind === "input" ? 2 : 1);
  }
}

/** A database URL from a flag or the environment, known to the redactor before any child process can echo it. */
export function knownDbUrl(url: string | undefined): string | undefined {
  if (url) defaultRedactor.addUrl(url);
  return url;
}

const UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
const MIN_SPLIT = 1024 ** 2;
const MAX_SPLIT = 1024 ** 4;

/** `--split-size`: a number with a binary unit (`700MiB`, `4GiB`, `1TiB`; `K`/`M`/`G`/`T` alone too), 1 MiB to 1 TiB. */
export function parseSize(text: string): number {
  const fix = "give a unit, e.g. 4GiB; at least 1MiB";
  const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 37)}...` : text).slice(1, -1);
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT])(?:iB)?$/i.exec(text.trim());
  if (!match) throw new BundleError("input", `--split-size ${shown}: ${/^\d+(?:\.\d+)?$/.test(text.trim()) ? fix : `not a size; ${fix}, at most 1TiB`}`);
  const bytes = Math.floor(Number(match[1]) * (UNITS[(match[2] as string).toUpperCase()] as number));
  if (bytes < MIN_SPLIT) throw new BundleError("input", `--split-size ${shown}: below 1MiB; ${fix}`);
  if (bytes > MAX_SPLIT) throw new BundleError("input", `--split-size ${shown}: above 1TiB, the largest part size; give e.g. 4GiB`);
  return bytes;
}

/** `--out`'s parent folder must exist: the bundle is created inside it, never its parents. */
async function checkOutParent(out: string): Promise<void> {
  const parent = dirname(resolve(out));
  const info = await stat(parent).catch(() => undefined);
  if (!info) throw new BundleError("input", `--out ${out}: folder ${parent} does not exist; create it first (mkdir -p ${parent}) or choose another --out`);
  if (!info.isDirectory()) throw new BundleError("input", `--out ${out}: ${parent} is not a folder; choose another --out`);
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `--trust-key` / `--allow-unsigned` as a policy; neither given is a usage error (exit 2): trust is never implied. */
async function trustPolicy(o: { trustKey?: string[]; allowUnsigned?: boolean }, command: string): Promise<TrustPolicy> {
  const paths = o.trustKey ?? [];
  if (paths.length === 0 && !o.allowUnsigned) {
    throw new BundleError("input", `bundle ${command}: no --trust-key given; pass --trust-key <signer.public.pem> (repeatable) to require the bundle's signature, or --allow-unsigned to accept a bundle without proof of origin`);
  }
  return { keys: await Promise.all(paths.map((p) => readTrustedKey(p))), allowUnsigned: o.allowUnsigned === true };
}

function signatureLine(signature: SignatureStatus | undefined): string {
  if (signature?.state === "valid") return `signed by trusted key ${signature.keyId} (${signature.keyPath})`;
  return "signature NOT checked";
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
    .option("--split-size <size>", "with --archive: parts of this size (1MiB to 1TiB, e.g. 4GiB), listed in <out>.tar.parts")
    .option("--sign-key <file>", "sign bundle.json with this Ed25519 private key (modelfleet keys generate); writes bundle.json.sig")
    .option("--base <file>", "an earlier bundle.json or a site inventory JSON (docs/offline-deployment.md): leave out image layers and model files the site already has")
    .option("--json", "JSON progress lines and a JSON result on stdout")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (o: { stack: string; out: string; stackFile?: string; modelsDir?: string; dbUrl?: string; sourceRegistry?: string; insecure?: boolean; archive?: boolean; splitSize?: string; signKey?: string; base?: string; json?: boolean }) =>
      reportBundleErrors(io, async () => {
        const dbUrl = knownDbUrl(o.dbUrl ?? io.env[DB_URL_ENV]);
        // Usage problems first, before any image is copied.
        const splitBytes = o.splitSize === undefined ? undefined : parseSize(o.splitSize);
        await checkOutParent(o.out);
        assertWritableOutDir(o.out, { flag: "--out" });
        const signKey = o.signKey;
        if (signKey) await readPrivateKey(signKey);
        const options: CreateOptions = {
          stackFile: o.stackFile ?? resolve(stackFileName(o.stack)),
          stack: o.stack,
          out: o.out,
          ...(o.modelsDir ? { modelsDir: o.modelsDir } : {}),
          ...(dbUrl ? { dbUrl } : {}),
          ...(o.sourceRegistry ? { sourceRegistry: o.sourceRegistry } : {}),
          insecure: o.insecure === true,
          archive: o.archive === true || o.splitSize !== undefined,
          ...(splitBytes ? { splitBytes } : {}),
          progress: progressFor(io, o.json),
          // Called by createBundle after bundle.json is written, before the archive and the final rename.
          ...(signKey ? { sign: async (bundleJsonPath: string) => void (await signBundleJson(bundleJsonPath, signKey)) } : {}),
          ...(o.base ? { base: o.base } : {}),
        };
        const result = await createBundle(options);
        const bytes = result.manifest.files.reduce((sum, f) => sum + f.size, 0);
        if (o.json) io.stdout(`${JSON.stringify({ result: { dir: result.dir, files: result.manifest.files.length, bytes, images: result.manifest.images, archive: result.archive } })}\n`);
        else io.stdout(`Created ${result.dir}: ${result.manifest.images.length} images, ${result.manifest.models.length} models, ${result.manifest.database ? "a database dump, " : ""}${result.manifest.files.length} files, ${human(bytes)}${result.archive.length ? `; archive: ${result.archive.join(", ")}` : ""}\n`);
      }),
    );

  const trustOptions = (command: Command) =>
    command
      .option("--trust-key <file>", "require a valid signature of bundle.json by this Ed25519 public key (repeatable: any one of them)", collect)
      .option("--allow-unsigned", "accept a bundle without a (checkable) signature, with a warning: integrity only, no proof of origin");

  trustOptions(
    bundle
      .command("verify")
      .description("Check a bundle (folder, .tar or .tar.parts): its signature, every file against bundle.json and SHA256SUMS, every OCI blob and descriptor")
      .argument("<bundle>", "bundle folder, <bundle>.tar or <bundle>.tar.parts"),
  )
    .option("--json", "print the report as JSON")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (path: string, o: { json?: boolean; trustKey?: string[]; allowUnsigned?: boolean }) =>
      reportBundleErrors(io, async () => {
        const trust = await trustPolicy(o, "verify");
        const info = await stat(path).catch(() => undefined);
        if (!info) throw new BundleError("input", `no bundle at ${path}`);
        // JSON mode keeps stdout for the report; the bar goes to a terminal's stderr only.
        const progress = o.json ? silentProgress : progressFor(io, false);
        const hooks = { onTotal: (bytes: number) => progress.phase("verify", bytes), onBytes: (n: number) => progress.advance(n), trust };
        // A folder is hashed in parallel; an archive is read as it streams, without unpacking.
        const report = info.isDirectory() ? await verifyBundle(path, hooks) : await verifyArchive(path, hooks);
        progress.done();
        for (const line of report.warnings) io.stderr(`${line}\n`);
        if (o.json) io.stdout(`${JSON.stringify({ ok: report.ok, signature: report.signature, files: report.files, bytes: report.bytes, problems: report.problems, warnings: report.warnings }, null, 2)}\n`);
        else if (report.ok) io.stdout(`OK: ${path}: ${report.files} files, ${human(report.bytes)} verified; ${signatureLine(report.signature)}\n`);
        else io.stderr(`error: ${path} does not verify (${report.problems.length} problem(s)):\n${formatProblems(report.problems)}\n`);
        if (!report.ok) io.setExitCode(1);
      }),
    );

  trustOptions(
    bundle
      .command("load")
      .description("Verify a bundle, push its images to the site registry by digest, copy model files, restore the database")
      .argument("<bundle>", "bundle folder, <bundle>.tar or <bundle>.tar.parts")
      .requiredOption("--registry <host:port>", "the site registry"),
  )
    .addOption(insecureOption())
    .option("--skip-verify", "load without verifying first (loudly reported; never do this with a bundle you did not just verify)")
    .option("--dry-run", "verify, then print what would be pushed, copied and restored, conflicts and missing site prerequisites; change nothing")
    .option("--models-target <dir>", "copy the model files here (e.g. a mounted model PVC) and re-check them")
    .option("--db-url <url>", "restore the bundle's database dump into this database; never printed")
    .addOption(new Option("--db-mode <mode>", "restore mode").choices(["merge", "replace"]).default("merge"))
    .option("--backup-dir <dir>", "where the pre-restore backup goes", "modelfleet-backups")
    .option("--json", "print the result as JSON")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(
      async (
        path: string,
        o: { registry: string; insecure?: boolean; skipVerify?: boolean; dryRun?: boolean; modelsTarget?: string; dbUrl?: string; dbMode: "merge" | "replace"; backupDir: string; json?: boolean; trustKey?: string[]; allowUnsigned?: boolean },
      ) =>
        reportBundleErrors(io, async () => {
          if (o.skipVerify && o.dryRun) throw new BundleError("input", "--dry-run verifies the bundle; drop --skip-verify");
          if (o.modelsTarget) assertWritableOutDir(o.modelsTarget, { flag: "--models-target" });
          if (knownDbUrl(o.dbUrl)) assertWritableOutDir(o.backupDir, { flag: "--backup-dir" });
          const trust = o.skipVerify ? undefined : await trustPolicy(o, "load");
          const common = {
            source: path,
            registry: o.registry,
            insecure: o.insecure === true,
            ...(trust ? { trust } : {}),
            ...(o.modelsTarget ? { modelsTarget: o.modelsTarget } : {}),
            ...(o.dbUrl ? { dbUrl: o.dbUrl, dbMode: o.dbMode, backupDir: o.backupDir } : {}),
          };
          if (o.dryRun) {
            const plan = await planLoad(common);
            for (const line of plan.warnings) io.stderr(`${line}\n`);
            if (o.json) io.stdout(`${JSON.stringify(plan, null, 2)}\n`);
            else printPlan(io, plan);
            for (const note of plan.notes) io.stderr(`note: ${note}\n`);
            if (plan.missing.length > 0) io.setExitCode(1);
            return;
          }
          const result = await loadBundle({ ...common, skipVerify: o.skipVerify === true, progress: progressFor(io, o.json) }, (text) => io.stderr(`${text}\n`));
          for (const note of result.notes) io.stderr(`note: ${note}\n`);
          if (o.json) {
            io.stdout(`${JSON.stringify(result, null, 2)}\n`);
            return;
          }
          if (result.verified) io.stdout(`verified: ${signatureLine(result.signature)}\n`);
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

/** The dry run, for people: one line per action, then what is missing on the site. */
function printPlan(io: CliIo, plan: LoadPlan): void {
  io.stdout(`dry run: nothing was changed. ${plan.source} verifies; ${signatureLine(plan.signature)}\n`);
  io.stdout(`registry ${plan.registry.host}: ${plan.registry.reachable ? "reachable" : "NOT reachable"} (${plan.registry.detail})\n`);
  for (const image of plan.images) io.stdout(`${image.action === "push" ? "would push" : image.action === "present" ? "present   " : "unknown   "}  ${image.name.padEnd(9)} ${image.target}\n`);
  if (plan.models) {
    const m = plan.models;
    io.stdout(`models: would copy ${m.files - m.same} of ${m.files} files (${human(m.bytes)} in all) to ${m.target}${m.targetExists ? "" : " (does not exist)"}; ${m.same} already there with the same content\n`);
    for (const conflict of m.conflicts) io.stdout(`conflict: ${m.target}/${conflict} exists with other content; the load would overwrite it\n`);
  }
  if (plan.database) io.stdout(`database: would restore (${plan.database.mode}) the dump of PostgreSQL ${plan.database.dumpServerVersion}; target ${plan.database.reachable ? plan.database.detail : "NOT reachable"}; a backup is taken first\n`);
  for (const missing of plan.missing) io.stdout(`missing: ${missing}\n`);
}
