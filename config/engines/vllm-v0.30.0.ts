import { vllmContract } from "./vllm-common.js";

/** The cli_args.py copy the v0.30.0 contract's differences were read in. */
export const VLLM_V0_30_0_CLI_ARGS = "vllm/entrypoints/openai/cli_args.py@005223338608bc94fd165a4f976c102a57bd1fc4";

/**
 * vLLM v0.30.0 (`vllm/vllm-openai:v0.30.0`), the newest release found: an issue of 2026-09-23 (AMD-AGI/TraceLens#1055)
 * calls it "Vllm's latest official release", and no later release was found in the issue, docs or code corpora.
 * v0.28.0 was released as commit 2cf0a6915ce544dc493a0990f2ea38d81601128a (coreweave/ml-containers#218); no stored
 * file is at that commit either. No shipped stack pins v0.30.0 yet.
 *
 * The v0.30.0 tag commit is not stored in the index. What differs from v0.11.0 was read in the newest stored copy of
 * the frontend arguments, `vllm/entrypoints/openai/cli_args.py@005223338608bc94fd165a4f976c102a57bd1fc4` (main
 * branch, date not shown, so it may be a little older or newer than the release):
 * - `api_key: list[str] | None` ("require one of these keys"); its doc: the key "only authenticates endpoints under
 *   the `/v1`, `/v2`, and `/inference` path prefixes", `/invocations` stays open. So `auth` guards those three
 *   prefixes (the older stored api_server.py@048027fbbdb8c252560205a6159ba3288ede291e guarded /v1 only; listing
 *   more guarded prefixes can only make the probe check stricter). /health and /metrics stay open.
 * - `allow_credentials = False`, `allowed_origins = ["*"]` (and methods/headers), parsed with `json.loads`:
 *   unchanged, so `--allowed-origins` keeps its JSON-list format and the closed-CORS rule holds.
 * - `host`, `port`: unchanged.
 * Also read in copies newer than the pins (see vllm-common.ts): speculative.py@f19b16d accepts `method: draft_model`
 * in its config and folds the MTP names into `mtp`; this contract still lists only the methods every vLLM contract
 * runs (SUPPORTED_SPECULATIVE_METHODS), which is the safe side. gguf_loader.py@0328802: GGUF references as before.
 * Not re-read for this release (carried from v0.11.0): the engine flags (arg_utils.py), env vars, metric names.
 * Shutdown is carried too (`shutdown.drainsInFlight: false`): vLLM's own account of PRs #34730/#36666 (2026) is that
 * they add `--shutdown-timeout`, default 0 = abort requests in flight; our builders never pass it, so a release that
 * has it behaves as recorded here (a stored api_server.py@0001948bc76939369ca855c90b36d81256477e85 already calls
 * `async_llm.shutdown(timeout=vllm_config.shutdown_timeout)`).
 * The parse-back tests prove that our builders stay inside that list, not that v0.30.0 kept every entry.
 */
export const VLLM_V0_30_0 = vllmContract(
  "v0.30.0",
  `github.com/vllm-project/vllm v0.30.0 (tag commit not stored); differences read in ${VLLM_V0_30_0_CLI_ARGS} (main, undated); ` +
    "also vllm/config/speculative.py@f19b16d95e4395790661f4835e4436bc3dd5d9c7; rest carried from v0.11.0",
  { auth: { kind: "guardedPrefixes", prefixes: ["/v1", "/v2", "/inference"] } },
);
