// Entry point Pulumi's run-policy-pack loads with require() (package.json "main"). The pack and the rules are
// native-ESM TypeScript, like the rest of the repository, so they are loaded through tsx's ESM loader, the same way
// bin/modelfleet.js runs the CLI. run-policy-pack awaits the exported promise.
module.exports = import("tsx/esm/api").then(({ register }) => {
  register();
  return import("./index.ts");
});
