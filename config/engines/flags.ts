import type { EngineContract } from "./types.js";

/** Whether a request to `path` needs the API key, once one is configured. */
export function pathNeedsKey(contract: EngineContract, path: string): boolean {
  const bare = path.split("?")[0] ?? path;
  const auth = contract.auth;
  switch (auth.kind) {
    case "guardedPrefixes":
      return auth.prefixes.some((p) => bare === p || bare.startsWith(`${p}/`));
    case "allExcept":
      return !auth.open.includes(bare);
    default: {
      const never: never = auth;
      return never;
    }
  }
}

/** The flag's canonical name in a contract (`-m` → `--model`), or undefined when the version has no such flag. */
export function canonicalFlag(contract: EngineContract, flag: string): string | undefined {
  if (contract.flags[flag] !== undefined) return flag;
  return Object.entries(contract.flags).find(([, spec]) => spec.aliases?.includes(flag))?.[0];
}

export function hasFlag(contract: EngineContract, flag: string): boolean {
  return canonicalFlag(contract, flag) !== undefined;
}
