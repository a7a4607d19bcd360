import type { K8sObject } from "../../components/shared/k8s-object.js";
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
          `Secret ${field} "${key}" holds a value (${redacted(value)}) in YAML that GitOps commits; synthesized manifests reference Secrets by name and never carry their values. ` +
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
        this.add(path, `ConfigMap key "${key}" holds a literal secret-looking value (${redacted(value)}); ConfigMaps are readable by anyone who can read the namespace. ${SECRET_FIX}`);
        continue;
      }
      const kind = secretValueKind(value);
      if (kind) this.add(path, `ConfigMap key "${key}" holds ${kind} (${redacted(value)}). ${SECRET_FIX}`);
      if (value.includes("\n") || /\.(ya?ml|json|env|py|toml|ini|conf|cfg|properties)$/i.test(key)) {
        for (const setting of embeddedSettings(key, value)) {
          if (!setting.literal || !isSecretLikeName(setting.name) || !isLiteralSecretValue(setting.value)) continue;
          this.add(
            path,
            `ConfigMap file "${key}" line ${setting.line}: "${setting.key}" holds a literal secret-looking value (${redacted(setting.value)}). ` +
              `Fix: read it from the environment in that file (e.g. \${${envName(setting.name)}}) and set that variable from a Secret via secretKeyRef; the Secret comes from a Pulumi secret.`,
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
          this.add(path, `container "${ref.name}" env "${name}" holds a literal value (${redacted(value)}); a secret-looking variable must come from a Secret. ${SECRET_FIX}`);
          return;
        }
        const kind = secretValueKind(value);
        if (kind) this.add(path, `container "${ref.name}" env "${name}" holds ${kind} (${redacted(value)}). ${SECRET_FIX}`);
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
              `container "${ref.name}" passes --${flag[1]} a literal value (${redacted(value)}); arguments show up in \`ps\`, events and logs. ` +
                `Fix: --${flag[1]}=$(${envName(flag[1]!)}) with env ${envName(flag[1]!)} from valueFrom.secretKeyRef (Kubernetes expands $(VAR) in args).`,
            );
            return;
          }
        }
        const assignment = /^([A-Za-z_]\w*)=(.*)$/s.exec(token);
        if (assignment && isSecretLikeName(assignment[1]!) && isLiteralSecretValue(assignment[2]!)) {
          this.add(path, `container "${ref.name}" sets ${assignment[1]} to a literal value (${redacted(assignment[2]!)}) on its command line. ${SECRET_FIX}`);
          return;
        }
        const kind = secretValueKind(token);
        if (kind) this.add(path, `container "${ref.name}" argument holds ${kind} (${redacted(token)}). ${SECRET_FIX}`);
      });
    }
  }

  /** Every other string: credential-shaped values anywhere, random-looking values under secret-looking keys. */
  private generic(value: unknown, path: PathSegment[]): void {
    if (typeof value === "string") {
      const key = path[path.length - 1];
      const kind = secretValueKind(value);
      if (kind) this.add(path, `${formatPath(path)} holds ${kind} (${redacted(value)}). ${SECRET_FIX}`);
      else if (typeof key === "string" && isSecretLikeName(key) && isHighEntropy(value)) {
        this.add(path, `"${key}" holds a random-looking literal (${redacted(value)}) under a secret-looking key. ${SECRET_FIX}`);
      }
      return;
    }
    if (Array.isArray(value)) value.forEach((item, index) => this.generic(item, [...path, index]));
    else if (isRecord(value)) {
      for (const [key, child] of Object.entries(value)) {
        if (path.length === 1 && path[0] === "metadata" && key === "managedFields") continue;
        this.generic(child, [...path, key]);
      }
    }
  }

  /** Stack config and plain YAML documents (Helm values): secret-looking keys must hold `secure:` values. */
  private tree(value: unknown, path: PathSegment[]): void {
    if (isRecord(value)) {
      if (typeof value["secure"] === "string" && Object.keys(value).length === 1) return; // a Pulumi secret
      for (const [key, child] of Object.entries(value)) {
        const childPath = [...path, key];
        if (isSecretLikeName(key) && (typeof child === "string" || typeof child === "number") && isLiteralSecretValue(child)) {
          this.add(childPath, this.plaintextMessage(childPath, child));
        } else {
          this.tree(child, childPath);
        }
      }
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item, index) => this.tree(item, [...path, index]));
      return;
    }
    if (typeof value === "string") {
      const kind = secretValueKind(value);
      if (kind) this.add(path, `${formatPath(path)} holds ${kind} (${redacted(value)}). ${this.documentFix(path)}`);
    }
  }

  private plaintextMessage(path: readonly PathSegment[], value: string | number): string {
    return `${formatPath(path)} is a secret-looking key with a plaintext value (${redacted(value)}). ${this.documentFix(path)}`;
  }

  private documentFix(path: readonly PathSegment[]): string {
    if (this.object.kind === STACK_CONFIG_KIND && path[0] === "config" && typeof path[1] === "string") {
      const [, key, ...rest] = path;
      const dotted = rest.length === 0 ? key : `${key}.${rest.map(String).join(".")}`;
      return `Only secure: values are allowed for secrets. Fix: \`pulumi config set --secret${rest.length === 0 ? "" : " --path"} '${dotted}' <value>\` (stores { secure: v1:… }) and rotate the exposed value.`;
    }
    return "Fix: remove the value from the file; pass it from a Secret (e.g. Helm `existingSecret`) created from a Pulumi secret, and rotate the exposed value.";
  }
}

/** `api-key` → `API_KEY`, the environment variable a fix message suggests. */
function envName(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/[^A-Za-z0-9]+/g, "_").toUpperCase();
}
