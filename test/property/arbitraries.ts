/**
 * Arbitraries for the property layer: injected secrets (with a marker that lets a property find any echo of them),
 * hostile scalar values, mutations of the shipped stack files, hostile YAML text and mutated Kubernetes objects.
 * Every generator is pure; nothing here touches the file system.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { stringify } from "yaml";
import { readStackValues } from "../../config/load.js";

export const ROOT = join(import.meta.dirname, "..", "..");
export const STACKS = ["development", "staging", "production"] as const;
export type ShippedStack = (typeof STACKS)[number];

/** The `modelfleet:` map of each shipped `Pulumi.<stack>.yaml`, namespace stripped. */
export const SHIPPED: Readonly<Record<ShippedStack, Record<string, unknown>>> = Object.fromEntries(
  STACKS.map((stack) => {
    const file = `Pulumi.${stack}.yaml`;
    return [stack, readStackValues(readFileSync(join(ROOT, file), "utf8"), file)];
  }),
) as Record<ShippedStack, Record<string, unknown>>;

// ---------------------------------------------------------------------------------------------------------------
// Secrets

/** Every injected secret contains this marker; it appears nowhere in the repository's stack files or messages. */
export const SECRET_MARKER = "sEcReT";

/** The marker fully percent-encoded (`%73%45…`), matched case-insensitively. */
const MARKER_ENCODED = [...SECRET_MARKER].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("");

/** The forms in which an injected secret could leak into output: raw / decoded, fully percent-encoded, base64. */
export function leakedSecrets(output: string): string[] {
  const found: string[] = [];
  if (output.includes(SECRET_MARKER)) found.push(SECRET_MARKER);
  if (output.toLowerCase().includes(MARKER_ENCODED)) found.push(MARKER_ENCODED);
  return found;
}

const ALNUM = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"];

/** A secret's text: the marker plus random characters, in the shapes real secrets take. */
export const secretText: fc.Arbitrary<string> = fc
  .tuple(fc.string({ unit: fc.constantFrom(...ALNUM), minLength: 4, maxLength: 24 }), fc.nat(5))
  .map(([rest, shape]) => {
    const core = `${SECRET_MARKER}${rest}`;
    switch (shape) {
      case 0:
        return core;
      case 1:
        return `hf_${core}${"x".repeat(Math.max(0, 34 - core.length))}`;
      case 2:
        return `sk-${core}${"Q".repeat(40)}`;
      case 3:
        return `p@ss:w/rd#${core}?&=% `;
      case 4:
        return [...core].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("");
      default:
        return `${core}\u00e9\u4e2d`;
    }
  });

/** URLs with the secret as the password, percent-encoded or raw, in the schemes the project uses. */
export const urlWithPassword: fc.Arbitrary<string> = fc
  .tuple(secretText, fc.constantFrom("postgresql", "postgres", "https", "http", "ssh"), fc.boolean(), fc.constantFrom("db.internal", "127.0.0.1:1", "h", "[::1]:1"))
  .map(([secret, scheme, encode, host]) => `${scheme}://user:${encode ? encodeURIComponent(secret) : secret}@${host}/db?sslmode=disable`);

/** A secret in any form a stack file can hold: string, URL, nested under a secret-looking key, in a list. */
export const secretValue: fc.Arbitrary<unknown> = fc.oneof(
  secretText,
  urlWithPassword,
  secretText.map((s) => ({ value: s })),
  secretText.map((s) => [s]),
  secretText.map((s) => ({ password: s, nested: { token: s } })),
  secretText.map((s) => ({ secure: s, extra: s })),
  fc.tuple(fc.constantFrom("password", "apiKey", "token", "HF_TOKEN", "clientSecret"), secretText).map(([k, s]) => ({ [k]: s })),
);

/** Keys a secret may sit under anywhere in a document without being the loader's declared secret keys. */
export const secretLikeKey = fc.constantFrom("password", "apiKey", "token", "hfToken", "clientSecret", "privateKey", "dbPassword");

// ---------------------------------------------------------------------------------------------------------------
// Hostile scalars and values

/**
 * Deeply nested arrays, built without recursion so building them cannot overflow. fast-check prints them as
 * `deepArray(<depth>)` (its own printer would overflow on a counterexample holding one).
 */
const DEEP = new WeakMap<object, number>();

