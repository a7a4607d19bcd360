// Entry point Pulumi's run-policy-pack loads with require() (package.json "main"); it awaits the exported promise.
// The pack runs as compiled JavaScript, build/policies/pack/index.js (native ES modules, hence import(), not require),
// which `npm ci` builds (the `prepare` script) and `npm run build` rebuilds after a .ts file changes. No TypeScript is
// compiled here: the runner registers ts-node, but ts-node only hooks .ts files, and none is loaded.
const { join } = require("node:path");
const { pathToFileURL } = require("node:url");

const compiled = join(__dirname, "..", "..", "build", "policies", "pack", "index.js");

module.exports = import(pathToFileURL(compiled).href).catch((error) => {
  if (error && error.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes(compiled)) {
    const message = `modelfleet policy pack: ${compiled} does not exist; the pack runs compiled. Run \`npm ci\` (or \`npm run build\`) at the repository root, then retry.`;
    const missing = new Error(message);
    missing.stack = message;
    throw missing;
  }
  throw error;
});
