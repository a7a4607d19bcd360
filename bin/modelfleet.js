#!/usr/bin/env node
// The CLI runs the JavaScript that `npm ci` (prepare) or `npm run build` compiled from the TypeScript sources into
// build/. Errors are reported as messages, never stack traces, so source maps are opt-in: reading them for every
// module it loads cost each run ~130 ms. MODELFLEET_SOURCE_MAPS=1 maps a crash's stack back to the .ts lines.
import { existsSync } from "node:fs";

const entry = new URL("../build/cli/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("error: modelfleet is not built (build/cli/main.js is missing). Fix: run `npm ci` or `npm run build` in the repository.\n");
  process.exit(1);
}
if (process.env.MODELFLEET_SOURCE_MAPS === "1") process.setSourceMapsEnabled(true);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
