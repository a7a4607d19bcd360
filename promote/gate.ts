import type { ClientBase } from "pg";
import type { StackConfig } from "../config/types.js";
import { lastVerification } from "../registry/verifications.js";

/** Why a promoted model is not proven in the source environment. */
export interface GateFailure {
  readonly model: string;
  readonly reason: string;
}

/**
 * `--require-ready`: every affected model (see `affectedModels`) must be `ready` in the registry for the source
 * environment, running the source's image digest, with a health check fresher than `staleAfterSeconds`. Names not
 * in the source stack are skipped (removed models have nothing to prove). Failures come sorted by model name.
 */
export async function readinessGate(client: ClientBase, source: StackConfig, models: readonly string[], staleAfterSeconds: number): Promise<GateFailure[]> {
  const failures: GateFailure[] = [];
  for (const name of [...models].sort()) {
    const model = source.models.find((m) => m.name === name);
    if (!model) continue;
    const { rows } = await client.query<{ deployment_status: string; image_digest: string | null; checked: boolean; fresh: boolean | null }>(
      `SELECT deployment_status, image_digest, last_health_check_at IS NOT NULL AS checked,
              last_health_check_at >= now() - make_interval(secs => $3) AS fresh
       FROM model_registry_entries WHERE model_name = $1 AND deployment_environment = $2`,
      [name, source.environment, staleAfterSeconds],
    );
    const row = rows[0];
    const digest = source.images[model.engine].digest ?? null;
    if (!row) failures.push({ model: name, reason: `not in the registry for ${source.environment}` });
    else if (row.deployment_status !== "ready") failures.push({ model: name, reason: `${row.deployment_status} in ${source.environment}, not ready` });
    else if (row.image_digest !== digest) failures.push({ model: name, reason: `${source.environment} runs ${row.image_digest ?? "no digest"}, the stack pins ${digest ?? "no digest"}` });
    else if (!row.checked) failures.push({ model: name, reason: `never health-checked in ${source.environment}` });
    else if (!row.fresh) failures.push({ model: name, reason: `last health check in ${source.environment} is older than ${staleAfterSeconds}s` });
  }
  return failures;
}

/**
 * `--require-verified <minutes>`: every affected model must have passed `modelfleet verify --record` in the source
 * environment within `withinMinutes`, on the image digest the source stack pins (the one being promoted). Names not in
 * the source stack are skipped. Failures come sorted by model name.
 */
export async function verificationGate(client: ClientBase, source: StackConfig, models: readonly string[], withinMinutes: number): Promise<GateFailure[]> {
  const failures: GateFailure[] = [];
  for (const name of [...models].sort()) {
    const model = source.models.find((m) => m.name === name);
    if (!model) continue;
    const last = await lastVerification(client, name, source.environment);
    const digest = source.images[model.engine].digest ?? null;
    const env = source.environment;
    if (!last) failures.push({ model: name, reason: `not in the registry for ${env}` });
    else if (last.outcome === null || last.ageSeconds === null) failures.push({ model: name, reason: `never verified in ${env}: run \`modelfleet verify --stack ${source.stack} --model ${name} --record\`` });
    else if (last.outcome !== "passed") failures.push({ model: name, reason: `the last verification in ${env} failed` });
    else if (last.digest !== digest) failures.push({ model: name, reason: `verified in ${env} on ${last.digest ?? "no digest"}, but the stack pins ${digest ?? "no digest"}: verify again after the rollout` });
    else if (last.ageSeconds > withinMinutes * 60) {
      failures.push({ model: name, reason: `last verified in ${env} ${Math.floor(last.ageSeconds / 60)} minute(s) ago, more than ${withinMinutes}` });
    }
  }
  return failures;
}
