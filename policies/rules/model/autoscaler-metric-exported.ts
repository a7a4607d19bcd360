import { CONTRACTS, contractForImage } from "../../../config/engines/registry.js";
import type { EngineContract } from "../../../config/engines/types.js";
import { shown } from "../../display.js";
import { checkMetricNames, metricNamesIn } from "../../engine-contracts.js";
import { asString, engineContainers, namespaceOf, type Engine } from "../../k8s.js";
import { defineRule, toViolation, type Finding, type Rule, type RuleContext } from "../../types.js";
import { autoscalerRef, autoscalersIn, type Autoscaler, type MetricSource } from "./autoscalers.js";
import { workloadNamed } from "./model-metadata.js";

const ENGINE_NAMES: Readonly<Record<Engine, string>> = { vllm: "vLLM", llamacpp: "llama.cpp" };
const FIX = "Fix: scale on a metric the pinned engine exports (modelfleet's autoscaling renders the queue metric from config/engines/), or pin an engine version that exports this one.";

/** A finding, and whether it only says the metric could not be checked (reported as advisory, see `check`). */
interface Judged extends Finding {
  readonly uncheckable?: boolean;
}

/** What a message offers instead: the contract's queue and running gauges, and where every exported name is listed. */
function allowedNames(contract: EngineContract): string {
  return `${contract.queueMetric} (waiting requests, what modelfleet scales on) or ${contract.runningMetric} (running requests); all ${contract.metrics.names.length} names ${ENGINE_NAMES[contract.engine]} ${contract.version} exports are listed in config/engines/`;
}

function judge(objects: Parameters<NonNullable<Rule["checkStack"]>>[0]): Judged[] {
  const findings: Judged[] = [];
  for (const scaler of autoscalersIn(objects)) {
    const named = scaler.metrics.map((source) => ({ source, names: metricNamesIn(source.text) })).filter((m) => m.names.length > 0);
    if (named.length === 0) continue;
    findings.push(...judgeAutoscaler(objects, scaler, named));
  }
  return findings;
}

function judgeAutoscaler(objects: Parameters<typeof judge>[0], scaler: Autoscaler, named: readonly { source: MetricSource; names: string[] }[]): Judged[] {
  const object = scaler.object;
  const who = autoscalerRef(scaler);
  const target = scaler.target;
  if (!target) {
    return [{ object, path: ["spec", "scaleTargetRef"], uncheckable: true, message: `${who} has no scaleTargetRef.name, so the engine whose metrics it reads cannot be told. Fix: set spec.scaleTargetRef.name to the model's Deployment.` }];
  }
  const ns = namespaceOf(object);
  const workload = workloadNamed(objects, target.kind, ns, target.name);
  const targetText = `${target.kind || "<no kind>"} ${shown(target.name)} in namespace ${shown(ns || "-")}`;
  if (!workload) {
    const names = [...new Set(named.flatMap((m) => m.names))].join(", ");
    return [
      {
        object,
        path: target.path,
        uncheckable: true,
        message: `${who} scales ${targetText}, which is not among the checked objects, so whether its engine exports ${names} cannot be checked. Fix: check the autoscaler together with that workload's manifest (modelfleet check <both files>).`,
      },
    ];
  }
  const engines = engineContainers(workload);
  const findings: Judged[] = [];
  for (const { source, names } of named) {
    for (const name of names) {
      const where = `${who} ${source.what} names ${shown(name)}`;
      const metricEngine: Engine = name.startsWith("vllm:") ? "vllm" : "llamacpp";
      const running = engines.find((e) => e.engine === metricEngine);
      if (!running) {
        const runs = engines.length === 0 ? "runs no inference engine" : `runs ${ENGINE_NAMES[engines[0]!.engine]}`;
        findings.push({
          object,
          path: source.path,
          message: `${where}, a ${ENGINE_NAMES[metricEngine]} metric, but its target ${targetText} ${runs}; its pods never export it, so the query is always empty and the autoscaler never sees demand. ${FIX}`,
        });
        continue;
      }
      const image = asString(running.ref.container["image"]) ?? "";
      const found = contractForImage(metricEngine, image);
      if ("contract" in found) {
        if (checkMetricNames(found.contract, [name]).length === 0) continue;
        findings.push({
          object,
          path: source.path,
          message: `${where}, which ${ENGINE_NAMES[metricEngine]} ${found.contract.version} (image ${shown(image)} of ${targetText}) does not export; the query is always empty, so the autoscaler never scales on demand. Allowed: ${allowedNames(found.contract)}. ${FIX}`,
        });
        continue;
      }
      // No contract for the image (a digest-only site reference, or an unknown release): judge against every version.
      const exporting = CONTRACTS.filter((c) => c.engine === metricEngine && checkMetricNames(c, [name]).length === 0);
      if (exporting.length === 0) {
        const newest = CONTRACTS.filter((c) => c.engine === metricEngine).at(-1)!;
        findings.push({
          object,
          path: source.path,
          message: `${where}, which no ${ENGINE_NAMES[metricEngine]} version with an engine contract exports (target ${targetText}); the query is always empty. Allowed: ${allowedNames(newest)}. ${FIX}`,
        });
      } else {
        findings.push({
          object,
          path: source.path,
          uncheckable: true,
          message: `${where}; the image ${shown(image)} of ${targetText} names no engine version with a contract, so whether it exports the metric cannot be checked (exported by ${exporting.map((c) => c.version).join(", ")}). Fix: pin the image by a tag with a contract (keep the digest) to have it checked.`,
        });
      }
    }
  }
  return findings;
}

const spec = defineRule({
  id: "autoscaler-metric-exported",
  description: "A KEDA ScaledObject or HPA scales an engine on a metric that the engine's pinned version exports.",
  severity: "high",
  enforcement: { development: "mandatory", staging: "mandatory", production: "mandatory" },
  waivable: true,
  remediation: "Scale on the engine's queue metric from its contract (vLLM vllm:num_requests_waiting, llama.cpp llamacpp:requests_deferred).",
  // The pack (and `findings`) get only definite violations: in the Pulumi path every resource of the stack is present,
  // so a target outside it belongs to another stack and is not judged.
  checkStack: (objects) => judge(objects).filter((f) => !f.uncheckable),
});

/**
 * autoscaler-metric-exported (stack-level): a ScaledObject's Prometheus trigger or an HPA's metric that names an
 * engine metric (`vllm:…`, `llamacpp:…`) must name one that the engine of the targeted Deployment exports, read from
 * the contract of its image's pinned version; otherwise the query is always empty and the model never scales. When
 * the target or its engine version cannot be found, `modelfleet check` says so as an advisory.
 */
export const autoscalerMetricExported: Rule = {
  ...spec,
  check(objects, context: RuleContext) {
    const enforcement = spec.enforcement[context.environment];
    if (enforcement === "disabled") return [];
    return judge(objects).map((finding) => toViolation(spec, finding, finding.uncheckable ? "advisory" : enforcement));
  },
};
