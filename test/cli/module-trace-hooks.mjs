// Loader hooks of module-trace.mjs (they run on the loader thread): record each resolved module URL.
import { appendFileSync } from "node:fs";

const file = process.env.MODELFLEET_MODULE_TRACE;

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (file) appendFileSync(file, `${result.url}\n`);
  return result;
}
