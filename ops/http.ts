/** HTTP to an engine for day-2 commands: bounded in time, never following redirects, bodies shown only as excerpts. */
import { redact } from "../secrets/redact.js";

const BODY_EXCERPT = 160;

/** The environment variable day-2 commands read the engines' API key from (never a flag: argv is visible in `ps`). */
export const API_KEY_ENV = "MODELFLEET_API_KEY";

/** What one request got: a status and body, or why there was none. */
export interface Answer {
  readonly status?: number;
  readonly body?: string;
  readonly error?: string;
  readonly ms: number;
}

export async function request(url: string, init: RequestInit, timeoutMs: number): Promise<Answer> {
  const started = performance.now();
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: "error" });
    const body = await response.text();
    return { status: response.status, body, ms: performance.now() - started };
  } catch (error) {
    const ms = performance.now() - started;
    const name = error instanceof Error ? error.name : "";
    if (name === "TimeoutError" || name === "AbortError") return { error: `no answer within ${(timeoutMs / 1000).toFixed(1)} s`, ms };
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : error instanceof Error ? error.message : String(error);
    return { error: `request failed: ${cause}`, ms };
  }
}

export const excerpt = (text: string | undefined) => redact((text ?? "").replace(/\s+/g, " ").trim().slice(0, BODY_EXCERPT));

export function parseJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? "");
  } catch {
    return undefined;
  }
}

