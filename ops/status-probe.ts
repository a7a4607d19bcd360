/**
 * `/health` (no key needed on vLLM or llama-server) and `/v1/models` (with the key when the stack guards its
 * engines): the engine part of `modelfleet status`, and the first two checks of `modelfleet verify`. Bounded in time
 * by ops/http.ts; the key never appears in a result.
 */
import { API_KEY_ENV, excerpt, parseJson, request } from "./http.js";
import type { ProbeView } from "./status.js";

export interface ProbeTarget {
  readonly url: string;
  readonly via: ProbeView["via"];
  readonly servedModelName: string;
}

export interface ProbeOptions {
  /** Bearer key for `/v1/models`. @default no Authorization header */
  readonly apiKey?: string;
  /** The stack guards `/v1/*` and no key was given: `/v1/models` is not asked. @default false */
  readonly keyMissing?: boolean;
  /** Per-request timeout in ms. */
  readonly timeoutMs: number;
}

/** What the probe saw, and how long each request took (ms; `models` absent when it was not asked). */
export interface EngineProbe {
  readonly view: ProbeView;
  readonly ms: { readonly health: number; readonly models?: number };
}

export async function probeEngine(target: ProbeTarget, options: ProbeOptions): Promise<EngineProbe> {
  const base = target.url.replace(/\/+$/, "");
  const scrub = (text: string) => (options.apiKey ? text.split(options.apiKey).join("***") : text);
  let modelsMs: number | undefined;
  const view = (health: ProbeView["health"], models: ProbeView["models"]): EngineProbe => ({
    view: {
      url: base,
      via: target.via,
      health: { ...health, detail: scrub(health.detail) },
      models: { ...models, detail: scrub(models.detail), served: models.served.map(scrub) },
    },
    ms: { health: healthMs, ...(modelsMs === undefined ? {} : { models: modelsMs }) },
  });
  const health = await request(`${base}/health`, { method: "GET" }, options.timeoutMs);
  const healthMs = health.ms;
  if (health.status !== 200) {
    const detail = health.error ?? `HTTP ${health.status}${health.status === 503 ? " (still loading, or unhealthy)" : ""}${health.body ? ` ${excerpt(health.body)}` : ""}`;
    return view({ ok: false, detail }, { checked: false, ok: false, served: [], detail: "not asked: /health failed" });
  }
  const healthy = { ok: true, detail: "200" };
  if (options.keyMissing) {
    return view(healthy, { checked: false, ok: false, served: [], detail: `not asked: the stack's engines need an API key; set ${API_KEY_ENV}` });
  }
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  const models = await request(`${base}/v1/models`, { method: "GET", headers }, options.timeoutMs);
  modelsMs = models.ms;
  if (models.status !== 200) {
    const hint = models.status === 401 ? ` (wrong or missing API key: set ${API_KEY_ENV})` : "";
    const detail = models.error ?? `HTTP ${models.status}${hint}${models.body ? ` ${excerpt(models.body)}` : ""}`;
    return view(healthy, { checked: true, ok: false, served: [], detail });
  }
  const listed = parseJson(models.body) as { data?: Array<{ id?: unknown }> } | undefined;
  const served = (Array.isArray(listed?.data) ? listed.data.map((m) => excerpt(String(m?.id))) : []).sort();
  if (served.includes(target.servedModelName)) {
    return view(healthy, { checked: true, ok: true, served, detail: served.map((s) => `"${s}"`).join(", ") });
  }
  const detail = `does not list "${target.servedModelName}" (it lists ${served.length ? served.map((s) => `"${s}"`).join(", ") : "nothing"}); the engine serves another model or none`;
  return view(healthy, { checked: true, ok: false, served, detail });
}
