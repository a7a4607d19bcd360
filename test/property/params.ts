/**
 * Run parameters shared by every property: a fixed seed per property (so a run is reproducible and CI is not
 * flaky), overridable from the environment to replay a reported failure or to search harder:
 *
 *   PROPERTY_SEED=<seed> PROPERTY_PATH=<path> npx vitest run test/property/<file>   replay one counterexample
 *   PROPERTY_RUNS=<n>                                                               more (or fewer) cases
 *   PROPERTY_SEED=random                                                            a fresh seed, printed on failure
 *
 * fast-check prints `{ seed: …, path: "…", endOnFailure: true }` with a failure; pass those two values back.
 */
import type { Parameters } from "fast-check";

/** A stable seed per property name (FNV-1a), so adding a property does not change the others' cases. */
function seedOf(name: string): number {
  let hash = 0x811c9dc5;
  for (const c of name) hash = Math.imul(hash ^ c.charCodeAt(0), 0x01000193);
  return hash | 0;
}

/**
 * `budgetMs` bounds the whole property, shrinking included: when it runs out, fast-check stops and reports what it
 * has (a failure found so far, shrunk as far as time allowed), so a slow machine cannot stall the suite.
 */
export function propertyParams<T>(name: string, numRuns: number, budgetMs = 20_000): Parameters<T> {
  const seedEnv = process.env["PROPERTY_SEED"];
  const path = process.env["PROPERTY_PATH"];
  const runs = Number(process.env["PROPERTY_RUNS"]);
  const seed = seedEnv === "random" ? Date.now() ^ (Math.random() * 2 ** 31) : seedEnv !== undefined && seedEnv !== "" ? Number(seedEnv) : seedOf(name);
  return {
    seed,
    numRuns: Number.isInteger(runs) && runs > 0 ? runs : numRuns,
    interruptAfterTimeLimit: budgetMs,
    // Running out of time before numRuns is not a failure; a counterexample found before that still is.
    markInterruptAsFailure: false,
    ...(path ? { path, endOnFailure: true } : {}),
  };
}
