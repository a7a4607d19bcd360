/**
 * Stand-in engines for tests: small local HTTP servers that answer like vLLM / llama-server would on the paths
 * modelfleet uses (healthy, loading, slow, failing, hanging, serving another model, guarding /v1 with a key). They
 * are stand-ins, not engines: the engines need GPUs and weights this machine does not have.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const KEY = "sk-verify-test-key-0123456789abcdef";

export interface StandIn {
  health?: (res: ServerResponse) => void;
  models?: string[];
  completionDelayMs?: number;
  completionStatus?: number;
  completionBody?: (req: IncomingMessage) => string;
  requireKey?: boolean;
}

export const servers: Server[] = [];

/** Closes every stand-in a test started (afterEach). */
export async function closeStandIns(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => { s.closeAllConnections(); s.close(resolve); })));
}

export async function standIn(behaviour: StandIn): Promise<{ url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.url === "/health") {
      if (behaviour.health) return behaviour.health(res);
      return res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    }
    if (behaviour.requireKey && req.headers.authorization !== `Bearer ${KEY}`) {
      return res.writeHead(401, { "content-type": "application/json" }).end('{"error":"Invalid API Key"}');
    }
    if (req.url === "/v1/models") {
      const data = (behaviour.models ?? ["qwen3"]).map((id) => ({ id, object: "model" }));
      return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ object: "list", data }));
    }
    if (req.url === "/v1/chat/completions" && req.method === "POST") {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        const asked = JSON.parse(body) as { model: string; max_tokens: number };
        const answer = () => {
          if (res.destroyed) return;
          const status = behaviour.completionStatus ?? 200;
          const text = behaviour.completionBody
            ? behaviour.completionBody(req)
            : JSON.stringify({ object: "chat.completion", model: asked.model, choices: [{ index: 0, message: { role: "assistant", content: "OK" }, finish_reason: "stop" }] });
          res.writeHead(status, { "content-type": "application/json" }).end(text);
        };
        setTimeout(answer, behaviour.completionDelayMs ?? 0);
      });
      return;
    }
    res.writeHead(404).end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

