// Pulumi.yaml `main`: the compiled program, build/stacks/index.js (made by `npm ci` or `npm run build`). When build/
// is missing, stop at once with one message: given a missing `main`, Pulumi's Node.js runner formats the module
// error with util.inspect, which on Node 20 can loop for a minute or more (docs/pulumi.md).
import { existsSync } from "node:fs";

const entry = new URL("../build/stacks/index.js", import.meta.url);
if (!existsSync(entry)) {
  const { RunError } = await import("@pulumi/pulumi");
  const error = new RunError("modelfleet is not built: build/stacks/index.js is missing. Fix: run `npm ci` (or `npm run build` after editing a .ts file) in the repository, then run pulumi again.");
  // Without a stack the runner prints the message alone (see stacks/pulumi-config.ts stacklessRunError).
  error.stack = undefined;
  throw error;
}
const program = await import(entry.href);
export default program.default;
