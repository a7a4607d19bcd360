import { looksLikeCredential } from "../secrets/redact.js";
import { preview } from "./limits.js";

/** A stack name is a DNS label: it names files (`Pulumi.<stack>.yaml`), output folders and Kubernetes objects. */
export const STACK_NAME_MAX_LENGTH = 63;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Undefined when `name` is a usable stack name (a DNS label of at most 63 characters); otherwise a one-line
 * message naming the value (truncated), what is allowed and examples. Never a path: `..`, `a/b` and `/x` are refused.
 */
export function stackNameProblem(name: string): string | undefined {
  if (name.length <= STACK_NAME_MAX_LENGTH && DNS_LABEL.test(name)) return undefined;
  const why = name.length > STACK_NAME_MAX_LENGTH ? `is longer than ${STACK_NAME_MAX_LENGTH} characters` : /[/\\]|^\.\.?$/.test(name) ? "looks like a path" : "is not a DNS label";
  // A value pasted into the wrong flag may be a key: never echo one.
  const shown = looksLikeCredential(name) ? "(a credential-shaped value, not shown)" : preview(name);
  return `stack name ${shown} ${why}; a stack name is a DNS label (lowercase letters, digits and "-", at most ${STACK_NAME_MAX_LENGTH} characters), never a path, e.g. development, staging, production`;
}
