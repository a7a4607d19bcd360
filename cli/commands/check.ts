import { checkPaths, isBlocking, isPolicyInputError, type CheckReport, type CheckedViolation } from "../../policies/check.js";
import { ENVIRONMENTS, isEnvironment } from "../../config/environments.js";
import { preview } from "../../config/limits.js";
import type { CheckCliOptions } from "../definitions/check.js";
import type { CliIo } from "../io.js";

export { checkObjects } from "../../policies/check.js";
export { checkCommand } from "../definitions/check.js";

/** 0 = no blocking violation, 1 = a mandatory violation, 2 = unreadable path or malformed input. */
export type CheckCliIo = CliIo;

/** The `--json` document: stable field order, one entry per violation, sorted by file and line. */
export interface CheckJsonOutput {
  readonly passed: boolean;
  readonly environment: string;
  readonly files: readonly string[];
  readonly stacks: CheckReport["stacks"];
  readonly objects: number;
  readonly summary: CheckReport["summary"] & { readonly total: number };
  readonly violations: readonly CheckedViolation[];
}

/** `modelfleet check`: the action behind cli/definitions/check.ts. */
export async function runCheckCommand(paths: string[], options: CheckCliOptions, io: CheckCliIo): Promise<void> {
  if (options.env !== undefined && !isEnvironment(options.env)) {
    io.stderr(`error: --env ${preview(options.env)} is not an environment; allowed: ${ENVIRONMENTS.join(", ")}.\n`);
    io.setExitCode(2);
    return;
  }
  let report: CheckReport;
  try {
    report = await checkPaths(paths, options.env === undefined ? {} : { environment: options.env });
  } catch (error) {
    if (!isPolicyInputError(error)) throw error;
    if (options.json) io.stdout(`${JSON.stringify({ error: { code: error.code, file: error.file, ...(error.line === undefined ? {} : { line: error.line }), message: error.message } }, null, 2)}\n`);
    io.stderr(`error: ${error.message}\n`);
    io.setExitCode(2);
    return;
  }
  const passed = report.summary.mandatory === 0;
  if (options.json) io.stdout(`${JSON.stringify(toJson(report, passed), null, 2)}\n`);
  else io.stdout(formatHuman(report, passed));
  io.setExitCode(passed ? 0 : 1);
}

function toJson(report: CheckReport, passed: boolean): CheckJsonOutput {
  return {
    passed,
    environment: report.environment,
    files: report.files,
    stacks: report.stacks,
    objects: report.objectCount,
    summary: { ...report.summary, total: report.violations.length },
    violations: report.violations.map((v) => ({
      ruleId: v.ruleId,
      enforcement: v.enforcement,
      waived: v.waived,
      ...(v.waiverReason === undefined ? {} : { waiverReason: v.waiverReason }),
      file: v.file,
      line: v.line,
      objectRef: v.objectRef,
      fieldPath: v.fieldPath,
      message: v.message,
    })),
  };
}

/** One block per violation: `MANDATORY no-hardcoded-secrets  file:line  kind/ns/name  field`, then the message. */
export function formatHuman(report: CheckReport, passed: boolean): string {
  const lines: string[] = [];
  for (const v of report.violations) {
    const label = v.waived ? "waived" : v.enforcement;
    lines.push(`${label.padEnd(9)} ${v.ruleId}  ${v.file}:${v.line}  ${v.objectRef}  ${v.fieldPath}`);
    lines.push(`          ${v.message}`);
    if (v.waived) lines.push(`          waived: ${v.waiverReason}`);
  }
  const { mandatory, advisory, waived } = report.summary;
  const blocking = report.violations.filter(isBlocking).length;
  if (lines.length > 0) lines.push("");
  lines.push(
    `${passed ? "passed" : "FAILED"}: ${mandatory} mandatory, ${advisory} advisory, ${waived} waived violation(s) in ${report.objectCount} object(s) from ${report.files.length} file(s); Kubernetes YAML judged as ${report.environment}` +
      (blocking > 0 ? "; fix the mandatory violations above" : ""),
  );
  return `${lines.join("\n")}\n`;
}
