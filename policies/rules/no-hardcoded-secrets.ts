import type { K8sObject } from "../../components/shared/k8s-object.js";
import { walkOnce } from "../cycle-guard.js";
import { isCredentialLike, shown, shownPath } from "../display.js";
import { embeddedSettings } from "../embedded-config.js";
import { formatPath, type PathSegment } from "../field-path.js";
import { asArray, asRecord, asString, commandTokens, containersOf, isRecord, podTemplate } from "../k8s.js";
import {
  isHighEntropy,
  isLiteralSecretValue,
  isSecretLikeName,
  redacted,
  secretValueKind,
} from "../secret-patterns.js";
import { STACK_CONFIG_KIND, YAML_DOCUMENT_KIND } from "../documents.js";
import { defineRule, type Finding, type RuleContext } from "../types.js";

const SECRET_FIX =
  "Fix: keep the value in a Kubernetes Secret created from a Pulumi secret (`pulumi config set --secret …`) and " +
  "reference it: env valueFrom.secretKeyRef {name, key}, envFrom.secretRef, or a volume mounted from the Secret.";

/**
 * no-hardcoded-secrets: no secret value in a manifest, an embedded config file or a stack file. Judges structure:
 * a secret-looking name holding a literal, or a value shaped like a credential (hf_ token, PEM key, JWT, URL with a
 * password, a random-looking string under a secret-looking key). References (secretKeyRef, Secret volumes) and
 * templated values (`$(VAR)`, `${VAR}`) pass.
 */
export const noHardcodedSecrets = defineRule({
  id: "no-hardcoded-secrets",
  description: "No secret values in manifests, ConfigMaps, container arguments or stack config; reference Secrets built from Pulumi secrets.",
  severity: "critical",
  enforcement: { development: "mandatory", staging: "mandatory", production: "mandatory" },
  waivable: false,
  remediation:
    "Move the value to a Pulumi secret (`pulumi config set --secret`), let the program create the Kubernetes Secret, and reference it by name (secretKeyRef, envFrom.secretRef, a Secret volume).",
  checkObject: (object, context) => new SecretScan(object, context).run(),
});

class SecretScan {
  private readonly findings: Finding[] = [];
  private readonly seen = new Set<string>();

  constructor(
    private readonly object: K8sObject,
    private readonly context: RuleContext,
  ) {}

  run(): Finding[] {
    const { object } = this;
    switch (object.kind) {
      case "Secret":
        // CrossGuard hands the pack Secret values decrypted from Pulumi secrets, indistinguishable from literals:
        // judge structure, and the structure "a Pulumi-managed Secret" is the allowed one. In YAML, values are leaks.
        if (this.context.source === "yaml") this.secretObject();
        return this.findings;
      case "SealedSecret":
        return this.findings; // encrypted for the cluster's key; safe to commit by design
      case STACK_CONFIG_KIND:
      case YAML_DOCUMENT_KIND:
        this.tree(object["content"], []);
        return this.findings;
      case "ConfigMap":
        this.configMap();
        break;
      default:
        this.workload();
    }
    this.generic(object, []);
    return this.findings;
  }

