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

  const health = await request(`${base}/health`, { method: "GET" }, probeTimeout);
  if (health.status !== 200) {
    checks.push(failed("health", health, "/health is not 200 (still loading answers 503)"));
    return result();
  }
  checks.push({ check: "health", ok: true, ms: health.ms, detail: "200" });

  const models = await request(`${base}/v1/models`, { method: "GET", headers }, probeTimeout);
  if (models.status !== 200) {
    const hint = models.status === 401 ? " (wrong or missing API key: set MODELFLEET_API_KEY)" : "";
    checks.push(failed("models", models, `/v1/models${hint}`));
    return result();
  }
  const listed = parseJson(models.body) as { data?: Array<{ id?: unknown }> } | undefined;
  const ids = Array.isArray(listed?.data) ? listed.data.map((m) => String(m?.id)) : [];
  if (!ids.includes(target.servedModelName)) {
    checks.push({
      check: "models",
      ok: false,
      ms: models.ms,
      detail: `/v1/models does not list "${target.servedModelName}" (it lists ${ids.length ? ids.map((id) => `"${excerpt(id)}"`).join(", ") : "nothing"}); the engine serves another model or none`,
    });
    return result();
  }
  checks.push({ check: "models", ok: true, ms: models.ms, detail: `lists "${target.servedModelName}"` });

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
