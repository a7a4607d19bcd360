import type { Policies, ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { isEnvironment, type Environment } from "../../config/environments.js";
import { RULES } from "../rules/index.js";
import { DEFAULT_RULE_OPTIONS, toViolation, type Finding, type Rule, type RuleContext, type RuleOptions, type Violation } from "../types.js";
import { toK8sObject } from "./to-k8s-object.js";

/** The CrossGuard policy that lists waived violations (advisory: visible in every preview, never blocking). */
export const WAIVERS_POLICY = "waived-violations";
/** Rules that judge content and so also run on partial (`…Patch`) resources. */
const CONTENT_RULES = new Set(["no-hardcoded-secrets", "no-wildcard-cors"]);

/**
 * The environment the pack judges the stack in, read once at start from what the Pulumi engine passes the policy
 * pack process: the stack's own `modelfleet:environment` (PULUMI_CONFIG), else the stack name when it is an
 * environment (PULUMI_STACK), else production. Only that one key is read from PULUMI_CONFIG.
 */
export function packEnvironment(env: NodeJS.ProcessEnv): { readonly environment: Environment; readonly from: string } {
  try {
    const config: unknown = JSON.parse(env["PULUMI_CONFIG"] ?? "{}");
    const declared = typeof config === "object" && config !== null ? (config as Record<string, unknown>)["modelfleet:environment"] : undefined;
    if (isEnvironment(declared)) return { environment: declared, from: "stack config modelfleet:environment" };
  } catch {
    // not JSON: fall through to the stack name
  }
  const stack = env["PULUMI_STACK"] ?? env["PULUMI_NODEJS_STACK"];
  const bare = stack?.slice(stack.lastIndexOf("/") + 1);
  if (isEnvironment(bare)) return { environment: bare, from: `stack name "${stack}"` };
  return { environment: "production", from: "default (strictest)" };
}

export interface BuildPoliciesOptions {
  readonly environment: Environment;
}

interface PolicyConfig {
  readonly allowHostPath?: boolean;
}

/**
 * One CrossGuard policy per rule (named by rule id, enforcement level from the rule's table for the environment;
 * `--policy-pack-config` overrides it per stack), plus WAIVERS_POLICY. Resource parts run in validateResource, stack
 * parts (NetworkPolicy/PDB coverage, llama.cpp fronts) in validateStack. Pure: nothing is served.
 */
export function buildPolicies(opts: BuildPoliciesOptions): Policies {
  const { environment } = opts;
  const context = (config: PolicyConfig): RuleContext => ({
    environment,
    source: "pulumi",
    options: { ...DEFAULT_RULE_OPTIONS, ...(config.allowHostPath === undefined ? {} : { allowHostPath: config.allowHostPath }) } satisfies RuleOptions,
  });
  const policies: Policies = RULES.map((rule) => {
    const policy: ResourceValidationPolicy & Partial<StackValidationPolicy> = {
      name: rule.id,
      description: rule.description,
      severity: rule.severity,
      enforcementLevel: rule.enforcement[environment],
      remediationSteps: rule.remediation,
      ...(rule.id === "pod-security"
        ? { configSchema: { properties: { allowHostPath: { type: "boolean", default: false, description: "Allow hostPath volumes (e.g. a node-local model cache)." } } } }
        : {}),
    };
    if (rule.checkObject) {
      policy.validateResource = (args, report) => {
        const findings = resourceFindings(rule, args.type, args.props, args.name, context(args.getConfig<PolicyConfig>()));
        for (const v of findings.map((f) => toViolation(rule, f, "mandatory"))) if (!v.waiver) report(describe(v));
      };
    }
    if (rule.checkStack) {
      policy.validateStack = (args, report) => {
        const { objects, urns } = stackObjects(args.resources);
        for (const finding of rule.checkStack!(objects, context(args.getConfig<PolicyConfig>()))) {
          const v = toViolation(rule, finding, "mandatory");
          if (!v.waiver) report(describe(v), urns.get(finding.object));
        }
      };
    }
    return policy as ResourceValidationPolicy;
  });
  const waivable = RULES.filter((rule) => rule.waivable && rule.enforcement[environment] !== "disabled");
  const reportWaived = (report: ReportViolation, rule: Rule, findings: readonly Finding[], urnOf: (o: K8sObject) => string | undefined): void => {
    for (const finding of findings) {
      const v = toViolation(rule, finding, "mandatory");
      if (v.waiver) report(`${rule.id} waived (${v.waiver.reason}): ${describe(v)}`, urnOf(finding.object));
    }
  };
  const waivers: ResourceValidationPolicy & StackValidationPolicy = {
    name: WAIVERS_POLICY,
    description: "Lists violations waived by a modelfleet.dev/waive annotation with a modelfleet.dev/waive-reason, so every waiver stays visible.",
    severity: "low",
    enforcementLevel: "advisory",
    validateResource: (args, report) => {
      for (const rule of waivable) {
        if (!rule.checkObject) continue;
        reportWaived(report, rule, resourceFindings(rule, args.type, args.props, args.name, context({})), () => undefined);
      }
    },
    validateStack: (args, report) => {
      const { objects, urns } = stackObjects(args.resources);
      for (const rule of waivable) {
        if (rule.checkStack) reportWaived(report, rule, rule.checkStack(objects, context({})), (o) => urns.get(o));
      }
    },
  };
  return [...policies, waivers];
}

function resourceFindings(rule: Rule, type: string, props: Record<string, unknown>, name: string, context: RuleContext): Finding[] {
  const converted = toK8sObject(type, props, name);
  if (!converted || (converted.partial && !CONTENT_RULES.has(rule.id))) return [];
  return rule.checkObject!(converted.object, context);
}

function stackObjects(resources: readonly { type: string; props: Record<string, unknown>; name: string; urn: string }[]): { objects: K8sObject[]; urns: Map<K8sObject, string> } {
  const objects: K8sObject[] = [];
  const urns = new Map<K8sObject, string>();
  for (const resource of resources) {
    const converted = toK8sObject(resource.type, resource.props, resource.name);
    if (!converted || converted.partial) continue;
    objects.push(converted.object);
    urns.set(converted.object, resource.urn);
  }
  return { objects, urns };
}

function describe(v: Violation): string {
  return `${v.objectRef} ${v.fieldPath}: ${v.message}`;
}

/**
 * The policies for the stack this process was started for (see packEnvironment). index.ts serves exactly these
 * objects; tests can drive them in-process (or call buildPolicies for another environment).
 */
export const policies: Policies = buildPolicies({ environment: packEnvironment(process.env).environment });
