import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { BundleError } from "./errors.js";
import { BUNDLE_SIG } from "./manifest.js";

/**
 * Bundle signatures: a detached Ed25519 signature over the exact bytes of bundle.json, stored raw (64 bytes) as
 * bundle.json.sig next to it. Keys are PEM (PKCS#8 private, SPKI public), so a standard tool checks the same thing:
 *
 *   openssl pkeyutl -verify -pubin -inkey signing.public.pem -rawin -in bundle.json -sigfile bundle.json.sig
 *
 * bundle.json lists every other file with its sha256 and size, so the signature covers the whole bundle.
 */

export const PRIVATE_SUFFIX = ".private.pem";
export const PUBLIC_SUFFIX = ".public.pem";
const SIGNATURE_BYTES = 64;

/** A public key a site trusts, and where it came from (for messages). */
export interface TrustedKey {
  readonly path: string;
  /** `ed25519:<first 16 hex of sha256(raw public key)>`: names the key in messages, never secret. */
  readonly id: string;
  readonly key: KeyObject;
}

/** The short, stable name of an Ed25519 public key. */
export function keyId(publicKey: KeyObject): string {
  const raw = publicKey.export({ format: "der", type: "spki" });
  // The last 32 bytes of an Ed25519 SPKI are the raw key.
  return `ed25519:${createHash("sha256").update(raw.subarray(raw.length - 32)).digest("hex").slice(0, 16)}`;
}

/**
 * Writes `<prefix>.private.pem` (mode 0600) and `<prefix>.public.pem` (0644), a new Ed25519 pair. Refuses to
 * overwrite either file, and the folder must exist.
 */
export async function generateKeys(prefix: string): Promise<{ privatePath: string; publicPath: string; id: string }> {
  const privatePath = resolve(`${prefix}${PRIVATE_SUFFIX}`);
  const publicPath = resolve(`${prefix}${PUBLIC_SUFFIX}`);
  const folder = await stat(dirname(privatePath)).catch(() => undefined);
  if (!folder?.isDirectory()) throw new BundleError("input", `--out ${prefix}: folder ${dirname(privatePath)} does not exist; create it first (mkdir -p ${dirname(privatePath)}) or choose another prefix`);
  for (const path of [privatePath, publicPath]) {
    if (await stat(path).catch(() => undefined)) throw new BundleError("input", `${path} already exists; keys are never overwritten: choose another --out prefix, or move the old pair away first`);
  }
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  // "wx": fails if the file appeared meanwhile; the private key is created 0600, never readable by others.
  const writeNew = async (path: string, text: string, mode: number) => {
    const handle = await open(path, "wx", mode);
    try {
      await handle.writeFile(text);
      await handle.chmod(mode);
    } finally {
      await handle.close();
    }
  };
  await writeNew(privatePath, privateKey.export({ format: "pem", type: "pkcs8" }) as string, 0o600);
  try {
    await writeNew(publicPath, publicKey.export({ format: "pem", type: "spki" }) as string, 0o644);
  } catch (error) {
    await rm(privatePath, { force: true });
    throw new BundleError("input", `cannot write ${publicPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; no key written`);
  }
  return { privatePath, publicPath, id: keyId(publicKey) };
}

async function readKeyFile(path: string, option: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new BundleError("input", `${option} ${path}: cannot read it (${code}); give the path of a PEM key file`);
  }
}

/** Reads an Ed25519 private key (PKCS#8 PEM). The key's bytes never appear in any message. */
export async function readPrivateKey(path: string): Promise<KeyObject> {
  const pem = await readKeyFile(path, "--sign-key");
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new BundleError("input", `--sign-key ${path}: not a PEM private key; give the ${PRIVATE_SUFFIX} file written by \`modelfleet keys generate\``);
  }
  if (key.asymmetricKeyType !== "ed25519") throw new BundleError("input", `--sign-key ${path}: a ${key.asymmetricKeyType ?? "unknown"} key; bundles are signed with Ed25519 keys (\`modelfleet keys generate\`)`);
  return key;
}

/** Reads a trusted Ed25519 public key (SPKI PEM). A private key is refused: only the public half goes to a site. */
export async function readTrustedKey(path: string): Promise<TrustedKey> {
  const pem = await readKeyFile(path, "--trust-key");
  if (/PRIVATE KEY-----/.test(pem.toString("latin1"))) throw new BundleError("input", `--trust-key ${path}: this is a private key; give the ${PUBLIC_SUFFIX} file (the private key stays with whoever signs)`);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new BundleError("input", `--trust-key ${path}: not a PEM public key; give the ${PUBLIC_SUFFIX} file written by \`modelfleet keys generate\``);
  }
  if (key.asymmetricKeyType !== "ed25519") throw new BundleError("input", `--trust-key ${path}: a ${key.asymmetricKeyType ?? "unknown"} key; bundles are signed with Ed25519 keys`);
  return { path, id: keyId(key), key };
}

/**
 * Signs the exact bytes of `bundleJsonPath` with the Ed25519 key at `privateKeyPath`, writing the raw 64-byte
 * signature to `bundle.json.sig` beside it (replacing an older one). Called by `createBundle` after bundle.json is
 * written and before the bundle is archived or renamed into place.
 */
export async function signBundleJson(bundleJsonPath: string, privateKeyPath: string): Promise<{ path: string; id: string }> {
  const key = await readPrivateKey(privateKeyPath);
  const data = await readFile(bundleJsonPath);
  const signature = sign(null, data, key);
  const path = join(dirname(bundleJsonPath), BUNDLE_SIG);
  await writeFile(path, signature);
  return { path, id: keyId(createPublicKey(key)) };
}

/** The trusted key that made `signature` over `data`, or why none did. */
export function checkSignature(data: Buffer, signature: Buffer, keys: readonly TrustedKey[]): { signer: TrustedKey } | { problem: string } {
  if (signature.length !== SIGNATURE_BYTES) return { problem: `${BUNDLE_SIG} is ${signature.length} bytes, not a raw ${SIGNATURE_BYTES}-byte Ed25519 signature` };
  const signer = keys.find((k) => verify(null, data, k.key, signature));
  if (signer) return { signer };
  const ids = keys.map((k) => `${k.id} (${basename(k.path)})`).join(", ");
  return { problem: `the signature of bundle.json is not valid for any trusted key [${ids}]: bundle.json was changed after signing, or it was signed by a key this site does not trust` };
}
