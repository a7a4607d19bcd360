/**
 * Shared detection of secret-looking names and values, used by no-hardcoded-secrets over manifests, embedded config
 * files and stack config. Names are split into words (`POSTGRES_PASSWORD`, `postgresPassword`, `api-key` →
 * postgres/password, api/key) so that `TOKENIZERS_PARALLELISM`, `MAX_TOKENS`, `max_tokens` and `tokenizer` are
 * not mistaken for secrets.
 */

/** Words that make a name secret-looking on their own. */
const SECRET_WORDS = new Set([
  "password", "passwd", "pwd", "pass", "passphrase", "secret", "secrets", "token", "credential", "credentials",
  "bearer", "apikey", "privatekey",
]);
/** Run-together spellings (`postgrespassword`, `hftoken`, `clientsecret`) end in one of these. */
const SECRET_SUFFIXES = ["password", "passwd", "pwd", "secret", "token", "apikey", "privatekey", "credential", "credentials", "bearer"];
/** Two-word secrets: `api key`, `private key`, `signing key`, `encryption key`. */
const SECRET_PAIRS: ReadonlyArray<readonly [string, string]> = [
  ["api", "key"],
  ["private", "key"],
  ["signing", "key"],
  ["encryption", "key"],
];
/**
 * A last word that makes the name a reference to or a property of a secret, not the secret: `secretName`,
 * `secretKeyRef`, `PASSWORD_FILE`, `TOKEN_PATH`, `TOKEN_TTL`, `password_length`, `token_url`.
 */
const REFERENCE_SUFFIXES = new Set([
  "name", "names", "ref", "refs", "file", "files", "path", "dir", "directory", "mount", "type", "url", "uri",
  "endpoint", "length", "len", "ttl", "expiry", "expiration", "timeout", "seconds", "limit", "count", "size", "enabled",
  "required", "policy", "header", "env", "id", "namespace", "provider", "store",
]);
/** A first word that makes the name a reference: `existingSecret`. */
const REFERENCE_PREFIXES = new Set(["existing"]);
/** Well-known non-secret names that would otherwise match (`PWD` is the shell's working directory). */
const NOT_SECRET_NAMES = new Set(["pwd", "oldpwd"]);

/** Splits a name into lower-case words: camelCase, snake_case, kebab-case, dotted and `modelfleet:` prefixes. */
export function nameWords(name: string): string[] {
  // One pass over the characters: a word ends before an upper-case letter that follows a lower-case letter or digit
  // (`postgresPassword`), and before the last capital of a run followed by a lower-case letter (`HFToken` → hf,
  // token). Regular expressions with `[A-Z]+` backtrack quadratically on a 200,000-capital key.
  const words: string[] = [];
  for (const chunk of name.match(/[A-Za-z0-9]+/g) ?? []) {
    let start = 0;
    for (let i = 1; i < chunk.length; i++) {
      const previous = chunk[i - 1]!;
      const current = chunk[i]!;
      const next = chunk[i + 1];
      const upper = current >= "A" && current <= "Z";
      const split = upper && ((previous >= "a" && previous <= "z") || (previous >= "0" && previous <= "9") || (previous >= "A" && previous <= "Z" && next !== undefined && next >= "a" && next <= "z"));
      if (split) {
        words.push(chunk.slice(start, i).toLowerCase());
        start = i;
      }
    }
    words.push(chunk.slice(start).toLowerCase());
  }
  return words;
}

/** Answers of isSecretLikeName by name: the same few keys (`name`, `image`, `value`…) recur in every object. */
const secretLikeNames = new Map<string, boolean>();
const MAX_REMEMBERED_NAMES = 10_000;

/** Does this key or variable name look like it holds a secret? */
export function isSecretLikeName(name: string): boolean {
  const known = secretLikeNames.get(name);
  if (known !== undefined) return known;
  const answer = judgeName(name);
  // Long names (a 200,000-character key) are judged each time rather than kept; the memory stays bounded.
  if (name.length <= 200) {
    if (secretLikeNames.size >= MAX_REMEMBERED_NAMES) secretLikeNames.clear();
    secretLikeNames.set(name, answer);
  }
  return answer;
}

function judgeName(name: string): boolean {
  const bare = name.includes(":") ? name.slice(name.lastIndexOf(":") + 1) : name;
  if (NOT_SECRET_NAMES.has(bare.toLowerCase())) return false;
  const words = nameWords(bare);
  if (words.length === 0) return false;
  if (REFERENCE_SUFFIXES.has(words[words.length - 1]!) || REFERENCE_PREFIXES.has(words[0]!)) return false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (SECRET_WORDS.has(word)) return true;
    if (word.length > 6 && SECRET_SUFFIXES.some((suffix) => word.endsWith(suffix))) return true;
    const next = words[i + 1];
    if (next !== undefined && SECRET_PAIRS.some(([a, b]) => word === a && next === b)) return true;
  }
  return false;
}