export function deepArray(depth: number, leaf: unknown = "x"): unknown {
  let node: unknown = leaf;
  for (let i = 0; i < depth; i++) node = [node];
  Object.defineProperty(node, fc.toStringMethod, { value: () => `deepArray(${depth})`, enumerable: false });
  DEEP.set(node as object, depth);
  return node;
}

/** A copy with every deepArray replaced by a placeholder string, and the YAML flow text each stands for. */
function withoutDeep(value: unknown, found: Map<string, string>, seen = new Set<unknown>()): unknown {
  if (value === null || typeof value !== "object") return value;
  const depth = DEEP.get(value);
  if (depth !== undefined) {
    const token = `__deep_${found.size}__`;
    found.set(token, `${"[".repeat(depth)}x${"]".repeat(depth)}`);
    return token;
  }
  if (seen.has(value)) return null;
  seen.add(value);
  const out = Array.isArray(value) ? value.map((v) => withoutDeep(v, found, seen)) : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutDeep(v, found, seen)]));
  seen.delete(value);
  return out;
}

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.constantFrom("", " ", "\u0000", "a\u0000b", "..", "../..", "../../../etc/passwd", "/", "/etc/passwd", "~", "\\..\\..", "%2e%2e%2f", "\u202e", "\ud800", "*", "${HOME}", "$(id)", "-rf", "--help", "null", "true", "0x10", "1e309"),
  fc.integer({ min: 1, max: 200_000 }).map((n) => "A".repeat(n)),
  fc.integer({ min: 1, max: 2_000 }).map((n) => "../".repeat(n)),
);

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, -1, 1, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, Number.MIN_VALUE, 1e308, -1e308, 0.5, 1e-9),
);

/** Any value a stack value or an object field might be replaced with, including huge and deeply nested ones. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 3, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 20_000 }).map((d) => deepArray(d)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 50_000 }).map((n) => Array.from({ length: n }, (_, i) => i)) },
  { weight: 1, arbitrary: fc.dictionary(hostileString, fc.string({ maxLength: 10 }), { maxKeys: 4 }) },
);

// ---------------------------------------------------------------------------------------------------------------
// Structural mutations

export type PathPart = string | number;

/** Every path to a value inside `root` (objects and arrays), root excluded, in a stable order. */
export function pathsOf(root: unknown, limit = 5_000, maxDepth = 40): PathPart[][] {
  const out: PathPart[][] = [];
  const walk = (node: unknown, path: PathPart[]): void => {
    if (out.length >= limit || path.length >= maxDepth) return;
    if (Array.isArray(node)) node.forEach((item, i) => (out.push([...path, i]), walk(item, [...path, i])));
    else if (node !== null && typeof node === "object") for (const [k, v] of Object.entries(node)) (out.push([...path, k]), walk(v, [...path, k]));
  };
  walk(root, []);
  return out;
}

function containerAt(root: unknown, path: readonly PathPart[]): Record<PathPart, unknown> | unknown[] | undefined {
  let node: unknown = root;
  for (const part of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PathPart, unknown>)[part];
  }
  return node !== null && typeof node === "object" ? (node as Record<PathPart, unknown>) : undefined;
}

/** One edit at a position chosen by index (taken modulo the number of paths, so it always lands somewhere). */
export type Mutation =
  | { readonly op: "drop"; readonly at: number }
  | { readonly op: "set"; readonly at: number; readonly value: unknown }
  | { readonly op: "add"; readonly at: number; readonly key: string; readonly value: unknown }
  | { readonly op: "duplicate"; readonly at: number }
  | { readonly op: "secret"; readonly at: number; readonly key: string; readonly value: unknown };

export function mutation(value: fc.Arbitrary<unknown> = hostileValue): fc.Arbitrary<Mutation> {
  return fc.oneof(
    fc.record({ op: fc.constant("drop" as const), at: fc.nat() }),
    fc.record({ op: fc.constant("set" as const), at: fc.nat(), value }),
    fc.record({ op: fc.constant("add" as const), at: fc.nat(), key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "toString", "models", "name")), value }),
    fc.record({ op: fc.constant("duplicate" as const), at: fc.nat() }),
    // A secret under a secret-looking key anywhere, or a URL with a password in place of any string.
    fc.record({ op: fc.constant("secret" as const), at: fc.nat(), key: secretLikeKey, value: secretValue }),
  );
}

