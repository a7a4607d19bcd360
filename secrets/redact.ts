/**
 * One place that knows every secret value of a run and removes it from any text before it is printed, written or
 * thrown: messages that include what a child process said (psql, pg_dump, skopeo...) pass through `redact`.
 *
 * A secret is registered once (`add`, or `addUrl` for a connection URL) and then redacted in every form a tool may
 * echo it: as given, percent-encoded (upper- and lower-case hex), percent-decoded (also when only part of it is
 * valid percent-encoding, e.g. `Pct%zzLeak3`), and JSON-escaped. Longer forms are replaced first, so a secret that
 * contains another one is still removed whole. Secrets of any length are redacted: a one-character password makes
 * messages hard to read, but never leaks.
 */

/** What a secret is replaced with. */
export const REDACTED = "***";

/** `scheme://userinfo@` at the start of a URL (userinfo up to the last `@` before the path, query or fragment). */
const URL_WITH_USERINFO = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]*@/i;

/** `scheme://user:password@` anywhere in a text: the generic net behind the registered secrets. */
const USERINFO_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@'"]*):[^\s/?#'"]*@/gi;

/** A key whose value is a secret, in `key=value` / `key: value` form (connection strings, env files, headers). */
const SECRET_KEY = /(?:pass(?:word|wd|phrase)?|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|credentials?|auth)/i;
const SECRET_ASSIGNMENT = new RegExp(`(?:^|[\\s&?;,{"'])[\\w.-]*${SECRET_KEY.source}[\\w.-]*["']?\\s*[:=]\\s*\\S+`, "i");

/** Well-known shapes of tokens and keys. */
const TOKEN_SHAPES: readonly RegExp[] = [
  /\bgh[pousr]_[A-Za-z0-9]{20,}/, // GitHub tokens
  /\bgithub_pat_[A-Za-z0-9_]{20,}/,
  /\bglpat-[A-Za-z0-9_-]{20,}/, // GitLab
  /\bhf_[A-Za-z0-9]{20,}/, // Hugging Face
  /\bsk-[A-Za-z0-9_-]{20,}/, // OpenAI-style API keys
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/, // Slack
  /\bAKIA[0-9A-Z]{16}\b/, // AWS access key id
  /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/, // JWT
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /^\s*(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}\s*$/i, // an Authorization header value
];

/**
 * Whether a value looks like a credential: a URL with userinfo (`postgres://user:pw@host`, `https://token@host`),
 * a `password=...`/`token: ...`-style assignment, or a well-known token shape (GitHub, GitLab, Hugging Face,
 * OpenAI-style `sk-`, Slack, AWS access key id, JWT, PEM private key, `Bearer ...`). Used to refuse such values where
 * they would be stored or shown (e.g. in a manifest or a flag that is echoed).
 */
export function looksLikeCredential(value: string): boolean {
  const text = value.trim();
  if (text === "") return false;
  if (URL_WITH_USERINFO.test(text)) return true;
  if (SECRET_ASSIGNMENT.test(text)) return true;
  return TOKEN_SHAPES.some((shape) => shape.test(text));
}

/** Decodes every valid `%XX` sequence (as UTF-8 where the bytes form it) and keeps anything else as it is. */
export function lenientPercentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // Decode the runs of valid escapes on their own: `Pct%zzLeak%33` → `Pct%zzLeak3`.
    return text.replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

/** The userinfo of `scheme://userinfo@host...` as written (not decoded), or undefined. */
function rawUserinfo(url: string): string | undefined {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (!scheme) return undefined;
  const rest = url.slice(scheme[0].length);
  // The authority ends at the first `/`, `?` or `#` after the last `@` that comes before them; a password typed
  // with a raw `/` or `@` is still caught by the greedy variant below.
  const end = rest.search(/[?#]/);
  const authorityAndPath = end === -1 ? rest : rest.slice(0, end);
  const at = authorityAndPath.lastIndexOf("@");
  return at === -1 ? undefined : authorityAndPath.slice(0, at);
}

export class Redactor {
  /** Every form of every secret, longest first once sorted. */
  private readonly forms = new Set<string>();
  private sorted: string[] | undefined;

  /** Registers a secret value; it and its encoded/decoded forms are redacted from then on. Empty values are ignored. */
  add(secret: string): void {
    if (secret === "") return;
    const decoded = lenientPercentDecode(secret);
    for (const base of new Set([secret, decoded])) {
      const encoded = encodeURIComponent(base);
      const variants = [
        base,
        encoded,
        encoded.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()),
        encodeURI(base),
        encoded.replace(/%20/g, "+"),
        JSON.stringify(base).slice(1, -1),
      ];
      for (const variant of variants) if (variant !== "") this.forms.add(variant);
    }
    this.sorted = undefined;
  }

  /**
   * Registers the secrets of a connection URL: its password (as written, and decoded) and, when there is one, the
   * whole userinfo and the URL itself. Works on text that is not a valid URL, so a typo cannot let a password through.
   */
  addUrl(url: string): void {
    const userinfo = rawUserinfo(url);
    if (userinfo !== undefined) {
      const colon = userinfo.indexOf(":");
      if (colon !== -1) {
        this.add(userinfo.slice(colon + 1));
        this.add(userinfo);
        this.add(url);
      }
    }
    // What a URL parser sees may differ from the text split above (e.g. a raw `@` in the password).
    try {
      const parsed = new URL(url);
      if (parsed.password) {
        this.add(parsed.password);
        this.add(url);
      }
      for (const [key, value] of parsed.searchParams) if (SECRET_KEY.test(key) && value) this.add(value);
    } catch {
      // Not a URL: the text-based split above is all there is.
    }
  }

  /** Whether any secret has been registered. */
  get size(): number {
    return this.forms.size;
  }

  /** The text with every registered secret, and the password of any `scheme://user:password@` URL, replaced by `***`. */
  redact(text: string): string {
    this.sorted ??= [...this.forms].sort((a, b) => b.length - a.length);
    let out = text;
    for (const form of this.sorted) if (out.includes(form)) out = out.split(form).join(REDACTED);
    return out.replace(USERINFO_IN_TEXT, (_match, prefix: string) => `${prefix}:${REDACTED}@`);
  }
}

/**
 * The process-wide redactor: the CLI registers every secret it is given (database URLs, tokens) here, and every
 * message that includes child-process output passes through it. Library code that is given a URL registers it too,
 * so a caller that forgot is still covered.
 */
export const defaultRedactor = new Redactor();

/** `defaultRedactor.redact(text)`. */
export function redact(text: string): string {
  return defaultRedactor.redact(text);
}
