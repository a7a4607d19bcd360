import { Command } from "commander";
import { processIo, type CliIo } from "../io.js";

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
