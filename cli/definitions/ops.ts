import { Command, InvalidArgumentError } from "commander";
import { envIo, type EnvCliIo } from "../io.js";
import { API_KEY_ENV, DB_URL_ENV, LATENCY_BUDGET_SECONDS, STATUS_PROBE_TIMEOUT_MS } from "./constants.js";

/** commander parser for a whole number of milliseconds; runStatus/runVerify check the range. */
const integer = (value: string): number => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("must be a whole number of milliseconds");
  return Number(value);
};
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export interface VerifyCliOptions {
  stack: string;
  stackFile?: string;
  model?: string;
  endpointOverride?: string;
  json?: boolean;
  record?: boolean;
  dbUrl?: string;
  probeTimeout?: number;
}

/** `modelfleet verify`: the platform's acceptance test, per model (ops/verify.ts). */
export function verifyCommand(io: EnvCliIo = envIo()): Command {
  return new Command("verify")
    .description(`Prove each model of a stack answers: /health 200, /v1/models lists its served name, and one small chat completion within its latency budget (default ${LATENCY_BUDGET_SECONDS} s, model key latencyBudgetSeconds)`)
    .requiredOption("--stack <name>", "stack to verify: reads Pulumi.<name>.yaml")
    .option("--stack-file <path>", "stack file to read instead of Pulumi.<stack>.yaml")
    .option("--model <name>", "verify only this model")
    .option("--endpoint-override <url>", "where the model answers instead of its in-cluster Service (e.g. a kubectl port-forward, http://127.0.0.1:8000); needs --model")
    .option("--json", "print the results as JSON")
    .option("--record", "record each result on the model's registry entry (what `promote --require-verified` reads)")
    .option("--db-url <url>", `registry database URL for --record (default: ${DB_URL_ENV}; prefer the variable: argv is visible in ps)`)
    .option("--probe-timeout <ms>", "timeout of /health and /v1/models in ms (default 10000)", integer)
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText("after", `\nThe engines' API key comes from ${API_KEY_ENV} (never a flag). Exit codes: 0 every model passed; 1 a check failed or a result could not be recorded; 2 bad flags or stack config.`)
    .action(async (options: VerifyCliOptions) => (await import("../commands/ops.js")).runVerifyCommand(options, io));
}

export interface StatusCliOptions {
  stack: string;
  stackFile?: string;
  dbUrl?: string;
  endpoint?: string[];
  kubeconfig?: string;
  json?: boolean;
  probeTimeout?: number;
}

/** `modelfleet status`: desired vs registry vs engine vs rollout, per model (ops/status.ts). */
export function statusCommand(io: EnvCliIo = envIo()): Command {
  return new Command("status")
    .description("Show, per model of a stack, what the config wants, the registry row, what the engine answers and the Deployment's rollout, and every drift between them")
    .requiredOption("--stack <name>", "stack to show: reads Pulumi.<name>.yaml")
    .option("--stack-file <path>", "stack file to read instead of Pulumi.<stack>.yaml")
    .option("--db-url <url>", `registry database URL (default: ${DB_URL_ENV}; neither: the registry is not queried). Prefer the variable: argv is visible in ps`)
    .option("--endpoint <model=url>", "probe <model> at <url> (e.g. a kubectl port-forward) instead of its in-cluster Service; repeatable", collect)
    .option("--kubeconfig <path>", "kubeconfig for the rollout (default: KUBECONFIG, else ~/.kube/config; none: the rollout is not shown)")
    .option("--json", "print the report as JSON")
    .option("--probe-timeout <ms>", `timeout of each engine request in ms (default ${STATUS_PROBE_TIMEOUT_MS})`, integer)
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText("after", `\nThe engines' API key comes from ${API_KEY_ENV}. Exit codes: 0 all ready and nothing drifted; 1 anything not ready, drifted or unknown; 2 bad flags or stack config.`)
    .action(async (options: StatusCliOptions) => (await import("../commands/ops.js")).runStatusCommand(options, io));
}
