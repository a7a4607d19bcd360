import { packModel, pullModel, pushModel, unpackModel } from "../../bundle/model-artifact.js";
import { execa } from "execa";
import { resolve } from "node:path";
import { loadStackFile } from "../../config/load.js";
import { ConfigError } from "../../config/problems.js";
import { DOWNLOAD_SCRIPT } from "../../models/download-script.js";
import type { ModelsFetchOptions, ModelsPackOptions, ModelsPullOptions, ModelsPushOptions, ModelsUnpackOptions } from "../definitions/models.js";
import type { CliIo } from "../io.js";
import { reportBundleErrors } from "./bundle.js";

/** `models pack`: the action behind cli/definitions/models.ts. */
export async function runModelsPack(dir: string, o: ModelsPackOptions, io: CliIo): Promise<void> {
  return reportBundleErrors(io, async () => {
    const packed = await packModel(dir, o.layout, o.tag === undefined ? {} : { tag: o.tag });
    io.stdout(`packed ${packed.repo}@${packed.revision}: ${packed.layers} layer(s), ${packed.bytesAdded} new byte(s) in ${o.layout}\n`);
    io.stdout(`digest: ${packed.digest}\ntag:    ${packed.tag}\n`);
  });
}

export async function runModelsPush(o: ModelsPushOptions, io: CliIo): Promise<void> {
  return reportBundleErrors(io, async () => {
    const pushed = await pushModel(o.layout, o.tag, o.to, { insecure: o.insecure === true });
    io.stdout(`pushed: ${pushed.pinned}\n`);
  });
}

export async function runModelsPull(reference: string, o: ModelsPullOptions, io: CliIo): Promise<void> {
  return reportBundleErrors(io, async () => {
    const pulled = await pullModel(reference, o.layout, o.tag, { insecure: o.insecure === true });
    io.stdout(`pulled ${pulled.digest} into ${o.layout} as ${o.tag}\n`);
  });
}

export async function runModelsUnpack(o: ModelsUnpackOptions, io: CliIo): Promise<void> {
  return reportBundleErrors(io, async () => {
    const unpacked = await unpackModel({ layoutDir: o.layout, ...(o.ref === undefined ? {} : { ref: o.ref }) }, o.target);
    io.stdout(`${unpacked.alreadyPresent ? "already present, verified" : "unpacked"}: ${unpacked.repo}@${unpacked.revision} (${unpacked.digest}) in ${unpacked.folder}\n`);
  });
}

/**
 * `models fetch`: runs models/download-job.mjs — the very script the download Job runs — once per model of the stack,
 * so a folder filled here is byte-for-byte what a cluster's model store holds.
 */
export async function runModelsFetch(o: ModelsFetchOptions, io: CliIo): Promise<void> {
  let config;
  try {
    config = loadStackFile(resolve(o.stackFile ?? `Pulumi.${o.stack}.yaml`), o.stack);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(`${error.message}\n`);
    io.setExitCode(2);
    return;
  }
  const unknown = (o.only ?? []).filter((name) => !config.models.some((m) => m.name === name));
  if (unknown.length > 0) {
    io.stderr(`--only ${unknown.join(", ")}: no such model in ${config.file}; its models are ${config.models.map((m) => m.name).join(", ")}\n`);
    io.setExitCode(2);
    return;
  }
  const chosen = config.models.filter((m) => o.only === undefined || o.only.includes(m.name));
  for (const model of chosen) {
    const source = model.source;
    if (source.kind !== "huggingFace") {
      io.stdout(`${model.name}: skipped, its files are on the claim ${source.claimName} (source.pvc)\n`);
      continue;
    }
    // The pin as the stack file writes it (not the offline mirror): this runs where the source is reachable.
    const oci = source.oci;
    io.stdout(`${model.name}: ${source.repo}@${source.revision}${oci ? ` from ${oci.reference}` : ""}\n`);
    const child = execa(process.execPath, [DOWNLOAD_SCRIPT], {
      env: {
        ...passThrough(),
        MODELFLEET_REPO: source.repo,
        MODELFLEET_REVISION: source.revision,
        MODELFLEET_TARGET: resolve(o.to),
        MODELFLEET_FILES: source.files.join("\n"),
        ...(source.optionalFiles.length > 0 ? { MODELFLEET_FILES_OPTIONAL: source.optionalFiles.join("\n") } : {}),
        ...(oci ? { MODELFLEET_OCI: oci.reference, ...(o.insecure ? { MODELFLEET_OCI_INSECURE: "1" } : {}) } : {}),
      },
      // Only what the script prints: not this process's environment (a cloud credential has no business there).
      extendEnv: false,
      reject: false,
    });
    child.stdout?.on("data", (chunk: Buffer) => io.stdout(String(chunk)));
    child.stderr?.on("data", (chunk: Buffer) => io.stderr(String(chunk)));
    const result = await child;
    if (result.exitCode !== 0) {
      io.stderr(`${model.name}: the download failed (exit ${result.exitCode}); see the lines above. A re-run resumes where it stopped.\n`);
      io.setExitCode(1);
      return;
    }
  }
}

/** What the script may read from the operator's environment: the token, a mirror, the proxy and CA settings. */
function passThrough(): Record<string, string> {
  const keys = ["HF_TOKEN", "HF_ENDPOINT", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "NODE_EXTRA_CA_CERTS", "PATH", "HOME", "MODELFLEET_OCI_USERNAME", "MODELFLEET_OCI_PASSWORD"];
  const out: Record<string, string> = {};
  for (const key of keys) {
    const value = process.env[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
