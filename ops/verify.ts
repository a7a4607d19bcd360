/**
 * `modelfleet verify`: the platform's acceptance test as code. For one model: `/health` answers 200, `/v1/models`
 * lists the served name, and one small chat completion answers within the model's latency budget.
 *
 * Engine facts relied on (config/engines/): both vLLM and llama-server answer `/health` without a key; with a key
 * set, vLLM guards `/v1/*` and llama-server everything but `/health`, `/v1/health`, `/models` and `/v1/models`
 * (`Authorization: Bearer <key>`, sent on every /v1 request here either way); both serve the OpenAI `/v1/models`
 * list (`data[].id` is vLLM's `--served-model-name`, llama-server's `--alias`) and `/v1/chat/completions`.
 */
import { excerpt, parseJson, request, type Answer } from "./http.js";
import { probeEngine } from "./status-probe.js";

/** One model to verify and where it answers. */
export interface VerifyTarget {
  /** Model name in the stack config. */
  readonly model: string;
  /** The `model` clients send; must appear in `/v1/models`. */
  readonly servedModelName: string;
  /** Base URL, e.g. `http://qwen3-8b-staging.modelfleet-staging.svc.cluster.local:8000` or a port-forward. */
  readonly baseUrl: string;
  /** Seconds the completion may take. */
  readonly latencyBudgetSeconds: number;
}

export interface VerifyOptions {
  /** Bearer key for `/v1/*`; never printed. @default no Authorization header */
  readonly apiKey?: string;
  /** Timeout of `/health` and `/v1/models`, in ms. @default 10000 */
  readonly probeTimeoutMs?: number;
}

export type CheckName = "health" | "models" | "completion";

export interface CheckResult {
  readonly check: CheckName;
  readonly ok: boolean;
  /** Wall time of the request in ms (up to the timeout when it did not answer). */
  readonly ms: number;
  /** What was seen, one line, never a secret. */
  readonly detail: string;
}

export interface VerifyResult {
  readonly model: string;
  readonly baseUrl: string;
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
  /** Completion latency in ms when the completion answered. */
  readonly completionMs?: number;
}

/** What the completion asks: short, deterministic, cheap on any model. */
const PROMPT = "Reply with the single word OK.";
const DEFAULT_PROBE_TIMEOUT_MS = 10_000;

const failed = (check: CheckName, answer: Answer, what: string): CheckResult => ({
  check,
  ok: false,
  ms: answer.ms,
  detail: answer.error ?? `${what}: HTTP ${answer.status}${answer.body ? ` ${excerpt(answer.body)}` : ""}`,
});

export async function verifyModel(target: VerifyTarget, options: VerifyOptions = {}): Promise<VerifyResult> {
  const base = target.baseUrl.replace(/\/+$/, "");
  const probeTimeout = options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  const checks: CheckResult[] = [];
  // An engine may echo request headers in an error body: the key never leaves this function.
  const scrub = (text: string) => (options.apiKey ? text.split(options.apiKey).join("***") : text);
  const result = (completionMs?: number): VerifyResult => ({
    model: target.model,
    baseUrl: base,
    ok: checks.length === 3 && checks.every((c) => c.ok),
    checks: checks.map((c) => ({ ...c, detail: scrub(c.detail) })),
    ...(completionMs === undefined ? {} : { completionMs }),
  });

  // The same /health and /v1/models probe `modelfleet status` makes.
  const probed = await probeEngine({ url: base, via: "--endpoint", servedModelName: target.servedModelName }, { ...(options.apiKey ? { apiKey: options.apiKey } : {}), timeoutMs: probeTimeout });
  const { health, models } = probed.view;
  // An HTTP answer is shown with the path it came from; no answer (timeout, refused) is shown as it is.
  const onPath = (path: string, detail: string) => (detail.startsWith("HTTP") ? `${path}: ${detail}` : detail.startsWith("does not list") ? `${path} ${detail}` : detail);
  checks.push({ check: "health", ok: health.ok, ms: probed.ms.health, detail: health.ok ? "200" : onPath("/health", health.detail) });
  if (!health.ok) return result();
  const modelsDetail = models.ok ? `lists "${target.servedModelName}"` : onPath("/v1/models", models.detail);
  checks.push({ check: "models", ok: models.ok, ms: probed.ms.models ?? 0, detail: modelsDetail });
  if (!models.ok) return result();

  const budgetMs = target.latencyBudgetSeconds * 1000;
  const body = JSON.stringify({ model: target.servedModelName, messages: [{ role: "user", content: PROMPT }], max_tokens: 8, temperature: 0 });
  const completion = await request(`${base}/v1/chat/completions`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body }, budgetMs);
  if (completion.error) {
    checks.push({ check: "completion", ok: false, ms: completion.ms, detail: completion.error.startsWith("no answer") ? `no answer within the budget of ${target.latencyBudgetSeconds} s` : completion.error });
    return result();
  }
  if (completion.status !== 200) {
    checks.push(failed("completion", completion, "/v1/chat/completions"));
    return result(completion.ms);
  }
  const answer = parseJson(completion.body) as { choices?: Array<{ message?: { content?: unknown } }> } | undefined;
  const first = Array.isArray(answer?.choices) ? answer.choices[0] : undefined;
  if (!first || typeof first.message?.content !== "string") {
    checks.push({ check: "completion", ok: false, ms: completion.ms, detail: `200 but not an OpenAI chat completion (no choices[0].message.content): ${excerpt(completion.body)}` });
    return result(completion.ms);
  }
  const within = completion.ms <= budgetMs;
  checks.push({
    check: "completion",
    ok: within,
    ms: completion.ms,
    detail: within
      ? `answered in ${(completion.ms / 1000).toFixed(2)} s (budget ${target.latencyBudgetSeconds} s)`
      : `answered in ${(completion.ms / 1000).toFixed(2)} s, over the budget of ${target.latencyBudgetSeconds} s`,
  });
  return result(completion.ms);
}
