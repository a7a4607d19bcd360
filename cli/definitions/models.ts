import { Command } from "commander";
import { processIo, type CliIo } from "../io.js";

export interface ModelsFetchOptions {
  stackFile?: string;
  stack: string;
  to: string;
  only?: string[];
  insecure?: boolean;
}
export interface ModelsPackOptions {
  layout: string;
  tag?: string;
}
export interface ModelsUnpackOptions {
  layout: string;
  ref?: string;
  target: string;
}
export interface ModelsPushOptions {
  layout: string;
  tag: string;
  to: string;
  insecure?: boolean;
}
export interface ModelsPullOptions {
  layout: string;
  tag: string;
  insecure?: boolean;
}

/** `modelfleet models`: model folders as OCI artifacts (ModelPack media types), pinned by digest like images (docs/models.md). */
export function modelsCommand(io: CliIo = processIo()): Command {
  const models = new Command("models")
    .description("Model weights as OCI artifacts: pack a model folder (with its modelfleet-manifest.json), push, pull by digest, unpack (docs/models.md)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  const load = () => import("../commands/models.js");
  models
    .command("fetch")
    .description(
      "Fetch every model of a stack into <to>/<owner>--<name>/<revision>/ with the download Job's own script (pinned revision or oci digest, every byte verified, the manifest written last): the folder `bundle create --models-dir` reads",
    )
    .requiredOption("--stack <name>", "stack whose models to fetch (Pulumi.<stack>.yaml)")
    .option("--stack-file <file>", "stack file (default: Pulumi.<stack>.yaml in the current folder)")
    .requiredOption("--to <root>", "model store root to fill (created if missing); a complete folder is verified and left")
    .option("--only <models...>", "fetch only these models (by name)")
    .option("--insecure", "plain HTTP for oci-pinned models (a loopback or lab registry)")
    .addHelpText("after", "\nHF_TOKEN (gated repositories) and HF_ENDPOINT (a mirror) are read from the environment; the token is never printed.")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (o: ModelsFetchOptions) => (await load()).runModelsFetch(o, io));
  models
    .command("pack")
    .description("Pack a model folder into an OCI image layout: one uncompressed layer per file, digests checked against the manifest; prints the artifact's digest")
    .argument("<dir>", "model folder holding modelfleet-manifest.json (the download Job's or bundle load's layout)")
    .requiredOption("--layout <dir>", "OCI image layout to write into (created if missing; shared files are stored once)")
    .option("--tag <name>", "name of the artifact in the layout (default: <owner>--<name>--<revision>)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (dir: string, o: ModelsPackOptions) => (await load()).runModelsPack(dir, o, io));
  models
    .command("push")
    .description("Copy an artifact from a layout to a registry with skopeo; prints the digest-pinned reference to put in the stack config")
    .requiredOption("--layout <dir>", "OCI image layout holding the artifact")
    .requiredOption("--tag <name>", "the artifact's name in the layout")
    .requiredOption("--to <registry/repo:tag>", "destination, e.g. registry.site:5000/models/qwen3-8b:b968826")
    .option("--insecure", "plain HTTP / no TLS verification (a loopback or site-local registry)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (o: ModelsPushOptions) => (await load()).runModelsPush(o, io));
  models
    .command("pull")
    .description("Copy an artifact by digest from a registry into a layout (a tag-only reference is refused)")
    .argument("<reference>", "registry/repo@sha256:<digest>")
    .requiredOption("--layout <dir>", "OCI image layout to write into")
    .requiredOption("--tag <name>", "name to give the artifact in the layout")
    .option("--insecure", "plain HTTP / no TLS verification")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (reference: string, o: ModelsPullOptions) => (await load()).runModelsPull(reference, o, io));
  models
    .command("unpack")
    .description("Write an artifact's files into <target>/<owner>--<name>/<revision>/, every blob verified, the manifest written last")
    .requiredOption("--layout <dir>", "OCI image layout holding the artifact")
    .option("--ref <tag|sha256:…>", "which artifact (default: the layout's only one)")
    .requiredOption("--target <root>", "root of the model store (e.g. the mounted model PVC)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (o: ModelsUnpackOptions) => (await load()).runModelsUnpack(o, io));
  return models;
}
