import { generateKeys } from "../../bundle/sign.js";
import type { CliIo } from "../io.js";
import { reportBundleErrors } from "./bundle.js";

export { keysCommand } from "../definitions/keys.js";

/** `keys generate`: the action behind cli/definitions/keys.ts. */
export async function runKeysGenerate(o: { out: string }, io: CliIo): Promise<void> {
  return reportBundleErrors(io, async () => {
    const written = await generateKeys(o.out);
    io.stdout(`private key: ${written.privatePath} (mode 0600; sign with: bundle create --sign-key ${written.privatePath})\n`);
    io.stdout(`public key:  ${written.publicPath} (key ${written.id}; sites check with: bundle verify --trust-key ${written.publicPath})\n`);
  });
}
