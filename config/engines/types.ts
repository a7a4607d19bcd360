/**
 * An engine contract: what one engine version accepts and does, as data read from that version's source. The
 * builders render only what a contract allows, and `checkEngineContainer` (policies/engine-contracts.ts) parses a rendered container
 * back against it. Every fact names its source (file and tag/commit of the engine) in a comment next to it.
 */

/** The format a flag's value must have. */
export type ValueFormat =
  | { readonly kind: "switch" }
  | { readonly kind: "int"; readonly min?: number }
  | { readonly kind: "float"; readonly min?: number; readonly max?: number }
  | { readonly kind: "enum"; readonly values: readonly string[] }
  | { readonly kind: "string" }
  /** An absolute path inside the container. */
  | { readonly kind: "path" }
  /** An http(s) URL. */
  | { readonly kind: "url" }
  /** A JSON value (object or list); `jsonList` checks it is a list of strings. */
  | { readonly kind: "json" }
  | { readonly kind: "jsonList" };

export interface FlagSpec {
  readonly value: ValueFormat;
  /** Other spellings of the same flag (`-m` for `--model`). */
  readonly aliases?: readonly string[];
}

/** Which request paths need the API key once one is configured. */
export type AuthRule =
  /** Only paths starting with one of these prefixes are guarded (vLLM: `/v1`). */
  | { readonly kind: "guardedPrefixes"; readonly prefixes: readonly string[] }
  /** Every path is guarded except these exact ones (llama.cpp: `/health`, `/v1/health`). */
  | { readonly kind: "allExcept"; readonly open: readonly string[] };

export interface CorsContract {
  /** The flag carrying the allowed origin(s). */
  readonly originsFlag: string;
  /** How the flag's value is read: a JSON list of origins, or one value written verbatim into the header. */
  readonly originsFormat: "jsonList" | "verbatimSingle";
  /** What the engine allows when the flag is absent. */
  readonly defaultOrigins: string;
  /** The flag that turns credentials off, when the engine has one. */
  readonly credentialsOffFlag?: string;
  /** Whether credentials are allowed when no flag says otherwise. */
  readonly defaultCredentials: boolean;
}

export interface EngineContract {
  readonly engine: "vllm" | "llamacpp";
  /** The engine release, e.g. `v0.11.0` or `b11206`. */
  readonly version: string;
  /** Where the facts were read: repository, ref, and how close that ref is to `version`. */
  readonly source: string;
  /** The command the image runs (our builders replace the entrypoint). */
  readonly command: readonly string[];
  /** The first argument is the model (vLLM's `vllm serve <model>`). */
  readonly positionalModel: boolean;
  /**
   * Whether `--flag=value` is read as the flag with a value (Python argparse: yes). llama.cpp's parser looks the whole
   * token up as a flag name, so `--ctx-size=8192` is an unknown argument there and the server exits.
   */
  readonly inlineValues: boolean;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** Environment variables the engine reads, with what for. */
  readonly env: Readonly<Record<string, string>>;
  /** Environment variables that must be set in our pods (any one of each group). */
  readonly requiredEnv: readonly (readonly string[])[];
  /** How the engine is given an API key: flags and env vars. */
  readonly apiKey: { readonly flags: readonly string[]; readonly env: readonly string[] };
  readonly auth: AuthRule;
  /** A path answering 200 only once the model is loaded, and one answering while the process lives. */
  readonly readiness: { readonly ready: string; readonly live: string; readonly semantics: string };
  readonly metrics: { readonly path: string; readonly names: readonly string[]; readonly labels: readonly string[] };
  readonly cors: CorsContract;
  /** vLLM: the `method` values of `--speculative-config` this version runs. */
  readonly speculativeMethods?: readonly string[];
  /**
   * The gauge of requests waiting for a free slot, one series per pod: what the autoscalers scale on
   * (components/scaling/autoscaler.ts). Always one of `metrics.names`.
   */
  readonly queueMetric: string;
  /** The gauge of requests being generated now (one of `metrics.names`). */
  readonly runningMetric: string;
  readonly shutdown: ShutdownContract;
}

/** What the engine does when the kubelet sends SIGTERM (components/scaling/drain.ts sizes the pod's drain from it). */
export interface ShutdownContract {
  /** Whether SIGTERM lets in-flight requests finish before the process exits. */
  readonly drainsInFlight: boolean;
  /**
   * Seconds the engine itself may spend after SIGTERM finishing requests as our builders start it (0: it does not
   * drain, so the pod's preStop must outlast the longest stream).
   */
  readonly drainSeconds: number;
  /** Seconds the process needs after SIGTERM to stop its HTTP server and free the GPU without being killed. */
  readonly exitSeconds: number;
  /** What SIGTERM does, as read in the source. */
  readonly onSigterm: string;
  /** Where it was read: `file@commit`. */
  readonly source: string;
}

/** A problem found by parsing a rendered container back against its contract. */
export interface ContractProblem {
  /** The flag, env var, probe or metric the problem is about. */
  readonly subject: string;
  readonly message: string;
}
