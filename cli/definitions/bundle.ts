import { Command, Option } from "commander";
import { bundleIo, type BundleCliIo } from "../io.js";
import { DB_URL_ENV } from "./constants.js";

export interface BundleCreateCliOptions {
  readonly stack: string;
  readonly out: string;
  readonly stackFile?: string;
  readonly modelsDir?: string;
  readonly dbUrl?: string;
  readonly sourceRegistry?: string;
  readonly insecure?: boolean;
  readonly archive?: boolean;
  readonly splitSize?: string;
  readonly signKey?: string;
  readonly base?: string;
  readonly json?: boolean;
}

export interface TrustCliOptions {
  readonly trustKey?: string[];
  readonly allowUnsigned?: boolean;
}

export interface BundleVerifyCliOptions extends TrustCliOptions {
  readonly json?: boolean;
}

export interface BundleLoadCliOptions extends TrustCliOptions {
  readonly registry: string;
  readonly insecure?: boolean;
  readonly skipVerify?: boolean;
  readonly dryRun?: boolean;
  readonly modelsTarget?: string;
  readonly model?: string[];
  readonly dbUrl?: string;
  readonly dbMode: "merge" | "replace";
  readonly backupDir: string;
  readonly json?: boolean;
}

/** The bundle code (OCI, tar, signatures, pg_dump) loads only when a bundle command runs. */
const implementation = () => import("../commands/bundle.js");

const collect = (value: string, previous: string[] = []) => [...previous, value];

export const insecureOption = () => new Option("--insecure", "talk plain HTTP / skip TLS verification to the registry (lab and loopback registries)");

/** `--db-mode` of `bundle load` and `db restore`: one name for the restore mode in both. */
export const dbModeOption = (description: string) => new Option("--db-mode <mode>", description).choices(["merge", "replace"]);

export function bundleCommand(io: BundleCliIo = bundleIo()): Command {
  const bundle = new Command("bundle").description("Ship a stack to an air-gapped site: pinned images, manifests, models, database — verified").configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  bundle
    .command("create")
    .description("Create a bundle for a stack: images by digest in one OCI layout, manifests, model files, a database dump, checksums")
    .requiredOption("--stack <name>", "stack to bundle (Pulumi.<name>.yaml)")
    .requiredOption("--out <dir>", "bundle folder to create (must not exist)")
    .option("--stack-file <path>", "stack file to read instead of Pulumi.<stack>.yaml")
    .option("--models-dir <dir>", "folder holding the model store folders <owner>--<name>/<revision>/ (with modelfleet-manifest.json) and pvc models' files; required for an offline stack (docs/offline-deployment.md)")
    .option("--db-url <url>", `registry database to dump (default: $${DB_URL_ENV} if set); never printed`)
    .option("--source-registry <host:port>", "pull the images from this mirror instead of their own registries")
    .addOption(insecureOption())
    .option("--archive", "also write <out>.tar")
    .option("--split-size <size>", "with --archive: parts of this size (1MiB to 1TiB, e.g. 4GiB), listed in <out>.tar.parts")
    .option("--sign-key <file>", "sign bundle.json with this Ed25519 private key (modelfleet keys generate); writes bundle.json.sig")
    .option("--base <file>", "an earlier bundle.json or a site inventory JSON (docs/offline-deployment.md): leave out image layers and model files the site already has")
    .option("--json", "JSON progress lines and a JSON result on stdout")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (o: BundleCreateCliOptions) => (await implementation()).runBundleCreate(o, io));

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
    .action(async (path: string, o: BundleVerifyCliOptions) => (await implementation()).runBundleVerify(path, o, io));

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
    .option("--models-target <dir>", "the mounted model store claim: install each model folder at <dir>/<owner>--<name>/<revision>/ (verified; one already there is checked and left), copy pvc models' files")
    .option("--model <name>", "with --models-target: only this model's files (repeatable), e.g. one per-model claim at a time", collect)
    .option("--db-url <url>", "restore the bundle's database dump into this database; never printed")
    .addOption(dbModeOption("restore mode (as db restore --db-mode)").default("merge"))
    .option("--backup-dir <dir>", "where the pre-restore backup goes", "modelfleet-backups")
    .option("--json", "print the result as JSON")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (path: string, o: BundleLoadCliOptions) => (await implementation()).runBundleLoad(path, o, io));
  return bundle;
}
