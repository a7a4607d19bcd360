import { looksLikeCredential } from "../../secrets/redact.js";

/**
 * A stack name (or other identifier) given on the command line that looks like a credential (an `sk-…` key, a URL
 * with a password) is refused without being shown: the messages that would reject it quote the value they got.
 * Returns the one-line message, or undefined when every value is fine.
 */
export function credentialShapedArgument(values: Readonly<Record<string, string | undefined>>): string | undefined {
  for (const [flag, value] of Object.entries(values)) {
    if (value !== undefined && looksLikeCredential(value)) {
      return `${flag}: the value looks like a credential (not shown); ${flag} takes a stack name, a DNS label such as development, staging or production. If a secret was pasted here by mistake, rotate it: it may be in your shell history.`;
    }
  }
  return undefined;
}
