import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
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
import type { BundleCreateCliOptions, BundleLoadCliOptions, BundleVerifyCliOptions, TrustCliOptions } from "../definitions/bundle.js";
import type { BundleCliIo, CliIo } from "../io.js";
import { credentialShapedArgument } from "./credential-args.js";

export { bundleCommand } from "../definitions/bundle.js";
export { bundleIo, type BundleCliIo } from "../io.js";

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

/** `--trust-key` / `--allow-unsigned` as a policy; neither given is a usage error (exit 2): trust is never implied. */
async function trustPolicy(o: TrustCliOptions, command: string): Promise<TrustPolicy> {
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

/** `bundle create`: the action behind cli/definitions/bundle.ts. */
export async function runBundleCreate(o: BundleCreateCliOptions, io: BundleCliIo): Promise<void> {
  return reportBundleErrors(io, async () => {
    const refused = credentialShapedArgument({ "--stack": o.stack });
    if (refused) throw new BundleError("input", refused);
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
    if (o.json) io.stdout(`${JSON.stringify({ result: { dir: result.dir, files: result.manifest.files.length, bytes, images: result.manifest.images, modelArtifacts: result.manifest.modelArtifacts ?? [], archive: result.archive } })}\n`);
    else io.stdout(`Created ${result.dir}: ${result.manifest.images.length} images, ${result.manifest.models.length} model folders/files, ${(result.manifest.modelArtifacts ?? []).length} model artifacts, ${result.manifest.database ? "a database dump, " : ""}${result.manifest.files.length} files, ${human(bytes)}${result.archive.length ? `; archive: ${result.archive.join(", ")}` : ""}\n`);
  });
}

/** `bundle verify`. */
export async function runBundleVerify(path: string, o: BundleVerifyCliOptions, io: BundleCliIo): Promise<void> {
  return reportBundleErrors(io, async () => {
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
  });
}

/** `bundle load`. */
export async function runBundleLoad(path: string, o: BundleLoadCliOptions, io: BundleCliIo): Promise<void> {
  return reportBundleErrors(io, async () => {
    if (o.skipVerify && o.dryRun) throw new BundleError("input", "--dry-run verifies the bundle; drop --skip-verify");
    if (o.model?.length && !o.modelsTarget) throw new BundleError("input", `--model ${o.model.join(", ")} selects model files for --models-target; add --models-target <dir> (the mounted store claim) or drop --model`);
    if (o.modelsTarget) assertWritableOutDir(o.modelsTarget, { flag: "--models-target" });
    if (knownDbUrl(o.dbUrl)) assertWritableOutDir(o.backupDir, { flag: "--backup-dir" });
    const trust = o.skipVerify ? undefined : await trustPolicy(o, "load");
    const common = {
      source: path,
      registry: o.registry,
      insecure: o.insecure === true,
      ...(trust ? { trust } : {}),
      ...(o.modelsTarget ? { modelsTarget: o.modelsTarget } : {}),
      ...(o.model?.length ? { modelNames: o.model } : {}),
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
    for (const model of result.modelArtifacts) io.stdout(`${model.verified ? "ok" : "MISSING"}  model ${model.name} ${model.action} ${model.target}\n`);
    for (const folder of result.modelFolders) {
      const how = folder.action === "written" ? "installed, every file verified" : folder.action === "present" ? "already there with the same manifest, every file verified" : "left out of this differential bundle, checked at the site";
      io.stdout(`model ${folder.name}: ${folder.folder}: ${how}\n`);
    }
    if (result.models.length) io.stdout(`models: ${result.models.length} files copied to ${o.modelsTarget} and re-checked\n`);
    if (result.database) {
      io.stdout(`database: restored (${o.dbMode}); backup of the previous state: ${result.database.backup}\n`);
      if (o.dbMode === "merge") io.stdout(`database: ${result.database.inserted.length} row(s) added, ${result.database.conflicts.length} conflict(s) kept as the target has them${result.database.conflicts.length ? `: ${result.database.conflicts.join(", ")}` : ""}\n`);
      for (const note of result.database.notes) io.stderr(`note: ${note}\n`);
    }
  });
}

/** The dry run, for people: one line per action, then what is missing on the site. */
function printPlan(io: CliIo, plan: LoadPlan): void {
  io.stdout(`dry run: nothing was changed. ${plan.source} verifies; ${signatureLine(plan.signature)}\n`);
  io.stdout(`registry ${plan.registry.host}: ${plan.registry.reachable ? "reachable" : "NOT reachable"} (${plan.registry.detail})\n`);
  const verb = (action: "push" | "present" | "unknown") => (action === "push" ? "would push" : action === "present" ? "present   " : "unknown   ");
  for (const image of plan.images) io.stdout(`${verb(image.action)}  ${image.name.padEnd(9)} ${image.target}\n`);
  for (const model of plan.modelArtifacts) io.stdout(`${verb(model.action)}  model ${model.name} ${model.target}\n`);
  if (plan.models) {
    const m = plan.models;
    io.stdout(`models: would copy ${m.files - m.same} of ${m.files} files (${human(m.bytes)} in all) to ${m.target}${m.targetExists ? "" : " (does not exist)"}; ${m.same} already there with the same content\n`);
    for (const conflict of m.conflicts) io.stdout(`conflict: ${m.target}/${conflict} exists with other content; the load would overwrite it\n`);
    for (const f of m.folders) {
      const what = f.action === "write" ? "would install" : f.action === "present" ? "present" : f.action === "base" ? "left out (the site has it)" : "CONFLICT";
      io.stdout(`model ${f.name}: ${f.folder}: ${what}${f.detail ? ` (${f.detail})` : ""}\n`);
    }
  }
  if (plan.database) io.stdout(`database: would restore (${plan.database.mode}) the dump of PostgreSQL ${plan.database.dumpServerVersion}; target ${plan.database.reachable ? plan.database.detail : "NOT reachable"}; a backup is taken first\n`);
  for (const missing of plan.missing) io.stdout(`missing: ${missing}\n`);
}
