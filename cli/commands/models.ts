import { packModel, pullModel, pushModel, unpackModel } from "../../bundle/model-artifact.js";
import type { ModelsPackOptions, ModelsPullOptions, ModelsPushOptions, ModelsUnpackOptions } from "../definitions/models.js";
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
