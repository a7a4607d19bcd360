/**
 * Bundle signing keys and signatures (#11.1): Ed25519 PEM keys from `generateKeys`, a raw detached signature over
 * bundle.json's exact bytes, checked here by Node and by the real `openssl pkeyutl` the docs show.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { generateKeyPairSync } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { BundleError } from "../../bundle/errors.js";
import { checkSignature, generateKeys, readPrivateKey, readTrustedKey, signBundleJson } from "../../bundle/sign.js";

const work = mkdtempSync(join(tmpdir(), "modelfleet-sign-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let counter = 0;
const folder = () => mkdtempSync(join(work, `case-${++counter}-`));

const opensslVerify = (publicKey: string, data: string, sig: string) =>
  execa("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", publicKey, "-rawin", "-in", data, "-sigfile", sig], { reject: false });

describe("keys generate", () => {
  it("writes a 0600 PKCS#8 private key and a public SPKI key, both PEM, and names the key", async () => {
    const dir = folder();
    const keys = await generateKeys(join(dir, "release"));
    expect(keys.privatePath).toBe(join(dir, "release.private.pem"));
    expect(keys.publicPath).toBe(join(dir, "release.public.pem"));
    expect(statSync(keys.privatePath).mode & 0o777).toBe(0o600);
    expect(readFileSync(keys.privatePath, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(readFileSync(keys.publicPath, "utf8")).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(keys.id).toMatch(/^ed25519:[0-9a-f]{16}$/);
    // openssl reads both as Ed25519.
    expect((await execa("openssl", ["pkey", "-in", keys.privatePath, "-noout", "-text"])).stdout).toContain("ED25519 Private-Key");
  });

  it("refuses to overwrite either file, and a prefix in a missing folder", async () => {
    const dir = folder();
    const first = await generateKeys(join(dir, "release"));
    const before = readFileSync(first.privatePath);
    await expect(generateKeys(join(dir, "release"))).rejects.toThrow(`${first.privatePath} already exists; keys are never overwritten`);
    expect(readFileSync(first.privatePath).equals(before)).toBe(true);
    rmSync(first.privatePath);
    await expect(generateKeys(join(dir, "release"))).rejects.toThrow(`${first.publicPath} already exists`);
    const error = await generateKeys(join(dir, "nope", "release")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).kind).toBe("input");
    expect((error as Error).message).toBe(`--out ${join(dir, "nope", "release")}: folder ${join(dir, "nope")} does not exist; create it first (mkdir -p ${join(dir, "nope")}) or choose another prefix`);
  });
});

describe("signBundleJson", () => {
  it("writes a raw 64-byte Ed25519 signature that openssl pkeyutl -rawin verifies, and that fails after one changed byte", async () => {
    const dir = folder();
    const keys = await generateKeys(join(dir, "k"));
    const bundleJson = join(dir, "bundle.json");
    writeFileSync(bundleJson, '{"schemaVersion":1}\n');
    const signed = await signBundleJson(bundleJson, keys.privatePath);
    expect(signed).toEqual({ path: join(dir, "bundle.json.sig"), id: keys.id });
    expect(readFileSync(signed.path)).toHaveLength(64);
    const ok = await opensslVerify(keys.publicPath, bundleJson, signed.path);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("Signature Verified Successfully");
    expect(checkSignature(readFileSync(bundleJson), readFileSync(signed.path), [await readTrustedKey(keys.publicPath)])).toMatchObject({ signer: { id: keys.id } });
    writeFileSync(bundleJson, '{"schemaVersion":2}\n');
    const bad = await opensslVerify(keys.publicPath, bundleJson, signed.path);
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toContain("Signature Verification Failure");
    expect(checkSignature(readFileSync(bundleJson), readFileSync(signed.path), [await readTrustedKey(keys.publicPath)])).toMatchObject({ problem: expect.stringMatching(/^the signature of bundle\.json is not valid for any trusted key/) });
  });

  it("a signature that is not 64 bytes is named as such", async () => {
    const dir = folder();
    const keys = await generateKeys(join(dir, "k"));
    expect(checkSignature(Buffer.from("{}"), Buffer.from("c2lnbmF0dXJl", "base64"), [await readTrustedKey(keys.publicPath)])).toEqual({ problem: "bundle.json.sig is 9 bytes, not a raw 64-byte Ed25519 signature" });
  });
});

describe("reading keys: clear refusals, never the key's bytes", () => {
  it.each([
    ["a private key given as --trust-key", "trust", (k: { privatePath: string }) => k.privatePath, /^--trust-key .*: this is a private key; give the \.public\.pem file/],
    ["a public key given as --sign-key", "sign", (k: { publicPath: string }) => k.publicPath, /^--sign-key .*: not a PEM private key; give the \.private\.pem file/],
    ["a missing file", "trust", () => "/nonexistent/key.pem", /^--trust-key \/nonexistent\/key\.pem: cannot read it \(ENOENT\); give the path of a PEM key file$/],
    ["a file that is not PEM", "trust", () => "/etc/hostname", /^--trust-key \/etc\/hostname: not a PEM public key/],
  ])("%s", async (_name, which, path, message) => {
    const keys = await generateKeys(join(folder(), "k"));
    const error = await (which === "trust" ? readTrustedKey(path(keys)) : readPrivateKey(path(keys))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("BEGIN");
  });

  it("an RSA key is refused: bundles are signed with Ed25519", async () => {
    const dir = folder();
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeFileSync(join(dir, "rsa.pem"), privateKey.export({ format: "pem", type: "pkcs8" }));
    writeFileSync(join(dir, "rsa.pub.pem"), publicKey.export({ format: "pem", type: "spki" }));
    await expect(readPrivateKey(join(dir, "rsa.pem"))).rejects.toThrow(/: a rsa key; bundles are signed with Ed25519 keys/);
    await expect(readTrustedKey(join(dir, "rsa.pub.pem"))).rejects.toThrow(/: a rsa key; bundles are signed with Ed25519 keys/);
  });
});
