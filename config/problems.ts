import { looksLikeCredential } from "../secrets/redact.js";

/** One thing wrong with a stack config, found while parsing; all of them are reported together. */
export interface ConfigProblem {
  /** Dot path from the `modelfleet:` namespace, e.g. `models[2].gpus` or `images.vllm`. */
  readonly path: string;
  /** What is wrong, what is allowed and how to fix it. */
  readonly message: string;
  /** The value received, already rendered for humans; omitted for secrets and for missing keys. */
  readonly received?: string;
}

/** Every problem in one stack file; thrown once, after all of them were collected. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(formatProblems(file, problems));
    this.name = "ConfigError";
  }
}

export function formatProblem(file: string, p: ConfigProblem): string {
  const received = p.received === undefined ? "" : ` (received ${p.received})`;
  return `${file}: ${p.path || "(top level)"}: ${p.message}${received}`;
}

export function formatProblems(file: string, problems: readonly ConfigProblem[]): string {
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  return [`${file}: ${count} in the stack config:`, ...problems.map((p) => `  - ${formatProblem(file, p)}`)].join("\n");
}

/** How much of a received value a config message shows. */
export const RECEIVED_MAX_CHARS = 80;

/** Strings longer than this are checked for token shapes on their first part only (what a message could show). */
const CREDENTIAL_SCAN_CHARS = 4096;

/**
 * Whether a text holds `scheme://…@` anywhere: a URL with userinfo (a user, a password or a token). Linear: each
 * authority is scanned once (it ends at the next `/`, so also at the next `://`).
 */
export function hasUrlWithUserinfo(text: string): boolean {
  for (let i = text.indexOf("://"); i !== -1; i = text.indexOf("://", i + 3)) {
    if (i === 0 || !/[a-z0-9+.-]/i.test(text.charAt(i - 1))) continue;
    for (let j = i + 3; j < text.length; j++) {
      const c = text.charAt(j);
      if (c === "@") return true;
      if (c === "/" || c === "?" || c === "#" || /\s/.test(c)) break;
    }
  }
  return false;
}

/**
 * Whether a value holds something that must not be echoed: a string that looks like a credential (secrets/redact.ts)
 * or holds a URL with userinfo anywhere, checked through nested objects and arrays (keys included). Linear in the
 * value's size; a value too large or too deep to walk is treated as holding one, so it is never shown.
 */
export function holdsCredential(value: unknown): boolean {
  let budget = 100_000;
  const walk = (node: unknown, depth: number): boolean => {
    if (--budget < 0 || depth > 64) return true;
    if (typeof node === "string") return hasUrlWithUserinfo(node) || looksLikeCredential(node.length > CREDENTIAL_SCAN_CHARS ? node.slice(0, CREDENTIAL_SCAN_CHARS) : node);
    if (node === null || typeof node !== "object") return false;
    if (Array.isArray(node)) return node.some((item) => walk(item, depth + 1));
    return Object.entries(node).some(([key, item]) => (namesSecret(key) && item !== null && item !== "") || walk(key, depth + 1) || walk(item, depth + 1));
  };
  return walk(value, 0);
}

/** Key words whose value is a secret wherever they appear (`password`, `apiKey`, `hf_token`, `credentials`…). */
const SECRET_KEY_WORDS = /pass(?:word|wd|phrase)?|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|credential|auth/i;

/** Whether a config key (or the last key of a dot path) names a secret, so its value is never shown. */
export function namesSecret(key: string): boolean {
  return SECRET_KEY_WORDS.test(key);
}

/**
 * Renders a received value compactly: JSON, cut at 80 characters with "…(N chars)". A value that looks like a
 * credential or holds a URL with userinfo, at any depth, is never shown: only its type and size are.
 */
export function renderValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (holdsCredential(value)) {
    const kind = Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : `a ${typeof value}`;
    return `${kind}, not shown: it looks like a credential or a URL with userinfo`;
  }
  const json = JSON.stringify(value);
  if (json === undefined) return String(value);
  return json.length > RECEIVED_MAX_CHARS ? `${json.slice(0, RECEIVED_MAX_CHARS)}…(${json.length} chars)` : json;
}

/** A key as a path shows it: cut when long, hidden when it looks like a credential (keys are input too). */
function shownKey(key: string): string {
  if (holdsCredential(key)) return "<key not shown: looks like a credential>";
  return key.length > 63 ? `${key.slice(0, 40)}…(${key.length} chars)` : key;
}

/** `models[2].vllm.dtype` from zod's `["models", 2, "vllm", "dtype"]`; map keys from the input are made safe to show. */
export function joinPath(parts: readonly PropertyKey[]): string {
  let out = "";
  for (const part of parts) {
    if (typeof part === "number") out += `[${part}]`;
    else {
      const key = shownKey(String(part));
      out += out === "" ? key : `.${key}`;
    }
  }
  return out;
}