/**
 * A deep copy of data (maps and lists) without recursion: structuredClone recurses and overflows the stack on a
 * value nested more than a few thousand deep, so an object a first mutation list gave a deepArray could not be
 * mutated again by a second list aimed at the same object. Shared and cyclic values stay shared and cyclic; a
 * deepArray is kept as it is (like `duplicate`, which does not clone: a copy would lose its printer).
 */
function copyData<T>(root: T): T {
  const copies = new Map<object, unknown>();
  const pending: [object, unknown[] | Record<string, unknown>][] = [];
  const copyOf = (value: unknown): unknown => {
    if (value === null || typeof value !== "object" || DEEP.has(value)) return value;
    let copy = copies.get(value);
    if (copy === undefined) {
      const fresh: unknown[] | Record<string, unknown> = Array.isArray(value) ? [] : {};
      copies.set(value, fresh);
      pending.push([value, fresh]);
      copy = fresh;
    }
    return copy;
  };
  const out = copyOf(root);
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [source, target] = next;
    if (Array.isArray(source)) for (const item of source) (target as unknown[]).push(copyOf(item));
    else for (const [key, value] of Object.entries(source)) Object.defineProperty(target, key, { value: copyOf(value), enumerable: true, writable: true, configurable: true });
  }
  return out as T;
}

/** Applies the mutations to a deep copy; paths are recomputed after each edit. */
export function applyMutations(root: Record<string, unknown>, mutations: readonly Mutation[]): Record<string, unknown> {
  const copy = copyData(root);
  for (const m of mutations) {
    const paths = pathsOf(copy);
    if (paths.length === 0) continue;
    const path = paths[m.at % paths.length] as PathPart[];
    const parentPath = path.slice(0, -1);
    const leaf = path[path.length - 1] as PathPart;
    const parent = containerAt(copy, parentPath);
    if (!parent) continue;
    const current = (parent as Record<PathPart, unknown>)[leaf];
    switch (m.op) {
      case "drop":
        if (Array.isArray(parent)) parent.splice(leaf as number, 1);
        else delete (parent as Record<PathPart, unknown>)[leaf];
        break;
      case "set":
        (parent as Record<PathPart, unknown>)[leaf] = m.value;
        break;
      case "add": {
        const target = current !== null && typeof current === "object" ? current : parent;
        if (Array.isArray(target)) target.push(m.value);
        else Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
        break;
      }
      case "duplicate":
        // The same value again (shared, not cloned: a clone would lose deepArray's printer).
        if (Array.isArray(parent)) parent.push(current);
        else (parent as Record<PathPart, unknown>)[`${String(leaf)}2`] = current;
        break;
      case "secret": {
        if (typeof current === "string") {
          (parent as Record<PathPart, unknown>)[leaf] = typeof m.value === "string" && m.value.includes("://") ? m.value : `https://u:${SECRET_MARKER}x@h/${current}`;
        } else {
          const target = current !== null && typeof current === "object" && !Array.isArray(current) ? current : Array.isArray(parent) ? undefined : parent;
          if (target) (target as Record<string, unknown>)[m.key] = m.value;
          else (parent as unknown[]).push({ [m.key]: m.value });
        }
        break;
      }
    }
  }
  return copy;
}

/** A secret in one of the loader's declared secret keys: hfToken, apiKey, registry.url. */
export const declaredSecret: fc.Arbitrary<(values: Record<string, unknown>) => void> = fc
  .tuple(fc.constantFrom("hfToken", "apiKey", "registry.url"), secretValue)
  .map(([key, value]) => (values: Record<string, unknown>) => {
    if (key === "registry.url") {
      const registry = values["registry"];
      values["registry"] = registry !== null && typeof registry === "object" && !Array.isArray(registry) ? { ...registry, url: value } : { url: value };
    } else {
      values[key] = value;
    }
  });

/** A mutated `modelfleet:` map of one shipped stack, with zero or more secrets injected. */
export interface StackCase {
  readonly stack: ShippedStack;
  readonly values: Record<string, unknown>;
}

export const stackValuesCase: fc.Arbitrary<StackCase> = fc
  .record({
    stack: fc.constantFrom(...STACKS),
    mutations: fc.array(mutation(), { maxLength: 4 }),
    secrets: fc.array(declaredSecret, { maxLength: 2 }),
  })
  .map(({ stack, mutations, secrets }) => {
    const values = applyMutations(SHIPPED[stack], mutations);
    for (const inject of secrets) inject(values);
    return { stack, values };
  });