/**
 * A value that is filled in elsewhere: `${VAR}`, `$(VAR)` (Kubernetes env expansion), `$VAR`, `{{ .Values.x }}`.
 * Partly templated values (`postgres://app:${DB_PASSWORD}@db`) pass as well.
 */
export function isTemplated(value: string): boolean {
  return /\$\{[^}]*\}|\$\([A-Za-z_][\w.-]*\)|\{\{.*\}\}/.test(value) || /^\$[A-Za-z_]\w*$/.test(value.trim());
}

/** Values a secret-looking name may hold without being a secret: empty, booleans, null. */
export function isNonSecretLiteral(value: string): boolean {
  return /^\s*$/.test(value) || /^(true|false|yes|no|on|off|null|none|~)$/i.test(value.trim());
}

/** A literal that a secret-looking name must not hold. */
export function isLiteralSecretValue(value: unknown): value is string | number {
  if (typeof value === "number") return true;
  if (typeof value !== "string") return false;
  return !isNonSecretLiteral(value) && !isTemplated(value);
}

/** What a secret-looking value is, for the message, or undefined. */
export function secretValueKind(value: string): string | undefined {
  if (value.length < 8 || !MARKERS.test(value)) return undefined;
  for (const [pattern, kind] of VALUE_PATTERNS) {
    pattern.lastIndex = 0;
    if (pattern.test(value)) return kind;
  }
  const credentials = URL_CREDENTIALS.exec(value);
  if (credentials && !isTemplated(credentials[1]!) && !/^\*+$/.test(credentials[1]!)) return "a URL with an embedded password (scheme://user:password@host)";
  return undefined;
}

const VALUE_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  [/-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/, "a PEM private key"],
  [/(?:^|[^A-Za-z0-9_])hf_[A-Za-z0-9]{30,}/, "a Hugging Face token (hf_…)"],
  [/(?:^|[^A-Za-z0-9_])(?:ghp|gho|ghs|ghu)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{40,}/, "a GitHub token"],
  [/(?:^|[^A-Za-z0-9])sk-(?:proj-)?[A-Za-z0-9_-]{32,}/, "an API secret key (sk-…)"],
  [/(?:^|[^A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/, "a JSON Web Token"],
];
/** Cheap pre-filter: every pattern below contains one of these. */
const MARKERS = /-----BEGIN|hf_|gh[opsu]_|github_pat_|sk-|eyJ|:\/\//;
const URL_CREDENTIALS = /[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s:/@]+:([^\s@/]+)@/;

/** Shannon entropy in bits per character. */
export function entropyBitsPerChar(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/**
 * A string that looks randomly generated (a key or token): 16+ characters without spaces, 3.5+ bits per character,
 * and either three character classes or a long hex string.
 */
export function isHighEntropy(value: string): boolean {
  if (value.length < 16 || /\s/.test(value) || isTemplated(value) || value.startsWith("/") || value.includes("://")) return false;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(value)).length;
  const hex = /^[0-9a-f]{32,}$/i.test(value);
  if (!hex && classes < 3) return false;
  return entropyBitsPerChar(value) >= (hex ? 3 : 3.5);
}

/** `<redacted, 14 chars>`: what a message shows instead of a secret. */
export function redacted(value: unknown): string {
  const text = typeof value === "string" ? value : String(value);
  return `<redacted, ${text.length} chars>`;
}

/** Does this key hold CORS origins? (`cors`, `CORS_ORIGINS`, `allowed_origins`, `allowOrigins`, `Access-Control-Allow-Origin`.) */
export function isCorsName(name: string): boolean {
  const flat = name.toLowerCase().replace(/[^a-z0-9]/g, "");
  return flat.includes("cors") || flat.includes("allowedorigin") || flat.includes("alloworigin");
}

/**
 * The origins in a CORS setting: a list, a JSON / Python list literal (`["*"]`, `['*']`), or a comma/space separated
 * string. Each element is unquoted and trimmed.
 */
export function originList(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => (typeof v === "string" ? [v.trim()] : []));
  if (typeof value !== "string") return [];
  const text = value.trim();
  if (text.startsWith("[")) {
    for (const candidate of [text, text.replace(/'/g, '"')]) {
      try {
        const parsed: unknown = JSON.parse(candidate);
        if (Array.isArray(parsed)) return originList(parsed);
      } catch {
        // not JSON; fall through to the lenient split
      }
    }
  }
  return text
    .replace(/^\[|\]$/g, "")
    .split(/[\s,]+/)
    .map((v) => v.replace(/^["']|["']$/g, "").trim())
    .filter((v) => v !== "");
}

export function hasWildcardOrigin(value: unknown): boolean {
  return originList(value).includes("*");
}