  private add(path: readonly PathSegment[], message: string, embeddedLine?: number): void {
    const key = `${formatPath(path)}#${embeddedLine ?? ""}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.findings.push({ object: this.object, path, message, ...(embeddedLine === undefined ? {} : { embeddedLine }) });
  }

  private secretObject(): void {
    for (const field of ["data", "stringData"] as const) {
      const data = asRecord(this.object[field]);
      if (!data) continue;
      for (const [key, value] of Object.entries(data)) {
        if (typeof value !== "string" || value === "") continue;
        this.add(
          [field, key],
          `Secret ${field} ${shown(key)} holds a value (${redacted(value)}) in YAML that GitOps commits; synthesized manifests reference Secrets by name and never carry their values. ` +
            "Fix: create the Secret from a Pulumi secret in the Pulumi program, or commit an ExternalSecret/SealedSecret instead, and keep only the reference here.",
        );
      }
    }
  }

  private configMap(): void {
    const data = asRecord(this.object["data"]);
    if (!data) return;
    for (const [key, value] of Object.entries(data)) {
      if (typeof value !== "string") continue;
      const path = ["data", key];
      if (isSecretLikeName(key) && isLiteralSecretValue(value)) {
        this.add(path, `ConfigMap key ${shown(key)} holds a literal secret-looking value (${redacted(value)}); ConfigMaps are readable by anyone who can read the namespace. ${SECRET_FIX}`);
        continue;
      }
      const kind = secretValueKind(value);
      if (kind) this.add(path, `ConfigMap key ${shown(key)} holds ${kind} (${redacted(value)}). ${SECRET_FIX}`);
      if (value.includes("\n") || /\.(ya?ml|json|env|py|toml|ini|conf|cfg|properties)$/i.test(key)) {
        for (const setting of embeddedSettings(key, value)) {
          if (!setting.literal || !isSecretLikeName(setting.name) || !isLiteralSecretValue(setting.value)) continue;
          this.add(
            path,
            `ConfigMap file ${shown(key)} line ${setting.line}: ${shown(setting.key)} holds a literal secret-looking value (${redacted(setting.value)}). ` +
              `Fix: read it from the environment in that file (e.g. \${${shownEnvName(setting.name)}}) and set that variable from a Secret via secretKeyRef; the Secret comes from a Pulumi secret.`,
            setting.line,
          );
        }
      }
    }
  }

  private workload(): void {
    const template = podTemplate(this.object);
    if (!template) return;
    for (const ref of containersOf(template)) {
      asArray(ref.container["env"]).forEach((entry, index) => {
        if (!isRecord(entry)) return;
        const name = asString(entry["name"]) ?? "";
        const value = entry["value"];
        if (typeof value !== "string") return; // valueFrom (secretKeyRef, configMapKeyRef, fieldRef) passes
        const path = [...ref.path, "env", index, "value"];
        if (isSecretLikeName(name) && isLiteralSecretValue(value)) {
          this.add(path, `container ${shown(ref.name)} env ${shown(name)} holds a literal value (${redacted(value)}); a secret-looking variable must come from a Secret. ${SECRET_FIX}`);
          return;
        }
        const kind = secretValueKind(value);
        if (kind) this.add(path, `container ${shown(ref.name)} env ${shown(name)} holds ${kind} (${redacted(value)}). ${SECRET_FIX}`);
      });
      const tokens = commandTokens(ref);
      tokens.forEach(({ token, path }, index) => {
        const flag = /^--?([A-Za-z][\w-]*)(?:=(.*))?$/s.exec(token);
        if (flag && isSecretLikeName(flag[1]!)) {
          const inline = flag[2];
          const next = tokens[index + 1];
          const value = inline ?? (next && !next.token.startsWith("-") ? next.token : undefined);
          const valuePath = inline !== undefined || !next ? path : next.path;
          if (value !== undefined && isLiteralSecretValue(value)) {
            this.add(
              valuePath,
              `container ${shown(ref.name)} passes --${shownFlag(flag[1]!)} a literal value (${redacted(value)}); arguments show up in \`ps\`, events and logs. ` +
                `Fix: --${shownFlag(flag[1]!)}=$(${shownEnvName(flag[1]!)}) with env ${shownEnvName(flag[1]!)} from valueFrom.secretKeyRef (Kubernetes expands $(VAR) in args).`,
            );
            return;
          }
        }
        const assignment = /^([A-Za-z_]\w*)=(.*)$/s.exec(token);
        if (assignment && isSecretLikeName(assignment[1]!) && isLiteralSecretValue(assignment[2]!)) {
          this.add(path, `container ${shown(ref.name)} sets ${shownFlag(assignment[1]!)} to a literal value (${redacted(assignment[2]!)}) on its command line. ${SECRET_FIX}`);
          return;
        }
        const kind = secretValueKind(token);
        if (kind) this.add(path, `container ${shown(ref.name)} argument holds ${kind} (${redacted(token)}). ${SECRET_FIX}`);
      });
    }
  }

  /**
   * Every other string: credential-shaped values anywhere, random-looking values under secret-looking keys. Walked
   * by `walkOnce` (no recursion, and a map or list that contains itself is entered once); a node's path is built
   * only when it is reported.
   */
  private generic(root: unknown, rootPath: readonly PathSegment[]): void {
    walkOnce<Step>({ value: root, key: undefined, parent: undefined, depth: 0 }, (step, push) => {
      const { value, key } = step;
      if (typeof value === "string") {
        const kind = secretValueKind(value);
        if (kind) {
          const path = pathOf(step, rootPath);
          this.add(path, `${shownPath(path)} holds ${kind} (${redacted(value)}). ${SECRET_FIX}`);
        } else if (typeof key === "string" && isSecretLikeName(key) && isHighEntropy(value)) {
          this.add(pathOf(step, rootPath), `${shown(key)} holds a random-looking literal (${redacted(value)}) under a secret-looking key. ${SECRET_FIX}`);
        }
      } else if (Array.isArray(value)) {
        for (let index = value.length - 1; index >= 0; index--) push({ value: value[index], key: index, parent: step, depth: step.depth + 1 });
      } else if (isRecord(value)) {
        const entries = Object.entries(value);
        const skipManagedFields = step.depth === 1 && rootPath.length === 0 && key === "metadata";
        for (let i = entries.length - 1; i >= 0; i--) {
          const [childKey, child] = entries[i]!;
          if (skipManagedFields && childKey === "managedFields") continue;
          push({ value: child, key: childKey, parent: step, depth: step.depth + 1 });
        }
      }
    });
  }

  /**
   * Stack config and plain YAML documents (Helm values): secret-looking keys must hold `secure:` values. Walked like
   * `generic`.
   */
  private tree(root: unknown, rootPath: readonly PathSegment[]): void {
    walkOnce<Step>({ value: root, key: undefined, parent: undefined, depth: 0 }, (step, push) => {
      const { value } = step;
      if (isRecord(value)) {
        if (typeof value["secure"] === "string" && Object.keys(value).length === 1) return; // a Pulumi secret
        const children: Step[] = [];
        for (const [key, child] of Object.entries(value)) {
          const childStep: Step = { value: child, key, parent: step, depth: step.depth + 1 };
          if (isSecretLikeName(key) && (typeof child === "string" || typeof child === "number") && isLiteralSecretValue(child)) {
            const childPath = pathOf(childStep, rootPath);
            this.add(childPath, this.plaintextMessage(childPath, child));
          } else {
            children.push(childStep);
          }
        }
        for (let i = children.length - 1; i >= 0; i--) push(children[i]!);
      } else if (Array.isArray(value)) {
        for (let index = value.length - 1; index >= 0; index--) push({ value: value[index], key: index, parent: step, depth: step.depth + 1 });
      } else if (typeof value === "string") {
        const kind = secretValueKind(value);
        if (kind) {
          const path = pathOf(step, rootPath);
          this.add(path, `${shownPath(path)} holds ${kind} (${redacted(value)}). ${this.documentFix(path)}`);
        }
      }
    });
  }

  private plaintextMessage(path: readonly PathSegment[], value: string | number): string {
    return `${shownPath(path)} is a secret-looking key with a plaintext value (${redacted(value)}). ${this.documentFix(path)}`;
  }

  private documentFix(path: readonly PathSegment[]): string {
    if (this.object.kind === STACK_CONFIG_KIND && path[0] === "config" && typeof path[1] === "string") {
      const [, key, ...rest] = path;
      const full = rest.length === 0 ? key : `${key}.${rest.map(String).join(".")}`;
      const dotted = full.length > 200 || /[\s']/.test(full) || isCredentialLike(full) ? `<the key at ${shownPath(path)}>` : full;
      return `Only secure: values are allowed for secrets. Fix: \`pulumi config set --secret${rest.length === 0 ? "" : " --path"} '${dotted}' <value>\` (stores { secure: v1:… }) and rotate the exposed value.`;
    }
    return "Fix: remove the value from the file; pass it from a Secret (e.g. Helm `existingSecret`) created from a Pulumi secret, and rotate the exposed value.";
  }
}

/** One node of an iterative walk: the value, its key in its parent, and the parent (the path, built on demand). */
interface Step {
  readonly value: unknown;
  readonly key: PathSegment | undefined;
  readonly parent: Step | undefined;
  readonly depth: number;
}

/** The path of a walked node: `rootPath`, then the keys from the root down. */
function pathOf(step: Step, rootPath: readonly PathSegment[]): PathSegment[] {
  const keys: PathSegment[] = [];
  for (let s: Step | undefined = step; s?.key !== undefined; s = s.parent) keys.push(s.key);
  return [...rootPath, ...keys.reverse()];
}

/** A flag or variable name for a fix message: cut to 60 characters, never a credential. */
function shownFlag(name: string): string {
  if (isCredentialLike(name)) return "<flag>";
  return name.length > 60 ? `${name.slice(0, 60)}…` : name;
}

function shownEnvName(name: string): string {
  return shownFlag(envName(name));
}

/** `api-key` → `API_KEY`, the environment variable a fix message suggests. */
function envName(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/[^A-Za-z0-9]+/g, "_").toUpperCase();
}
