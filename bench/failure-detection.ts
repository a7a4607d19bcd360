/**
 * Issue #13: time from an engine going dark to `route` refusing it. Runs the real health checker script
 * (components/registry/scripts.ts HEALTH_SH, with sh, psql and wget) against a real PostgreSQL and a stand-in engine
 * (a local HTTP server, not an engine) with every interval divided by SCALE, then scales the measured times back.
 * Run: node --import tsx bench/failure-detection.ts
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import pg from "pg";
import { HEALTH_INTERVAL_SECONDS, HEALTH_MISSES, healthScripts } from "../components/registry/scripts.js";
import { DEFAULT_STALE_AFTER_SECONDS } from "../config/limits.js";
import { migrateUp } from "../registry/migrate.js";
import { reconcile } from "../registry/reconcile.js";
import { route } from "../registry/route.js";
import { PG_BIN, startPostgres } from "../test/helpers/postgres.js";

/** The cluster's 10 s rounds become 1 s here. */
const SCALE = 10;
const RUNS = 5;
const AIM_SECONDS = 30;

const interval = HEALTH_INTERVAL_SECONDS / SCALE;
const scripts = mkdtempSync(join(tmpdir(), "modelfleet-bench-health-"));
for (const [file, text] of Object.entries(healthScripts())) writeFileSync(join(scripts, file), text);
// GNU wget retries a refused or timed-out probe; the image's busybox wget tries once.
writeFileSync(join(scripts, "wget"), '#!/bin/sh\nexec /usr/bin/wget --tries=1 "$@"\n', { mode: 0o755 });

const server = await startPostgres();
const results: number[] = [];
try {
  const db = await server.createDatabase({ name: "failure_bench" });
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await migrateUp(client);
  for (let run = 0; run < RUNS; run++) {
    let engine: Server | undefined = createServer((_req, res) => res.writeHead(200).end("ok"));
    await new Promise<void>((resolve) => engine!.listen(0, "127.0.0.1", resolve));
    const endpoint = `127.0.0.1:${(engine.address() as AddressInfo).port}`;
    await reconcile(client, [{ modelName: "m", engine: "vllm", servedModelName: "m", imageDigest: null, endpoint, namespace: "inference" }], "staging");
    await client.query("UPDATE model_registry_entries SET deployment_status = 'ready', last_health_check_at = now()");
    const checker = execa("/bin/sh", [join(scripts, "health.sh")], {
      env: {
        PATH: `${scripts}:${PG_BIN}:${process.env["PATH"]}`,
        MODELFLEET_DB_URL: db.url,
        MODELFLEET_ENVIRONMENT: "staging",
        MODELFLEET_SCRIPTS: scripts,
        MODELFLEET_HEALTH_INTERVAL_SECONDS: String(interval),
        MODELFLEET_HEALTH_TIMEOUT_SECONDS: "1",
        MODELFLEET_HEALTH_HEARTBEAT: join(scripts, "beat"),
      },
      extendEnv: false,
      reject: false,
    });
    // Let a round or two pass, at a random phase, then the engine goes dark (its pod is gone: connections refused).
    await new Promise((r) => setTimeout(r, 1500 + Math.random() * interval * 1000));
    const dark = performance.now();
    await new Promise((resolve) => {
      engine!.closeAllConnections();
      engine!.close(resolve);
    });
    engine = undefined;
    // Scaled staleness too, so a checker that stopped would also be caught in time.
    const staleAfterSeconds = Math.max(1, Math.round(DEFAULT_STALE_AFTER_SECONDS / SCALE));
    for (;;) {
      const answer = await route(client, "m", "staging", { staleAfterSeconds });
      if (!answer.ok) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    results.push(performance.now() - dark);
    checker.kill("SIGTERM");
    await checker;
  }
  await client.end();
} finally {
  await server.stop();
}

const sorted = [...results].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)]!;
const worst = sorted.at(-1)!;
console.log(`health checker: rounds every ${HEALTH_INTERVAL_SECONDS} s, degraded after ${HEALTH_MISSES} misses, staleness ${DEFAULT_STALE_AFTER_SECONDS} s; measured at 1/${SCALE} scale, ${RUNS} runs`);
console.log(`engine dark → route refuses: median ${(median / 1000).toFixed(2)} s, worst ${(worst / 1000).toFixed(2)} s at 1/${SCALE} scale`);
console.log(`scaled to the cluster: median ${((median * SCALE) / 1000).toFixed(1)} s, worst ${((worst * SCALE) / 1000).toFixed(1)} s (aim ≤ ${AIM_SECONDS} s: ${(worst * SCALE) / 1000 <= AIM_SECONDS ? "met" : "NOT met"})`);
console.log("(the probe timeout does not scale: a refused connection answers at once, as a dead pod's address does)");