// ---------------------------------------------------------------------------------------------------------------
// YAML text

/** `config:` with `modelfleet:<key>` entries, as a stack file holds them. */
export function stackYaml(values: Record<string, unknown>): string {
  return toYaml({ config: Object.fromEntries(Object.entries(values).map(([k, v]) => [`modelfleet:${k}`, v])) });
}

/** YAML text of a value; deep arrays (which the YAML writer cannot recurse into) are written as flow text. */
export function toYaml(value: unknown): string {
  const found = new Map<string, string>();
  let text = stringify(withoutDeep(value, found), { lineWidth: 0, aliasDuplicateObjects: false });
  for (const [token, flow] of found) text = text.replace(token, flow);
  return text;
}

function aliasBomb(levels: number): string {
  const names = Array.from({ length: levels + 1 }, (_, i) => `l${i}`);
  const lines = [`  x-${names[0]}: &${names[0]} ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`];
  for (let i = 1; i <= levels; i++) lines.push(`  x-${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(",")}]`);
  return lines.join("\n");
}

/** Text-level edits that no object mutation can produce: alias bombs, deep nesting, duplicate keys, tags, NUL. */
export type TextEdit = (text: string) => string;

export const textEdit: fc.Arbitrary<TextEdit> = fc.oneof(
  fc.integer({ min: 2, max: 9 }).map((levels): TextEdit => (t) => t.replace(/^config:\n/, `config:\n${aliasBomb(levels)}\n`)),
  fc.integer({ min: 2, max: 9 }).map((levels): TextEdit => (t) => t.replace(/^config:\n/, `config:\n${aliasBomb(levels)}\n  modelfleet:gpu: *l${levels}\n`).replace(/^ {2}modelfleet:gpu:(?!\s*\*).*(\n {4}.*)*/m, "")),
  fc.integer({ min: 100, max: 30_000 }).map((d): TextEdit => (t) => `${t}  modelfleet:router: ${"[".repeat(d)}${"]".repeat(d)}\n`),
  fc.integer({ min: 100, max: 3_000 }).map((d): TextEdit => (t) => `${t}  modelfleet:monitoring:\n${Array.from({ length: d }, (_, i) => `${"  ".repeat(i + 2)}k${i}:`).join("\n")} x\n`),
  fc.constant<TextEdit>((t) => t.replace(/^( {2}modelfleet:environment:.*)$/m, "$1\n$1")),
  fc.constant<TextEdit>((t) => `${t}  modelfleet:models: &self [*self]\n`),
  fc.constant<TextEdit>((t) => t.replace(/^config:\n/, "config:\n  modelfleet:namespace: &n !!binary aGVsbG8=\n")),
  fc.constant<TextEdit>((t) => `${t}  modelfleet:cors: !custom { allowedOrigins: [a] }\n`),
  fc.constant<TextEdit>((t) => `${t}  modelfleet:gpu: { <<: *nope }\n`),
  fc.nat().map((n): TextEdit => (t) => t.slice(0, n % (t.length + 1))),
  fc.nat().map((n): TextEdit => (t) => { const i = n % (t.length + 1); return `${t.slice(0, i)}\u0000${t.slice(i)}`; }),
  fc.nat().map((n): TextEdit => (t) => { const i = n % (t.length + 1); return `${t.slice(0, i)}\t:\n- [${t.slice(i)}`; }),
  fc.constant<TextEdit>((t) => `\ufeff${t}`),
  fc.constant<TextEdit>((t) => `${t}---\n${t}`),
  secretText.map((s): TextEdit => (t) => `${t}  modelfleet:apiKey: ${JSON.stringify(s)}\n  modelfleet:hfToken: [${JSON.stringify(s)}]\n`),
  secretText.map((s): TextEdit => (t) => `${t}  modelfleet:apiKey: "${s}\n`), // unterminated: the parse error must not echo it
);

export const stackTextCase: fc.Arbitrary<{ stack: ShippedStack; text: string }> = fc
  .record({ base: stackValuesCase, edits: fc.array(textEdit, { maxLength: 2 }) })
  .map(({ base, edits }) => ({ stack: base.stack, text: edits.reduce((text, edit) => edit(text), stackYaml(base.values)) }));
