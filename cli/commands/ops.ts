import { runStatus } from "../../ops/status-run.js";
import { runVerify } from "../../ops/verify-run.js";
import type { StatusCliOptions, VerifyCliOptions } from "../definitions/ops.js";
import type { EnvCliIo } from "../io.js";

/** `modelfleet verify`: the action behind cli/definitions/ops.ts. */
export async function runVerifyCommand(o: VerifyCliOptions, io: EnvCliIo): Promise<void> {
  const code = await runVerify(
    {
      stack: o.stack,
      ...(o.stackFile !== undefined ? { stackFile: o.stackFile } : {}),
      ...(o.model !== undefined ? { model: o.model } : {}),
      ...(o.endpointOverride !== undefined ? { endpointOverride: o.endpointOverride } : {}),
      ...(o.json ? { json: true } : {}),
      ...(o.record ? { record: true } : {}),
      ...(o.dbUrl !== undefined ? { dbUrl: o.dbUrl } : {}),
      ...(o.probeTimeout !== undefined ? { probeTimeoutMs: o.probeTimeout } : {}),
    },
    { stdout: io.stdout, stderr: io.stderr, env: io.env },
  );
  io.setExitCode(code);
}

/** `modelfleet status`: the action behind cli/definitions/ops.ts. */
export async function runStatusCommand(o: StatusCliOptions, io: EnvCliIo): Promise<void> {
  const code = await runStatus(
    {
      stack: o.stack,
      ...(o.stackFile !== undefined ? { stackFile: o.stackFile } : {}),
      ...(o.dbUrl !== undefined ? { dbUrl: o.dbUrl } : {}),
      ...(o.endpoint !== undefined ? { endpoints: o.endpoint } : {}),
      ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}),
      ...(o.json ? { json: true } : {}),
      ...(o.probeTimeout !== undefined ? { probeTimeoutMs: o.probeTimeout } : {}),
    },
    { stdout: io.stdout, stderr: io.stderr, env: io.env },
  );
  io.setExitCode(code);
}
