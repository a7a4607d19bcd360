// `node --import ./test/cli/module-trace.mjs …` writes every module the process loads to $MODELFLEET_MODULE_TRACE,
// one URL or path a line: ES modules as the loader resolves them (hooks in module-trace-hooks.mjs), CommonJS modules
// from require's cache when the process exits. test/cli/modules.test.ts uses it to prove what a command loads.
import { appendFileSync } from "node:fs";
import { createRequire, register } from "node:module";

const file = process.env.MODELFLEET_MODULE_TRACE;
if (file) {
  register("./module-trace-hooks.mjs", import.meta.url);
  const require = createRequire(import.meta.url);
  process.on("exit", () => {
    const cached = Object.keys(require.cache);
    if (cached.length > 0) appendFileSync(file, `${cached.join("\n")}\n`);
  });
}
