/**
 * Registry benchmark: the router's lookup against a lookup by primary key, on 10,000 entries across three
 * environments, over one connection on loopback; then a reconcile of 200 models (pg path and the Job's psql path).
 * Starts its own PostgreSQL 15 (test/helpers/postgres.ts). Run: node --import tsx bench/registry.ts
 * Aim: router p99 <= 1 ms, router/pk ratio <= 1.5.
 */
import { execa } from "execa";
import pg from "pg";
import { migrateUp } from "../registry/migrate.js";
import { reconcile, reconcileSql } from "../registry/reconcile.js";
import { DEFAULT_STALE_AFTER_SECONDS, ROUTER_QUERY } from "../registry/route.js";
import type { DesiredEntry } from "../registry/types.js";
import { PSQL, startPostgres } from "../test/helpers/postgres.js";

const ENTRIES = 10_000;
const LOOKUPS = 10_000;
const WARMUP = 1_000;
const RECONCILE_MODELS = 200;

/** Deterministic pseudo-random integers (mulberry32), so every run looks up the same keys. */
function random(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below);
  };
}

function percentile(sortedMs: readonly number[], p: number): number {
  return sortedMs[Math.min(sortedMs.length - 1, Math.ceil((p / 100) * sortedMs.length) - 1)] ?? Number.NaN;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const fmt = (ms: number): string => `${ms.toFixed(3)} ms`;

const server = await startPostgres();
try {
  const db = await server.createDatabase({ name: "registry_bench" });
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await migrateUp(client);

  // 10,000 entries: models m00000… spread over three environments; 80% ready and fresh, the rest degraded,
  // disabled or pending, like a fleet with some churn.
  await client.query(
    `INSERT INTO model_registry_entries
       (model_name, deployment_environment, engine, served_model_name, image_digest, deployment_endpoint,
        deployment_namespace, deployment_status, disabled_by, managed_by, last_health_check_at)
     SELECT name, env, CASE WHEN i % 4 = 0 THEN 'llamacpp' ELSE 'vllm' END, 'org/' || name,
            'sha256:' || repeat(lpad(to_hex(i % 16), 1, '0'), 64), name || '-' || env || '.inference.svc.cluster.local:8000',
            'inference', status, CASE WHEN status = 'disabled' THEN 'operator' END, 'stack', now()
     FROM (SELECT i, 'm' || lpad((i / 3)::text, 5, '0') AS name,
                  (ARRAY['development', 'staging', 'production'])[i % 3 + 1] AS env,
                  CASE WHEN i % 10 < 8 THEN 'ready' WHEN i % 10 = 8 THEN 'degraded'
                       WHEN i % 20 = 9 THEN 'disabled' ELSE 'pending' END AS status
           FROM generate_series(0, $1 - 1) AS i) AS rows`,
    [ENTRIES],
  );
  await client.query("VACUUM ANALYZE model_registry_entries");

  const { rows: ready } = await client.query<{ id: string; model_name: string; deployment_environment: string }>(
    "SELECT id::text AS id, model_name, deployment_environment FROM model_registry_entries WHERE deployment_status = 'ready' ORDER BY id",
  );
  const { rows: plan } = await client.query<{ "QUERY PLAN": string }>(
    `EXPLAIN ${ROUTER_QUERY.replace("$1", "'m00001'").replace("$2", "'staging'").replace("$3", "90")}`,
  );

  const routerQuery = { name: "router", text: ROUTER_QUERY };
  const pkQuery = { name: "pk", text: "SELECT deployment_endpoint FROM model_registry_entries WHERE id = $1" };
  const pick = random(42);
  const router: number[] = [];
  const pk: number[] = [];
  for (let i = 0; i < WARMUP + LOOKUPS; i++) {
    const row = ready[pick(ready.length)]!;
    // Interleaved on one connection, so both see the same machine state.
    const r = await timed(async () => {
      const { rowCount } = await client.query({ ...routerQuery, values: [row.model_name, row.deployment_environment, DEFAULT_STALE_AFTER_SECONDS] });
      if (rowCount !== 1) throw new Error(`router lookup missed ${row.deployment_environment}/${row.model_name}`);
    });
    const k = await timed(() => client.query({ ...pkQuery, values: [row.id] }));
    if (i >= WARMUP) {
      router.push(r);
      pk.push(k);
    }
  }
  router.sort((a, b) => a - b);
  pk.sort((a, b) => a - b);

  // Reconcile of 200 models into staging (which already holds ~3,300 entries): insert, no-op re-run, digest change.
  const desired = (digestHex: string): DesiredEntry[] =>
    Array.from({ length: RECONCILE_MODELS }, (_, i) => ({
      modelName: `r${String(i).padStart(3, "0")}`,
      engine: "vllm",
      servedModelName: `org/r${i}`,
      imageDigest: `sha256:${digestHex.repeat(64)}`,
      endpoint: `r${i}-staging.inference.svc.cluster.local:8000`,
      namespace: "inference",
    }));
  const reconcileInsert = await timed(() => reconcile(client, desired("a"), "staging"));
  const reconcileNoop = await timed(() => reconcile(client, desired("a"), "staging"));
  const reconcileChange = await timed(() => reconcile(client, desired("b"), "staging"));
  const script = reconcileSql(desired("c"), "staging");
  const psqlEnv = { PGHOST: server.host, PGPORT: String(server.port), PGUSER: server.user, PGPASSWORD: server.password, PGDATABASE: db.name };
  const reconcilePsql = await timed(() => execa(PSQL, ["-X", "-q", "-f", "-"], { input: script, env: psqlEnv, extendEnv: false }));
  await client.end();

  const ratio50 = percentile(router, 50) / percentile(pk, 50);
  const ratio99 = percentile(router, 99) / percentile(pk, 99);
  const index = /Index (?:Only )?Scan using (\S+)/.exec(plan.map((p) => p["QUERY PLAN"]).join("\n"))?.[1] ?? "no index (!)";
  console.log(`registry benchmark: ${ENTRIES} entries in 3 environments, ${LOOKUPS} lookups each on one loopback connection`);
  console.log(`router query plan:  ${index}`);
  console.log(`router lookup:      p50 ${fmt(percentile(router, 50))}  p99 ${fmt(percentile(router, 99))}`);
  console.log(`primary-key lookup: p50 ${fmt(percentile(pk, 50))}  p99 ${fmt(percentile(pk, 99))}`);
  console.log(`reconcile ${RECONCILE_MODELS} models: insert ${fmt(reconcileInsert)}, no-op re-run ${fmt(reconcileNoop)}, digest change ${fmt(reconcileChange)}, via psql (process included) ${fmt(reconcilePsql)}`);
  console.log(`ratio router/pk:    p50 ${ratio50.toFixed(2)}  p99 ${ratio99.toFixed(2)}  (aim <= 1.5)`);
  console.log(`router p99 <= 1 ms: ${percentile(router, 99) <= 1 ? "yes" : "NO"}`);
} finally {
  await server.stop();
}
