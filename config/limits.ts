/**
 * Bounds on what a stack config may hold and on the stack file itself, in one place. Everything here is checked
 * before the value is used (and, for files, before the file is read into memory).
 */

/** A stack file (`Pulumi.<stack>.yaml`) larger than this is refused before it is read. Real ones are a few kB. */
export const STACK_FILE_MAX_BYTES = 1024 * 1024;
/** YAML aliases (`*name`) allowed in a stack file; expansion bombs ("billion laughs") need many more. */
export const STACK_FILE_MAX_ALIASES = 100;
/** Nesting depth of maps and sequences in a stack file. */
export const STACK_FILE_MAX_DEPTH = 32;

/** Values (scalars, maps, lists) in one stack config, counted before parsing: also bounds the Pulumi path. */
export const STACK_VALUES_MAX_NODES = 100_000;

/** Model names are DNS labels: they become object names and label values. */
export const MODEL_NAME_MAX_LENGTH = 63;
/** Longest path-like value (e.g. a model's `source.file`), as most file systems allow for one name. */
export const CONFIG_PATH_MAX_LENGTH = 255;
/** Longest plain string anywhere else in a stack config (URLs, origins, image references). */
export const CONFIG_STRING_MAX_LENGTH = 2048;

/** Longest list in a stack config (models, CORS origins, tolerations). */
export const CONFIG_LIST_MAX_ITEMS = 256;

/**
 * Upper bounds of the numbers a stack config holds: far above any real deployment, low enough that no value
 * overflows a Kubernetes int32 field or turns into a timer Node clamps.
 */
export const CONFIG_NUMBER_LIMITS = {
  replicas: 1_000,
  gpus: 64,
  parallelSize: 64,
  startupBudgetSeconds: 86_400,
  staleAfterSeconds: 86_400,
  gibibytes: 65_536,
  cpu: 1_024,
  sizeBillions: 100_000,
  tokens: 100_000_000,
  threads: 1_024,
  gpuLayers: 100_000,
  gpuNodes: 10_000,
} as const;

/** How much of a bad value a message shows. */
export const PREVIEW_MAX_CHARS = 40;

/**
 * A bad value as an error message shows it: JSON-quoted, cut to about 40 characters with "…(N chars)" when longer,
 * control characters escaped. Never pass a secret here.
 */
export function preview(value: string, max = PREVIEW_MAX_CHARS): string {
  if (value.length <= max) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, max))}…(${value.length} chars)`;
}

/** Default freshness threshold: a ready registry entry whose last health check is older stops being routable (three health-checker rounds). */
export const DEFAULT_STALE_AFTER_SECONDS = 30;
