/**
 * `verifyModel` against stand-in engines: small local HTTP servers that answer like vLLM / llama-server would
 * (healthy, loading, slow, failing, hanging, serving another model, guarding /v1 with a key). They are stand-ins,
 * not engines: the engines need GPUs and weights this machine does not have.
 */
import { afterEach, describe, expect, it } from "vitest";
import { verifyModel, type VerifyTarget } from "../../ops/verify.js";
import { closeStandIns, KEY, servers, standIn } from "../helpers/engine-stand-in.js";

afterEach(closeStandIns);

const target = (baseUrl: string, overrides: Partial<VerifyTarget> = {}): VerifyTarget => ({
  model: "qwen3",
  servedModelName: "qwen3",
  baseUrl,
  latencyBudgetSeconds: 1,
  ...overrides,
});

describe("verifyModel against stand-in engines", () => {
  it("passes a healthy engine: health, the served name listed, a completion within budget, with the key sent", async () => {
    const engine = await standIn({ requireKey: true });
    const result = await verifyModel(target(engine.url), { apiKey: KEY });
    expect(result.ok).toBe(true);
    expect(result.checks.map((c) => [c.check, c.ok])).toEqual([["health", true], ["models", true], ["completion", true]]);
    expect(result.completionMs).toBeGreaterThanOrEqual(0);
    expect(result.completionMs).toBeLessThan(1000);
    expect(engine.seen).toEqual(["GET /health", "GET /v1/models", "POST /v1/chat/completions"]);
  });

  it("fails a slow engine on the budget and says so", async () => {
    const engine = await standIn({ completionDelayMs: 1500 });
    const result = await verifyModel(target(engine.url, { latencyBudgetSeconds: 0.5 }));
    expect(result.ok).toBe(false);
    const completion = result.checks.find((c) => c.check === "completion")!;
    expect(completion.ok).toBe(false);
    expect(completion.detail).toBe("no answer within the budget of 0.5 s");
    expect(completion.ms).toBeLessThan(1400);
  });

  it("fails a 500, naming the status and an excerpt of the body, never the key even when echoed", async () => {
    const engine = await standIn({ completionStatus: 500, completionBody: (req) => JSON.stringify({ error: "engine dead", echoed: req.headers.authorization }) });
    const result = await verifyModel(target(engine.url), { apiKey: KEY });
    const completion = result.checks.find((c) => c.check === "completion")!;
    expect(result.ok).toBe(false);
    expect(completion.detail).toContain("/v1/chat/completions: HTTP 500");
    expect(completion.detail).toContain("engine dead");
    expect(JSON.stringify(result)).not.toContain(KEY);
  });

  it("fails a hanging /health within the probe timeout and stops there", async () => {
    const engine = await standIn({ health: () => undefined });
    const started = Date.now();
    const result = await verifyModel(target(engine.url), { probeTimeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result.checks).toEqual([expect.objectContaining({ check: "health", ok: false, detail: "no answer within 0.3 s" })]);
    expect(engine.seen).toEqual(["GET /health"]);
  });

  it("fails an engine still loading (503) and one serving another model, naming what it lists", async () => {
    const loading = await standIn({ health: (res) => res.writeHead(503).end('{"error":{"message":"Loading model"}}') });
    const first = await verifyModel(target(loading.url));
    expect(first.checks[0]).toMatchObject({ check: "health", ok: false });
    expect(first.checks[0]!.detail).toContain("HTTP 503");
    expect(first.checks[0]!.detail).toContain("Loading model");

    const other = await standIn({ models: ["llama-router-default"] });
    const second = await verifyModel(target(other.url));
    expect(second.ok).toBe(false);
    expect(second.checks.at(-1)).toMatchObject({ check: "models", ok: false });
    expect(second.checks.at(-1)!.detail).toBe('/v1/models does not list "qwen3" (it lists "llama-router-default"); the engine serves another model or none');
  });

  it("fails a guarded engine without the key with a hint, and an unreachable endpoint with the cause", async () => {
    const guarded = await standIn({ requireKey: true });
    const result = await verifyModel(target(guarded.url));
    expect(result.checks.at(-1)!.detail).toContain("HTTP 401");
    expect(result.checks.at(-1)!.detail).toContain("MODELFLEET_API_KEY");

    const closed = await standIn({});
    const url = closed.url;
    await new Promise((resolve) => { servers[servers.length - 1]!.close(resolve); });
    servers.pop();
    const unreachable = await verifyModel(target(url));
    expect(unreachable.checks[0]!.ok).toBe(false);
    expect(unreachable.checks[0]!.detail).toMatch(/^request failed: .*ECONNREFUSED/);
  });

  it("fails a 200 that is not a chat completion", async () => {
    const engine = await standIn({ completionBody: () => '{"content":"OK"}' });
    const result = await verifyModel(target(engine.url));
    expect(result.checks.at(-1)!.detail).toContain("not an OpenAI chat completion");
  });
});
