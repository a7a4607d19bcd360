import type { K8sObject } from "../components/shared/k8s-object.js";
import type { Environment } from "../config/environments.js";
import { finalMessage, safeFieldPath, safeObjectRef } from "./display.js";
import type { PathSegment } from "./field-path.js";
import { waiverStatus } from "./waivers.js";

export type { PathSegment } from "./field-path.js";

/** How a violation of a rule is treated in an environment. `disabled` rules are not run at all. */
export type Enforcement = "mandatory" | "advisory" | "disabled";
/** The enforcement a reported violation carries (a disabled rule reports nothing). */
export type ReportedEnforcement = Exclude<Enforcement, "disabled">;
/** Same scale as @pulumi/policy's `Severity`, so the pack passes it through unchanged. */
export type Severity = "low" | "medium" | "high" | "critical";

export const RULE_IDS = [
  "no-hardcoded-secrets",
  "no-wildcard-cors",
  "image-digest",
  "gpu-resources",
  "probes",
  "pod-security",
  "network-policy-coverage",
  "pdb-coverage",
  "model-source-pinned",
  "no-download-at-start",
  "autoscaler-metric-exported",
  "autoscaled-has-pdb",
] as const;
export type RuleId = (typeof RULE_IDS)[number];

/**
 * Where the objects come from. `yaml`: synthesized or third-party manifests (and `modelfleet synth`'s in-memory
 * objects), which GitOps commits, so a Secret holding values is itself a leak. `pulumi`: resources CrossGuard
 * hands the pack, whose Secret values were decrypted from Pulumi secrets (see docs/policies.md).
 */
export type Source = "yaml" | "pulumi";

/** Per-stack knobs a rule reads. Every field has the strict default. */
export interface RuleOptions {
  /**
   * Allow `hostPath` volumes (pod-security).
   * @default false
   */
  readonly allowHostPath: boolean;
}

export const DEFAULT_RULE_OPTIONS: RuleOptions = { allowHostPath: false };

export interface RuleContext {
  readonly environment: Environment;
  readonly source: Source;
  readonly options: RuleOptions;
}

/** What a rule's check function finds: an object, where in it, and what is wrong with the fix. */
export interface Finding {
  readonly object: K8sObject;
  /** Path inside the object (for stack-config documents: inside the YAML document). */
  readonly path: readonly PathSegment[];
  /** Names the key and value (never a secret value), what is allowed, and the fix. */
  readonly message: string;
  /** 1-based line inside an embedded file (a ConfigMap value holding a config file), when the finding is in one. */
  readonly embeddedLine?: number;
}

export interface Violation {
  readonly ruleId: RuleId;
  readonly enforcement: ReportedEnforcement;
  /** `kind/namespace/name`. */
  readonly objectRef: string;
  /** e.g. `spec.template.spec.containers[0].env[2].value`. */
  readonly fieldPath: string;
  readonly path: readonly PathSegment[];
  readonly message: string;
  /** Present when a valid waiver annotation covers this violation: reported, never blocking. */
  readonly waiver?: { readonly reason: string };
  readonly embeddedLine?: number;
  /** The object the violation is about (not serialized; used to locate lines and URNs). */
  readonly object: K8sObject;
}

export interface RuleSpec {
  readonly id: RuleId;
  readonly description: string;
  readonly severity: Severity;
  readonly enforcement: Readonly<Record<Environment, Enforcement>>;
  /** Whether a `modelfleet.dev/waive` annotation can waive it. The two security rules cannot. */
  readonly waivable: boolean;
  /** How to fix a violation in general; each message carries the specific fix. */
  readonly remediation: string;
  /** Judges one object on its own (a CrossGuard resource policy). */
  readonly checkObject?: (object: K8sObject, context: RuleContext) => Finding[];
  /** Judges objects against each other (a CrossGuard stack policy), e.g. "every Deployment has a NetworkPolicy". */
  readonly checkStack?: (objects: readonly K8sObject[], context: RuleContext) => Finding[];
}

export interface Rule extends RuleSpec {
  /**
   * Runs the rule over a set of objects in an environment: nothing when the rule is disabled there; otherwise one
   * violation per finding, carrying the environment's enforcement and any waiver.
   */
  check(objects: readonly K8sObject[], context: RuleContext): Violation[];
  /** Every finding, whatever the enforcement (the CrossGuard pack applies Pulumi's own enforcement levels). */
  findings(objects: readonly K8sObject[], context: RuleContext): Finding[];
}

export function defineRule(spec: RuleSpec): Rule {
  const findings = (objects: readonly K8sObject[], context: RuleContext): Finding[] => {
    const out: Finding[] = [];
    if (spec.checkObject) for (const object of objects) out.push(...spec.checkObject(object, context));
    if (spec.checkStack) out.push(...spec.checkStack(objects, context));
    return out;
  };
  return {
    ...spec,
    findings,
    check(objects, context) {
      const enforcement = spec.enforcement[context.environment];
      if (enforcement === "disabled") return [];
      return findings(objects, context).map((finding) => toViolation(spec, finding, enforcement));
    },
  };
}

/**
 * Applies the object's waiver annotations: a valid waiver marks the violation; an invalid one says why in the message.
 * The message, field path and object reference pass through policies/display.ts: one line, no credential.
 */
export function toViolation(rule: Pick<RuleSpec, "id" | "waivable">, finding: Finding, enforcement: ReportedEnforcement): Violation {
  const waiver = waiverStatus(finding.object, rule.id, rule.waivable);
  const message = finalMessage(waiver.status === "invalid" ? `${finding.message} (${waiver.problem})` : finding.message);
  return {
    ruleId: rule.id,
    enforcement,
    objectRef: safeObjectRef(finding.object.kind, finding.object.metadata?.namespace, finding.object.metadata?.name),
    fieldPath: safeFieldPath(finding.path),
    path: finding.path,
    message,
    object: finding.object,
    ...(waiver.status === "waived" ? { waiver: { reason: waiver.reason } } : {}),
    ...(finding.embeddedLine === undefined ? {} : { embeddedLine: finding.embeddedLine }),
  };
}
