/**
 * Finds literal secrets in arbitrary JSON with the policies' own patterns: secret-looking strings anywhere
 * (tokens, PEM keys, JWTs, URLs with passwords), and `{ name: <secret-looking>, value: <literal> }` pairs
 * (env vars) or secret-looking keys holding literals.
 */
import { isLiteralSecretValue, isSecretLikeName, secretValueKind } from "../../policies/secret-patterns.js";

export function findSecretLikeValues(root: unknown): string[] {
  const found: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (typeof node === "string") {
      const kind = secretValueKind(node);
      if (kind) found.push(`${path}: ${kind}`);
      return;
    }
    if (Array.isArray(node)) return node.forEach((item, i) => walk(item, `${path}[${i}]`));
    if (node === null || typeof node !== "object") return;
    const record = node as Record<string, unknown>;
    if (typeof record["name"] === "string" && isSecretLikeName(record["name"]) && isLiteralSecretValue(record["value"])) {
      found.push(`${path}: ${record["name"]} has a literal value`);
    }
    for (const [key, value] of Object.entries(record)) {
      if (key !== "name" && isSecretLikeName(key) && isLiteralSecretValue(value)) found.push(`${path}.${key}: literal`);
      walk(value, `${path}.${key}`);
    }
  };
  walk(root, "$");
  return found;
}
