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

/** Renders a received value compactly: JSON, cut at 80 characters. Never pass a secret here. */
export function renderValue(value: unknown): string {
  if (value === undefined) return "nothing";
  const json = JSON.stringify(value);
  if (json === undefined) return String(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

/** `models[2].vllm.dtype` from zod's `["models", 2, "vllm", "dtype"]`. */
export function joinPath(parts: readonly PropertyKey[]): string {
  let out = "";
  for (const part of parts) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}
