/** One step into a JSON value: a map key or a list index. */
export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/;

/**
 * `spec.template.spec.containers[0].env[2].value`; keys that are not plain identifiers are quoted:
 * `metadata.annotations["nginx.ingress.kubernetes.io/enable-cors"]`, `config["modelfleet:hfToken"]`.
 */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}
