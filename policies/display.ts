/**
 * How a violation message shows what it found in the object being checked. Objects are untrusted input: a field may
 * hold a URL with a password, a token, a 200,000-character string, a newline or a list nested 20,000 deep. Every value
 * and key a rule puts into a message goes through `shown` (or `shownPath` / `shownLabels`), so a message is one short
 * line and never carries a credential; `finalMessage` is the net behind them, applied to every message once.
 */
import { looksLikeCredential, redact } from "../secrets/redact.js";
import { formatPath, type PathSegment } from "./field-path.js";
import { redacted, secretValueKind } from "./secret-patterns.js";

/** Characters of a value a message shows; the rest is cut (`…`). */
const MAX_SHOWN_CHARS = 120;
/** Path segments a message shows: the first and last few, with the count of those left out between them. */
const PATH_HEAD = 8;
const PATH_TAIL = 4;

/** The authority of a URL, from just after `://` (sticky: matched where `lastIndex` points). */
const AUTHORITY = /[^\s/?#]*/y;

/**
 * `scheme://…@` anywhere in a text: userinfo, with or without a password, before or inside other text. A scan from
 * each `://`, not one regular expression, so a 200,000-character value costs one pass (a regex with a leading
 * `[a-z][a-z0-9+.-]*` retries from every letter of a long run and turns quadratic).
 */
function hasUrlUserinfo(text: string): boolean {
  for (let i = text.indexOf("://"); i !== -1; i = text.indexOf("://", i + 3)) {
    if (i === 0 || !/[a-z0-9+.-]/i.test(text[i - 1]!)) continue;
    AUTHORITY.lastIndex = i + 3;
    if (AUTHORITY.exec(text)?.[0].includes("@")) return true;
  }
  return false;
}

/**
 * Whether a value found in an object must not be shown: a credential by the project's shared test
 * (`looksLikeCredential`), a credential-shaped value (`secretValueKind`), or a URL with userinfo anywhere in it.
 */
export function isCredentialLike(text: string): boolean {
  return hasUrlUserinfo(text) || secretValueKind(text) !== undefined || looksLikeCredential(text);
}

/**
 * A value as a message shows it: a string quoted and escaped (JSON), cut to 120 characters; a credential-like string
 * as `<redacted, N chars>`; a number, boolean or null as written; a list or map by its size only (never walked).
 */
export function shown(value: unknown): string {
  if (typeof value === "string") {
    if (isCredentialLike(value)) return redacted(value);
    return JSON.stringify(value.length > MAX_SHOWN_CHARS ? `${value.slice(0, MAX_SHOWN_CHARS)}…` : value);
  }
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? "" : "s"}`;
  if (value !== null && typeof value === "object") return "a map";
  return String(value);
}

/** A field path for a message: long paths keep their first 8 and last 4 segments; long or credential-like keys are cut or redacted. */
export function shownPath(path: readonly PathSegment[]): string {
  const safe = (segments: readonly PathSegment[]): PathSegment[] =>
    segments.map((s) => (typeof s !== "string" ? s : isCredentialLike(s) ? redacted(s) : s.length > MAX_SHOWN_CHARS ? `${s.slice(0, MAX_SHOWN_CHARS)}…` : s));
  if (path.length <= PATH_HEAD + PATH_TAIL) return formatPath(safe(path));
  const tail = formatPath(safe(path.slice(-PATH_TAIL)));
  return `${formatPath(safe(path.slice(0, PATH_HEAD)))}…(${path.length - PATH_HEAD - PATH_TAIL} more)…${tail.startsWith("[") ? "" : "."}${tail}`;
}

/** Pod labels for a message, `{"app":"qwen"}`, each key and value through `shown`, at most 10 labels. */
export function shownLabels(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels);
  const parts = entries.slice(0, 10).map(([key, value]) => `${shown(key)}:${shown(value)}`);
  if (entries.length > 10) parts.push(`…(${entries.length - 10} more)`);
  return `{${parts.join(",")}}`;
}

/**
 * The net behind `shown`, applied to every violation message: one line (line breaks become spaces), the password of
 * any `scheme://user:password@` URL and every secret registered with the process-wide redactor replaced by `***`.
 */
export function finalMessage(message: string): string {
  return redact(message.replace(/[\r\n\u2028\u2029]+/g, " "));
}

/** A violation's field path: exact (every segment, for tools that locate the field), but a credential-like key redacted. */
export function safeFieldPath(path: readonly PathSegment[]): string {
  return formatPath(path.map((s) => (typeof s === "string" && isCredentialLike(s) ? redacted(s) : s)));
}

/** `kind/namespace/name` for a report, with a credential-like namespace or name redacted. */
export function safeObjectRef(kind: unknown, namespace: unknown, name: unknown): string {
  const part = (value: unknown): string => (typeof value !== "string" ? (value !== null && typeof value === "object" ? "<invalid>" : String(value)) : isCredentialLike(value) ? redacted(value) : value);
  return `${part(kind)}/${namespace === undefined || namespace === null ? "-" : part(namespace)}/${part(name)}`;
}
